"""Benchmark of the secret detector behind log redaction and the leak guard.

Every log record is redacted when it is created (all loggers, DEBUG included), so the detector's
cost is paid per record. Prints µs per call for: a short ASCII log line (the common case), a line
with non-ASCII game text (takes the normalising path), a chat message with a disguised key, and a
discord.py DEBUG gateway payload (a GUILD_CREATE-sized ``repr`` with 1,000 members).

    .venv/bin/python -m benchmarks.redaction
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from services.secrets import SecretRedactor, find_gw2_api_keys


def _key() -> str:
    a, b = uuid.uuid4().hex.upper(), uuid.uuid4().hex.upper()
    first = f"{a[:8]}-{a[8:12]}-{a[12:16]}-{a[16:20]}-{a[20:]}"
    return f"{first}{b[:8]}-{b[8:12]}-{b[12:16]}-{b[16:20]}-{b[20:32]}"


def _per_call_us(call: Callable[[], object], seconds: float = 0.5) -> tuple[float, int]:
    calls, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        call()
        calls += 1
    return (time.perf_counter() - started) / calls * 1e6, calls


def main() -> None:
    redactor = SecretRedactor(["mistral-secret-0123456789abcdef"])
    key = _key()
    members = [
        {
            "user": {
                "id": str(10**17 + i),
                "username": f"Spieler{i}",
                "global_name": f"Zoë Ærø {i}",
            },
            "roles": [],
            "nick": None,
            "flags": 0,
        }
        for i in range(1000)
    ]
    payload = repr({"op": 0, "t": "GUILD_CREATE", "d": {"members": members, "name": "Gilde"}})
    cases: dict[str, str] = {
        "ASCII log line (80 chars)": (
            "GW2 API matches /v2/wvw/matches: unavailable (HTTP 503), retry 1 in 0.25s"
        ),
        "non-ASCII log line": (
            "Posted the update for Rall’s Rest — Moogooloo · Zoë (4‑2) in #wvw-news"
        ),
        "chat message, key with zero-width space": f"my key {key[:20]}\u200b{key[20:]} pls",
        f"gateway DEBUG payload ({len(payload) // 1024} KiB, non-ASCII)": payload,
    }
    print("Secret detector / redaction cost per call (measured on a shared, loaded machine)")
    for name, text in cases.items():
        per_call, calls = _per_call_us(lambda t=text: redactor.redact(t))
        mb_s = len(text) / per_call  # bytes per µs == MB/s
        print(f"  redact  {name:<48} {per_call:10.1f} µs/call  {mb_s:7.1f} MB/s  ({calls} calls)")
    per_call, _ = _per_call_us(
        lambda: find_gw2_api_keys(cases["chat message, key with zero-width space"])
    )
    print(f"  leak guard find_gw2_api_keys on a chat message            {per_call:10.1f} µs/call")


if __name__ == "__main__":
    main()
