"""Cluster-wide jobs held as leases: one process polls live alerts, one revalidates keys."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.storage.leases import JobLeases
from cogs.alerts import ALERTS_JOB
from cogs.key_revalidation import REVALIDATION_JOB
from tests.cogs.test_account_flow import account_world
from tests.cogs.test_alerts_loop import (
    World,
    alerts,
    baseline,
    bot,
    next_poll,
    posts,
    world,  # noqa: F401 (fixture)
)


async def test_alerts_are_polled_by_the_lease_holder_only_and_taken_over_when_it_dies(
    world: World,  # noqa: F811
) -> None:
    keep = world.ours("Keep")
    keep.last_flipped = world.clock.now() - timedelta(minutes=90)
    async with bot(world) as app:
        assert app._services is not None
        leases = JobLeases(app._services.db)
        await baseline(world, app)
        cog = alerts(app)
        # Another process holds the job (it took it over and polls): this one posts nothing.
        now = world.clock.now()
        await leases.release(ALERTS_JOB, cog._owner)
        assert await leases.acquire(ALERTS_JOB, "peer", now, now + timedelta(seconds=45))
        world.match.flip(keep.id, world.enemy())
        report = await next_poll(world, app)
        assert report.subscriptions == 0
        assert posts(world) == []
        # The peer died: once its lease ran out this process polls again and posts the flip.
        await next_poll(world, app)
        await world.discord.wait_until(lambda: len(posts(world)) >= 1, "the flip's alert")
        assert len(posts(world)) == 1
        assert "lost to" in posts(world)[0].content
        assert await leases.holder(ALERTS_JOB, world.clock.now()) == cog._owner


async def test_key_revalidation_runs_where_the_job_lease_is_held(tmp_path: Path) -> None:
    async with account_world(tmp_path) as account:
        services = account.app.bot.services if account.app.bot else None
        assert services is not None
        cog = account.revalidation
        leases = JobLeases(services.db)
        now = services.clock.now()
        assert await leases.acquire(REVALIDATION_JOB, "peer", now, now + timedelta(hours=1))
        assert not await cog._hold_the_job()
        await leases.release(REVALIDATION_JOB, "peer")
        assert await cog._hold_the_job()
        assert await cog._hold_the_job()  # renewing its own lease
        assert not await leases.acquire(REVALIDATION_JOB, "peer", now, now + timedelta(hours=1))
