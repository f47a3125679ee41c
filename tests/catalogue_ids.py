"""The message ids the code uses, found by reading its source (what ``pybabel extract`` does).

Ids are the literal English strings passed to ``tr(locale, "...")``, ``N_("...")`` and
``UserFacingError("...")``; command names, descriptions and choices come from the synced command
tree instead (see ``tests/services/test_catalogue.py``).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIRS = ("bot", "cogs", "services")
# function name -> index of the message id argument
KEYWORDS = {"tr": 1, "N_": 0, "UserFacingError": 0, "Message": 0}


def used_message_ids() -> dict[str, list[str]]:
    """Every literal message id in the code -> where it is used (``file:line``)."""
    found: dict[str, list[str]] = {}
    for directory in SOURCE_DIRS:
        for path in sorted((ROOT / directory).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                name = (
                    func.id
                    if isinstance(func, ast.Name)
                    else func.attr
                    if isinstance(func, ast.Attribute)
                    else None
                )
                index = KEYWORDS.get(name or "")
                if index is None or len(node.args) <= index:
                    continue
                arg = node.args[index]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value:
                    where = f"{path.relative_to(ROOT)}:{node.lineno}"
                    found.setdefault(arg.value, []).append(where)
    return found


def dynamic_message_calls() -> list[str]:
    """``tr``/``N_`` calls whose message is not a literal (the catalogue cannot check them)."""
    calls: list[str] = []
    for directory in SOURCE_DIRS:
        for path in sorted((ROOT / directory).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                name = func.id if isinstance(func, ast.Name) else None
                if name not in ("tr", "N_", "Message"):
                    continue
                index = KEYWORDS[name]
                if len(node.args) > index and not isinstance(node.args[index], ast.Constant):
                    calls.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return calls
