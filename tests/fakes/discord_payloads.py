"""World model and payload builders for the fake Discord in :mod:`tests.fakes.discord`.

Everything here is plain data: users, guilds, roles, channels, members, voice states and
messages, each able to render itself as the JSON payload Discord would send. Permission
computation follows Discord's algorithm (base permissions from @everyone and roles, owner and
Administrator shortcut, then channel overwrites for @everyone, roles and the member).

Permission values are plain ``int`` bit fields; wherever one is accepted, a
:class:`discord.Permissions` instance or a flag name such as ``"send_messages"`` works too
(see :func:`permission_bits`).
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import discord

JSON = dict[str, Any]
PermissionsLike = int | discord.Permissions | str

DISCORD_EPOCH_MS = 1_420_070_400_000

# Channel types (Discord API values).
TEXT = 0
DM = 1
VOICE = 2
CATEGORY = 4

# Message flags.
EPHEMERAL = 1 << 6
LOADING = 1 << 7

# Gateway intents that need the "privileged" toggle in the developer portal.
INTENT_GUILDS = 1 << 0
INTENT_MEMBERS = 1 << 1
INTENT_VOICE_STATES = 1 << 7
INTENT_PRESENCES = 1 << 8
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DM_MESSAGES = 1 << 12
INTENT_MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = INTENT_MEMBERS | INTENT_PRESENCES | INTENT_MESSAGE_CONTENT

ALL_PERMISSIONS = discord.Permissions.all().value
ADMINISTRATOR = discord.Permissions(administrator=True).value
VIEW_CHANNEL = discord.Permissions(view_channel=True).value
SEND_MESSAGES = discord.Permissions(send_messages=True).value
MANAGE_MESSAGES = discord.Permissions(manage_messages=True).value
READ_MESSAGE_HISTORY = discord.Permissions(read_message_history=True).value

#: What @everyone gets by default in a fake guild: a typical member of a guild.
DEFAULT_EVERYONE_PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    embed_links=True,
    attach_files=True,
    add_reactions=True,
    read_message_history=True,
    use_application_commands=True,
    connect=True,
    speak=True,
    use_voice_activation=True,
    change_nickname=True,
    create_instant_invite=True,
).value

#: What the bot's managed role gets by default (invite with the usual bot scopes).
DEFAULT_BOT_PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    embed_links=True,
    attach_files=True,
    read_message_history=True,
    add_reactions=True,
    use_external_emojis=True,
    manage_messages=True,
    connect=True,
).value


def permission_bits(*values: PermissionsLike) -> int:
    """OR together ints, :class:`discord.Permissions` and flag names (``"manage_guild"``)."""
    bits = 0
    for value in values:
        if isinstance(value, discord.Permissions):
            bits |= value.value
        elif isinstance(value, str):
            if value not in discord.Permissions.VALID_FLAGS:
                raise ValueError(f"unknown permission flag {value!r}")
            bits |= discord.Permissions(**{value: True}).value
        else:
            bits |= int(value)
    return bits


def iso_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


class SnowflakeFactory:
    """Unique, increasing snowflakes whose timestamp part is the current time."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)
        self._last = 0

    def __call__(self) -> int:
        stamp = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        value = max(stamp | (next(self._counter) & 0xFFF), self._last + 1)
        self._last = value
        return value


@dataclass(eq=False)
class FakeUser:
    id: int
    name: str
    bot: bool = False
    global_name: str | None = None
    #: Set by :meth:`FakeDiscord.close_dms`: posting to this user's DM answers 403 / 50007.
    dms_closed: bool = False

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"

    def to_payload(self) -> JSON:
        return {
            "id": str(self.id),
            "username": self.name,
            "discriminator": "0",
            "global_name": self.global_name or self.name,
            "avatar": None,
            "bot": self.bot,
            "system": False,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
        }


