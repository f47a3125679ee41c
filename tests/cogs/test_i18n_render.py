"""The pure WvW renderers in German and French: golden text, Babel numbers, English untouched."""

from __future__ import annotations

from cogs.wvw_render import render_match
from tests.cogs.test_wvw_render import FETCHED_AT, GOLDEN_OVERVIEW, NOW, summary


def test_golden_overview_in_german() -> None:
    embed = render_match(
        summary(), fetched_at=FETCHED_AT, stale=False, now=NOW, focus_team_id=12002, locale="de"
    ).to_dict()
    assert embed["title"] == "WvW EU Stufe 3"
    assert embed["fields"][0]["value"] == (
        "**131** SP\nPunkte 41.877\nGefecht 1.043\nPPT 46\n"
        "K/T 5.230/3.890 (1,34)\nHält 1 Schloss · 1 Feste · 1 Turm · 1 Lager"
    )
    assert embed["description"] == (
        "Gefecht 14/84 · endet <t:1795298400:R>\n"
        "Neustart <t:1795802280:R> (<t:1795802280:f>)\n"
        "Daten von <t:1795295655:T> (<t:1795295655:R>)"
    )
    assert embed["footer"]["text"] == "Match 2-3 · Daten von"


def test_golden_overview_in_french_uses_french_numbers() -> None:
    embed = render_match(
        summary(), fetched_at=FETCHED_AT, stale=False, now=NOW, focus_team_id=12002, locale="fr"
    ).to_dict()
    assert embed["title"] == "McM EU Niveau 3"
    value = embed["fields"][0]["value"].replace("\u202f", " ")
    assert value == (
        "**131** PV\nScore 41 877\nEscarmouche 1 043\nPPT 46\n"
        "É/M 5 230/3 890 (1,34)\nDétient 1 Château · 1 Fort · 1 Tour · 1 Camp"
    )


def test_english_is_byte_identical_to_the_golden() -> None:
    explicit = render_match(
        summary(), fetched_at=FETCHED_AT, stale=False, now=NOW, focus_team_id=12002, locale="en"
    ).to_dict()
    assert explicit == GOLDEN_OVERVIEW
