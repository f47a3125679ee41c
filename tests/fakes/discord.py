"""A fake Discord (gateway websocket + REST) that the real discord.py client connects to.

It listens on 127.0.0.1 with an ephemeral port. The client under test is unchanged: two class
attributes point it at the fake (``discord.http.Route.BASE`` and
``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY``), which covers REST, interaction callbacks,
follow-ups and ``@original`` edits, and the gateway. Everything that waits is bounded by a
timeout (``FakeDiscord.default_timeout``, 5 s) and fails with :class:`FakeDiscordTimeout`, an
``AssertionError`` that lists the last requests, so a broken test fails fast.

Usage::

    from tests.fakes.discord import FakeDiscord

    async def test_match_command() -> None:
        async with FakeDiscord() as fake:
            guild = fake.add_guild(name="Test")           # @everyone, bot member, #general
            alice = fake.add_member(guild, fake.add_user("Alice"), permissions="manage_guild")
            bot = make_bot()            # a commands.Bot, guild_ready_timeout=0.05 (see run_client)
            async with fake.run_client(bot):  # patch endpoints, start, wait for on_ready, close
                handle = await fake.slash(alice, "wvw match", {"team": "red"})
                message = await handle.wait_final_message()
                assert handle.ephemeral and "Red" in message.all_text()

API in brief (``timeout=None`` means ``fake.default_timeout``)

Lifecycle and wiring
    ``FakeDiscord(*, bot_name="GW2Optimizer", expected_token=None, default_timeout=5.0)``;
    ``await start()`` / ``await close()`` or ``async with``; ``api_base``, ``gateway_url``,
    ``resume_gateway_url``, ``application_id``, ``bot_user``;
    ``patched_client_endpoints()`` (sync context manager setting and restoring the two class
    attributes); ``client_env()`` (``DISCORD_API_BASE_URL``/``DISCORD_GATEWAY_URL`` for a
    subprocess); ``run_client(client, token="fake-token", wait_until_ready=True)`` (async context
    manager yielding the client's task: patch, start, ``wait_ready`` and on_ready, which
    discord.py delays by ``guild_ready_timeout`` (2 s default: pass a small one); on exit
    ``client.close()`` and restore). Close the client before the fake, or it keeps reconnecting;
    ``await wait_for_identify()`` (the IDENTIFY payload), ``await wait_ready(client_task=None)``
    (READY and every GUILD_CREATE parsed by the client), ``connected_gateways``,
    ``identify_payloads``, ``resume_count``, ``gateway_paths``,
    ``await drop_gateway(code=4000)`` (the client reconnects to resume_gateway_url and RESUMEs),
    ``allowed_privileged_intents`` (bitmask; set 0 or call ``refuse_privileged_intents()`` and
    IDENTIFY with members/presences/message_content is closed with 4014).

World model (sync, silent: it is what the next READY/GUILD_CREATE describes)
    ``snowflake()``; ``add_user(name, *, bot=False, id=None)``;
    ``add_guild(name="Test Guild", *, id=None, owner=None, everyone_permissions=DEFAULT,
    bot_permissions=DEFAULT, default_channel="general")``;
    ``add_role(guild, name, permissions=0)``; ``add_text_channel(guild, name, *, overwrites=(),
    parent=None)``; ``add_voice_channel(...)`` (same); ``add_category(guild, name)``;
    ``add_member(guild, user, *, roles=(), permissions=None, nick=None)`` (``permissions`` makes a
    role holding exactly those bits); ``set_overwrite(channel, target, *, allow=0, deny=0)``
    (target: role, member, user or guild for @everyone); ``deny_bot_permission(channel, *perms)``;
    ``set_voice_channel(guild, user, channel_or_None)``; ``close_dms(user)``;
    ``dm_channel(user)``; ``channel(id)``; ``bot_permissions_in(channel)``.
    Permissions: ``int``, ``discord.Permissions`` or flag names (``"manage_guild"``), see
    :func:`permission_bits`.

Live changes (async: change the world and dispatch, then wait until the client parsed it)
    ``await dispatch(event, data, *, wait=True)`` for anything; ``await join_guild(guild)``
    (GUILD_CREATE); ``await remove_guild(guild)`` (GUILD_DELETE, channel routes answer 403/50001);
    ``await delete_channel(channel)`` (CHANNEL_DELETE, routes answer 404/10003);
    ``await create_channel(...)`` (CHANNEL_CREATE); ``await delete_message(message)``
    (MESSAGE_DELETE, then 404/10008); ``await move_voice(guild, user, channel)``
    (VOICE_STATE_UPDATE); ``await add_member_live(guild, user, ...)`` (GUILD_MEMBER_ADD);
    ``await send_user_message(author, content, channel=None)`` (MESSAGE_CREATE; DM if no channel);
    ``await edit_user_message(message, content)`` (MESSAGE_UPDATE);
    ``await sync()`` (barrier: the client has parsed everything sent so far).

Interactions (each returns an :class:`InteractionHandle`)
    ``await slash(who, "key add", options=None, *, channel=None)``;
    ``await autocomplete(who, "wvw match", options, focused=None, *, channel=None)``;
    ``await click(who, message, custom_id, *, values=None)``;
    ``await submit_modal(who, modal_handle_or_dict, values, *, channel=None)`` (values keyed by
    text input custom_id or label).
    ``who`` is a :class:`FakeMember` (guild context, default channel = the guild's default
    channel), or a :class:`FakeUser` with ``channel=`` a guild channel (must be a member), or a
    :class:`FakeUser` alone (bot DM, context 1). Options are encoded using the synced command's
    schema when it exists (users, members, channels and roles become ids + ``resolved``).

Handles
    ``callbacks``, ``response_type``, ``ephemeral``, ``original``, ``followups``, ``edits``,
    ``deleted``, ``modal``, ``choices``, ``payload``; ``await wait_response()``,
    ``await wait_final_message()``, ``await wait_followups(count=1)``, ``await wait_modal()``,
    ``await wait_choices()``, ``await wait_edit(count=1)``, ``expire()``.

Messages and records
    ``requests`` (:class:`RecordedRequest`: method, path relative to the API base, query, json,
    headers without Authorization, had_authorization, status, response), ``unknown_routes``,
    ``messages`` (id -> :class:`FakeMessage`), ``messages_in(channel, include_deleted=False)``,
    ``sent_dms(user, include_interactions=False)`` (what ``user.send`` posted),
    ``deleted_messages``, ``synced_commands`` (global),
    ``guild_synced_commands`` (guild id -> list), ``sync_count``, ``gateway_received``,
    ``await wait_for_request(method, path_regex, count=1)``,
    ``await wait_for_message(channel=None, predicate=None)``,
    ``await wait_until(predicate, what, timeout=None)``;
    ``errors`` (exceptions inside the fake: a wait fails at once when one happens).

FakeMessage
    ``id``, ``channel``, ``author``, ``content``, ``embeds``, ``embed`` (first), ``components``,
    ``custom_ids()``, ``all_text()`` (content + embed + component text, for leak assertions),
    ``flags``, ``ephemeral``, ``loading``, ``source`` ("channel", "interaction", "followup",
    "user"), ``deleted``, ``history`` (payloads before each edit), ``to_payload()``.

Faults (Discord's error shapes; 429 carries the rate-limit headers plus ``Via``)
    ``fail(method, path_regex, status=500, code=0, message=None, times=1, retry_after=0.05,
    is_global=False)`` (``times=None`` means forever; returns a :class:`FailRule` with ``hits``);
    ``clear_faults()``; ``close_dms(user)`` (403/50007); ``deny_bot_permission`` (403/50001 without
    View Channel, 403/50013 without Send Messages); deleting another user's message without
    Manage Messages (403/50013) or in a DM (403/50003); unknown message (404/10008); unknown
    channel (404/10003); unknown route (404, code 0, recorded in ``unknown_routes``).

Modelled Discord behaviour worth knowing
    - Intents are honoured: MESSAGE_CREATE needs guild_messages / dm_messages; guild messages from
      others that do not mention the bot arrive with empty content/embeds without the
      message_content intent; GUILD_CREATE lists every member only with the members intent
      (otherwise the bot and members in voice) and voice states only with voice_states.
    - After a defer (type 5) the first follow-up replaces the "thinking" message (same id).
    - Non-ephemeral messages the bot creates are also dispatched as MESSAGE_CREATE, like Discord.
    - Bodies are validated against Discord's main limits (content 2000, 10 embeds, embed
      title/description/fields/6000 total, custom_id 100, 25 choices...) → 400/50035.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
import discord
import discord.gateway
import discord.http
import yarl
from aiohttp import WSMsgType, web

from tests.fakes.discord_payloads import (
    CATEGORY,
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_EVERYONE_PERMISSIONS,
    DM,
    EPHEMERAL,
    INTENT_DM_MESSAGES,
    INTENT_GUILD_MESSAGES,
    INTENT_MEMBERS,
    INTENT_MESSAGE_CONTENT,
    INTENT_VOICE_STATES,
    JSON,
    LOADING,
    MANAGE_MESSAGES,
    PRIVILEGED_INTENTS,
    READ_MESSAGE_HISTORY,
    SEND_MESSAGES,
    TEXT,
    VIEW_CHANNEL,
    VOICE,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeMessage,
    FakeRole,
    FakeUser,
    Overwrite,
    PermissionsLike,
    SnowflakeFactory,
    compute_permissions,
    is_empty_message,
    permission_bits,
    validate_message_body,
    walk_components,
)

__all__ = [
    "FailRule",
    "FakeChannel",
    "FakeDiscord",
    "FakeDiscordError",
    "FakeDiscordTimeout",
    "FakeGuild",
    "FakeMember",
    "FakeMessage",
    "FakeRole",
    "FakeUser",
    "InteractionHandle",
    "Overwrite",
    "RecordedRequest",
    "permission_bits",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

_API_PREFIX = re.compile(r"^/api/v(?:9|10)(?=/)")
_GATEWAY_PATH = "/gateway"
_RESUME_PATH = "/gateway-resume"

# Interaction types and callback types (Discord API values).
APPLICATION_COMMAND = 2
MESSAGE_COMPONENT = 3
AUTOCOMPLETE = 4
MODAL_SUBMIT = 5
CB_MESSAGE = 4
CB_DEFER = 5
CB_DEFER_UPDATE = 6
CB_UPDATE = 7
CB_AUTOCOMPLETE = 8
CB_MODAL = 9

_COMPONENT_TYPES_WITH_VALUES = {3, 5, 6, 7, 8}


class FakeDiscordError(RuntimeError):
    """The fake was used wrongly (e.g. injecting an interaction before any client connected)."""


class FakeDiscordTimeout(AssertionError):
    """Something the test waited for did not happen in time."""


@dataclass
class RecordedRequest:
    method: str
    #: Path relative to the API base, e.g. ``/channels/123/messages``.
    path: str
    query: dict[str, str]
    json: Any
    #: Request headers without ``Authorization``.
    headers: dict[str, str]
    had_authorization: bool
    #: Multipart files: filename -> bytes.
    files: dict[str, bytes] = field(default_factory=dict)
    status: int = 0
    response: Any = None

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> {self.status}"


@dataclass
class FailRule:
    method: str
    path: re.Pattern[str]
    status: int
    code: int
    message: str
    times: int | None
    retry_after: float
    is_global: bool
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        return self.method in ("*", method) and self.path.search(path) is not None


class _ApiError(Exception):
    def __init__(self, status: int, code: int, message: str, errors: JSON | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors


# -- interactions ------------------------------------------------------------------------------


class InteractionHandle:
    """Everything the bot did in answer to one injected interaction."""

    def __init__(
        self,
        fake: FakeDiscord,
        payload: JSON,
        *,
        channel: FakeChannel,
        user: FakeUser,
        source_message: FakeMessage | None,
    ) -> None:
        self.fake = fake
        #: The INTERACTION_CREATE ``d`` that was dispatched.
        self.payload = payload
        self.id = int(payload["id"])
        self.token: str = payload["token"]
        self.type: int = payload["type"]
        self.channel = channel
        self.user = user
        #: The message a component was clicked on (or a modal opened from).
        self.source_message = source_message
        #: Raw callback bodies (``{"type": ..., "data": ...}``), normally exactly one.
        self.callbacks: list[JSON] = []
        #: The @original message: created by type 4/5, or the component message for 6/7.
        self.original: FakeMessage | None = None
        self.followups: list[FakeMessage] = []
        #: (message, body) for every PATCH of @original or a follow-up.
        self.edits: list[tuple[FakeMessage, JSON]] = []
        self.deleted: list[FakeMessage] = []
        self.expired = False

    def __repr__(self) -> str:
        return f"<InteractionHandle id={self.id} type={self.type} response={self.response_type}>"

    @property
    def response_type(self) -> int | None:
        return self.callbacks[0]["type"] if self.callbacks else None

    @property
    def ephemeral(self) -> bool:
        """Whether the first response (message, defer or updated message) is ephemeral."""
        if not self.callbacks:
            return False
        first = self.callbacks[0]
        if first["type"] in (CB_MESSAGE, CB_DEFER):
            return bool(int((first.get("data") or {}).get("flags") or 0) & EPHEMERAL)
        return self.original is not None and self.original.ephemeral

    @property
    def modal(self) -> JSON | None:
        """The modal the bot opened (callback type 9 data): custom_id, title, components."""
        return next((cb.get("data") for cb in self.callbacks if cb["type"] == CB_MODAL), None)

    @property
    def choices(self) -> list[JSON] | None:
        """The autocomplete choices the bot answered (callback type 8)."""
        for cb in self.callbacks:
            if cb["type"] == CB_AUTOCOMPLETE:
                return list((cb.get("data") or {}).get("choices") or [])
        return None

    def expire(self) -> None:
        """Make the token invalid: callbacks answer 404/10062, webhooks 401/50027."""
        self.expired = True

    async def wait_response(self, timeout: float | None = None) -> JSON:
        """The first callback body (``{"type": 4, "data": {...}}``)."""
        return await self.fake.wait_until(
            lambda: self.callbacks[0] if self.callbacks else None,
            f"a response to interaction {self.payload.get('data', {}).get('name', self.id)!r}",
            timeout,
        )

    async def wait_final_message(self, timeout: float | None = None) -> FakeMessage:
        """The message as the user sees it once the bot answered with content.

        Type 4/7: the created/updated message. After a defer (5) or a deferred update (6): once
        @original was edited or a follow-up was sent. The object stays live (later edits show).
        """
        response = await self.wait_response(timeout)
        if response["type"] in (CB_MODAL, CB_AUTOCOMPLETE):
            raise AssertionError(
                f"interaction was answered with callback type {response['type']}, not a message"
            )

        def ready() -> FakeMessage | None:
            if response["type"] in (CB_MESSAGE, CB_UPDATE):
                return self.original
            if (
                response["type"] == CB_DEFER
                and self.original is not None
                and not self.original.loading
            ):
                return self.original
            if response["type"] == CB_DEFER_UPDATE:
                if self.edits:
                    return self.edits[0][0]
                if self.followups:
                    return self.followups[0]
            return None

        return await self.fake.wait_until(ready, "the interaction's final message", timeout)

    async def wait_followups(
        self, count: int = 1, timeout: float | None = None
    ) -> list[FakeMessage]:
        return await self.fake.wait_until(
            lambda: list(self.followups) if len(self.followups) >= count else None,
            f"{count} follow-up(s)",
            timeout,
        )

    async def wait_edit(
        self, count: int = 1, timeout: float | None = None
    ) -> list[tuple[FakeMessage, JSON]]:
        return await self.fake.wait_until(
            lambda: list(self.edits) if len(self.edits) >= count else None,
            f"{count} edit(s)",
            timeout,
        )

    async def wait_modal(self, timeout: float | None = None) -> JSON:
        return await self.fake.wait_until(lambda: self.modal, "a modal (callback type 9)", timeout)

    async def wait_choices(self, timeout: float | None = None) -> list[JSON]:
        return await self.fake.wait_until(
            lambda: self.choices, "autocomplete choices (callback type 8)", timeout
        )


# -- gateway internals ---------------------------------------------------------------------------


class _Session:
    def __init__(self, session_id: str, intents: int, identify: JSON) -> None:
        self.id = session_id
        self.intents = intents
        self.identify = identify
        self.seq = 0
        self.buffer: list[JSON] = []
        self.connection: _Connection | None = None
        self.guilds_sent = False


class _Connection:
    def __init__(self, ws: web.WebSocketResponse, path: str, query: Mapping[str, str]) -> None:
        self.ws = ws
        self.path = path
        self.query = dict(query)
        self.session: _Session | None = None
        self.lock = asyncio.Lock()
        self.last_heartbeat_seq: int | None = None
        self.heartbeats = 0
        self.closed = False

    async def send(self, payload: JSON) -> None:
        if self.closed or self.ws.closed:
            return
        try:
            await self.ws.send_str(json.dumps(payload))
        except (ConnectionError, RuntimeError):
            self.closed = True


# -- the fake ------------------------------------------------------------------------------------


class FakeDiscord:
    """A loopback Discord: see the module docstring for the API."""

    def __init__(
        self,
        *,
        bot_name: str = "GW2Optimizer",
        expected_token: str | None = None,
        default_timeout: float = 5.0,
        heartbeat_interval_ms: int = 41_250,
    ) -> None:
        self.default_timeout = default_timeout
        self.expected_token = expected_token
        self.heartbeat_interval_ms = heartbeat_interval_ms
        #: Privileged intents the "developer portal" allows; others are refused with 4014.
        self.allowed_privileged_intents = PRIVILEGED_INTENTS
        self.snowflake = SnowflakeFactory()
        self.application_id = self.snowflake()
        self.bot_user = FakeUser(self.snowflake(), bot_name, bot=True)
        self.owner_user = FakeUser(self.snowflake(), "AppOwner")

        self.users: dict[int, FakeUser] = {
            self.bot_user.id: self.bot_user,
            self.owner_user.id: self.owner_user,
        }
        self.guilds: dict[int, FakeGuild] = {}
        self.channels: dict[int, FakeChannel] = {}
        self.messages: dict[int, FakeMessage] = {}
        self.deleted_messages: list[FakeMessage] = []
        self.interactions: list[InteractionHandle] = []
        self._interactions_by_token: dict[str, InteractionHandle] = {}
        self._dm_channels: dict[int, FakeChannel] = {}

        self.requests: list[RecordedRequest] = []
        self.unknown_routes: list[RecordedRequest] = []
        #: Exceptions inside the fake itself (a bug in the fake, not in the bot).
        self.errors: list[str] = []
        self.fail_rules: list[FailRule] = []
        self.synced_commands: list[JSON] = []
        self.guild_synced_commands: dict[int, list[JSON]] = {}
        self.sync_count = 0
        #: ``enforce_nonce``: the same nonce from the same author within this many seconds
        #: returns the message already created (as Discord does for "a few minutes").
        self.nonce_window_s = 300.0
        self.nonce_reuses = 0
        self._nonces: dict[tuple[int, str], tuple[FakeMessage, float]] = {}
        #: Called once a bot message was created, before the client gets the answer (a test
        #: can kill the client there: the message exists, the client never learns its id).
        self.after_message_created: Callable[[FakeMessage], Awaitable[None]] | None = None

        self.identify_payloads: list[JSON] = []
        self.gateway_received: list[JSON] = []
        self.resume_count = 0
        self._sessions: dict[str, _Session] = {}
        self._connections: list[_Connection] = []

        self._changed: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._routes = self._build_routes()

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> FakeDiscord:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(
            app, handle_signals=False, access_log=None, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]
        return self

    async def close(self) -> None:
        for connection in list(self._connections):
            connection.closed = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.ws.close(code=1001, message=b"fake closing"), 1.0)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def port(self) -> int:
        if not self._port:
            raise FakeDiscordError("the fake is not started (await fake.start())")
        return self._port

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}{_GATEWAY_PATH}"

    @property
    def resume_gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}{_RESUME_PATH}"

    def client_env(self) -> dict[str, str]:
        """Environment for a bot process started against the fake."""
        return {"DISCORD_API_BASE_URL": self.api_base, "DISCORD_GATEWAY_URL": self.gateway_url}

    @contextlib.contextmanager
    def patched_client_endpoints(self) -> Iterator[None]:
        """Point discord.py at the fake (REST base and gateway URL) and restore on exit."""
        old_base = discord.http.Route.BASE
        old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
        discord.http.Route.BASE = self.api_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)
        try:
            yield
        finally:
            discord.http.Route.BASE = old_base
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway

    @contextlib.asynccontextmanager
    async def run_client(
        self,
        client: discord.Client,
        *,
        token: str = "fake-token",
        timeout: float | None = None,
        wait_until_ready: bool = True,
    ) -> AsyncIterator[asyncio.Task[None]]:
        """Start ``client`` against the fake, wait until it is ready, close it on exit.

        With ``wait_until_ready`` it also waits for ``on_ready``, which discord.py delays by
        ``guild_ready_timeout`` (2 s by default: give the client a small value in tests).
        """
        with self.patched_client_endpoints():
            task = asyncio.create_task(client.start(token), name="fake-discord-client")
            try:
                await self.wait_ready(client_task=task, timeout=timeout)
                if wait_until_ready:
                    await self.wait_until(
                        lambda: client.is_ready() or (task.done() and task.result()),
                        "the client's on_ready",
                        timeout,
                    )
                yield task
            finally:
                await asyncio.wait_for(client.close(), timeout or self.default_timeout)
                with contextlib.suppress(asyncio.CancelledError, discord.DiscordException):
                    await asyncio.wait_for(task, timeout or self.default_timeout)

    def refuse_privileged_intents(self) -> None:
        """IDENTIFY asking for members, presences or message_content is closed with 4014."""
        self.allowed_privileged_intents = 0

    @property
    def connected_gateways(self) -> int:
        return sum(1 for c in self._connections if not c.closed and c.session is not None)

    @property
    def gateway_paths(self) -> list[str]:
        """URL paths of the open gateway connections (``/gateway`` or ``/gateway-resume``)."""
        return [c.path for c in self._connections if not c.closed]

    async def wait_for_identify(self, timeout: float | None = None) -> JSON:
        """The first IDENTIFY payload (token included)."""
        return await self.wait_until(
            lambda: self.identify_payloads[0] if self.identify_payloads else None,
            "IDENTIFY",
            timeout,
        )

    async def wait_ready(
        self, *, client_task: asyncio.Task[Any] | None = None, timeout: float | None = None
    ) -> None:
        """Wait until READY and all GUILD_CREATEs were sent and parsed by the client.

        With ``client_task``, a client that crashed (e.g. PrivilegedIntentsRequired) re-raises
        its exception here instead of waiting for the timeout.
        """

        def ready() -> bool:
            if client_task is not None and client_task.done():
                client_task.result()  # raises the client's exception
                raise FakeDiscordError("the client stopped before it was ready")
            return any(s.guilds_sent and s.connection is not None for s in self._sessions.values())

        await self.wait_until(ready, "the client to connect and receive READY", timeout)
        await self.sync(timeout)

    async def drop_gateway(self, code: int = 4000) -> None:
        """Close every gateway connection with ``code``; the client reconnects and resumes."""
        for connection in list(self._connections):
            connection.closed = True
            await connection.ws.close(code=code, message=b"dropped by the fake")

    # -- waiting -----------------------------------------------------------------------------

    def _bump(self) -> None:
        if self._changed is not None:
            self._changed.set()
        self._changed = asyncio.Event()

    async def wait_until(
        self, predicate: Callable[[], T | None], what: str, timeout: float | None = None
    ) -> T:
        """Wait until ``predicate()`` is truthy (re-checked on every change) and return it."""
        timeout = self.default_timeout if timeout is None else timeout
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        known_errors = len(self.errors)
        while True:
            result = predicate()
            if result:
                return result
            if len(self.errors) > known_errors:
                raise FakeDiscordError(f"the fake failed while waiting for {what}: {self.errors}")
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise FakeDiscordTimeout(
                    f"timed out after {timeout:.1f}s waiting for {what}\n{self._summary()}"
                )
            if self._changed is None:
                self._changed = asyncio.Event()
            event = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), min(remaining, 0.05))

    def _summary(self) -> str:
        lines = [f"  {r}" for r in self.requests[-12:]]
        unknown = [f"  UNKNOWN {r.method} {r.path}" for r in self.unknown_routes[-5:]]
        errors = [f"  FAKE BUG {e}" for e in self.errors[-5:]]
        return "last requests:\n" + "\n".join(lines + unknown + errors or ["  (none)"])

    async def wait_for_request(
        self, method: str, path_regex: str, *, count: int = 1, timeout: float | None = None
    ) -> list[RecordedRequest]:
        """The first ``count`` recorded requests matching ``method`` and ``path_regex``."""
        pattern = re.compile(path_regex)

        def found() -> list[RecordedRequest] | None:
            hits = [r for r in self.requests if r.method == method and pattern.search(r.path)]
            return hits[:count] if len(hits) >= count else None

        return await self.wait_until(found, f"{count} x {method} {path_regex}", timeout)

    async def wait_for_message(
        self,
        channel: FakeChannel | int | None = None,
        predicate: Callable[[FakeMessage], bool] | None = None,
        *,
        timeout: float | None = None,
    ) -> FakeMessage:
        """The first bot message (in ``channel``) matching ``predicate``."""
        channel_id = channel.id if isinstance(channel, FakeChannel) else channel

        def found() -> FakeMessage | None:
            for message in self.messages.values():
                if message.author is not self.bot_user:
                    continue
                if channel_id is not None and message.channel.id != channel_id:
                    continue
                if predicate is None or predicate(message):
                    return message
            return None

        return await self.wait_until(found, f"a bot message in channel {channel_id}", timeout)

    # -- world model -------------------------------------------------------------------------

    def add_user(self, name: str, *, bot: bool = False, id: int | None = None) -> FakeUser:
        user = FakeUser(id or self.snowflake(), name, bot=bot)
        self.users[user.id] = user
        return user

    def add_guild(
        self,
        name: str = "Test Guild",
        *,
        id: int | None = None,
        owner: FakeUser | None = None,
        everyone_permissions: PermissionsLike = DEFAULT_EVERYONE_PERMISSIONS,
        bot_permissions: PermissionsLike = DEFAULT_BOT_PERMISSIONS,
        default_channel: str | None = "general",
    ) -> FakeGuild:
        """A guild with @everyone, the bot (with a managed role) and a default text channel."""
        owner = owner or self.owner_user
        guild = FakeGuild(id=id or self.snowflake(), name=name, owner_id=owner.id)
        guild.roles[guild.id] = FakeRole(
            guild.id, guild.id, "@everyone", permission_bits(everyone_permissions)
        )
        self.guilds[guild.id] = guild
        bot_role = self.add_role(guild, self.bot_user.name, bot_permissions)
        bot_role.managed = True
        bot_role.bot_id = self.bot_user.id
        self.add_member(guild, self.bot_user, roles=[bot_role])
        if owner.id not in guild.members:
            self.add_member(guild, owner)
        if default_channel:
            guild.default_channel = self.add_text_channel(guild, default_channel)
        return guild

    def add_role(self, guild: FakeGuild, name: str, permissions: PermissionsLike = 0) -> FakeRole:
        role = FakeRole(
            self.snowflake(),
            guild.id,
            name,
            permission_bits(permissions),
            position=len(guild.roles),
        )
        guild.roles[role.id] = role
        return role

    def add_text_channel(
        self,
        guild: FakeGuild,
        name: str,
        *,
        overwrites: Sequence[Overwrite] = (),
        parent: FakeChannel | None = None,
    ) -> FakeChannel:
        return self._add_channel(guild, name, TEXT, overwrites, parent)

    def add_voice_channel(
        self,
        guild: FakeGuild,
        name: str,
        *,
        overwrites: Sequence[Overwrite] = (),
        parent: FakeChannel | None = None,
    ) -> FakeChannel:
        return self._add_channel(guild, name, VOICE, overwrites, parent)

    def add_category(self, guild: FakeGuild, name: str) -> FakeChannel:
        return self._add_channel(guild, name, CATEGORY, (), None)

    def _add_channel(
        self,
        guild: FakeGuild,
        name: str,
        kind: int,
        overwrites: Sequence[Overwrite],
        parent: FakeChannel | None,
    ) -> FakeChannel:
        channel = FakeChannel(
            self.snowflake(),
            kind,
            name,
            guild=guild,
            position=len(guild.channels),
            overwrites={o.target_id: o for o in overwrites},
            parent_id=parent.id if parent else None,
        )
        guild.channels[channel.id] = channel
        self.channels[channel.id] = channel
        return channel

    def add_member(
        self,
        guild: FakeGuild,
        user: FakeUser,
        *,
        roles: Sequence[FakeRole] = (),
        permissions: PermissionsLike | None = None,
        nick: str | None = None,
    ) -> FakeMember:
        """Add ``user`` to ``guild``; ``permissions`` gives a role holding exactly those bits."""
        member_roles = list(roles)
        if permissions is not None:
            member_roles.append(self.add_role(guild, f"{user.name}-perms", permissions))
        member = FakeMember(guild, user, member_roles, nick=nick)
        guild.members[user.id] = member
        self.users.setdefault(user.id, user)
        return member

    def set_overwrite(
        self,
        channel: FakeChannel,
        target: FakeRole | FakeMember | FakeUser | FakeGuild,
        *,
        allow: PermissionsLike = 0,
        deny: PermissionsLike = 0,
    ) -> Overwrite:
        """Set a channel overwrite for a role, a member/user or (a guild) @everyone."""
        if isinstance(target, FakeGuild | FakeRole):
            target_id, kind = target.id, 0
        else:
            target_id, kind = target.id, 1
        overwrite = Overwrite(target_id, kind, permission_bits(allow), permission_bits(deny))
        channel.overwrites[target_id] = overwrite
        return overwrite

    def deny_bot_permission(
        self, channel: FakeChannel | int, *permissions: PermissionsLike
    ) -> Overwrite:
        """Deny the bot ``permissions`` in ``channel`` (a member overwrite, merged).

        Without ``view_channel`` the channel's routes answer 403 / 50001 (Missing Access);
        without ``send_messages`` posting answers 403 / 50013 (Missing Permissions).
        """
        channel = self.channel(channel)
        current = channel.overwrites.get(self.bot_user.id)
        deny = permission_bits(*permissions) | (current.deny if current else 0)
        allow = (current.allow if current else 0) & ~deny
        return self.set_overwrite(channel, self.bot_user, allow=allow, deny=deny)

    def set_voice_channel(
        self, guild: FakeGuild, user: FakeUser | FakeMember, channel: FakeChannel | None
    ) -> None:
        """Put a member in a voice channel (None: disconnect), silently."""
        user_id = user.id
        if user_id not in guild.members:
            raise FakeDiscordError(f"user {user_id} is not a member of guild {guild.name}")
        if channel is None:
            guild.voice_states.pop(user_id, None)
        else:
            guild.voice_states[user_id] = channel.id

    def close_dms(self, user: FakeUser) -> None:
        """The user does not accept DMs: posting there answers 403 / 50007."""
        user.dms_closed = True

    def dm_channel(self, user: FakeUser) -> FakeChannel:
        """The bot's DM channel with ``user`` (created on first use)."""
        channel = self._dm_channels.get(user.id)
        if channel is None:
            channel = FakeChannel(self.snowflake(), DM, "", recipient=user)
            self._dm_channels[user.id] = channel
            self.channels[channel.id] = channel
        return channel

    def channel(self, channel: FakeChannel | int) -> FakeChannel:
        """The channel object for an id (or the object itself)."""
        if isinstance(channel, FakeChannel):
            return channel
        found = self.channels.get(channel)
        if found is None:
            raise FakeDiscordError(f"no channel {channel}")
        return found

    def bot_member(self, guild: FakeGuild) -> FakeMember:
        member = guild.get_member(self.bot_user)
        if member is None:
            raise FakeDiscordError(f"the bot is not in guild {guild.name}")
        return member

    def bot_permissions_in(self, channel: FakeChannel) -> int:
        if channel.guild is None:
            return (
                VIEW_CHANNEL
                | SEND_MESSAGES
                | READ_MESSAGE_HISTORY
                | discord.Permissions.text().value
            )
        return compute_permissions(channel.guild, self.bot_member(channel.guild), channel)

    # -- inspection ----------------------------------------------------------------------------

    def messages_in(
        self,
        channel: FakeChannel | int,
        *,
        include_deleted: bool = False,
        include_ephemeral: bool = True,
    ) -> list[FakeMessage]:
        """Every message in a channel (bot and user), oldest first."""
        channel_id = channel.id if isinstance(channel, FakeChannel) else channel
        return [
            m
            for m in self.messages.values()
            if m.channel.id == channel_id
            and (include_deleted or not m.deleted)
            and (include_ephemeral or not m.ephemeral)
        ]

    def sent_dms(
        self, user: FakeUser | int, *, include_interactions: bool = False
    ) -> list[FakeMessage]:
        """Messages the bot sent to ``user``'s DM channel (deleted ones included).

        By default only messages posted with ``POST /channels/{dm}/messages`` (``user.send``);
        with ``include_interactions``, also replies to interactions used inside the DM.
        """
        user_id = user if isinstance(user, int) else user.id
        channel = self._dm_channels.get(user_id)
        if channel is None:
            return []
        return [
            m
            for m in self.messages_in(channel, include_deleted=True)
            if m.author is self.bot_user and (include_interactions or m.source == "channel")
        ]

    # -- faults --------------------------------------------------------------------------------

    def fail(
        self,
        method: str,
        path_regex: str,
        *,
        status: int = 500,
        code: int = 0,
        message: str | None = None,
        times: int | None = 1,
        retry_after: float = 0.05,
        is_global: bool = False,
    ) -> FailRule:
        """Answer matching requests with an error (``method`` may be ``"*"``).

        ``path_regex`` is searched in the path relative to the API base (``/channels/1/messages``).
        A 429 carries Discord's body and rate-limit headers; discord.py sleeps ``retry_after`` and
        retries. Note discord.py also retries 500/502/504 itself, sleeping 1 s, 3 s, ...
        """
        default = "You are being rate limited." if status == 429 else f"{status}: fake failure"
        rule = FailRule(
            method.upper(),
            re.compile(path_regex),
            status,
            code,
            message or default,
            times,
            retry_after,
            is_global,
        )
        self.fail_rules.append(rule)
        return rule

    def clear_faults(self) -> None:
        self.fail_rules.clear()

    # -- live changes (dispatching) ------------------------------------------------------------

    async def dispatch(
        self, event: str, data: JSON, *, wait: bool = True, timeout: float | None = None
    ) -> None:
        """Send a DISPATCH to every session; with ``wait``, return once the client parsed it."""
        sessions = self._live_sessions()
        if not sessions:
            raise FakeDiscordError(f"cannot dispatch {event}: no client is connected")
        for session in sessions:
            await self._send_dispatch(session, event, data)
        if wait:
            await self.sync(timeout)

    async def sync(self, timeout: float | None = None) -> None:
        """Barrier: returns once the client has parsed every dispatch sent so far.

        The fake sends op 1 (heartbeat request); the client answers with a heartbeat carrying the
        last sequence it processed, and it processes frames in order.
        """
        for session in self._live_sessions():
            connection = session.connection
            if connection is None:
                continue
            await self._heartbeat_barrier(connection, session.seq, timeout)
        # Let the client's event listeners (scheduled as tasks) run.
        for _ in range(5):
            await asyncio.sleep(0)

    async def _heartbeat_barrier(
        self, connection: _Connection, target: int, timeout: float | None
    ) -> None:
        before = connection.heartbeats
        await connection.send({"op": 1, "d": None})

        def acknowledged() -> bool:
            if connection.closed:
                return True
            return connection.heartbeats > before and (connection.last_heartbeat_seq or 0) >= target

        await self.wait_until(acknowledged, f"the client to acknowledge sequence {target}", timeout)

    async def join_guild(self, guild: FakeGuild) -> None:
        """The bot joins ``guild`` (already built with :meth:`add_guild`): GUILD_CREATE."""
        guild.removed = False
        for session in self._live_sessions():
            payload = self._guild_create(guild, session.intents)
            # A join omits "unavailable" (present and false means "became available again").
            payload.pop("unavailable")
            await self._send_dispatch(session, "GUILD_CREATE", payload)
        await self.sync()

    async def remove_guild(self, guild: FakeGuild) -> None:
        """The bot is removed from ``guild``: GUILD_DELETE; its channels answer 403 / 50001."""
        guild.removed = True
        await self.dispatch("GUILD_DELETE", {"id": str(guild.id)})

    async def create_channel(
        self, guild: FakeGuild, name: str, *, voice: bool = False
    ) -> FakeChannel:
        channel = (self.add_voice_channel if voice else self.add_text_channel)(guild, name)
        await self.dispatch("CHANNEL_CREATE", channel.to_payload())
        return channel

    async def delete_message(self, message: FakeMessage) -> None:
        """Someone (a moderator) deletes ``message``: MESSAGE_DELETE; it answers 404 / 10008."""
        await self._mark_deleted(message)
        await self.sync()

    async def delete_channel(self, channel: FakeChannel | int) -> None:
        """Delete a guild channel: CHANNEL_DELETE; its routes answer 404 / 10003 afterwards."""
        channel = self.channel(channel)
        channel.deleted = True
        if channel.guild is not None:
            channel.guild.channels.pop(channel.id, None)
            if channel.guild.default_channel is channel:
                channel.guild.default_channel = None
            for user_id, channel_id in list(channel.guild.voice_states.items()):
                if channel_id == channel.id:
                    del channel.guild.voice_states[user_id]
        await self.dispatch("CHANNEL_DELETE", channel.to_payload())

    async def move_voice(
        self, guild: FakeGuild, user: FakeUser | FakeMember, channel: FakeChannel | None
    ) -> None:
        """A member joins/moves/leaves voice: VOICE_STATE_UPDATE (needs the voice_states intent)."""
        self.set_voice_channel(guild, user, channel)
        payload = guild.voice_state_payload(user.id, with_member=True)
        await self._dispatch_filtered("VOICE_STATE_UPDATE", payload, INTENT_VOICE_STATES)
        await self.sync()

    async def add_member_live(
        self,
        guild: FakeGuild,
        user: FakeUser,
        *,
        roles: Sequence[FakeRole] = (),
        permissions: PermissionsLike | None = None,
    ) -> FakeMember:
        """A user joins: GUILD_MEMBER_ADD (needs the members intent)."""
        member = self.add_member(guild, user, roles=roles, permissions=permissions)
        payload = member.to_payload() | {"guild_id": str(guild.id)}
        await self._dispatch_filtered("GUILD_MEMBER_ADD", payload, INTENT_MEMBERS)
        await self.sync()
        return member

    async def send_user_message(
        self,
        author: FakeUser | FakeMember,
        content: str,
        *,
        channel: FakeChannel | None = None,
        embeds: Sequence[JSON] = (),
    ) -> FakeMessage:
        """A user posts a message: in ``channel``, or in their DM with the bot when omitted."""
        user = author.user if isinstance(author, FakeMember) else author
        if channel is None:
            channel = self.dm_channel(user)
        elif channel.guild is not None and channel.guild.get_member(user) is None:
            raise FakeDiscordError(f"{user.name} is not a member of {channel.guild.name}")
        message = FakeMessage(
            self.snowflake(), channel, user, content=content, embeds=list(embeds), source="user"
        )
        self.messages[message.id] = message
        self._bump()
        await self._announce_message(message, "MESSAGE_CREATE")
        await self.sync()
        return message

    async def edit_user_message(self, message: FakeMessage, content: str) -> None:
        """The author edits their message: MESSAGE_UPDATE with the new content."""
        if message.source != "user":
            raise FakeDiscordError("only a user's own message can be edited this way")
        message.apply_edit({"content": content})
        self._bump()
        await self._announce_message(message, "MESSAGE_UPDATE")
        await self.sync()

    # -- interactions --------------------------------------------------------------------------

    async def slash(
        self,
        who: FakeUser | FakeMember,
        command: str,
        options: Mapping[str, Any] | None = None,
        *,
        channel: FakeChannel | None = None,
        locale: str = "en-US",
    ) -> InteractionHandle:
        """Invoke ``/command`` ("key add" for a subcommand, "a b c" for a group's subcommand)."""
        user, member, channel = self._resolve_invoker(who, channel)
        data = self._command_data(command, options or {}, member, channel, focused=None)
        return await self._inject(APPLICATION_COMMAND, data, user, member, channel, locale=locale)

    async def autocomplete(
        self,
        who: FakeUser | FakeMember,
        command: str,
        options: Mapping[str, Any],
        focused: str | None = None,
        *,
        channel: FakeChannel | None = None,
        locale: str = "en-US",
    ) -> InteractionHandle:
        """Autocomplete for ``focused`` (default: the last option) while typing ``options``."""
        if not options:
            raise FakeDiscordError("autocomplete needs at least the focused option's current text")
        focused = focused or list(options)[-1]
        user, member, channel = self._resolve_invoker(who, channel)
        data = self._command_data(command, options, member, channel, focused=focused)
        return await self._inject(AUTOCOMPLETE, data, user, member, channel, locale=locale)

    async def click(
        self,
        who: FakeUser | FakeMember,
        message: FakeMessage,
        custom_id: str,
        *,
        values: Sequence[str] | None = None,
        locale: str = "en-US",
    ) -> InteractionHandle:
        """Click a button (or choose ``values`` in a select) on a message the bot sent."""
        component = next(
            (c for c in walk_components(message.components) if c.get("custom_id") == custom_id),
            None,
        )
        if component is None:
            raise FakeDiscordError(
                f"message {message.id} has no component {custom_id!r}: {message.custom_ids()}"
            )
        if message.deleted:
            raise FakeDiscordError(f"message {message.id} was deleted")
        data: JSON = {"custom_id": custom_id, "component_type": component["type"]}
        if component["type"] in _COMPONENT_TYPES_WITH_VALUES:
            data["values"] = list(values or [])
        user, member, channel = self._resolve_invoker(who, message.channel)
        return await self._inject(
            MESSAGE_COMPONENT, data, user, member, channel, locale=locale, message=message
        )

    async def submit_modal(
        self,
        who: FakeUser | FakeMember,
        modal: InteractionHandle | JSON,
        values: Mapping[str, str],
        *,
        channel: FakeChannel | None = None,
        locale: str = "en-US",
    ) -> InteractionHandle:
        """Submit a modal the bot opened; ``values`` keyed by text input custom_id or label.

        ``modal`` is the handle that received the modal (its channel is reused) or the modal dict.
        """
        source_message: FakeMessage | None = None
        if isinstance(modal, InteractionHandle):
            channel = channel or modal.channel
            source_message = modal.source_message
            modal_data = modal.modal
            if modal_data is None:
                raise FakeDiscordError(f"{modal!r} did not open a modal")
        else:
            modal_data = modal
        user, member, channel = self._resolve_invoker(who, channel)
        remaining = dict(values)
        components = [self._modal_answer(c, remaining) for c in modal_data.get("components", [])]
        if remaining:
            raise FakeDiscordError(f"the modal has no input(s) {sorted(remaining)}")
        data = {"custom_id": modal_data["custom_id"], "components": components}
        return await self._inject(
            MODAL_SUBMIT, data, user, member, channel, locale=locale, message=source_message
        )

    # -- gateway -------------------------------------------------------------------------------

    def _live_sessions(self) -> list[_Session]:
        return [s for s in self._sessions.values() if s.guilds_sent]

    async def _send_dispatch(self, session: _Session, event: str, data: JSON) -> None:
        connection = session.connection
        if connection is None:
            session.seq += 1
            session.buffer.append({"op": 0, "t": event, "s": session.seq, "d": data})
            return
        async with connection.lock:
            session.seq += 1
            frame = {"op": 0, "t": event, "s": session.seq, "d": data}
            session.buffer.append(frame)
            del session.buffer[:-500]
            await connection.send(frame)

    async def _dispatch_filtered(self, event: str, data: JSON, intent: int) -> None:
        for session in self._live_sessions():
            if session.intents & intent:
                await self._send_dispatch(session, event, data)

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0, autoping=True)
        await ws.prepare(request)
        connection = _Connection(ws, request.path, request.query)
        self._connections.append(connection)
        self._bump()
        try:
            await connection.send(
                {"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}, "s": None}
            )
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    await self._on_gateway_frame(connection, json.loads(message.data))
                elif message.type is WSMsgType.ERROR:
                    break
        except Exception as error:
            # A bug in the fake: make it visible (timeouts list it) instead of a silent hang.
            log.exception("fake discord: gateway handler failed")
            self.errors.append(f"gateway: {error!r}")
            await ws.close(code=1011, message=b"fake discord bug")
        finally:
            connection.closed = True
            if connection.session is not None and connection.session.connection is connection:
                connection.session.connection = None
            self._bump()
        return ws

    async def _on_gateway_frame(self, connection: _Connection, frame: JSON) -> None:
        op = frame.get("op")
        data = frame.get("d")
        if op == 1:
            connection.heartbeats += 1
            connection.last_heartbeat_seq = data if isinstance(data, int) else None
            await connection.send({"op": 11, "d": None})
            self._bump()
            return
        recorded = dict(frame)
        if isinstance(data, dict) and "token" in data:
            recorded["d"] = {**data, "token": "<redacted>"}
        self.gateway_received.append(recorded)
        if not isinstance(data, dict):
            data = {}
        if op == 2:
            await self._on_identify(connection, data)
        elif op == 6:
            await self._on_resume(connection, data)
        elif op == 8:
            await self._on_request_members(connection, data)
        self._bump()

    async def _on_identify(self, connection: _Connection, data: JSON) -> None:
        self.identify_payloads.append(data)
        if self.expected_token is not None and data.get("token") != self.expected_token:
            await connection.ws.close(code=4004, message=b"Authentication failed.")
            return
        intents = int(data.get("intents", 0))
        if intents & PRIVILEGED_INTENTS & ~self.allowed_privileged_intents:
            await connection.ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        # A new identify replaces every earlier session (one bot per fake).
        self._sessions.clear()
        session = _Session(secrets.token_hex(16), intents, data)
        self._sessions[session.id] = session
        session.connection = connection
        connection.session = session
        ready: JSON = {
            "v": 10,
            "user": self.bot_user.to_payload()
            | {"verified": True, "mfa_enabled": False, "email": None},
            "guilds": [
                {"id": str(g.id), "unavailable": True}
                for g in self.guilds.values()
                if self._bot_in(g)
            ],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.resume_gateway_url,
            "application": {"id": str(self.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["fake"],
            "user_settings": {},
            "_trace": ["fake-discord"],
        }
        if "shard" in data:
            ready["shard"] = data["shard"]
        await self._send_dispatch(session, "READY", ready)
        for guild in self.guilds.values():
            if self._bot_in(guild):
                await self._send_dispatch(
                    session, "GUILD_CREATE", self._guild_create(guild, intents)
                )
        session.guilds_sent = True

    async def _on_resume(self, connection: _Connection, data: JSON) -> None:
        session = self._sessions.get(str(data.get("session_id")))
        if session is None:
            await connection.send({"op": 9, "d": False})
            return
        self.resume_count += 1
        session.connection = connection
        connection.session = session
        last = int(data.get("seq") or 0)
        async with connection.lock:
            for frame in list(session.buffer):
                if frame["s"] > last:
                    await connection.send(frame)
        await self._send_dispatch(session, "RESUMED", {"_trace": ["fake-discord"]})

    async def _on_request_members(self, connection: _Connection, data: JSON) -> None:
        guild = self.guilds.get(int(data["guild_id"]))
        if guild is None or connection.session is None:
            return
        members = list(guild.members.values())
        if data.get("user_ids"):
            wanted = {int(u) for u in data["user_ids"]}
            members = [m for m in members if m.id in wanted]
        query = (data.get("query") or "").lower()
        if query:
            members = [m for m in members if m.user.name.lower().startswith(query)]
        limit = int(data.get("limit") or 0)
        if limit:
            members = members[:limit]
        chunk: JSON = {
            "guild_id": str(guild.id),
            "members": [m.to_payload() for m in members],
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if data.get("nonce"):
            chunk["nonce"] = data["nonce"]
        await self._send_dispatch(connection.session, "GUILD_MEMBERS_CHUNK", chunk)

    def _bot_in(self, guild: FakeGuild) -> bool:
        return not guild.removed and self.bot_user.id in guild.members

    def _guild_create(self, guild: FakeGuild, intents: int) -> JSON:
        return guild.to_create_payload(intents=intents, bot_user_id=self.bot_user.id)

    async def _announce_message(self, message: FakeMessage, event: str) -> None:
        """MESSAGE_CREATE / MESSAGE_UPDATE as Discord would deliver it, honouring intents."""
        if message.ephemeral:
            return
        intent = INTENT_DM_MESSAGES if message.channel.is_dm else INTENT_GUILD_MESSAGES
        for session in self._live_sessions():
            if not session.intents & intent:
                continue
            payload = message.to_payload()
            if message.channel.guild is not None:
                member = message.channel.guild.get_member(message.author)
                if member is not None:
                    payload["member"] = member.to_payload(include_user=False)
                mentions_bot = f"<@{self.bot_user.id}>" in message.content
                if (
                    not session.intents & INTENT_MESSAGE_CONTENT
                    and message.author is not self.bot_user
                    and not mentions_bot
                ):
                    payload.update(content="", embeds=[], attachments=[], components=[])
            await self._send_dispatch(session, event, payload)

    async def _announce_delete(self, message: FakeMessage) -> None:
        if message.ephemeral:
            return
        payload: JSON = {"id": str(message.id), "channel_id": str(message.channel.id)}
        if message.guild_id is not None:
            payload["guild_id"] = str(message.guild_id)
        intent = INTENT_DM_MESSAGES if message.channel.is_dm else INTENT_GUILD_MESSAGES
        await self._dispatch_filtered("MESSAGE_DELETE", payload, intent)

    # -- interaction building ------------------------------------------------------------------

    def _resolve_invoker(
        self, who: FakeUser | FakeMember, channel: FakeChannel | None
    ) -> tuple[FakeUser, FakeMember | None, FakeChannel]:
        if isinstance(who, FakeMember):
            user, guild = who.user, who.guild
            channel = channel or guild.default_channel
            if channel is None:
                raise FakeDiscordError(f"guild {guild.name} has no default channel: pass channel=")
            if channel.guild is not guild:
                raise FakeDiscordError(f"channel {channel.name} is not in {guild.name}")
            return user, who, channel
        if channel is None or channel.guild is None:
            return who, None, channel or self.dm_channel(who)
        member = channel.guild.get_member(who)
        if member is None:
            raise FakeDiscordError(f"{who.name} is not a member of {channel.guild.name}")
        return who, member, channel

    def _find_command_schema(self, name: str, guild: FakeGuild | None) -> tuple[JSON | None, bool]:
        if guild is not None:
            for command in self.guild_synced_commands.get(guild.id, []):
                if command.get("name") == name and command.get("type", 1) == 1:
                    return command, True
        for command in self.synced_commands:
            if command.get("name") == name and command.get("type", 1) == 1:
                return command, False
        return None, False

    def _command_data(
        self,
        command: str,
        options: Mapping[str, Any],
        member: FakeMember | None,
        channel: FakeChannel,
        *,
        focused: str | None,
    ) -> JSON:
        parts = command.strip().lstrip("/").split()
        if not parts:
            raise FakeDiscordError("empty command name")
        guild = member.guild if member else None
        schema, is_guild_command = self._find_command_schema(parts[0], guild)
        data: JSON = {
            "id": str(schema["id"]) if schema else str(self.snowflake()),
            "name": parts[0],
            "type": 1,
        }
        if is_guild_command and guild is not None:
            data["guild_id"] = str(guild.id)
        node, node_schema = data, schema
        for depth, part in enumerate(parts[1:], start=1):
            child_schema = _schema_option(node_schema, part)
            kind = child_schema["type"] if child_schema else (1 if depth == len(parts) - 1 else 2)
            child: JSON = {"name": part, "type": kind, "options": []}
            node.setdefault("options", []).append(child)
            node, node_schema = child, child_schema
        resolved: JSON = {}
        leaf: list[JSON] = []
        for name, value in options.items():
            option_schema = _schema_option(node_schema, name)
            leaf.append(self._encode_option(name, value, option_schema, resolved, guild, channel))
            if name == focused:
                leaf[-1]["focused"] = True
                if not isinstance(leaf[-1]["value"], str):
                    leaf[-1]["value"] = str(value)
        if leaf:
            node["options"] = leaf
        if resolved:
            data["resolved"] = resolved
        return data

    def _encode_option(
        self,
        name: str,
        value: Any,
        schema: JSON | None,
        resolved: JSON,
        guild: FakeGuild | None,
        channel: FakeChannel,
    ) -> JSON:
        declared = schema.get("type") if schema else None
        if isinstance(value, FakeMember):
            value = value.user
        if isinstance(value, FakeUser):
            resolved.setdefault("users", {})[str(value.id)] = value.to_payload()
            member = guild.get_member(value) if guild else None
            if member is not None:
                resolved.setdefault("members", {})[str(value.id)] = member.to_payload(
                    include_user=False, permissions=member.permissions_in(channel)
                )
            return {"name": name, "type": declared or 6, "value": str(value.id)}
        if isinstance(value, FakeChannel):
            payload = value.to_payload() | {"permissions": str(self.bot_permissions_in(value))}
            resolved.setdefault("channels", {})[str(value.id)] = payload
            return {"name": name, "type": declared or 7, "value": str(value.id)}
        if isinstance(value, FakeRole):
            resolved.setdefault("roles", {})[str(value.id)] = value.to_payload()
            return {"name": name, "type": declared or 8, "value": str(value.id)}
        if declared is None:
            if isinstance(value, bool):
                declared = 5
            elif isinstance(value, int):
                declared = 4
            elif isinstance(value, float):
                declared = 10
            else:
                declared = 3
        return {"name": name, "type": declared, "value": value}

    def _modal_answer(self, component: JSON, remaining: dict[str, str]) -> JSON:
        kind = component.get("type")
        if kind == 1:
            return {
                "type": 1,
                "components": [self._modal_answer(c, remaining) for c in component["components"]],
            }
        if kind == 18:
            inner = dict(component["component"])
            inner.setdefault("label", component.get("label"))
            return {"type": 18, "component": self._modal_answer(inner, remaining)}
        custom_id = component.get("custom_id")
        answer: JSON = {"type": kind, "custom_id": custom_id}
        key = custom_id if custom_id in remaining else component.get("label")
        value = remaining.pop(key, None) if key in remaining else None
        if kind == 4:
            answer["value"] = value if value is not None else component.get("value") or ""
        elif kind in _COMPONENT_TYPES_WITH_VALUES:
            answer["values"] = [value] if isinstance(value, str) else list(value or [])
        return answer

    async def _inject(
        self,
        kind: int,
        data: JSON,
        user: FakeUser,
        member: FakeMember | None,
        channel: FakeChannel,
        *,
        locale: str,
        message: FakeMessage | None = None,
    ) -> InteractionHandle:
        if not self._live_sessions():
            raise FakeDiscordError("no client is connected: await fake.wait_ready() first")
        interaction_id = self.snowflake()
        token = f"fake-interaction-{interaction_id}-{secrets.token_urlsafe(16)}"
        payload: JSON = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": kind,
            "data": data,
            "token": token,
            "version": 1,
            "locale": locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": 10 * 1024 * 1024,
            "app_permissions": str(self.bot_permissions_in(channel)),
        }
        if member is not None:
            guild = member.guild
            channel_payload = channel.to_payload() | {
                "permissions": str(member.permissions_in(channel))
            }
            payload.update(
                guild_id=str(guild.id),
                guild={"id": str(guild.id), "locale": guild.preferred_locale, "features": []},
                guild_locale=guild.preferred_locale,
                channel_id=str(channel.id),
                channel=channel_payload,
                member=member.to_payload(permissions=member.permissions_in(channel)),
                authorizing_integration_owners={"0": str(guild.id)},
                context=0,
            )
        else:
            payload.update(
                channel_id=str(channel.id),
                channel=channel.to_payload(),
                user=user.to_payload(),
                authorizing_integration_owners={"0": "0"},
                context=1,
            )
        if message is not None:
            payload["message"] = message.to_payload()
        handle = InteractionHandle(
            self, payload, channel=channel, user=user, source_message=message
        )
        self.interactions.append(handle)
        self._interactions_by_token[token] = handle
        await self.dispatch("INTERACTION_CREATE", payload, wait=False)
        return handle

    # -- REST ----------------------------------------------------------------------------------

    def _build_routes(
        self,
    ) -> list[tuple[str, re.Pattern[str], Callable[..., Awaitable[web.Response]], bool]]:
        table: list[tuple[str, str, Callable[..., Awaitable[web.Response]], bool]] = [
            ("GET", r"/users/@me", self._get_me, True),
            ("GET", r"/oauth2/applications/@me", self._get_application, True),
            ("GET", r"/applications/@me", self._get_application, True),
            ("GET", r"/gateway", self._get_gateway, False),
            ("GET", r"/gateway/bot", self._get_gateway_bot, True),
            ("GET", r"/users/(?P<user_id>\d+)", self._get_user, True),
            ("POST", r"/users/@me/channels", self._create_dm, True),
            ("GET", r"/applications/(?P<app_id>\d+)/commands", self._get_commands, True),
            ("PUT", r"/applications/(?P<app_id>\d+)/commands", self._put_commands, True),
            ("POST", r"/applications/(?P<app_id>\d+)/commands", self._post_command, True),
            (
                "GET",
                r"/applications/(?P<app_id>\d+)/guilds/(?P<guild_id>\d+)/commands",
                self._get_commands,
                True,
            ),
            (
                "PUT",
                r"/applications/(?P<app_id>\d+)/guilds/(?P<guild_id>\d+)/commands",
                self._put_commands,
                True,
            ),
            ("GET", r"/channels/(?P<channel_id>\d+)", self._get_channel, True),
            ("GET", r"/channels/(?P<channel_id>\d+)/messages", self._list_messages, True),
            ("POST", r"/channels/(?P<channel_id>\d+)/messages", self._post_message, True),
            (
                "GET",
                r"/channels/(?P<channel_id>\d+)/messages/(?P<message_id>\d+)",
                self._get_message,
                True,
            ),
            (
                "PATCH",
                r"/channels/(?P<channel_id>\d+)/messages/(?P<message_id>\d+)",
                self._edit_message,
                True,
            ),
            (
                "DELETE",
                r"/channels/(?P<channel_id>\d+)/messages/(?P<message_id>\d+)",
                self._delete_message,
                True,
            ),
            ("POST", r"/channels/(?P<channel_id>\d+)/typing", self._typing, True),
            ("GET", r"/guilds/(?P<guild_id>\d+)", self._get_guild, True),
            ("GET", r"/guilds/(?P<guild_id>\d+)/channels", self._get_guild_channels, True),
            (
                "GET",
                r"/guilds/(?P<guild_id>\d+)/members/(?P<user_id>\d+)",
                self._get_guild_member,
                True,
            ),
            ("GET", r"/guilds/(?P<guild_id>\d+)/roles", self._get_guild_roles, True),
            (
                "POST",
                r"/interactions/(?P<interaction_id>\d+)/(?P<token>[^/]+)/callback",
                self._callback,
                False,
            ),
            ("POST", r"/webhooks/(?P<app_id>\d+)/(?P<token>[^/]+)", self._followup, False),
            (
                "GET",
                r"/webhooks/(?P<app_id>\d+)/(?P<token>[^/]+)/messages/(?P<message_id>@original|\d+)",
                self._get_webhook_message,
                False,
            ),
            (
                "PATCH",
                r"/webhooks/(?P<app_id>\d+)/(?P<token>[^/]+)/messages/(?P<message_id>@original|\d+)",
                self._edit_webhook_message,
                False,
            ),
            (
                "DELETE",
                r"/webhooks/(?P<app_id>\d+)/(?P<token>[^/]+)/messages/(?P<message_id>@original|\d+)",
                self._delete_webhook_message,
                False,
            ),
        ]
        return [
            (method, re.compile(f"^{path}$"), handler, auth)
            for method, path, handler, auth in table
        ]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if (
            request.path in (_GATEWAY_PATH, _RESUME_PATH)
            and request.headers.get("Upgrade", "").lower() == "websocket"
        ):
            return await self._gateway(request)
        body, files = await _read_body(request)
        headers = {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
        match = _API_PREFIX.match(request.path)
        path = request.path[match.end() :] if match else request.path
        record = RecordedRequest(
            request.method,
            path,
            dict(request.query),
            body,
            headers,
            "Authorization" in request.headers,
            files,
        )
        self.requests.append(record)
        try:
            response = await self._respond(request, record, api=match is not None)
        except _ApiError as error:
            response = _error_response(error)
        except Exception as error:
            log.exception("fake discord: handler failed for %s %s", record.method, record.path)
            self.errors.append(f"{record.method} {record.path}: {error!r}")
            response = _json_response(
                500, {"message": "500: Internal Server Error (fake bug)", "code": 0}
            )
        record.status = response.status
        if isinstance(response, web.Response) and response.body:
            with contextlib.suppress(ValueError, TypeError):
                record.response = json.loads(response.body)  # type: ignore[arg-type]
        self._bump()
        return response

    async def _respond(
        self, request: web.Request, record: RecordedRequest, *, api: bool
    ) -> web.Response:
        for rule in self.fail_rules:
            if rule.matches(record.method, record.path):
                rule.hits += 1
                return _fault_response(rule)
        if api:
            for method, pattern, handler, needs_auth in self._routes:
                found = pattern.match(record.path)
                if found is None or method != record.method:
                    continue
                if needs_auth:
                    self._check_auth(request)
                return await handler(record, **found.groupdict())
        self.unknown_routes.append(record)
        log.warning("fake discord: unknown route %s %s", record.method, record.path)
        return _json_response(404, {"message": "404: Not Found", "code": 0})

    def _check_auth(self, request: web.Request) -> None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bot ") or (
            self.expected_token is not None and header != f"Bot {self.expected_token}"
        ):
            raise _ApiError(401, 0, "401: Unauthorized")

    # login & gateway

    async def _get_me(self, record: RecordedRequest) -> web.Response:
        return _json_response(
            200, self.bot_user.to_payload() | {"verified": True, "mfa_enabled": False}
        )

    async def _get_application(self, record: RecordedRequest) -> web.Response:
        return _json_response(
            200,
            {
                "id": str(self.application_id),
                "name": self.bot_user.name,
                "icon": None,
                "description": "A fake application",
                "summary": "",
                "type": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "verify_key": "0" * 64,
                "owner": self.owner_user.to_payload(),
                "team": None,
                "flags": 0,
                "bot": self.bot_user.to_payload(),
                "redirect_uris": [],
                "interactions_endpoint_url": None,
                "approximate_guild_count": len(self.guilds),
            },
        )

    async def _get_gateway(self, record: RecordedRequest) -> web.Response:
        return _json_response(200, {"url": self.gateway_url})

    async def _get_gateway_bot(self, record: RecordedRequest) -> web.Response:
        limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
        return _json_response(
            200, {"url": self.gateway_url, "shards": 1, "session_start_limit": limit}
        )

    async def _get_user(self, record: RecordedRequest, user_id: str) -> web.Response:
        user = self.users.get(int(user_id))
        if user is None:
            raise _ApiError(404, 10013, "Unknown User")
        return _json_response(200, user.to_payload())

    async def _create_dm(self, record: RecordedRequest) -> web.Response:
        recipient = int((record.json or {}).get("recipient_id", 0))
        user = self.users.get(recipient)
        if user is None or user is self.bot_user:
            raise _ApiError(400, 50033, "Invalid Recipient(s)")
        return _json_response(200, self.dm_channel(user).to_payload())

    # commands

    def _check_app(self, app_id: str) -> None:
        if int(app_id) != self.application_id:
            raise _ApiError(
                403, 20012, "You are not authorized to perform this action on this application"
            )

    def _command_list(self, guild_id: str | None) -> list[JSON]:
        if guild_id is None:
            return self.synced_commands
        guild = self.guilds.get(int(guild_id))
        if guild is None or not self._bot_in(guild):
            raise _ApiError(403, 50001, "Missing Access")
        return self.guild_synced_commands.setdefault(guild.id, [])

    def _echo_command(self, body: JSON, guild_id: str | None, existing: Sequence[JSON]) -> JSON:
        previous = next(
            (
                c
                for c in existing
                if c["name"] == body["name"] and c.get("type", 1) == body.get("type", 1)
            ),
            None,
        )
        command = {
            "id": previous["id"] if previous else str(self.snowflake()),
            "application_id": str(self.application_id),
            "version": str(self.snowflake()),
            "type": 1,
            "description": "",
            "options": [],
            "default_member_permissions": None,
            "dm_permission": True,
            "nsfw": False,
            "contexts": None,
            "integration_types": [0],
        } | body
        if guild_id is not None:
            command["guild_id"] = guild_id
        return command

    async def _get_commands(
        self, record: RecordedRequest, app_id: str, guild_id: str | None = None
    ) -> web.Response:
        self._check_app(app_id)
        return _json_response(200, self._command_list(guild_id))

    async def _put_commands(
        self, record: RecordedRequest, app_id: str, guild_id: str | None = None
    ) -> web.Response:
        self._check_app(app_id)
        existing = self._command_list(guild_id)
        body = record.json or []
        if not isinstance(body, list):
            raise _ApiError(400, 50035, "Invalid Form Body")
        commands = [self._echo_command(c, guild_id, existing) for c in body]
        if guild_id is None:
            self.synced_commands = commands
        else:
            self.guild_synced_commands[int(guild_id)] = commands
        self.sync_count += 1
        return _json_response(200, commands)

    async def _post_command(self, record: RecordedRequest, app_id: str) -> web.Response:
        self._check_app(app_id)
        command = self._echo_command(record.json or {}, None, self.synced_commands)
        self.synced_commands = [c for c in self.synced_commands if c["id"] != command["id"]] + [
            command
        ]
        return _json_response(201, command)

    # channels and messages

    def _route_channel(self, channel_id: str) -> FakeChannel:
        channel = self.channels.get(int(channel_id))
        if channel is None or channel.deleted:
            raise _ApiError(404, 10003, "Unknown Channel")
        if channel.guild is not None and not self._bot_in(channel.guild):
            raise _ApiError(403, 50001, "Missing Access")
        if channel.guild is not None and not self.bot_permissions_in(channel) & VIEW_CHANNEL:
            raise _ApiError(403, 50001, "Missing Access")
        return channel

    def _route_message(self, channel: FakeChannel, message_id: str) -> FakeMessage:
        message = self.messages.get(int(message_id))
        if (
            message is None
            or message.deleted
            or message.channel is not channel
            or message.ephemeral
        ):
            raise _ApiError(404, 10008, "Unknown Message")
        return message

    async def _get_channel(self, record: RecordedRequest, channel_id: str) -> web.Response:
        return _json_response(200, self._route_channel(channel_id).to_payload())

    async def _typing(self, record: RecordedRequest, channel_id: str) -> web.Response:
        self._route_channel(channel_id)
        return web.Response(status=204)

    async def _list_messages(self, record: RecordedRequest, channel_id: str) -> web.Response:
        channel = self._route_channel(channel_id)
        if (
            channel.guild is not None
            and not self.bot_permissions_in(channel) & READ_MESSAGE_HISTORY
        ):
            return _json_response(200, [])
        messages = sorted(
            self.messages_in(channel, include_ephemeral=False), key=lambda m: m.id, reverse=True
        )
        if "before" in record.query:
            messages = [m for m in messages if m.id < int(record.query["before"])]
        if "after" in record.query:
            messages = [m for m in messages if m.id > int(record.query["after"])]
        limit = int(record.query.get("limit", 50))
        return _json_response(200, [m.to_payload() for m in messages[:limit]])

    async def _post_message(self, record: RecordedRequest, channel_id: str) -> web.Response:
        channel = self._route_channel(channel_id)
        if channel.type == CATEGORY:
            raise _ApiError(400, 50008, "Cannot send messages in a non-text channel")
        if channel.is_dm and channel.recipient is not None and channel.recipient.dms_closed:
            raise _ApiError(403, 50007, "Cannot send messages to this user")
        if channel.guild is not None and not self.bot_permissions_in(channel) & SEND_MESSAGES:
            raise _ApiError(403, 50013, "Missing Permissions")
        body = record.json or {}
        self._validate(body, record)
        nonce = None if body.get("nonce") is None else str(body["nonce"])
        if nonce is not None and body.get("enforce_nonce"):
            seen = self._nonces.get((self.bot_user.id, nonce))
            if seen is not None and time.monotonic() - seen[1] <= self.nonce_window_s:
                if seen[0].deleted:
                    raise _ApiError(404, 10008, "Unknown Message")
                self.nonce_reuses += 1
                return _json_response(200, {**seen[0].to_payload(), "nonce": nonce})
        message = self._new_bot_message(channel, body, record, source="channel")
        message.message_reference = body.get("message_reference")
        if message.message_reference is not None:
            message.type = 19
        if nonce is not None:
            self._nonces[(self.bot_user.id, nonce)] = (message, time.monotonic())
        await self._announce_message(message, "MESSAGE_CREATE")
        if self.after_message_created is not None:
            await self.after_message_created(message)
        return _json_response(
            200, {**message.to_payload(), "nonce": nonce} if nonce else message.to_payload()
        )

    async def _get_message(
        self, record: RecordedRequest, channel_id: str, message_id: str
    ) -> web.Response:
        channel = self._route_channel(channel_id)
        if (
            channel.guild is not None
            and not self.bot_permissions_in(channel) & READ_MESSAGE_HISTORY
        ):
            raise _ApiError(403, 50013, "Missing Permissions")
        return _json_response(200, self._route_message(channel, message_id).to_payload())

    async def _edit_message(
        self, record: RecordedRequest, channel_id: str, message_id: str
    ) -> web.Response:
        channel = self._route_channel(channel_id)
        message = self._route_message(channel, message_id)
        if message.author is not self.bot_user:
            raise _ApiError(403, 50005, "Cannot edit a message authored by another user")
        body = record.json or {}
        self._validate(body, record, allow_empty=True)
        message.apply_edit(body)
        await self._announce_message(message, "MESSAGE_UPDATE")
        return _json_response(200, message.to_payload())

    async def _delete_message(
        self, record: RecordedRequest, channel_id: str, message_id: str
    ) -> web.Response:
        channel = self._route_channel(channel_id)
        message = self._route_message(channel, message_id)
        if message.author is not self.bot_user:
            if channel.is_dm:
                raise _ApiError(403, 50003, "Cannot execute action on a DM channel")
            if not self.bot_permissions_in(channel) & MANAGE_MESSAGES:
                raise _ApiError(403, 50013, "Missing Permissions")
        await self._mark_deleted(message)
        return web.Response(status=204)

    async def _mark_deleted(self, message: FakeMessage) -> None:
        message.deleted = True
        self.deleted_messages.append(message)
        await self._announce_delete(message)

    def _validate(self, body: JSON, record: RecordedRequest, *, allow_empty: bool = False) -> None:
        errors = validate_message_body(body)
        if errors:
            raise _ApiError(400, 50035, "Invalid Form Body", errors)
        if not allow_empty and is_empty_message(body, has_files=bool(record.files)):
            raise _ApiError(400, 50006, "Cannot send an empty message")

    def _new_bot_message(
        self,
        channel: FakeChannel,
        body: JSON,
        record: RecordedRequest,
        *,
        source: str,
        handle: InteractionHandle | None = None,
        flags: int | None = None,
    ) -> FakeMessage:
        message = FakeMessage(
            self.snowflake(),
            channel,
            self.bot_user,
            content=body.get("content") or "",
            embeds=list(body.get("embeds") or []),
            components=list(body.get("components") or []),
            attachments=self._attachments(record),
            flags=int(body.get("flags") or 0) if flags is None else flags,
            source=source,
        )
        if handle is not None:
            message.interaction_id = handle.id
            message.application_id = self.application_id
            message.interaction_metadata = {
                "id": str(handle.id),
                "type": handle.type,
                "user": handle.user.to_payload(),
                "authorizing_integration_owners": handle.payload.get(
                    "authorizing_integration_owners", {}
                ),
            }
            if handle.type == APPLICATION_COMMAND and source == "interaction":
                message.type = 20
        self.messages[message.id] = message
        return message

    def _attachments(self, record: RecordedRequest) -> list[JSON]:
        declared = {str(a.get("id")): a for a in (record.json or {}).get("attachments", []) or []}
        attachments: list[JSON] = []
        for index, (filename, content) in enumerate(record.files.items()):
            attachment_id = self.snowflake()
            meta = declared.get(str(index), {})
            attachments.append(
                {
                    "id": str(attachment_id),
                    "filename": meta.get("filename", filename),
                    "size": len(content),
                    "url": f"http://127.0.0.1:{self.port}/attachments/{attachment_id}/{filename}",
                    "proxy_url": f"http://127.0.0.1:{self.port}/attachments/{attachment_id}/{filename}",
                    "content_type": "application/octet-stream",
                }
            )
        return attachments

    # guilds

    def _route_guild(self, guild_id: str) -> FakeGuild:
        guild = self.guilds.get(int(guild_id))
        if guild is None:
            raise _ApiError(404, 10004, "Unknown Guild")
        if not self._bot_in(guild):
            raise _ApiError(403, 50001, "Missing Access")
        return guild

    async def _get_guild(self, record: RecordedRequest, guild_id: str) -> web.Response:
        guild = self._route_guild(guild_id)
        payload = self._guild_create(guild, 0)
        for key in ("channels", "members", "voice_states", "presences", "threads"):
            payload.pop(key, None)
        return _json_response(200, payload)

    async def _get_guild_channels(self, record: RecordedRequest, guild_id: str) -> web.Response:
        guild = self._route_guild(guild_id)
        return _json_response(200, [c.to_payload() for c in guild.channels.values()])

    async def _get_guild_member(
        self, record: RecordedRequest, guild_id: str, user_id: str
    ) -> web.Response:
        member = self._route_guild(guild_id).get_member(int(user_id))
        if member is None:
            raise _ApiError(404, 10007, "Unknown Member")
        return _json_response(200, member.to_payload())

    async def _get_guild_roles(self, record: RecordedRequest, guild_id: str) -> web.Response:
        guild = self._route_guild(guild_id)
        return _json_response(200, [r.to_payload() for r in guild.roles.values()])

    # interactions

    async def _callback(
        self, record: RecordedRequest, interaction_id: str, token: str
    ) -> web.Response:
        handle = self._interactions_by_token.get(token)
        if handle is None or handle.id != int(interaction_id) or handle.expired:
            raise _ApiError(404, 10062, "Unknown interaction")
        if handle.callbacks:
            raise _ApiError(400, 40060, "Interaction has already been acknowledged.")
        body = record.json or {}
        kind = int(body.get("type", 0))
        data = body.get("data") or {}
        message: FakeMessage | None = None
        if kind == CB_MESSAGE:
            self._validate(data, record)
            message = self._new_bot_message(
                handle.channel, data, record, source="interaction", handle=handle
            )
            handle.original = message
        elif kind == CB_DEFER:
            flags = (int(data.get("flags") or 0) & EPHEMERAL) | LOADING
            message = self._new_bot_message(
                handle.channel, {}, record, source="interaction", handle=handle, flags=flags
            )
            handle.original = message
        elif kind == CB_DEFER_UPDATE:
            # A modal submitted from a slash command has no message: this only acknowledges.
            message = handle.source_message
            handle.original = message
        elif kind == CB_UPDATE:
            if handle.source_message is None:
                raise _form_error(
                    "type", "INTERACTION_NO_MESSAGE", "This interaction has no message"
                )
            message = handle.source_message
            handle.original = message
            self._validate(data, record, allow_empty=True)
            message.apply_edit(data)
        elif kind == CB_AUTOCOMPLETE:
            choices = data.get("choices") or []
            if len(choices) > 25 or any(len(str(c.get("name", ""))) > 100 for c in choices):
                raise _form_error(
                    "choices", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
                )
        elif kind == CB_MODAL:
            if len(str(data.get("title", ""))) > 45 or not data.get("components"):
                raise _form_error(
                    "title", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 45 in length."
                )
        elif kind not in (10, 12):
            raise _form_error(
                "type", "BASE_TYPE_CHOICES", f"Value {kind} is not a valid callback type."
            )
        handle.callbacks.append(body)
        response: JSON = {
            "interaction": {
                "id": str(handle.id),
                "type": handle.type,
                "response_message_loading": kind == CB_DEFER,
                "response_message_ephemeral": bool(message and message.ephemeral),
            },
            "resource": {"type": kind},
        }
        if message is not None:
            response["interaction"]["response_message_id"] = str(message.id)
            if kind in (CB_MESSAGE, CB_DEFER, CB_UPDATE):
                response["resource"]["message"] = message.to_payload()
            if kind == CB_MESSAGE:
                await self._announce_message(message, "MESSAGE_CREATE")
            elif kind == CB_UPDATE:
                await self._announce_message(message, "MESSAGE_UPDATE")
        return _json_response(200, response)

    def _webhook_handle(self, app_id: str, token: str) -> InteractionHandle:
        if int(app_id) != self.application_id:
            raise _ApiError(404, 10015, "Unknown Webhook")
        handle = self._interactions_by_token.get(token)
        if handle is None or handle.expired:
            raise _ApiError(401, 50027, "Invalid Webhook Token")
        return handle

    def _webhook_message(self, handle: InteractionHandle, message_id: str) -> FakeMessage:
        if message_id == "@original":
            message = handle.original
        else:
            candidates = [handle.original, *handle.followups]
            message = next(
                (m for m in candidates if m is not None and m.id == int(message_id)), None
            )
        if message is None or message.deleted:
            raise _ApiError(404, 10008, "Unknown Message")
        return message

    async def _followup(self, record: RecordedRequest, app_id: str, token: str) -> web.Response:
        handle = self._webhook_handle(app_id, token)
        if not handle.callbacks:
            raise _ApiError(404, 10015, "Unknown Webhook")
        body = record.json or {}
        self._validate(body, record)
        original = handle.original
        if original is not None and original.loading and handle.response_type == CB_DEFER:
            # Discord: the first follow-up after a defer replaces the "thinking" message.
            original.apply_edit(body)
            original.flags &= ~LOADING
            message = original
            await self._announce_message(message, "MESSAGE_CREATE")
        else:
            flags = int(body.get("flags") or 0) & (EPHEMERAL | (1 << 2) | (1 << 12) | (1 << 15))
            message = self._new_bot_message(
                handle.channel, body, record, source="followup", handle=handle, flags=flags
            )
            await self._announce_message(message, "MESSAGE_CREATE")
        handle.followups.append(message)
        if record.query.get("wait") in ("1", "true", "True"):
            return _json_response(200, message.to_payload())
        return web.Response(status=204)

    async def _get_webhook_message(
        self, record: RecordedRequest, app_id: str, token: str, message_id: str
    ) -> web.Response:
        handle = self._webhook_handle(app_id, token)
        return _json_response(200, self._webhook_message(handle, message_id).to_payload())

    async def _edit_webhook_message(
        self, record: RecordedRequest, app_id: str, token: str, message_id: str
    ) -> web.Response:
        handle = self._webhook_handle(app_id, token)
        message = self._webhook_message(handle, message_id)
        body = record.json or {}
        self._validate(body, record, allow_empty=True)
        was_loading = message.loading
        message.apply_edit(body)
        message.flags &= ~LOADING
        handle.edits.append((message, body))
        await self._announce_message(message, "MESSAGE_CREATE" if was_loading else "MESSAGE_UPDATE")
        return _json_response(200, message.to_payload())

    async def _delete_webhook_message(
        self, record: RecordedRequest, app_id: str, token: str, message_id: str
    ) -> web.Response:
        handle = self._webhook_handle(app_id, token)
        message = self._webhook_message(handle, message_id)
        handle.deleted.append(message)
        await self._mark_deleted(message)
        return web.Response(status=204)


# -- helpers ---------------------------------------------------------------------------------------


def _schema_option(schema: JSON | None, name: str) -> JSON | None:
    if not schema:
        return None
    return next((o for o in schema.get("options") or [] if o.get("name") == name), None)


async def _read_body(request: web.Request) -> tuple[Any, dict[str, bytes]]:
    files: dict[str, bytes] = {}
    content_type = request.content_type
    if content_type == "multipart/form-data":
        payload: Any = None
        reader = await request.multipart()
        while True:
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, aiohttp.BodyPartReader):
                continue
            raw = await part.read(decode=False)
            if part.name == "payload_json":
                payload = json.loads(bytes(raw))
            else:
                files[part.filename or part.name or f"file{len(files)}"] = bytes(raw)
        return payload, files
    if not request.can_read_body:
        return None, files
    raw_body = await request.read()
    if not raw_body:
        return None, files
    try:
        return json.loads(raw_body), files
    except ValueError:
        return raw_body.decode("utf-8", "replace"), files


def _json_response(
    status: int, payload: Any, headers: Mapping[str, str] | None = None
) -> web.Response:
    # discord.py parses JSON only when Content-Type is exactly "application/json" (no charset).
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    return web.Response(status=status, body=json.dumps(payload).encode(), headers=all_headers)


def _form_error(key: str, code: str, message: str) -> _ApiError:
    errors = {"data": {key: {"_errors": [{"code": code, "message": message}]}}}
    return _ApiError(400, 50035, "Invalid Form Body", errors)


def _error_response(error: _ApiError) -> web.Response:
    payload: JSON = {"message": error.message, "code": error.code}
    if error.errors is not None:
        payload["errors"] = error.errors
    return _json_response(error.status, payload)


def _fault_response(rule: FailRule) -> web.Response:
    if rule.status != 429:
        return _json_response(rule.status, {"message": rule.message, "code": rule.code})
    headers = {
        "Retry-After": f"{rule.retry_after:.3f}",
        "X-RateLimit-Limit": "5",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": f"{time.time() + rule.retry_after:.3f}",
        "X-RateLimit-Reset-After": f"{rule.retry_after:.3f}",
        "X-RateLimit-Bucket": "fakebucket" + format(abs(hash(rule.path.pattern)) % 10**8, "08d"),
        "X-RateLimit-Scope": "global" if rule.is_global else "user",
        # discord.py treats a 429 without Via as a Cloudflare ban and raises instead of retrying.
        "Via": "1.1 google",
    }
    if rule.is_global:
        headers["X-RateLimit-Global"] = "true"
    body = {
        "message": rule.message,
        "retry_after": rule.retry_after,
        "global": rule.is_global,
        "code": rule.code,
    }
    return _json_response(429, body, headers)
