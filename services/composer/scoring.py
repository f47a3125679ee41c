"""One scoring for every plan: the optimizer's, an AI proposal, a commander's edit.

A *raw plan* is a tuple of subgroups, each a tuple of ``(player or None, option index)``; ``None``
is an open slot. ``build_plan`` turns it into the canonical :class:`Plan` (sorted slots and
subgroups, so equal plans serialise byte-identically); ``score_plan`` re-scores any ``Plan``
against a request and lists the rules it breaks.

Score (all integers): for every subgroup and every weighted need it covers, ``weight × subgroup
size`` (a boon is worth as much as the players it reaches); for every squad-wide need,
``weight × min(reached, target)``; plus the catalogue's small ``preference`` of each slot's role.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from services.composer.catalogue import Catalogue
from services.composer.models import (
    ComposeRequest,
    NeedCoverage,
    Plan,
    PlanScore,
    Slot,
    SquadNeedCoverage,
    SubgroupPlan,
    UnmetNeed,
    UnmetReason,
)
from services.composer.problem import MAX_SUBGROUP, Problem, resolve

__all__ = [
    "RawPlan",
    "build_plan",
    "composition",
    "parse_signature",
    "raw_score",
    "score_plan",
    "signature_of",
]

RawSlot = tuple[str | None, int]
RawPlan = tuple[tuple[RawSlot, ...], ...]

SIGNATURE_VERSION = "v1"


def raw_score(problem: Problem, raw: Sequence[Sequence[RawSlot]]) -> tuple[int, int, int]:
    """(subgroup, squad, preference) score of a raw plan."""
    subgroup = 0
    totals: Counter[str] = Counter()
    preference = 0
    for group in raw:
        covered: set[str] = set()
        for _, opt in group:
            covered |= problem.profiles[opt]
            option = problem.options[opt]
            preference += option.preference
            totals.update(option.squad)
        subgroup += len(group) * sum(problem.weights[b] for b in covered)
    squad = sum(
        weight * min(totals[need], target) for need, (target, weight) in problem.targets.items()
    )
    return subgroup, squad, preference


def composition(raw: Iterable[Sequence[RawSlot]]) -> Counter[int]:
    """How many slots play each option (the plan's squad composition)."""
    return Counter(opt for group in raw for _, opt in group)


def signature_of(problem: Problem, raw: Iterable[Sequence[RawSlot]]) -> str:
    """A stable text key of the plan's composition: two plans differ iff their signatures do."""
    counts = composition(raw)
    body = ",".join(
        f"{problem.options[i].key}*{n}"
        for i, n in sorted(counts.items(), key=lambda kv: problem.options[kv[0]].key)
    )
    return f"{SIGNATURE_VERSION}|{problem.mode.key}|{problem.size}|{body}"


def parse_signature(problem: Problem, signature: str) -> Counter[int] | None:
    """The composition of a signature made for this mode and size, else None."""
    parts = signature.split("|")
    if len(parts) != 4 or parts[0] != SIGNATURE_VERSION:
        return None
    if parts[1] != problem.mode.key or parts[2] != str(problem.size):
        return None
    counts: Counter[int] = Counter()
    for item in filter(None, parts[3].split(",")):
        key, _, count = item.rpartition("*")
        idx = problem.option_index.get(key)
        if idx is None or not count.isdigit():
            return None
        counts[idx] += int(count)
    return counts


def canonical(raw: Sequence[Sequence[RawSlot]], problem: Problem) -> RawPlan:
    """Slots sorted within subgroups, subgroups sorted by size then content."""
    keyed = [
        tuple(sorted(group, key=lambda s: (problem.options[s[1]].key, s[0] is None, s[0] or "")))
        for group in raw
        if group
    ]

    def group_key(group: tuple[RawSlot, ...]) -> tuple[int, tuple[tuple[str, bool, str], ...]]:
        return (-len(group), tuple((problem.options[o].key, p is None, p or "") for p, o in group))

    return tuple(sorted(keyed, key=group_key))


def build_plan(problem: Problem, raw: Sequence[Sequence[RawSlot]]) -> Plan:
    """The canonical, fully described plan for a raw plan (coverage, unmet needs, bench)."""
    plan_raw = canonical(raw, problem)
    catalogue = problem.catalogue
    sub_score, squad_score, pref = raw_score(problem, plan_raw)
    open_no = 0
    subgroups: list[SubgroupPlan] = []
    unmet: list[UnmetNeed] = []
    squad_providers: dict[str, list[str]] = {need: [] for need in problem.targets}
    totals: Counter[str] = Counter()
    placed: set[str] = set()
    for number, group in enumerate(plan_raw, start=1):
        slots: list[Slot] = []
        for player, opt in group:
            option = problem.options[opt]
            if player is None:
                open_no += 1
                label = f"Open slot {open_no}"
            else:
                label = player
                placed.add(player)
            slots.append(
                Slot(
                    label=label,
                    player=player,
                    spec=option.spec.key,
                    spec_name=option.spec.name,
                    profession=option.spec.profession,
                    role=option.role,
                    role_label=option.role_label,
                )
            )
            totals.update(option.squad)
            for need, amount in option.squad.items():
                if need in squad_providers and amount > 0:
                    squad_providers[need].append(label)
        coverage = []
        group_score = 0
        for need, weight in sorted(problem.weights.items(), key=lambda kv: (-kv[1], kv[0])):
            providers = tuple(
                slot.label
                for slot, (_, opt) in zip(slots, group, strict=True)
                if need in problem.profiles[opt]
            )
            coverage.append(
                NeedCoverage(
                    need=need, label=catalogue.need_label(need), weight=weight, providers=providers
                )
            )
            if providers:
                group_score += weight * len(group)
            else:
                why = _subgroup_reason(problem, need, len(group))
                unmet.append(
                    UnmetNeed(
                        scope="subgroup",
                        subgroup=number,
                        need=need,
                        label=catalogue.need_label(need),
                        weight=weight,
                        reason=_reason_text(problem, need, why, squad=False),
                        why=why,
                    )
                )
        subgroups.append(
            SubgroupPlan(
                number=number, slots=tuple(slots), coverage=tuple(coverage), score=group_score
            )
        )
    squad: list[SquadNeedCoverage] = []
    for need, (target, weight) in problem.targets.items():
        reached = totals[need]
        squad.append(
            SquadNeedCoverage(
                need=need,
                label=catalogue.need_label(need),
                target=target,
                reached=reached,
                weight=weight,
                providers=tuple(squad_providers[need]),
            )
        )
        if reached < target:
            why = _squad_reason(problem, need, reached, target)
            unmet.append(
                UnmetNeed(
                    scope="squad",
                    subgroup=None,
                    need=need,
                    label=catalogue.need_label(need),
                    weight=weight,
                    reason=_reason_text(problem, need, why, squad=True),
                    why=why,
                )
            )
    bench = tuple(sorted(p.name for p in problem.request.roster if p.name not in placed))
    return Plan(
        mode=problem.mode.key,
        size=problem.size,
        subgroups=tuple(subgroups),
        squad=tuple(squad),
        unmet=tuple(unmet),
        bench=bench,
        score=sub_score + squad_score + pref,
        signature=signature_of(problem, plan_raw),
    )


def score_plan(
    plan: Plan, request: ComposeRequest, catalogue: Catalogue | None = None
) -> PlanScore:
    """Score any plan for ``request`` and list what it breaks (size, catalogue, roster, locks).

    A plan with violations still gets the score of its valid part so a caller can explain it, but
    it must not be offered as a plan.
    """
    problem = resolve(request, catalogue)
    raw, violations = plan_to_raw(problem, plan)
    sub, squad, pref = raw_score(problem, raw)
    return PlanScore(
        total=sub + squad + pref,
        subgroup=sub,
        squad=squad,
        preference=pref,
        violations=tuple(violations),
    )


def plan_to_raw(problem: Problem, plan: Plan) -> tuple[RawPlan, list[str]]:
    """The raw form of ``plan`` and the constraint violations found while reading it."""
    violations: list[str] = []
    catalogue = problem.catalogue
    groups: list[tuple[RawSlot, ...]] = []
    seen: Counter[str] = Counter()
    open_count = 0
    for group in plan.subgroups:
        if not 1 <= len(group.slots) <= MAX_SUBGROUP:
            violations.append(
                f"subgroup {group.number} has {len(group.slots)} players (1–5 allowed)"
            )
        slots: list[RawSlot] = []
        for slot in group.slots:
            spec = catalogue.resolve_spec(slot.spec)
            option = catalogue.option(spec.key, slot.role) if spec else None
            if spec is None:
                violations.append(f"{slot.spec!r} is not a spec in the catalogue")
                continue
            if option is None:
                violations.append(f"{spec.name} cannot play {slot.role!r}")
                continue
            opt = problem.option_index[option.key]
            if slot.player is None:
                open_count += 1
            else:
                seen[slot.player] += 1
                allowed = problem.allowed.get(slot.player)
                if allowed is None:
                    violations.append(f"{slot.player} is not in the roster")
                elif opt not in problem.locked.get(slot.player, allowed):
                    if slot.player in problem.locked:
                        violations.append(f"{slot.player} is locked to another spec or role")
                    else:
                        violations.append(f"{slot.player} cannot play {spec.name}")
            slots.append((slot.player, opt))
        groups.append(tuple(slots))
    total = sum(len(g.slots) for g in plan.subgroups)
    if total != problem.size:
        violations.append(f"the plan has {total} players, not {problem.size}")
    for player, times in sorted(seen.items()):
        if times > 1:
            violations.append(f"{player} is placed {times} times")
    if open_count != problem.open_slots:
        if problem.open_slots == 0:
            violations.append("the roster fills every slot: no open slot allowed")
        else:
            violations.append(f"{open_count} open slots instead of {problem.open_slots}")
    for player in sorted(problem.locked):
        if player not in seen:
            violations.append(f"locked player {player} is missing")
    if problem.open_slots:
        for p in problem.request.roster:
            if p.name not in seen:
                violations.append(f"{p.name} is in the roster but not placed")
    return tuple(groups), violations


def _providers(problem: Problem, predicate: Iterable[int]) -> tuple[list[str], int]:
    """Roster players able to play one of ``predicate`` options, and open slots available."""
    wanted = frozenset(predicate)
    players = sorted(
        name for name, opts in problem.allowed.items() if problem.locked.get(name, opts) & wanted
    )
    return players, problem.open_slots


def _examples(problem: Problem, options: Sequence[int]) -> tuple[str, ...]:
    """Option keys (``spec:role``) of the two most preferred options among ``options``."""
    best = sorted(options, key=lambda i: (-problem.options[i].preference, problem.options[i].key))
    return tuple(problem.options[i].key for i in best[:2])


def _subgroup_reason(problem: Problem, need: str, group_size: int) -> UnmetReason:
    givers = [i for i, prof in enumerate(problem.profiles) if need in prof]
    if not givers:
        return UnmetReason(kind="no_spec")
    players, open_slots = _providers(problem, givers)
    if problem.has_roster and not players and not open_slots:
        return UnmetReason(kind="nobody", examples=_examples(problem, givers))
    able = len(players) + open_slots
    if problem.has_roster and able < len(problem.sizes):
        return UnmetReason(kind="too_few", able=able, subgroups=len(problem.sizes))
    return UnmetReason(kind="traded", slots=group_size)


def _squad_reason(problem: Problem, need: str, reached: int, target: int) -> UnmetReason:
    givers = [i for i, o in enumerate(problem.options) if o.squad.get(need, 0) > 0]
    if not givers:
        return UnmetReason(kind="no_spec")
    players, open_slots = _providers(problem, givers)
    if problem.has_roster and not players and not open_slots:
        return UnmetReason(kind="nobody", examples=_examples(problem, givers))
    return UnmetReason(kind="partial", reached=reached, target=target)


def _reason_text(problem: Problem, need: str, why: UnmetReason, *, squad: bool) -> str:
    """The English line of a reason (logs, the AI's view, tests); players see it translated."""
    label = problem.catalogue.need_label(need)
    verb = "bring" if squad else "provide"
    if why.kind == "no_spec":
        return f"no spec in the catalogue {verb}s {label}"
    if why.kind == "nobody":
        examples = ", ".join(problem.options[problem.option_index[k]].label for k in why.examples)
        return f"nobody in the roster can {verb} {label} (e.g. {examples})"
    if why.kind == "too_few":
        return f"{why.subgroups} subgroups need {label}, players able to give it: {why.able}"
    if why.kind == "traded":
        return f"traded for higher-weight needs ({why.slots} slots cannot cover everything)"
    return f"{why.reached}/{why.target} reached: the slots went to higher-weight needs"
