"""Benchmark: what localisation costs a render.

Renders the ``/wvw match`` overview (the same golden match as the tests) and ``tr()`` lookups in
each language, and prints microseconds per call. The catalogues are loaded once before timing;
the first load is timed separately.

    .venv/bin/python -m benchmarks.i18n_render [--rounds 2000]
"""

from __future__ import annotations

import argparse
import time

from cogs.wvw_render import render_match
from services.i18n import LOCALES, Catalogues, tr
from tests.cogs.test_wvw_render import FETCHED_AT, NOW, summary


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2000)
    rounds = parser.parse_args().rounds

    started = time.perf_counter()
    Catalogues()
    print(f"catalogue load (4 .po files): {(time.perf_counter() - started) * 1000:.1f} ms")

    match = summary()
    message = "Skirmish {number}/{total} · {left} left\nReset in {reset} ({reset_at})\n"
    message += "Data as of {as_of} ({age} old)"
    for locale in LOCALES:
        render_match(match, fetched_at=FETCHED_AT, stale=False, now=NOW, locale=locale)
        started = time.perf_counter()
        for _ in range(rounds):
            render_match(match, fetched_at=FETCHED_AT, stale=False, now=NOW, locale=locale)
        per_render = (time.perf_counter() - started) / rounds * 1e6
        started = time.perf_counter()
        for _ in range(rounds):
            tr(
                locale,
                message,
                number=1,
                total=84,
                left="1",
                reset="2",
                reset_at="",
                as_of="",
                age="",
            )
        per_tr = (time.perf_counter() - started) / rounds * 1e6
        print(f"{locale}: render_match {per_render:8.1f} µs   tr() {per_tr:6.2f} µs")


if __name__ == "__main__":
    main()
