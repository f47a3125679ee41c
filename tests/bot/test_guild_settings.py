from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.storage import Database
from bot.storage.guilds import GuildSettings, GuildSettingsRepository


async def test_unconfigured_guild_gets_defaults(db: Database) -> None:
    assert await GuildSettingsRepository(db).get(42) == GuildSettings(guild_id=42)


async def test_settings_are_saved_and_updated(db: Database) -> None:
    repo = GuildSettingsRepository(db)
    await repo.set_default_team(42, 11005)
    await repo.set_ownership_policy(42, "required")
    await repo.set_leak_guard(42, False)
    await repo.set_default_team(42, 12002)
    settings = await repo.get(42)
    assert settings.default_team_id == 12002
    assert settings.key_ownership_policy == "required"
    assert settings.leak_guard_enabled is False


async def test_only_guilds_gone_past_the_grace_period_are_purged(db: Database) -> None:
    repo = GuildSettingsRepository(db)
    now = datetime(2026, 11, 26, tzinfo=UTC)
    for guild_id in (1, 2, 3):
        await repo.set_default_team(guild_id, 11001)
    await db.execute(
        "INSERT INTO update_subscriptions (guild_id, channel_id, team_id) VALUES (?, ?, ?)",
        (1, 100, 11001),
    )
    await repo.mark_left(1, now - timedelta(days=10))
    await repo.mark_left(2, now - timedelta(days=1))
    assert await repo.purge_left_before(now - timedelta(days=7)) == [1]
    assert (await repo.get(1)).default_team_id is None
    assert await db.fetchval("SELECT count(*) FROM update_subscriptions") == 0
    await repo.mark_present(2)
    assert (await repo.get(2)).left_at is None
    assert (await repo.get(3)).default_team_id == 11001


async def test_a_guild_that_never_configured_anything_is_purged_with_its_subscriptions(
    db: Database,
) -> None:
    repo = GuildSettingsRepository(db)
    now = datetime(2026, 11, 26, tzinfo=UTC)
    await db.execute(
        "INSERT INTO update_subscriptions (guild_id, channel_id, team_id) VALUES (?, ?, ?)",
        (9, 900, 12002),
    )
    await repo.mark_left(9, now - timedelta(days=8))
    assert await repo.purge_left_before(now - timedelta(days=7)) == [9]
    assert await db.fetchval("SELECT count(*) FROM update_subscriptions") == 0


async def test_reconcile_marks_guilds_left_while_offline_and_ones_back_again(
    db: Database,
) -> None:
    repo = GuildSettingsRepository(db)
    now = datetime(2026, 11, 26, tzinfo=UTC)
    await repo.set_default_team(1, 11001)  # still there
    await repo.set_default_team(2, 11002)  # removed while offline
    await repo.set_default_team(3, 11003)
    await repo.mark_left(3, now - timedelta(days=1))  # left, now invited back
    await db.execute(
        "INSERT INTO update_subscriptions (guild_id, channel_id, team_id) VALUES (?, ?, ?)",
        (4, 400, 12001),  # subscriptions only, removed while offline
    )
    gone, back = await repo.reconcile({1, 3}, now)
    assert gone == [2, 4]
    assert back == [3]
    assert (await repo.get(2)).left_at is not None
    assert (await repo.get(4)).left_at is not None
    assert (await repo.get(3)).left_at is None
    assert (await repo.get(1)).left_at is None
    assert await repo.reconcile({1, 3}, now) == ([], [])
