"""Squad optimizer benchmark: a seeded random sweep (the goal) and the old fixed cases.

    .venv/bin/python -m benchmarks.composer [--instances 800] [--seed 17]   # the sweep
    .venv/bin/python -m benchmarks.composer --fixed [--runs 40] [--mode zerg]
    .venv/bin/python -m benchmarks.composer --instances 0 --rerolls 30          # rerolls only

The sweep covers every squad size 1–50, every mode, rosters none (free) / shorter / equal /
longer than the squad, each roster case with or without 1–3 random locks (with or without a
role). It prints p50/p99/max of the wall time of ``optimize()`` (model build included) and of
its CPU time (less sensitive to other processes on a shared machine), how many plans are proven
within 1 % and proven optimal, and whether the safety-net fallback (heuristic, no bound) fired.
Goals (issue 17): p99 <= 250 ms, max <= 400 ms, every plan proven within 1 %, no fallback.
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import time
from dataclasses import dataclass

from services.composer import (
    ComposeRequest,
    Lock,
    OptimizeResult,
    RosterPlayer,
    alternatives,
    default_catalogue,
    optimize,
)

MODES = ("zerg", "havoc", "roaming", "defense")
KINDS = ("free", "shorter", "equal", "longer")


def roster(seed: int, size: int) -> tuple[RosterPlayer, ...]:
    specs = sorted(default_catalogue().specs)
    rng = random.Random(seed)
    return tuple(
        RosterPlayer(name=f"Player {i:02d}", specs=tuple(rng.sample(specs, rng.randint(1, 6))))
        for i in range(size)
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def sweep_request(index: int, size: int, kind: str, mode: str, seed: int) -> ComposeRequest:
    """One seeded instance of the sweep."""
    rng = random.Random(seed * 100_003 + index)
    if kind == "free":
        return ComposeRequest(size=size, mode=mode)
    if kind == "shorter":
        length = size - rng.randint(1, max(1, size // 2))
    elif kind == "equal":
        length = size
    else:
        length = size + rng.randint(1, max(1, min(10, size)))
    players = roster(rng.randrange(1 << 30), length)
    locks: list[Lock] = []
    if players and rng.random() < 0.5:
        catalogue = default_catalogue()
        for player in rng.sample(players, min(len(players), size, rng.randint(1, 3))):
            spec = catalogue.resolve_spec(rng.choice(player.specs))
            assert spec is not None
            role = None
            if rng.random() < 0.5:
                role = rng.choice(catalogue.options_for(spec.key)).role
            locks.append(Lock(player=player.name, spec=spec.key, role=role))
    return ComposeRequest(size=size, mode=mode, roster=players, locks=tuple(locks))


@dataclass
class Measured:
    label: str
    wall: float
    cpu: float
    result: OptimizeResult


def run_sweep(instances: int, seed: int) -> None:
    cases = list(itertools.product(range(1, 51), KINDS, MODES))
    rng = random.Random(seed)
    rng.shuffle(cases)
    cases = (cases * (instances // len(cases) + 1))[:instances]
    measured: list[Measured] = []
    for index, (size, kind, mode) in enumerate(cases):
        request = sweep_request(index, size, kind, mode, seed)
        wall, cpu = time.perf_counter(), time.process_time()
        result = optimize(request)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        label = f"#{index} {mode} size {size} roster {kind} ({len(request.roster)})"
        if request.locks:
            label += f" {len(request.locks)} lock(s)"
        measured.append(Measured(label, wall, cpu, result))
    walls = [m.wall * 1000 for m in measured]
    cpus = [m.cpu * 1000 for m in measured]
    within = sum(
        1 for m in measured if m.result.solve.gap is not None and m.result.solve.gap <= 0.01
    )
    optimal = sum(1 for m in measured if m.result.solve.status == "optimal")
    fallback = [m for m in measured if m.result.solve.method == "heuristic"]
    worst_gap = max((m.result.solve.gap or 0.0) for m in measured)
    n = len(measured)
    print(f"sweep: {n} instances, seed {seed}, sizes 1-50 x {'/'.join(KINDS)} x {'/'.join(MODES)}")
    print(
        f"wall ms: p50 {statistics.median(walls):.1f}  p99 {percentile(walls, 0.99):.1f}  "
        f"max {max(walls):.1f}  over 250 ms: {sum(w > 250 for w in walls)}"
    )
    print(
        f"cpu ms:  p50 {statistics.median(cpus):.1f}  p99 {percentile(cpus, 0.99):.1f}  "
        f"max {max(cpus):.1f}  over 250 ms: {sum(c > 250 for c in cpus)}"
    )
    print(
        f"proven within 1 %: {within}/{n}  proven optimal: {optimal}/{n}  "
        f"max proven gap: {worst_gap * 100:.3f} %"
    )
    print(f"safety-net fallback fired: {len(fallback)} time(s)" + (" (NO)" if fallback else ""))
    p99, top = percentile(walls, 0.99), max(walls)
    verdict = p99 <= 250 and top <= 400 and within == n and not fallback
    print(
        "goal (p99 <= 250 ms, max <= 400 ms, all within 1 %, no fallback): "
        + ("met" if verdict else "NOT met")
    )
    by_kind: dict[str, list[float]] = {}
    for m, (size, kind, _) in zip(measured, cases, strict=True):
        by_kind.setdefault(kind + (" >20" if size > 20 else " <=20"), []).append(m.wall * 1000)
    for key in sorted(by_kind):
        times = by_kind[key]
        print(
            f"  {key:<14} n={len(times):<4} p99 {percentile(times, 0.99):7.1f} ms"
            f"  max {max(times):7.1f} ms"
        )
    print("slowest:")
    for m in sorted(measured, key=lambda m: -m.wall)[:8]:
        info = m.result.solve
        gap = "none" if info.gap is None else f"{info.gap * 100:.2f} %"
        print(
            f"  {m.wall * 1000:7.1f} ms wall {m.cpu * 1000:7.1f} ms cpu  {m.label}: "
            f"{info.method}/{info.status} gap {gap} nodes {info.nodes}"
        )
    for m in fallback:
        print(f"  fallback: {m.label}")


def run_rerolls(instances: int, seed: int) -> None:
    """Rerolls (``alternatives(request, 4)``) on seeded rosters of 20-50: time per reroll, and
    whether every list is in non-increasing order with the first plan never beaten."""
    rng = random.Random(seed)
    times: list[float] = []
    statuses: dict[str, int] = {}
    out_of_order = 0
    for index in range(instances):
        size = rng.randint(20, 50)
        mode = MODES[index % len(MODES)]
        request = ComposeRequest(size=size, mode=mode, roster=roster(rng.randrange(1 << 30), size))
        shown = alternatives(request, 4)
        scores = [result.plan.score for result in shown]
        out_of_order += scores != sorted(scores, reverse=True)
        for result in shown[1:]:
            times.append(result.solve.seconds * 1000)
            key = f"{result.solve.method}/{result.solve.status}"
            statuses[key] = statuses.get(key, 0) + 1
    print(f"rerolls: {instances} rosters of 20-50 players, 3 rerolls each, seed {seed}")
    print(
        f"reroll ms (solver wall): p50 {statistics.median(times):.1f}  "
        f"p99 {percentile(times, 0.99):.1f}  max {max(times):.1f}"
    )
    print(f"lists out of order or first plan beaten: {out_of_order}/{instances}")
    print("statuses: " + ", ".join(f"{k}×{v}" for k, v in sorted(statuses.items())))


def run_fixed(runs: int, mode: str) -> None:
    print(f"mode={mode} runs={runs} (wall time of optimize(), incl. model build)")
    print(f"{'case':<14}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'max gap':>10}  goal  methods")
    for size in (5, 15, 30, 50):
        for kind in ("free", "roster"):
            times: list[float] = []
            gaps: list[float] = []
            methods: dict[str, int] = {}
            for run in range(runs):
                players = roster(run * 1000 + size, size) if kind == "roster" else ()
                request = ComposeRequest(size=size, mode=mode, roster=players)
                started = time.perf_counter()
                result = optimize(request)
                times.append(time.perf_counter() - started)
                gaps.append(result.solve.gap if result.solve.gap is not None else float("nan"))
                key = f"{result.solve.method}/{result.solve.status}"
                methods[key] = methods.get(key, 0) + 1
            known = [g for g in gaps if g == g]
            gap = max(known) if len(known) == len(gaps) else float("nan")
            p99 = percentile(times, 0.99)
            ok = "yes" if p99 < 0.25 and gap <= 0.01 else "NO"
            print(
                f"{kind + ' ' + str(size):<14}"
                f"{statistics.median(times) * 1000:>9.1f}"
                f"{p99 * 1000:>9.1f}"
                f"{max(times) * 1000:>9.1f}"
                f"{gap * 100:>9.3f}%  {ok:<4}  "
                + ", ".join(f"{k}×{v}" for k, v in sorted(methods.items()))
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fixed", action="store_true", help="the old fixed cases instead")
    parser.add_argument("--rerolls", type=int, default=0, help="also time rerolls on N rosters")
    parser.add_argument("--instances", type=int, default=800)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--mode", default="zerg")
    args = parser.parse_args()
    optimize(ComposeRequest(size=5))  # import and first-call costs out of the figures
    if args.fixed:
        run_fixed(args.runs, args.mode)
    elif args.instances > 0:
        run_sweep(args.instances, args.seed)
    if args.rerolls:
        run_rerolls(args.rerolls, args.seed)


if __name__ == "__main__":
    main()
