"""The fake Discord's gateway: websocket sessions, IDENTIFY/RESUME, dispatching live changes."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Sequence
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from tests.fakes.discord._common import FakeDiscordError
from tests.fakes.discord.gateway_sessions import _Connection, _Session
from tests.fakes.discord_payloads import (
    INTENT_DM_MESSAGES,
    INTENT_GUILD_MESSAGES,
    INTENT_MEMBERS,
    INTENT_MESSAGE_CONTENT,
    INTENT_VOICE_STATES,
    JSON,
    PRIVILEGED_INTENTS,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeMessage,
    FakeRole,
    FakeUser,
    PermissionsLike,
)

log = logging.getLogger("tests.fakes.discord")


class GatewayMixin:
    """Gateway connections and dispatches (state lives in :class:`FakeDiscord`)."""

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
        self,
        *,
        client_task: asyncio.Task[Any] | None = None,
        timeout: float | None = None,
        shard_ids: Sequence[int] | None = None,
    ) -> None:
        """Wait until READY and all GUILD_CREATEs were sent and parsed by the client.

        With ``client_task``, a client that crashed (e.g. PrivilegedIntentsRequired) re-raises
        its exception here instead of waiting for the timeout. Every session that identified
        must be up; ``shard_ids`` also waits for those shards to identify.
        """

        def ready() -> bool:
            if client_task is not None and client_task.done():
                client_task.result()  # raises the client's exception
                raise FakeDiscordError("the client stopped before it was ready")
            sessions = list(self._sessions.values())
            if shard_ids is not None:
                by_shard = {s.shard_id: s for s in sessions}
                if any(i not in by_shard for i in shard_ids):
                    return False
            # Every shard that identified (one session unsharded) has its guilds.
            return bool(sessions) and all(s.guilds_sent and s.connection for s in sessions)

        await self.wait_until(ready, "the client to connect and receive READY", timeout)
        await self.sync(timeout)

    async def drop_gateway(self, code: int = 4000) -> None:
        """Close every gateway connection with ``code``; the client reconnects and resumes."""
        for connection in list(self._connections):
            connection.closed = True
            await connection.ws.close(code=code, message=b"dropped by the fake")

    # -- live changes (dispatching) ------------------------------------------------------------

    async def dispatch(
        self, event: str, data: JSON, *, wait: bool = True, timeout: float | None = None
    ) -> None:
        """Send a DISPATCH to every session; with ``wait``, return once the client parsed it."""
        if not self._live_sessions():
            raise FakeDiscordError(f"cannot dispatch {event}: no client is connected")
        # Discord sends a guild's events on its shard only (DMs and the rest on shard 0).
        sessions = self._sessions_for(_guild_of(event, data))
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
        for session in self._sessions_for(guild.id):
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

    # -- gateway -------------------------------------------------------------------------------

    def _live_sessions(self) -> list[_Session]:
        return [s for s in self._sessions.values() if s.guilds_sent]

    def _sessions_for(self, guild_id: int | None) -> list[_Session]:
        return [s for s in self._sessions.values() if s.guilds_sent and s.owns(guild_id)]

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
        for session in self._sessions_for(_guild_of(event, data)):
            if session.intents & intent:
                await self._send_dispatch(session, event, data)

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0, autoping=True)
        await ws.prepare(request)
        connection = _Connection(ws, request.path, request.query)
        connection.transport = request.transport
        self._connections.append(connection)
        self._bump()
        try:
            await self._before_hello(connection)
            await connection.send(
                {"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}, "s": None}
            )
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    await self._on_gateway_frame(connection, orjson.loads(message.data))
                elif message.type is WSMsgType.ERROR:
                    break
        except Exception as error:
            # A bug in the fake: make it visible (timeouts list it) instead of a silent hang.
            log.exception("fake discord: gateway handler failed")
            self.errors.append(f"gateway: {error!r}")
            await ws.close(code=1011, message=b"fake discord bug")
        finally:
            closed_by_fake = connection.closed
            connection.closed = True
            session = connection.session
            if session is not None and session.connection is connection:
                session.connection = None
                if ws.close_code == 1000 and not closed_by_fake:
                    # A clean close by the client ends its session (Discord cannot resume it).
                    self._sessions.pop(session.id, None)
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
        session = _Session(secrets.token_hex(16), intents, data)
        refusal = self._refuse_identify(session)
        if refusal is not None:
            await connection.ws.close(code=refusal[0], message=refusal[1].encode())
            return
        # A new identify replaces the earlier session of its shard (every session unsharded).
        for old in list(self._sessions.values()):
            if session.shard is None or old.shard is None or old.shard_id == session.shard_id:
                del self._sessions[old.id]
        self._sessions[session.id] = session
        session.connection = connection
        connection.session = session
        guilds = [g for g in self.guilds.values() if self._bot_in(g) and session.owns(g.id)]
        ready: JSON = {
            "v": 10,
            "user": self.bot_user.to_payload()
            | {"verified": True, "mfa_enabled": False, "email": None},
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self._resume_url(session),
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
        for guild in guilds:
            await self._send_dispatch(session, "GUILD_CREATE", self._guild_create(guild, intents))
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
        for session in self._sessions_for(message.guild_id):
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


def _guild_of(event: str, data: JSON) -> int | None:
    """The guild a dispatch belongs to (None: a DM or not guild-specific)."""
    value = data.get("guild_id")
    if value is None and event.startswith("GUILD_"):
        value = data.get("id")
    return int(value) if value is not None else None
