"""The role sync engine: standings in, the fewest Discord requests out.

Discord is behind :class:`MemberDirectory` (the cog implements it with discord.py; the benchmark
with counters), linked keys behind :class:`StandingSource`. The engine fetches each user's standing
once per pass whatever the number of servers, remembers what it last saw of each member's managed
roles (so an unchanged member costs no Discord request until that memory expires), and applies
the outage guard: in a batch where most answers say "invalid key" at once, nobody loses a role.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from services.clock import Clock
from services.keys import CheckResult, RevalidationPolicy, is_outage

from .rules import (
    GuildRules,
    Needs,
    RoleChange,
    Standing,
    nickname_with_suffix,
    plan_change,
    standing_in,
)

log = logging.getLogger(__name__)

KNOWN_TTL_S = 24 * 3600.0  # re-read an unchanged member's roles from Discord at least daily
BATCH = 20  # users whose standings are fetched together (and judged together by the guard)


@dataclass(frozen=True, slots=True)
class MemberView:
    """What the directory read about one member."""

    role_ids: frozenset[int]
    display: str  # the nickname, else the global name or username
    is_owner: bool = False


class MemberDirectory(Protocol):
    """Discord, as the role sync needs it."""

    async def member(self, guild_id: int, user_id: int) -> MemberView | None:
        """The member, or None when the user is not (or no longer) in the server."""
        ...

    async def change_roles(self, guild_id: int, user_id: int, change: RoleChange) -> bool:
        """Add and remove the roles; False when Discord refused."""
        ...

    async def set_nickname(self, guild_id: int, user_id: int, nickname: str) -> bool: ...

    def unmanageable(self, guild_id: int) -> frozenset[int]:
        """Roles the bot cannot give or take in the server (at or above its top role)."""
        ...


class StandingSource(Protocol):
    async def standing(self, user_id: int, needs: Needs) -> tuple[Standing, CheckResult | None]: ...


@dataclass
class SyncReport:
    """What one pass did (for logs, metrics, the benchmark and ``/roles sync``)."""

    users: int = 0
    checked_answers: dict[CheckResult, int] = field(default_factory=dict)
    outage_batches: int = 0
    member_reads: int = 0
    not_members: int = 0
    added: int = 0
    removed: int = 0
    refused: int = 0
    nicknames: int = 0
    unchanged: int = 0
    superseded: int = 0  # users whose key changed during the pass (their own sync applies)

    def merge(self, other: SyncReport) -> None:
        for name in (
            "users",
            "outage_batches",
            "member_reads",
            "not_members",
            "added",
            "removed",
            "refused",
            "nicknames",
            "unchanged",
            "superseded",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for result, count in other.checked_answers.items():
            self.checked_answers[result] = self.checked_answers.get(result, 0) + count


@dataclass(frozen=True, slots=True)
class _Known:
    held: frozenset[int]  # managed roles the member held after our last look or change
    nickname_for: str | None  # account name the nickname was last set for
    checked: float  # monotonic time of the last read from Discord


GuildsOf = Callable[[int], Awaitable[Sequence[GuildRules]]]
NotMember = Callable[[int, int], Awaitable[None]]


class RoleSyncer:
    def __init__(
        self,
        directory: MemberDirectory,
        source: StandingSource,
        *,
        clock: Clock,
        policy: RevalidationPolicy | None = None,
        known_ttl_s: float = KNOWN_TTL_S,
        concurrency: int = 8,
    ) -> None:
        self.directory = directory
        self.source = source
        self.clock = clock
        self.policy = policy or RevalidationPolicy()
        self.known_ttl_s = known_ttl_s
        self.concurrency = concurrency
        self._known: dict[tuple[int, int], _Known] = {}
        self._key_changes: dict[int, int] = {}

    def key_changed(self, user_id: int) -> None:
        """The user's key changed: forget their roles, and a pass that fetched their standing
        before the change must not apply it (it would, say, give back roles after an unlink)."""
        self._key_changes[user_id] = self._key_changes.get(user_id, 0) + 1
        self.forget(user_id=user_id)

    def prime(
        self, guild_id: int, user_id: int, role_ids: frozenset[int], managed: frozenset[int]
    ) -> None:
        """Remember roles just read elsewhere (a membership probe), so the sync needn't re-read."""
        self._known[(guild_id, user_id)] = _Known(role_ids & managed, None, self.clock.monotonic())

    def forget(self, guild_id: int | None = None, user_id: int | None = None) -> None:
        """Drop remembered roles (a rule changed, a member was seen changing, ...)."""
        for pair in list(self._known):
            if (guild_id is None or pair[0] == guild_id) and (
                user_id is None or pair[1] == user_id
            ):
                del self._known[pair]

    async def sync_users(
        self,
        user_ids: Sequence[int],
        guilds_of: GuildsOf,
        *,
        on_not_member: NotMember | None = None,
        on_member: NotMember | None = None,
        force_read: bool = False,
    ) -> SyncReport:
        """One pass over ``user_ids`` in batches (a scheduled pass spreads them: ``run_period``).

        ``on_member`` / ``on_not_member`` hear who Discord said is (not) in a server, so a read
        made for the sync doubles as the membership probe.
        """
        report = SyncReport()
        for start in range(0, len(user_ids), BATCH):
            batch = user_ids[start : start + BATCH]
            report.merge(
                await self._sync_batch(
                    batch,
                    guilds_of,
                    on_not_member=on_not_member,
                    on_member=on_member,
                    force_read=force_read,
                )
            )
        return report

    async def run_period(
        self,
        user_ids: Sequence[int],
        guilds_of: GuildsOf,
        period_s: float,
        *,
        on_not_member: NotMember | None = None,
    ) -> SyncReport:
        """Every user once, spread evenly over ``period_s`` in a stable order."""
        ordered = sorted(user_ids, key=_spread_key)
        batches = max(1, -(-len(ordered) // BATCH))
        gap = period_s / batches
        started = self.clock.monotonic()
        report = SyncReport()
        for index in range(batches):
            due = started + index * gap
            wait = due - self.clock.monotonic()
            if wait > 0:
                await self.clock.sleep(wait)
            batch = ordered[index * BATCH : (index + 1) * BATCH]
            report.merge(await self._sync_batch(batch, guilds_of, on_not_member=on_not_member))
        return report

    async def _sync_batch(
        self,
        user_ids: Sequence[int],
        guilds_of: GuildsOf,
        *,
        on_not_member: NotMember | None,
        on_member: NotMember | None = None,
        force_read: bool = False,
    ) -> SyncReport:
        report = SyncReport(users=len(user_ids))
        guild_lists = {user_id: await guilds_of(user_id) for user_id in user_ids}
        stamps = {user_id: self._key_changes.get(user_id, 0) for user_id in user_ids}
        gate = asyncio.Semaphore(self.concurrency)

        async def standing_of(user_id: int) -> tuple[int, Standing, CheckResult | None]:
            needs = Needs()
            for guild in guild_lists[user_id]:
                needs = needs | guild.needs
            async with gate:
                standing, answer = await self.source.standing(user_id, needs)
            return user_id, standing, answer

        results = await asyncio.gather(
            *(standing_of(u) for u in user_ids if guild_lists[u]),
        )
        answers = {user_id: answer for user_id, _, answer in results if answer is not None}
        for answer in answers.values():
            report.checked_answers[answer] = report.checked_answers.get(answer, 0) + 1
        outage = is_outage(answers, self.policy)
        if outage:
            report.outage_batches += 1
            log.warning(
                "Role sync: %d of %d accounts answered 'invalid key' at once; treating it as a "
                "GW2 API outage and removing no role",
                sum(1 for a in answers.values() if a is CheckResult.INVALID_KEY),
                len(answers),
            )

        async def apply(user_id: int, standing: Standing) -> None:
            async with gate:
                for guild in guild_lists[user_id]:
                    if self._key_changes.get(user_id, 0) != stamps[user_id]:
                        report.superseded += 1
                        return
                    await self._sync_member(
                        guild,
                        user_id,
                        standing,
                        allow_removals=not outage,
                        report=report,
                        on_not_member=on_not_member,
                        on_member=on_member,
                        force_read=force_read,
                    )

        await asyncio.gather(*(apply(user_id, standing) for user_id, standing, _ in results))
        return report

    async def _sync_member(
        self,
        guild: GuildRules,
        user_id: int,
        standing: Standing,
        *,
        allow_removals: bool,
        report: SyncReport,
        on_not_member: NotMember | None,
        on_member: NotMember | None,
        force_read: bool,
    ) -> None:
        standing = standing_in(standing, ownership_required=guild.ownership_required)
        if not guild.rules or not standing.certain:
            return
        pair = (guild.guild_id, user_id)
        unmanageable = self.directory.unmanageable(guild.guild_id)
        nickname_for = standing.account_name if guild.nickname_suffix else None
        known = self._known.get(pair)
        now = self.clock.monotonic()
        if (
            known is not None
            and not force_read
            and now - known.checked < self.known_ttl_s
            and known.nickname_for == nickname_for
        ):
            change = plan_change(
                guild.rules,
                standing,
                known.held,
                allow_removals=allow_removals,
                unmanageable=unmanageable,
            )
            if not change:
                report.unchanged += 1
                return
        try:
            view = await self.directory.member(guild.guild_id, user_id)
        except Exception as error:  # a Discord failure for one member must not stop the pass
            log.info("Role sync: could not read a member of guild %d (%r)", guild.guild_id, error)
            report.refused += 1
            return
        report.member_reads += 1
        if view is None:
            report.not_members += 1
            self._known.pop(pair, None)
            if on_not_member is not None:
                await on_not_member(guild.guild_id, user_id)
            return
        if on_member is not None:
            await on_member(guild.guild_id, user_id)
        change = plan_change(
            guild.rules,
            standing,
            view.role_ids,
            allow_removals=allow_removals,
            unmanageable=unmanageable,
        )
        held = set(view.role_ids)
        if change:
            if await self.directory.change_roles(guild.guild_id, user_id, change):
                report.added += len(change.add)
                report.removed += len(change.remove)
                held = (held | change.add) - change.remove
            else:
                report.refused += 1
        else:
            report.unchanged += 1
        if guild.nickname_suffix and not view.is_owner:
            wanted = nickname_with_suffix(view.display, standing.account_name)
            if wanted != view.display and await self.directory.set_nickname(
                guild.guild_id, user_id, wanted
            ):
                report.nicknames += 1
        managed = {rule.role_id for rule in guild.rules}
        self._known[pair] = _Known(frozenset(held & managed), nickname_for, now)


def _spread_key(user_id: int) -> bytes:
    # A stable, uniform order: a user is checked at the same point of every period.
    return hashlib.blake2b(str(user_id).encode(), digest_size=8).digest()


def all_needs(guilds: Iterable[GuildRules]) -> Needs:
    needs = Needs()
    for guild in guilds:
        needs = needs | guild.needs
    return needs
