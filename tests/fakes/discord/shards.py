"""Shards in the fake Discord: shard routing, thousands of cheap guilds, dropping one shard.

``fake.shard_count`` is what ``GET /gateway/bot`` recommends and ``fake.max_concurrency`` its
``session_start_limit.max_concurrency``. A client that IDENTIFYs with ``shard: [id, count]`` gets
a session holding only the guilds with ``(guild_id >> 22) % count == id``; guild events go to that
session only, DMs to shard 0 (as Discord does). Each shard resumes on its own URL
(``/gateway-resume/{id}``), so one shard can be held down while the others stay up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Literal

from tests.fakes.discord._common import _RESUME_PATH, FakeDiscordError
from tests.fakes.discord.gateway_sessions import _Connection, _Session
from tests.fakes.discord_payloads import FakeGuild

DropHow = Literal["close", "abrupt", "reconnect", "invalid_session", "invalid_session_resumable"]

# Discord refuses an unsharded (or under-sharded) IDENTIFY above this many guilds per shard.
MAX_GUILDS_PER_SHARD = 2500


class ShardsMixin:
    """Shard knobs and helpers (state lives in :class:`FakeDiscord`)."""

    # -- building guilds on shards ---------------------------------------------------------------

    def guild_id_on_shard(self, shard_id: int, shard_count: int | None = None) -> int:
        """A fresh snowflake whose guild lands on ``shard_id`` of ``shard_count``."""
        count = shard_count or self.shard_count
        if not 0 <= shard_id < count:
            raise FakeDiscordError(f"shard {shard_id} is not between 0 and {count - 1}")
        base = self.snowflake()
        stamp = base >> 22
        stamp += (shard_id - stamp) % count
        return (stamp << 22) | (base & ((1 << 22) - 1))

    def shard_of(self, guild: FakeGuild | int, shard_count: int | None = None) -> int:
        guild_id = guild.id if isinstance(guild, FakeGuild) else guild
        return (guild_id >> 22) % (shard_count or self.shard_count)

    def add_guilds(
        self,
        count: int,
        *,
        name: str = "Guild",
        text_channels: int = 2,
        roles: int = 2,
        shard_count: int | None = None,
    ) -> list[FakeGuild]:
        """``count`` small guilds spread round-robin over the shards, cheaply.

        Each has @everyone, the bot (and its role), the owner, ``text_channels`` text channels
        (the first is the default) and ``roles`` more roles; no member list.
        """
        shards = shard_count or self.shard_count
        guilds = []
        for index in range(count):
            guild = self.add_guild(
                f"{name} {index}",
                id=self.guild_id_on_shard(index % shards, shards),
                default_channel="general",
            )
            for channel in range(1, text_channels):
                self.add_text_channel(guild, f"channel-{channel}")
            for role in range(roles):
                self.add_role(guild, f"role-{role}")
            guilds.append(guild)
        return guilds

    # -- inspecting and breaking shards ------------------------------------------------------------

    @property
    def connected_shards(self) -> list[int]:
        """Shard ids whose session has an open connection now."""
        return sorted(
            s.shard_id
            for s in self._sessions.values()
            if s.connection is not None and not s.connection.closed
        )

    def session_for_shard(self, shard_id: int) -> _Session:
        for session in self._sessions.values():
            if session.shard_id == shard_id:
                return session
        raise FakeDiscordError(f"no session for shard {shard_id}")

    async def drop_shard(self, shard_id: int, how: DropHow = "close", *, code: int = 4000) -> None:
        """Break one shard's connection; the others stay up.

        ``close``: a close frame with ``code`` (the client resumes); ``abrupt``: the TCP
        connection is cut without a close frame; ``reconnect``: op 7 (the client resumes);
        ``invalid_session``: op 9 false (the client identifies again and gets a new READY);
        ``invalid_session_resumable``: op 9 true (the client resumes).
        """
        connection = self.session_for_shard(shard_id).connection
        if connection is None:
            raise FakeDiscordError(f"shard {shard_id} is not connected")
        if how == "reconnect":
            await connection.send({"op": 7, "d": None})
        elif how in ("invalid_session", "invalid_session_resumable"):
            await connection.send({"op": 9, "d": how == "invalid_session_resumable"})
        elif how == "abrupt":
            connection.closed = True
            connection.transport.abort()
        else:
            connection.closed = True
            await connection.ws.close(code=code, message=b"dropped by the fake")
        self._bump()

    def stall_shard(self, shard_id: int) -> None:
        """Hold the shard's resume connections before HELLO: it stays down until released."""
        self._stalled_shards.setdefault(shard_id, asyncio.Event())

    def release_shard(self, shard_id: int) -> None:
        """Let a stalled shard's resume go on (HELLO is sent to the waiting connection)."""
        event = self._stalled_shards.pop(shard_id, None)
        if event is not None:
            event.set()

    async def wait_shards_connected(
        self, shard_ids: Sequence[int], timeout: float | None = None
    ) -> None:
        """Wait until each of ``shard_ids`` has a session with an open connection."""
        await self.wait_until(
            lambda: set(shard_ids) <= set(self.connected_shards),
            f"shards {list(shard_ids)} to be connected",
            timeout,
        )

    # -- used by the gateway -----------------------------------------------------------------------

    def _refuse_identify(self, session: _Session) -> tuple[int, str] | None:
        """The close code Discord would answer this IDENTIFY with, if any."""
        if self.identify_close_code is not None:
            return self.identify_close_code, "Refused by the fake."
        count = session.shard[1] if session.shard else 1
        if session.shard is not None and not 0 <= session.shard_id < count:
            return 4010, "Invalid shard."
        owned = sum(1 for g in self.guilds.values() if self._bot_in(g) and session.owns(g.id))
        if owned > self.max_guilds_per_shard:
            return 4011, "Sharding required."
        return None

    def _resume_url(self, session: _Session) -> str:
        if session.shard is None:
            return self.resume_gateway_url
        return f"{self.resume_gateway_url}/{session.shard_id}"

    async def _before_hello(self, connection: _Connection) -> None:
        prefix = _RESUME_PATH + "/"
        if not connection.path.startswith(prefix):
            return
        event = self._stalled_shards.get(int(connection.path[len(prefix) :]))
        if event is not None:
            self._bump()
            await event.wait()
