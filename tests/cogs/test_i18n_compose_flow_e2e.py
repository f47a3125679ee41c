"""/compose's notes, errors, AI verdicts and "Post to channel" in the reader's language (fakes).

The plan and every answer to the clicker speak the user's language; the public post's line
("shared by") speaks the server's.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.cogs.test_compose_e2e import KEY_ALICE, world
from tests.cogs.test_i18n_compose_e2e import BRIEFINGS
from tests.fakes.discord import FakeMessage
from tests.fakes.mistral import FakeMistral, MistralReply

ENGLISH_WORDS = (
    "Squad plan",
    "Subgroup",
    "Unmet needs",
    "players",
    "flexible",
    "Flexible",
    "No linked",
    "Live match",
    "unavailable",
    "isn't",
    "shared by",
    "Posted",
    "I can't post",
    "Ask a server admin",
    "rejected",
    "applied",
    "cannot play",
    "Open slot",
    "more notes",
    "Join a voice",
    "Unknown spec",
    "Did you mean",
    "Post to channel",
    "Reroll",
)


def english_leaks(message: FakeMessage) -> list[str]:
    text = message.all_text()
    return [w for w in ENGLISH_WORDS if re.search(rf"\b{re.escape(w)}\b", text)]


async def test_a_voice_roster_in_french_has_french_notes(tmp_path: Path) -> None:
    async with world(tmp_path, voice=True) as w:
        await w.link(w.alice, w.gw2.keys[KEY_ALICE])
        handle = await w.discord.slash(w.alice, "compose", {"roster": "voice"}, locale="fr")
        message = await handle.wait_final_message()
    description = message.embeds[0]["description"]
    assert "• Aucun compte GW2 lié (places libres) : Bob, Carol." in description
    assert english_leaks(message) == []


async def test_a_typed_roster_and_a_team_out_of_any_match_in_french(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        handle = await w.discord.slash(
            w.alice,
            "compose",
            {"roster": "Ann: firebrand; Bob: scrapper; Cid: herald; Dee; Eve", "team": "1001"},
            locale="fr",
        )
        message = await handle.wait_final_message()
    description = message.embeds[0]["description"]
    assert "• Places libres : Dee, Eve." in description
    assert "• Match en direct indisponible : " in description
    assert "ne joue aucun match McM en ce moment" in description
    assert english_leaks(message) == []


async def test_a_typed_roster_in_the_players_game_language(tmp_path: Path) -> None:
    # "Incendiaire" and "Mécatronicien" are the names the French client (and the fake GW2 API's
    # /v2/specializations?lang=fr) gives Firebrand and Scrapper; "Gardien" is Guardian.
    async with world(tmp_path) as w:
        handle = await w.discord.slash(
            w.alice,
            "compose",
            {"roster": "Ann: Incendiaire; Bob: mécatronicien; Cid: Gardien", "size": 5},
            locale="fr",
        )
        message = await handle.wait_final_message()
        typo = await w.discord.slash(w.alice, "compose", {"roster": "Ann: Incendiair"}, locale="fr")
        refused = await typo.wait_final_message()
    text = " ".join(str(e) for e in message.embeds)
    assert "Ann" in text
    assert "Incendiaire" in text
    assert "Mécatronicien" in text
    assert "Firebrand" not in text
    assert "Vouliez-vous dire Incendiaire ?" in refused.content
    assert english_leaks(message) == []


@pytest.mark.parametrize(
    ("roster", "expected"),
    [
        ("voice", "Rejoignez d'abord un salon vocal, ou utilisez effectif: none, ou tapez"),
        (
            "Ann: firebrnd, herald; Bob: scrapper",
            "Spécialisation inconnue « firebrnd » pour Ann. Vouliez-vous dire Firebrand ?",
        ),
        (
            "Ann: herald; ann: scrapper",
            "ann figure deux fois dans l'effectif. Indiquez chaque joueur une seule fois.",
        ),
    ],
)
async def test_roster_errors_speak_french(tmp_path: Path, roster: str, expected: str) -> None:
    async with world(tmp_path) as w:
        handle = await w.discord.slash(w.alice, "compose", {"roster": roster}, locale="fr")
        message = await handle.wait_final_message()
    assert message.ephemeral
    assert message.content.startswith(expected)
    assert english_leaks(message) == []


async def test_roster_autocomplete_speaks_spanish(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        empty = await w.discord.autocomplete(
            w.alice, "compose", {"roster": ""}, focused="roster", locale="es-ES"
        )
        typed = await w.discord.autocomplete(
            w.alice, "compose", {"roster": "Ann: herald"}, focused="roster", locale="es-ES"
        )
        empty_choices = await empty.wait_choices()
        typed_choices = await typed.wait_choices()
    assert [c["name"] for c in empty_choices] == [
        "none: cualquier especialización (plan libre)",
        "voice: los jugadores de tu canal de voz",
    ]
    assert typed_choices == [{"name": "lista: Ann: herald", "value": "Ann: herald"}]


async def test_ai_verdicts_speak_french(tmp_path: Path) -> None:
    advice = {
        "briefing": BRIEFINGS["fr"],
        "proposals": [
            {"kind": "respec", "player": "Player 1", "spec": "virtuoso", "role": "backline_power"}
        ],
    }
    async with FakeMistral() as fake:
        fake.script(MistralReply.ok_json(advice))
        async with world(tmp_path, mistral=fake) as w:
            handle = await w.discord.slash(
                w.alice,
                "compose",
                {"roster": "Ann: firebrand; Bob: scrapper", "size": 5},
                locale="fr",
            )
            message = await handle.wait_final_message()
    fields = {f["name"]: f["value"] for f in message.embeds[0]["fields"]}
    (line,) = fields["Propositions de l'IA"].splitlines()
    assert line.startswith("❌ ")
    assert " — rejetée : " in line
    assert re.search(r"(Ann|Bob) ne peut pas jouer Virtuos", line), line
    assert english_leaks(message) == []


async def test_post_to_channel_in_german(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        assert w.app.bot is not None
        await w.app.bot.services.guild_settings.set_language(w.guild.id, "de")
        handle = await w.discord.slash(w.alice, "compose", {"size": 5}, locale="de")
        message = await handle.wait_final_message()
        click = await w.discord.click(w.alice, message, "compose:post", locale="de")
        answer = await click.wait_final_message()
        (public,) = [m for m in w.discord.messages_in(w.channel) if m.source == "channel"]
    assert answer.ephemeral
    assert answer.content.startswith("Plan für alle gepostet: ")
    assert public.content == f"Truppplan geteilt von <@{w.alice.id}>"
    assert public.embeds == message.embeds
    assert english_leaks(answer) == []
    assert english_leaks(public) == []


async def test_the_public_line_follows_the_server_and_the_answer_the_user(
    tmp_path: Path,
) -> None:
    async with world(tmp_path) as w:
        assert w.app.bot is not None
        await w.app.bot.services.guild_settings.set_language(w.guild.id, "de")
        handle = await w.discord.slash(w.alice, "compose", {"size": 5}, locale="fr")
        message = await handle.wait_final_message()
        click = await w.discord.click(w.alice, message, "compose:post", locale="fr")
        answer = await click.wait_final_message()
        (public,) = [m for m in w.discord.messages_in(w.channel) if m.source == "channel"]
    assert answer.content.startswith("Plan publié pour tout le monde : ")
    assert public.content == f"Truppplan geteilt von <@{w.alice.id}>"


async def test_post_without_permission_explains_in_german(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        handle = await w.discord.slash(w.alice, "compose", {"size": 5}, locale="de")
        message = await handle.wait_final_message()
        w.discord.deny_bot_permission(w.channel, "send_messages")
        click = await w.discord.click(w.alice, message, "compose:post", locale="de")
        answer = await click.wait_final_message()
        posted = [m for m in w.discord.messages_in(w.channel) if m.source == "channel"]
    assert posted == []
    assert answer.ephemeral
    assert answer.content == (
        "Ich kann in diesem Kanal nicht posten: Ich brauche hier die Berechtigung Nachrichten "
        "senden. Frag einen Server-Admin oder führe /compose in einem Kanal aus, in dem ich "
        "posten kann."
    )
    assert english_leaks(answer) == []
