"""Counted answers through the fake Discord: French says "0 compte", "1 compte", "2 comptes"."""

from __future__ import annotations

from pathlib import Path

from tests.bot.test_redaction import make_gw2_key
from tests.cogs.test_account_flow import account_world, paste_in_dm
from tests.fakes.discord import FakeMember


async def test_key_remove_all_counts_the_forgotten_accounts_in_french(tmp_path: Path) -> None:
    async with account_world(tmp_path) as world:
        discord_fake = world.discord
        bob = discord_fake.add_member(world.guild, discord_fake.add_user("Bob"))
        carol = discord_fake.add_member(world.guild, discord_fake.add_user("Carol"))
        for user, accounts in (
            (world.alice.user, ("Main.1111", "Alt.2222")),
            (bob.user, ("Bob.3333",)),
        ):
            for account in accounts:
                key = make_gw2_key()
                world.gw2.add_key(key, account_name=account)
                await paste_in_dm(world, user, key)

        async def forget(member: FakeMember) -> str:
            handle = await discord_fake.slash(member, "key remove", {"all": True}, locale="fr")
            message = await handle.wait_final_message()
            assert handle.ephemeral
            return message.content

        two, one, none = await forget(world.alice), await forget(bob), await forget(carol)

    assert two == (
        "C'est fait : je vous ai oublié. 2 comptes liés et tout ce qui en était en cache sont "
        "supprimés."
    )
    # French counts 0 and 1 as singular.
    assert "oublié. 1 compte lié et tout" in one
    assert "oublié. 0 compte lié et tout" in none
