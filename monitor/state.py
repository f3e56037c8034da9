"""Embedded SQLite state: current status per camera and every transition, surviving restarts.

Writes are batched and flushed from a worker thread in one transaction, so a burst of probe results costs
one fsync, and a camera's current row and its transition are always written together (a ``kill -9``
leaves either both or neither). When the disk refuses writes, the batch stays in memory (bounded) and the
monitor goes on; the next successful flush catches up.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from camwatch.monitor import scene

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS camera_state (
    camera TEXT PRIMARY KEY,
    up INTEGER,
    status TEXT NOT NULL,
    faults TEXT NOT NULL DEFAULT '[]',
    since REAL NOT NULL,
    last_probe REAL NOT NULL,
    flaps INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS transitions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    camera TEXT NOT NULL,
    ts REAL NOT NULL,
    prev_status TEXT,
    status TEXT NOT NULL,
    up INTEGER NOT NULL,
    working INTEGER NOT NULL,
    faults TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS transitions_camera_ts ON transitions (camera, ts);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started REAL NOT NULL,
    last_seen REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS maintenance (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    camera TEXT NOT NULL,
    start REAL NOT NULL,
    until REAL,
    reason TEXT NOT NULL DEFAULT '',
    stopped REAL
);
CREATE INDEX IF NOT EXISTS maintenance_camera ON maintenance (camera);
CREATE TABLE IF NOT EXISTS device_identity (
    camera TEXT PRIMARY KEY,
    serial TEXT NOT NULL,
    firmware TEXT NOT NULL DEFAULT '',
    clock_offset REAL,
    ts REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    camera TEXT NOT NULL,
    ts REAL NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}'
);
"""
MAX_PENDING_TRANSITIONS = 200_000


class StateError(RuntimeError):
    """The state database cannot be used (wrong schema version, not a database)."""


@dataclass(frozen=True, slots=True)
class StoredCamera:
    camera: str
    up: bool | None
    status: str
    faults: tuple[str, ...]
    since: float
    last_probe: float
    flaps: int = 0


@dataclass(frozen=True, slots=True)
class Transition:
    camera: str
    ts: float
    prev_status: str | None
    status: str
    up: bool
    working: bool
    faults: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Event:
    camera: str
    ts: float
    kind: str
    detail: dict[str, object]


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """Open the state database (creating and migrating it unless ``readonly``)."""
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        _check_version(conn, path)
        return conn
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, check_same_thread=False, timeout=10)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise StateError(f"{path}: not a camwatch state database ({exc})") from exc
    if version > SCHEMA_VERSION:
        raise StateError(f"{path}: schema version {version} is newer than this camwatch ({SCHEMA_VERSION})")
    if version < SCHEMA_VERSION:
        with conn:
            conn.executescript(_SCHEMA)
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    return conn


def _check_version(conn: sqlite3.Connection, path: Path) -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version != SCHEMA_VERSION:
        raise StateError(f"{path}: schema version {version}, expected {SCHEMA_VERSION}")


