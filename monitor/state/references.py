"""The video probe's learned references per camera (sharpness baseline, scene reference), kept in the state
database so that a restart does not relearn them and a camera turned meanwhile is told at once."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from typing import Any

from camwatch.monitor.picture import scene
from camwatch.monitor.probes.base import Transient
from camwatch.monitor.state.database import Database
from camwatch.monitor.state.schema import StateError, log
from camwatch.monitor.state.store import StateStore


def _encode(value: Any) -> tuple[str, bytes]:
    if isinstance(value, scene.SceneReference):
        return "scene", scene.reference_bytes(value)
    return "number", json.dumps(float(value)).encode()


def _decode(kind: str, data: bytes) -> Any:
    return scene.reference_from_bytes(data) if kind == "scene" else float(json.loads(data))


class StoredBaselines:
    """The probe context's ``baselines``: one row per camera and key in ``video_references``, replaced.

    Every ``get`` reads the database, so that ``camwatch reference reset`` reaches a running monitor. While
    the disk refuses writes, references are kept in memory and the monitor goes on. ``Transient`` values (a
    camera's previous picture) live in memory only.
    """

    def __init__(self, store: StateStore):
        self._db: Database = store.database
        self._unsaved: dict[tuple[str, str], Any] = {}
        self._transient: dict[tuple[str, str], Transient] = {}

    def get(self, camera_id: str, key: str) -> Any:
        if (camera_id, key) in self._transient:
            return self._transient[(camera_id, key)]
        with self._db.lock:
            try:
                conn = self._db.attached()
                row = (
                    conn.execute(
                        "SELECT kind, value FROM video_references WHERE camera = ? AND key = ?",
                        (camera_id, key),
                    ).fetchone()
                    if conn is not None
                    else None
                )
            except sqlite3.Error as exc:
                log.warning("cannot read video references: %s", exc)
                row = None
        if row is None:
            return self._unsaved.get((camera_id, key))
        return _decode(*row)

    def put(self, camera_id: str, key: str, value: Any) -> None:
        if isinstance(value, Transient):
            self._transient[(camera_id, key)] = value
            return
        kind, data = _encode(value)
        with self._db.lock:
            try:
                conn = self._db.attached()
                if conn is None:
                    raise sqlite3.OperationalError("state database not open")
                with conn:
                    conn.execute(
                        "INSERT OR REPLACE INTO video_references VALUES (?, ?, ?, ?, ?)",
                        (camera_id, key, kind, data, time.time()),
                    )
                self._unsaved.pop((camera_id, key), None)
            except (sqlite3.Error, OSError) as exc:
                log.warning("cannot store video references, keeping them in memory: %s", exc)
                self._unsaved[(camera_id, key)] = value

    def reset(self, cameras: Iterable[str]) -> int:
        """Forget what ``cameras`` learned, so that their next healthy checks learn afresh; returns how
        many cameras had something to forget."""
        ids = list(cameras)
        for memory in (self._unsaved, self._transient):
            for key in [k for k in memory if k[0] in ids]:
                del memory[key]
        with self._db.lock:
            conn = self._db.attached()
            if conn is None:
                raise StateError(f"{self._db.path}: cannot open the state database")
            with conn:
                forgotten = {
                    row[0]
                    for camera in ids
                    for row in conn.execute(
                        "SELECT DISTINCT camera FROM video_references WHERE camera = ?", (camera,)
                    )
                }
                conn.executemany("DELETE FROM video_references WHERE camera = ?", [(c,) for c in ids])
        return len(forgotten)
