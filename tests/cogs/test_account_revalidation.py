"""Revalidating stored keys: repeated failures over time, the outage guard, one DM, use-time."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.storage.keys import LinkedKey
from services.keys import CheckResult
from tests.bot.test_redaction import make_gw2_key
from tests.cogs.test_account_flow import World, account_world
from tests.fakes.discord import FakeUser
from tests.fakes.gw2_api import Fault, InstantClock

HOURS = 3600.0


async def link_directly(world: World, user: FakeUser, account: str) -> str:
    """Store a key for ``user`` the way a successful link does (known to the fake API)."""
    key = make_gw2_key()
    world.gw2.add_key(key, account_name=account)
    assert world.app.bot is not None
    await world.app.bot.services.keys.link(
        user_id=user.id,
        key=key,
        account_id=f"id-{account}",
        account_name=account,
        key_name="bot",
        key_type="APIKey",
        permissions=["account", "builds", "characters", "wvw"],
        ownership_verified=False,
        now=world.app.clock.now(),
    )
    return key


async def stored(world: World, user: FakeUser) -> LinkedKey:
    assert world.app.bot is not None
    linked = await world.app.bot.services.keys.active(user.id)
    assert linked is not None
    return linked


async def users_with_keys(world: World, count: int) -> list[tuple[FakeUser, str]]:
    users = [world.discord.add_user(f"Player{i}") for i in range(count)]
    return [
        (user, await link_directly(world, user, f"Player{i}.100{i}"))
        for i, user in enumerate(users)
    ]


async def test_a_key_is_marked_invalid_only_after_repeated_failures_over_time_and_told_once(
    tmp_path: Path,
) -> None:
    clock = InstantClock()
    async with account_world(tmp_path, clock=clock) as world:
        (broken_user, broken), *_healthy = await users_with_keys(world, 4)
        world.gw2.remove_key(broken)  # deleted on the ArenaNet account page
        first = await world.revalidation.revalidate_all()
        after_first = await stored(world, broken_user)
        clock.advance(3 * HOURS)
        await world.revalidation.revalidate_all()
        clock.advance(3 * HOURS)
        third = await world.revalidation.revalidate_all()
        await world.discord.wait_until(
            lambda: world.discord.sent_dms(broken_user), "the invalid-key DM"
        )
        after_third = await stored(world, broken_user)
        clock.advance(6 * HOURS)
        await world.revalidation.revalidate_all()
        await world.discord.sync()
        marked = world.metric("gw2opt_keys_marked_invalid_total")
        info = await (await world.discord.slash(broken_user, "key info")).wait_final_message()

    assert not first.outage
    assert first.counts[CheckResult.VALID] == 3
    assert after_first.valid
    assert after_first.failure.consecutive_invalid == 1
    assert third.mark_invalid == {after_third.id}
    assert not after_third.valid
    dms = world.discord.sent_dms(broken_user)
    assert len(dms) == 1  # told once, not on every later cycle
    assert "Player0.1000" in dms[0].content
    assert "stopped working" in dms[0].content
    assert broken not in dms[0].content
    assert marked == 1
    assert "ArenaNet rejects this key" in info.all_text()


async def test_a_cycle_where_most_keys_fail_at_once_is_an_outage_and_marks_nothing(
    tmp_path: Path,
) -> None:
    clock = InstantClock()
    async with account_world(tmp_path, clock=clock) as world:
        players = await users_with_keys(world, 5)
        for _user, key in players[:4]:
            world.gw2.remove_key(key)  # the API wrongly answers "invalid key" for most keys
        decisions = []
        for _ in range(4):
            decisions.append(await world.revalidation.revalidate_all())
            clock.advance(4 * HOURS)
        states = [await stored(world, user) for user, _key in players]
        outages = world.metric("gw2opt_key_revalidation_outage_cycles_total")
    assert all(d.outage for d in decisions)
    assert all(d.mark_invalid == frozenset() for d in decisions)
    assert all(s.valid and s.failure.consecutive_invalid == 0 for s in states)
    assert outages == 4
    assert all(world.discord.sent_dms(user) == [] for user, _key in players)


async def test_transient_errors_neither_count_nor_reset(tmp_path: Path) -> None:
    clock = InstantClock()
    async with account_world(tmp_path, clock=clock) as world:
        user = world.discord.add_user("Solo")
        await link_directly(world, user, "Solo.1111")
        world.gw2.script("/v2/tokeninfo", Fault(status=503, text="API not active", times=None))
        decision = await world.revalidation.revalidate_all()
        state = await stored(world, user)
    assert decision.counts[CheckResult.TRANSIENT_ERROR] == 1
    assert state.valid
    assert state.failure.consecutive_invalid == 0


async def test_a_key_marked_invalid_recovers_when_it_answers_again(tmp_path: Path) -> None:
    clock = InstantClock()
    async with account_world(tmp_path, clock=clock) as world:
        user = world.discord.add_user("Back")
        key = await link_directly(world, user, "Back.2222")
        entry = world.gw2.keys[key]
        world.gw2.remove_key(key)
        for _ in range(3):
            await world.revalidation.revalidate_all()
            clock.advance(4 * HOURS)
        marked = await stored(world, user)
        world.gw2.keys[key] = entry
        decision = await world.revalidation.revalidate_all()
        recovered = await stored(world, user)
    assert not marked.valid
    assert decision.recovered == {recovered.id}
    assert recovered.valid
    assert recovered.failure.consecutive_invalid == 0


async def test_an_invalid_answer_while_using_the_key_counts_once_and_never_drops_it(
    tmp_path: Path,
) -> None:
    clock = InstantClock()
    async with account_world(tmp_path, clock=clock) as world:
        key = await link_directly(world, world.alice.user, "Alice.1234")
        entry = world.gw2.keys[key]
        world.gw2.remove_key(key)
        rejected = await (await world.discord.slash(world.alice, "account")).wait_final_message()
        after_failure = await stored(world, world.alice.user)
        world.gw2.keys[key] = entry
        clock.advance(HOURS)
        ok = await (await world.discord.slash(world.alice, "account")).wait_final_message()
        after_success = await stored(world, world.alice.user)
    assert "rejected by ArenaNet" in rejected.content
    assert after_failure.valid
    assert after_failure.failure.consecutive_invalid == 1
    assert ok.embed is not None
    assert after_success.failure.consecutive_invalid == 0
    assert after_success.validated_at > after_failure.validated_at


async def test_the_background_loop_waits_for_ready_runs_cycles_and_stops_with_the_cog(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with account_world(tmp_path) as world:
        bot = world.app.bot
        assert bot is not None
        cog_class = type(world.revalidation)
        waits: list[float] = []
        parked = asyncio.Event()

        async def fake_pause(self: object, seconds: float) -> None:
            waits.append(seconds)
            if len(waits) >= 3:
                parked.set()
                await asyncio.Event().wait()  # park until cancelled

        monkeypatch.setattr(cog_class, "_pause", fake_pause)
        await link_directly(world, world.alice.user, "Alice.1234")
        await bot.remove_cog("KeyRevalidation")
        cog = cog_class(bot, revalidation_interval_s=2 * HOURS)
        await bot.add_cog(cog)
        await asyncio.wait_for(parked.wait(), timeout=5)
        task = cog._revalidation_task
        assert task is not None
        checked = world.metric("gw2opt_key_revalidations_total", outcome="valid")
        await bot.remove_cog("KeyRevalidation")
    assert checked == 2  # two cycles ran between the three waits
    assert all(1.8 * HOURS <= wait <= 2.2 * HOURS for wait in waits)
    assert task.done()


async def test_shutdown_with_the_account_cog_leaves_no_task_behind(tmp_path: Path) -> None:
    before = asyncio.all_tasks()
    async with account_world(tmp_path):
        pass
    await asyncio.sleep(0)
    leftover = {t for t in asyncio.all_tasks() - before if not t.done()}
    assert leftover == set(), [t.get_name() for t in leftover]
