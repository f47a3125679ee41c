"""The ``team`` option shared by every command that names a WvW team.

``team_autocomplete`` offers team names (and legacy world names when ``/v2/worlds`` is cached or
answers quickly); a picked choice carries the team id as its value, so resolving it is exact.
``resolve_team_option`` turns whatever the player typed (a picked choice, a team id, a legacy world
id, a full or partial team or world name) into one id, or raises an error whose text says what to
type instead.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from services.errors import UserFacingError
from services.i18n import N_, ListOf, resolve_locale, tr
from services.secrets import mask_keys
from services.teams import TeamCandidate, resolve_team, search_teams

if TYPE_CHECKING:
    from bot.client import GW2Bot

log = logging.getLogger(__name__)

# Autocomplete must answer within Discord's 3 s; world names are a nicety, not worth the wait.
WORLD_NAMES_BUDGET = 1.0
MAX_CHOICES = 25
MAX_LISTED = 5
EXAMPLE_TEAM_ID = "11005"
# Autocomplete labels (message ids), by "is it a team" (else a legacy world).
_REGION_LABELS = {
    True: N_("{name} ({region} team {id})"),
    False: N_("{name} ({region} world {id})"),
}
_PLAIN_LABELS = {True: N_("{name} (team {id})"), False: N_("{name} (world {id})")}


class TeamOptionError(UserFacingError):
    """The ``team`` option could not be turned into one team."""


class UnknownTeamError(TeamOptionError):
    """Nothing fits what the player typed."""

    def __init__(self, text: str, suggestions: Sequence[TeamCandidate] = ()) -> None:
        self.text = text
        self.suggestions = tuple(suggestions)
        if suggestions:
            super().__init__(
                N_(
                    "No team called {text}. Did you mean {suggestions}? Pick one from the list as "
                    "you type."
                ),
                text=_quote(text),
                suggestions=ListOf(map(_named, suggestions), style="or"),
            )
        else:
            super().__init__(
                N_(
                    "No team called {text}. Start typing a team name and pick one from the "
                    "list, or give a team id such as {example}."
                ),
                text=_quote(text),
                example=EXAMPLE_TEAM_ID,
            )


class AmbiguousTeamError(TeamOptionError):
    """Several teams fit; the player must pick one."""

    def __init__(self, text: str, candidates: Sequence[TeamCandidate]) -> None:
        self.text = text
        self.candidates = tuple(candidates)
        if len(candidates) > MAX_LISTED:
            super().__init__(
                N_(
                    "{text} fits several teams: {teams} and more. Type more of the name or "
                    "pick one from the list."
                ),
                text=_quote(text),
                teams=", ".join(map(_named, candidates[:MAX_LISTED])),
            )
        else:
            super().__init__(
                N_(
                    "{text} fits several teams: {teams}. Type more of the name or pick one "
                    "from the list."
                ),
                text=_quote(text),
                teams=ListOf(map(_named, candidates), style="or"),
            )


async def team_autocomplete(
    interaction: discord.Interaction[GW2Bot], current: str
) -> list[app_commands.Choice[str]]:
    """Up to 25 teams (then legacy worlds) whose name or id fits what the player typed so far."""
    worlds = await world_names(interaction.client, budget=WORLD_NAMES_BUDGET)
    locale = resolve_locale(interaction.locale.value)
    return [
        app_commands.Choice(name=choice_label(candidate, locale), value=str(candidate.id))
        for candidate in search_teams(current, limit=MAX_CHOICES, worlds=worlds)
    ]


async def resolve_team_option(bot: GW2Bot, text: str) -> int:
    """The team (or legacy world) id the player meant by ``text``.

    Raises :class:`UnknownTeamError` ("No team called “X”. Did you mean …?") or
    :class:`AmbiguousTeamError` (the candidates) otherwise.
    """
    cleaned = text.strip()
    # Ids and full team names (what autocomplete sends) need no world names: skip that lookup.
    resolution = resolve_team(cleaned)
    if resolution.status != "exact":
        resolution = resolve_team(cleaned, await world_names(bot))
    if resolution.team_id is not None:
        return resolution.team_id
    if resolution.status == "ambiguous":
        raise AmbiguousTeamError(cleaned, resolution.candidates)
    raise UnknownTeamError(cleaned, resolution.suggestions[:MAX_LISTED])


async def world_names(bot: GW2Bot, *, budget: float | None = None) -> Mapping[int, str] | None:
    """Legacy world id → name from ``/v2/worlds`` (cached a day), or ``None`` when unreachable."""
    return await bot.services.matches.world_names(budget=budget)


def choice_label(candidate: TeamCandidate, locale: str = "en") -> str:
    """``Tombs of Drascir (NA team 11005)`` — what a player sees in the autocomplete list."""
    if candidate.region:
        label = _REGION_LABELS[candidate.kind == "team"]
        text = tr(
            locale, label, name=candidate.name, region=candidate.region.upper(), id=candidate.id
        )
    else:
        label = _PLAIN_LABELS[candidate.kind == "team"]
        text = tr(locale, label, name=candidate.name, id=candidate.id)
    return text[:100]


def _quote(text: str) -> str:
    # Mask before cutting: a key cut at 60 characters no longer looks like one.
    shown = discord.utils.escape_markdown(discord.utils.escape_mentions(mask_keys(text)[:60]))
    return f"“{shown}”"


def _named(candidate: TeamCandidate) -> str:
    return f"{candidate.name} ({candidate.id})"
