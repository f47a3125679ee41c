"""The start-up freeze: long-lived objects leave the collector's generations once ready."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import pytest

from bot.memory import freeze_when_ready


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # later tests' objects must stay collectable


async def test_objects_are_frozen_only_once_the_client_is_ready(unfrozen: None) -> None:
    ready = asyncio.Event()
    freezing = asyncio.create_task(freeze_when_ready(ready.wait()))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert gc.get_freeze_count() == 0
    ready.set()
    await freezing
    assert gc.get_freeze_count() > 0


async def test_cancelled_before_ready_nothing_is_frozen(unfrozen: None) -> None:
    freezing = asyncio.create_task(freeze_when_ready(asyncio.Event().wait()))
    await asyncio.sleep(0)
    freezing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await freezing
    assert gc.get_freeze_count() == 0
