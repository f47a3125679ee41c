"""Rosters for ``/compose``: a typed list, or the players in a voice channel with linked accounts.

* :func:`parse_roster` turns ``"Alice: firebrand, scrapper; Bob: herald; Carol"`` into roster
  players and flexible slots (a bare name or ``any`` is a flexible slot), with an error that names
  the closest spec when one is misspelt.
* :func:`gather_voice_roster` asks the GW2 API which specs each voice member can play: the core
  spec of every character's profession plus the elite specs found in its build tabs. That is one
  request per linked member (``/v2/characters?ids=all``), whatever their number of characters. A
  member without a linked account, or whose key or characters fail, becomes a flexible slot with a
  note; it never fails the command. Requests run with bounded concurrency inside one time budget.

Nothing here imports Discord: members come in as ``(user id, display name)`` and keys through a
lookup callable, so the plaintext key stays between the key store and the GW2 client.
"""

from __future__ import annotations

import asyncio
import difflib
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from services.composer import Catalogue, RosterPlayer, default_catalogue
from services.composer.catalogue import SpecInfo
from services.errors import UserFacingError
from services.gw2 import GW2APIError, GW2Client
from services.gw2.errors import InvalidKeyError, MissingPermissionError
from services.i18n import N_, Message, PluralMessage
from services.secrets import mask_keys

__all__ = [
    "FLEXIBLE_WORDS",
    "LinkedAccount",
    "Roster",
    "RosterError",
    "VoiceMember",
    "gather_voice_roster",
    "parse_roster",
    "specs_from_build",
]

log = logging.getLogger(__name__)

MAX_TYPED_PLAYERS = 100
MAX_NAME_LENGTH = 64
# A typed entry whose specs are one of these words is a flexible slot (any spec).
FLEXIBLE_WORDS = frozenset({"any", "flex", "flexible", "?"})
EXAMPLE = "“Alice: firebrand, scrapper; Bob: herald”"

_PLAYER_SEPARATORS = re.compile(r"[;\n]+")
_SPEC_SEPARATORS = re.compile(r"[,/|]+")


class RosterError(UserFacingError):
    """The typed roster cannot be read; the text says what to fix."""


@dataclass(frozen=True, slots=True)
class VoiceMember:
    """Someone in the caller's voice channel (the Discord id never leaves this module's caller)."""

    user_id: int
    name: str


@dataclass(frozen=True, slots=True)
class LinkedAccount:
    """A member's active GW2 account. ``key`` is a secret: never log or show it."""

    account_name: str
    key: str = field(repr=False)


KeyLookup = Callable[[int], Awaitable[LinkedAccount | None]]


@dataclass(frozen=True, slots=True)
class Roster:
    """Players with known specs, flexible slots (anyone, any spec), and notes for the commander
    (messages rendered in the reader's language)."""

    players: tuple[RosterPlayer, ...] = ()
    flexible: tuple[str, ...] = ()
    notes: tuple[Message, ...] = ()

    @property
    def headcount(self) -> int:
        """Everybody: players with specs plus flexible slots."""
        return len(self.players) + len(self.flexible)


# --------------------------------------------------------------------------------- typed rosters


