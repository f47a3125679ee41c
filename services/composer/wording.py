"""The words of a plan in the reader's language: spec, boon, role and "unmet" texts.

The optimizer, the scoring and the Mistral prompt work with the catalogue's keys and English
names; what a player reads is chosen here and translated where it is shown (``tr``):

- spec names come from the GW2 API in the reader's language (:mod:`services.gw2.game_names`):
  elite specs by specialization id, core professions by profession; the catalogue's English name
  is the fallback;
- boon (need) and role labels of the shipped catalogue are message ids (GW2's own vocabulary in
  each language); a label a catalogue override changed is shown as written;
- an unmet need's reason is a message chosen by its :class:`UnmetReason`.
"""

from __future__ import annotations

from collections.abc import Mapping

from services.composer.catalogue import Catalogue
from services.composer.models import UnmetNeed
from services.gw2.game_names import GameNames
from services.i18n import N_, ListOf, Message, PluralMessage

__all__ = [
    "NEED_LABELS",
    "ROLE_LABELS",
    "need_label",
    "option_label",
    "role_label",
    "spec_display_names",
    "unmet_reason",
]

# Need key -> the shipped catalogue's label, as a message id.
NEED_LABELS: Mapping[str, str] = {
    "stability": N_("stability"),
    "aegis": N_("aegis"),
    "protection": N_("protection"),
    "resistance": N_("resistance"),
    "resolution": N_("resolution"),
    "quickness": N_("quickness"),
    "alacrity": N_("alacrity"),
    "might": N_("might"),
    "fury": N_("fury"),
    "vigor": N_("vigor"),
    "regeneration": N_("regeneration"),
    "superspeed": N_("superspeed"),
    "swiftness": N_("swiftness"),
    "healing": N_("healing"),
    "barrier": N_("barrier"),
    "cleanse": N_("cleanse"),
    "strips": N_("boon strips"),
    "cc": N_("crowd control"),
    "reflects": N_("projectile defence"),
    "frontline_power": N_("frontline power damage"),
    "backline_power": N_("backline ranged damage"),
    "condition_pressure": N_("condition pressure"),
}

# Role key -> the shipped catalogue's label, as a message id.
ROLE_LABELS: Mapping[str, str] = {
    "stab_support": N_("stab support"),
    "healer": N_("healer"),
    "boon_support": N_("boon support"),
    "strip": N_("strip"),
    "frontline_power": N_("frontline power"),
    "backline_power": N_("backline power"),
    "condition": N_("condition"),
}

# (scope, reason kind) -> the reason's message; ``{need}`` is the need's label.
_REASONS: Mapping[tuple[str, str], str] = {
    ("subgroup", "no_spec"): N_("no spec in the catalogue provides {need}"),
    ("subgroup", "nobody"): N_("nobody in the roster can provide {need} (e.g. {examples})"),
    ("subgroup", "traded"): N_(
        "traded for higher-weight needs ({slots} slots cannot cover everything)"
    ),
    ("squad", "no_spec"): N_("no spec in the catalogue brings {need}"),
    ("squad", "nobody"): N_("nobody in the roster can bring {need} (e.g. {examples})"),
    ("squad", "partial"): N_("{reached}/{target} reached: the slots went to higher-weight needs"),
}


def need_label(need: str, label: str) -> Message | str:
    """The need's label to show: a message for a shipped label, else ``label`` as written."""
    message = NEED_LABELS.get(need)
    return Message(message) if message == label else label


def role_label(role: str, label: str) -> Message | str:
    """The role's label to show: a message for a shipped label, else ``label`` as written."""
    message = ROLE_LABELS.get(role)
    return Message(message) if message == label else label


def spec_display_names(catalogue: Catalogue, names: GameNames) -> dict[str, str]:
    """Spec key -> the name to show: the API's name in ``names.lang``, else the catalogue's.

    Elite specs are looked up by specialization id, core professions by profession name.
    """
    shown: dict[str, str] = {}
    for key, spec in catalogue.specs.items():
        if spec.specialization_id is not None:
            shown[key] = names.specialization(spec.specialization_id, spec.name)
        else:
            shown[key] = names.professions.get(spec.profession_name) or spec.name
    return shown


def unmet_reason(
    unmet: UnmetNeed, catalogue: Catalogue, spec_names: Mapping[str, str]
) -> Message | str:
    """Why ``unmet`` is unmet, as a message (``reason`` as is for a plan without ``why``).

    Examples (``nobody``) are shown as ``Spec (role)`` with ``spec_names`` (key -> shown name).
    """
    why = unmet.why
    if why is not None and unmet.scope == "subgroup" and why.kind == "too_few":
        return PluralMessage(
            "only {count} player can provide {need} for {subgroups} subgroups",
            "only {count} players can provide {need} for {subgroups} subgroups",
            why.able,
            need=need_label(unmet.need, unmet.label),
            subgroups=why.subgroups,
        )
    message = _REASONS.get((unmet.scope, why.kind)) if why is not None else None
    if why is None or message is None:
        return unmet.reason
    examples = [_option_label(key, catalogue, spec_names) for key in why.examples]
    return Message(
        message,
        need=need_label(unmet.need, unmet.label),
        examples=ListOf(examples, style="comma"),
        able=why.able,
        subgroups=why.subgroups,
        slots=why.slots,
        reached=why.reached,
        target=why.target,
    )


def option_label(
    spec_key: str, role: str, catalogue: Catalogue, spec_names: Mapping[str, str]
) -> _OptionLabel:
    """``Spec (role)`` for a spec key and a role key, shown in the reader's language."""
    spec = catalogue.specs.get(spec_key)
    fallback = spec.name if spec is not None else spec_key
    return _OptionLabel(
        spec_names.get(spec_key, fallback), role_label(role, catalogue.roles.get(role, role))
    )


def _option_label(
    option_key: str, catalogue: Catalogue, spec_names: Mapping[str, str]
) -> _OptionLabel:
    spec_key, _, role = option_key.partition(":")
    return option_label(spec_key, role, catalogue, spec_names)


class _OptionLabel(Message):
    """``Firebrand (stab support)``: a spec name and a translated role label."""

    __slots__ = ("role", "spec")

    def __init__(self, spec: str, role: Message | str) -> None:
        super().__init__("")
        self.spec = spec
        self.role = role

    def render(self, locale: str) -> str:
        role = self.role.render(locale) if isinstance(self.role, Message) else self.role
        return f"{self.spec} ({role})" if role else self.spec
