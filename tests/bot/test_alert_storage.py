"""Alert subscriptions, match snapshots and events in SQLite."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.storage import Database
from bot.storage.alerts import AlertLimitError, AlertRepository, PollRecord
from bot.storage.guilds import GuildSettingsRepository
from services.alerts import AlertEvent, AlertFilter, MatchSnapshot, ObjectiveState

NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)


async def subscribe(repository: AlertRepository, guild_id: int = 1, channel_id: int = 10) -> int:
    subscription, _ = await repository.subscribe(
        guild_id=guild_id,
        channel_id=channel_id,
        team_id=11001,
        alert_filter=AlertFilter(objective_types=frozenset({"Keep"})),
        role_id=None,
        created_by=99,
        limit=2,
    )
    return subscription.id


async def test_a_subscription_round_trips_and_the_limit_holds(db: Database) -> None:
    repository = AlertRepository(db)
    first = await subscribe(repository)
    again, created = await repository.subscribe(
        guild_id=1,
        channel_id=10,
        team_id=11001,
        alert_filter=AlertFilter(scope="match"),
        role_id=5,
        created_by=98,
        limit=2,
    )
    assert not created
    assert again.id == first
    assert again.scope == "match"
    assert again.role_id == 5
    assert again.last_event_id is None
    await subscribe(repository, channel_id=11)
    with pytest.raises(AlertLimitError):
        await subscribe(repository, channel_id=12)


async def test_snapshots_and_events_are_stored_together_and_read_past_a_mark(
    db: Database,
) -> None:
    repository = AlertRepository(db)
    shot = MatchSnapshot(
        objectives={"1-1": ObjectiveState(type="Keep", map_type="Center", owner="Red")}
    )
    event = AlertEvent(kind="reset_reminder", at=NOW, minutes_left=10)
    await repository.record_poll([PollRecord("1-1", "start", shot, [event, event])], NOW)
    stored = await repository.matches(["1-1", "2-1"])
    assert list(stored) == ["1-1"]
    assert stored["1-1"].snapshot == shot
    assert stored["1-1"].seen_at == NOW
    horizon = await repository.last_event_id()
    assert [e.event for e in await repository.events_between(horizon - 1, horizon)] == [event]


async def test_a_left_guild_gets_no_alerts_and_is_purged_with_its_settings(db: Database) -> None:
    repository = AlertRepository(db)
    guilds = GuildSettingsRepository(db)
    await subscribe(repository)
    assert len(await repository.active()) == 1
    await guilds.mark_left(1, NOW)
    assert await repository.active() == []
    await guilds.purge_left_before(NOW + timedelta(days=8))
    assert await repository.for_guild(1) == []


async def test_events_every_subscription_has_had_are_purged(db: Database) -> None:
    repository = AlertRepository(db)
    subscription_id = await subscribe(repository)
    event = AlertEvent(kind="reset_reminder", at=NOW, minutes_left=10)
    await repository.record_poll([PollRecord("1-1", "s", MatchSnapshot(), [event] * 3)], NOW)
    await repository.advance([subscription_id], 2, NOW)
    assert await repository.purge_events(NOW - timedelta(days=1)) == 2
    assert [e.id for e in await repository.events_between(0, 10)] == [3]


async def test_a_stopped_subscription_set_again_starts_from_a_new_baseline(db: Database) -> None:
    repository = AlertRepository(db)
    subscription_id = await subscribe(repository)
    await repository.advance([subscription_id], 7, NOW)
    await subscribe(repository)  # changed while running: keeps its place
    assert (await repository.for_guild(1))[0].last_event_id == 7
    await repository.disable([subscription_id], "the channel was deleted.", NOW)
    await subscribe(repository)
    again = (await repository.for_guild(1))[0]
    assert again.enabled
    assert again.last_event_id is None
    assert again.last_error is None