@dataclass(eq=False)
class FakeRole:
    id: int
    guild_id: int
    name: str
    permissions: int = 0
    position: int = 0
    managed: bool = False
    hoist: bool = False
    mentionable: bool = False
    #: For the bot's managed role: the bot's user id (``tags.bot_id``).
    bot_id: int | None = None

    @property
    def mention(self) -> str:
        return f"<@&{self.id}>"

    def to_payload(self) -> JSON:
        payload: JSON = {
            "id": str(self.id),
            "name": self.name,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": self.hoist,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": self.managed,
            "mentionable": self.mentionable,
            "flags": 0,
        }
        if self.bot_id is not None:
            payload["tags"] = {"bot_id": str(self.bot_id)}
        return payload


@dataclass(eq=False)
class Overwrite:
    target_id: int
    #: 0 for a role, 1 for a member.
    type: int
    allow: int = 0
    deny: int = 0

    def to_payload(self) -> JSON:
        return {
            "id": str(self.target_id),
            "type": self.type,
            "allow": str(self.allow),
            "deny": str(self.deny),
        }


@dataclass(eq=False)
class FakeChannel:
    id: int
    type: int
    name: str
    guild: FakeGuild | None = None
    position: int = 0
    overwrites: dict[int, Overwrite] = field(default_factory=dict)
    parent_id: int | None = None
    topic: str | None = None
    #: The other user of a DM channel.
    recipient: FakeUser | None = None
    deleted: bool = False

    @property
    def is_dm(self) -> bool:
        return self.type == DM

    @property
    def mention(self) -> str:
        return f"<#{self.id}>"

    def to_payload(self) -> JSON:
        if self.type == DM:
            recipients = [self.recipient.to_payload()] if self.recipient else []
            return {
                "id": str(self.id),
                "type": DM,
                "last_message_id": None,
                "flags": 0,
                "recipients": recipients,
            }
        payload: JSON = {
            "id": str(self.id),
            "type": self.type,
            "name": self.name,
            "position": self.position,
            "permission_overwrites": [o.to_payload() for o in self.overwrites.values()],
            "parent_id": str(self.parent_id) if self.parent_id else None,
            "nsfw": False,
            "flags": 0,
        }
        if self.guild is not None:
            payload["guild_id"] = str(self.guild.id)
        if self.type == TEXT:
            payload.update(
                topic=self.topic,
                last_message_id=None,
                rate_limit_per_user=0,
                default_thread_rate_limit_per_user=0,
            )
        elif self.type == VOICE:
            payload.update(
                bitrate=64000,
                user_limit=0,
                rtc_region=None,
                video_quality_mode=1,
                last_message_id=None,
                rate_limit_per_user=0,
            )
        return payload


@dataclass(eq=False)
class FakeMember:
    guild: FakeGuild
    user: FakeUser
    roles: list[FakeRole] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = field(default_factory=iso_now)
    flags: int = 0

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def mention(self) -> str:
        return self.user.mention

    def permissions_in(self, channel: FakeChannel | None = None) -> int:
        return compute_permissions(self.guild, self, channel)

    def to_payload(self, *, include_user: bool = True, permissions: int | None = None) -> JSON:
        payload: JSON = {
            "roles": [str(r.id) for r in self.roles],
            "nick": self.nick,
            "avatar": None,
            "banner": None,
            "joined_at": self.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": self.flags,
            "communication_disabled_until": None,
        }
        if include_user:
            payload["user"] = self.user.to_payload()
        if permissions is not None:
            payload["permissions"] = str(permissions)
        return payload


