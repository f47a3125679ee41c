"""The words of a ``/compose`` answer in the reader's language (pure: values in, text out).

Spec, boon (need) and role names, unmet reasons, AI proposal lines and why each was applied or
rejected, the live-match line, the "AI unavailable" note, the roster notes (capped) and the
"cannot post here" answer. The choice of words lives in :mod:`services.composer.wording`; this
module renders them for one locale.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import discord

from bot.errors import permission_names
from cogs.common.formatting import COLOUR_NAMES, MAP_NAMES
from services.composer import Catalogue, ComposeResult, MatchContext, Plan
from services.composer.answer import AI_UNAVAILABLE_REASONS, VERDICT_REASONS, ProposalVerdict
from services.composer.models import UnmetNeed
from services.composer.prompt import pseudonyms
from services.composer.wording import need_label, option_label, role_label, unmet_reason
from services.i18n import N_, Message, PluralMessage, tr

__all__ = [
    "MAX_NOTES",
    "PlanWords",
    "ai_note",
    "cannot_post",
    "cap_notes",
    "clip",
    "escape",
    "match_line",
    "verdict_lines",
]

MAX_NOTES = 6


@dataclass(frozen=True, slots=True)
class PlanWords:
    """The plan's words in the reader's language: need, role and spec names, unmet reasons."""

    catalogue: Catalogue
    locale: str
    spec_names: Mapping[str, str]

    def need(self, need: str, label: str) -> str:
        return _shown(need_label(need, label), self.locale)

    def role(self, role: str, label: str) -> str:
        return _shown(role_label(role, label), self.locale)

    def reason(self, unmet: UnmetNeed) -> str:
        return _shown(unmet_reason(unmet, self.catalogue, self.spec_names), self.locale)

    def option(self, spec: str, role: str) -> str:
        return option_label(spec, role, self.catalogue, self.spec_names).render(self.locale)

    def spec(self, key: str) -> str:
        """A catalogue spec's name in the reader's language (the key when unknown)."""
        if key in self.spec_names:
            return self.spec_names[key]
        spec = self.catalogue.resolve_spec(key)
        return spec.name if spec is not None else key


def _shown(text: Message | str, locale: str) -> str:
    return text.render(locale) if isinstance(text, Message) else text


def match_line(match: MatchContext, locale: str = "en") -> str | None:
    """``Live match: you are 2nd (Green, 245 PPT) · Red leads · skirmish ends in 40 min``."""
    if not match.teams:
        return None
    ranked = sorted(match.teams, key=lambda t: (-t.victory_points, -t.score, t.colour))
    parts: list[str] = []
    ours = next((t for t in ranked if t.colour == match.our_colour), None)
    leader = ranked[0]
    if ours is not None:
        place = ranked.index(ours) + 1
        parts.append(
            tr(
                locale,
                PLACES.get(place, "{team} is #{place} ({colour}, {ppt} PPT)"),
                team=ours.name,
                place=place,
                colour=tr(locale, COLOUR_NAMES[ours.colour]),
                ppt=ours.ppt,
            )
        )
    if ours is None or leader is not ours:
        parts.append(
            tr(
                locale,
                "{team} ({colour}) leads",
                team=leader.name,
                colour=tr(locale, COLOUR_NAMES[leader.colour]),
            )
        )
    contested = sorted(
        (m for m in match.maps if m.contested_objectives),
        key=lambda m: (-m.contested_objectives, m.name),
    )
    if contested:
        maps = ", ".join(_map_name(m.name, locale) for m in contested[:2])
        parts.append(tr(locale, "fights on {maps}", maps=maps))
    if match.skirmish_ends_in_minutes is not None:
        parts.append(
            tr(
                locale,
                "skirmish ends in {minutes} min",
                minutes=match.skirmish_ends_in_minutes,
            )
        )
    return tr(locale, "Live match: {parts}", parts=" · ".join(parts))


def _map_name(name: str, locale: str) -> str:
    """A map of the AI's match context (named in English, as the prompt has it) for the reader."""
    return tr(locale, name) if name in _ENGLISH_MAP_NAMES else name


_ENGLISH_MAP_NAMES = frozenset(MAP_NAMES.values())

