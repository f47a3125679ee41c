"""The catalogue is validated when it is loaded; requests out of range get a player's message."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from services.composer import ComposeRequest, CompositionError, compose, optimize
from services.composer.catalogue import DEFAULT_CATALOGUE_PATH, CatalogueError, load_catalogue


def _catalogue_with_mode_sizes(tmp_path: Path, min_size: int, max_size: int) -> Path:
    doc = json.loads(DEFAULT_CATALOGUE_PATH.read_text(encoding="utf-8"))
    doc["modes"]["havoc"]["min_size"] = min_size
    doc["modes"]["havoc"]["max_size"] = max_size
    path = tmp_path / "specs.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


@pytest.mark.parametrize(("min_size", "max_size"), [(20, 10), (0, 10), (5, 51)])
def test_a_mode_with_impossible_sizes_is_refused_at_load(
    tmp_path: Path, min_size: int, max_size: int
) -> None:
    path = _catalogue_with_mode_sizes(tmp_path, min_size, max_size)
    with pytest.raises(CatalogueError, match="havoc"):
        load_catalogue(path)


def test_a_mode_with_sensible_sizes_loads(tmp_path: Path) -> None:
    catalogue = load_catalogue(_catalogue_with_mode_sizes(tmp_path, 5, 15))
    havoc = catalogue.mode("havoc")
    assert havoc is not None
    assert (havoc.min_size, havoc.max_size) == (5, 15)


@pytest.mark.parametrize("size", [0, 51, 200])
def test_a_squad_size_outside_1_to_50_is_a_composition_error(size: int) -> None:
    request = ComposeRequest(size=size)
    with pytest.raises(CompositionError, match="1–50 players"):
        optimize(request)
    with pytest.raises(CompositionError, match="1–50 players"):
        asyncio.run(compose(request))
