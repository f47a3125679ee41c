"""Benchmark of the key check every slash command now pays (issue 10 item 2).

``GW2CommandTree.interaction_check`` runs the leak guard's detector on every string option of
every command (bot/option_guard.py). Prints µs per check for typical option sets: no options,
a team name, a typed /compose roster, a long non-ASCII text, and a text holding a key.

    .venv/bin/python -m benchmarks.option_guard
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from bot.option_guard import has_key_in_options


def _key() -> str:
    a, b = uuid.uuid4().hex.upper(), uuid.uuid4().hex.upper()
    first = f"{a[:8]}-{a[8:12]}-{a[12:16]}-{a[16:20]}-{a[20:]}"
    return f"{first}{b[:8]}-{b[8:12]}-{b[12:16]}-{b[16:20]}-{b[20:32]}"


def _per_call_us(call: Callable[[], object], seconds: float = 0.5) -> float:
    calls, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        call()
        calls += 1
    return (time.perf_counter() - started) / calls * 1e6


def _command(name: str, **options: Any) -> dict[str, Any]:
    return {
        "name": name,
        "options": [
            {"name": "match", "type": 1, "options": [{"name": k, "type": 3, "value": v}]}
            for k, v in options.items()
        ],
    }


def main() -> None:
    cases: dict[str, dict[str, Any]] = {
        "/about (no options)": {"name": "about"},
        "/wvw match team:Tombs of Drascir": _command("wvw", team="Tombs of Drascir"),
        "/compose roster (typed, 120 chars)": _command(
            "compose", roster="Alice: firebrand, scrapper; Bob: herald; Carol: scourge; " * 2
        ),
        "/compose roster (non-ASCII, 2,000 chars)": _command(
            "compose", roster="Zoë: feuerbrand, mechanist; Ærø: herold; " * 50
        ),
        "/wvw match team:<a key>": _command("wvw", team=f"mine {_key()} thanks"),
    }
    print(f"{'case':45} {'µs/check':>9}")
    for label, data in cases.items():
        print(f"{label:45} {_per_call_us(lambda d=data: has_key_in_options(d)):9.1f}")


if __name__ == "__main__":
    main()
