"""Interactions injected by the fake Discord: slash commands, autocomplete, clicks, modals."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tests.fakes.discord._common import (
    _COMPONENT_TYPES_WITH_VALUES,
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    CB_AUTOCOMPLETE,
    CB_DEFER,
    CB_DEFER_UPDATE,
    CB_MESSAGE,
    CB_MODAL,
    CB_UPDATE,
    MESSAGE_COMPONENT,
    MODAL_SUBMIT,
    FakeDiscordError,
)
from tests.fakes.discord_payloads import (
    EPHEMERAL,
    JSON,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeMessage,
    FakeRole,
    FakeUser,
    walk_components,
)

if TYPE_CHECKING:
    from tests.fakes.discord.fake import FakeDiscord

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


class InteractionsMixin:
    """Building and injecting INTERACTION_CREATE (state lives in :class:`FakeDiscord`)."""

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


def _schema_option(schema: JSON | None, name: str) -> JSON | None:
    if not schema:
        return None
    return next((o for o in schema.get("options") or [] if o.get("name") == name), None)
