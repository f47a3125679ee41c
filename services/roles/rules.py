"""Verified roles as pure rules: which managed roles a member should have, and what to change.

A rule says "role ← condition". A member's *standing* is what we know of their linked account:
no key, a key the revalidation policy declared invalid, the facts of a fresh API answer, or
*unknown* (the API failed, answered stale, or said "invalid key" before the policy agreed). The
diff between the desired roles and the member's current roles only ever touches roles a rule
manages, and never removes anything while the standing is unknown or the API looks down.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from services.i18n import Message

MAX_RULES_PER_GUILD = 15
NICKNAME_LIMIT = 32
NICKNAME_SEPARATOR = " | "


class ConditionKind(StrEnum):
    """What a rule checks; the value is a GW2 guild id, a team id or nothing."""

    VERIFIED = "verified"  # a linked key that the revalidation policy has not declared invalid
    WVW_GUILD = "wvw_guild"  # the account's selected WvW guild is the value
    GUILD_MEMBER = "guild_member"  # the value is among the account's guilds
    WVW_TEAM = "wvw_team"  # the account's current WvW team is the value


@dataclass(frozen=True, slots=True)
class RoleRule:
    """One stored rule of one Discord server."""

    id: int
    role_id: int
    kind: ConditionKind
    value: str = ""
    label: str = ""  # what to show for the value (guild name and tag, team name)
    requires_role_id: int | None = None  # applies only to members who get (or keep) that role


@dataclass(frozen=True, slots=True)
class AccountFacts:
    """What the API said about one account; ``None`` fields were not asked for or not allowed."""

    account_name: str
    guilds: frozenset[str] | None = None
    wvw_guild: str | None = None
    wvw_team: int | None = None


class StandingKind(StrEnum):
    NO_KEY = "no_key"  # never linked, or unlinked: definitive
    INVALID = "invalid"  # the revalidation policy declared the key invalid: definitive
    VERIFIED = "verified"  # a fresh answer: definitive
    UNKNOWN = "unknown"  # the API failed or the answer is not trustworthy: remove nothing


@dataclass(frozen=True, slots=True)
class Standing:
    kind: StandingKind
    facts: AccountFacts | None = None
    # Whether the key's name carried the ownership code; a server that requires ownership treats
    # an unverified key as no key (see ``standing_in``).
    ownership_verified: bool = True

    @property
    def certain(self) -> bool:
        return self.kind is not StandingKind.UNKNOWN

    @property
    def account_name(self) -> str | None:
        return self.facts.account_name if self.facts else None


NO_KEY = Standing(StandingKind.NO_KEY)
INVALID = Standing(StandingKind.INVALID)
UNKNOWN = Standing(StandingKind.UNKNOWN)


def standing_in(standing: Standing, *, ownership_required: bool) -> Standing:
    """The standing as one server sees it: where key ownership is required, an unverified key
    counts as no key (it grants no role and no nickname suffix)."""
    if ownership_required and not standing.ownership_verified:
        return NO_KEY
    return standing


@dataclass(frozen=True, slots=True)
class RoleChange:
    """Roles to add and remove for one member in one server."""

    add: frozenset[int] = frozenset()
    remove: frozenset[int] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.add or self.remove)


@dataclass(frozen=True, slots=True)
class Needs:
    """Which account endpoints a set of rules needs (each is one GW2 request per account)."""

    account: bool = False  # /v2/account: the guild list
    account_wvw: bool = False  # /v2/account/wvw: WvW team and WvW guild

    @property
    def requests(self) -> int:
        return int(self.account) + int(self.account_wvw)

    def __or__(self, other: Needs) -> Needs:
        return Needs(self.account or other.account, self.account_wvw or other.account_wvw)


def needs_of(rules: Iterable[RoleRule]) -> Needs:
    kinds = {rule.kind for rule in rules}
    return Needs(
        account=ConditionKind.GUILD_MEMBER in kinds,
        account_wvw=bool(kinds & {ConditionKind.WVW_GUILD, ConditionKind.WVW_TEAM}),
    )


def matches(rule: RoleRule, standing: Standing) -> bool:
    """Whether the member meets the rule's own condition (not its requirement)."""
    if standing.kind is not StandingKind.VERIFIED or standing.facts is None:
        return False
    facts = standing.facts
    if rule.kind is ConditionKind.VERIFIED:
        return True
    if rule.kind is ConditionKind.WVW_GUILD:
        return facts.wvw_guild is not None and facts.wvw_guild.lower() == rule.value.lower()
    if rule.kind is ConditionKind.GUILD_MEMBER:
        return facts.guilds is not None and rule.value.lower() in {g.lower() for g in facts.guilds}
    # ConditionKind.WVW_TEAM
    return facts.wvw_team is not None and str(facts.wvw_team) == rule.value