class StateStore:
    """Current camera state and history in SQLite, written in batches from a worker thread."""

    def __init__(self, path: Path):
        self.path = path
        self.dropped_transitions = 0
        self.write_errors = 0
        self.healthy = True
        self._run_started: float | None = None
        self._conn: sqlite3.Connection | None = None
        try:
            self._conn = connect(path)
        except (sqlite3.OperationalError, OSError) as exc:
            # An unwritable or full disk must not stop monitoring: keep state in memory, retry on flush.
            self._failed(exc)
        self._lock = threading.Lock()  # guards the pending batch
        self._db = threading.RLock()  # the connection is used from the loop thread and the flush thread
        self._pending_rows: dict[str, StoredCamera] = {}
        self._pending_transitions: deque[Transition] = deque()
        self._pending_events: deque[Event] = deque()
        self._pending_identities: dict[str, tuple[str, str, float | None, float]] = {}
        self._run_id: int | None = None

    # -- reading --------------------------------------------------------------------------------------

    def _attached(self) -> sqlite3.Connection | None:
        """The connection, opening it if an earlier attempt failed (the disk may be back)."""
        if self._conn is None:
            try:
                self._conn = connect(self.path)
            except (sqlite3.OperationalError, OSError):
                return None
            if self._run_started is not None:
                self.begin_run(self._run_started)
        return self._conn

    def load(self) -> dict[str, StoredCamera]:
        with self._db:
            if (conn := self._attached()) is None:
                return {}
            rows = conn.execute(
                "SELECT camera, up, status, faults, since, last_probe, flaps FROM camera_state"
            ).fetchall()
        return {
            r[0]: StoredCamera(
                r[0], None if r[1] is None else bool(r[1]), r[2], tuple(json.loads(r[3])), r[4], r[5], r[6]
            )
            for r in rows
        }

    def transitions(self, camera: str | None = None) -> list[Transition]:
        sql = "SELECT camera, ts, prev_status, status, up, working, faults FROM transitions"
        args: tuple[str, ...] = ()
        if camera is not None:
            sql += " WHERE camera = ?"
            args = (camera,)
        sql += " ORDER BY id"
        with self._db:
            if (conn := self._attached()) is None:
                return []
            rows = conn.execute(sql, args).fetchall()
        return [
            Transition(r[0], r[1], r[2], r[3], bool(r[4]), bool(r[5]), tuple(json.loads(r[6]))) for r in rows
        ]

    def events(self, camera: str | None = None) -> list[Event]:
        sql = "SELECT camera, ts, kind, detail FROM events"
        args: tuple[str, ...] = ()
        if camera is not None:
            sql += " WHERE camera = ?"
            args = (camera,)
        with self._db:
            if (conn := self._attached()) is None:
                return []
            rows = conn.execute(sql + " ORDER BY id", args).fetchall()
        return [Event(r[0], r[1], r[2], json.loads(r[3])) for r in rows]

    # -- writing --------------------------------------------------------------------------------------

    def begin_run(self, now: float | None = None) -> None:
        """Record that monitoring runs from now: the uptime report counts only monitored time."""
        now = time.time() if now is None else now
        self._run_started = now
        try:
            with self._db:
                if (conn := self._attached()) is None:
                    return  # recorded when the database can be opened
                with conn:
                    cur = conn.execute("INSERT INTO runs (started, last_seen) VALUES (?, ?)", (now, now))
            self._run_id = cur.lastrowid
        except sqlite3.Error as exc:
            self._failed(exc)

    def stage(self, row: StoredCamera, transition: Transition | None = None) -> None:
        """Queue a camera's current row (and its transition) for the next flush."""
        with self._lock:
            self._pending_rows[row.camera] = row
            if transition is not None:
                if len(self._pending_transitions) >= MAX_PENDING_TRANSITIONS:
                    self._pending_transitions.popleft()
                    self.dropped_transitions += 1
                self._pending_transitions.append(transition)

    def stage_event(self, event: Event) -> None:
        with self._lock:
            self._pending_events.append(event)

    def stage_identity(
        self, camera: str, serial: str, firmware: str, clock_offset: float | None, ts: float
    ) -> None:
        with self._lock:
            self._pending_identities[camera] = (serial, firmware, clock_offset, ts)

    def identities(self) -> dict[str, tuple[str, str, float | None]]:
        """Last known (serial, firmware, clock offset) per camera."""
        with self._db:
            if (conn := self._attached()) is None:
                return {}
            rows = conn.execute(
                "SELECT camera, serial, firmware, clock_offset FROM device_identity"
            ).fetchall()
        return {r[0]: (r[1], r[2], r[3]) for r in rows}

    @property
    def pending(self) -> int:
        return (
            len(self._pending_rows)
            + len(self._pending_transitions)
            + len(self._pending_events)
            + len(self._pending_identities)
        )

    def flush(self, now: float | None = None) -> bool:
        """Write everything queued in one transaction; on failure keep it queued. Returns success."""
        now = time.time() if now is None else now
        with self._lock:
            rows = list(self._pending_rows.values())
            transitions = list(self._pending_transitions)
            events = list(self._pending_events)
            identities = dict(self._pending_identities)
        with self._db:
            conn = self._attached()
        if conn is None:
            self._failed(sqlite3.OperationalError("unable to open database file"))
            return False
        try:
            with self._db, conn:
                conn.executemany(
                    "INSERT INTO camera_state (camera, up, status, faults, since, last_probe, flaps) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(camera) DO UPDATE SET up=excluded.up, "
                    "status=excluded.status, faults=excluded.faults, since=excluded.since, "
                    "last_probe=excluded.last_probe, flaps=excluded.flaps",
                    [
                        (
                            r.camera,
                            None if r.up is None else int(r.up),
                            r.status,
                            json.dumps(list(r.faults)),
                            r.since,
                            r.last_probe,
                            r.flaps,
                        )
                        for r in rows
                    ],
                )
                conn.executemany(
                    "INSERT INTO transitions (camera, ts, prev_status, status, up, working, faults) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            t.camera,
                            t.ts,
                            t.prev_status,
                            t.status,
                            int(t.up),
                            int(t.working),
                            json.dumps(list(t.faults)),
                        )
                        for t in transitions
                    ],
                )
                conn.executemany(
                    "INSERT INTO events (camera, ts, kind, detail) VALUES (?, ?, ?, ?)",
                    [(e.camera, e.ts, e.kind, json.dumps(e.detail)) for e in events],
                )
                conn.executemany(
                    "INSERT OR REPLACE INTO device_identity (camera, serial, firmware, clock_offset, ts) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [(cam, *ident) for cam, ident in identities.items()],
                )
                if self._run_id is not None:
                    conn.execute("UPDATE runs SET last_seen = ? WHERE id = ?", (now, self._run_id))
        except sqlite3.Error as exc:
            self._failed(exc)
            return False
        with self._lock:
            for r in rows:
                if self._pending_rows.get(r.camera) is r:
                    del self._pending_rows[r.camera]
            for _ in range(min(len(transitions), len(self._pending_transitions))):
                self._pending_transitions.popleft()
            for _ in range(min(len(events), len(self._pending_events))):
                self._pending_events.popleft()
            for cam, ident in identities.items():
                if self._pending_identities.get(cam) is ident:
                    del self._pending_identities[cam]
        if not self.healthy:
            log.warning("state database %s is writable again; caught up", self.path)
        self.healthy = True
        return True

    def _failed(self, exc: Exception) -> None:
        self.write_errors += 1
        if self.healthy:  # log once per episode, not once per flush
            log.error(
                "cannot write state database %s: %s; keeping state in memory and retrying", self.path, exc
            )
        self.healthy = False

    # -- maintenance ----------------------------------------------------------------------------------

    def start_maintenance(
        self, cameras: Iterable[str], *, until: float | None, reason: str, now: float | None = None
    ) -> int:
        now = time.time() if now is None else now
        with self._db, self._required() as conn:
            cur = conn.executemany(
                "INSERT INTO maintenance (camera, start, until, reason) VALUES (?, ?, ?, ?)",
                [(c, now, until, reason) for c in cameras],
            )
        return cur.rowcount

    def stop_maintenance(self, cameras: Iterable[str], *, now: float | None = None) -> int:
        now = time.time() if now is None else now
        with self._db, self._required() as conn:
            cur = conn.executemany(
                "UPDATE maintenance SET stopped = ? WHERE camera = ? AND stopped IS NULL "
                "AND (until IS NULL OR until > ?)",
                [(now, c, now) for c in cameras],
            )
        return cur.rowcount

    def maintenance_windows(self) -> Iterator[tuple[str, float, float | None]]:
        """(camera, start, end or None) for every maintenance window; end = stop or until."""
        with self._db:
            if (conn := self._attached()) is None:
                return
            rows = conn.execute(
                "SELECT camera, start, until, stopped FROM maintenance ORDER BY start"
            ).fetchall()
        for camera, start, until, stopped in rows:
            ends = [t for t in (until, stopped) if t is not None]
            yield camera, start, (min(ends) if ends else None)

    def _required(self) -> sqlite3.Connection:
        if (conn := self._attached()) is None:
            raise StateError(f"{self.path}: cannot open the state database (is its folder writable?)")
        return conn

    def close(self) -> None:
        self.flush()
        with self._db:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


