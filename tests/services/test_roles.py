"""Verified roles: rule evaluation, the diff, the schedule, standings and the sync engine."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.clock import ManualClock
from services.gw2 import Fetched, InvalidKeyError, UnavailableError
from services.gw2.models import Account, AccountWvw
from services.keys import CheckResult
from services.roles import (
    INVALID,
    MAX_RULES_PER_GUILD,
    NO_KEY,
    UNKNOWN,
    AccountFacts,
    ConditionKind,
    GuildRules,
    LinkedAccount,
    MemberView,
    Needs,
    RoleChange,
    RoleRule,
    RoleSyncer,
    Standing,
    StandingKind,
    check_new_rule,
    desired_roles,
    fetch_standing,
    needs_of,
    nickname_with_suffix,
    plan_change,
    sync_period,
)

VIGIL = "4FB44673-C2CF-E611-80D3-AC162DC085C0"
OTHER = "11111111-2222-3333-4444-555555555555"
VERIFIED_ROLE, VIGIL_ROLE, TEAM_ROLE, RANK_ROLE, UNRELATED = 10, 20, 30, 40, 99

RULES = (
    RoleRule(1, VERIFIED_ROLE, ConditionKind.VERIFIED),
    RoleRule(2, VIGIL_ROLE, ConditionKind.WVW_GUILD, VIGIL, "Vigil [VV]"),
    RoleRule(3, TEAM_ROLE, ConditionKind.WVW_TEAM, "12008", "Frost Citadel"),
    RoleRule(4, RANK_ROLE, ConditionKind.GUILD_MEMBER, VIGIL, requires_role_id=TEAM_ROLE),
)


def verified(**facts: Any) -> Standing:
    return Standing(StandingKind.VERIFIED, AccountFacts("Ann.1234", **facts))


def test_desired_roles_follow_the_conditions_and_requirements() -> None:
    ann = verified(guilds=frozenset({VIGIL.lower()}), wvw_guild=VIGIL, wvw_team=12008)
    assert desired_roles(RULES, ann) == {VERIFIED_ROLE, VIGIL_ROLE, TEAM_ROLE, RANK_ROLE}
    elsewhere = verified(guilds=frozenset({VIGIL}), wvw_guild=OTHER, wvw_team=11001)
    # In the guild but on another team: the rank role requires the team role, so not given.
    assert desired_roles(RULES, elsewhere) == {VERIFIED_ROLE}
    assert desired_roles(RULES, NO_KEY) == frozenset()
    assert desired_roles(RULES, INVALID) == frozenset()


def test_the_diff_touches_only_managed_roles() -> None:
    ann = verified(wvw_guild=OTHER, wvw_team=12008)
    change = plan_change(RULES, ann, {VIGIL_ROLE, UNRELATED})
    assert change == RoleChange(add=frozenset({VERIFIED_ROLE, TEAM_ROLE}), remove={VIGIL_ROLE})
    unlinked = plan_change(RULES, NO_KEY, {VERIFIED_ROLE, VIGIL_ROLE, UNRELATED})
    assert unlinked == RoleChange(remove=frozenset({VERIFIED_ROLE, VIGIL_ROLE}))


def test_nothing_is_removed_when_the_standing_is_unknown_or_the_api_looks_down() -> None:
    assert not plan_change(RULES, UNKNOWN, {VERIFIED_ROLE, VIGIL_ROLE})
    down = plan_change(RULES, NO_KEY, {VERIFIED_ROLE}, allow_removals=False)
    assert not down
    assert plan_change(RULES, verified(), {VIGIL_ROLE}, allow_removals=False) == RoleChange(
        add=frozenset({VERIFIED_ROLE})
    )


def test_roles_the_bot_cannot_manage_are_left_alone() -> None:
    change = plan_change(RULES, NO_KEY, {VERIFIED_ROLE, VIGIL_ROLE}, unmanageable={VIGIL_ROLE})
    assert change == RoleChange(remove=frozenset({VERIFIED_ROLE}))


def test_new_rules_are_checked_for_limit_duplicates_and_requirement_loops() -> None:
    assert check_new_rule(RULES, RoleRule(0, 50, ConditionKind.VERIFIED)) is None
    duplicate = RoleRule(0, VIGIL_ROLE, ConditionKind.WVW_GUILD, VIGIL.lower())
    assert "already exists" in str(check_new_rule(RULES, duplicate) or "")
    loop = RoleRule(0, TEAM_ROLE, ConditionKind.VERIFIED, requires_role_id=RANK_ROLE)
    assert "circle" in str(check_new_rule(RULES, loop) or "")
    itself = RoleRule(0, 60, ConditionKind.VERIFIED, requires_role_id=60)
    assert "itself" in str(check_new_rule(RULES, itself) or "")
    unmanaged = RoleRule(0, 60, ConditionKind.VERIFIED, requires_role_id=UNRELATED)
    assert "must be one a rule gives" in str(check_new_rule(RULES, unmanaged) or "")
    chained = RoleRule(0, 60, ConditionKind.VERIFIED, requires_role_id=RANK_ROLE)
    assert check_new_rule(RULES, chained) is None
    full = [RoleRule(i, 100 + i, ConditionKind.VERIFIED) for i in range(MAX_RULES_PER_GUILD)]
    assert "Remove one" in str(check_new_rule(full, RoleRule(0, 7, ConditionKind.VERIFIED)) or "")


@pytest.mark.parametrize(
    ("display", "account", "expected"),
    [
        ("Alice", "Alice.1234", "Alice | Alice.1234"),
        ("Alice | Old.9999", "Alice.1234", "Alice | Alice.1234"),
        ("Alice | Old.9999", None, "Alice"),
        ("A very long display name here", "Someone.1234", "A very long disp… | Someone.1234"),
        ("Rock | Roll", None, "Rock | Roll"),
    ],
)
def test_nickname_suffix(display: str, account: str | None, expected: str) -> None:
    result = nickname_with_suffix(display, account)
    assert result == expected
    assert len(result) <= 32


def test_the_period_stretches_when_the_gw2_rate_cannot_cover_every_account() -> None:
    assert sync_period(1_000, 1) == 3600.0
    # 20,000 accounts x 1 request at 80 % of 5/s: 5,000 s.
    assert sync_period(20_000, 1) == pytest.approx(5_000.0)
    assert sync_period(20_000, 2) == pytest.approx(10_000.0)


def test_needs_ask_only_the_endpoints_the_rules_use() -> None:
    assert needs_of([RULES[0]]) == Needs()
    assert needs_of(RULES[:3]) == Needs(account_wvw=True)
    assert needs_of(RULES).requests == 2


# --------------------------------------------------------------------------------- standings
@dataclass
class StubAPI:
    account_answer: Any = None
    wvw_answer: Any = None
    calls: list[str] = field(default_factory=list)

    async def account(self, key: str) -> Any:
        self.calls.append("account")
        if isinstance(self.account_answer, Exception):
            raise self.account_answer
        return self.account_answer

    async def account_wvw(self, key: str) -> Any:
        self.calls.append("account_wvw")
        if isinstance(self.wvw_answer, Exception):
            raise self.wvw_answer
        return self.wvw_answer


def fetched(value: Any, *, stale: bool = False) -> Fetched[Any]:
    return Fetched(value, datetime(2026, 1, 1, tzinfo=UTC), timedelta(0), stale=stale)


LINKED = LinkedAccount("Ann.1234", "SECRET-KEY", frozenset({"account", "wvw"}), valid=True)


async def test_a_standing_costs_one_request_per_needed_endpoint() -> None:
    api = StubAPI(wvw_answer=fetched(AccountWvw(team=12008, guild=VIGIL)))
    standing, answer = await fetch_standing(api, LINKED, Needs(account_wvw=True))
    assert standing == verified(wvw_guild=VIGIL, wvw_team=12008)
    assert answer is CheckResult.VALID
    assert api.calls == ["account_wvw"]
    nothing = StubAPI()
    standing, answer = await fetch_standing(nothing, LINKED, Needs())
    assert standing.kind is StandingKind.VERIFIED
    assert answer is None
    assert nothing.calls == []


async def test_failures_give_an_unknown_standing_never_a_removal() -> None:
    stale = StubAPI(account_answer=fetched(Account(id="a", name="Ann.1234"), stale=True))
    assert await fetch_standing(stale, LINKED, Needs(account=True)) == (
        UNKNOWN,
        CheckResult.TRANSIENT_ERROR,
    )
    down = StubAPI(wvw_answer=UnavailableError())
    assert (await fetch_standing(down, LINKED, Needs(account_wvw=True)))[0] is UNKNOWN
    invalid = StubAPI(wvw_answer=InvalidKeyError())
    assert await fetch_standing(invalid, LINKED, Needs(account_wvw=True)) == (
        UNKNOWN,
        CheckResult.INVALID_KEY,
    )
    declared = LinkedAccount("Ann.1234", "K", frozenset({"account"}), valid=False)
    assert await fetch_standing(StubAPI(), declared, Needs(account=True)) == (INVALID, None)
    assert await fetch_standing(StubAPI(), None, Needs(account=True)) == (NO_KEY, None)


# --------------------------------------------------------------------------------- the engine
@dataclass
class FakeDirectory:
    roles: dict[tuple[int, int], set[int]] = field(default_factory=dict)
    reads: int = 0
    changes: list[tuple[int, int, RoleChange]] = field(default_factory=list)

    async def member(self, guild_id: int, user_id: int) -> MemberView | None:
        self.reads += 1
        held = self.roles.get((guild_id, user_id))
        return None if held is None else MemberView(frozenset(held), f"user{user_id}")

    async def change_roles(self, guild_id: int, user_id: int, change: RoleChange) -> bool:
        self.changes.append((guild_id, user_id, change))
        held = self.roles[(guild_id, user_id)]
        held |= change.add
        held -= change.remove
        return True

    async def set_nickname(self, guild_id: int, user_id: int, nickname: str) -> bool:
        return True

    def unmanageable(self, guild_id: int) -> frozenset[int]:
        return frozenset()


@dataclass
class FakeSource:
    standings: dict[int, tuple[Standing, CheckResult | None]]
    asked: list[int] = field(default_factory=list)

    async def standing(self, user_id: int, needs: Needs) -> tuple[Standing, CheckResult | None]:
        self.asked.append(user_id)
        return self.standings[user_id]


async def test_one_standing_per_user_whatever_the_number_of_servers() -> None:
    guilds = [GuildRules(g, RULES[:2], needs=needs_of(RULES[:2])) for g in range(1, 6)]
    directory = FakeDirectory({(g.guild_id, 7): set() for g in guilds})
    source = FakeSource({7: (verified(wvw_guild=VIGIL), CheckResult.VALID)})
    syncer = RoleSyncer(directory, source, clock=ManualClock())

    async def guilds_of(user_id: int) -> list[GuildRules]:
        return guilds

    report = await syncer.sync_users([7], guilds_of)
    assert source.asked == [7]
    assert report.added == 10
    # The next pass: nothing changed, so no Discord read or change at all.
    again = await syncer.sync_users([7], guilds_of)
    assert (directory.reads, len(directory.changes)) == (5, 5)
    assert again.unchanged == 5


async def test_a_batch_where_most_keys_answer_invalid_removes_nothing() -> None:
    guild = GuildRules(1, RULES[:1], needs=Needs(account=True))
    users = list(range(1, 7))
    directory = FakeDirectory({(1, u): {VERIFIED_ROLE} for u in users})
    standings: dict[int, tuple[Standing, CheckResult | None]] = dict.fromkeys(
        users[:4], (UNKNOWN, CheckResult.INVALID_KEY)
    )
    standings[5] = (NO_KEY, None)  # unlinked during the outage: a definitive standing
    standings[6] = (verified(), CheckResult.VALID)
    syncer = RoleSyncer(directory, FakeSource(standings), clock=ManualClock())

    async def guilds_of(user_id: int) -> list[GuildRules]:
        return [guild]

    report = await syncer.sync_users(users, guilds_of)
    assert report.outage_batches == 1
    assert report.removed == 0
    assert all(VERIFIED_ROLE in held for held in directory.roles.values())


async def test_a_scheduled_period_spreads_users_over_the_period() -> None:
    clock = ManualClock()
    guild = GuildRules(1, RULES[:1])
    users = list(range(100))
    directory = FakeDirectory({(1, u): set() for u in users})
    syncer = RoleSyncer(
        directory, FakeSource(dict.fromkeys(users, (verified(), None))), clock=clock
    )

    async def guilds_of(user_id: int) -> list[GuildRules]:
        return [guild]

    task = asyncio.create_task(syncer.run_period(users, guilds_of, 500.0))
    for _ in range(50):
        await asyncio.sleep(0)
    first = len(directory.changes)
    for _ in range(5):
        clock.advance(100.0)
        for _ in range(50):
            await asyncio.sleep(0)
    report = await task
    assert first == 20  # one batch of five, 100 s apart
    assert report.added == 100


async def test_a_pass_does_not_apply_a_standing_fetched_before_the_key_changed() -> None:
    guild = GuildRules(1, RULES[:1])
    directory = FakeDirectory({(1, 7): set()})
    source = FakeSource({7: (verified(), None)})
    syncer = RoleSyncer(directory, source, clock=ManualClock())

    async def guilds_of(user_id: int) -> list[GuildRules]:
        return [guild]

    class UnlinkDuringFetch(FakeSource):
        async def standing(self, user_id: int, needs: Needs) -> tuple[Standing, CheckResult | None]:
            answer = await super().standing(user_id, needs)
            syncer.key_changed(user_id)  # the user unlinks while the pass waits for the API
            return answer

    syncer.source = UnlinkDuringFetch(source.standings)
    report = await syncer.sync_users([7], guilds_of)
    assert report.superseded == 1
    assert directory.changes == []
