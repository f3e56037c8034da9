"""Recorded footage per camera per day (录像完整率), from the recording checks.

Each recording check says how much footage the recorder holds for the 24 hours before it; a day's row sums
those answers (``seconds``) and counts them (``samples``), so the day's integrity is ``seconds ÷ (samples ×
86,400)`` — the mean of its checks — and a month's is the same sums over its days. Rows are written with the
store's batch. A check whose 24 hours touch a maintenance window of its camera is not kept (the service
decides): maintenance hours count neither as recorded nor as due, and every other hour is still covered by
the checks before the window and those a day after it. ``retention`` keeps the day's shortest retention
(oldest footage the recorder held, in seconds): the month's retention table shows the worst and the latest.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

DAY_SECONDS = 86_400.0
# (camera, local day YYYY-MM-DD, footage in the 24 hours before the check, in seconds, retention in seconds or
# None when the check did not say)
Staged = tuple[str, str, float, float | None]
# (camera, day, samples, seconds, shortest retention that day or None)
RecordedDay = tuple[str, str, int, float, float | None]


def write(conn: sqlite3.Connection, staged: Iterable[Staged]) -> None:
    """Inside the flush's transaction: each check adds to its camera's day."""
    conn.executemany(
        "INSERT INTO recorded_days (camera, day, samples, seconds, retention) VALUES (?, ?, 1, ?, ?) "
        "ON CONFLICT(camera, day) DO UPDATE SET samples = samples + 1, seconds = seconds + excluded.seconds, "
        "retention = CASE WHEN excluded.retention IS NULL THEN retention WHEN retention IS NULL "
        "THEN excluded.retention ELSE MIN(retention, excluded.retention) END",
        list(staged),
    )


def read(conn: sqlite3.Connection, first_day: str, last_day: str) -> list[RecordedDay]:
    """(camera, day, samples, seconds, retention) for the days ``first_day`` to ``last_day`` (both included);
    retention None in a file older than its column (schema version 7), which a reader does not upgrade."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(recorded_days)")}
    retention = "retention" if "retention" in columns else "NULL"
    return conn.execute(
        f"SELECT camera, day, samples, seconds, {retention} FROM recorded_days WHERE day >= ? AND day <= ? "
        "ORDER BY camera, day",
        (first_day, last_day),
    ).fetchall()
