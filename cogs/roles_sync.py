"""When and for whom the verified roles are synced (a helper of ``cogs.roles``, not an extension).

- A key changed (link, unlink, switch): that user, in every server with rules (reading the member
  by id is also how the bot learns they are there: no privileged intent).
- A server's rules changed, or ``/roles sync``: every linked user (and known member) there.
- The schedule: every known member of every server with rules once per period, spread over it.
- Strict mode (members intent): managed roles off members who never linked.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import discord

from bot.tracing import cycle_transaction
from services.roles import GuildRules, RoleSyncer, SyncReport, sync_period
from services.roles.metrics import RoleMetrics
from services.roles.sync import all_needs

from .roles_directory import AUDIT_REASON, DiscordMemberDirectory, KeyStandingSource

if TYPE_CHECKING:
    from bot.client import GW2Bot

log = logging.getLogger(__name__)

FIRST_PASS_DELAY_S = 60.0
MIN_PAUSE_S = 60.0
PROBES_AT_ONCE = 8
ABSENT_TTL_S = 6 * 3600.0  # a linked user not in a server is looked up again after this
Sleep = Callable[[float], Awaitable[None]]


class RoleSyncRunner:
    def __init__(self, bot: GW2Bot, *, sleep: Sleep = asyncio.sleep) -> None:
        self.bot = bot
        services = bot.services
        self.store = services.roles
        self.pacer = services.discord_pacer  # shared: Discord's limit is per bot
        self.directory = DiscordMemberDirectory(bot, self.pacer)
        self.source = KeyStandingSource(services.keys, services.gw2)
        self.syncer = RoleSyncer(self.directory, self.source, clock=services.clock)
        self.metrics = services.metric_set(RoleMetrics)
        # Real time on purpose (like key revalidation): the schedule is an hour or more long and
        # tests call ``sync_all`` directly, while their clocks advance on every sleep.
        self._sleep = sleep
        self._rules: dict[int, GuildRules] | None = None
        self._generation = 0  # bumped by every rule change, so a slow read can't cache old rules
        self._known_members: set[tuple[int, int]] = set()
        self._absent: dict[tuple[int, int], float] = {}  # (server, user) → when found absent

    # Triggers ----------------------------------------------------------------------------------

    async def key_changed(self, user_id: int) -> SyncReport:
        rules = await self.rules_for_sync()
        self.syncer.key_changed(user_id)

        async def every_server(_user_id: int) -> Sequence[GuildRules]:
            return list(rules.values())

        report = await self.syncer.sync_users(
            [user_id], every_server, on_member=self._remember, on_not_member=self._not_member
        )
        self.metrics.record(report)
        return report

    async def sync_guild(
        self, guild_id: int, *, force_read: bool = False
    ) -> tuple[SyncReport, int]:
        """Every linked user and known member of one server; returns the report and head count.

        Linked users not known to be there are looked up by id first (Discord requests, paced;
        one found absent is not asked again for ``ABSENT_TTL_S``), so GW2 lookups are spent on
        members only.
        """
        linked = await self.store.linked_user_ids()
        rules = (await self.rules_for_sync()).get(guild_id)
        known = set(await self.store.members_of(guild_id))
        managed = frozenset(rule.role_id for rule in rules.rules) if rules else frozenset()
        now = self.bot.services.clock.monotonic()
        gate = asyncio.Semaphore(PROBES_AT_ONCE)

        async def probe(user_id: int) -> None:
            async with gate:
                try:
                    view = await self.directory.member(guild_id, user_id)
                except (LookupError, discord.HTTPException):
                    return
            if view is None:
                self._absent[(guild_id, user_id)] = now
                return
            await self._remember(guild_id, user_id)
            self.syncer.prime(guild_id, user_id, view.role_ids, managed)
            known.add(user_id)

        def recently_absent(user_id: int) -> bool:
            since = self._absent.get((guild_id, user_id))
            return since is not None and now - since < ABSENT_TTL_S

        await asyncio.gather(
            *(probe(u) for u in linked if u not in known and not recently_absent(u))
        )
        users = sorted(known)

        async def only_here(_user_id: int) -> Sequence[GuildRules]:
            return [rules] if rules is not None else []

        report = await self.syncer.sync_users(
            users,
            only_here,
            on_member=self._remember,
            on_not_member=self._not_member,
            force_read=force_read,
        )
        if rules is not None and rules.strict:
            report.removed += await self._strip_unlinked(rules, set(linked))
        self.metrics.record(report)
        linked_set = set(linked)
        members = sum(1 for u in users if u in linked_set and (guild_id, u) in self._known_members)
        return report, members

    async def sync_all(self, period_s: float = 0.0) -> SyncReport:
        """One scheduled pass over every known member of every server with rules."""
        rules = await self.rules_for_sync(reload=True)
        memberships = await self.store.memberships()

        async def guilds_of(user_id: int) -> Sequence[GuildRules]:
            return [rules[g] for g in await self.store.guilds_of(user_id) if g in rules]

        report = await self.syncer.run_period(
            sorted(memberships), guilds_of, period_s, on_not_member=self._not_member
        )
        linked = set(await self.store.linked_user_ids())
        for guild_rules in rules.values():
            if guild_rules.strict:
                report.removed += await self._strip_unlinked(guild_rules, linked)
        self.metrics.record(report)
        log.info(
            "Role sync pass: %d users, %d roles added, %d removed, %d member reads, %d outage "
            "batch(es)",
            report.users,
            report.added,
            report.removed,
            report.member_reads,
            report.outage_batches,
        )
        return report

    async def run_schedule(self) -> None:
        await self.bot.wait_until_ready()
        await self._sleep(FIRST_PASS_DELAY_S)
        clock = self.bot.services.clock
        while not self.bot.is_closed():
            memberships = await self.store.memberships()
            needs = all_needs((await self.all_rules(reload=True)).values())
            period = sync_period(len(memberships), max(1, needs.requests))
            started = clock.monotonic()
            try:
                with cycle_transaction("role sync"):
                    await self.sync_all(period)
            except Exception:
                log.exception("Role sync pass failed")
                self.bot.services.metrics.errors.labels(where="role_sync").inc()
            self.metrics.pass_seconds.observe(clock.monotonic() - started)
            await self._sleep(max(MIN_PAUSE_S, period - (clock.monotonic() - started)))

    async def seen(self, guild_id: int, user_id: int) -> None:
        """A member used a command in a server: remember they are there (when it has rules)."""
        if (guild_id, user_id) in self._known_members:
            return
        if guild_id in await self.all_rules():
            await self._remember(guild_id, user_id)

    def rules_changed(self, guild_id: int) -> None:
        self._rules = None
        self._generation += 1
        self.syncer.forget(guild_id=guild_id)

    # Helpers -----------------------------------------------------------------------------------

    async def all_rules(self, *, reload: bool = False) -> dict[int, GuildRules]:
        if self._rules is not None and not reload:
            return self._rules
        while True:
            generation = self._generation
            rules = await self.store.all_guild_rules()
            if generation == self._generation:  # no rule changed while it was read
                self._rules = rules
                return rules

    async def rules_for_sync(self, *, reload: bool = False) -> dict[int, GuildRules]:
        """The rules with each server's key ownership policy, read on every sync (one small
        query), so /settings key-ownership applies to the next sync without a rules reload."""
        rules = await self.all_rules(reload=reload)
        required = set(await self.bot.services.guild_settings.requiring_ownership())
        return {
            guild_id: replace(guild, ownership_required=True) if guild_id in required else guild
            for guild_id, guild in rules.items()
        }

    async def _strip_unlinked(self, rules: GuildRules, linked: set[int]) -> int:
        """Strict mode: managed roles off members who never linked (needs the members intent)."""
        guild = self.bot.get_guild(rules.guild_id)
        if guild is None or not self.bot.intents.members:
            return 0
        managed = {rule.role_id for rule in rules.rules} - self.directory.unmanageable(guild.id)
        removed = 0
        for member in guild.members:
            if member.bot or member.id in linked:
                continue
            for role in [role for role in member.roles if role.id in managed]:
                await self.pacer.acquire()
                try:
                    await member.remove_roles(role, reason=AUDIT_REASON)
                    removed += 1
                except discord.HTTPException as error:
                    log.info("Strict mode: could not remove a role (HTTP %s)", error.status)
        return removed

    async def _remember(self, guild_id: int, user_id: int) -> None:
        self._absent.pop((guild_id, user_id), None)
        if (guild_id, user_id) in self._known_members:
            return
        await self.store.add_members(guild_id, [user_id], self.bot.services.clock.now())
        self._known_members.add((guild_id, user_id))

    async def _not_member(self, guild_id: int, user_id: int) -> None:
        self._known_members.discard((guild_id, user_id))
        self._absent[(guild_id, user_id)] = self.bot.services.clock.monotonic()
        await self.store.remove_member(guild_id, user_id)
