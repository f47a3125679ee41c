"""Profession and specialization names in the players' language, from the GW2 API.

``/v2/professions?ids=all&lang=xx`` names the nine professions (``id`` is the English name the
rest of the API uses, ``name`` the localised one); ``/v2/specializations?ids=all&lang=xx`` names
every specialization and says which are elite. Both are static data, cached for a day per
language by the client (``lang`` is part of the cache key) and served stale for a month when the
API is down.

:func:`game_names` never raises for an outage: a part the API could not give is left empty, and
:class:`GameNames` then answers with the English name the caller passes as fallback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import TypeAdapter

from .client import Fetched, GW2Client
from .errors import GW2APIError
from .models import SPECIALIZATION_LIST, GW2Model, Specialization

__all__ = [
    "GameNames",
    "Profession",
    "all_specializations",
    "game_names",
    "professions",
]

log = logging.getLogger(__name__)

# Languages the API localises names into (others are answered in English by the API).
NAME_LANGUAGES = ("en", "fr", "de", "es")


class Profession(GW2Model):
    """``/v2/professions``: ``id`` is the English name ("Guardian"), ``name`` the localised one."""

    id: str
    name: str = ""


PROFESSION_LIST = TypeAdapter(list[Profession])


async def professions(
    client: GW2Client, *, lang: str, refresh: bool = False, budget: float | None = None
) -> Fetched[list[Profession]]:
    """Every profession, named in ``lang`` (cached per language)."""
    return await client.get_public(
        "professions",
        "/v2/professions",
        {"ids": "all", "lang": _api_language(lang)},
        PROFESSION_LIST,
        refresh=refresh,
        budget=budget,
    )


async def all_specializations(
    client: GW2Client, *, lang: str, refresh: bool = False, budget: float | None = None
) -> Fetched[list[Specialization]]:
    """Every specialization (core lines and elite specs), named in ``lang`` (cached per
    language)."""
    return await client.get_public(
        "specializations",
        "/v2/specializations",
        {"ids": "all", "lang": _api_language(lang)},
        SPECIALIZATION_LIST,
        refresh=refresh,
        budget=budget,
    )


@dataclass(frozen=True, slots=True)
class GameNames:
    """Names in one language; an empty mapping means the API could not give that part."""

    lang: str
    professions: Mapping[str, str] = field(default_factory=dict)  # English id -> name
    specializations: Mapping[int, Specialization] = field(default_factory=dict)

    def profession(self, profession_id: str) -> str:
        """The profession's name in ``lang`` ("Guardian" -> "Gardien"); the id when unknown."""
        return self.professions.get(profession_id) or profession_id

    def specialization(self, spec_id: int, fallback: str = "") -> str:
        """The specialization's name in ``lang``, or ``fallback`` (an English name) when unknown."""
        spec = self.specializations.get(spec_id)
        return spec.name if spec is not None and spec.name else fallback

    def is_elite(self, spec_id: int) -> bool | None:
        """Whether the API says the specialization is elite (``None``: not known)."""
        spec = self.specializations.get(spec_id)
        return spec.elite if spec is not None else None


async def game_names(
    client: GW2Client,
    lang: str,
    *,
    want_professions: bool = True,
    want_specializations: bool = True,
    budget: float | None = None,
) -> GameNames:
    """Profession and specialization names in ``lang``; a part the API cannot give stays empty.

    English profession names are the professions' ids, so ``lang="en"`` asks for specializations
    only.
    """
    lang = _api_language(lang)
    ask_professions = want_professions and lang != "en"

    async def profession_names() -> dict[str, str]:
        if not ask_professions:
            return {}
        try:
            fetched = await professions(client, lang=lang, budget=budget)
        except GW2APIError as error:
            log.info("Profession names in %s unavailable (%s): English names", lang, error.outcome)
            return {}
        return {p.id: p.name for p in fetched.value if p.name}

    async def specialization_names() -> dict[int, Specialization]:
        if not want_specializations:
            return {}
        try:
            fetched = await all_specializations(client, lang=lang, budget=budget)
        except GW2APIError as error:
            log.info("Specializations in %s unavailable (%s): English names", lang, error.outcome)
            return {}
        return {s.id: s for s in fetched.value}

    named, specs = await asyncio.gather(profession_names(), specialization_names())
    return GameNames(lang=lang, professions=named, specializations=specs)


def _api_language(lang: str) -> str:
    """``"es-ES"``/``"fr"`` -> the API's ``lang`` value; anything else is English."""
    language = lang.replace("_", "-").split("-", 1)[0].lower()
    return language if language in NAME_LANGUAGES else "en"
