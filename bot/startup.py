"""Start-up checks that turn file-system and database faults into one line an operator can act on.

Every ``StartupError`` names the setting to change (``DATABASE_PATH``, ``METRICS_PORT``,
``KEY_ENCRYPTION_KEY``) and the cause, never a traceback. The data folder is created owner-only
(0700) and a new database file 0600 before SQLite opens it: SQLite gives its ``-wal`` and ``-shm``
files the database file's mode, so they are private too.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sqlite3
import stat
from pathlib import Path
from urllib.parse import urlsplit

from .storage import Database, DatabaseTarget, MigrationError, mask_url

log = logging.getLogger(__name__)

DATA_DIR_MODE = 0o700
DATA_FILE_MODE = 0o600


class StartupError(Exception):
    """Start-up failed for a reason the operator can fix; ``str()`` says which."""


def describe_os_error(error: OSError) -> str:
    """``Permission denied``, ``Read-only file system``... without the path or a traceback."""
    if error.strerror:
        return error.strerror
    if error.errno is not None:
        return os.strerror(error.errno)
    return type(error).__name__


def prepare_database_file(path: Path) -> None:
    """Create the data folder (0700) and an empty database file (0600) when they are missing.

    Existing folders and files keep their mode; one readable by other users is logged as a
    warning (the file holds encrypted keys, Discord ids and account names).
    """
    if str(path) == ":memory:":
        return
    folder = path.parent
    try:
        if not folder.exists():
            folder.mkdir(mode=DATA_DIR_MODE, parents=True)
            folder.chmod(DATA_DIR_MODE)  # mkdir's mode is filtered by the umask
        if not path.exists():
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, DATA_FILE_MODE)
            os.close(descriptor)
            path.chmod(DATA_FILE_MODE)
    except FileExistsError:
        pass  # created by someone else between the check and the open: theirs to keep
    except OSError as error:
        raise StartupError(
            f"Cannot create the database {path} ({describe_os_error(error)}): make its folder "
            "writable by this user or point DATABASE_PATH somewhere that is."
        ) from None
    for target in (folder, path):
        with contextlib.suppress(OSError):
            if stat.S_IMODE(target.stat().st_mode) & 0o077:
                log.warning(
                    "%s is readable by other users (mode %o); chmod it to %o",
                    target,
                    stat.S_IMODE(target.stat().st_mode),
                    DATA_DIR_MODE if target == folder else DATA_FILE_MODE,
                )


async def open_postgres_or_exit(target: DatabaseTarget) -> Database:
    """Connect to PostgreSQL; unreachable or refused = one line naming DATABASE_URL (masked)."""
    from .storage.postgres import DATABASE_ERRORS, PostgresDatabase

    assert target.url is not None
    try:
        return await PostgresDatabase.connect(target.url)
    except MigrationError as error:
        raise StartupError(mask_url(str(error))) from None
    except DATABASE_ERRORS as error:
        cause = mask_url(str(error) or type(error).__name__)
        password = urlsplit(target.url).password
        if password:  # never echo the password, whatever the driver put in its message
            cause = cause.replace(password, "***")
        raise StartupError(
            f"Cannot connect to the database DATABASE_URL={target.masked} ({cause}): check that "
            "PostgreSQL is running and reachable, and the user, password and database name."
        ) from None


def database_error(path: Path, error: BaseException) -> StartupError:
    """The one-line start-up error for a database that cannot be opened or written."""
    if isinstance(error, OSError):
        cause = describe_os_error(error)
    else:
        cause = str(error) or type(error).__name__
    hint = "check the file's permissions and free disk space, or point DATABASE_PATH elsewhere"
    if isinstance(error, sqlite3.DatabaseError) and "not a database" in cause:
        hint = "DATABASE_PATH must name an SQLite file (restore it from a backup)"
    return StartupError(f"Cannot open the database DATABASE_PATH={path} ({cause}): {hint}.")


def metrics_port_error(host: str, port: int, error: OSError) -> StartupError:
    """The one-line start-up error for a metrics sidecar that cannot listen."""
    if error.errno == errno.EADDRINUSE:
        cause = "the port is already in use"
    else:
        cause = describe_os_error(error)
    return StartupError(
        f"Cannot serve metrics on {host}:{port} ({cause}): choose another METRICS_PORT "
        "(or METRICS_HOST), or set METRICS_PORT=0 to turn the sidecar off."
    )


def remove_generated_key(key_file: Path) -> None:
    """Delete a key file this start generated, after start-up failed before anything used it."""
    try:
        key_file.unlink()
    except FileNotFoundError:
        return
    except OSError as error:
        log.warning("Could not remove %s (%s)", key_file, describe_os_error(error))
        return
    log.info("Removed %s, generated by this failed start", key_file)
