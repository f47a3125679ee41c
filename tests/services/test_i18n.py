"""services.i18n: locale resolution, the translation function, fallbacks and Babel formatting."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from services.i18n import (
    LOCALES,
    Catalogues,
    PluralMessage,
    PluralRule,
    catalogues,
    format_compact_duration,
    format_number,
    resolve_locale,
    server_language,
    stored_language,
    tr,
    tr_name,
    trn,
)


@pytest.mark.parametrize(
    ("discord_locale", "ours"),
    [
        ("fr", "fr"),
        ("de", "de"),
        ("es-ES", "es"),
        ("es-419", "es"),
        ("en-US", "en"),
        ("en-GB", "en"),
        ("pt-BR", "en"),
        ("ja", "en"),
        ("", "en"),
        (None, "en"),
        ("not a locale at all", "en"),
    ],
)
def test_discord_locales_resolve_to_a_language_we_speak_or_english(
    discord_locale: str | None, ours: str
) -> None:
    assert resolve_locale(discord_locale) == ours


def test_a_message_is_translated_with_its_named_placeholders() -> None:
    message = "Public answers and scheduled posts in this server are now in {language}."
    assert tr("fr", message, language="Français") == (
        "Les réponses publiques et messages programmés de ce serveur sont désormais en Français."
    )
    assert "Deutsch" in tr("de", message, language="Deutsch")
    assert tr("en", message, language="English").endswith("now in English.")


def test_an_unknown_locale_is_english_silently() -> None:
    message = "Everything configured for this server."
    before = sum(catalogues().missing.values())
    assert tr("pt-BR", message) == message
    assert tr("klingon", message) == message
    assert sum(catalogues().missing.values()) == before


def test_a_missing_translation_falls_back_to_english_and_is_counted(tmp_path: Path) -> None:
    po = tmp_path / "fr" / "LC_MESSAGES" / "gw2optimizer.po"
    po.parent.mkdir(parents=True)
    po.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
        'msgid "Hello {name}"\nmsgstr "Bonjour {nom}"\n\n'
        'msgid "Empty"\nmsgstr ""\n\n'
        'msgid "Fine"\nmsgstr "Bien"\n',
        encoding="utf-8",
    )
    local = Catalogues(tmp_path)
    assert local.translate("fr", "Fine", context=None) == "Bien"
    # Wrong placeholders, empty translation, unknown id: English, counted, never an exception.
    assert local.translate("fr", "Hello {name}", context=None) == "Hello {name}"
    assert local.translate("fr", "Empty", context=None) == "Empty"
    assert local.translate("fr", "Never written", context=None) == "Never written"
    # German has no catalogue in that directory at all: English too.
    assert local.translate("de", "Fine", context=None) == "Fine"
    assert local.missing == {"fr": 3, "de": 1}


def test_command_names_have_their_own_context() -> None:
    assert tr_name("fr", "settings") == "paramètres"
    assert tr_name("de", "language") == "sprache"
    assert tr_name("es", "objectives") == "objetivos"


def test_every_language_has_a_catalogue_in_the_package() -> None:
    loaded = catalogues()
    for locale in LOCALES:
        assert loaded.messages[locale], locale


def test_the_server_language_follows_its_discord_locale_until_chosen() -> None:
    # Never set: the column's default "en" means "follow the server".
    assert server_language("en", "fr") == "fr"
    assert server_language("en", "es-419") == "es"
    assert server_language("en", "ja") == "en"
    # Chosen: it sticks, English included.
    assert server_language(stored_language("de"), "fr") == "de"
    assert server_language(stored_language("en"), "fr") == "en"
    assert server_language(stored_language("auto"), "de") == "de"


def test_numbers_and_durations_use_the_locale() -> None:
    assert format_number("en", 12345) == "12,345"
    assert format_number("de", 12345) == "12.345"
    assert format_number("fr", 12345).replace("\u202f", " ") == "12 345"
    assert format_number("de", 1.5, decimals=2) == "1,50"
    assert format_compact_duration("en", timedelta(hours=1, minutes=5)) == "1h 05m"
    assert format_compact_duration("de", timedelta(hours=1, minutes=5)) == "1h 5 Min."
    assert format_compact_duration("fr", timedelta(days=2, hours=3)) == "2j 3h"


def test_missing_translations_are_exported_as_a_metric() -> None:
    from prometheus_client import CollectorRegistry

    from bot.metrics import BotMetrics

    registry = CollectorRegistry()
    BotMetrics(registry)
    before = registry.get_sample_value("gw2opt_translations_missing_total", {"locale": "de"})
    assert before is not None
    assert tr("de-DE", "A sentence nobody translated.") == "A sentence nobody translated."
    after = registry.get_sample_value("gw2opt_translations_missing_total", {"locale": "de"})
    assert after == before + 1


@pytest.mark.parametrize(
    ("locale", "singular", "plural"),
    [
        ("fr", (0, 1), (2, 3, 21, 1_000_000)),
        ("en", (1,), (0, 2, 21)),
        ("de", (1,), (0, 2, 21)),
        ("es", (1,), (0, 2, 21, 1_000_000)),
    ],
)
def test_each_language_has_its_plural_rule(
    locale: str, singular: tuple[int, ...], plural: tuple[int, ...]
) -> None:
    rule = catalogues().rules[locale]
    assert rule.forms == 2
    assert [rule.form(n) for n in singular] == [0] * len(singular)
    assert [rule.form(n) for n in plural] == [1] * len(plural)


def test_a_counted_message_takes_the_form_of_its_count_in_each_language() -> None:
    singular, plural = "{count} nickname updated.", "{count} nicknames updated."
    assert trn("fr", singular, plural, 0) == "0 pseudo mis à jour."
    assert trn("fr", singular, plural, 1) == "1 pseudo mis à jour."
    assert trn("fr", singular, plural, 2) == "2 pseudos mis à jour."
    assert trn("en", singular, plural, 0) == "0 nicknames updated."
    assert trn("en", singular, plural, 1) == "1 nickname updated."
    assert trn("de", singular, plural, 0) == "0 Spitznamen aktualisiert."
    assert trn("de-DE", singular, plural, 1) == "1 Spitzname aktualisiert."
    assert trn("es-419", singular, plural, 1) == "1 apodo actualizado."
    assert trn("es", singular, plural, 3) == "3 apodos actualizados."


def test_a_plural_message_renders_later_in_the_readers_language() -> None:
    message = PluralMessage("{count} nickname updated.", "{count} nicknames updated.", 1)
    assert message.render("fr") == "1 pseudo mis à jour."
    assert str(message) == "1 nickname updated."
    # As a parameter of another message, it is rendered in that message's language.
    assert tr("de", "{count} (this server: {shard})", count=message, shard=2) == (
        "1 Spitzname aktualisiert. (dieser Server: 2)"
    )


def test_a_missing_plural_translation_falls_back_to_english_rules_and_is_counted(
    tmp_path: Path,
) -> None:
    po = tmp_path / "fr" / "LC_MESSAGES" / "gw2optimizer.po"
    po.parent.mkdir(parents=True)
    po.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n'
        '"Plural-Forms: nplurals=2; plural=(n > 1);\\n"\n\n'
        'msgid "{count} day"\nmsgid_plural "{count} days"\n'
        'msgstr[0] "{count} jour"\nmsgstr[1] "{count} jours"\n\n'
        'msgid "{count} hour"\nmsgid_plural "{count} hours"\n'
        'msgstr[0] "{count} heure"\nmsgstr[1] ""\n\n'
        'msgid "{count} week"\nmsgid_plural "{count} weeks"\n'
        'msgstr[0] "{n} semaine"\nmsgstr[1] "{n} semaines"\n',
        encoding="utf-8",
    )
    local = Catalogues(tmp_path)
    assert local.rules["fr"] == PluralRule("(n > 1)", 2)
    assert local.translate_plural("fr", "{count} day", "{count} days", 0) == "{count} jour"
    assert local.translate_plural("fr", "{count} day", "{count} days", 5) == "{count} jours"
    assert local.missing == {}
    # An empty form, other placeholders, an unknown id: English with English rules, counted.
    assert local.translate_plural("fr", "{count} hour", "{count} hours", 0) == "{count} hours"
    assert local.translate_plural("fr", "{count} week", "{count} weeks", 1) == "{count} week"
    assert local.translate_plural("fr", "{count} year", "{count} years", 2) == "{count} years"
    # German has no catalogue there: English rules, counted too.
    assert local.rules["de"] == PluralRule()
    assert local.translate_plural("de", "{count} day", "{count} days", 1) == "{count} day"
    assert local.missing == {"fr": 3, "de": 1}


def test_lists_are_joined_the_readers_way() -> None:
    from services.i18n import ListOf, Message

    teams = ListOf(["A", "B", Message("Red")], style="or")
    assert teams.render("en") == "A, B, or Red"
    assert teams.render("fr") == "A, B ou Rouge"
    assert teams.render("de") == "A, B oder Rot"
    assert ListOf(["A", "B"], style="and").render("es") == "A y B"
    assert ListOf([], style="or").render("fr") == ""


def test_a_comma_list_is_the_same_in_every_language() -> None:
    from services.i18n import ListOf, Message

    examples = ListOf(["A", Message("Red")], style="comma")
    assert examples.render("en") == "A, Red"
    assert examples.render("de") == "A, Rot"
