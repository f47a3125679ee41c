"""The message catalogues against the code: complete, consistent, nothing unused.

The ids the code uses are read from its source (``tests/catalogue_ids.py``); command, option and
choice names and descriptions are taken from the command tree the bot really syncs to the fake
Discord, so a new command without translations fails here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from services.i18n import LOCALES, NAME_CONTEXT, catalogues, placeholders
from tests.catalogue_ids import ROOT, used_message_ids, used_plural_ids
from tests.fakes.discord import FakeDiscord
from tests.fakes.gw2_api import FakeGW2API
from tests.harness import running_bot

Key = tuple[str, str | None]


async def synced_tree(tmp_path: Path) -> list[dict[str, Any]]:
    async with FakeDiscord() as discord_fake, FakeGW2API() as gw2_fake:
        discord_fake.add_guild(name="Vigil Keep")
        async with running_bot(discord_fake, tmp_path, gw2=gw2_fake):
            pass
        return list(discord_fake.synced_commands)


def tree_message_ids(commands: list[dict[str, Any]]) -> set[Key]:
    """Names (in the command-name context), descriptions and choice labels of the tree."""
    found: set[Key] = set()

    def walk(item: dict[str, Any]) -> None:
        found.add((item["name"], NAME_CONTEXT))
        if item.get("description"):
            found.add((item["description"], None))
        for choice in item.get("choices") or []:
            found.add((choice["name"], None))
        for option in item.get("options") or []:
            walk(option)

    for command in commands:
        walk(command)
    return found


async def test_every_message_the_bot_uses_is_translated_in_every_language(
    tmp_path: Path,
) -> None:
    used: set[Key] = {(message, None) for message in used_message_ids()}
    used |= tree_message_ids(await synced_tree(tmp_path))
    loaded = catalogues()
    problems: list[str] = []
    for locale in LOCALES:
        messages = loaded.messages[locale]
        for message, context in sorted(used, key=lambda k: (k[0], k[1] or "")):
            translated = messages.get((message, context))
            if not translated:
                problems.append(f"{locale}: no translation for {message!r} ({context})")
            elif placeholders(translated) != placeholders(message):
                problems.append(f"{locale}: other placeholders in {translated!r}")
    assert problems == []


async def test_the_catalogues_hold_no_unused_messages(tmp_path: Path) -> None:
    used: set[Key] = {(message, None) for message in used_message_ids()}
    used |= tree_message_ids(await synced_tree(tmp_path))
    for locale in LOCALES:
        unused = set(catalogues().messages[locale]) - used
        assert unused == set(), locale


def test_every_language_has_the_same_message_ids() -> None:
    ids = {locale: set(catalogues().messages[locale]) for locale in LOCALES}
    plural_ids = {locale: set(catalogues().plurals[locale]) for locale in LOCALES}
    for locale in LOCALES:
        assert ids[locale] == ids["en"], locale
        assert plural_ids[locale] == plural_ids["en"], locale


def test_every_counted_message_has_all_its_plural_forms_in_every_language() -> None:
    used = used_plural_ids()
    assert used, "the code counts things: trn/PluralMessage ids were expected"
    loaded = catalogues()
    problems: list[str] = []
    for singular, plural in sorted(used):
        if placeholders(singular) != placeholders(plural):
            problems.append(f"en: singular and plural differ in placeholders: {singular!r}")
        for locale in LOCALES:
            forms = loaded.plurals[locale].get((singular, plural))
            wanted = loaded.rules[locale].forms
            if not forms:
                problems.append(f"{locale}: no plural entry for {plural!r}")
            elif len(forms) != wanted:
                problems.append(f"{locale}: {len(forms)} forms for {plural!r}, {wanted} wanted")
            else:
                problems += [
                    f"{locale}: form {n} of {plural!r} is empty or has other placeholders"
                    for n, form in enumerate(forms)
                    if not form or placeholders(form) != placeholders(plural)
                ]
    assert problems == []


def test_the_catalogues_hold_no_unused_plural_messages() -> None:
    used = set(used_plural_ids())
    for locale in LOCALES:
        assert set(catalogues().plurals[locale]) - used == set(), locale


def test_pybabel_extraction_with_babel_cfg_finds_every_message_the_code_uses() -> None:
    # What `pybabel extract -F babel.cfg` would list: the cfg carries the keywords (tr, trn...).
    with (ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    # (Babel notes on stderr the f-strings it skips: English-only texts such as log lines.)
    extracted = {
        message
        for _, _, message, _, _ in extract_from_dir(str(ROOT), method_map, options_map, keywords={})
    }
    plurals = {message for message in extracted if isinstance(message, tuple)}
    assert plurals == set(used_plural_ids())
    assert set(used_message_ids()) <= extracted


def test_english_messages_are_their_own_ids() -> None:
    for (message, _), translated in catalogues().messages["en"].items():
        assert translated == message


# The French catalogue says "vous" to the reader. "tu" shows as a pronoun or possessive, or as a
# 2nd-person imperative opening a clause ("Relance /compose.", ": réessaie", "ou tape ...");
# third-person verbs ("Le bot utilise", "garde la couverture") have a subject or no clause break.
TU_WORDS = frozenset({"tu", "te", "t", "toi", "ton", "ta", "tes", "tien", "tienne"})
TU_IMPERATIVES = {
    *("lance", "relance", "tape", "utilise", "demande", "indique", "essaie", "réessaie"),
    *("rejoins", "choisis", "mets", "écris", "colle", "recolle", "ajoute", "supprime"),
    *("vérifie", "clique", "crée", "lie", "ouvre", "attends", "fais"),
}
CLAUSE_START = re.compile(r"(?:^|[.!?:;,—]\s+|\b(?:ou|puis|et)\s+)(?=(\w+))", re.IGNORECASE)


def tu_forms(text: str) -> list[str]:
    words = [word.lower() for word in re.findall(r"\w+", text)]
    found = [word for word in words if word in TU_WORDS]
    found += [w for w in CLAUSE_START.findall(text) if w.lower() in TU_IMPERATIVES]
    return found


def test_tu_forms_are_recognised() -> None:
    assert tu_forms("Relance /compose. Lance /compose pour ton plan, ou tape l'effectif.") == [
        "ton",
        "Relance",
        "Lance",
        "tape",
    ]
    assert tu_forms("Réessayez : le bot utilise {account} et garde la couverture.") == []


def test_french_addresses_the_reader_as_vous() -> None:
    loaded = catalogues()
    texts = list(loaded.messages["fr"].values())
    texts += [form for forms in loaded.plurals["fr"].values() for form in forms]
    assert [(text, tu_forms(text)) for text in texts if tu_forms(text)] == []
