"""Benchmark: what Sentry performance tracing costs a command, and what its hooks cost when off.

The real ``Application`` against the fake Discord in the same process (so absolute figures
include the fake's own work; compare the modes with each other). Each mode runs in a fresh event
loop: tracing off (no DSN, as by default), and tracing on at ``SENTRY_TRACES_SAMPLE_RATE=1.0``
with a transport that drops envelopes (serialisation and scrubbing still happen). For
``/key info`` (database read, one reply) it prints commands/s and p50/p99 latency from injecting
the interaction to the bot's reply, then the cost of the per-query span hook with Sentry off.

    .venv/bin/python -m benchmarks.tracing_overhead [--commands 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import timeit
from pathlib import Path
from typing import Any

import sentry_sdk
from sentry_sdk.transport import Transport

from bot.sentry import init_sentry
from bot.tracing import db_span
from services.secrets import SecretRedactor
from tests.fakes.discord import FakeDiscord
from tests.harness import TEST_TOKEN, running_bot


class DroppingTransport(Transport):
    def __init__(self) -> None:
        super().__init__(None)
        self.count = 0

    def capture_envelope(self, envelope: Any) -> None:
        self.count += 1


async def _measure(commands: int, traced: bool) -> tuple[list[float], int]:
    transport = DroppingTransport()
    if traced:
        init_sentry(
            "https://public@o0.ingest.sentry.io/1",
            redactor=SecretRedactor([TEST_TOKEN]),
            release="bench",
            environment="bench",
            transport=transport,
            traces_sample_rate=1.0,
        )
    latencies: list[float] = []
    with tempfile.TemporaryDirectory() as data:
        async with FakeDiscord(default_timeout=30) as discord_fake:
            guild = discord_fake.add_guild(name="Bench")
            alice = discord_fake.add_member(guild, discord_fake.add_user("Alice"))
            async with running_bot(discord_fake, Path(data), extensions=("cogs.account",)):
                for index in range(commands + 20):
                    started = time.perf_counter()
                    handle = await discord_fake.slash(alice, "key info")
                    await handle.wait_final_message()
                    if index >= 20:  # warm-up
                        latencies.append(time.perf_counter() - started)
    if traced:
        sentry_sdk.flush()
        sentry_sdk.get_client().close()
        sentry_sdk.init()
    return latencies, transport.count


def _report(label: str, latencies: list[float], envelopes: int) -> None:
    ordered = sorted(latencies)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[int(len(ordered) * 0.99) - 1] * 1000
    rate = len(ordered) / sum(ordered)
    print(
        f"{label:<28} {rate:8.1f} cmd/s   p50 {p50:6.2f} ms   p99 {p99:6.2f} ms"
        f"   envelopes {envelopes}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--commands", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"/key info through the real client and the fake Discord, {args.commands} sequential")
    for round_number in range(1, args.rounds + 1):
        for traced in (False, True):
            latencies, envelopes = asyncio.run(_measure(args.commands, traced))
            label = f"round {round_number} tracing {'on (1.0)' if traced else 'off'}"
            _report(label, latencies, envelopes)
    number = 200_000
    seconds = timeit.timeit(
        lambda: db_span("SELECT 1 FROM linked_keys WHERE id = ?"), number=number
    )
    print(f"per-query span hook with Sentry off: {seconds / number * 1e6:.2f} µs")


if __name__ == "__main__":
    main()
