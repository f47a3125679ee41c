"""Request bodies checked against Discord's own OpenAPI description (../shared/discord-api-spec).

Every JSON body the bot sends to a message, interaction-callback, follow-up or DM route is
validated against that route's request schema (JSON Schema 2020-12, as OpenAPI 3.1 uses):
lengths, counts, enums, embed and component shapes. The two cross-field limits the schema cannot
say (6,000 characters over a message's embeds, 10 embeds) stay in
``discord_payloads.validate_message_body``.

The spec is read from the shared folder beside the repository; without it nothing is checked
here (the hand-written limits still apply).
"""

from __future__ import annotations

import json
import re
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import orjson

SPEC_PATH = Path(__file__).resolve().parents[3].parent / "shared/discord-api-spec/openapi.json"
_BASE = "urn:discord-openapi"
# The routes that carry what players read: messages, interaction answers, follow-ups and DMs.
# (The command-sync schema lags Discord: it refuses channel types discord.py rightly sends.)
CHECKED_ROUTES = frozenset(
    {
        "/channels/{channel_id}/messages",
        "/channels/{channel_id}/messages/{message_id}",
        "/interactions/{interaction_id}/{interaction_token}/callback",
        "/webhooks/{webhook_id}/{webhook_token}",
        "/webhooks/{webhook_id}/{webhook_token}/messages/@original",
        "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
        "/users/@me/channels",
    }
)


def spec_errors(method: str, path: str, body: Any) -> list[str]:
    """Why ``body`` breaks the spec's request schema for ``method path`` (empty: it does not)."""
    if body is None or not isinstance(body, dict | list):
        return []
    template = _template_for(path)
    if template is None:
        return []
    # Bodies repeat (scheduled posts, cached answers, benchmarks): validate each once.
    return list(_checked(method.lower(), template, orjson.dumps(body, option=orjson.OPT_SORT_KEYS)))


@lru_cache(maxsize=2048)
def _checked(method: str, template: str, body_json: bytes) -> tuple[str, ...]:
    validator = _validator(method, template)
    if validator is None:
        return ()
    body = orjson.loads(body_json)
    return tuple(
        f"{'/'.join(str(p) for p in error.absolute_path) or '<body>'}: {error.message}"[:300]
        for error in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    )


def spec_available() -> bool:
    return _routes() is not None


def _template_for(path: str) -> str | None:
    routes = _routes()
    if routes is None:
        return None
    for pattern, template in routes:
        if pattern.match(path):
            return template
    return None


@cache
def _routes() -> list[tuple[re.Pattern[str], str]] | None:
    spec = _spec()
    if spec is None:
        return None
    routes = []
    for template in spec["paths"]:
        if template not in CHECKED_ROUTES:
            continue
        regex = re.sub(r"\\\{[^}]+\\\}", r"[^/]+", re.escape(template))
        routes.append((re.compile(f"^{regex}$"), template))
    # Literal segments first (``/messages/bulk-delete`` before ``/messages/{message_id}``).
    routes.sort(key=lambda item: item[1].count("{"))
    return routes


@cache
def _validator(method: str, template: str) -> Any:
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    spec = _spec()
    assert spec is not None
    operation = spec["paths"][template].get(method)
    if operation is None:
        return None
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return None
    registry = Registry().with_resource(
        _BASE, Resource.from_contents(spec, default_specification=DRAFT202012)
    )
    pointer = "/".join(
        part.replace("~", "~0").replace("/", "~1")
        for part in ("paths", template, method, "requestBody", "content", "application/json")
    )
    return Draft202012Validator({"$ref": f"{_BASE}#/{pointer}/schema"}, registry=registry)


@cache
def _spec() -> dict[str, Any] | None:
    if not SPEC_PATH.is_file():
        return None
    loaded: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    # Discord takes a snowflake as a JSON number too (discord.py sends ids as integers).
    schemas = loaded["components"]["schemas"]
    schemas["SnowflakeType"] = {"anyOf": [schemas["SnowflakeType"], {"type": "integer"}]}
    return loaded
