"""Embeds and texts of key linking, ``/account`` and ``/characters`` (pure: values in, embed out).

No function here receives a plaintext key: stored keys arrive as ``LinkedKey`` (masked prefix
only), checked keys as ``KeyCheck``. User-written text (key names) is escaped before display.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

import discord

from bot.storage.keys import LinkedKey
from cogs.common.formatting import ARENANET_RED
from services.accounts import (
    PROFESSION_ICONS,
    AccountOverview,
    CharacterRoster,
    CharacterSummary,
    KeyCheck,
    format_played,
)
from services.i18n import N_, format_number, tr
from services.keys import OPTIONAL_PERMISSIONS, PERMISSION_REASONS, REQUIRED_PERMISSIONS
from services.keys.validation import APPLICATIONS_URL, OwnershipPolicy
from services.secrets import SecretRedactor

EMBED_COLOUR = ARENANET_RED
OK_COLOUR = discord.Colour.green()
PROBLEM_COLOUR = discord.Colour.orange()
CHARACTERS_PER_PAGE = 10
MAX_KEYS_SHOWN = 10

NO_KEY = N_("You haven't linked a GW2 API key yet: link one with /key add.")
# Message ids of the DM flow: show with ``tr(locale, ...)``.
CHECK_DMS = N_(
    "I've sent you a DM with the steps. Paste your API key there, in our private chat — "
    "never in a server channel."
)
DMS_CLOSED = N_(
    "I can't DM you: your DMs are closed for this server. Either open them (right-click the "
    "server icon → Privacy Settings → turn on Direct Messages) and run /key add again, or press "
    "**Paste key privately** below: only you and I see what you type there."
)
INVALID_KEY_ID = N_(
    "ArenaNet doesn't accept this key: it was deleted, or it was copied incompletely. Copy it "
    "again from {url} and paste it here. Nothing was stored."
)
INVALID_KEY = (  # English, as shown before localisation (tests and logs)
    "ArenaNet doesn't accept this key: it was deleted, or it was copied incompletely. Copy it "
    f"again from {APPLICATIONS_URL} and paste it here. Nothing was stored."
)
API_DOWN = N_(
    "The GW2 API isn't answering right now, so I couldn't check your key. Nothing was stored: "
    "paste it again in a few minutes."
)
DM_HINT = N_("To link a GW2 API key, run /key add: I'll tell you what to paste here.")

_redactor = SecretRedactor()


def invalid_key(locale: str = "en") -> str:
    """``INVALID_KEY`` in ``locale``."""
    return tr(locale, INVALID_KEY_ID, url=APPLICATIONS_URL)


def link_instructions(code: str, policy: OwnershipPolicy, locale: str = "en") -> discord.Embed:
    """The DM that explains how to create a key, which permissions to tick and the code."""
    required = "\n".join(
        f"• `{p}`: {tr(locale, PERMISSION_REASONS[p])}" for p in REQUIRED_PERMISSIONS
    )
    optional = "\n".join(
        f"• `{p}`: {tr(locale, PERMISSION_REASONS[p])}" for p in OPTIONAL_PERMISSIONS
    )
    ownership = (
        tr(locale, "This server **requires** it: keys without the code are refused.")
        if policy == "required"
        else tr(locale, "Optional, but with it your key shows as **verified owner**.")
    )
    embed = discord.Embed(
        title=tr(locale, "Link your GW2 API key"),
        colour=EMBED_COLOUR,
        description=tr(
            locale,
            "1. Open {url} and press **New Key**.\n"
            "2. Name it so the name contains `{code}`.\n"
            "3. Tick the permissions below, create the key and copy it.\n"
            "4. Paste the key here, as a message in this chat.",
            url=APPLICATIONS_URL,
            code=code,
        ),
    )
    embed.add_field(name=tr(locale, "Needed permissions"), value=required, inline=False)
    embed.add_field(name=tr(locale, "Optional"), value=optional, inline=False)
    embed.add_field(
        name=tr(locale, "Ownership code: {code}", code=code), value=ownership, inline=False
    )
    embed.set_footer(
        text=tr(locale, "The key is stored encrypted. Remove it any time with /key remove.")
    )
    return embed


def checklist_embed(check: KeyCheck, *, linked: bool, locale: str = "en") -> discord.Embed:
    """The checklist after a key was checked: format, each permission, ownership, account, team."""
    checklist = check.checklist
    subtoken = checklist.key_kind == "subtoken"
    if linked:
        title = tr(locale, "Subtoken linked") if subtoken else tr(locale, "API key linked")
    else:
        title = tr(locale, "subtoken not linked") if subtoken else tr(locale, "API key not linked")
    embed = discord.Embed(title=title, colour=OK_COLOUR if linked else PROBLEM_COLOUR)
    what = tr(locale, "subtoken") if subtoken else tr(locale, "API key")
    lines = [tr(locale, "✅ Format: {kind}", kind=what)]
    for permission in checklist.permissions:
        mark = "✅" if permission.present else ("❌" if permission.required else "➖")
        lines.append(f"{mark} `{permission.name}`: {tr(locale, permission.reason)}")
    lines.append(_ownership_line(check, locale))
    unknown = tr(locale, "unknown")
    embed.add_field(name=tr(locale, "Checks"), value="\n".join(lines), inline=False)
    embed.add_field(name=tr(locale, "Account"), value=plain(check.account_name or unknown))
    embed.add_field(name=tr(locale, "WvW team"), value=plain(check.team or unknown))
    how_to_fix = checklist.fix_text(locale)
    if linked:
        embed.description = tr(
            locale,
            "Done. /account and /characters now use this account; /key info shows your keys.",
        )
        hint = checklist.hint_text(locale)
        if hint:
            embed.add_field(name=tr(locale, "Tip"), value=hint, inline=False)
    elif how_to_fix:
        embed.description = tr(locale, "Nothing was stored.\n{how_to_fix}", how_to_fix=how_to_fix)
    else:
        embed.description = tr(
            locale, "Nothing was stored: I couldn't read the account of this key."
        )
    return embed


def key_info_embed(keys: Sequence[LinkedKey], locale: str = "en") -> discord.Embed:
    """``/key info``: every linked account, the active one first."""
    embed = discord.Embed(title=tr(locale, "Your linked GW2 accounts"), colour=EMBED_COLOUR)
    for linked in keys[:MAX_KEYS_SHOWN]:
        key_name = plain(linked.key_name, limit=60)
        masked = f"`{linked.masked}`"
        permissions = ", ".join(f"`{p}`" for p in linked.permissions) or tr(locale, "none")
        lines = [
            tr(locale, "Key: {key} named “{name}”", key=masked, name=key_name)
            if key_name
            else tr(locale, "Key: {key}", key=masked),
            tr(locale, "Permissions: {permissions}", permissions=permissions),
            tr(
                locale,
                "Linked {linked} · last validated {validated}",
                linked=_when(linked.added_at, locale),
                validated=_when(linked.validated_at, locale),
            ),
        ]
        if linked.ownership_verified:
            lines.append("✅ " + tr(locale, "Verified owner"))
        if not linked.valid:
            lines.append(
                "⚠️ " + tr(locale, "ArenaNet rejects this key: link a new one with /key add.")
            )
        marker = " " + tr(locale, "(active)") if linked.is_active else ""
        embed.add_field(
            name=f"{plain(linked.account_name, limit=200)}{marker}",
            value="\n".join(lines),
            inline=False,
        )
    if len(keys) > MAX_KEYS_SHOWN:
        more = len(keys) - MAX_KEYS_SHOWN
        embed.set_footer(text=tr(locale, "…and {count} more.", count=more))
    else:
        embed.set_footer(text=tr(locale, "Switch with /key switch · remove with /key remove"))
    return embed


def account_embed(overview: AccountOverview, locale: str = "en") -> discord.Embed:
    """``/account``: name, team, rank, access, guilds, created; hidden fields say why."""
    embed = discord.Embed(title=plain(overview.name, limit=200), colour=EMBED_COLOUR)
    team = _field(overview.team, overview.hidden.get("team"), locale)
    embed.add_field(name=tr(locale, "WvW team"), value=team)
    rank = format_number(locale, overview.wvw_rank) if overview.wvw_rank is not None else None
    rank_text = _field(rank, overview.hidden.get("wvw_rank"), locale)
    embed.add_field(name=tr(locale, "WvW rank"), value=rank_text)
    commander = tr(locale, "yes") if overview.commander else tr(locale, "no")
    embed.add_field(name=tr(locale, "Commander tag"), value=commander)
    access = ", ".join(overview.access) or tr(locale, "unknown")
    embed.add_field(name=tr(locale, "Access"), value=access, inline=False)
    guilds = "\n".join(
        f"{plain(g.name, limit=80)} [{plain(g.tag, limit=10)}]" if g.tag else plain(g.name)
        for g in overview.guilds
    )
    embed.add_field(name=tr(locale, "Guilds"), value=guilds or tr(locale, "none"), inline=False)
    if overview.created is not None:
        created = discord.utils.format_dt(overview.created, "D")
        embed.add_field(name=tr(locale, "Created"), value=created)
    footer = tr(locale, "From the GW2 API")
    if overview.stale:
        footer += " · " + tr(
            locale,
            "cached copy from {time} UTC (the API is down)",
            time=f"{overview.fetched_at:%H:%M}",
        )
    embed.set_footer(text=footer)
    return embed


def character_pages(
    roster: CharacterRoster, account_name: str, locale: str = "en"
) -> list[discord.Embed]:
    """``/characters``: pages of at most ``CHARACTERS_PER_PAGE`` characters, one field each."""
    characters = roster.characters
    title = tr(locale, "Characters of {account}", account=plain(account_name, limit=200))
    if not characters:
        embed = discord.Embed(
            title=title,
            description=tr(locale, "This account has no characters yet."),
            colour=EMBED_COLOUR,
        )
        return [embed]
    chunks = [
        characters[i : i + CHARACTERS_PER_PAGE]
        for i in range(0, len(characters), CHARACTERS_PER_PAGE)
    ]
    pages: list[discord.Embed] = []
    for number, chunk in enumerate(chunks, start=1):
        embed = discord.Embed(title=title, colour=EMBED_COLOUR)
        notes: list[str] = []
        if roster.builds_hidden:
            notes.append(tr(locale, "Elite specs hidden: your key lacks the `builds` permission."))
        if roster.total > len(characters):
            notes.append(
                tr(
                    locale,
                    "Showing {shown} of {total} characters.",
                    shown=len(characters),
                    total=roster.total,
                )
            )
        if notes:
            embed.description = "\n".join(notes)
        for character in chunk:
            embed.add_field(**character_field(character, locale), inline=False)
        footer = tr(
            locale,
            "Page {number}/{pages} · {count} characters",
            number=number,
            pages=len(chunks),
            count=len(characters),
        )
        if roster.stale:
            footer += " · " + tr(locale, "cached copy (the API is down)")
        embed.set_footer(text=footer)
        pages.append(embed)
    return pages


def character_field(character: CharacterSummary, locale: str = "en") -> dict[str, str]:
    """``{"name": "🛡️ Name", "value": "Firebrand (Guardian) · level 80 · 34 h played"}``."""
    icon = PROFESSION_ICONS.get(character.profession, "❔")
    profession = character.shown_profession
    spec = (
        f"{character.elite_spec} ({profession})"
        if character.elite_spec
        else profession or tr(locale, "unknown profession")
    )
    value = tr(
        locale,
        "{spec} · level {level} · {played} played",
        spec=spec,
        level=character.level,
        played=format_played(character.age_seconds),
    )
    if character.created is not None:
        created = discord.utils.format_dt(character.created, "D")
        value += " · " + tr(locale, "created {date}", date=created)
    return {"name": f"{icon} {plain(character.name, limit=200)}", "value": value}


def invalid_key_notice(account_name: str, locale: str = "en") -> str:
    """The one DM a user gets when their stored key is marked invalid, in their last seen
    language (``linked_keys.locale``: the DM has no interaction to read it from)."""
    return tr(
        locale,
        "Your GW2 API key for **{account}** stopped working: ArenaNet has been rejecting it for "
        "a while (deleted or expired). Create a new key at {url} and link it with /key add, or "
        "remove the old one with /key remove.",
        account=plain(account_name),
        url=APPLICATIONS_URL,
    )


def leak_notice(where: str, deleted: bool, locale: str = "en") -> str:
    """The DM to someone who posted an API key in a server channel (never contains the key)."""
    if deleted:
        return tr(
            locale,
            "You posted a GW2 API key in {where}. I deleted the message, but others may have seen "
            "it: the key is public now. Delete it at {url}, create a new one and link it "
            "privately with /key add (paste it in our DM, never in a channel).",
            where=where,
            url=APPLICATIONS_URL,
        )
    return tr(
        locale,
        "You posted a GW2 API key in {where}, and I couldn't delete the message: the key is "
        "public now. Delete it at {url}, create a new one and link it privately with /key add "
        "(paste it in our DM, never in a channel).",
        where=where,
        url=APPLICATIONS_URL,
    )


def leak_channel_notice(mention: str, deleted: bool, locale: str = "en") -> str:
    """The short channel fallback when the author's DMs are closed (no key, no details)."""
    if deleted:
        return tr(
            locale,
            "{mention} I deleted a message with a GW2 API key in it. That key is public now: "
            "delete it on the ArenaNet account page, create a new one, and link it with /key add.",
            mention=mention,
        )
    return tr(
        locale,
        "{mention} A message here contains a GW2 API key. That key is public now: delete it on "
        "the ArenaNet account page, create a new one, and link it with /key add.",
        mention=mention,
    )