def parse_roster(
    text: str, catalogue: Catalogue | None = None, names: Mapping[str, str] | None = None
) -> Roster:
    """Read ``"Alice: firebrand, scrapper; Bob: herald; Carol"`` (``;`` or new line per player).

    Specs are catalogue keys, names or specialization ids (``firebrand``, ``Firebrand``, ``62``;
    a profession name is its core spec), or a name in ``names`` (spec key -> the name players
    use in their game language: ``Incendiaire``, ``Feuerbrand``). A name alone, or
    ``Name: any``, is a flexible slot. Raises :class:`RosterError` with the closest spec name
    for a typo.
    """
    catalogue = catalogue or default_catalogue()
    local = {name.casefold(): key for key, name in (names or {}).items()}

    def resolve(word: str) -> SpecInfo | None:
        found = catalogue.resolve_spec(word)
        key = local.get(word.strip().casefold()) if found is None else None
        return catalogue.specs.get(key) if key is not None else found

    entries = [e.strip() for e in _PLAYER_SEPARATORS.split(text) if e.strip()]
    if not entries:
        raise RosterError(
            N_("The roster is empty. Type players and their specs, e.g. {example}."),
            example=EXAMPLE,
        )
    if len(entries) > MAX_TYPED_PLAYERS:
        raise RosterError(
            N_("That roster has {count} players; {limit} at most."),
            count=len(entries),
            limit=MAX_TYPED_PLAYERS,
        )
    players: list[RosterPlayer] = []
    flexible: list[str] = []
    seen: set[str] = set()
    for entry in entries:
        name, colon, spec_text = entry.partition(":")
        name = " ".join(name.split())
        if not name:
            raise RosterError(
                N_("“{entry}” has no player name. Write it as {example}."),
                entry=_short(entry),
                example=EXAMPLE,
            )
        if len(name) > MAX_NAME_LENGTH:
            raise RosterError(
                N_("The name “{name}” is too long ({limit} at most)."),
                name=_short(name),
                limit=MAX_NAME_LENGTH,
            )
        if name.casefold() in seen:
            raise RosterError(
                N_("{name} is in the roster twice. List each player once."), name=name
            )
        seen.add(name.casefold())
        words = [w.strip() for w in _SPEC_SEPARATORS.split(spec_text) if w.strip()]
        if not colon and resolve(name) is not None:
            raise RosterError(
                N_(
                    "“{name}” looks like a spec, not a player. Put the player's name first: "
                    "{example}."
                ),
                name=name,
                example=EXAMPLE,
            )
        if not words or all(w.casefold() in FLEXIBLE_WORDS for w in words):
            flexible.append(name)
            continue
        specs: list[str] = []
        for word in words:
            if word.casefold() in FLEXIBLE_WORDS:
                continue
            spec = resolve(word)
            if spec is None:
                raise _unknown_spec_error(word, name, catalogue, names or {})
            if spec.key not in specs:
                specs.append(spec.key)
        players.append(RosterPlayer(name=name, specs=tuple(specs)))
    return Roster(players=tuple(players), flexible=tuple(flexible))


def _unknown_spec_error(
    word: str, player: str, catalogue: Catalogue, local: Mapping[str, str]
) -> RosterError:
    """``local``: spec key -> its name in the player's language."""
    names: dict[str, str] = {}
    for spec in catalogue.specs.values():
        names[spec.key.casefold()] = spec.name
        names[spec.name.casefold()] = spec.name
    # Names in the player's language too: the suggestion is in the words they typed.
    names.update({shown.casefold(): shown for shown in local.values()})
    close = difflib.get_close_matches(word.casefold(), list(names), n=1, cutoff=0.6)
    if close:
        return RosterError(
            N_("Unknown spec “{spec}” for {player}. Did you mean {suggestion}?"),
            spec=_short(word),
            player=player,
            suggestion=names[close[0]],
        )
    return RosterError(
        N_(
            "Unknown spec “{spec}” for {player}. Use spec or profession names such as "
            "firebrand, scrapper or herald."
        ),
        spec=_short(word),
        player=player,
    )


def _short(text: str, limit: int = 40) -> str:
    text = mask_keys(text)  # never echo a key, even cut short
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------------- voice rosters


def specs_from_build(profession: str, spec_ids: Iterable[int], catalogue: Catalogue) -> list[str]:
    """Spec keys one character can play: its profession's core spec plus elite specs in its build.

    Ids that are core trait lines, unknown, or of another profession are ignored.
    """
    core = catalogue.resolve_spec(profession) if profession else None
    if core is None:
        return []
    found = [core.key]
    for spec_id in spec_ids:
        spec = catalogue.resolve_spec(spec_id)
        if (
            spec is not None
            and spec.specialization_id == spec_id
            and spec.expansion != "core"
            and spec.profession == core.profession
            and spec.key not in found
        ):
            found.append(spec.key)
    return found


