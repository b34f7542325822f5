"""One service per database: the lock a running ``binroute serve`` holds on its database.

A second service on the same database would take the first one's running plan jobs and
nightly run for ones a stop cut short (``JobRunner.recover`` marks them failed, and the
nightly run starts again beside the running one) and reroute its alerts a second time. An
SQLite database is locked with ``flock`` on ``<file>.lock`` (released by the system when
the process ends, even killed), a PostgreSQL one with a session advisory lock.
"""

from __future__ import annotations

import fcntl
import os
from typing import IO

from sqlalchemy import Connection, text

from api.db import Database

PG_LOCK_KEY = 0x62696E726F757465  # "binroute"


class ServiceLockError(RuntimeError):
    """Another service holds the database: the message names it and what to do."""


class ServiceLock:
    """The service's exclusive hold of ``db`` (:meth:`acquire` once, :meth:`release` at stop)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._file: IO[str] | None = None
        self._conn: Connection | None = None

    @property
    def held(self) -> bool:
        """Whether this process holds the lock."""
        return self._file is not None or self._conn is not None

    def acquire(self) -> None:
        """Hold the database (a no-op when held already).

        Raises
        ------
        ServiceLockError
            When another service holds it.
        """
        if self.held:
            return
        if self._db.is_sqlite:
            self._lock_file()
        elif self._db.engine.dialect.name == "postgresql":
            self._lock_postgres()

    def _lock_file(self) -> None:
        path = self._db.engine.url.database
        if not path or path == ":memory:" or path.startswith("file:"):
            return  # one process's own database: no other service can open it
        handle = open(f"{path}.lock", "a+", encoding="utf-8")  # noqa: SIM115 (held open)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            pid = handle.read().strip() or "unknown"
            handle.close()
            raise ServiceLockError(
                f"another binroute service (pid {pid}) is running on the database {path}; "
                "stop it first, or give this one its own BINROUTE_DATABASE_URL"
            ) from None
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle

    def _lock_postgres(self) -> None:
        conn = self._db.engine.connect()
        held = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": PG_LOCK_KEY}).scalar()
        conn.commit()
        if not held:
            conn.close()
            raise ServiceLockError(
                "another binroute service is running on this PostgreSQL database; "
                "stop it first, or give this one its own BINROUTE_DATABASE_URL"
            )
        self._conn = conn

    def release(self) -> None:
        """Let go of the database (a no-op when not held)."""
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
        if self._conn is not None:
            self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": PG_LOCK_KEY})
            self._conn.commit()
            self._conn.close()  # back to the pool: the session lives on, unlocked
            self._conn = None
