"""The garbage collector, set up for a long-running bot.

Everything built while starting (modules, cogs, the command tree, the message catalogues, pydantic
schemas, the guild cache READY fills) lives as long as the process. Python's collector still walks
all of it whenever the objects made by interactions trigger an older-generation collection.
:func:`freeze_startup_objects` moves it to the collector's permanent generation once the bot is
ready, so those collections only look at what came later.

Only the entry point (and the benchmarks, which measure it) calls this: tests start many bots in
one process, and what they build must stay collectable.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Awaitable

log = logging.getLogger(__name__)


def freeze_startup_objects() -> int:
    """Collect once, then exempt every surviving object from later collections; returns how many
    objects were frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


async def freeze_when_ready(ready: Awaitable[object]) -> None:
    """Freeze the start-up objects once ``ready`` (the client's first READY) completes."""
    await ready
    # Let the READY handlers and the first gateway events settle into long-lived state first.
    await asyncio.sleep(0)
    log.info("Start-up objects exempted from garbage collection: %d", freeze_startup_objects())
