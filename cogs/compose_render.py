"""Pure renderers for ``/compose``: a :class:`ComposeResult` in, a list of ``discord.Embed`` out.

Layout: a summary embed (AI briefing or "AI unavailable: …", live match line, roster notes,
squad-wide coverage, unmet needs with reasons, AI proposals with one line each, bench, how the
optimizer solved it) followed by the subgroups. Up to 9 subgroups get one embed each; 10
subgroups (46–50 players) are packed five to an embed as fields, so a message never has more
than 10 embeds. If the text would pass Discord's 6000-character total, the coverage detail is
shortened step by step (providers first, then AI notes and covered lists), never the slots.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum

import discord

from cogs.common.formatting import ARENANET_RED
from cogs.compose_words import PlanWords, ai_note, clip, escape, match_line, verdict_lines
from services.composer import Catalogue, ComposeResult, MatchContext, Plan, SubgroupPlan
from services.i18n import Message, format_number, tr, trn

__all__ = [
    "MAX_EMBEDS",
    "TOTAL_CHAR_BUDGET",
    "Detail",
    "embeds_length",
    "match_line",
    "render_plan",
]

MAX_EMBEDS = 10
# Discord allows 6000 characters over all embeds of a message; keep a margin for the footer.
TOTAL_CHAR_BUDGET = 5900
FIELD_LIMIT = 1024
DESCRIPTION_LIMIT = 4096
TITLE_LIMIT = 256
PER_EMBED_SUBGROUPS = 5
MINIMAL_NAME_LENGTH = 24
# A need at least this heavy (zerg: stability, healing, cleanse, quickness, alacrity) turns a
# subgroup's colour red when missing; lighter misses are amber.
MAJOR_NEED_WEIGHT = 5

COLOUR_COMPLETE = discord.Colour(0x4CAF50)
COLOUR_MINOR_GAPS = discord.Colour(0xF2A93B)
COLOUR_MAJOR_GAPS = discord.Colour(0xD9413C)
COLOUR_SUMMARY = ARENANET_RED


class Detail(IntEnum):
    """How much coverage detail fits: tried in order until the message is short enough."""

    FULL = 0  # covered needs with the slots providing them, AI notes per subgroup
    COMPACT = 1  # covered needs without providers, AI notes
    MINIMAL = 2  # slots (names shortened) and missing needs only


@dataclass(frozen=True, slots=True)
class _Block:
    title: str
    body: str
    colour: discord.Colour


def render_plan(
    result: ComposeResult,
    *,
    catalogue: Catalogue,
    alternative: int = 0,
    notes: Sequence[Message] = (),
    match: MatchContext | None = None,
    locale: str = "en",
    spec_names: Mapping[str, str] | None = None,
) -> list[discord.Embed]:
    """Every embed of a ``/compose`` answer: the summary first, then the subgroups.

    ``alternative`` counts rerolls (0 = the best plan). ``notes`` are short lines about the roster
    (flexible slots, members whose characters could not be read), shown in ``locale``.
    ``spec_names`` (spec key -> name in ``locale``) names specs the slots don't show (examples,
    AI proposals); slots show their own ``spec_name``.
    """
    words = PlanWords(catalogue, locale, spec_names or {})
    embeds: list[discord.Embed] = []
    for detail in Detail:
        summary = _summary(result, words, alternative, notes, match, detail)
        embeds = [summary, *_subgroup_embeds(result, detail, words)]
        if embeds_length(embeds) <= TOTAL_CHAR_BUDGET:
            return embeds
    return _squeeze(embeds)


def embeds_length(embeds: Sequence[discord.Embed]) -> int:
    """Characters Discord counts towards its 6000 limit (titles, texts, fields, footers)."""
    return sum(len(e) for e in embeds)


# --------------------------------------------------------------------------------- summary


def _summary(
    result: ComposeResult,
    words: PlanWords,
    alternative: int,
    notes: Sequence[Message],
    match: MatchContext | None,
    detail: Detail,
) -> discord.Embed:
    plan = result.plan
    locale = words.locale
    mode = words.catalogue.mode(plan.mode)
    mode_label = tr(locale, mode.label) if mode is not None else plan.mode.title()
    if alternative:
        title = tr(
            locale,
            "Squad plan · {mode} · {size} players · alternative {alternative}",
            mode=mode_label,
            size=plan.size,
            alternative=alternative + 1,
        )
    elif plan.size == 1:
        title = tr(locale, "Squad plan · {mode} · 1 player", mode=mode_label)
    else:
        title = tr(locale, "Squad plan · {mode} · {size} players", mode=mode_label, size=plan.size)
    lines: list[str] = []
    ai = result.ai
    if ai.status == "ok" and ai.briefing:
        lines.append(f"🤖 {ai.briefing.strip()}")
    elif ai.status == "unavailable" and ai.note:
        lines.append(f"⚠️ {ai_note(ai.note, locale)}")
    if match is not None and (line := match_line(match, locale)):
        lines.append(line)
    lines.extend(f"• {escape(note.render(locale))}" for note in notes)
    embed = discord.Embed(
        title=clip(title, TITLE_LIMIT),
        description=clip("\n".join(lines), DESCRIPTION_LIMIT) or None,
        colour=COLOUR_SUMMARY,
    )
    if plan.squad:
        embed.add_field(
            name=tr(locale, "Squad-wide"),
            value=_lines(_squad_lines(plan, words), locale),
            inline=False,
        )
    unmet = _unmet_lines(plan, words)
    embed.add_field(
        name=tr(locale, "Unmet needs"),
        value=_lines(unmet, locale)
        if unmet
        else tr(locale, "None: every weighted need is covered."),
        inline=False,
    )
    if ai.verdicts:
        embed.add_field(
            name=tr(locale, "AI proposals"),
            value=_lines(
                verdict_lines(result, words, 160 if detail is Detail.FULL else 110), locale
            ),
            inline=False,
        )
    if plan.bench:
        bench = ", ".join(escape(name) for name in plan.bench)
        embed.add_field(name=tr(locale, "Bench"), value=clip(bench, FIELD_LIMIT), inline=False)
    footer = _solver_line(result, locale)
    if ai.status == "off" and ai.note:
        footer += f" · {ai_note(ai.note, locale)}"
    embed.set_footer(text=footer)
    return embed


def _squad_lines(plan: Plan, words: PlanWords) -> list[str]:
    out = []
    for need in sorted(plan.squad, key=lambda s: (-s.weight, s.label)):
        mark = "✅" if need.reached >= need.target else "⚠️"
        out.append(f"{mark} {words.need(need.need, need.label)} {need.reached}/{need.target}")
    return out


def _unmet_lines(plan: Plan, words: PlanWords) -> list[str]:
    """Squad-wide gaps first, then subgroup gaps grouped by need and reason, heaviest first."""
    locale = words.locale
    lines: list[str] = []
    squad = sorted(
        (u for u in plan.unmet if u.scope == "squad"), key=lambda u: (-u.weight, u.label)
    )
    lines.extend(
        tr(
            locale,
            "Squad · {need}: {reason}",
            need=words.need(u.need, u.label),
            reason=words.reason(u),
        )
        for u in squad
    )
    grouped: dict[tuple[int, str, str], list[int]] = defaultdict(list)
    for unmet in plan.unmet:
        if unmet.scope == "subgroup" and unmet.subgroup is not None:
            key = (-unmet.weight, words.need(unmet.need, unmet.label), words.reason(unmet))
            grouped[key].append(unmet.subgroup)
    for (_, label, reason), numbers in sorted(grouped.items()):
        which = (
            tr(locale, "Subgroup {number}", number=numbers[0])
            if len(numbers) == 1
            else tr(
                locale, "Subgroups {numbers}", numbers=", ".join(str(n) for n in sorted(numbers))
            )
        )
        lines.append(f"{which} · {label}: {reason}")
    return lines


def _solver_line(result: ComposeResult, locale: str = "en") -> str:
    solve = result.solve
    if solve.method == "milp" and solve.status == "optimal":
        text = tr(locale, "Optimizer: proven best plan")
    elif solve.method == "milp" and solve.gap is not None:
        text = tr(
            locale,
            "Optimizer: within {gap} % of the best plan",
            gap=format_number(locale, solve.gap * 100, decimals=2),
        )
    else:
        text = tr(locale, "Optimizer: best plan found in time")
    if result.plan.score != result.optimizer_plan.score:
        return (
            text
            + " · "
            + tr(
                locale,
                "score {score} (optimizer {optimizer})",
                score=result.plan.score,
                optimizer=result.optimizer_plan.score,
            )
        )
    return text + " · " + tr(locale, "score {score}", score=result.plan.score)


# --------------------------------------------------------------------------------- subgroups


def _subgroup_embeds(
    result: ComposeResult, detail: Detail, words: PlanWords
) -> list[discord.Embed]:
    notes = {n.subgroup: n.note for n in result.ai.subgroup_notes}
    blocks = [_subgroup_block(g, notes.get(g.number), detail, words) for g in result.plan.subgroups]
    if len(blocks) + 1 <= MAX_EMBEDS:
        return [
            discord.Embed(
                title=clip(b.title, TITLE_LIMIT),
                description=clip(b.body, DESCRIPTION_LIMIT),
                colour=b.colour,
            )
            for b in blocks
        ]
    embeds = []
    for start in range(0, len(blocks), PER_EMBED_SUBGROUPS):
        chunk = blocks[start : start + PER_EMBED_SUBGROUPS]
        worst = max(chunk, key=lambda b: _severity(b.colour))
        embed = discord.Embed(colour=worst.colour)
        for block in chunk:
            embed.add_field(
                name=clip(block.title, TITLE_LIMIT), value=clip(block.body, FIELD_LIMIT)
            )
        embeds.append(embed)
    return embeds


def _subgroup_block(
    group: SubgroupPlan, ai_note: str | None, detail: Detail, words: PlanWords
) -> _Block:
    locale = words.locale
    numbers = {slot.label: i for i, slot in enumerate(group.slots, start=1)}
    lines = []
    for index, slot in enumerate(group.slots, start=1):
        who = escape(slot.player) if slot.player else tr(locale, "*open slot*")
        if detail is Detail.MINIMAL:
            lines.append(f"`{index}` **{slot.spec_name}** · {clip(who, MINIMAL_NAME_LENGTH)}")
        else:
            role = words.role(slot.role, slot.role_label)
            lines.append(f"`{index}` **{slot.spec_name}** · {role} · {who}")
    weighted = sorted(group.coverage, key=lambda c: (-c.weight, c.label))
    covered = [c for c in weighted if c.providers]
    missing = [c for c in weighted if not c.providers]
    if detail is Detail.FULL and covered:
        parts = [
            f"{words.need(c.need, c.label)} "
            f"({','.join(str(numbers[p]) for p in c.providers if p in numbers)})"
            for c in covered
        ]
        lines.append(tr(locale, "**Covered:** {needs}", needs=", ".join(parts)))
    elif detail is Detail.COMPACT and covered:
        needs = ", ".join(words.need(c.need, c.label) for c in covered)
        lines.append(tr(locale, "**Covered:** {needs}", needs=needs))
    if missing:
        needs = ", ".join(words.need(c.need, c.label) for c in missing)
        lines.append(tr(locale, "**Missing:** {needs}", needs=needs))
    if ai_note and detail is not Detail.MINIMAL:
        lines.append(f"🤖 {clip(ai_note.strip(), 300)}")
    size = len(group.slots)
    players = trn(locale, "{count} player", "{count} players", size)
    if not missing:
        title = tr(
            locale,
            "Subgroup {number} · {players} · all covered",
            number=group.number,
            players=players,
        )
        colour = COLOUR_COMPLETE
    else:
        title = tr(
            locale,
            "Subgroup {number} · {players} · {missing} missing",
            number=group.number,
            players=players,
            missing=len(missing),
        )
        major = any(c.weight >= MAJOR_NEED_WEIGHT for c in missing)
        colour = COLOUR_MAJOR_GAPS if major else COLOUR_MINOR_GAPS
    return _Block(title=title, body="\n".join(lines), colour=colour)


def _severity(colour: discord.Colour) -> int:
    return {COLOUR_COMPLETE.value: 0, COLOUR_MINOR_GAPS.value: 1}.get(colour.value, 2)


# --------------------------------------------------------------------------------- limits


def _squeeze(embeds: list[discord.Embed]) -> list[discord.Embed]:
    """Last resort: shorten the summary's free text until the whole message fits."""
    summary = embeds[0]
    while embeds_length(embeds) > TOTAL_CHAR_BUDGET and summary.description:
        excess = embeds_length(embeds) - TOTAL_CHAR_BUDGET
        keep = max(0, len(summary.description) - excess - 1)
        summary.description = clip(summary.description, keep) if keep > 20 else None
    for index, item in enumerate(summary.fields):
        if embeds_length(embeds) <= TOTAL_CHAR_BUDGET:
            break
        summary.set_field_at(index, name=item.name, value=clip(item.value or "-", 200))
    return embeds


def _lines(lines: Sequence[str], locale: str = "en", limit: int = FIELD_LIMIT) -> str:
    """Join lines, dropping the tail with ``… and N more`` when over ``limit``."""
    out: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        more = len(lines) - index
        tail = tr(locale, "… and {count} more", count=more)
        if used + len(line) + 1 > limit - len(tail) - 1 and index < len(lines) - 1:
            out.append(tail)
            break
        out.append(clip(line, limit - used))
        used += len(out[-1]) + 1
    return "\n".join(out) or "-"
