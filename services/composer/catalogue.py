"""The spec catalogue: professions, elite specs, the WvW roles each can fill, and the modes.

Everything here is data read from ``services/data/specs.json``; balance patches change that file,
not this code. A spec is identified by its ``key`` (``"firebrand"``), its display name or its
specialization id (``62``); core professions use the profession name as key (``"guardian"``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = [
    "Catalogue",
    "CatalogueError",
    "ModeSpec",
    "RoleOption",
    "SpecInfo",
    "SquadTarget",
    "default_catalogue",
    "load_catalogue",
]

DEFAULT_CATALOGUE_PATH = Path(__file__).resolve().parent.parent / "data" / "specs.json"
MAX_SQUAD = 50  # the game's squad limit


class CatalogueError(ValueError):
    """The catalogue file is inconsistent (unknown need, role or duplicate spec)."""


@dataclass(frozen=True, slots=True)
class SpecInfo:
    """One playable specialization (core profession or elite spec)."""

    key: str
    name: str
    profession: str
    profession_name: str
    specialization_id: int | None
    expansion: str


@dataclass(frozen=True, slots=True)
class RoleOption:
    """A spec playing one role: what it gives its subgroup and the squad."""

    spec: SpecInfo
    role: str
    role_label: str
    subgroup: frozenset[str]
    squad: Mapping[str, int]
    preference: int

    @property
    def key(self) -> str:
        """Stable identifier ``spec:role`` (used in signatures and proposals)."""
        return f"{self.spec.key}:{self.role}"

    @property
    def label(self) -> str:
        """``Firebrand (stab support)``."""
        return f"{self.spec.name} ({self.role_label})"


@dataclass(frozen=True, slots=True)
class SquadTarget:
    """A squad-wide need: ``max(minimum, ceil(size * per_10_players / 10))`` units of ``weight``."""

    per_10_players: int
    minimum: int
    weight: int

    def target(self, size: int) -> int:
        """How many units of this need a squad of ``size`` players wants."""
        if self.weight <= 0:
            return 0
        return max(self.minimum, math.ceil(size * self.per_10_players / 10))


@dataclass(frozen=True, slots=True)
class ModeSpec:
    """A composition mode: per-player subgroup need weights and squad-wide targets."""

    key: str
    label: str
    description: str
    min_size: int
    max_size: int
    subgroup_weights: Mapping[str, int]
    squad_targets: Mapping[str, SquadTarget]


@dataclass(frozen=True)
class Catalogue:
    """The loaded catalogue. Options are sorted by key: iteration order never depends on hashing."""

    subgroup_needs: Mapping[str, str]
    squad_needs: Mapping[str, str]
    roles: Mapping[str, str]
    specs: Mapping[str, SpecInfo]
    options: tuple[RoleOption, ...]
    modes: Mapping[str, ModeSpec]
    _lookup: Mapping[str, str] = field(repr=False, default_factory=dict)

    def resolve_spec(self, ref: str | int) -> SpecInfo | None:
        """The spec named by key, display name or specialization id (case-insensitive), or None."""
        text = str(ref).strip().casefold()
        spec_key = self._lookup.get(text)
        return self.specs[spec_key] if spec_key is not None else None

    def options_for(self, spec_key: str) -> tuple[RoleOption, ...]:
        """Every role the spec can fill, sorted by option key."""
        return tuple(o for o in self.options if o.spec.key == spec_key)

    def option(self, spec_key: str, role: str) -> RoleOption | None:
        """The option ``spec_key`` playing ``role``, or None when the spec cannot fill that role."""
        for candidate in self.options:
            if candidate.spec.key == spec_key and candidate.role == role:
                return candidate
        return None

    def mode(self, key: str) -> ModeSpec | None:
        """The mode called ``key`` (case-insensitive), or None."""
        return self.modes.get(key.strip().casefold())

    def need_label(self, need: str) -> str:
        """Display label of a subgroup or squad-wide need."""
        return self.subgroup_needs.get(need) or self.squad_needs.get(need) or need


@lru_cache(maxsize=1)
def default_catalogue() -> Catalogue:
    """The catalogue shipped in the package (loaded once per process)."""
    return load_catalogue(DEFAULT_CATALOGUE_PATH)


def load_catalogue(path: str | Path) -> Catalogue:
    """A catalogue from a JSON file with the same shape as the shipped one (for overrides)."""
    return parse_catalogue(json.loads(Path(path).read_text(encoding="utf-8")))


def parse_catalogue(doc: Mapping[str, Any]) -> Catalogue:
    """Validate and index a catalogue document."""
    sub_needs = {k: str(v["label"]) for k, v in sorted(doc["subgroup_needs"].items())}
    squad_needs = {k: str(v["label"]) for k, v in sorted(doc["squad_needs"].items())}
    roles = {k: str(v["label"]) for k, v in sorted(doc["roles"].items())}
    specs: dict[str, SpecInfo] = {}
    options: list[RoleOption] = []
    lookup: dict[str, str] = {}
    for prof in doc["professions"]:
        for raw in prof["specs"]:
            key = str(raw["key"])
            if key in specs:
                raise CatalogueError(f"duplicate spec {key!r}")
            sid = raw.get("specialization_id")
            spec = SpecInfo(
                key=key,
                name=str(raw["name"]),
                profession=str(prof["key"]),
                profession_name=str(prof["name"]),
                specialization_id=int(sid) if sid is not None else None,
                expansion=str(raw.get("expansion", "core")),
            )
            specs[key] = spec
            for alias in (key, spec.name, *([str(sid)] if sid is not None else [])):
                lookup[alias.casefold()] = key
            if not raw["roles"]:
                raise CatalogueError(f"spec {key!r} has no role")
            for role, contrib in raw["roles"].items():
                if role not in roles:
                    raise CatalogueError(f"spec {key!r}: unknown role {role!r}")
                boons = frozenset(str(b) for b in contrib.get("subgroup", []))
                if unknown := set(boons) - set(sub_needs):
                    raise CatalogueError(f"spec {key!r}: unknown subgroup needs {sorted(unknown)}")
                squad = {str(k): int(v) for k, v in sorted(contrib.get("squad", {}).items())}
                if unknown := set(squad) - set(squad_needs):
                    raise CatalogueError(f"spec {key!r}: unknown squad needs {sorted(unknown)}")
                options.append(
                    RoleOption(
                        spec=spec,
                        role=role,
                        role_label=roles[role],
                        subgroup=boons,
                        squad=squad,
                        preference=int(contrib.get("preference", 0)),
                    )
                )
    modes: dict[str, ModeSpec] = {}
    for key, raw in sorted(doc["modes"].items()):
        weights = {str(k): int(v) for k, v in sorted(raw["subgroup_weights"].items())}
        if unknown := set(weights) - set(sub_needs):
            raise CatalogueError(f"mode {key!r}: unknown subgroup needs {sorted(unknown)}")
        targets = {
            str(k): SquadTarget(int(v["per_10_players"]), int(v["minimum"]), int(v["weight"]))
            for k, v in sorted(raw["squad_targets"].items())
        }
        if unknown := set(targets) - set(squad_needs):
            raise CatalogueError(f"mode {key!r}: unknown squad needs {sorted(unknown)}")
        min_size, max_size = int(raw.get("min_size", 1)), int(raw.get("max_size", MAX_SQUAD))
        if not 1 <= min_size <= max_size <= MAX_SQUAD:
            raise CatalogueError(
                f"mode {key!r}: sizes {min_size}–{max_size} are not within 1–{MAX_SQUAD}"
                " with min_size <= max_size"
            )
        modes[key.casefold()] = ModeSpec(
            key=key.casefold(),
            label=str(raw["label"]),
            description=str(raw.get("description", "")),
            min_size=min_size,
            max_size=max_size,
            subgroup_weights=weights,
            squad_targets=targets,
        )
    return Catalogue(
        subgroup_needs=sub_needs,
        squad_needs=squad_needs,
        roles=roles,
        specs=dict(sorted(specs.items())),
        options=tuple(sorted(options, key=lambda o: o.key)),
        modes=modes,
        _lookup=lookup,
    )
