"""Excused outages (免责): time a bureau agrees not to count against a camera's rates, e.g. a utility power
cut, recorded after the fact with who, why and when. Unlike a maintenance window it mutes no alert and is
usually entered once the outage is over."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from camwatch.monitor.state import StateReader, connect


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
    """Store one excuse per camera (upgrading the database to the current schema); returns how many."""
    if not end > start:
        raise ValueError("an excuse must end after it starts")
    if not reason.strip():
        raise ValueError("an excuse needs a reason (e.g. 'utility power cut, notice 2026-118')")
    rows = [(c, start, end, reason, by, now) for c in cameras]
    with contextlib.closing(connect(path)) as conn, conn:
        conn.executemany(
            "INSERT INTO excuses (camera, start, end, reason, recorded_by, recorded) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
    return len(rows)


def read_excuses(path: Path) -> list[Excuse]:
    """Every excuse in the database, oldest first, read-only."""
    with StateReader(path) as reader:
        return [Excuse(*row) for row in reader.excuses()]
