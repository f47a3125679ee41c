"""Leases on both backends: due updates claimed by one owner at a time, jobs held by one process."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.storage import Database
from bot.storage.leases import JobLeases, new_owner
from bot.storage.subscriptions import SubscriptionRepository
from services.clock import ManualClock
from tests.backends import new_schema, postgres_database

LEASE = timedelta(seconds=60)


async def _subscribe(repo: SubscriptionRepository, clock: ManualClock, count: int) -> None:
    for index in range(count):
        await repo.subscribe(
            guild_id=1000 + index % 3,
            channel_id=2000 + index,
            team_id=11001,
            interval_minutes=15,
            mode="edit",
            created_by=7,
            now=clock.now(),
            limit=100,
        )


async def test_two_owners_claim_disjoint_batches_until_none_is_left(
    db: Database, clock: ManualClock
) -> None:
    repo = SubscriptionRepository(db)
    await _subscribe(repo, clock, 5)
    now = clock.now()
    first = await repo.claim_due(now, "a", now + LEASE, 3)
    second = await repo.claim_due(now, "b", now + LEASE, 3)
    third = await repo.claim_due(now, "c", now + LEASE, 3)
    assert len(first) == 3
    assert len(second) == 2
    assert third == []
    assert {s.id for s in first}.isdisjoint({s.id for s in second})


async def test_a_claim_runs_out_and_another_owner_takes_it_over(
    db: Database, clock: ManualClock
) -> None:
    repo = SubscriptionRepository(db)
    await _subscribe(repo, clock, 2)
    now = clock.now()
    held = await repo.claim_due(now, "dead", now + LEASE, 10)
    assert len(held) == 2
    # The holder died: until its lease ends nobody else gets them, and the loop sleeps till then.
    assert await repo.claim_due(now + LEASE / 2, "alive", now + LEASE * 2, 10) == []
    assert await repo.next_due_at() == now + LEASE
    taken = await repo.claim_due(now + LEASE, "alive", now + LEASE * 2, 10)
    assert sorted(s.id for s in taken) == sorted(s.id for s in held)


async def test_released_claims_are_claimable_again_and_others_cannot_release_them(
    db: Database, clock: ManualClock
) -> None:
    repo = SubscriptionRepository(db)
    await _subscribe(repo, clock, 1)
    now = clock.now()
    [claimed] = await repo.claim_due(now, "a", now + LEASE, 10)
    await repo.release("b", [claimed.id])  # not b's claim: nothing happens
    assert await repo.claim_due(now, "b", now + LEASE, 10) == []
    await repo.release("a", [claimed.id])
    assert [s.id for s in await repo.claim_due(now, "b", now + LEASE, 10)] == [claimed.id]


async def test_a_job_lease_has_one_holder_until_it_expires_or_is_released(
    db: Database, clock: ManualClock
) -> None:
    leases = JobLeases(db)
    now = clock.now()
    a, b = new_owner("alerts"), new_owner("alerts")
    assert a != b
    assert await leases.acquire("alerts", a, now, now + LEASE)
    assert not await leases.acquire("alerts", b, now, now + LEASE)
    assert await leases.acquire("alerts", a, now + LEASE / 2, now + LEASE * 2)  # renewed
    assert not await leases.acquire("alerts", b, now + LEASE, now + LEASE * 2)
    assert await leases.holder("alerts", now + LEASE) == a
    assert await leases.acquire("alerts", b, now + LEASE * 2, now + LEASE * 3)  # a ran out
    await leases.release("alerts", a)  # no longer a's: b keeps it
    assert await leases.holder("alerts", now + LEASE * 2) == b
    await leases.release("alerts", b)
    assert await leases.holder("alerts", now + LEASE * 2) is None


async def test_processes_claiming_at_once_on_postgresql_never_share_a_subscription(
    clock: ManualClock,
) -> None:
    """Two pools (as two processes) on one schema: FOR UPDATE SKIP LOCKED splits the work."""
    schema = new_schema()
    async with postgres_database(schema) as first, postgres_database(schema) as second:
        await _subscribe(SubscriptionRepository(first), clock, 60)
        now = clock.now()

        async def drain(db: Database, owner: str) -> list[int]:
            repo = SubscriptionRepository(db)
            got: list[int] = []
            while batch := await repo.claim_due(now, owner, now + LEASE, 7):
                got += [s.id for s in batch]
                await asyncio.sleep(0)
            return got

        a, b = await asyncio.gather(*(drain(first, "a"), drain(second, "b")))
    assert len(a) + len(b) == 60
    assert set(a).isdisjoint(b)
    assert a  # both took part
    assert b


async def test_a_claim_with_nothing_due_opens_no_write_transaction(
    db: Database, clock: ManualClock
) -> None:
    repo = SubscriptionRepository(db)
    await _subscribe(repo, clock, 2)
    opened: list[object] = []
    transaction = db.transaction

    def counting() -> object:
        opened.append(None)
        return transaction()

    db.transaction = counting  # type: ignore[method-assign]
    now = clock.now()
    claimed = await repo.claim_due(now, "a", now + LEASE, 10)
    assert len(claimed) == 2
    assert len(opened) == 1
    # All claimed (and a cycle's last look finds nothing more): a read, no write lock.
    assert await repo.claim_due(now, "b", now + LEASE, 10) == []
    assert len(opened) == 1
