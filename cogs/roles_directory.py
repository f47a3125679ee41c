"""discord.py and the key store behind the role sync's two ports (a helper, not an extension).

``DiscordMemberDirectory`` reads members by id (no privileged intent: the member cache is used
only when strict mode brought the members intent) and changes roles with discord.py's
``Member.add_roles`` / ``remove_roles`` and the audit-log reason, one request at a time through a
``RequestPacer``. It checks Manage Roles, Manage Nicknames and the role hierarchy first, so it
never sends a request Discord would refuse. ``KeyStandingSource`` turns the active linked key into
a standing and remembers the facts it saw (for the guild autocomplete).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING

import discord

from bot.storage.keys import LinkedKeyStore
from services.keys import CheckResult
from services.roles import (
    AccountFacts,
    LinkedAccount,
    MemberView,
    Needs,
    RoleChange,
    Standing,
    fetch_standing,
)
from services.roles.accounts import AccountAPI
from services.updates import RequestPacer

if TYPE_CHECKING:
    from bot.client import GW2Bot

log = logging.getLogger(__name__)

AUDIT_REASON = "GW2Optimizer verification"
UNKNOWN_MEMBER = 10007
MEMBERS_KEPT = 256


class DiscordMemberDirectory:
    def __init__(self, bot: GW2Bot, pacer: RequestPacer) -> None:
        self.bot = bot
        self.pacer = pacer
        self._members: dict[tuple[int, int], discord.Member] = {}

    async def member(self, guild_id: int, user_id: int) -> MemberView | None:
        guild = self.bot.get_guild(guild_id)
        if guild is None:
            raise LookupError("the bot is not in that server")
        member = guild.get_member(user_id) if self.bot.intents.members else None
        if member is None:
            await self.pacer.acquire()
            try:
                member = await guild.fetch_member(user_id)
            except discord.NotFound as error:
                if error.code == UNKNOWN_MEMBER:
                    return None
                raise
        # Kept for the change and nickname that follow this read (a few, not the whole server).
        self._members.pop((guild_id, user_id), None)
        self._members[(guild_id, user_id)] = member
        while len(self._members) > MEMBERS_KEPT:
            del self._members[next(iter(self._members))]
        return MemberView(
            role_ids=frozenset(role.id for role in member.roles),
            display=member.nick or member.global_name or member.name,
            is_owner=guild.owner_id == user_id,
        )

    async def change_roles(self, guild_id: int, user_id: int, change: RoleChange) -> bool:
        member = self._members.get((guild_id, user_id))
        try:
            if member is None:  # read a while ago (a probe): fetch it again to change it
                guild = self.bot.get_guild(guild_id)
                if guild is None:
                    return False
                await self.pacer.acquire()
                member = await guild.fetch_member(user_id)
            for role_id in sorted(change.add):
                await self.pacer.acquire()
                await member.add_roles(discord.Object(role_id), reason=AUDIT_REASON)
            for role_id in sorted(change.remove):
                await self.pacer.acquire()
                await member.remove_roles(discord.Object(role_id), reason=AUDIT_REASON)
        except discord.HTTPException as error:
            log.info(
                "Role sync: Discord refused a role change in guild %d (HTTP %s, code %s)",
                guild_id,
                error.status,
                error.code,
            )
            return False
        return True

    async def set_nickname(self, guild_id: int, user_id: int, nickname: str) -> bool:
        guild = self.bot.get_guild(guild_id)
        member = self._members.get((guild_id, user_id))
        if guild is None or member is None or not can_rename(guild, member):
            return False
        await self.pacer.acquire()
        try:
            await member.edit(nick=nickname, reason=AUDIT_REASON)
        except discord.HTTPException as error:
            log.info("Role sync: nickname refused in guild %d (HTTP %s)", guild_id, error.status)
            return False
        return True

    def unmanageable(self, guild_id: int) -> frozenset[int]:
        guild = self.bot.get_guild(guild_id)
        if guild is None:
            return frozenset()
        return frozenset(role.id for role in guild.roles if not can_manage_role(guild, role))


def can_manage_role(guild: discord.Guild, role: discord.Role) -> bool:
    """Whether the bot may give and take ``role`` (Manage Roles and the role below its own)."""
    me = guild.me
    if me is None or not me.guild_permissions.manage_roles:
        return False
    if role.is_default() or role.managed:
        return False
    return role < me.top_role


def can_rename(guild: discord.Guild, member: discord.Member) -> bool:
    me = guild.me
    if me is None or not me.guild_permissions.manage_nicknames:
        return False
    if member.id == guild.owner_id:
        return False
    return member.top_role < me.top_role


class KeyStandingSource:
    def __init__(self, keys: LinkedKeyStore, api: AccountAPI) -> None:
        self.keys = keys
        self.api = api
        # The last facts seen per user: which GW2 guilds the /roles add autocomplete can offer.
        self.last_facts: dict[int, AccountFacts] = {}

    async def standing(self, user_id: int, needs: Needs) -> tuple[Standing, CheckResult | None]:
        usable = await self.keys.active_key(user_id)
        linked = None
        if usable is not None:
            linked = LinkedAccount(
                account_name=usable.linked.account_name,
                key=usable.key,
                permissions=frozenset(p.lower() for p in usable.linked.permissions),
                valid=usable.linked.valid,
            )
        standing, answer = await fetch_standing(self.api, linked, needs)
        if usable is not None and not usable.linked.ownership_verified:
            # Servers that require key ownership treat this key as none (services/roles).
            standing = replace(standing, ownership_verified=False)
        if standing.facts is not None:
            known = self.last_facts.get(user_id)
            facts = standing.facts
            if known is not None and facts.guilds is None:
                # keep guilds learnt from an earlier, wider lookup
                facts = AccountFacts(
                    facts.account_name, known.guilds, facts.wvw_guild, facts.wvw_team
                )
            self.last_facts[user_id] = facts
        return standing, answer
