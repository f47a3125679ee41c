"""``/roles`` in French and German, end to end through the fake Discord and GW2 API.

Every ``/roles`` answer is private: it speaks the admin's Discord language, with no English
word that has a translation left in it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.cogs.test_roles_e2e import VIGIL, link_alice, roles_world

ENGLISH_WORDS = (
    "Added",
    "syncing",
    "Verified roles",
    "WvW guild is",
    "linked a valid",
    "rules",
    "synced every hour",
    "Preview",
    "nothing was changed",
    "Checked",
    "Synced",
    "roles given",
    "linked member",
    "Nickname suffix",
    "strict mode",
    "Strict mode",
    "Removed",
    "Members keep",
    "can't give or take",
    "already exists",
)
EXPECTED = {
    "fr": {
        "add": "Je synchronise maintenant",
        "show": "Rôles vérifiés sur Vigil Keep",
        "condition": "la guilde McM est",
        "preview": "Aperçu — rien n'a été modifié.",
        "sync": "1 membre lié synchronisé — rôles donnés : ",
        "options": "Suffixe de pseudo : **activé**",
        "remove": "Les membres gardent le rôle",
        "hierarchy": "Je ne peux ni donner ni retirer",
        "duplicate": "Cette règle existe déjà",
    },
    "de": {
        "add": "Ich synchronisiere jetzt",
        "show": "Verifizierte Rollen auf Vigil Keep",
        "condition": "WvW-Gilde ist",
        "preview": "Vorschau — nichts wurde geändert.",
        "sync": "1 verknüpftes Mitglied synchronisiert — Rollen vergeben: ",
        "options": "Spitznamen-Zusatz: **an**",
        "remove": "Die Mitglieder behalten die Rolle",
        "hierarchy": "weder vergeben noch entziehen",
        "duplicate": "Diese Regel gibt es schon",
    },
}


def english_leaks(text: str) -> list[str]:
    return [w for w in ENGLISH_WORDS if re.search(rf"\b{re.escape(w)}\b", text)]


@pytest.mark.parametrize("locale", ["fr", "de"])
async def test_roles_commands_answer_in_the_admins_language(tmp_path: Path, locale: str) -> None:
    async with roles_world(tmp_path) as w:
        await link_alice(w)

        async def ask(command: str, options: dict[str, Any] | None = None) -> str:
            handle = await w.discord.slash(w.admin, command, options, locale=locale)
            message = await handle.wait_final_message()
            assert handle.ephemeral
            return message.all_text()

        answers = {
            "add": await ask(
                "roles add", {"role": w.vigil_role, "condition": "wvw_guild", "value": VIGIL}
            ),
            "duplicate": await ask(
                "roles add", {"role": w.vigil_role, "condition": "wvw_guild", "value": VIGIL}
            ),
            "show": await ask("roles show"),
            "preview": await ask("roles preview"),
            "sync": await ask("roles sync"),
            "options": await ask("roles options", {"nickname_suffix": True}),
            "remove": await ask("roles remove", {"rule": 1}),
            "hierarchy": await ask("roles add", {"role": w.above_role, "condition": "verified"}),
        }
    expected = EXPECTED[locale]
    for name, text in answers.items():
        assert expected[name] in text, (name, text)
        assert english_leaks(text) == [], (name, text)
    assert expected["condition"] in answers["show"]
