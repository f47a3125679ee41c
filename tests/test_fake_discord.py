"""The fake Discord drives the real discord.py client: login, gateway, interactions, faults."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from tests.fakes.discord import FakeDiscord, FakeDiscordTimeout, FakeGuild, FakeMember


class VoteView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=30)

    @discord.ui.button(label="Red", custom_id="vote:red", style=discord.ButtonStyle.danger)
    async def red(
        self, interaction: discord.Interaction, button: discord.ui.Button[VoteView]
    ) -> None:
        await interaction.response.edit_message(
            content=f"{interaction.user.name} voted red", view=None
        )


class KeyModal(discord.ui.Modal, title="Link your API key"):
    key: discord.ui.TextInput[KeyModal] = discord.ui.TextInput(label="API key", custom_id="api-key")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(
            f"key ends with {self.key.value[-4:]}", ephemeral=True
        )


class FakeTestBot(commands.Bot):
    """A plain bot with one command per interaction shape the fake must support."""

    def __init__(self, *, intents: discord.Intents | None = None) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents or discord.Intents.default(),
            guild_ready_timeout=0.05,
        )
        self.seen: dict[str, Any] = {}
        self.events: list[tuple[str, Any]] = []
        self.sync_guild: discord.Object | None = None
        self._add_commands()

    async def setup_hook(self) -> None:
        await self.tree.sync()
        if self.sync_guild is not None:
            self.tree.copy_global_to(guild=self.sync_guild)
            await self.tree.sync(guild=self.sync_guild)

    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        self.events.append(("channel_delete", channel.id))

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        self.events.append(("guild_remove", guild.id))

    async def on_guild_join(self, guild: discord.Guild) -> None:
        self.events.append(("guild_join", guild.id))

    async def on_message(self, message: discord.Message) -> None:
        if message.author == self.user:
            return
        self.events.append(("message", message.content))
        if "SECRET" in message.content:
            try:
                await message.delete()
            except discord.Forbidden as error:
                self.seen["delete_error"] = error.code

    def _add_commands(self) -> None:
        tree = self.tree

        @tree.command(name="ping", description="Immediate ephemeral embed")
        async def ping(interaction: discord.Interaction) -> None:
            embed = discord.Embed(title="Pong", description=f"guild={interaction.guild_id}")
            await interaction.response.send_message(embed=embed, ephemeral=True)

        @tree.command(name="slow", description="Defers, then follows up")
        async def slow(interaction: discord.Interaction) -> None:
            await interaction.response.defer(thinking=True)
            await asyncio.sleep(0.01)
            await interaction.followup.send("slow done")

        key = app_commands.Group(name="key", description="API keys")

        @key.command(name="add", description="Add a key")
        async def key_add(interaction: discord.Interaction, name: str, count: int = 1) -> None:
            await interaction.response.send_message(f"added {name} x{count}", ephemeral=True)

        tree.add_command(key)

        wvw = app_commands.Group(name="wvw", description="WvW")
        info = app_commands.Group(name="info", description="Info", parent=wvw)

        @info.command(name="match", description="Match")
        async def match(interaction: discord.Interaction, team: str) -> None:
            await interaction.response.send_message(f"team {team}")

        @match.autocomplete("team")
        async def team_autocomplete(
            interaction: discord.Interaction, current: str
        ) -> list[app_commands.Choice[str]]:
            teams = ["red", "green", "blue"]
            return [
                app_commands.Choice(name=t.title(), value=t) for t in teams if t.startswith(current)
            ]

        tree.add_command(wvw)

        @tree.command(name="link", description="Opens a modal")
        async def link(interaction: discord.Interaction) -> None:
            await interaction.response.send_modal(KeyModal())

        @tree.command(name="dm", description="DMs the user")
        async def dm(interaction: discord.Interaction) -> None:
            try:
                await interaction.user.send("a private hello")
            except discord.Forbidden as error:
                self.seen["dm_error"] = error.code
                await interaction.response.send_message("open your DMs", ephemeral=True)
            else:
                await interaction.response.send_message("check your DMs", ephemeral=True)

        @tree.command(name="vote", description="A button view")
        async def vote(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("Vote!", view=VoteView())

        @tree.command(name="whois", description="User and channel options")
        async def whois(
            interaction: discord.Interaction,
            member: discord.Member,
            where: discord.abc.GuildChannel,
        ) -> None:
            await interaction.response.send_message(f"{member.display_name} in {where.name}")


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord(default_timeout=3.0) as server:
        yield server
    assert server.errors == []


@pytest.fixture
def world(fake: FakeDiscord) -> tuple[FakeGuild, FakeMember]:
    guild = fake.add_guild(name="Test")
    fake.add_voice_channel(guild, "Squad")
    alice = fake.add_member(guild, fake.add_user("Alice"), permissions="manage_guild")
    return guild, alice


@pytest.fixture
async def bot(fake: FakeDiscord, world: tuple[FakeGuild, FakeMember]) -> AsyncIterator[FakeTestBot]:
    client = FakeTestBot()
    async with fake.run_client(client):
        yield client


async def test_login_syncs_commands_and_receives_the_guild(
    fake: FakeDiscord, world: tuple[FakeGuild, FakeMember], bot: FakeTestBot
) -> None:
    guild, _alice = world
    assert bot.is_ready()

    assert {c["name"] for c in fake.synced_commands} >= {
        "ping",
        "slow",
        "key",
        "wvw",
        "link",
        "dm",
        "vote",
    }
    assert all(c["id"] for c in fake.synced_commands)
    assert fake.identify_payloads[0]["intents"] == discord.Intents.default().value
    assert [r.path for r in fake.requests[:3]] == [
        "/users/@me",
        "/oauth2/applications/@me",
        f"/applications/{fake.application_id}/commands",
    ]
    client_guild = bot.get_guild(guild.id)
    assert client_guild is not None
    assert {c.name for c in client_guild.channels} == {"general", "Squad"}
    assert client_guild.me.guild_permissions.manage_messages
    assert fake.connected_gateways == 1
    assert not fake.unknown_routes


async def test_guild_sync_is_recorded_per_guild(
    fake: FakeDiscord, world: tuple[FakeGuild, FakeMember]
) -> None:
    guild, alice = world
    client = FakeTestBot()
    client.sync_guild = discord.Object(guild.id)
    async with fake.run_client(client):
        assert "ping" in {c["name"] for c in fake.guild_synced_commands[guild.id]}
        handle = await fake.slash(alice, "ping")
        assert handle.payload["data"]["guild_id"] == str(guild.id)
        await handle.wait_final_message()


async def test_immediate_ephemeral_embed_reply(
    fake: FakeDiscord, world: tuple[FakeGuild, FakeMember], bot: FakeTestBot
) -> None:
    guild, alice = world
    handle = await fake.slash(alice, "ping")

    message = await handle.wait_final_message()

    assert handle.response_type == 4
    assert handle.ephemeral
    assert message.embed is not None
    assert message.embed["title"] == "Pong"
    assert f"guild={guild.id}" in message.all_text()
    callback = next(r for r in fake.requests if r.path.endswith("/callback"))
    assert callback.query == {"with_response": "1"}
    assert not callback.had_authorization


async def test_deferred_reply_then_follow_up_replaces_the_thinking_message(
    fake: FakeDiscord, world: tuple[FakeGuild, FakeMember], bot: FakeTestBot
) -> None:
    _guild, alice = world
    handle = await fake.slash(alice, "slow")

    message = await handle.wait_final_message()

    assert handle.response_type == 5
    assert message.content == "slow done"
    assert not message.loading
    assert not handle.ephemeral
    assert handle.followups == [message]


async def test_subcommand_and_group_options_are_nested(
    fake: FakeDiscord, world: tuple[FakeGuild, FakeMember], bot: FakeTestBot
) -> None:
    _guild, alice = world
    added = await fake.slash(alice, "key add", {"name": "main", "count": 2})
    match = await fake.slash(alice, "wvw info match", {"team": "blue"})

    assert (await added.wait_final_message()).content == "added main x2"
    assert (await match.wait_final_message()).content == "team blue"
    options = match.payload["data"]["options"]
    assert options[0]["type"] == 2
    assert options[0]["options"][0]["type"] == 1


async def test_user_and_channel_options_are_resolved(
    fake: FakeDiscord, world: tuple[FakeGuild, FakeMember], bot: FakeTestBot
) -> None:
    guild, alice = world
    squad = guild.voice_channels[0]
    handle = await fake.slash(alice, "whois", {"member": alice, "where": squad})

    assert (await handle.wait_final_message()).content == "Alice in Squad"


async def test_autocomplete_choices_are_captured(
    fake: FakeDiscord, world: tuple[FakeGuild, FakeMember], bot: FakeTestBot
) -> None:
    _guild, alice = world
    handle = await fake.autocomplete(alice, "wvw info match", {"team": "r"})

    assert await handle.wait_choices() == [{"name": "Red", "value": "red"}]
    assert handle.response_type == 8


async def test_modal_is_opened_and_submitted_in_a_dm(fake: FakeDiscord, bot: FakeTestBot) -> None:
    bob = fake.add_user("Bob")
    opened = await fake.slash(bob, "link")
    modal = await opened.wait_modal()
    assert modal["title"] == "Link your API key"
    assert opened.payload["context"] == 1
    assert "guild_id" not in opened.payload

    submitted = await fake.submit_modal(bob, opened, {"API key": "ABCD-1234"})

    message = await submitted.wait_final_message()
    assert message.content == "key ends with 1234"
    assert submitted.ephemeral


async def test_button_click_updates_the_message(
    fake: FakeDiscord, world: tuple[FakeGuild, FakeMember], bot: FakeTestBot
) -> None:
    _guild, alice = world
    vote = await fake.slash(alice, "vote")
    message = await vote.wait_final_message()
    assert message.custom_ids() == ["vote:red"]

    click = await fake.click(alice, message, "vote:red")

    assert (await click.wait_final_message()) is message
    assert click.response_type == 7
    assert message.content == "Alice voted red"
    assert message.components == []


async def test_dm_is_sent_and_closed_dms_raise_forbidden_50007(
    fake: FakeDiscord, bot: FakeTestBot
) -> None:
    carol, dave = fake.add_user("Carol"), fake.add_user("Dave")
    fake.close_dms(dave)

    ok = await fake.slash(carol, "dm")
    closed = await fake.slash(dave, "dm")

    assert (await ok.wait_final_message()).content == "check your DMs"
    assert [m.content for m in fake.sent_dms(carol)] == ["a private hello"]
    assert (await closed.wait_final_message()).content == "open your DMs"
    assert bot.seen["dm_error"] == 50007
    assert fake.sent_dms(dave) == []


async def test_rate_limited_post_is_retried(
    fake: FakeDiscord, world: tuple[FakeGuild, FakeMember], bot: FakeTestBot
) -> None:
    guild, _alice = world
    assert guild.default_channel is not None
    rule = fake.fail("POST", r"^/channels/\d+/messages$", status=429, retry_after=0.05)
    channel = bot.get_channel(guild.default_channel.id)
    assert isinstance(channel, discord.TextChannel)

    sent = await channel.send("scheduled update")

    assert rule.hits == 1
    assert [m.content for m in fake.messages_in(channel.id)] == ["scheduled update"]
    assert sent.id == fake.messages_in(channel.id)[0].id


async def test_permission_and_missing_resource_errors(
    fake: FakeDiscord, world: tuple[FakeGuild, FakeMember], bot: FakeTestBot
) -> None:
    guild, _alice = world
    general = guild.default_channel
    assert general is not None
    channel = bot.get_channel(general.id)
    assert isinstance(channel, discord.TextChannel)
    posted = await channel.send("to be deleted")

    await posted.delete()
    with pytest.raises(discord.NotFound) as unknown_message:
        await channel.fetch_message(posted.id)
    fake.deny_bot_permission(general, "send_messages")
    with pytest.raises(discord.Forbidden) as missing_permission:
        await channel.send("nope")
    with pytest.raises(discord.NotFound) as unknown_route:
        await bot.http.request(discord.http.Route("GET", "/does-not-exist"))

    assert unknown_message.value.code == 10008
    assert missing_permission.value.code == 50013
    assert unknown_route.value.code == 0
    assert [r.path for r in fake.unknown_routes] == ["/does-not-exist"]
    assert fake.deleted_messages[0].content == "to be deleted"


async def test_channel_and_guild_events_reach_the_client(
    fake: FakeDiscord, world: tuple[FakeGuild, FakeMember], bot: FakeTestBot
) -> None:
    guild, alice = world
    squad = guild.voice_channels[0]
    await fake.move_voice(guild, alice, squad)
    client_squad = bot.get_channel(squad.id)
    assert isinstance(client_squad, discord.VoiceChannel)
    assert [m.id for m in client_squad.members] == [alice.id]

    general = guild.default_channel
    assert general is not None
    await fake.delete_channel(general)
    assert bot.get_channel(general.id) is None
    with pytest.raises(discord.NotFound) as deleted:
        await bot.http.send_message(
            general.id, params=discord.http.handle_message_parameters(content="x")
        )
    assert deleted.value.code == 10003

    other = fake.add_guild(name="Other")
    await fake.join_guild(other)
    assert bot.get_guild(other.id) is not None
    await fake.remove_guild(guild)
    assert bot.get_guild(guild.id) is None
    assert ("channel_delete", general.id) in bot.events
    assert ("guild_join", other.id) in bot.events
    assert ("guild_remove", guild.id) in bot.events


async def test_user_messages_and_leak_guard_deletion(
    fake: FakeDiscord, world: tuple[FakeGuild, FakeMember]
) -> None:
    guild, alice = world
    intents = discord.Intents.default()
    intents.message_content = True
    client = FakeTestBot(intents=intents)
    async with fake.run_client(client):
        leaked = await fake.send_user_message(
            alice, "my key is SECRET-123", channel=guild.default_channel
        )
        await fake.wait_until(lambda: leaked.deleted, "the leak guard to delete the message")
        in_dm = await fake.send_user_message(alice, "SECRET in a DM")
        await fake.wait_until(lambda: "delete_error" in client.seen, "the DM deletion attempt")

    assert ("message", "my key is SECRET-123") in client.events
    assert client.seen["delete_error"] == 50003
    assert not in_dm.deleted


async def test_guild_messages_have_no_content_without_the_intent(
    fake: FakeDiscord, world: tuple[FakeGuild, FakeMember], bot: FakeTestBot
) -> None:
    guild, alice = world
    await fake.send_user_message(alice, "hidden", channel=guild.default_channel)
    await fake.send_user_message(alice, "visible in DMs")

    assert ("message", "") in bot.events
    assert ("message", "visible in DMs") in bot.events


async def test_members_intent_chunks_the_guild(
    fake: FakeDiscord, world: tuple[FakeGuild, FakeMember]
) -> None:
    guild, alice = world
    intents = discord.Intents.default()
    intents.members = True
    client = FakeTestBot(intents=intents)
    async with fake.run_client(client):
        client_guild = client.get_guild(guild.id)
        assert client_guild is not None
        assert client_guild.chunked
        assert client_guild.get_member(alice.id) is not None
        found = await client_guild.query_members("ali")
    assert [m.id for m in found] == [alice.id]
    assert any(frame["op"] == 8 and frame["d"]["query"] == "ali" for frame in fake.gateway_received)


async def test_refused_privileged_intents_close_with_4014(
    fake: FakeDiscord, world: tuple[FakeGuild, FakeMember]
) -> None:
    fake.refuse_privileged_intents()
    intents = discord.Intents.default()
    intents.message_content = True
    client = FakeTestBot(intents=intents)

    with pytest.raises(discord.PrivilegedIntentsRequired):
        async with fake.run_client(client):
            pass
    assert client.is_closed()


async def test_dropped_gateway_resumes_and_keeps_working(
    fake: FakeDiscord, world: tuple[FakeGuild, FakeMember], bot: FakeTestBot
) -> None:
    _guild, alice = world
    await fake.drop_gateway()
    await fake.wait_until(
        lambda: fake.resume_count == 1 and fake.connected_gateways == 1, "a RESUME"
    )
    await fake.sync()

    handle = await fake.slash(alice, "ping")

    await handle.wait_final_message()
    assert fake.gateway_paths == ["/gateway-resume"]


async def test_waiting_for_something_that_never_happens_fails_fast(
    fake: FakeDiscord, world: tuple[FakeGuild, FakeMember], bot: FakeTestBot
) -> None:
    _guild, alice = world
    handle = await fake.slash(alice, "ping")
    with pytest.raises(FakeDiscordTimeout, match="follow-up"):
        await handle.wait_followups(timeout=0.2)


async def test_client_shuts_down_cleanly(
    fake: FakeDiscord, world: tuple[FakeGuild, FakeMember]
) -> None:
    before = asyncio.all_tasks()
    client = FakeTestBot()
    async with fake.run_client(client) as task:
        assert client.is_ready()
    await fake.close()
    await asyncio.sleep(0.05)

    assert task.done()
    assert task.exception() is None
    assert client.is_closed()
    leftover = [t for t in asyncio.all_tasks() - before if not t.done()]
    assert leftover == []


async def test_original_response_and_follow_ups_can_be_fetched_edited_and_deleted(
    fake: FakeDiscord, world: tuple[FakeGuild, FakeMember], bot: FakeTestBot
) -> None:
    _guild, alice = world
    done = asyncio.Event()

    @bot.tree.command(name="edits", description="Edits its answers")
    async def edits(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("first")
        original = await interaction.original_response()
        await interaction.edit_original_response(content=original.content + " edited")
        extra = await interaction.followup.send("extra", ephemeral=True, wait=True)
        await extra.edit(content="extra edited")
        await extra.delete()
        done.set()

    await bot.tree.sync()
    handle = await fake.slash(alice, "edits")
    await asyncio.wait_for(done.wait(), 2)

    assert handle.original is not None
    assert handle.original.content == "first edited"
    assert [m.content for m in handle.followups] == ["extra edited"]
    assert handle.followups[0].ephemeral
    assert handle.deleted == handle.followups
    assert len(handle.edits) == 2


async def test_a_deleted_scheduled_post_answers_unknown_message(
    fake: FakeDiscord, world: tuple[FakeGuild, FakeMember], bot: FakeTestBot
) -> None:
    guild, _alice = world
    assert guild.default_channel is not None
    channel = bot.get_channel(guild.default_channel.id)
    assert isinstance(channel, discord.TextChannel)
    post = await channel.send(embed=discord.Embed(title="Scores"))

    await post.edit(embed=discord.Embed(title="Scores 2"))
    await fake.delete_message(fake.messages[post.id])

    with pytest.raises(discord.NotFound) as gone:
        await post.edit(embed=discord.Embed(title="Scores 3"))
    assert gone.value.code == 10008
    assert fake.messages[post.id].history[0]["embeds"][0]["title"] == "Scores"
    assert (fake.messages[post.id].embed or {})["title"] == "Scores 2"


async def test_app_permissions_follow_channel_overwrites(
    fake: FakeDiscord, world: tuple[FakeGuild, FakeMember], bot: FakeTestBot
) -> None:
    guild, alice = world
    general = guild.default_channel
    assert general is not None
    fake.deny_bot_permission(general.id, "embed_links")
    fake.set_overwrite(general, alice, deny="manage_guild")
    seen: dict[str, discord.Permissions] = {}

    @bot.tree.command(name="perms", description="Reports permissions")
    async def perms(interaction: discord.Interaction) -> None:
        seen["app"], seen["user"] = interaction.app_permissions, interaction.permissions
        await interaction.response.send_message("ok")

    await bot.tree.sync()
    await (await fake.slash(alice, "perms")).wait_final_message()

    assert seen["app"].send_messages
    assert not seen["app"].embed_links
    assert not seen["user"].manage_guild


async def test_an_auto_sharded_bot_asks_for_the_gateway_and_connects(
    fake: FakeDiscord, world: tuple[FakeGuild, FakeMember]
) -> None:
    guild, _alice = world
    client = commands.AutoShardedBot(
        command_prefix="!", intents=discord.Intents.default(), guild_ready_timeout=0.05
    )
    async with fake.run_client(client):
        assert client.get_guild(guild.id) is not None
        assert fake.identify_payloads[0]["shard"] == [0, 1]
    assert any(r.path == "/gateway/bot" for r in fake.requests)