# ---------------------------------------------------------------------------------------------
# helpers


def _ownership_line(check: KeyCheck, locale: str = "en") -> str:
    checklist = check.checklist
    if checklist.ownership_verified:
        return tr(locale, "✅ Ownership: verified owner (the code is in the key's name)")
    required = checklist.ownership_policy == "required"
    mismatch = checklist.ownership == "mismatch"
    return tr(locale, _OWNERSHIP_LINES[(required, mismatch)])


# (required here?, a different code?) -> the checklist's ownership line.
_OWNERSHIP_LINES = {
    (True, True): N_("❌ Ownership: a different code in the key's name (required here)"),
    (True, False): N_("❌ Ownership: no code in the key's name (required here)"),
    (False, True): N_("➖ Ownership: a different code in the key's name (optional here)"),
    (False, False): N_("➖ Ownership: no code in the key's name (optional here)"),
}


def _field(value: str | None, missing_permission: str | None, locale: str = "en") -> str:
    if missing_permission is not None:
        return tr(
            locale,
            "Hidden: your key lacks the `{permission}` permission.",
            permission=missing_permission,
        )
    return plain(value) if value else tr(locale, "unknown")


def _when(stamp: str, locale: str = "en") -> str:
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return tr(locale, "at an unknown time")
    return discord.utils.format_dt(moment, "R")


def plain(text: str, *, limit: int = 100) -> str:
    """User or API text made safe to show: no secrets, no markdown, no mentions, bounded."""
    cleaned = _redactor.redact(text.replace("\n", " "))
    escaped = discord.utils.escape_mentions(discord.utils.escape_markdown(cleaned))
    # Mentions, channels and custom emoji render even in embeds; break their ``<@`` syntax.
    escaped = re.sub(r"<([@#&:!a])", "<\u200b\\1", escaped)
    return escaped if len(escaped) <= limit else escaped[: limit - 1] + "…"
