"""Embedded SQLite state: current status per camera and every transition, surviving restarts.

Writes are batched and flushed from a worker thread in one transaction, so a burst of probe results costs
one fsync, and a camera's current row and its transition are always written together (a ``kill -9``
leaves either both or neither). When the disk refuses writes, the batch stays in memory (bounded) and the
monitor goes on; the next successful flush catches up.

The service also checks that the file is still the one it writes (deleted or replaced under it), writable and
intact (``PRAGMA quick_check``), at start and on a schedule: a deleted or replaced file is written back from
the open connection (no history lost), a corrupt one is set aside as ``*.corrupt-<timestamp>`` and a new one
started; each is one log line and ``healthy`` False until a later check finds the file sound.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from camwatch.monitor import scene
from camwatch.monitor.probes.base import Transient

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
QUICK_CHECK_INTERVAL = 600.0  # seconds between integrity checks of the whole file (also at start)


class StateError(RuntimeError):
    """The state database cannot be used (wrong schema version, not a database)."""


class CorruptState(StateError):
    """The file is not a readable SQLite database."""


def _corrupt(exc: sqlite3.Error) -> bool:
    """SQLite's own word that the file is damaged ("malformed", "not a database"): plain DatabaseError, not
    one of its subclasses (locked, closed, misuse)."""
    return type(exc) is sqlite3.DatabaseError


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
        conn.close()
        if not _corrupt(exc):
            raise
        raise CorruptState(f"{path}: not a camwatch state database ({exc})") from exc
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


_TRANSITION_COLUMNS = "camera, ts, prev_status, status, up, working, faults"


def _transition(r: tuple[Any, ...]) -> Transition:
    return Transition(r[0], r[1], r[2], r[3], bool(r[4]), bool(r[5]), tuple(json.loads(r[6])))


def read_transitions(path: Path, camera: str, *, since: float = 0.0) -> list[Transition]:
    """One camera's transitions from ``since`` on, read-only: safe beside a running monitor."""
    with contextlib.closing(connect(path, readonly=True)) as conn:
        rows = conn.execute(
            f"SELECT {_TRANSITION_COLUMNS} FROM transitions WHERE camera = ? AND ts >= ? ORDER BY id",
            (camera, since),
        ).fetchall()
    return [_transition(r) for r in rows]


def read_events(path: Path, camera: str, *, since: float = 0.0) -> list[Event]:
    """One camera's events (device events, GB/T 28181 notes) from ``since`` on, read-only."""
    with contextlib.closing(connect(path, readonly=True)) as conn:
        rows = conn.execute(
            "SELECT camera, ts, kind, detail FROM events WHERE camera = ? AND ts >= ? ORDER BY id",
            (camera, since),
        ).fetchall()
    return [Event(r[0], r[1], r[2], json.loads(r[3])) for r in rows]


