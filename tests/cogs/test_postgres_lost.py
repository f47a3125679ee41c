"""PostgreSQL lost while the bot runs: commands say "temporarily unavailable", /readyz turns 503,
scheduled work pauses, and everything resumes on reconnect without losing or repeating posts."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.backends import postgres_url_in_new_schema
from tests.cogs.test_sharded_features import TEAM
from tests.fakes.discord import FakeDiscord
from tests.fakes.gw2_api import FakeGW2API
from tests.harness import running_bot
from tests.tcp_proxy import Proxy

pytestmark = pytest.mark.e2e
EXTENSIONS = ("cogs.about", "cogs.settings", "cogs.updates")


def _through(url: str, port: int) -> str:
    parts = urlsplit(url)
    user = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    return urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{port}"))


async def test_a_lost_database_pauses_the_bot_and_it_resumes_on_reconnect(
    tmp_path: Path,
) -> None:
    async with (
        postgres_url_in_new_schema() as url,
        FakeDiscord() as discord_fake,
        FakeGW2API() as gw2,
    ):
        target = urlsplit(url)
        proxy = Proxy((target.hostname or "127.0.0.1", target.port or 5432))
        await proxy.start()
        guild = discord_fake.add_guild(name="Lost")
        admin = discord_fake.add_member(
            guild, discord_fake.add_user("Admin"), permissions="manage_guild"
        )
        channel = discord_fake.add_text_channel(guild, "wvw-updates")
        try:
            async with running_bot(
                discord_fake,
                tmp_path,
                gw2=gw2,
                extensions=EXTENSIONS,
                database_url=_through(url, proxy.port),
            ) as app:
                assert await app.readiness() == {}
                await proxy.stop()  # PostgreSQL is gone
                assert (await app.readiness()).get("database") == "not answering"
                handle = await discord_fake.slash(
                    admin, "settings updates", {"channel": channel, "team": str(TEAM)}
                )
                lost = await handle.wait_final_message()
                await proxy.start()  # back, on the same port
                assert await app.readiness() == {}
                handle = await discord_fake.slash(
                    admin, "settings updates", {"channel": channel, "team": str(TEAM)}
                )
                await handle.wait_final_message()
                first = await discord_fake.wait_for_message(channel)
        finally:
            await proxy.stop()
    assert "temporarily unavailable" in lost.content
    assert first.embeds
    posts = [m for m in discord_fake.messages_in(channel) if m.source == "channel"]
    assert len(posts) == 1
