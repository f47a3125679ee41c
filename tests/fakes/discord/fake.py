"""The :class:`FakeDiscord` facade: state, lifecycle and waiting; its parts are mixins."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import discord
import discord.gateway
import discord.http
import yarl
from aiohttp import web

from tests.fakes.discord._common import (
    _GATEWAY_PATH,
    _RESUME_PATH,
    FailRule,
    FakeDiscordError,
    FakeDiscordTimeout,
    RecordedRequest,
    T,
)
from tests.fakes.discord.gateway import GatewayMixin
from tests.fakes.discord.gateway_sessions import _Connection, _Session
from tests.fakes.discord.interaction_responses import InteractionResponsesMixin
from tests.fakes.discord.interactions import InteractionHandle, InteractionsMixin
from tests.fakes.discord.rest import RestMixin
from tests.fakes.discord.rest_messages import MessagesRestMixin
from tests.fakes.discord.shards import MAX_GUILDS_PER_SHARD, ShardsMixin
from tests.fakes.discord.world import WorldMixin
from tests.fakes.discord_payloads import (
    JSON,
    PRIVILEGED_INTENTS,
    FakeChannel,
    FakeGuild,
    FakeMessage,
    FakeUser,
    SnowflakeFactory,
)


class FakeDiscord(
    InteractionsMixin,
    InteractionResponsesMixin,
    GatewayMixin,
    ShardsMixin,
    RestMixin,
    MessagesRestMixin,
    WorldMixin,
):
    """A loopback Discord: see the module docstring for the API."""

    def __init__(
        self,
        *,
        bot_name: str = "GW2Optimizer",
        expected_token: str | None = None,
        default_timeout: float = 5.0,
        heartbeat_interval_ms: int = 41_250,
        shard_count: int = 1,
        max_concurrency: int = 1,
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
        #: Bodies Discord's OpenAPI request schema refuses (each answered 400 / 50035).
        self.spec_violations: list[str] = []
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
        #: What GET /gateway/bot recommends, and how many shards may IDENTIFY at once.
        self.shard_count = shard_count
        self.max_concurrency = max_concurrency
        self.session_starts_remaining = 999
        #: Close every IDENTIFY with this code (4004, 4013, ...); None accepts them.
        self.identify_close_code: int | None = None
        #: More guilds than this on one shard: IDENTIFY is closed with 4011 (sharding required).
        self.max_guilds_per_shard = MAX_GUILDS_PER_SHARD
        self._stalled_shards: dict[int, asyncio.Event] = {}
        self._connections: list[_Connection] = []

        self._changed: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._extra_routes: list[Any] = []
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
