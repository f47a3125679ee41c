"""The GW2 API client: one method per endpoint family, each a typed call to the cached fetch.

One :class:`GW2Client` serves the whole bot over the bot's ``aiohttp.ClientSession`` (the client
does not own or close it). Every public method returns a :class:`~services.gw2.core.Fetched`
wrapper: the parsed value plus when it was fetched and whether it is a stale copy served because
the API failed.

The client is built in layers, one module each:

- here, the endpoint methods (WvW matches, static WvW data, key-authenticated account data);
- :mod:`.core`, the resilient core every method goes through (``GW2Core._get``: cache,
  single-flight, cluster sharing, rate limit, retries, stale-if-error);
- :mod:`.transport`, one HTTP request and the error its answer maps to;
- :mod:`.policies`, the cache TTLs per family and the retry policy.
"""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import Iterable
from datetime import timedelta

from . import models
from .core import Fetched, GW2Core

__all__ = ["MAX_IDS_PER_REQUEST", "Fetched", "GW2Client"]

MAX_IDS_PER_REQUEST = 200


class GW2Client(GW2Core):
    """The bot's one GW2 API client. See :mod:`.core` for the resilience rules."""

    # ----------------------------------------------------------------- WvW matches
    async def match_for_team(
        self, team_id: int, *, refresh: bool = False, budget: float | None = None
    ) -> Fetched[models.Match]:
        """The match a team (11xxx/12xxx) or legacy world (1xxx/2xxx) plays in.

        A fresh answer is also stored under the match id and every other team of the match, so
        the cost of a refresh cycle grows with distinct matches, not with guilds.
        """
        params = {"world": str(team_id)}
        result = await self._get(
            "matches", "/v2/wvw/matches", params, models.MATCH, refresh=refresh, budget=budget
        )
        if not result.from_cache:
            self._share_matches(("/v2/wvw/matches", (("world", str(team_id)),), None))
        return result

    async def match(
        self, match_id: str, *, refresh: bool = False, budget: float | None = None
    ) -> Fetched[models.Match]:
        """One match by id ("1-3", "2-5")."""
        return await self._get(
            "matches",
            "/v2/wvw/matches",
            {"id": match_id},
            models.MATCH,
            refresh=refresh,
            budget=budget,
        )

    async def matches_all(
        self, *, refresh: bool = False, budget: float | None = None
    ) -> Fetched[list[models.Match]]:
        """Every running match, in full (one request); also fills the per-match/per-team cache."""
        result = await self._get(
            "matches",
            "/v2/wvw/matches",
            {"ids": "all"},
            models.MATCH_LIST,
            refresh=refresh,
            budget=budget,
        )
        if not result.from_cache:
            self._share_matches(("/v2/wvw/matches", (("ids", "all"),), None))
        return result

    # ----------------------------------------------------------------- static WvW data
    async def objectives(
        self, *, refresh: bool = False, budget: float | None = None, lang: str | None = None
    ) -> Fetched[list[models.Objective]]:
        """Every WvW objective's static data (names, map, sector), in ``lang`` (``en``, ``fr``,
        ``de``, ``es``; default the client's language). Cached per language (it is a param)."""
        return await self._get(
            "objectives",
            "/v2/wvw/objectives",
            {"ids": "all", "lang": lang or self._lang},
            models.OBJECTIVE_LIST,
            refresh=refresh,
            budget=budget,
        )

    async def worlds(
        self, *, refresh: bool = False, budget: float | None = None
    ) -> Fetched[list[models.World]]:
        """Legacy worlds (1xxx NA, 2xxx EU) and their names."""
        return await self._get(
            "worlds",
            "/v2/worlds",
            {"ids": "all", "lang": self._lang},
            models.WORLD_LIST,
            refresh=refresh,
            budget=budget,
        )

    async def guild(
        self, guild_id: str, *, refresh: bool = False, budget: float | None = None
    ) -> Fetched[models.Guild]:
        """A guild's public fields (id, name, tag)."""
        return await self._get(
            "guild",
            f"/v2/guild/{_quote(guild_id)}",
            {},
            models.GUILD,
            refresh=refresh,
            budget=budget,
        )

    async def specializations(
        self,
        ids: Iterable[int],
        *,
        refresh: bool = False,
        budget: float | None = None,
        lang: str | None = None,
    ) -> Fetched[list[models.Specialization]]:
        """Specializations by id (to know which are elite). Unknown ids are left out (206).

        With ``lang`` (``fr``, ``de``, ``es``...) names are in that language, cached per language.
        """
        wanted = sorted(set(ids))
        if not wanted:
            now = self._clock.now()
            return Fetched([], now, timedelta(0))
        chunks = [
            wanted[i : i + MAX_IDS_PER_REQUEST] for i in range(0, len(wanted), MAX_IDS_PER_REQUEST)
        ]
        parts = await asyncio.gather(
            *(
                self._get(
                    "specializations",
                    "/v2/specializations",
                    {"ids": ",".join(map(str, chunk)), **({"lang": lang} if lang else {})},
                    models.SPECIALIZATION_LIST,
                    refresh=refresh,
                    budget=budget,
                )
                for chunk in chunks
            )
        )
        if len(parts) == 1:
            return parts[0]
        oldest = min(parts, key=lambda p: p.fetched_at)
        return Fetched(
            [spec for part in parts for spec in part.value],
            oldest.fetched_at,
            oldest.age,
            from_cache=all(p.from_cache for p in parts),
            stale=any(p.stale for p in parts),
            error=next((p.error for p in parts if p.error is not None), None),
        )

    async def build(
        self, *, refresh: bool = False, budget: float | None = None
    ) -> Fetched[models.GameBuild]:
        """The current game build id (static data changes when it does)."""
        return await self._get(
            "build", "/v2/build", {}, models.GAME_BUILD, refresh=refresh, budget=budget
        )

    # ----------------------------------------------------------------- key-authenticated
    async def tokeninfo(
        self, key: str, *, refresh: bool = False, budget: float | None = None
    ) -> Fetched[models.TokenInfo]:
        """What a key is and which permissions it has."""
        return await self._get(
            "tokeninfo",
            "/v2/tokeninfo",
            {},
            models.TOKEN_INFO,
            key=key,
            refresh=refresh,
            budget=budget,
        )

    async def account(
        self, key: str, *, refresh: bool = False, budget: float | None = None
    ) -> Fetched[models.Account]:
        return await self._get(
            "account", "/v2/account", {}, models.ACCOUNT, key=key, refresh=refresh, budget=budget
        )

    async def account_wvw(
        self, key: str, *, refresh: bool = False, budget: float | None = None
    ) -> Fetched[models.AccountWvw]:
        """The account's WvW team and WvW guild (scopes ``account`` + ``wvw``)."""
        return await self._get(
            "account",
            "/v2/account/wvw",
            {},
            models.ACCOUNT_WVW,
            key=key,
            refresh=refresh,
            budget=budget,
        )

    async def characters_all(
        self, key: str, *, refresh: bool = False, budget: float | None = None
    ) -> Fetched[list[models.Character]]:
        """Every character with profession, level, age and (scope ``builds``) build tabs, in one
        request (``/v2/characters?ids=all``): cheaper than names + core + build tabs each."""
        return await self._get(
            "characters",
            "/v2/characters",
            {"ids": "all"},
            models.CHARACTER_LIST,
            key=key,
            refresh=refresh,
            budget=budget,
        )


def _quote(segment: str) -> str:
    return urllib.parse.quote(segment, safe="")
