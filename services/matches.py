"""A team's live match, in one place: fetched through the GW2 client's cache, analysed once per
data version, with the frozen-data flag and the legacy-world rule.

``/wvw``, the scheduled update posts, ``/settings preview`` and ``/compose`` all ask
:class:`MatchService`; none of them analyses a match or tracks freezes on its own.

One freeze rule: a match's data "last changed" at the ``fetched_at`` of the first poll that saw
its current content (:class:`~services.match_analysis.FreezeTracker`), and it counts as frozen
when that is at least ``frozen_after`` before ``now``. Stale data (served from the cache because
the API failed) is reported as stale, never as frozen: nothing new was seen, so nothing can be
said about the match itself.

One legacy rule: legacy world names (``/v2/worlds``) are fetched only when a match lists an id
that :func:`services.teams.is_team_id` does not accept.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.clock import Clock
from services.errors import UserFacingError
from services.gw2 import Fetched, GW2APIError, GW2Client, NotFoundError
from services.gw2.models import Match
from services.i18n import N_, Message
from services.match_analysis import (
    DEFAULT_FROZEN_AFTER,
    FreezeTracker,
    MatchSummary,
    analyse_match,
    looks_frozen,
    skirmish_clock,
)
from services.teams import is_team_id, team_name

log = logging.getLogger(__name__)

# Matches whose analysis is kept (a week has ~40 matches across both regions).
ANALYSES_KEPT = 128


class TeamNotInMatchError(UserFacingError):
    """The API knows no running match for the team (between weekly matchups, or a bad id)."""

    def __init__(self, team_id: int) -> None:
        self.team_id = team_id
        name = team_name(team_id) or Message("Team {team_id}", team_id=team_id)
        super().__init__(
            N_(
                "{team} ({team_id}) isn't in a running WvW match right now. "
                "If the weekly reset just happened, try again in a few minutes."
            ),
            team=name,
            team_id=team_id,
        )


@dataclass(frozen=True, slots=True)
class LiveMatch:
    """A team's match, analysed as of ``now``.

    ``data_version`` changes whenever the data behind the answer changes (a new fetch, or a
    stale copy served instead of a fresh one); renderers key their caches by it.
    """

    match: Match
    summary: MatchSummary
    fetched_at: datetime
    age: timedelta
    stale: bool
    now: datetime

    @property
    def data_version(self) -> tuple[str, datetime, bool]:
        return (self.match.id, self.fetched_at, self.stale)


@dataclass(frozen=True, slots=True)
class _Analysed:
    match: Match
    last_changed_at: datetime
    stale: bool
    summary: MatchSummary


class MatchService:
    """Fetch, analyse and freeze-check live matches (one instance per process)."""

    def __init__(
        self,
        gw2: GW2Client,
        clock: Clock,
        *,
        frozen_after: timedelta = DEFAULT_FROZEN_AFTER,
    ) -> None:
        self.gw2 = gw2
        self.clock = clock
        self.frozen_after = frozen_after
        self._freeze = FreezeTracker()
        self._analysed: dict[str, _Analysed] = {}

    async def live(
        self,
        team_id: int,
        *,
        budget: float | None = None,
        worlds_budget: float | None = None,
    ) -> LiveMatch:
        """The team's match analysed now.

        Raises :class:`TeamNotInMatchError` when the API knows no match for the team, and the GW2
        client's other errors (their text is for the player) when there is no data at all.
        """
        try:
            fetched = await self.gw2.match_for_team(team_id, budget=budget)
        except NotFoundError:
            raise TeamNotInMatchError(team_id) from None
        return await self.analyse(fetched, worlds_budget=worlds_budget)

    async def analyse(
        self, fetched: Fetched[Match], *, worlds_budget: float | None = None
    ) -> LiveMatch:
        """Analyse a fetched match as of now (reused while the client hands back the same match
        object and the skirmish has not changed: only the clock-dependent parts are redone)."""
        match = fetched.value
        now = self.clock.now()
        previous = self._analysed.get(match.id)
        if previous is not None and previous.match is match and previous.stale == fetched.stale:
            clock = skirmish_clock(match, now)
            if clock.number == previous.summary.skirmish.number:
                summary = dataclasses.replace(
                    previous.summary,
                    skirmish=clock,
                    time_to_reset=max(timedelta(0), match.end_time - now),
                    frozen=self.is_frozen(previous.last_changed_at, now, stale=fetched.stale),
                )
                return _live(fetched, summary, now)
        last_changed = self._freeze.observe(match, fetched.fetched_at)
        worlds = await self.worlds_for([match], budget=worlds_budget)
        summary = analyse_match(match, now=now, worlds=worlds, last_changed_at=last_changed)
        summary = dataclasses.replace(
            summary, frozen=self.is_frozen(last_changed, now, stale=fetched.stale)
        )
        self._remember(_Analysed(match, last_changed, fetched.stale, summary))
        return _live(fetched, summary, now)

    def is_frozen(self, last_changed_at: datetime, now: datetime, *, stale: bool) -> bool:
        """The one freeze rule (see the module doc)."""
        return not stale and looks_frozen(last_changed_at, now, self.frozen_after)

    async def worlds_for(
        self, matches: Iterable[Match], *, budget: float | None = None
    ) -> Mapping[int, str] | None:
        """Legacy world names, fetched only when a match still lists a legacy world id."""
        if all(is_team_id(i) for match in matches for i in match.team_ids()):
            return None
        return await self.world_names(budget=budget)

    async def world_names(self, *, budget: float | None = None) -> Mapping[int, str] | None:
        """Legacy world id → name from ``/v2/worlds`` (cached a day), ``None`` when unreachable."""
        try:
            worlds = await self.gw2.worlds(budget=budget)
        except GW2APIError as error:
            log.debug("World names unavailable (%s); teams only", error.outcome)
            return None
        return {world.id: world.name for world in worlds.value}

    def _remember(self, analysed: _Analysed) -> None:
        self._analysed.pop(analysed.match.id, None)
        self._analysed[analysed.match.id] = analysed
        while len(self._analysed) > ANALYSES_KEPT:
            del self._analysed[next(iter(self._analysed))]


def _live(fetched: Fetched[Match], summary: MatchSummary, now: datetime) -> LiveMatch:
    return LiveMatch(
        match=fetched.value,
        summary=summary,
        fetched_at=fetched.fetched_at,
        age=fetched.age,
        stale=fetched.stale,
        now=now,
    )
