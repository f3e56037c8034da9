"""Maintenance windows: a camera's planned outage, excused in uptime, until a time or until stopped.

``camwatch maintenance start|stop`` writes them (``StateStore``); the uptime report reads them back as
(camera, start, end) and ``camwatch maintenance list`` with their reasons (``monitor/maintenance.py``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable


def start(
    conn: sqlite3.Connection, cameras: Iterable[str], *, until: float | None, reason: str, now: float
) -> int:
    with conn:
        cur = conn.executemany(
            "INSERT INTO maintenance (camera, start, until, reason) VALUES (?, ?, ?, ?)",
            [(c, now, until, reason) for c in cameras],
        )
    return cur.rowcount


def stop(conn: sqlite3.Connection, cameras: Iterable[str], *, now: float) -> int:
    """End the cameras' open windows at ``now``; returns how many were open."""
    with conn:
        cur = conn.executemany(
            "UPDATE maintenance SET stopped = ? WHERE camera = ? AND stopped IS NULL "
            "AND (until IS NULL OR until > ?)",
            [(now, c, now) for c in cameras],
        )
    return cur.rowcount


def windows(conn: sqlite3.Connection) -> list[tuple[str, float, float | None]]:
    """(camera, start, end or None) for every window, oldest first; end = stop or until, whichever first."""
    rows = conn.execute("SELECT camera, start, until, stopped FROM maintenance ORDER BY start").fetchall()
    return [(camera, begun, _end(until, stopped)) for camera, begun, until, stopped in rows]


def _end(until: float | None, stopped: float | None) -> float | None:
    ends = [t for t in (until, stopped) if t is not None]
    return min(ends) if ends else None
