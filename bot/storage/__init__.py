"""Storage: the SQLite connection, the migration runner and small repositories with explicit SQL."""

from .database import Database, StorageWriteError, Transaction, db_time, parse_db_time
from .migrations import MigrationError

__all__ = [
    "Database",
    "MigrationError",
    "StorageWriteError",
    "Transaction",
    "db_time",
    "parse_db_time",
]
