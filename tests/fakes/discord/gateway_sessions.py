"""Gateway sessions and connections of the fake Discord (one session per shard)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from tests.fakes.discord._common import dumps_json
from tests.fakes.discord_payloads import JSON


class _Session:
    def __init__(self, session_id: str, intents: int, identify: JSON) -> None:
        self.id = session_id
        self.intents = intents
        self.identify = identify
        self.seq = 0
        self.buffer: list[JSON] = []
        self.connection: _Connection | None = None
        self.guilds_sent = False
        #: ``(shard_id, shard_count)`` from IDENTIFY; None for an unsharded client.
        shard = identify.get("shard")
        self.shard: tuple[int, int] | None = (int(shard[0]), int(shard[1])) if shard else None

    @property
    def shard_id(self) -> int:
        return self.shard[0] if self.shard else 0

    def owns(self, guild_id: int | None) -> bool:
        """Whether Discord delivers this guild's events on this session (DMs: shard 0)."""
        if self.shard is None:
            return True
        shard_id, count = self.shard
        if guild_id is None:
            return shard_id == 0
        return (guild_id >> 22) % count == shard_id


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
        #: The TCP transport, to drop the connection without a close frame.
        self.transport: Any = None

    async def send(self, payload: JSON) -> None:
        if self.closed or self.ws.closed:
            return
        try:
            await self.ws.send_str(dumps_json(payload).decode())
        except (ConnectionError, RuntimeError):
            self.closed = True