# The video probe's learned references, apart from the status tables: one row per camera and key, replaced.
_REFERENCES_SCHEMA = """
CREATE TABLE IF NOT EXISTS video_references (
    camera TEXT NOT NULL,
    key TEXT NOT NULL,
    kind TEXT NOT NULL,
    value BLOB NOT NULL,
    ts REAL NOT NULL,
    PRIMARY KEY (camera, key)
);
"""


def _encode_reference(value: Any) -> tuple[str, bytes]:
    if isinstance(value, scene.SceneReference):
        return "scene", scene.reference_bytes(value)
    return "number", json.dumps(float(value)).encode()


def _decode_reference(kind: str, data: bytes) -> Any:
    return scene.reference_from_bytes(data) if kind == "scene" else float(json.loads(data))


class StoredBaselines:
    """The video probe's per-camera references (sharpness baseline, scene reference) kept in the state
    database, so that a restart does not relearn them and a camera turned meanwhile is told at once.

    Every ``get`` reads the database, so that ``camwatch reference reset`` reaches a running monitor. While
    the disk refuses writes, references are kept in memory and the monitor goes on.
    """

    def __init__(self, store: StateStore):
        self._store = store
        self._unsaved: dict[tuple[str, str], Any] = {}
        self._ready: sqlite3.Connection | None = None

    def _conn(self) -> sqlite3.Connection | None:
        conn = self._store._attached()
        if conn is not None and conn is not self._ready:
            with conn:
                conn.executescript(_REFERENCES_SCHEMA)
            self._ready = conn
        return conn

    def get(self, camera_id: str, key: str) -> Any:
        with self._store._db:
            try:
                conn = self._conn()
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
        return _decode_reference(*row)

    def put(self, camera_id: str, key: str, value: Any) -> None:
        kind, data = _encode_reference(value)
        with self._store._db:
            try:
                conn = self._conn()
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
        for key in [k for k in self._unsaved if k[0] in ids]:
            del self._unsaved[key]
        with self._store._db:
            conn = self._conn()
            if conn is None:
                raise StateError(f"{self._store.path}: cannot open the state database")
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
