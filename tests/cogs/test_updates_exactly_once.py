"""A scheduled post interrupted between Discord creating it and the bot recording it is neither
duplicated nor orphaned: the intent is recorded first and the post is idempotent (nonce, then the
bot's own message in the channel)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from bot.app import Application
from bot.storage.subscriptions import SubscriptionRepository
from services.updates import post_nonce
from tests.cogs.test_updates_loop import (
    World,
    bot,
    change_the_match,
    next_slot,
    posts,
    subscribe,
    updates,
)
from tests.cogs.test_updates_loop import world as world


@asynccontextmanager
async def dies_after_posting(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[list[int]]:
    """The next delivery is created on Discord, then the bot 'dies' before recording it."""
    died: list[int] = []
    original = SubscriptionRepository.record_delivery

    async def crash_once(
        self: SubscriptionRepository, subscription_id: int, delivered: Any
    ) -> None:
        if not died:
            died.append(delivered.message_id)
            raise RuntimeError("killed after Discord created the message, before recording it")
        await original(self, subscription_id, delivered)

    monkeypatch.setattr(SubscriptionRepository, "record_delivery", crash_once)
    yield died
    monkeypatch.setattr(SubscriptionRepository, "record_delivery", original)


async def _subscription(app: Application) -> Any:
    (subscription,) = await updates(app).subscriptions.for_guild(next(iter(app.bot.guilds)).id)  # type: ignore[union-attr]
    return subscription


@pytest.mark.parametrize("mode", ["edit", "post"])
async def test_a_post_repeated_soon_after_a_crash_is_the_same_message(
    world: World, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    async with dies_after_posting(monkeypatch) as died, bot(world) as app:
        await subscribe(world, mode=mode)
        await world.discord.wait_until(lambda: died, "the first post")
        pending = await _subscription(app)
        # A real kill never gets to reschedule: the slot stays due, as it was.
        await app.bot.services.db.execute(  # type: ignore[union-attr]
            "UPDATE update_subscriptions SET next_due_at = pending_since"
        )
    assert pending.pending_nonce is not None
    assert pending.pending_nonce.startswith(f"u{pending.id}.")
    assert pending.last_message_id is None
    async with bot(world) as app:  # the restart, seconds later
        change_the_match(world)
        await updates(app).run_cycle()
        recorded = await _subscription(app)
        after_restart = posts(world)
        change_the_match(world)
        await next_slot(world, app)
        later = await _subscription(app)
    (only,) = after_restart
    assert only.id == died[0] == recorded.last_message_id
    assert recorded.pending_nonce is None
    assert world.discord.nonce_reuses == 1
    assert only.edited_timestamp is not None  # brought up to date after the restart
    # Then business as usual: edit mode edits that message, post mode adds the next one.
    assert len(posts(world)) == (1 if mode == "edit" else 2)
    assert (later.last_message_id == only.id) is (mode == "edit")


async def test_after_the_nonce_window_the_bots_own_message_is_found_in_the_channel(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with dies_after_posting(monkeypatch) as died, bot(world) as app:
        await subscribe(world, mode="edit")
        await world.discord.wait_until(lambda: died, "the first post")
    world.discord.nonce_window_s = 0  # Discord forgot the nonce
    world.clock.advance(20 * 60)
    async with bot(world) as app:
        await next_slot(world, app)
        recorded = await _subscription(app)
        change_the_match(world)
        await next_slot(world, app)
    (only,) = posts(world)
    assert only.id == died[0] == recorded.last_message_id
    assert world.discord.nonce_reuses == 0
    assert len(only.history) >= 1  # the adopted message is edited, never a second one posted


async def test_nonces_are_stable_per_slot_and_within_discords_limit() -> None:
    from datetime import UTC, datetime

    due = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
    assert post_nonce("update", 7, due) == post_nonce("update", 7, due)
    assert post_nonce("update", 7, due) != post_nonce("week_result", 7, due)
    assert post_nonce("update", 8, due) != post_nonce("update", 7, due)
    assert len(post_nonce("update", 10**12, due)) <= 25
