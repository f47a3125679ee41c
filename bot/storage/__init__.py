"""Storage: SQLite or PostgreSQL behind one ``Database``, migrations and small repositories."""

from .backend import open_database
from .database import (
    Database,
    DatabaseUnavailableError,
    StorageWriteError,
    Transaction,
    db_time,
    parse_db_time,
)
from .migrations import MigrationError
from .urls import DatabaseTarget, DatabaseUrlError, mask_url

__all__ = [
    "Database",
    "DatabaseTarget",
    "DatabaseUnavailableError",
    "DatabaseUrlError",
    "MigrationError",
    "StorageWriteError",
    "Transaction",
    "db_time",
    "mask_url",
    "open_database",
    "parse_db_time",
]