def desired_roles(rules: Sequence[RoleRule], standing: Standing) -> frozenset[int]:
    """The managed roles the member should hold (rules on one role are alternatives).

    A rule with a requirement counts only when its required role is desired too; requirements
    form no cycles (``check_new_rule`` refuses them), so a fixed point is reached quickly.
    """
    desired: set[int] = set()
    while True:
        before = len(desired)
        for rule in rules:
            if rule.role_id in desired or not matches(rule, standing):
                continue
            if rule.requires_role_id is None or rule.requires_role_id in desired:
                desired.add(rule.role_id)
        if len(desired) == before:
            return frozenset(desired)


def managed_roles(rules: Iterable[RoleRule]) -> frozenset[int]:
    return frozenset(rule.role_id for rule in rules)


def plan_change(
    rules: Sequence[RoleRule],
    standing: Standing,
    current: Iterable[int],
    *,
    allow_removals: bool = True,
    unmanageable: Iterable[int] = (),
) -> RoleChange:
    """What to change so the member holds exactly the desired managed roles.

    Only managed roles are ever touched; with an unknown standing nothing is added or removed;
    ``allow_removals=False`` (the API looks down) keeps every role the member has; roles the bot
    cannot manage (above its own) are left alone.
    """
    if not standing.certain:
        return RoleChange()
    managed = managed_roles(rules) - frozenset(unmanageable)
    held = frozenset(current) & managed
    desired = desired_roles(rules, standing) & managed
    remove = held - desired if allow_removals else frozenset()
    return RoleChange(add=desired - held, remove=remove)


def check_new_rule(existing: Sequence[RoleRule], new: RoleRule) -> Message | None:
    """Why ``new`` cannot be added (limit, duplicate, requirement loop), or None."""
    if len(existing) >= MAX_RULES_PER_GUILD:
        return Message(
            "This server already has {count} role rules, the most allowed. "
            "Remove one with /roles remove first.",
            count=MAX_RULES_PER_GUILD,
        )
    for rule in existing:
        if (rule.role_id, rule.kind, rule.value.lower()) == (
            new.role_id,
            new.kind,
            new.value.lower(),
        ):
            return Message("That rule already exists (see /roles show).")
    if new.requires_role_id == new.role_id:
        return Message("A role can't require itself.")
    if new.requires_role_id is not None and new.requires_role_id not in managed_roles(existing):
        return Message(
            "The required role must be one a rule gives (add that rule first), or members "
            "could never meet this one."
        )
    if new.requires_role_id is not None:
        edges: dict[int, set[int]] = {}
        for rule in [*existing, new]:
            if rule.requires_role_id is not None:
                edges.setdefault(rule.role_id, set()).add(rule.requires_role_id)
        if _reaches(edges, new.requires_role_id, new.role_id):
            return Message("Those requirements would go in a circle: pick another required role.")
    return None


def _reaches(edges: Mapping[int, set[int]], start: int, target: int) -> bool:
    seen: set[int] = set()
    stack = [start]
    while stack:
        node = stack.pop()
        if node == target:
            return True
        if node in seen:
            continue
        seen.add(node)
        stack.extend(edges.get(node, ()))
    return False


# ---------------------------------------------------------------------------------------------
# nickname suffix


def base_nickname(display: str) -> str:
    """``display`` without a suffix this bot added (``Name | Account.1234`` → ``Name``)."""
    head, sep, tail = display.rpartition(NICKNAME_SEPARATOR)
    if sep and _looks_like_account(tail):
        return head
    return display


def nickname_with_suffix(display: str, account_name: str | None) -> str:
    """``Name | Account.1234`` within Discord's 32 characters (the name is shortened first).

    ``account_name=None`` gives the name without a suffix (the member is no longer verified).
    """
    base = base_nickname(display).strip() or display
    if account_name is None:
        return base[:NICKNAME_LIMIT]
    suffix = NICKNAME_SEPARATOR + account_name
    room = NICKNAME_LIMIT - len(suffix)
    if room < 1:
        return account_name[:NICKNAME_LIMIT]
    if len(base) > room:
        base = base[: room - 1].rstrip() + "…"
    return base + suffix


def _looks_like_account(text: str) -> bool:
    name, dot, digits = text.rpartition(".")
    return bool(dot and name and len(digits) == 4 and digits.isdigit())


# ---------------------------------------------------------------------------------------------
# the schedule


@dataclass(frozen=True, slots=True)
class SchedulePolicy:
    """How often every linked account is re-checked."""

    base_period_s: float = 3600.0
    gw2_rate_per_s: float = 5.0  # ArenaNet's refill rate
    gw2_share: float = 0.8  # the part of it role sync may use; the rest is for commands and loops


def sync_period(
    accounts: int, requests_per_account: int, policy: SchedulePolicy = SchedulePolicy()
) -> float:
    """The period in seconds: the base, stretched when the GW2 rate cannot cover every account."""
    floor = accounts * requests_per_account / (policy.gw2_rate_per_s * policy.gw2_share)
    return max(policy.base_period_s, floor)


@dataclass(frozen=True, slots=True)
class GuildRules:
    """One server's rules and options, as the sync reads them."""

    guild_id: int
    rules: tuple[RoleRule, ...] = ()
    nickname_suffix: bool = False
    strict: bool = False
    needs: Needs = field(default=Needs())
    ownership_required: bool = False  # the server's key ownership policy is "required"
