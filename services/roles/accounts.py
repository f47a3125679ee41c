"""A member's standing from their linked key: one GW2 request per endpoint the rules need.

The caller hands in the stored link (account name, key, permissions, whether the revalidation
policy declared the key invalid); this asks ``/v2/account`` and/or ``/v2/account/wvw`` only when
some rule needs them (the client caches and coalesces, so several servers asking about the same
account in one period cost one request). Failures never become "not verified": an invalid-key
answer or an API error gives ``UNKNOWN`` with the answer kind for the outage guard, and only
the stored ``valid=False`` (the policy's decision) gives ``INVALID``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from services.gw2 import GW2APIError, InvalidKeyError, MissingPermissionError
from services.keys import CheckResult

from .rules import INVALID, NO_KEY, UNKNOWN, AccountFacts, Needs, Standing, StandingKind

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LinkedAccount:
    """A stored link as the role sync needs it. Never log or show ``key``."""

    account_name: str
    key: str
    permissions: frozenset[str]
    valid: bool  # False once the revalidation policy declared the key invalid

    def __repr__(self) -> str:
        return f"LinkedAccount(account={self.account_name!r}, valid={self.valid})"


class AccountAPI(Protocol):
    """The two GW2 client methods used here (``GW2Client`` has them)."""

    async def account(self, key: str) -> Any: ...

    async def account_wvw(self, key: str) -> Any: ...


async def fetch_standing(
    api: AccountAPI, linked: LinkedAccount | None, needs: Needs
) -> tuple[Standing, CheckResult | None]:
    """The member's standing and, when the API was asked, what it answered (for the guard)."""
    if linked is None:
        return NO_KEY, None
    if not linked.valid:
        return INVALID, None
    guilds: frozenset[str] | None = None
    wvw_guild: str | None = None
    wvw_team: int | None = None
    try:
        if needs.account:
            fetched = await api.account(linked.key)
            if fetched.stale:
                return UNKNOWN, CheckResult.TRANSIENT_ERROR
            guilds = frozenset(fetched.value.guilds)
            wvw_team = fetched.value.wvw.team_id
        if needs.account_wvw and "wvw" in linked.permissions:
            wvw = await api.account_wvw(linked.key)
            if wvw.stale:
                return UNKNOWN, CheckResult.TRANSIENT_ERROR
            wvw_guild = wvw.value.guild
            wvw_team = wvw.value.team if wvw.value.team is not None else wvw_team
    except InvalidKeyError:
        return UNKNOWN, CheckResult.INVALID_KEY
    except MissingPermissionError:
        pass  # a key without the scope: the facts it would give stay unknown, so rules fail
    except GW2APIError as error:
        log.info("Role sync: account lookup failed (%s)", error.outcome)
        return UNKNOWN, CheckResult.TRANSIENT_ERROR
    facts = AccountFacts(linked.account_name, guilds, wvw_guild, wvw_team)
    asked = needs.account or (needs.account_wvw and "wvw" in linked.permissions)
    return Standing(StandingKind.VERIFIED, facts), CheckResult.VALID if asked else None
