"""The response cache and the single-flight table of the GW2 client.

Entries hold parsed values keyed by ``(path, params, key id)``; the key id is a hash prefix of the
API key (see :func:`key_id`), never the key. An expired entry is kept (up to ``stale_for``) so the
client can serve it when the API fails (stale-if-error). The cache is bounded (LRU eviction).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

CacheKey = tuple[str, tuple[tuple[str, str], ...], str | None]


def key_id(api_key: str) -> str:
    """A stable, non-reversible id for an API key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:16]


@dataclass(slots=True)
class CacheEntry:
    """A parsed value and when it was fetched (wall time for display, monotonic for expiry)."""

    value: Any
    fetched_at: datetime
    fetched_mono: float
    expires_mono: float
    discard_mono: float
    #: The answer's body as received, kept only until it is published for other processes.
    raw: bytes | None = None


@dataclass(frozen=True, slots=True)
class SharedAnswer:
    """A public answer another process of the cluster published (``services.shared_state``)."""

    body: bytes
    fetched_at: float  # wall time (epoch seconds)
    expires_at: float


class ResponseCache:
    """A bounded LRU of parsed answers with per-entry expiry and a stale window."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self._entries: OrderedDict[CacheKey, CacheEntry] = OrderedDict()
        self._max_entries = max_entries

    def get(self, key: CacheKey, now_mono: float) -> CacheEntry | None:
        """The entry for ``key`` (fresh or stale); ``None`` if absent or past its stale window."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if now_mono >= entry.discard_mono:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry

    def put(self, key: CacheKey, entry: CacheEntry) -> None:
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def invalidate_key_id(self, kid: str) -> int:
        """Drop every answer fetched with the API key whose id is ``kid``; returns how many."""
        doomed = [cache_key for cache_key in self._entries if cache_key[2] == kid]
        for cache_key in doomed:
            del self._entries[cache_key]
        return len(doomed)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


class SingleFlight:
    """Runs one upstream fetch per key at a time; concurrent callers await the same task.

    The fetch runs as its own task, so a caller that gives up (cancelled) does not cancel the
    request the others are waiting for.
    """

    def __init__(self) -> None:
        self._inflight: dict[CacheKey, asyncio.Task[CacheEntry]] = {}

    def running(self, key: CacheKey) -> asyncio.Task[CacheEntry] | None:
        return self._inflight.get(key)

    def start(
        self, key: CacheKey, fetch: Callable[[], Awaitable[CacheEntry]]
    ) -> asyncio.Task[CacheEntry]:
        async def run() -> CacheEntry:
            return await fetch()

        task = asyncio.get_running_loop().create_task(run())
        self._inflight[key] = task
        task.add_done_callback(lambda _t: self._forget(key, task))
        return task

    def _forget(self, key: CacheKey, task: asyncio.Task[CacheEntry]) -> None:
        if self._inflight.get(key) is task:
            del self._inflight[key]
        if not task.cancelled():
            task.exception()  # mark retrieved: waiters handle it, no "never retrieved" warning

    async def cancel_all(self) -> None:
        """Cancel every in-flight fetch and wait for them (at shutdown, before the session)."""
        tasks = list(self._inflight.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def __len__(self) -> int:
        return len(self._inflight)
