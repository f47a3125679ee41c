"""Leases: work one process claims until a time, so a cluster does it exactly once.

A lease names its owner (one per running loop, :func:`new_owner`) and when it ends (stored UTC
text, compared as text like every stored time). The holder renews it each cycle; a holder that died
simply lets it run out, and another process takes it over (``release`` serves tests and tools).
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime

from .database import Database, db_time


def new_owner(job: str) -> str:
    """A lease owner id unique to this process and loop (host, pid, random)."""
    return f"{socket.gethostname()}:{os.getpid()}:{job}:{uuid.uuid4().hex[:8]}"


class JobLeases:
    """Whole jobs that run in one process at a time (``job_leases``)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def acquire(self, name: str, owner: str, now: datetime, until: datetime) -> bool:
        """Take or renew the lease; False while another owner holds an unexpired one."""
        changed = await self.db.execute(
            "INSERT INTO job_leases (name, owner, lease_until) VALUES (?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, "
            "lease_until = excluded.lease_until "
            "WHERE job_leases.owner = excluded.owner OR job_leases.lease_until <= ?",
            (name, owner, db_time(until), db_time(now)),
        )
        return changed > 0

    async def release(self, name: str, owner: str) -> None:
        await self.db.execute("DELETE FROM job_leases WHERE name = ? AND owner = ?", (name, owner))

    async def holder(self, name: str, now: datetime) -> str | None:
        """Who holds an unexpired lease on ``name`` (for tests and diagnostics)."""
        value = await self.db.fetchval(
            "SELECT owner FROM job_leases WHERE name = ? AND lease_until > ?",
            (name, db_time(now)),
        )
        return None if value is None else str(value)
