"""Sentry performance tracing (``SENTRY_TRACES_SAMPLE_RATE`` > 0).

One transaction per slash command, button, modal and scheduled cycle, with child spans for
outgoing HTTP requests (GW2 API, Discord REST through aiohttp; Mistral through httpx2) and
database queries. Span names carry a path *template* ("GET /v2/characters/{name}/core",
"POST /api/v10/interactions/{id}/{token}/callback"), never ids, names, query strings or tokens;
the transaction then passes the same scrubber as error events (bot/sentry.py).

Interactions are traced without touching discord.py or the cogs: discord.py runs every command,
component and modal callback in a task of its own, and a task factory wraps exactly those
coroutines in a transaction (``install_interaction_tracing``). Scheduled loops open one with
``cycle_transaction``.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Coroutine, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import sentry_sdk

OP_COMMAND = "discord.command"
OP_COMPONENT = "discord.component"
OP_MODAL = "discord.modal"
OP_CYCLE = "task.cycle"
OP_DB = "db"
OP_HTTP = "http.client"

# discord.py's coroutines that run one interaction each, by qualified name.
_INTERACTION_COROUTINES = {
    "CommandTree._from_interaction.<locals>.wrapper": OP_COMMAND,
    "View._scheduled_task": OP_COMPONENT,
    "BaseView._scheduled_task": OP_COMPONENT,
    "ViewStore.schedule_dynamic_item_call": OP_COMPONENT,
    "Modal._scheduled_task": OP_MODAL,
}

# Path segments that are data, not structure.
_NUMBER = re.compile(r"^\d+$")
_ID_LIKE = re.compile(r"^[0-9a-fA-F-]{16,}$|^\d+-\d+$")
_TOKEN_AFTER = frozenset({"interactions", "webhooks"})
_NAME_AFTER = frozenset({"characters"})
_CUSTOM_ID_DATA = re.compile(r"\d{3,}|[0-9a-fA-F]{8,}(?:-[0-9a-fA-F]{4,})+")


def path_template(url: str) -> str:
    """The path of ``url`` with ids, names and tokens replaced by placeholders; no query."""
    path = urlsplit(url).path if "://" in url else url.split("?", 1)[0]
    segments = path.split("/")
    template: list[str] = []
    for index, segment in enumerate(segments):
        before = segments[index - 1] if index >= 1 else ""
        before2 = segments[index - 2] if index >= 2 else ""
        if not segment:
            template.append(segment)
        elif before2 in _TOKEN_AFTER:  # /interactions/{id}/{token}, /webhooks/{id}/{token}
            template.append("{token}")
        elif _NUMBER.match(segment):
            template.append("{id}")
        elif before in _NAME_AFTER:
            template.append("{name}")
        elif _ID_LIKE.match(segment) or "%" in segment or len(segment) > 40:
            template.append("{value}")
        else:
            template.append(segment)
    return "/".join(template)


def http_span_name(method: str, url: str) -> str:
    return f"{method.upper()} {path_template(url)}"


def interaction_transaction_name(op: str, interaction: Any) -> str:
    """ "/wvw match", "component wvw:map:{id}", "modal key:paste": no user data."""
    data: Mapping[str, Any] = getattr(interaction, "data", None) or {}
    if op == OP_COMMAND:
        parts = [str(data.get("name", "unknown"))]
        options = data.get("options") or []
        while options and options[0].get("type") in (1, 2):  # subcommand (group)
            parts.append(str(options[0].get("name")))
            options = options[0].get("options") or []
        return "/" + " ".join(parts)
    custom_id = str(data.get("custom_id", "unknown"))
    kind = "modal" if op == OP_MODAL else "component"
    return f"{kind} {_CUSTOM_ID_DATA.sub('{id}', custom_id)[:100]}"


# --- Transactions -------------------------------------------------------------------------------


@contextlib.contextmanager
def cycle_transaction(name: str) -> Iterator[None]:
    """One transaction around a scheduled cycle (match updates, key revalidation)."""
    with (
        sentry_sdk.isolation_scope(),
        sentry_sdk.start_transaction(op=OP_CYCLE, name=name, source="task"),
    ):
        yield


async def _traced_interaction(coro: Coroutine[Any, Any, Any], op: str, name: str) -> Any:
    with (
        sentry_sdk.isolation_scope(),
        sentry_sdk.start_transaction(op=op, name=name, source="component"),
    ):
        return await coro


def _interaction_of(coro: Coroutine[Any, Any, Any]) -> Any:
    frame = getattr(coro, "cr_frame", None)
    if frame is None:
        return None
    return frame.f_locals.get("interaction")


def install_interaction_tracing(loop: asyncio.AbstractEventLoop) -> None:
    """Wrap each discord.py interaction task of ``loop`` in a Sentry transaction."""
    previous = loop.get_task_factory()

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> Any:
        code = getattr(coro, "cr_code", None)
        op = _INTERACTION_COROUTINES.get(code.co_qualname) if code is not None else None
        if op is not None:
            interaction = _interaction_of(coro)
            coro = _traced_interaction(coro, op, interaction_transaction_name(op, interaction))
        if previous is not None:
            return previous(loop, coro, **kwargs)
        return asyncio.Task(coro, loop=loop, **kwargs)

    factory.gw2opt_tracing = True  # type: ignore[attr-defined]
    if not getattr(previous, "gw2opt_tracing", False):
        loop.set_task_factory(factory)


# --- Spans --------------------------------------------------------------------------------------


def db_span(sql: str, system: str = "sqlite") -> Any:
    """A started child span for one SQL statement (text only: values are parameters), or None;
    ``system`` is the backend (``sqlite`` or ``postgresql``, Sentry's ``db.system`` values)."""
    parent = sentry_sdk.get_current_span()
    if parent is None:
        return None
    span = parent.start_child(op=OP_DB, name=" ".join(sql.split())[:200])
    span.set_data("db.system", system)
    return span


def install_httpx2_spans() -> None:
    """Spans for requests sent with httpx2 (the Mistral SDK's transport), path template only."""
    import httpx2

    original = httpx2.AsyncClient.send
    if getattr(original, "gw2opt_tracing", False):
        return

    async def send(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        parent = sentry_sdk.get_current_span()
        if parent is None:
            return await original(self, request, *args, **kwargs)
        with parent.start_child(
            op=OP_HTTP, name=http_span_name(str(request.method), str(request.url))
        ) as span:
            span.set_data("server.address", request.url.host)
            response = await original(self, request, *args, **kwargs)
            span.set_http_status(response.status_code)
            return response

    send.gw2opt_tracing = True  # type: ignore[attr-defined]
    httpx2.AsyncClient.send = send  # type: ignore[method-assign]


def template_http_spans(event: dict[str, Any]) -> dict[str, Any]:
    """Rewrite a transaction's HTTP client spans to path templates and drop their queries."""
    for span in event.get("spans") or []:
        if not str(span.get("op", "")).startswith("http"):
            continue
        description = str(span.get("description") or "")
        method, _, url = description.partition(" ")
        if url:
            span["description"] = http_span_name(method, url)
        data = span.get("data") or {}
        for key in ("http.query", "http.fragment"):
            data.pop(key, None)
        if "url" in data:
            data["url"] = path_template(str(data["url"]))
    return event
