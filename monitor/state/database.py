"""The writer's connection to the state file, kept usable through disk trouble, and the run it records.

One connection is shared by the service's loop thread and its flush thread under ``lock``. When the file
cannot be opened (full or unwritable disk) the store keeps state in memory; ``attached`` retries on each use
and records the run once the file opens. ``writable``, ``problem`` and ``write_errors`` are what
``camwatch_state_healthy`` and ``camwatch_state_write_errors_total`` report.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from camwatch.monitor.state.schema import CorruptState, StateError, connect, is_corrupt, log


class Database:
    def __init__(self, path: Path):
        self.path = path
        self.conn: sqlite3.Connection | None = None
        self.lock = threading.RLock()  # the connection is used from the loop thread and the flush thread
        self.file: tuple[int, int] | None = None  # (device, inode) of the file the connection writes
        self.writable = True
        self.problem: str | None = None  # what the last check found wrong, until one finds it sound
        self.write_errors = 0
        self.next_quick_check = 0.0  # monotonic time of the next whole-file integrity check
        self.run_started: float | None = None
        self.run_id: int | None = None

    @property
    def healthy(self) -> bool:
        """The database takes writes and the last check found it sound."""
        return self.writable and self.problem is None

    def open(self) -> sqlite3.Connection:
        """Connect (creating or upgrading the schema) and note which file the connection writes."""
        conn = connect(self.path)
        st = self.path.stat()
        self.file = (st.st_dev, st.st_ino)
        return conn

    def attached(self) -> sqlite3.Connection | None:
        """The connection, opening it if an earlier attempt failed (the disk may be back)."""
        if self.conn is None:
            try:
                self.conn = self.open()
            except (sqlite3.OperationalError, OSError, CorruptState):
                return None
            if self.run_started is not None:
                self.begin_run(self.run_started)
        return self.conn

    def required(self) -> sqlite3.Connection:
        """The connection for a command that cannot go on without it (maintenance, reference reset)."""
        if (conn := self.attached()) is None:
            raise StateError(f"{self.path}: cannot open the state database (is its folder writable?)")
        return conn

    def begin_run(self, now: float | None = None) -> None:
        """Record that monitoring runs from now: the uptime report counts only monitored time."""
        now = time.time() if now is None else now
        self.run_started = now
        try:
            with self.lock:
                if (conn := self.attached()) is None:
                    return  # recorded when the database can be opened
                with conn:
                    cur = conn.execute("INSERT INTO runs (started, last_seen) VALUES (?, ?)", (now, now))
            self.run_id = cur.lastrowid
        except sqlite3.Error as exc:
            self.failed(exc)

    def stamp_run(self, conn: sqlite3.Connection, now: float) -> None:
        """Inside a flush's transaction: the run lasted until ``now``."""
        if self.run_id is not None:
            conn.execute("UPDATE runs SET last_seen = ? WHERE id = ?", (now, self.run_id))

    def failed(self, exc: Exception) -> None:
        self.write_errors += 1
        if isinstance(exc, sqlite3.Error) and is_corrupt(exc):
            # A damaged page answers some writes and not others: stay unhealthy until a check decides.
            self.problem = self.problem or f"damaged ({exc})"
            self.next_quick_check = 0.0
        if self.writable:  # log once per episode, not once per flush
            log.error(
                "cannot write state database %s: %s; keeping state in memory and retrying", self.path, exc
            )
        self.writable = False

    def close(self) -> None:
        with self.lock:
            if self.conn is not None:
                self.conn.close()
                self.conn = None
