"""What ``/roles`` shows: rules, previews and sync reports (pure functions, no Discord calls)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import discord

from services.i18n import N_, tr, trn
from services.roles import MAX_RULES_PER_GUILD, ConditionKind, RoleRule, SyncReport

CONDITION_NAMES: Mapping[ConditionKind, str] = {
    ConditionKind.VERIFIED: N_("linked a valid GW2 API key"),
    ConditionKind.WVW_GUILD: N_("WvW guild is"),
    ConditionKind.GUILD_MEMBER: N_("member of guild"),
    ConditionKind.WVW_TEAM: N_("WvW team is"),
}
PREVIEW_LIMIT = 40  # lines of a preview; the rest is summed up

NO_RULES = N_(
    "This server has no role rules yet. Add one with `/roles add`, e.g. a role for every member "
    "who linked a key (condition: verified)."
)


def rule_line(rule: RoleRule, locale: str = "en") -> str:
    condition = tr(locale, CONDITION_NAMES[rule.kind])
    if rule.kind is not ConditionKind.VERIFIED:
        condition = f"{condition} **{discord.utils.escape_markdown(rule.label or rule.value)}**"
    line = f"`#{rule.id}` <@&{rule.role_id}> ← {condition}"
    if rule.requires_role_id is not None:
        line += " " + tr(locale, "(only with {role})", role=f"<@&{rule.requires_role_id}>")
    return line


def rule_choice(rule: RoleRule, role_names: Mapping[int, str], locale: str = "en") -> str:
    """``#3 @Raiders ← WvW guild is Foo``: a rule as ``/roles remove`` suggests it (plain text,
    at most Discord's 100 characters), in the user's language."""
    condition = tr(locale, CONDITION_NAMES[rule.kind])
    if rule.kind is not ConditionKind.VERIFIED:
        condition = f"{condition} {rule.label or rule.value}"
    text = f"#{rule.id} @{role_names.get(rule.role_id, rule.role_id)} ← {condition}"
    if rule.requires_role_id is not None:
        required = role_names.get(rule.requires_role_id, rule.requires_role_id)
        text += " " + tr(locale, "(only with {role})", role=f"@{required}")
    return text[:100]


def _on_off(locale: str, value: bool) -> str:
    return tr(locale, "on") if value else tr(locale, "off")


def rules_embed(
    rules: Sequence[RoleRule],
    *,
    guild_name: str,
    unmanageable: frozenset[int],
    nickname_suffix: bool,
    strict: bool,
    locale: str = "en",
) -> discord.Embed:
    embed = discord.Embed(title=tr(locale, "Verified roles on {server}", server=guild_name))
    lines = [rule_line(rule, locale) for rule in rules] or [tr(locale, NO_RULES)]
    embed.description = "\n".join(lines)
    blocked = sorted({rule.role_id for rule in rules if rule.role_id in unmanageable})
    if blocked:
        embed.add_field(
            name="⚠️ " + tr(locale, "Can't manage"),
            value=role_hierarchy_hint(blocked, locale),
            inline=False,
        )
    embed.add_field(
        name=tr(locale, "Options"),
        value=(
            tr(
                locale,
                "Nickname suffix (`Name | Account.1234`): {state}",
                state=_on_off(locale, nickname_suffix),
            )
            + "\n"
            + tr(
                locale,
                "Strict mode (also remove from members who never linked): {state}",
                state=_on_off(locale, strict),
            )
        ),
        inline=False,
    )
    embed.set_footer(
        text=trn(
            locale,
            "{count} of {limit} rules · synced every hour",
            "{count} of {limit} rules · synced every hour",
            len(rules),
            limit=MAX_RULES_PER_GUILD,
        )
    )
    return embed


HIERARCHY_ONE = N_(
    "I can't give or take {roles}: it is at or above my highest role, managed by an "
    "integration, or I lack Manage Roles. In Server Settings → Roles, drag my role above "
    "it and give it Manage Roles."
)
HIERARCHY_MANY = N_(
    "I can't give or take {roles}: they are at or above my highest role, managed by an "
    "integration, or I lack Manage Roles. In Server Settings → Roles, drag my role above "
    "them and give it Manage Roles."
)


def role_hierarchy_hint(role_ids: Sequence[int], locale: str = "en") -> str:
    message = HIERARCHY_ONE if len(role_ids) == 1 else HIERARCHY_MANY
    return tr(locale, message, roles=", ".join(f"<@&{r}>" for r in role_ids))


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
    locale: str = "en",
) -> str:
    """The private preview: who would gain and lose what (nothing is changed)."""
    parts = ["**" + tr(locale, "Preview — nothing was changed.") + "**"]
    if unmanageable:
        parts.append("⚠️ " + role_hierarchy_hint(unmanageable, locale))
    if outage:
        parts.append(
            "⚠️ "
            + tr(
                locale,
                "The GW2 API looks down right now: a real sync would remove no role until it "
                "is back.",
            )
        )
    changes = [line for line in lines if line.gains or line.loses]
    for line in changes[:PREVIEW_LIMIT]:
        bits = [f"+<@&{r}>" for r in sorted(line.gains)] + [f"−<@&{r}>" for r in sorted(line.loses)]
        parts.append(f"<@{line.user_id}>: {' '.join(bits)}")
    if len(changes) > PREVIEW_LIMIT:
        more = len(changes) - PREVIEW_LIMIT
        parts.append(trn(locale, "…and {count} more member.", "…and {count} more members.", more))
    if not changes:
        parts.append(tr(locale, "Every checked member already has the right roles."))
    summary = trn(
        locale,
        "Checked {count} linked member of this server.",
        "Checked {count} linked members of this server.",
        checked,
    )
    if unknown:
        summary += " " + trn(
            locale,
            "{count} member could not be checked right now (GW2 API or Discord error): they "
            "keep their roles.",
            "{count} members could not be checked right now (GW2 API or Discord error): they "
            "keep their roles.",
            unknown,
        )
    parts.append(summary)
    return "\n".join(parts)


def sync_summary(report: SyncReport, *, members: int, locale: str = "en") -> str:
    text = trn(
        locale,
        "Synced {count} linked member — roles given: {added}, removed: {removed}.",
        "Synced {count} linked members — roles given: {added}, removed: {removed}.",
        members,
        added=report.added,
        removed=report.removed,
    )
    if report.nicknames:
        text += " " + trn(
            locale, "{count} nickname updated.", "{count} nicknames updated.", report.nicknames
        )
    if report.outage_batches:
        text += " " + tr(
            locale, "The GW2 API looked down for some of them, so no role was removed there."
        )
    if report.refused:
        text += " " + trn(
            locale,
            "{count} change failed: check that my role is above the managed roles and has "
            "Manage Roles.",
            "{count} changes failed: check that my role is above the managed roles and has "
            "Manage Roles.",
            report.refused,
        )
    return text
