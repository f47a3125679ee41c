"""``DATABASE_URL``: which backend, where, and how to name it without its password."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

Backend = Literal["sqlite", "postgresql"]

_USERINFO_PASSWORD = re.compile(
    r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<password>[^/?#\s]*)@", re.I
)
_QUERY_PASSWORD = re.compile(r"(?P<head>[?&]password=)(?P<password>[^&\s]*)", re.I)


class DatabaseUrlError(ValueError):
    """DATABASE_URL is not a URL this bot can use; ``str()`` is safe to print (password masked)."""


@dataclass(frozen=True, slots=True)
class DatabaseTarget:
    backend: Backend
    path: Path | None = None  # SQLite
    url: str | None = None  # PostgreSQL (with its password: never log it, use ``masked``)

    @property
    def masked(self) -> str:
        return mask_url(self.url) if self.url else str(self.path)


def mask_url(url: str) -> str:
    """The URL with any password replaced by ``***`` (userinfo and ``?password=``)."""
    url = _USERINFO_PASSWORD.sub(lambda m: f"{m['head']}***@", url)
    return _QUERY_PASSWORD.sub(lambda m: f"{m['head']}***", url)


def parse_database_url(url: str | None, default_path: Path) -> DatabaseTarget:
    """Unset or ``sqlite:///path`` = SQLite at that path; ``postgresql://…`` = PostgreSQL."""
    if url is None or not url.strip():
        return DatabaseTarget("sqlite", path=default_path)
    url = url.strip()
    scheme = urlsplit(url).scheme.lower()
    if scheme == "sqlite":
        if not url.lower().startswith("sqlite:///") or len(url) <= len("sqlite:///"):
            raise DatabaseUrlError(
                f"DATABASE_URL {mask_url(url)} must look like sqlite:///relative/path.sqlite3 or "
                "sqlite:////absolute/path.sqlite3"
            )
        return DatabaseTarget("sqlite", path=Path(url[len("sqlite:///") :]))
    if scheme in {"postgresql", "postgres"}:
        try:
            urlsplit(url).port  # noqa: B018  a bad port: one clear line, not asyncpg's traceback
        except ValueError as error:
            raise DatabaseUrlError(f"DATABASE_URL {mask_url(url)}: {error}") from None
        return DatabaseTarget("postgresql", url=url)
    raise DatabaseUrlError(
        f"DATABASE_URL {mask_url(url)} has an unknown scheme {scheme!r}: use sqlite:///path or "
        "postgresql://user:password@host:5432/database"
    )
