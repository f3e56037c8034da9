"""Excused outages (免责): time a bureau agrees not to count against a camera's rates, e.g. a utility power
cut, recorded after the fact with who, why and when. Unlike a maintenance window it mutes no alert and is
usually entered once the outage is over."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from camwatch.monitor.state import connect

_TABLE = """
CREATE TABLE IF NOT EXISTS excuses (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    camera TEXT NOT NULL,
    start REAL NOT NULL,
    end REAL NOT NULL,
    reason TEXT NOT NULL,
    recorded_by TEXT NOT NULL DEFAULT '',
    recorded REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS excuses_camera ON excuses (camera);
"""


@dataclass(frozen=True, slots=True)
class Excuse:
    camera: str
    start: float
    end: float
    reason: str
    recorded_by: str
    recorded: float


def record_excuse(
    path: Path, cameras: Iterable[str], *, start: float, end: float, reason: str, by: str, now: float
) -> int:
    """Store one excuse per camera; returns how many were stored."""
    if not end > start:
        raise ValueError("an excuse must end after it starts")
    if not reason.strip():
        raise ValueError("an excuse needs a reason (e.g. 'utility power cut, notice 2026-118')")
    rows = [(c, start, end, reason, by, now) for c in cameras]
    with contextlib.closing(connect(path)) as conn, conn:
        conn.executescript(_TABLE)
        conn.executemany(
            "INSERT INTO excuses (camera, start, end, reason, recorded_by, recorded) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
    return len(rows)


def read_excuses(path: Path) -> list[Excuse]:
    """Every excuse in the database, oldest first; none in a database that never had one."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        try:
            rows = conn.execute(
                "SELECT camera, start, end, reason, recorded_by, recorded FROM excuses ORDER BY start"
            ).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return []
            raise
    return [Excuse(*r) for r in rows]
