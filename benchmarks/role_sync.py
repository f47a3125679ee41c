"""Verified roles at scale: the sync engine over N linked members in S servers, two periods.

    .venv/bin/python -m benchmarks.role_sync --members 20000 --servers 200

The real engine (``services.roles``: ``RoleSyncer``, ``fetch_standing``, ``plan_change``) runs in
this process against counting stand-ins for the GW2 client (``/v2/account/wvw`` answers from an
in-memory table) and for Discord (members and their roles in memory; every read and every role
change counted as one request, as discord.py sends them). Each server has 3 rules (verified,
WvW guild, WvW team). Period 1 starts cold (the bot remembers nothing: every membership is read
once); between periods ``--churn`` of the accounts change WvW guild or team; period 2 is the
steady state.

Printed per period: GW2 requests (goal: one per linked account), Discord member reads and role
requests (goal: role requests = actual changes), the scheduled period length against its floors
(GW2 at 5 requests/s, Discord at 50 requests/s), the engine's CPU time and the peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from services.clock import ManualClock
from services.gw2 import Fetched
from services.gw2.models import AccountWvw
from services.keys import CheckResult
from services.roles import (
    ConditionKind,
    GuildRules,
    LinkedAccount,
    MemberView,
    Needs,
    RoleChange,
    RoleRule,
    RoleSyncer,
    Standing,
    fetch_standing,
    needs_of,
    sync_period,
)

TEAMS = [*range(11001, 11013), *range(12001, 12016)]
GW2_RATE = 5.0
DISCORD_RATE = 50.0


@dataclass
class Account:
    wvw_guild: str
    team: int


class CountingGW2:
    """``account_wvw`` from a table; counts requests (the GW2 client would send one each)."""

    def __init__(self, accounts: dict[str, Account]) -> None:
        self.accounts = accounts
        self.requests = 0
        self._at = datetime(2026, 1, 1, tzinfo=UTC)

    async def account(self, key: str) -> Any:
        raise AssertionError("the benchmark's rules never need /v2/account")

    async def account_wvw(self, key: str) -> Fetched[AccountWvw]:
        self.requests += 1
        account = self.accounts[key]
        return Fetched(
            AccountWvw(team=account.team, guild=account.wvw_guild), self._at, timedelta()
        )


class Source:
    def __init__(self, api: CountingGW2) -> None:
        self.api = api

    async def standing(self, user_id: int, needs: Needs) -> tuple[Standing, CheckResult | None]:
        linked = LinkedAccount(f"Player{user_id}.1234", f"key{user_id}", frozenset({"wvw"}), True)
        return await fetch_standing(self.api, linked, needs)


class CountingDiscord:
    def __init__(self, members: dict[tuple[int, int], set[int]]) -> None:
        self.members = members
        self.reads = 0
        self.role_requests = 0

    async def member(self, guild_id: int, user_id: int) -> MemberView | None:
        self.reads += 1
        held = self.members.get((guild_id, user_id))
        return None if held is None else MemberView(frozenset(held), f"user{user_id}")

    async def change_roles(self, guild_id: int, user_id: int, change: RoleChange) -> bool:
        # discord.py's add_roles/remove_roles: one request per role
        self.role_requests += len(change.add) + len(change.remove)
        held = self.members[(guild_id, user_id)]
        held |= change.add
        held -= change.remove
        return True

    async def set_nickname(self, guild_id: int, user_id: int, nickname: str) -> bool:
        return True

    def unmanageable(self, guild_id: int) -> frozenset[int]:
        return frozenset()


def build(
    args: argparse.Namespace, rng: random.Random
) -> tuple[
    dict[int, GuildRules], dict[int, list[int]], dict[str, Account], dict[tuple[int, int], set[int]]
]:
    guild_pool = [f"{i:08X}-AAAA-4BBB-8CCC-{i:012d}" for i in range(args.servers * 2)]
    servers: dict[int, GuildRules] = {}
    for server in range(1, args.servers + 1):
        base = server * 10
        rules = (
            RoleRule(1, base + 1, ConditionKind.VERIFIED),
            RoleRule(2, base + 2, ConditionKind.WVW_GUILD, guild_pool[server * 2 - 2]),
            RoleRule(3, base + 3, ConditionKind.WVW_TEAM, str(TEAMS[server % len(TEAMS)])),
        )
        servers[server] = GuildRules(server, rules, needs=needs_of(rules))
    accounts: dict[str, Account] = {}
    memberships: dict[int, list[int]] = {}
    members: dict[tuple[int, int], set[int]] = {}
    for user in range(1, args.members + 1):
        home = rng.sample(range(1, args.servers + 1), args.servers_per_member)
        memberships[user] = sorted(home)
        # Most players are in the WvW guild and on the team of their first server.
        rules = servers[home[0]].rules
        if rng.random() < 0.7:
            account = Account(rules[1].value, int(rules[2].value))
        else:
            account = Account(rng.choice(guild_pool), rng.choice(TEAMS))
        accounts[f"key{user}"] = account
        for server in home:
            members[(server, user)] = {999}  # an unrelated role every member keeps
    return servers, memberships, accounts, members


async def run(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    servers, memberships, accounts, members = build(args, rng)
    gw2 = CountingGW2(accounts)
    discord = CountingDiscord(members)
    syncer = RoleSyncer(discord, Source(gw2), clock=ManualClock(), concurrency=64)

    async def guilds_of(user_id: int) -> list[GuildRules]:
        return [servers[s] for s in memberships[user_id]]

    users = sorted(memberships)
    requests_per_account = Needs(account_wvw=True).requests
    period = sync_period(len(users), requests_per_account)
    print(
        f"{args.members:,} linked members in {args.servers} servers "
        f"({args.servers_per_member} servers each: {len(members):,} memberships), 3 rules each"
    )
    print(
        f"scheduled period: {period:,.0f} s (base 3,600 s, stretched to fit "
        f"{requests_per_account} GW2 request per account at 80 % of 5/s)"
    )
    for number in (1, 2):
        if number == 2:
            changed = rng.sample(sorted(accounts), int(len(accounts) * args.churn))
            guild_pool = [r.rules[1].value for r in servers.values()]
            for key in changed:
                accounts[key] = Account(rng.choice(guild_pool), rng.choice(TEAMS))
        gw2.requests = discord.reads = discord.role_requests = 0
        cpu, wall = time.process_time(), time.perf_counter()
        report = await syncer.sync_users(users, guilds_of)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        discord_requests = discord.reads + discord.role_requests
        gw2_floor = gw2.requests / GW2_RATE
        discord_floor = discord_requests / DISCORD_RATE
        label = "cold start" if number == 1 else f"{args.churn:.0%} of accounts changed"
        print(f"\nperiod {number} ({label})")
        print(
            f"  GW2 requests:      {gw2.requests:,} for {len(users):,} accounts "
            f"({gw2.requests / len(users):.2f} per account; goal 1)"
        )
        print(
            f"  Discord role requests: {discord.role_requests:,} for "
            f"{report.added + report.removed:,} role changes (added {report.added:,}, "
            f"removed {report.removed:,}); member reads: {discord.reads:,}"
        )
        print(
            f"  floors: GW2 {gw2_floor:,.0f} s at 5/s, Discord {discord_floor:,.0f} s at 50/s; "
            f"scheduled period {period:,.0f} s "
            f"({'fits' if period >= max(gw2_floor, discord_floor) else 'DOES NOT fit'})"
        )
        print(f"  engine CPU: {cpu:.2f} s (wall {wall:.2f} s) for the whole period's work")
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS: {peak_mib:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--servers", type=int, default=200)
    parser.add_argument("--servers-per-member", type=int, default=2)
    parser.add_argument("--churn", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=18)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
