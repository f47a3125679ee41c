"""The shared cog helpers (``cogs/common``) and the layering rules they make possible."""

from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path

import discord
import pytest

from bot.client import EXTENSIONS
from cogs.common.checks import missing_post_permissions
from cogs.common.formatting import map_name, map_short_name
from cogs.common.sharing import SharedView, frozen_embed
from services.i18n import format_compact_duration

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    package = list(path.relative_to(ROOT).parent.parts)
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module
            if node.level:  # relative: resolve against the importing file's package
                parent = package[: len(package) - node.level + 1]
                base = ".".join([*parent, node.module])
            found.add(base)
    return found


def test_no_cog_imports_another_cogs_extension_module() -> None:
    offenders = []
    for path in sorted((ROOT / "cogs").rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for imported in imported_modules(path):
            if imported in EXTENSIONS and imported != module:
                offenders.append(f"{module} imports {imported}")
    assert offenders == []


def test_services_import_no_discord_bot_or_cogs() -> None:
    offenders = []
    for path in sorted((ROOT / "services").rglob("*.py")):
        for imported in imported_modules(path):
            if imported.split(".")[0] in ("discord", "bot", "cogs"):
                offenders.append(f"{path.relative_to(ROOT)} imports {imported}")
    assert offenders == []


def test_the_helpers_package_is_not_an_extension() -> None:
    assert not any(name.startswith("cogs.common") for name in EXTENSIONS)
    for path in (ROOT / "cogs" / "common").glob("*.py"):
        assert "async def setup(" not in path.read_text("utf-8"), path.name


def test_one_duration_format_for_uptime_and_match_clocks() -> None:
    assert format_compact_duration("en", timedelta(days=1, hours=2, minutes=3)) == "1d 2h"
    assert format_compact_duration("en", timedelta(minutes=65)) == "1h 05m"


def test_map_names_long_and_short() -> None:
    assert map_name("Center") == "Eternal Battlegrounds"
    assert map_short_name("BlueHome") == "Blue BL"
    assert map_name("NewMap") == "NewMap"


def test_posting_in_a_thread_needs_send_messages_in_threads() -> None:
    allowed = discord.Permissions(view_channel=True, embed_links=True, send_messages=True)
    thread = object.__new__(discord.Thread)

    assert missing_post_permissions(allowed, thread) == ["send_messages_in_threads"]
    assert missing_post_permissions(allowed, object()) == []
    assert missing_post_permissions(allowed, object(), mode="edit") == ["read_message_history"]


def test_cogs_take_their_repositories_from_services() -> None:
    built = []
    for path in sorted((ROOT / "cogs").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            called = (
                node.func.id
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                else ""
            )
            if called.endswith(("Repository", "Store")):
                built.append(f"{path.name}: {called}(...)")
    assert built == []


def test_no_raw_sql_in_the_process_wiring() -> None:
    text = (ROOT / "bot" / "app.py").read_text("utf-8")
    assert [word for word in ("SELECT ", "UPDATE ", "INSERT ") if word in text] == []


def test_a_frozen_embed_serialises_once_to_the_same_json() -> None:
    embed = discord.Embed(title="WvW EU Tier 3", description="Skirmish 14/84")
    embed.add_field(name="🟥 Red", value="**118** VP")
    frozen = frozen_embed(embed)

    assert frozen.to_dict() == embed.to_dict()
    assert frozen.to_dict() is frozen.to_dict()


async def test_a_shared_view_holds_only_dynamic_items_and_skips_the_view_store() -> None:
    from cogs.wvw import match_view

    view = match_view(11005, None)
    assert view.is_finished()  # discord.py stores only unfinished views per message
    assert view.to_components() is view.to_components()
    assert len(view.to_components()[0]["components"]) == 5

    plain = SharedView()
    plain.add_item(discord.ui.Button(label="x", custom_id="x"))
    with pytest.raises(TypeError):
        plain.freeze()