@dataclass(eq=False)
class FakeGuild:
    id: int
    name: str
    owner_id: int
    roles: dict[int, FakeRole] = field(default_factory=dict)
    channels: dict[int, FakeChannel] = field(default_factory=dict)
    members: dict[int, FakeMember] = field(default_factory=dict)
    #: user id -> voice channel id
    voice_states: dict[int, int] = field(default_factory=dict)
    default_channel: FakeChannel | None = None
    preferred_locale: str = "en-US"
    #: True once the bot was removed (GUILD_DELETE); its channels then answer 403 / 50001.
    removed: bool = False

    @property
    def everyone(self) -> FakeRole:
        return self.roles[self.id]

    @property
    def text_channels(self) -> list[FakeChannel]:
        return [c for c in self.channels.values() if c.type == TEXT]

    @property
    def voice_channels(self) -> list[FakeChannel]:
        return [c for c in self.channels.values() if c.type == VOICE]

    def get_member(self, user: FakeUser | int) -> FakeMember | None:
        user_id = user if isinstance(user, int) else user.id
        return self.members.get(user_id)

    def voice_members(self, channel: FakeChannel) -> list[FakeMember]:
        """Members currently connected to ``channel``."""
        return [self.members[uid] for uid, cid in self.voice_states.items() if cid == channel.id]

    def voice_state_payload(self, user_id: int, *, with_member: bool) -> JSON:
        channel_id = self.voice_states.get(user_id)
        payload: JSON = {
            "guild_id": str(self.id),
            "channel_id": str(channel_id) if channel_id else None,
            "user_id": str(user_id),
            "session_id": f"voice-{user_id}",
            "deaf": False,
            "mute": False,
            "self_deaf": False,
            "self_mute": False,
            "self_video": False,
            "self_stream": False,
            "suppress": False,
            "request_to_speak_timestamp": None,
        }
        member = self.members.get(user_id)
        if with_member and member is not None:
            payload["member"] = member.to_payload()
        return payload

    def to_create_payload(self, *, intents: int, bot_user_id: int) -> JSON:
        """The GUILD_CREATE payload as a client with ``intents`` would receive it.

        Without the members intent Discord only sends the bot itself and members in voice;
        without the voice-states intent it sends no voice states.
        """
        if intents & INTENT_MEMBERS:
            members = list(self.members.values())
        else:
            wanted = {bot_user_id, *self.voice_states}
            members = [m for m in self.members.values() if m.id in wanted]
        voice = intents & INTENT_VOICE_STATES
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(self.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "features": [],
            "mfa_level": 0,
            "system_channel_id": str(self.default_channel.id) if self.default_channel else None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "preferred_locale": self.preferred_locale,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "nsfw_level": 0,
            "vanity_url_code": None,
            "large": False,
            "unavailable": False,
            "member_count": len(self.members),
            "joined_at": (
                self.members[bot_user_id].joined_at if bot_user_id in self.members else iso_now()
            ),
            "roles": [r.to_payload() for r in self.roles.values()],
            "emojis": [],
            "stickers": [],
            "channels": [c.to_payload() for c in self.channels.values() if not c.deleted],
            "threads": [],
            "members": [m.to_payload() for m in members],
            "voice_states": (
                [self.voice_state_payload(uid, with_member=False) for uid in self.voice_states]
                if voice
                else []
            ),
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }


@dataclass(eq=False)
class FakeMessage:
    """A message in the fake's store: sent by the bot (REST, interaction, follow-up) or a user."""

    id: int
    channel: FakeChannel
    author: FakeUser
    content: str = ""
    embeds: list[JSON] = field(default_factory=list)
    components: list[JSON] = field(default_factory=list)
    attachments: list[JSON] = field(default_factory=list)
    flags: int = 0
    #: "channel" (POST /channels/x/messages), "interaction" (callback), "followup", or "user".
    source: str = "channel"
    #: Id of the interaction that created it (interaction and follow-up messages).
    interaction_id: int | None = None
    interaction_metadata: JSON | None = None
    application_id: int | None = None
    message_reference: JSON | None = None
    type: int = 0
    timestamp: str = field(default_factory=iso_now)
    edited_timestamp: str | None = None
    deleted: bool = False
    #: Earlier versions (payloads) of the message, oldest first, one per edit.
    history: list[JSON] = field(default_factory=list)

    @property
    def channel_id(self) -> int:
        return self.channel.id

    @property
    def guild_id(self) -> int | None:
        return self.channel.guild.id if self.channel.guild else None

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    @property
    def loading(self) -> bool:
        return bool(self.flags & LOADING)

    @property
    def embed(self) -> JSON | None:
        """The first embed, or None."""
        return self.embeds[0] if self.embeds else None

    def custom_ids(self) -> list[str]:
        """Every ``custom_id`` in the message's components (buttons, selects), in order."""
        return [c["custom_id"] for c in walk_components(self.components) if "custom_id" in c]

    def all_text(self) -> str:
        """Content plus every text in embeds and components: for "does X leak?" assertions."""
        parts: list[str] = [self.content]
        for embed in self.embeds:
            parts.extend(_strings_in(embed))
        for component in walk_components(self.components):
            for key in ("label", "placeholder", "content", "value"):
                if isinstance(component.get(key), str):
                    parts.append(component[key])
            for option in component.get("options", []) or []:
                parts.extend(str(option.get(k, "")) for k in ("label", "description", "value"))
        return "\n".join(p for p in parts if p)

    def apply_edit(self, body: JSON) -> None:
        self.history.append(self.to_payload())
        for key in ("content", "embeds", "components", "attachments"):
            if key in body and body[key] is not None:
                setattr(self, key, body[key])
            elif key in body:
                setattr(self, key, "" if key == "content" else [])
        if body.get("flags") is not None:
            # Only SUPPRESS_EMBEDS can be toggled by an edit; the rest is kept.
            self.flags = (self.flags & ~(1 << 2)) | (int(body["flags"]) & (1 << 2))
        self.edited_timestamp = iso_now()

    def to_payload(self) -> JSON:
        payload: JSON = {
            "id": str(self.id),
            "channel_id": str(self.channel.id),
            "author": self.author.to_payload(),
            "content": self.content,
            "timestamp": self.timestamp,
            "edited_timestamp": self.edited_timestamp,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": self.attachments,
            "embeds": self.embeds,
            "components": self.components,
            "reactions": [],
            "pinned": False,
            "type": self.type,
            "flags": self.flags,
        }
        if self.application_id is not None:
            payload["application_id"] = str(self.application_id)
            payload["webhook_id"] = str(self.application_id)
        if self.interaction_metadata is not None:
            payload["interaction_metadata"] = self.interaction_metadata
        if self.message_reference is not None:
            payload["message_reference"] = self.message_reference
        if self.channel.guild is not None:
            payload["guild_id"] = str(self.channel.guild.id)
        return payload


def walk_components(components: Iterable[Any]) -> Iterator[JSON]:
    """Every component, depth first, through action rows, sections, containers and labels."""
    for component in components:
        if not isinstance(component, dict):
            continue
        yield component
        yield from walk_components(component.get("components", []) or [])
        for key in ("accessory", "component"):
            child = component.get(key)
            if isinstance(child, dict):
                yield from walk_components([child])


def _strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key not in ("type", "url", "proxy_url", "icon_url", "proxy_icon_url", "timestamp"):
                yield from _strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings_in(item)


def compute_permissions(
    guild: FakeGuild, member: FakeMember, channel: FakeChannel | None = None
) -> int:
    """Discord's permission algorithm: roles, owner/administrator, then channel overwrites."""
    if member.user.id == guild.owner_id:
        return ALL_PERMISSIONS
    base = guild.everyone.permissions
    for role in member.roles:
        base |= role.permissions
    if base & ADMINISTRATOR:
        return ALL_PERMISSIONS
    if channel is None or channel.guild is not guild:
        return base
    perms = base
    everyone = channel.overwrites.get(guild.id)
    if everyone is not None:
        perms = (perms & ~everyone.deny) | everyone.allow
    role_ids = {r.id for r in member.roles}
    allow = deny = 0
    for target_id, overwrite in channel.overwrites.items():
        if overwrite.type == 0 and target_id in role_ids:
            allow |= overwrite.allow
            deny |= overwrite.deny
    perms = (perms & ~deny) | allow
    own = channel.overwrites.get(member.user.id)
    if own is not None and own.type == 1:
        perms = (perms & ~own.deny) | own.allow
    if not perms & VIEW_CHANNEL:
        return 0
    return perms


