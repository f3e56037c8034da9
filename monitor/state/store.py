"""``StateStore``: the service's handle on the state database, each job done by its own module.

The batch (``writes``), the connection and the run (``database``), integrity and repair (``recovery``),
maintenance windows (``maintenance``) and device identity (``identity``); the schema and its migrations are
in ``schema``.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from camwatch.monitor.state import identity, maintenance, recovery
from camwatch.monitor.state.database import Database
from camwatch.monitor.state.rows import (
    CAMERA_COLUMNS,
    EVENT_COLUMNS,
    TRANSITION_COLUMNS,
    Event,
    StoredCamera,
    Transition,
    camera_from,
    event_from,
    transition_from,
)
from camwatch.monitor.state.schema import CorruptState
from camwatch.monitor.state.writes import WriteBatch


class StateStore:
    """Current camera state and history in SQLite, written in batches from a worker thread."""

    def __init__(self, path: Path, *, recover: bool = False):
        """``recover`` (the service): a corrupt file is set aside and a new one started, and the file is
        checked at once; otherwise (reports, tools) a corrupt file raises ``CorruptState``."""
        self.path = path
        self.database = Database(path)
        self._batch = WriteBatch()
        try:
            self.database.conn = self.database.open()
        except (sqlite3.OperationalError, OSError) as exc:
            # An unwritable or full disk must not stop monitoring: keep state in memory, retry on flush.
            self.database.failed(exc)
        except CorruptState as exc:
            if not recover:
                raise
            self.database.problem = recovery.set_aside(self.database, str(exc.__cause__ or exc))
        if recover and self.database.problem is None:
            self.check()

    @property
    def healthy(self) -> bool:
        """The database takes writes and the last check found it sound."""
        return self.database.healthy

    @property
    def write_errors(self) -> int:
        return self.database.write_errors

    @property
    def dropped_transitions(self) -> int:
        return self._batch.dropped_transitions

    # The connection and its lock, for code (and tests) that reach the database directly.
    @property
    def _conn(self) -> sqlite3.Connection | None:
        return self.database.conn

    @property
    def _db(self) -> threading.RLock:
        return self.database.lock

    def _attached(self) -> sqlite3.Connection | None:
        return self.database.attached()

    # -- reading --------------------------------------------------------------------------------------

    def _select(self, sql: str, args: tuple[str, ...] = ()) -> list[tuple[object, ...]]:
        with self.database.lock:
            if (conn := self.database.attached()) is None:
                return []
            return conn.execute(sql, args).fetchall()

    def load(self) -> dict[str, StoredCamera]:
        rows = self._select(f"SELECT {CAMERA_COLUMNS} FROM camera_state")
        return {str(r[0]): camera_from(r) for r in rows}

    def transitions(self, camera: str | None = None) -> list[Transition]:
        where, args = ("", ()) if camera is None else (" WHERE camera = ?", (camera,))
        rows = self._select(f"SELECT {TRANSITION_COLUMNS} FROM transitions{where} ORDER BY id", args)
        return [transition_from(r) for r in rows]

    def events(self, camera: str | None = None) -> list[Event]:
        where, args = ("", ()) if camera is None else (" WHERE camera = ?", (camera,))
        rows = self._select(f"SELECT {EVENT_COLUMNS} FROM events{where} ORDER BY id", args)
        return [event_from(r) for r in rows]

    def identities(self) -> dict[str, tuple[str, str, float | None]]:
        """Last known (serial, firmware, clock offset) per camera."""
        with self.database.lock:
            if (conn := self.database.attached()) is None:
                return {}
            return identity.read(conn)

    # -- writing --------------------------------------------------------------------------------------

    def begin_run(self, now: float | None = None) -> None:
        """Record that monitoring runs from now: the uptime report counts only monitored time."""
        self.database.begin_run(now)

    def stage(self, row: StoredCamera, transition: Transition | None = None) -> None:
        """Queue a camera's current row (and its transition) for the next flush."""
        self._batch.stage(row, transition)

    def stage_event(self, event: Event) -> None:
        self._batch.stage_event(event)

    def stage_recorded(self, camera: str, day: str, seconds: float, retention: float | None = None) -> None:
        """A recording check's footage in the 24 hours before it, added to ``day`` (local, YYYY-MM-DD), and
        the retention it found (the day keeps its shortest)."""
        self._batch.stage_recorded((camera, day, seconds, retention))

    def stage_identity(
        self, camera: str, serial: str, firmware: str, clock_offset: float | None, ts: float
    ) -> None:
        self._batch.stage_identity(camera, (serial, firmware, clock_offset, ts))

    @property
    def pending(self) -> int:
        return self._batch.pending

    def flush(self, now: float | None = None) -> bool:
        """Write everything queued in one transaction; on failure keep it queued. Returns success."""
        return self._batch.flush(self.database, now)

    def check(self, now: float | None = None) -> bool:
        """Check the file and repair what can be repaired (``recovery.check``); True: a new, empty database
        replaced a corrupt one, and the caller stages its current state again."""
        return recovery.check(self.database, now)

    # -- maintenance ----------------------------------------------------------------------------------

    def start_maintenance(
        self, cameras: Iterable[str], *, until: float | None, reason: str, now: float | None = None
    ) -> int:
        now = time.time() if now is None else now
        with self.database.lock:
            return maintenance.start(self.database.required(), cameras, until=until, reason=reason, now=now)

    def stop_maintenance(self, cameras: Iterable[str], *, now: float | None = None) -> int:
        now = time.time() if now is None else now
        with self.database.lock:
            return maintenance.stop(self.database.required(), cameras, now=now)

    def maintenance_windows(self) -> Iterator[tuple[str, float, float | None]]:
        """(camera, start, end or None) for every maintenance window; end = stop or until."""
        with self.database.lock:
            conn = self.database.attached()
            windows = [] if conn is None else maintenance.windows(conn)
        yield from windows

    def close(self) -> None:
        self.flush()
        self.database.close()
