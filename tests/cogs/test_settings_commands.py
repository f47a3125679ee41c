"""``/settings`` through the fake Discord: who may change what, and what the bot checks first."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.fakes.discord import FakeDiscord
from tests.fakes.gw2_api import FakeGW2API
from tests.harness import running_bot

EXTENSIONS = ("cogs.about", "cogs.settings", "cogs.updates")

CHANGING_COMMANDS = [
    ("settings team", {"team": "11001"}),
    ("settings updates", {"team": "11001"}),
    ("settings updates-off", {}),
    ("settings preview", {"team": "11001"}),
    ("settings key-ownership", {"policy": "required"}),
    ("settings leak-guard", {"enabled": False}),
]


@pytest.mark.parametrize(("command", "options"), CHANGING_COMMANDS)
async def test_changing_settings_needs_manage_server_at_run_time(
    tmp_path: Path, command: str, options: dict[str, object]
) -> None:
    async with FakeDiscord() as discord_fake, FakeGW2API() as gw2_fake:
        guild = discord_fake.add_guild(name="Vigil Keep")
        bob = discord_fake.add_member(guild, discord_fake.add_user("Bob"))
        channel = discord_fake.add_text_channel(guild, "wvw")
        async with running_bot(discord_fake, tmp_path, gw2=gw2_fake, extensions=EXTENSIONS) as app:
            if command.startswith("settings updates"):
                options = {"channel": channel, **options}
            handle = await discord_fake.slash(bob, command, options)
            reply = await handle.wait_final_message()
            assert app._services is not None
            rows = await app._services.db.fetchval("SELECT COUNT(*) FROM update_subscriptions")
            settings = await app._services.guild_settings.get(guild.id)
    assert handle.ephemeral
    assert reply.content == "You need the Manage Server permission to do that."
    assert rows == 0
    assert settings.default_team_id is None
    assert settings.key_ownership_policy == "optional"
    assert settings.leak_guard_enabled is True


async def test_admins_set_the_key_policies(tmp_path: Path) -> None:
    async with FakeDiscord() as discord_fake, FakeGW2API() as gw2_fake:
        guild = discord_fake.add_guild(name="Vigil Keep")
        admin = discord_fake.add_member(
            guild, discord_fake.add_user("Alice"), permissions="manage_guild"
        )
        async with running_bot(discord_fake, tmp_path, gw2=gw2_fake, extensions=EXTENSIONS) as app:
            policy = await discord_fake.slash(
                admin, "settings key-ownership", {"policy": "required"}
            )
            policy_reply = await policy.wait_final_message()
            guard = await discord_fake.slash(admin, "settings leak-guard", {"enabled": False})
            guard_reply = await guard.wait_final_message()
            assert app._services is not None
            settings = await app._services.guild_settings.get(guild.id)
            shown = await (await discord_fake.slash(admin, "settings show")).wait_final_message()
    assert settings.key_ownership_policy == "required"
    assert settings.leak_guard_enabled is False
    assert "ownership code" in policy_reply.content
    assert "not used here" in policy_reply.content  # enforced where keys are used (issue 10)
    assert guard_reply.content.startswith("Leak guard off")
    assert "required" in shown.all_text().lower()


async def test_everyone_can_show_the_settings(tmp_path: Path) -> None:
    async with FakeDiscord() as discord_fake, FakeGW2API() as gw2_fake:
        guild = discord_fake.add_guild(name="Vigil Keep")
        admin = discord_fake.add_member(
            guild, discord_fake.add_user("Alice"), permissions="manage_guild"
        )
        bob = discord_fake.add_member(guild, discord_fake.add_user("Bob"))
        async with running_bot(discord_fake, tmp_path, gw2=gw2_fake, extensions=EXTENSIONS):
            handle = await discord_fake.slash(admin, "settings team", {"team": "Tombs"})
            set_reply = await handle.wait_final_message()
            handle = await discord_fake.slash(bob, "settings show")
            shown = await handle.wait_final_message()
    assert "Tombs of Drascir (11005)" in set_reply.content
    assert handle.ephemeral
    text = shown.all_text()
    assert "Tombs of Drascir (11005)" in text
    assert "none — use `/settings updates`" in text


async def test_team_autocomplete_is_the_shared_one(tmp_path: Path) -> None:
    async with FakeDiscord() as discord_fake, FakeGW2API() as gw2_fake:
        guild = discord_fake.add_guild(name="Vigil Keep")
        admin = discord_fake.add_member(
            guild, discord_fake.add_user("Alice"), permissions="manage_guild"
        )
        async with running_bot(discord_fake, tmp_path, gw2=gw2_fake, extensions=EXTENSIONS):
            handle = await discord_fake.autocomplete(admin, "settings team", {"team": "moog"})
            choices = await handle.wait_choices()
    assert choices[0]["value"] == "11001"


async def test_an_unknown_team_says_what_to_type(tmp_path: Path) -> None:
    async with FakeDiscord() as discord_fake, FakeGW2API() as gw2_fake:
        guild = discord_fake.add_guild(name="Vigil Keep")
        admin = discord_fake.add_member(
            guild, discord_fake.add_user("Alice"), permissions="manage_guild"
        )
        async with running_bot(discord_fake, tmp_path, gw2=gw2_fake, extensions=EXTENSIONS):
            handle = await discord_fake.slash(admin, "settings team", {"team": "Atlantis"})
            reply = await handle.wait_final_message()
    assert "No team called" in reply.content


async def test_updates_name_the_missing_channel_permission(tmp_path: Path) -> None:
    async with FakeDiscord() as discord_fake, FakeGW2API() as gw2_fake:
        guild = discord_fake.add_guild(name="Vigil Keep")
        admin = discord_fake.add_member(
            guild, discord_fake.add_user("Alice"), permissions="manage_guild"
        )
        no_embeds = discord_fake.add_text_channel(guild, "no-embeds")
        no_history = discord_fake.add_text_channel(guild, "no-history")
        discord_fake.deny_bot_permission(no_embeds, "embed_links")
        discord_fake.deny_bot_permission(no_history, "read_message_history")
        async with running_bot(discord_fake, tmp_path, gw2=gw2_fake, extensions=EXTENSIONS) as app:
            replies = []
            for channel, mode in ((no_embeds, "post"), (no_history, "edit"), (no_history, "post")):
                handle = await discord_fake.slash(
                    admin,
                    "settings updates",
                    {"channel": channel, "team": "11001", "mode": mode},
                )
                replies.append((await handle.wait_final_message()).content)
            assert app._services is not None
            rows = await app._services.db.fetchval("SELECT COUNT(*) FROM update_subscriptions")
    assert "I'm missing Embed Links there" in replies[0]
    assert "I'm missing Read Message History there" in replies[1]
    assert replies[2].startswith("Done:")  # post mode doesn't need the history
    assert rows == 1


async def test_updates_use_the_default_team_and_respect_the_limit(tmp_path: Path) -> None:
    async with FakeDiscord() as discord_fake, FakeGW2API() as gw2_fake:
        guild = discord_fake.add_guild(name="Vigil Keep")
        admin = discord_fake.add_member(
            guild, discord_fake.add_user("Alice"), permissions="manage_guild"
        )
        channels = [discord_fake.add_text_channel(guild, f"c{i}") for i in range(11)]
        async with running_bot(discord_fake, tmp_path, gw2=gw2_fake, extensions=EXTENSIONS):
            handle = await discord_fake.slash(admin, "settings updates", {"channel": channels[0]})
            no_team = (await handle.wait_final_message()).content
            await (
                await discord_fake.slash(admin, "settings team", {"team": "12002"})
            ).wait_final_message()
            for channel in channels[:10]:
                handle = await discord_fake.slash(
                    admin, "settings updates", {"channel": channel, "interval": 30}
                )
                assert (await handle.wait_final_message()).content.startswith("Done:")
            handle = await discord_fake.slash(admin, "settings updates", {"channel": channels[10]})
            over = (await handle.wait_final_message()).content
            handle = await discord_fake.slash(
                admin, "settings updates-off", {"channel": channels[0]}
            )
            off = (await handle.wait_final_message()).content
            handle = await discord_fake.slash(
                admin, "settings updates-off", {"channel": channels[0]}
            )
            again = (await handle.wait_final_message()).content
            shown = (
                await (await discord_fake.slash(admin, "settings show")).wait_final_message()
            ).all_text()
    assert "set the server's default team with `/settings team`" in no_team
    assert "already has 10 update channels" in over
    assert off.startswith("Stopped the WvW updates")
    assert "nothing to stop" in again
    assert "Match updates (9/10)" in shown
    assert "Fortune's Vale (12002) · every 30 min" in shown


async def test_preview_shows_the_post_only_to_the_admin(tmp_path: Path) -> None:
    async with FakeDiscord() as discord_fake, FakeGW2API() as gw2_fake:
        guild = discord_fake.add_guild(name="Vigil Keep")
        admin = discord_fake.add_member(
            guild, discord_fake.add_user("Alice"), permissions="manage_guild"
        )
        async with running_bot(discord_fake, tmp_path, gw2=gw2_fake, extensions=EXTENSIONS):
            handle = await discord_fake.slash(admin, "settings preview", {"team": "11001"})
            preview = await handle.wait_final_message()
    assert handle.ephemeral
    assert preview.content.startswith("Preview")
    assert preview.embed is not None
    assert preview.embed["title"].startswith("WvW NA Tier")


async def test_a_server_that_removed_the_bot_while_it_was_offline_starts_its_grace_period(
    tmp_path: Path,
) -> None:
    async with FakeDiscord() as discord_fake, FakeGW2API() as gw2_fake:
        guild = discord_fake.add_guild(name="Vigil Keep")
        admin = discord_fake.add_member(
            guild, discord_fake.add_user("Alice"), permissions="manage_guild"
        )
        async with running_bot(discord_fake, tmp_path, gw2=gw2_fake, extensions=EXTENSIONS):
            await (
                await discord_fake.slash(admin, "settings team", {"team": "11005"})
            ).wait_final_message()
    async with FakeDiscord() as elsewhere, FakeGW2API() as gw2_fake:  # the server is gone
        elsewhere.add_guild(name="Another server")
        async with running_bot(elsewhere, tmp_path, gw2=gw2_fake, extensions=EXTENSIONS) as app:
            assert app._services is not None
            repo = app._services.guild_settings
            for _ in range(200):
                if (await repo.get(guild.id)).left_at is not None:
                    break
                await asyncio.sleep(0.01)
            settings = await repo.get(guild.id)
    assert settings.left_at is not None
    assert settings.default_team_id == 11005  # kept for the grace period
