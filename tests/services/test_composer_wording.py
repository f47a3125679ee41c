"""The plan's words in the reader's language (services.composer.wording)."""

from __future__ import annotations

from services.composer import ComposeRequest, RosterPlayer, default_catalogue, optimize
from services.composer.catalogue import parse_catalogue
from services.composer.models import UnmetNeed, UnmetReason
from services.composer.wording import (
    need_label,
    role_label,
    spec_display_names,
    unmet_reason,
)
from services.gw2.game_names import GameNames
from services.gw2.models import Specialization
from services.i18n import Message

CATALOGUE = default_catalogue()
FRENCH = GameNames(
    lang="fr",
    professions={"Guardian": "Gardien", "Necromancer": "Nécromant"},
    specializations={
        62: Specialization(id=62, name="Incendiaire", profession="Guardian", elite=True),
        60: Specialization(id=60, name="Fléau", profession="Necromancer", elite=True),
    },
)


def test_spec_names_come_from_the_api_else_from_the_catalogue() -> None:
    names = spec_display_names(CATALOGUE, FRENCH)
    assert names["firebrand"] == "Incendiaire"
    assert names["guardian"] == "Gardien"
    assert names["scourge"] == "Fléau"
    assert names["virtuoso"] == "Virtuoso"  # not named by the API: English
    assert names["warrior"] == "Warrior"
    assert spec_display_names(CATALOGUE, GameNames(lang="fr"))["firebrand"] == "Firebrand"


def test_shipped_need_and_role_labels_are_translated_overridden_ones_are_not() -> None:
    might = need_label("might", "might")
    assert isinstance(might, Message)
    assert might.render("fr") == "pouvoir"
    assert might.render("de") == "Macht"
    assert might.render("es") == "poder"
    assert need_label("quickness", "quickness").render("de") == "Schnelligkeit"  # type: ignore[union-attr]
    assert need_label("swiftness", "swiftness").render("de") == "Eile"  # type: ignore[union-attr]
    assert role_label("healer", "healer").render("es") == "sanador"  # type: ignore[union-attr]
    assert need_label("might", "Might (25 stacks)") == "Might (25 stacks)"
    assert role_label("tank", "tank") == "tank"


def test_unmet_reasons_are_worded_in_the_readers_language_with_localised_examples() -> None:
    request = ComposeRequest(
        size=2,
        roster=(
            RosterPlayer(name="A", specs=("virtuoso",)),
            RosterPlayer(name="B", specs=("virtuoso",)),
        ),
    )
    plan = optimize(request).plan
    stability = next(u for u in plan.unmet if u.need == "stability")
    names = spec_display_names(CATALOGUE, FRENCH)

    reason = unmet_reason(stability, CATALOGUE, names)

    assert isinstance(reason, Message)
    english = unmet_reason(stability, CATALOGUE, {})
    assert str(english) == stability.reason  # English names: the same line as the plan's
    french = reason.render("fr")
    assert french.startswith("personne dans l'effectif ne peut fournir stabilité (p. ex. ")
    assert "Incendiaire (soutien stabilité)" in french


def test_every_reason_kind_has_a_message_in_both_scopes_where_it_occurs() -> None:
    kinds = {
        "subgroup": ("no_spec", "nobody", "too_few", "traded"),
        "squad": ("no_spec", "nobody", "partial"),
    }
    for scope, scope_kinds in kinds.items():
        for kind in scope_kinds:
            unmet = UnmetNeed(
                scope=scope,  # type: ignore[arg-type]
                subgroup=1 if scope == "subgroup" else None,
                need="might",
                label="might",
                weight=1,
                reason="English",
                why=UnmetReason(kind=kind, able=1, subgroups=2, slots=3, reached=1, target=2),  # type: ignore[arg-type]
            )
            text = unmet_reason(unmet, CATALOGUE, {})
            assert isinstance(text, Message), (scope, kind)
            assert "{" not in text.render("de")


def test_a_plan_without_a_structured_reason_shows_its_english_line() -> None:
    unmet = UnmetNeed(
        scope="squad", subgroup=None, need="cc", label="cc", weight=1, reason="old line"
    )
    assert unmet_reason(unmet, CATALOGUE, {}) == "old line"


def test_a_catalogue_override_without_shipped_labels_still_renders() -> None:
    doc = {
        "subgroup_needs": {"might": {"label": "Macht!"}},
        "squad_needs": {},
        "roles": {"dps": {"label": "dps"}},
        "professions": [
            {
                "key": "guardian",
                "name": "Guardian",
                "specs": [
                    {
                        "key": "guardian",
                        "name": "Guardian",
                        "roles": {"dps": {"subgroup": ["might"]}},
                    }
                ],
            }
        ],
        "modes": {},
    }
    catalogue = parse_catalogue(doc)
    assert spec_display_names(catalogue, FRENCH) == {"guardian": "Gardien"}
    assert need_label("might", catalogue.need_label("might")) == "Macht!"


def test_too_few_players_is_counted_in_each_language_plural_rule() -> None:
    def reason(able: int) -> Message | str:
        unmet = UnmetNeed(
            scope="subgroup",
            subgroup=1,
            need="might",
            label="might",
            weight=1,
            reason="English",
            why=UnmetReason(kind="too_few", able=able, subgroups=3),
        )
        return unmet_reason(unmet, CATALOGUE, {})

    one, two = reason(1), reason(2)
    assert isinstance(one, Message)
    assert isinstance(two, Message)
    assert one.render("en").startswith("only 1 player can provide")
    assert two.render("en").startswith("only 2 players can provide")
    assert one.render("fr").startswith("seul 1 joueur peut fournir")
    assert two.render("fr").startswith("seuls 2 joueurs peuvent fournir")
    assert two.render("de").startswith("nur 2 Spieler können")
