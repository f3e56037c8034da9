"""Device identity per camera (serial, firmware, clock offset), as ONVIF last reported it.

``camwatch.monitor.identity`` decides what a change means (replaced, re-flashed, rebooted); this keeps the
last known identity across restarts. Rows are written with the store's batch.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping

# (serial, firmware, clock offset or None, when seen)
Staged = tuple[str, str, float | None, float]


def write(conn: sqlite3.Connection, staged: Mapping[str, Staged]) -> None:
    """Inside the flush's transaction: each camera's latest identity replaces its row."""
    conn.executemany(
        "INSERT OR REPLACE INTO device_identity (camera, serial, firmware, clock_offset, ts) "
        "VALUES (?, ?, ?, ?, ?)",
        [(camera, *ident) for camera, ident in staged.items()],
    )


def read(conn: sqlite3.Connection) -> dict[str, tuple[str, str, float | None]]:
    """Last known (serial, firmware, clock offset) per camera."""
    rows = conn.execute("SELECT camera, serial, firmware, clock_offset FROM device_identity").fetchall()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}
