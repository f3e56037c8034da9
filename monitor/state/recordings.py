"""Recorded footage per camera per day (录像完整率), from the recording checks.

Each recording check says how much footage the recorder holds for the 24 hours before it; a day's row sums
those answers (``seconds``) and counts them (``samples``), so the day's integrity is ``seconds ÷ (samples ×
86,400)`` — the mean of its checks — and a month's is the same sums over its days. Rows are written with the
store's batch. A check whose 24 hours touch a maintenance window of its camera is not kept (the service
decides): maintenance hours count neither as recorded nor as due, and every other hour is still covered by
the checks before the window and those a day after it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

DAY_SECONDS = 86_400.0
# (camera, local day YYYY-MM-DD, footage in the 24 hours before the check, in seconds)
Staged = tuple[str, str, float]


def write(conn: sqlite3.Connection, staged: Iterable[Staged]) -> None:
    """Inside the flush's transaction: each check adds to its camera's day."""
    conn.executemany(
        "INSERT INTO recorded_days (camera, day, samples, seconds) VALUES (?, ?, 1, ?) "
        "ON CONFLICT(camera, day) DO UPDATE SET samples = samples + 1, seconds = seconds + excluded.seconds",
        list(staged),
    )


def read(conn: sqlite3.Connection, first_day: str, last_day: str) -> list[tuple[str, str, int, float]]:
    """(camera, day, samples, seconds) for the days ``first_day`` to ``last_day`` (both included)."""
    return conn.execute(
        "SELECT camera, day, samples, seconds FROM recorded_days WHERE day >= ? AND day <= ? "
        "ORDER BY camera, day",
        (first_day, last_day),
    ).fetchall()
