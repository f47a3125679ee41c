"""``python -m bot.keys``: make an encryption key, or re-encrypt stored keys with the current one.

Commands::

    python -m bot.keys generate   # print a new Fernet key for KEY_ENCRYPTION_KEY
    python -m bot.keys rotate     # re-encrypt every stored API key with the first key

Rotation: put the new key first and keep the old one after it
(``KEY_ENCRYPTION_KEY=<new>,<old>``), run ``rotate`` (the bot may keep running; each row is
rewritten in one transaction), then drop the old key from the variable. ``rotate`` reads the same
settings as the bot (environment and ``.env``: ``DATABASE_PATH``, ``KEY_ENCRYPTION_KEY``) and
prints counts only, never a key.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from services.keys import KeyVault, KeyVaultError, generate_key
from services.keys.vault import ENV_VAR, KEY_FILE_NAME

from .config import ConfigError, Settings, load_settings
from .storage import MigrationError, open_database
from .storage.keys import LinkedKeyStore


def main(argv: Sequence[str] | None = None) -> int:
    """The CLI entry point; returns the exit status (0 ok, 1 failed, 2 bad usage/config)."""
    parser = argparse.ArgumentParser(
        prog="python -m bot.keys", description="Manage the encryption of linked GW2 API keys."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("generate", help=f"print a new Fernet key for {ENV_VAR}")
    commands.add_parser("rotate", help="re-encrypt every stored API key with the current key")
    args = parser.parse_args(argv)
    if args.command == "generate":
        print(generate_key())
        return 0
    try:
        settings = load_settings(require_token=False)
    except ConfigError as error:
        print(f"gw2optimizer: {error}", file=sys.stderr)
        return 2
    try:
        rotated, current = asyncio.run(rotate(settings))
    except (KeyVaultError, MigrationError) as error:
        print(f"gw2optimizer: {error}", file=sys.stderr)
        return 1
    print(f"Re-encrypted {rotated} stored key(s); {current} already used the current key.")
    return 0


async def rotate(settings: Settings) -> tuple[int, int]:
    """Re-encrypt every row with the first configured key: (re-encrypted, already current)."""
    target = settings.database.target()
    if target.path is not None and not target.path.exists():
        raise KeyVaultError(
            f"There is no database at {target.path}: set DATABASE_PATH to the bot's."
        )
    material = settings.security.key_encryption_key
    key_file = settings.database.data_dir / KEY_FILE_NAME
    if material is None and not key_file.exists():
        # from_config would generate a brand-new key, which can't open anything stored.
        raise KeyVaultError(
            f"{ENV_VAR} is not set and there is no {key_file}: nothing to rotate with. Set "
            f"{ENV_VAR} to the new key followed by the old one(s), comma-separated."
        )
    loaded = KeyVault.from_config(
        material.get_secret_value() if material else None, settings.database.data_dir
    )
    db = await open_database(target)  # SQLite or PostgreSQL (DATABASE_URL)
    try:
        return await LinkedKeyStore(db, loaded.vault).rotate_encryption()
    finally:
        await db.close()


if __name__ == "__main__":
    sys.exit(main())
