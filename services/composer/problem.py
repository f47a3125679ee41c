"""A request resolved against the catalogue: sizes, weights, targets and player classes.

Roster players matter to the optimizer only through the set of options (spec × role) they can
play, so players with the same set form one *class*; open slots form one more class that can play
everything. This is what keeps the integer model small for any roster.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property

from services.composer.catalogue import (
    MAX_SQUAD,
    Catalogue,
    ModeSpec,
    RoleOption,
    default_catalogue,
)
from services.composer.models import ComposeRequest
from services.errors import UserFacingError

__all__ = ["CompositionError", "PlayerClass", "Problem", "resolve", "subgroup_sizes"]

MAX_SUBGROUP = 5


class CompositionError(UserFacingError):
    """The request cannot be planned as given (unknown spec, player or mode, impossible locks)."""


@dataclass(frozen=True, slots=True)
class PlayerClass:
    """Players (or open slots) that can play exactly the same options."""

    key: str
    players: tuple[str, ...]
    options: tuple[int, ...]
    count: int
    required: bool
    is_open: bool


@dataclass(frozen=True)
class Problem:
    """Everything the optimizer and the scorer need, in deterministic (sorted) order."""

    request: ComposeRequest
    catalogue: Catalogue
    mode: ModeSpec
    size: int
    sizes: tuple[int, ...]
    options: tuple[RoleOption, ...]
    weights: dict[str, int]
    targets: dict[str, tuple[int, int]]
    classes: tuple[PlayerClass, ...]
    allowed: dict[str, frozenset[int]]
    locked: dict[str, frozenset[int]]
    open_slots: int

    @property
    def has_roster(self) -> bool:
        """True when a roster restricts who plays what."""
        return bool(self.request.roster)

    @cached_property
    def option_index(self) -> dict[str, int]:
        """Option key → index in ``options``."""
        return {o.key: i for i, o in enumerate(self.options)}

    @cached_property
    def profiles(self) -> tuple[frozenset[str], ...]:
        """Per option, the weighted subgroup needs it covers."""
        weighted = frozenset(self.weights)
        return tuple(o.subgroup & weighted for o in self.options)

    @cached_property
    def playable(self) -> frozenset[int]:
        """Options at least one class can play."""
        return frozenset(i for c in self.classes for i in c.options)


def subgroup_sizes(size: int, layout: str) -> tuple[int, ...]:
    """Subgroup sizes: ``ceil(size/5)`` subgroups, balanced or filled five by five."""
    count = math.ceil(size / MAX_SUBGROUP)
    if layout == "fill":
        rest = size - MAX_SUBGROUP * (count - 1)
        return (MAX_SUBGROUP,) * (count - 1) + (rest,)
    base, extra = divmod(size, count)
    return (base + 1,) * extra + (base,) * (count - extra)


def resolve(request: ComposeRequest, catalogue: Catalogue | None = None) -> Problem:
    """Check ``request`` against the catalogue and group players into classes."""
    catalogue = catalogue or default_catalogue()
    if not 1 <= request.size <= MAX_SQUAD:
        raise CompositionError(f"A squad takes 1–{MAX_SQUAD} players, not {request.size}.")
    mode = catalogue.mode(request.mode)
    if mode is None:
        raise CompositionError(
            f"Unknown mode {request.mode!r}: use one of {', '.join(sorted(catalogue.modes))}."
        )
    if not mode.min_size <= request.size <= mode.max_size:
        raise CompositionError(
            f"{mode.label} plans take {mode.min_size}–{mode.max_size} players, not {request.size}."
        )
    options = catalogue.options
    index = {o.key: i for i, o in enumerate(options)}
    by_spec: dict[str, list[int]] = defaultdict(list)
    for i, o in enumerate(options):
        by_spec[o.spec.key].append(i)

    allowed: dict[str, frozenset[int]] = {}
    for player in request.roster:
        if player.name in allowed:
            raise CompositionError(f"{player.name} is in the roster twice.")
        chosen: set[int] = set()
        for ref in player.specs:
            spec = catalogue.resolve_spec(ref)
            if spec is None:
                raise CompositionError(f"Unknown spec {ref!r} for {player.name}.")
            chosen.update(by_spec[spec.key])
        allowed[player.name] = frozenset(chosen)

    locked: dict[str, frozenset[int]] = {}
    for lock in request.locks:
        if lock.player not in allowed:
            raise CompositionError(f"Locked player {lock.player} is not in the roster.")
        if lock.player in locked:
            raise CompositionError(f"{lock.player} is locked twice.")
        spec = catalogue.resolve_spec(lock.spec)
        if spec is None:
            raise CompositionError(f"Unknown spec {lock.spec!r} in the lock for {lock.player}.")
        picks = set(by_spec[spec.key])
        if lock.role is not None:
            option = catalogue.option(spec.key, lock.role.strip().casefold())
            if option is None:
                raise CompositionError(f"{spec.name} cannot play {lock.role!r}.")
            picks = {index[option.key]}
        if not picks & allowed[lock.player]:
            raise CompositionError(f"{lock.player} cannot play {spec.name}.")
        locked[lock.player] = frozenset(picks & allowed[lock.player])
    if len(locked) > request.size:
        raise CompositionError(f"{len(locked)} locked players do not fit in {request.size} slots.")

    roster_all_in = len(request.roster) <= request.size
    open_slots = request.size - len(request.roster) if roster_all_in else 0
    groups: dict[tuple[tuple[int, ...], bool], list[str]] = defaultdict(list)
    for player in request.roster:
        opts = locked.get(player.name, allowed[player.name])
        required = roster_all_in or player.name in locked
        groups[(tuple(sorted(opts)), required)].append(player.name)
    classes = [
        PlayerClass(
            key=f"{'r' if req else 'o'}:{'.'.join(map(str, opts))}",
            players=tuple(sorted(names)),
            options=opts,
            count=len(names),
            required=req,
            is_open=False,
        )
        for (opts, req), names in groups.items()
    ]
    if open_slots:
        classes.append(
            PlayerClass(
                key="~open",
                players=(),
                options=tuple(range(len(options))),
                count=open_slots,
                required=True,
                is_open=True,
            )
        )
    classes.sort(key=lambda c: c.key)
    weights = {k: w for k, w in sorted(mode.subgroup_weights.items()) if w > 0}
    targets = {
        need: (t.target(request.size), t.weight)
        for need, t in sorted(mode.squad_targets.items())
        if t.weight > 0 and t.target(request.size) > 0
    }
    return Problem(
        request=request,
        catalogue=catalogue,
        mode=mode,
        size=request.size,
        sizes=subgroup_sizes(request.size, request.layout),
        options=options,
        weights=weights,
        targets=targets,
        classes=tuple(classes),
        allowed=allowed,
        locked=locked,
        open_slots=open_slots,
    )
