"""The background loop that re-checks stored keys (the work is ``services.keys.revalidator``).

A key is marked invalid only after repeated invalid-key answers over time, never in a cycle where
most keys fail at once (an API outage), and its owner is told once by DM.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from datetime import timedelta
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from bot.storage.keys import LinkedKey
from bot.storage.leases import JobLeases, new_owner
from bot.tracing import cycle_transaction
from services.i18n import resolve_locale
from services.keys import CycleDecision

from .account_render import invalid_key_notice

if TYPE_CHECKING:
    from bot.client import GW2Bot

log = logging.getLogger(__name__)

REVALIDATION_INTERVAL_S = 6 * 3600.0
REVALIDATION_JITTER = 0.1  # ±10 % so restarts and several processes spread out
REVALIDATION_JOB = "key_revalidation"  # the job lease one cluster process holds


class KeyRevalidation(commands.Cog):
    """Runs a revalidation cycle every ``revalidation_interval_s`` (with jitter)."""

    def __init__(
        self,
        bot: GW2Bot,
        *,
        revalidation_interval_s: float = REVALIDATION_INTERVAL_S,
        rng: random.Random | None = None,
    ) -> None:
        self.bot = bot
        self.revalidation_interval_s = revalidation_interval_s
        self._rng = rng or random.Random()
        self._revalidation_task: asyncio.Task[None] | None = None
        self._leases = JobLeases(bot.services.db)
        self._owner = new_owner("key_revalidation")

    async def cog_load(self) -> None:
        self._revalidation_task = asyncio.create_task(
            self._revalidation_loop(), name="key-revalidation"
        )

    async def cog_unload(self) -> None:
        task, self._revalidation_task = self._revalidation_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def revalidate_all(self) -> CycleDecision[int]:
        """One cycle: re-check every stored key, apply the policy, tell users once."""
        report = await self.bot.services.key_checks.revalidate_all()
        for linked in report.to_notify:
            await self._tell_key_invalid(linked)
        return report.decision

    def next_revalidation_delay(self) -> float:
        """The wait before the next cycle: the interval ± ``REVALIDATION_JITTER``."""
        spread = self.revalidation_interval_s * REVALIDATION_JITTER
        return max(1.0, self.revalidation_interval_s + self._rng.uniform(-spread, spread))

    async def _pause(self, seconds: float) -> None:
        # Real time on purpose: the schedule is hours long and tests call ``revalidate_all``
        # directly (the injected test clocks advance on every sleep, which would spin this loop).
        await asyncio.sleep(seconds)

    async def _revalidation_loop(self) -> None:
        await self.bot.wait_until_ready()
        while not self.bot.is_closed():
            await self._pause(self.next_revalidation_delay())
            try:
                if not await self._hold_the_job():
                    continue  # another process of the cluster revalidates the keys
                with cycle_transaction("key revalidation"):
                    await self.revalidate_all()
            except Exception:
                log.exception("Key revalidation cycle failed")
                self.bot.services.metrics.errors.labels(where="key_revalidation").inc()

    async def _hold_the_job(self) -> bool:
        """Take or renew the cluster-wide lease on revalidation (keys belong to users, not guilds).

        It lasts 1.5 intervals and is not released: the holder renews it each cycle, so the other
        processes' attempts fail while it lives and succeed after it died.
        """
        now = self.bot.services.clock.now()
        until = now + timedelta(seconds=self.revalidation_interval_s * 1.5)
        return await self._leases.acquire(REVALIDATION_JOB, self._owner, now, until)

    async def _tell_key_invalid(self, linked: LinkedKey) -> None:
        try:
            user = self.bot.get_user(linked.user_id) or await self.bot.fetch_user(linked.user_id)
            await user.send(invalid_key_notice(linked.account_name, resolve_locale(linked.locale)))
        except discord.HTTPException as error:
            log.info(
                "Could not tell user %d their key is invalid (HTTP %s)",
                linked.user_id,
                error.status,
            )


async def setup(bot: GW2Bot) -> None:
    await bot.add_cog(KeyRevalidation(bot))
