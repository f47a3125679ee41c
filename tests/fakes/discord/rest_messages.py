"""The fake Discord's channel and message routes."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from aiohttp import web

from tests.fakes.discord._common import (
    APPLICATION_COMMAND,
    RecordedRequest,
    _ApiError,
    _json_response,
)
from tests.fakes.discord_payloads import (
    CATEGORY,
    JSON,
    MANAGE_MESSAGES,
    READ_MESSAGE_HISTORY,
    SEND_MESSAGES,
    VIEW_CHANNEL,
    FakeChannel,
    FakeMessage,
    is_empty_message,
    validate_message_body,
)

if TYPE_CHECKING:
    from tests.fakes.discord.interactions import InteractionHandle


class MessagesRestMixin:
    """Channel and message routes (state lives in :class:`FakeDiscord`)."""

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
