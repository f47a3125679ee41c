"""Elite-spec names in the game's language for ``/compose``, from the GW2 API (``lang=``).

The composer's catalogue names specs in English; for a French, German or Spanish answer the
elite specs are renamed with ``/v2/specializations?lang=`` (cached per language by the GW2
client). Core professions, and every name when the API cannot answer in time, stay English.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from services.composer import Catalogue, ComposeResult
from services.composer.models import Plan
from services.gw2 import GW2APIError

if TYPE_CHECKING:
    from bot.client import GW2Bot

log = logging.getLogger(__name__)

# Seconds the answer may wait for the names (they are cached for a day after the first call).
NAMES_BUDGET_S = 2.0


async def spec_names(bot: GW2Bot, catalogue: Catalogue, locale: str) -> dict[str, str]:
    """Spec key -> its name in ``locale`` (elite specs the API named; empty for English)."""
    if locale == "en":
        return {}
    by_id = {s.specialization_id: key for key, s in catalogue.specs.items() if s.specialization_id}
    try:
        fetched = await bot.services.gw2.specializations(by_id, lang=locale, budget=NAMES_BUDGET_S)
    except GW2APIError as error:
        log.info("Spec names in %s unavailable (%s): English names", locale, error.outcome)
        return {}
    return {by_id[s.id]: s.name for s in fetched.value if s.id in by_id and s.name}


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