# -- message validation (a subset of Discord's limits, answered as 400 / 50035) -------------------

_EMBED_LIMITS = {"title": 256, "description": 4096}


def validate_message_body(body: JSON) -> JSON | None:
    """The ``errors`` object of a 50035 answer if ``body`` breaks a Discord limit, else None."""
    errors: JSON = {}
    content = body.get("content")
    if isinstance(content, str) and len(content) > 2000:
        errors["content"] = _max_length(2000)
    embeds = body.get("embeds") or []
    if len(embeds) > 10:
        errors["embeds"] = {
            "_errors": [
                {"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 10 or fewer in length."}
            ]
        }
    total = 0
    for index, embed in enumerate(embeds):
        embed_errors: JSON = {}
        for key, limit in _EMBED_LIMITS.items():
            text = embed.get(key) or ""
            total += len(text)
            if len(text) > limit:
                embed_errors[key] = _max_length(limit)
        fields = embed.get("fields") or []
        if len(fields) > 25:
            embed_errors["fields"] = {
                "_errors": [
                    {"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 25 or fewer in length."}
                ]
            }
        for field_index, embed_field in enumerate(fields):
            name, value = str(embed_field.get("name", "")), str(embed_field.get("value", ""))
            total += len(name) + len(value)
            field_errors: JSON = {}
            if not name or len(name) > 256:
                field_errors["name"] = _max_length(256) if name else _required()
            if not value or len(value) > 1024:
                field_errors["value"] = _max_length(1024) if value else _required()
            if field_errors:
                embed_errors.setdefault("fields", {})[str(field_index)] = field_errors
        footer = (embed.get("footer") or {}).get("text") or ""
        author = (embed.get("author") or {}).get("name") or ""
        total += len(footer) + len(author)
        if len(footer) > 2048:
            embed_errors["footer"] = {"text": _max_length(2048)}
        if len(author) > 256:
            embed_errors["author"] = {"name": _max_length(256)}
        if embed_errors:
            errors.setdefault("embeds", {})[str(index)] = embed_errors
    if total > 6000:
        errors.setdefault("embeds", {})["_errors"] = [
            {
                "code": "MAX_EMBED_SIZE_EXCEEDED",
                "message": "Embed size exceeds maximum size of 6000",
            }
        ]
    components = body.get("components") or []
    if len(components) > 5 and not int(body.get("flags") or 0) & (1 << 15):
        errors["components"] = {
            "_errors": [
                {"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 5 or fewer in length."}
            ]
        }
    for component in walk_components(components):
        custom_id = component.get("custom_id")
        if isinstance(custom_id, str) and len(custom_id) > 100:
            errors.setdefault("components", {})["custom_id"] = _max_length(100)
        label = component.get("label")
        if component.get("type") == 2 and isinstance(label, str) and len(label) > 80:
            errors.setdefault("components", {})["label"] = _max_length(80)
        if len(component.get("options") or []) > 25:
            errors.setdefault("components", {})["options"] = {
                "_errors": [
                    {"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 25 or fewer in length."}
                ]
            }
    return errors or None


def is_empty_message(body: JSON, *, has_files: bool) -> bool:
    return not (
        body.get("content")
        or body.get("embeds")
        or body.get("components")
        or body.get("sticker_ids")
        or body.get("poll")
        or has_files
    )


def _max_length(limit: int) -> JSON:
    return {
        "_errors": [
            {"code": "BASE_TYPE_MAX_LENGTH", "message": f"Must be {limit} or fewer in length."}
        ]
    }


def _required() -> JSON:
    return {"_errors": [{"code": "BASE_TYPE_REQUIRED", "message": "This field is required"}]}