async def gather_voice_roster(
    members: Sequence[VoiceMember],
    *,
    gw2: GW2Client,
    key_lookup: KeyLookup,
    catalogue: Catalogue | None = None,
    concurrency: int = 6,
    budget_s: float = 6.0,
    max_characters: int = 40,
) -> Roster:
    """Each member's playable specs from their linked account's characters.

    Members are named by ``name`` (made unique with `` (2)``, `` (3)``…). Unlinked members, and
    members whose key, characters or builds cannot be read within ``budget_s``, become flexible
    slots with a note. At most ``concurrency`` GW2 requests run at once for the whole roster.
    """
    catalogue = catalogue or default_catalogue()
    names = _unique_names([m.name for m in members])
    gate = asyncio.Semaphore(max(1, concurrency))
    tasks = [
        asyncio.create_task(
            _member_specs(
                member.user_id,
                gw2=gw2,
                key_lookup=key_lookup,
                catalogue=catalogue,
                gate=gate,
                budget_s=budget_s,
                max_characters=max_characters,
            ),
            name=f"roster-member-{index}",
        )
        for index, member in enumerate(members)
    ]
    if tasks:
        _, pending = await asyncio.wait(tasks, timeout=budget_s)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    players: list[RosterPlayer] = []
    flexible: list[str] = []
    unlinked: list[str] = []
    notes: list[Message] = []
    for name, task in zip(names, tasks, strict=True):
        if task.cancelled():
            flexible.append(name)
            notes.append(Message("{name}: the GW2 API was too slow, flexible slot.", name=name))
            continue
        exception = task.exception()
        if exception is not None:
            log.warning("Roster lookup failed for a member: %s", type(exception).__name__)
            flexible.append(name)
            notes.append(
                Message("{name}: couldn't read their characters, flexible slot.", name=name)
            )
            continue
        outcome = task.result()
        if outcome.specs:
            players.append(RosterPlayer(name=name, specs=outcome.specs))
        elif outcome.problem is None:
            flexible.append(name)
            unlinked.append(name)
        else:
            flexible.append(name)
            notes.append(Message(outcome.problem, name=name))
    if unlinked:
        notes.insert(
            0,
            PluralMessage(
                "No linked GW2 account (flexible slot): {names}.",
                "No linked GW2 accounts (flexible slots): {names}.",
                len(unlinked),
                names=", ".join(unlinked),
            ),
        )
    return Roster(players=tuple(players), flexible=tuple(flexible), notes=tuple(notes))


@dataclass(frozen=True, slots=True)
class _MemberOutcome:
    specs: tuple[str, ...] = ()
    # None with no specs: the member has no linked account. Else the note's message id
    # (``{name}: …, flexible slot.``).
    problem: str | None = None


async def _member_specs(
    user_id: int,
    *,
    gw2: GW2Client,
    key_lookup: KeyLookup,
    catalogue: Catalogue,
    gate: asyncio.Semaphore,
    budget_s: float,
    max_characters: int,
) -> _MemberOutcome:
    account = await key_lookup(user_id)
    if account is None:
        return _MemberOutcome()
    try:
        async with gate:
            characters = (await gw2.characters_all(account.key, budget=budget_s)).value
    except GW2APIError as error:
        return _MemberOutcome(problem=_problem(error))
    if not characters:
        return _MemberOutcome(problem=N_("{name}: no characters on their account, flexible slot."))
    characters = characters[:max_characters]
    if not any(c.build_tabs for c in characters):
        # Every character has at least one build tab; the API leaves them out when the key
        # lacks ``builds``, and then the elite specs are unknown (as with a 403 per character).
        return _MemberOutcome(problem=_NO_PERMISSION)
    found: list[str] = []
    for character in characters:
        tabs = character.build_tabs
        profession = character.profession or next(
            (t.build.profession for t in tabs if t.build.profession), ""
        )
        specs: list[str] = []
        for tab in tabs:
            specs.extend(specs_from_build(profession, tab.specialization_ids(), catalogue))
        if not tabs:
            specs.extend(specs_from_build(profession, (), catalogue))
        found.extend(s for s in specs if s not in found)
    if found:
        return _MemberOutcome(specs=tuple(sorted(found)))
    return _MemberOutcome(problem=N_("{name}: no known spec on their characters, flexible slot."))


_NO_PERMISSION = N_(
    "{name}: their API key lacks the characters or builds permission, flexible slot."
)


def _problem(error: GW2APIError) -> str:
    """Why a member's specs are unknown, in the commander's words (never the key)."""
    if isinstance(error, MissingPermissionError):
        return _NO_PERMISSION
    if isinstance(error, InvalidKeyError):
        return N_("{name}: the GW2 API rejected their key, flexible slot.")
    return N_("{name}: the GW2 API did not answer, flexible slot.")


def _unique_names(names: Sequence[str]) -> list[str]:
    out: list[str] = []
    used: set[str] = set()
    for raw in names:
        base = " ".join(raw.split())[: MAX_NAME_LENGTH - 5] or "Player"
        name, number = base, 1
        while name.casefold() in used:
            number += 1
            name = f"{base} ({number})"
        used.add(name.casefold())
        out.append(name)
    return out
