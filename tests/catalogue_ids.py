"""The message ids the code uses, found by reading its source (what ``pybabel extract`` does).

Ids are the literal English strings passed to ``tr(locale, "...")``, ``N_("...")``,
``Message("...")`` and ``UserFacingError("...")``, and the (singular, plural) pairs passed to
``trn(locale, "...", "...", count)`` and ``PluralMessage("...", "...", count)``; command names,
descriptions and choices come from the synced command tree instead (see
``tests/services/test_catalogue.py``).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIRS = ("bot", "cogs", "services")
# function name -> index of the message id argument
KEYWORDS = {"tr": 1, "N_": 0, "UserFacingError": 0, "Message": 0}
# function name -> index of the singular message id (the plural id follows it)
PLURAL_KEYWORDS = {"trn": 1, "PluralMessage": 0}


def used_message_ids() -> dict[str, list[str]]:
    """Every literal message id in the code -> where it is used (``file:line``)."""
    found: dict[str, list[str]] = {}
    for where, name, args in _calls():
        index = KEYWORDS.get(name)
        if index is None or len(args) <= index:
            continue
        arg = args[index]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value:
            found.setdefault(arg.value, []).append(where)
    return found


def used_plural_ids() -> dict[tuple[str, str], list[str]]:
    """Every literal (singular, plural) pair in the code -> where it is used."""
    found: dict[tuple[str, str], list[str]] = {}
    for where, name, args in _calls():
        index = PLURAL_KEYWORDS.get(name)
        if index is None or len(args) <= index + 1:
            continue
        singular, plural = args[index], args[index + 1]
        if (
            isinstance(singular, ast.Constant)
            and isinstance(plural, ast.Constant)
            and isinstance(singular.value, str)
            and isinstance(plural.value, str)
            and singular.value
            and plural.value
        ):
            found.setdefault((singular.value, plural.value), []).append(where)
    return found


def dynamic_message_calls() -> list[str]:
    """``tr``/``N_``/``trn`` calls whose message is not a literal (the catalogue cannot check
    them)."""
    calls: list[str] = []
    for where, name, args in _calls(names_only=True):
        if name in ("tr", "N_", "Message"):
            ids = args[KEYWORDS[name] : KEYWORDS[name] + 1]
        elif name in PLURAL_KEYWORDS:
            ids = args[PLURAL_KEYWORDS[name] : PLURAL_KEYWORDS[name] + 2]
        else:
            continue
        if any(not isinstance(arg, ast.Constant) for arg in ids):
            calls.append(where)
    return calls


def _calls(*, names_only: bool = False) -> list[tuple[str, str, list[ast.expr]]]:
    """Every call in the source: (``file:line``, function name, positional arguments).

    ``names_only``: plain ``name(...)`` calls only, not ``module.name(...)``.
    """
    calls: list[tuple[str, str, list[ast.expr]]] = []
    for directory in SOURCE_DIRS:
        for path in sorted((ROOT / directory).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                if isinstance(func, ast.Name):
                    name = func.id
                elif isinstance(func, ast.Attribute) and not names_only:
                    name = func.attr
                else:
                    continue
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                calls.append((where, name, list(node.args)))
    return calls