PLACES = {
    1: N_("{team} is 1st ({colour}, {ppt} PPT)"),
    2: N_("{team} is 2nd ({colour}, {ppt} PPT)"),
    3: N_("{team} is 3rd ({colour}, {ppt} PPT)"),
}


def ai_note(note: str, locale: str) -> str:
    """An "AI unavailable: <reason>" note in ``locale`` (other notes as they are)."""
    for reason in AI_UNAVAILABLE_REASONS.values():
        if note == f"AI unavailable: {reason}":
            return tr(locale, "AI unavailable: {reason}", reason=tr(locale, reason))
    return note


def verdict_lines(result: ComposeResult, words: PlanWords, limit: int) -> list[str]:
    """One line per AI proposal: the change, applied or rejected, and why."""
    locale = words.locale
    names = _display_names(result.optimizer_plan, locale)
    lines = []
    for verdict in result.ai.verdicts:
        change = _describe_proposal(verdict, names, words)
        reason = _verdict_reason(verdict, names, words)
        if verdict.accepted:
            line = tr(locale, "✅ {change} — applied: {reason}", change=change, reason=reason)
        else:
            line = tr(locale, "❌ {change} — rejected: {reason}", change=change, reason=reason)
        lines.append(clip(line, limit))
    return lines


def _verdict_reason(verdict: ProposalVerdict, names: Mapping[str, str], words: PlanWords) -> str:
    """Why the optimizer applied or rejected a proposal, in the reader's language."""
    details: dict[str, object] = {}
    for key, value in verdict.details.items():
        if isinstance(value, int):
            details[key] = value
        elif key in ("player", "other"):
            details[key] = names.get(value, escape(value))
        elif key == "spec":
            details[key] = words.spec(value)
        elif key == "need":
            details[key] = words.need(value, words.catalogue.need_label(value))
        else:  # the model's own words (a slot, spec or role it made up)
            details[key] = escape(value)
    return tr(words.locale, VERDICT_REASONS[verdict.code], **details)


def _display_names(plan: Plan, locale: str) -> dict[str, str]:
    """The prompt's pseudonyms (``Player 3``) → the names the commander knows."""
    out: dict[str, str] = {}
    open_no = 0
    for label, (gi, si) in pseudonyms(plan).items():
        slot = plan.subgroups[gi].slots[si]
        if slot.player:
            out[label] = escape(slot.player)
        else:  # open slots are numbered in plan order, as in the prompt
            open_no += 1
            out[label] = tr(
                locale, "Open slot {number} ({spec})", number=open_no, spec=slot.spec_name
            )
    return out


def _describe_proposal(verdict: ProposalVerdict, names: Mapping[str, str], words: PlanWords) -> str:
    proposal = verdict.proposal
    who = names.get(proposal.player, proposal.player)
    if proposal.kind == "swap":
        other = proposal.other_player or "?"
        return tr(
            words.locale, "swap {player} ↔ {other}", player=who, other=names.get(other, other)
        )
    spec = words.catalogue.resolve_spec(proposal.spec or "")
    if spec is None:
        return f"{who} → {proposal.spec or '?'}"
    return f"{who} → {words.option(spec.key, proposal.role or '')}"


def escape(text: str) -> str:
    """Player-chosen names and notes shown as typed, never as Discord markdown."""
    return discord.utils.escape_markdown(text)


def clip(text: str, limit: int) -> str:
    """At most ``limit`` characters, ending with ``…`` when cut."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)].rstrip() + "…"


def cap_notes(notes: Sequence[Message]) -> tuple[Message, ...]:
    """At most :data:`MAX_NOTES` roster notes, the last saying how many more there were."""
    if len(notes) <= MAX_NOTES:
        return tuple(notes)
    more = len(notes) - MAX_NOTES + 1
    tail = PluralMessage("… and {count} more note", "… and {count} more notes", more)
    return (*notes[: MAX_NOTES - 1], tail)


def cannot_post(missing: Sequence[str], locale: str) -> str:
    """Why the plan cannot be posted in this channel (the bot's missing permissions)."""
    return tr(
        locale,
        "I can't post in this channel: I need the {permissions} permission here. Ask a server "
        "admin, or run /compose in a channel where I can post.",
        permissions=permission_names(list(missing), locale),
    )