class StateStore:
    """Current camera state and history in SQLite, written in batches from a worker thread."""

    def __init__(self, path: Path, *, recover: bool = False):
        """``recover`` (the service): a corrupt file is set aside and a new one started, and the file is
        checked at once; otherwise (reports, tools) a corrupt file raises ``CorruptState``."""
        self.path = path
        self.dropped_transitions = 0
        self.write_errors = 0
        self._writable = True
        self._problem: str | None = None  # what the last check found wrong, until one finds it sound
        self._file: tuple[int, int] | None = None  # (device, inode) of the file the connection writes
        self._next_quick_check = 0.0
        self._run_started: float | None = None
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()  # guards the pending batch
        self._db = threading.RLock()  # the connection is used from the loop thread and the flush thread
        self._pending_rows: dict[str, StoredCamera] = {}
        self._pending_transitions: deque[Transition] = deque()
        self._pending_events: deque[Event] = deque()
        self._pending_identities: dict[str, tuple[str, str, float | None, float]] = {}
        self._run_id: int | None = None
        try:
            self._conn = self._open()
        except (sqlite3.OperationalError, OSError) as exc:
            # An unwritable or full disk must not stop monitoring: keep state in memory, retry on flush.
            self._failed(exc)
        except CorruptState as exc:
            if not recover:
                raise
            self._problem = self._set_aside(str(exc.__cause__ or exc))
        if recover and self._problem is None:
            self.check()

    # -- reading --------------------------------------------------------------------------------------

    @property
    def healthy(self) -> bool:
        """The database takes writes and the last check found it sound."""
        return self._writable and self._problem is None

    def _open(self) -> sqlite3.Connection:
        conn = connect(self.path)
        st = self.path.stat()
        self._file = (st.st_dev, st.st_ino)
        return conn

    def _attached(self) -> sqlite3.Connection | None:
        """The connection, opening it if an earlier attempt failed (the disk may be back)."""
        if self._conn is None:
            try:
                self._conn = self._open()
            except (sqlite3.OperationalError, OSError, CorruptState):
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
        sql = f"SELECT {_TRANSITION_COLUMNS} FROM transitions"
        args: tuple[str, ...] = ()
        if camera is not None:
            sql += " WHERE camera = ?"
            args = (camera,)
        sql += " ORDER BY id"
        with self._db:
            if (conn := self._attached()) is None:
                return []
            rows = conn.execute(sql, args).fetchall()
        return [_transition(r) for r in rows]

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
                with conn:
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
        if not self._writable:
            log.warning("state database %s is writable again; caught up", self.path)
        self._writable = True
        return True

    def _failed(self, exc: Exception) -> None:
        self.write_errors += 1
        if isinstance(exc, sqlite3.Error) and _corrupt(exc):
            # A damaged page answers some writes and not others: stay unhealthy until a check decides.
            self._problem = self._problem or f"damaged ({exc})"
            self._next_quick_check = 0.0
        if self._writable:  # log once per episode, not once per flush
            log.error(
                "cannot write state database %s: %s; keeping state in memory and retrying", self.path, exc
            )
        self._writable = False

    # -- integrity ------------------------------------------------------------------------------------

    def check(self, now: float | None = None) -> bool:
        """Check that the file is still ours, writable and sound, and repair what can be repaired.

        Cheap checks every call; ``PRAGMA quick_check`` (reads the whole file) at the first call, every
        ``QUICK_CHECK_INTERVAL`` and after an error that points at damage. Returns True when a new, empty
        database replaced a corrupt one: the caller stages its current state again.
        """
        now = time.monotonic() if now is None else now
        with self._db:
            found = self._inspect(now)
            if found is None:
                if self._problem is not None:
                    log.warning("state database %s is sound again", self.path)
                self._problem = None
                return False
            kind, detail = found
            try:
                if kind in ("deleted", "replaced"):
                    self.write_errors += 1
                    self._problem = self._write_back(kind)
                    return False
                if kind == "corrupt":
                    self.write_errors += 1
                    self._problem = self._set_aside(detail)
                    return True
            except (sqlite3.Error, OSError) as exc:
                detail = f"was {kind} and could not be repaired ({exc})"
            if self._problem != detail:  # one line (and one error counted) per episode
                self.write_errors += 1
                log.error("state database %s %s; keeping state in memory", self.path, detail)
            self._problem = detail
            return False

    def _inspect(self, now: float) -> tuple[str, str] | None:
        """What is wrong with the file, as (kind, detail), or None."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return ("deleted", "") if self._conn is not None else None
        except OSError as exc:
            return "unreadable", f"cannot be read ({exc})"
        if self._conn is None:
            return None  # never opened (disk trouble): flush retries and reports
        if (st.st_dev, st.st_ino) != self._file:
            return "replaced", ""
        if not st.st_mode & 0o222 or not os.access(self.path, os.W_OK):
            return "read-only", f"is read-only (mode {st.st_mode & 0o777:o})"
        if now >= self._next_quick_check:
            try:
                # A connection of its own reads the file as it is on disk, not the open one's page cache.
                with closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)) as fresh:
                    rows = fresh.execute("PRAGMA quick_check").fetchall()
            except sqlite3.DatabaseError as exc:
                if not _corrupt(exc):
                    return "unreadable", f"cannot be checked ({exc})"
                rows = [(str(exc),)]
            if rows != [("ok",)]:
                return "corrupt", "; ".join(str(r[0]) for r in rows[:3])
            self._next_quick_check = now + QUICK_CHECK_INTERVAL
        return None

    def _write_back(self, kind: str) -> str:
        """The file was deleted or replaced under the open connection, which still holds the whole database:
        copy it back to ``path`` (a replacing file is kept aside). Returns the problem to report."""
        assert self._conn is not None
        copy = self.path.with_name(self.path.name + ".restoring")
        copy.unlink(missing_ok=True)
        with closing(sqlite3.connect(copy)) as target:
            self._conn.backup(target)
        aside = None
        if kind == "replaced":
            aside = self._aside_name("replaced")
            os.replace(self.path, aside)
        self._conn.close()  # removes the -wal and -shm files of the old connection
        os.replace(copy, self.path)
        self._conn = self._open()  # the copy holds this run's row too: _run_id stays valid
        found = "was deleted" if aside is None else f"was replaced by another file (kept as {aside.name})"
        log.error(
            "state database %s %s while camwatch ran; wrote it back from the open connection, history kept",
            self.path,
            found,
        )
        return f"{kind} while running"

    def _set_aside(self, detail: str) -> str:
        """Move a corrupt file (and its -wal, -shm) aside and start a new database. Returns the problem."""
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None
        aside = self._aside_name("corrupt")
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.replace(f"{self.path}{suffix}", f"{aside}{suffix}")
        try:
            self._conn = self._open()
        except (sqlite3.Error, OSError, StateError) as exc:
            self._failed(exc)
        if self._run_started is not None:
            self._run_id = None
            self.begin_run(self._run_started)
        log.error(
            "state database %s is corrupt (%s); kept it as %s (history before now is there) and started a "
            "new one",
            self.path,
            detail,
            aside.name,
        )
        return f"corrupt: {detail}"

    def _aside_name(self, why: str) -> Path:
        return self.path.with_name(f"{self.path.name}.{why}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}")

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
    the disk refuses writes, references are kept in memory and the monitor goes on. ``Transient`` values (a
    camera's previous picture) live in memory only.
    """

    def __init__(self, store: StateStore):
        self._store = store
        self._unsaved: dict[tuple[str, str], Any] = {}
        self._transient: dict[tuple[str, str], Transient] = {}
        self._ready: sqlite3.Connection | None = None

    def _conn(self) -> sqlite3.Connection | None:
        conn = self._store._attached()
        if conn is not None and conn is not self._ready:
            with conn:
                conn.executescript(_REFERENCES_SCHEMA)
            self._ready = conn
        return conn

    def get(self, camera_id: str, key: str) -> Any:
        if (camera_id, key) in self._transient:
            return self._transient[(camera_id, key)]
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
        if isinstance(value, Transient):
            self._transient[(camera_id, key)] = value
            return
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
        for memory in (self._unsaved, self._transient):
            for key in [k for k in memory if k[0] in ids]:
                del memory[key]
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
