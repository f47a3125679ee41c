"""Spec names in the game's language for ``/compose``, from the GW2 API (``lang=``).

The composer's catalogue names specs in English; for a French, German or Spanish answer the
specs are renamed with ``/v2/specializations`` and ``/v2/professions`` in that language (cached
per language by the GW2 client, see :mod:`services.composer.wording`). Every name the API cannot
give in time stays English.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from services.composer import Catalogue, ComposeResult
from services.composer.models import Plan
from services.composer.wording import spec_display_names
from services.gw2.game_names import game_names

if TYPE_CHECKING:
    from bot.client import GW2Bot

# Seconds the answer may wait for the names (they are cached for a day after the first call).
NAMES_BUDGET_S = 2.0


async def spec_names(bot: GW2Bot, catalogue: Catalogue, locale: str) -> dict[str, str]:
    """Spec key -> its name in ``locale`` (empty for English: the catalogue's names are)."""
    if locale == "en":
        return {}
    names = await game_names(bot.services.gw2, locale, budget=NAMES_BUDGET_S)
    return spec_display_names(catalogue, names)


def with_spec_names(result: ComposeResult, names: Mapping[str, str]) -> ComposeResult:
    """``result`` with every slot's ``spec_name`` taken from ``names`` where it has one."""
    if not names:
        return result
    return result.model_copy(
        update={
            "plan": _renamed(result.plan, names),
            "optimizer_plan": _renamed(result.optimizer_plan, names),
        }
    )


def _renamed(plan: Plan, names: Mapping[str, str]) -> Plan:
    subgroups = tuple(
        group.model_copy(
            update={
                "slots": tuple(
                    slot.model_copy(update={"spec_name": names.get(slot.spec, slot.spec_name)})
                    for slot in group.slots
                )
            }
        )
        for group in plan.subgroups
    )
    return plan.model_copy(update={"subgroups": subgroups})
