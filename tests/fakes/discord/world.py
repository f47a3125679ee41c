"""The fake Discord's world model (users, guilds, channels, members), inspection and faults."""

from __future__ import annotations

import re
from collections.abc import Sequence

import discord
import discord.gateway
import discord.http

from tests.fakes.discord._common import (
    FailRule,
    FakeDiscordError,
)
from tests.fakes.discord_payloads import (
    CATEGORY,
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_EVERYONE_PERMISSIONS,
    DM,
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
    compute_permissions,
    permission_bits,
)


class WorldMixin:
    """Building the world the next READY describes (state lives in :class:`FakeDiscord`)."""

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
