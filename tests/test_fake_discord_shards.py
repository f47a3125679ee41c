"""The fake Discord's shards and extension point, driven by a plain discord.py sharded client."""

from __future__ import annotations

import discord
from aiohttp import web

from tests.fakes.discord import ApiError, FakeDiscord, RecordedRequest, json_response

ROLE_PATH = "/guilds/{guild_id}/roles/{role_id}"


class ShardedProbe(discord.AutoShardedClient):
    """Records which shard each guild and each DM arrived on."""

    def __init__(self) -> None:
        intents = discord.Intents.default()
        intents.message_content = True
        super().__init__(intents=intents, guild_ready_timeout=0.05)
        self.dms: list[str] = []

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None  # the fake does not rate-limit identifies; no 5 s waits in a test

    async def on_message(self, message: discord.Message) -> None:
        if message.guild is None:
            self.dms.append(message.content)


async def test_each_shard_receives_only_its_guilds_and_dms_arrive_on_shard_0() -> None:
    async with FakeDiscord(shard_count=3) as fake:
        guilds = fake.add_guilds(9)
        user = fake.add_user("Zoe")
        fake.add_member(guilds[0], user)
        probe = ShardedProbe()
        async with fake.run_client(probe):
            await fake.wait_ready(shard_ids=[0, 1, 2])
            seen = {g.id: g.shard_id for g in probe.guilds}
            await fake.send_user_message(user, "hello")
            await fake.wait_until(lambda: probe.dms, "the DM")
            dm_session = [
                s.shard_id
                for s in fake._sessions.values()
                if any(f.get("t") == "MESSAGE_CREATE" for f in s.buffer)
            ]
    assert probe.shard_count == 3
    assert seen == {g.id: fake.shard_of(g) for g in guilds}
    assert sorted(seen.values()) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert probe.dms == ["hello"]
    assert dm_session == [0]


async def test_an_identify_above_the_per_shard_limit_is_closed_with_4011() -> None:
    async with FakeDiscord(shard_count=1) as fake:
        fake.add_guilds(3)
        fake.max_guilds_per_shard = 2
        probe = ShardedProbe()
        with fake.patched_client_endpoints():
            try:
                await probe.start("fake-token")
            except discord.ConnectionClosed as error:
                code = error.code
            finally:
                await probe.close()
    assert code == 4011


async def test_extra_rest_routes_can_be_registered() -> None:
    async def get_role(record: RecordedRequest, guild_id: str, role_id: str) -> web.Response:
        if role_id == "0":
            raise ApiError(404, 10011, "Unknown Role")
        return json_response(200, {"id": role_id, "guild": guild_id})

    async with FakeDiscord() as fake:
        fake.add_route("GET", r"/guilds/(?P<guild_id>\d+)/roles/(?P<role_id>\d+)", get_role)
        http = discord.http.HTTPClient(discord.utils.MISSING)
        with fake.patched_client_endpoints():
            try:
                await http.static_login("fake-token")
                found = await http.request(
                    discord.http.Route("GET", ROLE_PATH, guild_id=7, role_id=9)
                )
                missing = discord.http.Route("GET", ROLE_PATH, guild_id=7, role_id=0)
                try:
                    await http.request(missing)
                except discord.NotFound as error:
                    status = (error.status, error.code)
            finally:
                await http.close()
    assert found == {"id": "9", "guild": "7"}
    assert status == (404, 10011)
    assert not fake.unknown_routes
