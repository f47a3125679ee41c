"""The state behind a /compose answer's buttons: the custom id's parameters (validated as strictly
as the command's options) and the in-memory session (bound to the user who ran /compose)."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import Literal, cast

from services.composer import ComposeRequest, MatchContext, default_catalogue
from services.i18n import Message

RosterKind = Literal["f", "v", "t"]  # free, voice, typed

MAX_SIZE = 50
MAX_REROLLS = 10

REROLL_TEMPLATE = (
    r"compose:reroll:(?P<size>\d{1,2}):(?P<mode>[a-z_]{1,20}):(?P<team>\d{1,8}):"
    r"(?P<roster>[fvt]):(?P<alt>\d{1,2})"
)


@dataclass(frozen=True, slots=True)
class PlanParams:
    """What a button needs to rebuild a plan; encoded in its custom id (well under 100 chars)."""

    size: int
    mode: str
    team_id: int
    roster: RosterKind
    alternative: int = 0

    def reroll_id(self) -> str:
        return (
            f"compose:reroll:{self.size}:{self.mode}:{self.team_id}:{self.roster}:"
            f"{self.alternative}"
        )

    @classmethod
    def from_match(cls, match: re.Match[str]) -> PlanParams | None:
        """The parameters of a custom id, or None when they are out of range (a forged or stale
        id): component state is validated as strictly as the command's options."""
        size, alternative = int(match["size"]), int(match["alt"])
        mode = match["mode"]
        if not 1 <= size <= MAX_SIZE or not 0 <= alternative < MAX_REROLLS:
            return None
        if mode not in default_catalogue().modes:
            return None
        return cls(
            size=size,
            mode=mode,
            team_id=int(match["team"]),
            roster=cast(RosterKind, match["roster"]),
            alternative=alternative,
        )


@dataclass
class PlanSession:
    """A shown plan's inputs, kept in memory so rerolls reuse the same roster and match."""

    request: ComposeRequest
    match: MatchContext | None
    notes: tuple[Message, ...]  # roster and match notes, shown in the reader's language
    owner_id: int | None = None  # who ran /compose: only they may drive the plan's buttons
    seen: list[str] = field(default_factory=list)  # optimizer plan signatures shown so far
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
