"""Copy an SQLite database into PostgreSQL (moving a bot to cluster mode).

    python -m bot.copy_to_postgres --sqlite data/gw2optimizer.sqlite3 --postgres "$DATABASE_URL"

Both default to the configuration (``DATABASE_PATH``; ``DATABASE_URL`` when it names PostgreSQL).
Stop the bot first. Both databases are migrated to the current schema, then every table is copied
in one PostgreSQL transaction (refused when the PostgreSQL tables already hold rows), the identity
sequences are moved past the copied ids, and the copy is verified: equal row counts per table and
every linked API key decrypted with the configured encryption key (``KEY_ENCRYPTION_KEY`` or the
key file next to the SQLite database). Prints one line per table; exit 0 only when verified.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from services.keys import KeyVault, KeyVaultError
from services.keys.vault import ENV_VAR, KEY_FILE_NAME

from .config import ConfigError, load_settings
from .storage import Database, MigrationError, mask_url
from .storage.keys import stored_ciphertexts
from .storage.postgres import DATABASE_ERRORS, PostgresDatabase
from .storage.urls import parse_database_url

_SKIPPED = frozenset({"schema_migrations", "sqlite_sequence"})


class CopyError(Exception):
    """The copy cannot go on or did not verify; ``str()`` says why (no secrets)."""


async def tables(sqlite: Database) -> list[str]:
    rows = await sqlite.fetchall(
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
    )
    return [row["name"] for row in rows if row["name"] not in _SKIPPED]


async def copy_database(sqlite: Database, postgres: PostgresDatabase) -> dict[str, int]:
    """Copy every table; returns rows copied per table."""
    names = await tables(sqlite)
    for name in names:
        if await postgres.fetchval(f'SELECT COUNT(*) FROM "{name}"'):  # noqa: S608
            raise CopyError(
                f"PostgreSQL table {name} already holds rows: copy into an empty database."
            )
    copied: dict[str, int] = {}
    async with postgres.transaction() as tx:
        for name in names:
            rows = await sqlite.fetchall(f'SELECT * FROM "{name}"')  # noqa: S608
            copied[name] = len(rows)
            if not rows:
                continue
            columns = list(rows[0].keys())
            column_list = ", ".join(f'"{c}"' for c in columns)
            marks = ", ".join("?" for _ in columns)
            await tx.executemany(
                f'INSERT INTO "{name}" ({column_list}) VALUES ({marks})',  # noqa: S608
                [tuple(row) for row in rows],
            )
            if "id" in columns:
                await tx.execute(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "  # noqa: S608
                    f'(SELECT COALESCE(MAX(id), 0) + 1 FROM "{name}"), false)'
                )
    return copied


async def verify(
    sqlite: Database, postgres: PostgresDatabase, vault: KeyVault | None
) -> dict[str, tuple[int, int]]:
    """Row counts per table on both sides; raises when they differ or a key does not decrypt."""
    counts: dict[str, tuple[int, int]] = {}
    for name in await tables(sqlite):
        query = f'SELECT COUNT(*) FROM "{name}"'  # noqa: S608
        counts[name] = (int(await sqlite.fetchval(query)), int(await postgres.fetchval(query)))
    different = [n for n, (a, b) in counts.items() if a != b]
    if different:
        raise CopyError(f"Row counts differ in {', '.join(different)}: the copy is not complete.")
    ciphertexts = await stored_ciphertexts(postgres)
    if ciphertexts:
        if vault is None:
            raise CopyError(
                f"{len(ciphertexts)} linked key(s) copied but no encryption key to check them: "
                f"set {ENV_VAR} or keep {KEY_FILE_NAME} next to the SQLite database."
            )
        try:
            vault.check_can_decrypt(ciphertexts)
        except KeyVaultError as error:
            raise CopyError(f"Copied keys do not decrypt: {error}") from None
    return counts


def load_vault(sqlite_path: Path, key_material: str | None) -> KeyVault | None:
    """The configured key, never a new one (a generated key could not check anything)."""
    if not sqlite_path.exists():
        raise CopyError(f"There is no SQLite database at {sqlite_path}.")
    if key_material is None and not (sqlite_path.parent / KEY_FILE_NAME).exists():
        return None
    return KeyVault.from_config(key_material, sqlite_path.parent).vault


async def run(sqlite_path: Path, postgres_url: str, vault: KeyVault | None) -> str:
    sqlite = await Database.open(sqlite_path)
    try:
        postgres = await PostgresDatabase.connect(postgres_url)
        try:
            copied = await copy_database(sqlite, postgres)
            counts = await verify(sqlite, postgres, vault)
        finally:
            await postgres.close()
    finally:
        await sqlite.close()
    lines = [
        f"{name}: {copied[name]} row(s) copied, {b} in PostgreSQL"
        for name, (_, b) in counts.items()
    ]
    keys = counts.get("linked_keys", (0, 0))[1]
    lines.append(f"Verified: row counts equal, {keys} linked key(s) decrypt.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sqlite", type=Path, help="SQLite file (default: DATABASE_PATH)")
    parser.add_argument("--postgres", help="postgresql://… (default: DATABASE_URL)")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(require_token=False)
    except ConfigError as error:
        print(f"gw2optimizer: {error}", file=sys.stderr)
        return 2
    url = args.postgres or (
        settings.database.url.get_secret_value() if settings.database.url else ""
    )
    if parse_database_url(url or None, Path(".")).backend != "postgresql":
        print("gw2optimizer: give --postgres postgresql://… or set DATABASE_URL", file=sys.stderr)
        return 2
    material = settings.security.key_encryption_key
    sqlite_path = args.sqlite or settings.database.path
    try:
        vault = load_vault(sqlite_path, material.get_secret_value() if material else None)
        report = asyncio.run(run(sqlite_path, url, vault))
    except (CopyError, MigrationError, KeyVaultError) as error:
        print(f"gw2optimizer: {mask_url(str(error))}", file=sys.stderr)
        return 1
    except DATABASE_ERRORS as error:
        print(f"gw2optimizer: PostgreSQL {mask_url(url)}: {type(error).__name__}", file=sys.stderr)
        return 1
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
