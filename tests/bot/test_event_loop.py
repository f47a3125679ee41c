"""``python -m bot`` runs on uvloop when the ``speed`` extra is installed, else on asyncio."""

from __future__ import annotations

import asyncio
import importlib
from types import ModuleType

import pytest

from bot import app


def test_uvloop_is_used_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = ModuleType("uvloop")
    fake.new_event_loop = asyncio.new_event_loop  # type: ignore[attr-defined]
    real = importlib.import_module
    monkeypatch.setattr(
        app.importlib, "import_module", lambda name: fake if name == "uvloop" else real(name)
    )

    assert app.event_loop_factory() is asyncio.new_event_loop


def test_asyncio_is_used_without_the_speed_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> ModuleType:
        raise ImportError(name)

    monkeypatch.setattr(app.importlib, "import_module", missing)

    assert app.event_loop_factory() is None
