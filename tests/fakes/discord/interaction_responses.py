"""The fake Discord's REST side of interactions: callbacks, follow-ups, @original edits."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from tests.fakes.discord._common import (
    CB_AUTOCOMPLETE,
    CB_DEFER,
    CB_DEFER_UPDATE,
    CB_MESSAGE,
    CB_MODAL,
    CB_UPDATE,
    RecordedRequest,
    _ApiError,
    _form_error,
    _json_response,
)
from tests.fakes.discord_payloads import (
    EPHEMERAL,
    JSON,
    LOADING,
    FakeMessage,
)

if TYPE_CHECKING:
    from tests.fakes.discord.interactions import InteractionHandle


class InteractionResponsesMixin:
    """Interaction callback and webhook routes (state lives in :class:`FakeDiscord`)."""

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
        if (
            original is not None
            and original.loading
            and not original.deleted
            and handle.response_type == CB_DEFER
        ):
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
