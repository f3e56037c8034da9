"""Reading the state database without writing it: ``history``, ``report uptime``, ``maintenance list``.

Safe beside a running monitor, and on a file the reader may not write. Each reader names the oldest schema
version it understands (``OLDEST_READABLE``: every table these read exists since version 1); a file of another
version is refused with one line that says which version was found and what to do (``UnreadableVersion``).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path
from types import TracebackType

from camwatch.monitor.state import maintenance, recordings
from camwatch.monitor.state.rows import Event, Transition, transition_columns, transition_from
from camwatch.monitor.state.schema import open_readonly

OLDEST_READABLE = 1


def read_transitions(path: Path, camera: str, *, since: float = 0.0) -> list[Transition]:
    """One camera's transitions from ``since`` on."""
    with contextlib.closing(open_readonly(path, oldest=OLDEST_READABLE)) as conn:
        rows = conn.execute(
            f"SELECT {transition_columns(conn)} FROM transitions WHERE camera = ? AND ts >= ? ORDER BY id",
            (camera, since),
        ).fetchall()
    return [transition_from(r) for r in rows]


def read_events(path: Path, camera: str, *, since: float = 0.0) -> list[Event]:
    """One camera's events (device events, GB/T 28181 notes) from ``since`` on."""
    with contextlib.closing(open_readonly(path, oldest=OLDEST_READABLE)) as conn:
        rows = conn.execute(
            "SELECT camera, ts, kind, detail FROM events WHERE camera = ? AND ts >= ? ORDER BY id",
            (camera, since),
        ).fetchall()
    return [Event(r[0], r[1], r[2], json.loads(r[3])) for r in rows]


class StateReader:
    """The history a report needs (monitored runs, transitions, maintenance windows), read-only."""

    def __init__(self, path: Path):
        self.path = path
        self._conn: sqlite3.Connection = open_readonly(path, oldest=OLDEST_READABLE)

    def runs(self) -> list[tuple[float, float]]:
        """(started, last seen) of every run of the monitor."""
        return [(a, b) for a, b in self._conn.execute("SELECT started, last_seen FROM runs")]

    def transitions(self) -> list[Transition]:
        columns = transition_columns(self._conn)
        rows = self._conn.execute(f"SELECT {columns} FROM transitions ORDER BY id").fetchall()
        return [transition_from(r) for r in rows]

    def maintenance_windows(self) -> list[tuple[str, float, float | None]]:
        """(camera, start, end or None) for every maintenance window."""
        return maintenance.windows(self._conn)

    def events(self, kind: str, *, since: float = 0.0) -> list[Event]:
        """Every camera's events of ``kind`` from ``since`` on."""
        rows = self._conn.execute(
            "SELECT camera, ts, kind, detail FROM events WHERE kind = ? AND ts >= ? ORDER BY id",
            (kind, since),
        ).fetchall()
        return [Event(r[0], r[1], r[2], json.loads(r[3])) for r in rows]

    def excuses(self) -> list[tuple[str, float, float, str, str, float]]:
        """(camera, start, end, reason, recorded by, recorded at) of every excused outage, oldest first; none
        in a file older than the excuses table (schema version 4), which the reader does not upgrade."""
        if not self._has_table("excuses"):
            return []
        return self._conn.execute(
            "SELECT camera, start, end, reason, recorded_by, recorded FROM excuses ORDER BY start, id"
        ).fetchall()

    def recorded_days(self, first_day: str, last_day: str) -> list[recordings.RecordedDay]:
        """(camera, day, samples, seconds, shortest retention) of the recording checks on those days; none
        in a file older than the table (schema version 5)."""
        if not self._has_table("recorded_days"):
            return []
        return recordings.read(self._conn, first_day, last_day)

    def _has_table(self, name: str) -> bool:
        query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        return self._conn.execute(query, (name,)).fetchone() is not None

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> StateReader:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
