"""The leak guard: keys posted in server channels are deleted, the author warned, none stored."""

from __future__ import annotations

from pathlib import Path

from tests.bot.test_redaction import make_gw2_key
from tests.cogs.test_account_flow import account_world, paste_in_dm
from tests.fakes.discord import MANAGE_MESSAGES


async def test_a_key_posted_in_a_channel_is_deleted_and_the_author_warned_by_dm(
    tmp_path: Path,
) -> None:
    async with account_world(tmp_path) as world:
        key = make_gw2_key()
        world.gw2.add_key(key)
        posted = await world.discord.send_user_message(
            world.alice, f"my key is {key} ok?", channel=world.guild.default_channel
        )
        await world.discord.wait_until(lambda: posted.deleted, "the message to be deleted")
        await world.discord.wait_until(
            lambda: world.discord.sent_dms(world.alice.user), "the warning DM"
        )
        stored = await world.app.bot.services.keys.list_for_user(world.alice.user.id)  # type: ignore[union-attr]
        deleted = world.metric("gw2opt_leaked_keys_total", action="deleted")
        tokeninfo_calls = world.gw2.count("/v2/tokeninfo")
    warning = world.discord.sent_dms(world.alice.user)[0].content
    assert "is public now" in warning
    assert "I deleted the message" in warning
    assert "#general on Vigil Keep" in warning
    assert key not in warning
    assert key[:8] not in warning
    assert stored == []
    assert tokeninfo_calls == 0  # never checked, never stored
    assert deleted == 1


async def test_without_manage_messages_the_key_stays_but_the_author_is_still_warned(
    tmp_path: Path,
) -> None:
    async with account_world(tmp_path) as world:
        channel = world.guild.default_channel
        assert channel is not None
        world.discord.set_overwrite(
            channel, world.discord.bot_member(world.guild), deny=MANAGE_MESSAGES
        )
        posted = await world.discord.send_user_message(
            world.alice, make_gw2_key(), channel=world.guild.default_channel
        )
        await world.discord.wait_until(
            lambda: world.discord.sent_dms(world.alice.user), "the warning DM"
        )
        could_not = world.metric("gw2opt_leaked_keys_total", action="could_not_delete")
    assert not posted.deleted
    assert "couldn't delete the message" in world.discord.sent_dms(world.alice.user)[0].content
    assert could_not == 1


async def test_with_dms_closed_the_author_gets_a_short_channel_notice_without_the_key(
    tmp_path: Path,
) -> None:
    async with account_world(tmp_path) as world:
        channel = world.guild.default_channel
        assert channel is not None
        world.discord.close_dms(world.alice.user)
        key = make_gw2_key()
        await world.discord.send_user_message(world.alice, key, channel=world.guild.default_channel)
        notice = await world.discord.wait_for_message(
            channel, lambda m: m.author is world.discord.bot_user
        )
    assert notice.content.startswith(f"<@{world.alice.user.id}> I deleted a message")
    assert "public now" in notice.content
    assert key not in notice.all_text()


async def test_the_guard_is_off_in_a_guild_that_disabled_it(tmp_path: Path) -> None:
    async with account_world(tmp_path) as world:
        await world.app.bot.services.guild_settings.set_leak_guard(world.guild.id, False)  # type: ignore[union-attr]
        posted = await world.discord.send_user_message(
            world.alice, make_gw2_key(), channel=world.guild.default_channel
        )
        await world.discord.sync()
        counted = world.metric("gw2opt_leaked_keys_total", action="deleted")
    assert not posted.deleted
    assert world.discord.sent_dms(world.alice.user) == []
    assert counted == 0


async def test_ordinary_messages_and_bot_messages_are_left_alone(tmp_path: Path) -> None:
    async with account_world(tmp_path) as world:
        channel = world.guild.default_channel
        assert channel is not None
        other_bot = world.discord.add_member(
            world.guild, world.discord.add_user("OtherBot", bot=True)
        )
        normal = await world.discord.send_user_message(
            world.alice, "push the keep at 20:00", channel=world.guild.default_channel
        )
        from_bot = await world.discord.send_user_message(other_bot, make_gw2_key(), channel=channel)
        await world.discord.sync()
    assert not normal.deleted
    assert not from_bot.deleted


async def test_with_the_guard_disabled_by_setting_the_bot_runs_without_it(tmp_path: Path) -> None:
    async with account_world(tmp_path, leak_guard=False) as world:
        key = make_gw2_key()
        world.gw2.add_key(key, account_name="Alice.1234")
        linked = await paste_in_dm(world, world.alice.user, key)  # DMs need no privileged intent
        posted = await world.discord.send_user_message(
            world.alice, make_gw2_key(), channel=world.guild.default_channel
        )
        await world.discord.sync()
        assert world.app.bot is not None
        assert world.app.bot.intents.message_content is False
    assert not posted.deleted
    assert linked.embed is not None
    assert linked.embed["title"] == "API key linked"
    assert len(world.discord.sent_dms(world.alice.user)) == 1  # the checklist, no warning


async def test_a_key_added_by_editing_a_message_is_deleted_too(tmp_path: Path) -> None:
    async with account_world(tmp_path) as world:
        posted = await world.discord.send_user_message(
            world.alice, "my key is coming", channel=world.guild.default_channel
        )
        await world.discord.sync()
        assert not posted.deleted
        key = make_gw2_key()
        await world.discord.edit_user_message(posted, f"my key is {key}")
        await world.discord.wait_until(lambda: posted.deleted, "the edited message's deletion")
        await world.discord.wait_until(
            lambda: world.discord.sent_dms(world.alice.user), "the warning DM"
        )
    assert len(world.discord.sent_dms(world.alice.user)) == 1
    assert "I deleted the message" in world.discord.sent_dms(world.alice.user)[0].content


async def test_editing_a_key_message_the_guard_could_not_delete_warns_only_once(
    tmp_path: Path,
) -> None:
    # The bot keeps no message cache: the guard itself remembers the messages it acted on.
    async with account_world(tmp_path) as world:
        channel = world.guild.default_channel
        assert channel is not None
        world.discord.set_overwrite(
            channel, world.discord.bot_member(world.guild), deny=MANAGE_MESSAGES
        )
        key = make_gw2_key()
        posted = await world.discord.send_user_message(world.alice, key, channel=channel)
        await world.discord.wait_until(
            lambda: world.discord.sent_dms(world.alice.user), "the warning DM"
        )
        await world.discord.edit_user_message(posted, f"{key} (edited)")
        later = await world.discord.send_user_message(world.alice, "no key here", channel=channel)
        await world.discord.edit_user_message(later, f"oops {make_gw2_key()}")
        await world.discord.wait_until(
            lambda: len(world.discord.sent_dms(world.alice.user)) >= 2, "the second warning"
        )
        await world.discord.sync()
        could_not = world.metric("gw2opt_leaked_keys_total", action="could_not_delete")
        assert world.app.bot is not None
        cached = world.app.bot.cached_messages
    assert len(world.discord.sent_dms(world.alice.user)) == 2  # one per message, not per edit
    assert could_not == 2
    assert not posted.deleted
    assert list(cached) == []
