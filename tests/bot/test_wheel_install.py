"""A built wheel, installed without the source tree, starts: migrations ship as package data and
the ``gw2optimizer`` console script runs the bot (``pip install .``, as the Docker image does).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from services.keys import generate_key
from tests.fakes.discord import FakeDiscord
from tests.harness import TEST_TOKEN

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "bot", "cogs", "services", "migrations")


def _build_wheel(tmp_path: Path) -> Path:
    """Build from a copy holding only what the Dockerfile copies (no tests, no .venv)."""
    source = tmp_path / "src"
    source.mkdir()
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(
                REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy(REPO / name, source / name)
    dist = tmp_path / "dist"
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist)]
    # The venv's setuptools first (no network); an isolated build if it is too old.
    done = subprocess.run(
        [*command, "--no-build-isolation", str(source)], capture_output=True, text=True
    )
    if done.returncode != 0:
        done = subprocess.run([*command, str(source)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel,) = dist.glob("gw2optimizer-*.whl")
    return wheel


def _install(wheel: Path, target: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), wheel],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


async def test_an_installed_wheel_applies_its_migrations_and_serves(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path)
    names = zipfile.ZipFile(wheel).namelist()
    assert "migrations/0001_initial.sql" in names
    for language in ("en", "fr", "de", "es"):  # the message catalogues ship as package data
        assert f"services/locales/{language}/LC_MESSAGES/gw2optimizer.po" in names
    assert not any(name.startswith("tests/") for name in names)
    target = tmp_path / "site"
    _install(wheel, target)
    script = target / "bin" / "gw2optimizer"
    assert script.exists()

    run_dir = tmp_path / "run"  # no source tree here, and none on the path
    run_dir.mkdir()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "METRICS_", "PYTHON"))
    }
    env.update(PYTHONPATH=str(target), PYTHONSAFEPATH="1")
    where = subprocess.run(
        [sys.executable, "-c", "import bot.storage.migrations as m; print(m.MIGRATIONS_DIR)"],
        cwd=run_dir,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(target)
    french = subprocess.run(
        [sys.executable, "-c", "from services.i18n import tr; print(tr('fr', 'Language'))"],
        cwd=run_dir,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert french.stdout.strip() == "Langue"

    async with FakeDiscord() as discord_fake:
        discord_fake.add_guild(name="Wheel")
        env.update(
            DISCORD_TOKEN=TEST_TOKEN,
            KEY_ENCRYPTION_KEY=generate_key(),
            DATABASE_PATH=str(run_dir / "data" / "bot.sqlite3"),
            GW2_API_BASE_URL="http://127.0.0.1:9",
            METRICS_PORT="0",
            DISCORD_GUILD_READY_TIMEOUT="0.05",
            **discord_fake.client_env(),
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(script),
            cwd=run_dir,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            await discord_fake.wait_ready(timeout=30)
            process.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(process.communicate(), 30)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    log = stderr.decode()
    assert process.returncode == 0, log
    assert "Shut down cleanly" in log
    assert (run_dir / "data" / "bot.sqlite3").exists()
