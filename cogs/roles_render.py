"""What ``/roles`` shows: rules, previews and sync reports (pure functions, no Discord calls)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import discord

from services.roles import MAX_RULES_PER_GUILD, ConditionKind, RoleRule, SyncReport

CONDITION_NAMES: Mapping[ConditionKind, str] = {
    ConditionKind.VERIFIED: "linked a valid GW2 API key",
    ConditionKind.WVW_GUILD: "WvW guild is",
    ConditionKind.GUILD_MEMBER: "member of guild",
    ConditionKind.WVW_TEAM: "WvW team is",
}
PREVIEW_LIMIT = 40  # lines of a preview; the rest is summed up

NO_RULES = (
    "This server has no role rules yet. Add one with `/roles add`, e.g. a role for every member "
    "who linked a key (condition: verified)."
)


def rule_line(rule: RoleRule) -> str:
    condition = CONDITION_NAMES[rule.kind]
    if rule.kind is not ConditionKind.VERIFIED:
        condition = f"{condition} **{discord.utils.escape_markdown(rule.label or rule.value)}**"
    line = f"`#{rule.id}` <@&{rule.role_id}> ← {condition}"
    if rule.requires_role_id is not None:
        line += f" (only with <@&{rule.requires_role_id}>)"
    return line


def rules_embed(
    rules: Sequence[RoleRule],
    *,
    guild_name: str,
    unmanageable: frozenset[int],
    nickname_suffix: bool,
    strict: bool,
) -> discord.Embed:
    embed = discord.Embed(title=f"Verified roles on {guild_name}")
    lines = [rule_line(rule) for rule in rules] or [NO_RULES]
    embed.description = "\n".join(lines)
    blocked = sorted({rule.role_id for rule in rules if rule.role_id in unmanageable})
    if blocked:
        embed.add_field(name="⚠️ Can't manage", value=role_hierarchy_hint(blocked), inline=False)
    embed.add_field(
        name="Options",
        value=(
            f"Nickname suffix (`Name | Account.1234`): {'on' if nickname_suffix else 'off'}\n"
            f"Strict mode (also remove from members who never linked): "
            f"{'on' if strict else 'off'}"
        ),
        inline=False,
    )
    embed.set_footer(text=f"{len(rules)} of {MAX_RULES_PER_GUILD} rules · synced every hour")
    return embed


def role_hierarchy_hint(role_ids: Sequence[int]) -> str:
    mentions = ", ".join(f"<@&{r}>" for r in role_ids)
    return (
        f"I can't give or take {mentions}: "
        f"{'it is' if len(role_ids) == 1 else 'they are'} at or above my highest role, managed by "
        "an integration, or I lack Manage Roles. In Server Settings → Roles, drag my role above "
        f"{'it' if len(role_ids) == 1 else 'them'} and give it Manage Roles."
    )


@dataclass(frozen=True, slots=True)
class PreviewLine:
    user_id: int
    gains: frozenset[int]
    loses: frozenset[int]


def preview_text(
    lines: Sequence[PreviewLine],
    *,
    checked: int,
    unknown: int,
    unmanageable: Sequence[int],
    outage: bool,
) -> str:
    """The private preview: who would gain and lose what (nothing is changed)."""
    parts = ["**Preview — nothing was changed.**"]
    if unmanageable:
        parts.append("⚠️ " + role_hierarchy_hint(unmanageable))
    if outage:
        parts.append(
            "⚠️ The GW2 API looks down right now: a real sync would remove no role until it is back."
        )
    changes = [line for line in lines if line.gains or line.loses]
    for line in changes[:PREVIEW_LIMIT]:
        bits = [f"+<@&{r}>" for r in sorted(line.gains)] + [f"−<@&{r}>" for r in sorted(line.loses)]
        parts.append(f"<@{line.user_id}>: {' '.join(bits)}")
    if len(changes) > PREVIEW_LIMIT:
        parts.append(f"…and {len(changes) - PREVIEW_LIMIT} more members.")
    if not changes:
        parts.append("Every checked member already has the right roles.")
    summary = f"Checked {checked} linked member(s) of this server."
    if unknown:
        summary += (
            f" {unknown} could not be checked right now (GW2 API or Discord error): "
            "they keep their roles."
        )
    parts.append(summary)
    return "\n".join(parts)


def sync_summary(report: SyncReport, *, members: int) -> str:
    text = (
        f"Synced {members} linked member(s): {report.added} role(s) given, "
        f"{report.removed} removed."
    )
    if report.nicknames:
        text += f" {report.nicknames} nickname(s) updated."
    if report.outage_batches:
        text += " The GW2 API looked down for some of them, so no role was removed there."
    if report.refused:
        text += (
            f" {report.refused} change(s) failed: check that my role is above the managed roles "
            "and has Manage Roles."
        )
    return text
