"""Fault families through the real bot: GW2 429 with a huge Retry-After, expired interaction."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from bot.app import Application
from tests.fakes.discord import FakeDiscord
from tests.fakes.gw2_api import FakeGW2API, Fault, InstantClock
from tests.harness import make_settings

MATCHES = "/v2/wvw/matches"


async def test_a_429_with_retry_after_3600_pauses_matches_for_at_most_60_s(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = InstantClock()
    registry = CollectorRegistry()
    async with FakeDiscord() as discord_fake, FakeGW2API(clock=clock) as gw2_fake:
        guild = discord_fake.add_guild(name="Vigil Keep")
        alice = discord_fake.add_member(guild, discord_fake.add_user("Alice"))
        app = Application(
            make_settings(discord_fake, tmp_path, gw2=gw2_fake), clock=clock, registry=registry
        )
        try:
            await app.start()
            await app.wait_until_ready(timeout_s=discord_fake.default_timeout)
            await discord_fake.wait_ready()
            gw2_fake.script(MATCHES, Fault.rate_limited(retry_after=3600, times=None))
            busy = await (
                await discord_fake.slash(alice, "wvw match", {"team": "11001"})
            ).wait_final_message()
            assert app.bot is not None
            limiter = app.bot.services.gw2.rate_limiter
            paused = limiter.paused_for(family="matches")
            other_families = limiter.paused_for(family="worlds")
            asked = gw2_fake.count(MATCHES)
            gw2_fake.clear_faults()
            clock.advance(61)
            shown = await (
                await discord_fake.slash(alice, "wvw match", {"team": "11001"})
            ).wait_final_message()
        finally:
            await app.stop()
    assert "busy" in busy.all_text().lower() or "rate" in busy.all_text().lower()
    assert asked == 1  # no retry storm against a 429
    assert 0 < paused <= 60
    assert other_families == 0
    assert shown.embeds  # the match again, a minute later, not an hour
    pauses = registry.get_sample_value(
        "gw2opt_gw2_api_upstream_pauses_total", {"family": "matches", "scope": "family"}
    )
    assert pauses == 1
    assert "failed (reference" not in caplog.text


async def test_an_expired_interaction_is_never_answered_in_the_channel(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    clock = InstantClock()
    async with FakeDiscord() as discord_fake, FakeGW2API(clock=clock) as gw2_fake:
        guild = discord_fake.add_guild(name="Vigil Keep")
        alice = discord_fake.add_member(guild, discord_fake.add_user("Alice"))
        app = Application(make_settings(discord_fake, tmp_path, gw2=gw2_fake), clock=clock)
        try:
            await app.start()
            await app.wait_until_ready(timeout_s=discord_fake.default_timeout)
            await discord_fake.wait_ready()
            gw2_fake.fail(MATCHES, status=500, times=None)
            handle = await discord_fake.slash(alice, "wvw match", {"team": "11001"})
            handle.expire()
            await discord_fake.wait_until(
                lambda: any(r.status in (401, 404) for r in discord_fake.requests),
                "the bot to find the interaction expired",
            )
            await discord_fake.sync()
        finally:
            await app.stop()
    assert guild.default_channel is not None
    public = [m for m in discord_fake.messages_in(guild.default_channel) if m.source == "channel"]
    assert public == []
    assert "expired before its error could be answered; dropped" in caplog.text
