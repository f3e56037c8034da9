"""The state database's schema: versioned, forward-only migrations, and opening a file for writing or reading.

``PRAGMA user_version`` holds the version. ``MIGRATIONS[k]`` brings a database from version ``k`` to
``k + 1``; a writer (``camwatch run``, ``maintenance``, ``reference reset``) applies the missing ones in
place, in one transaction, when it opens the file. Read-only readers (``report``, ``history``,
``maintenance list``) never write: they name the oldest version they understand and refuse others with a
line that says which version they found and what to do. Adding a migration is one function and one entry
(docs/design.md).

History: every database written before migrations existed says version 1, whatever its shape: the first
release had no ``device_identity`` table, the next added it, and ``video_references`` was created on first use
later still. Migrations 2 and 3 therefore create their table only if it is missing.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# One logger for the whole store: operators' log filters (and the tests) name camwatch.monitor.state.
log = logging.getLogger("camwatch.monitor.state")


class StateError(RuntimeError):
    """The state database cannot be used (wrong schema version, not a database)."""


class CorruptState(StateError):
    """The file is not a readable SQLite database."""


class UnreadableVersion(StateError):
    """A read-only reader found a schema version it does not understand: the message says which and what to
    do, and leaves naming the file to the caller (which prints "cannot read the state database PATH: ...")."""


def is_corrupt(exc: sqlite3.Error) -> bool:
    """SQLite's own word that the file is damaged ("malformed", "not a database"): plain DatabaseError, not
    one of its subclasses (locked, closed, misuse)."""
    return type(exc) is sqlite3.DatabaseError


@dataclass(frozen=True, slots=True)
class Migration:
    """One step forward: ``apply`` takes the database from ``version - 1`` to ``version``.

    It runs inside the upgrade's transaction, so it uses ``conn.execute`` (``executescript`` would commit).
    Never edit a released step: add a new one.
    """

    version: int
    does: str
    apply: Callable[[sqlite3.Connection], None]


def _run(conn: sqlite3.Connection, *statements: str) -> None:
    for statement in statements:
        conn.execute(statement)


def _v1_status_history(conn: sqlite3.Connection) -> None:
    _run(
        conn,
        """CREATE TABLE IF NOT EXISTS camera_state (
    camera TEXT PRIMARY KEY,
    up INTEGER,
    status TEXT NOT NULL,
    faults TEXT NOT NULL DEFAULT '[]',
    since REAL NOT NULL,
    last_probe REAL NOT NULL,
    flaps INTEGER NOT NULL DEFAULT 0
)""",
        """CREATE TABLE IF NOT EXISTS transitions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    camera TEXT NOT NULL,
    ts REAL NOT NULL,
    prev_status TEXT,
    status TEXT NOT NULL,
    up INTEGER NOT NULL,
    working INTEGER NOT NULL,
    faults TEXT NOT NULL DEFAULT '[]'
)""",
        "CREATE INDEX IF NOT EXISTS transitions_camera_ts ON transitions (camera, ts)",
        """CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started REAL NOT NULL,
    last_seen REAL NOT NULL
)""",
        """CREATE TABLE IF NOT EXISTS maintenance (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    camera TEXT NOT NULL,
    start REAL NOT NULL,
    until REAL,
    reason TEXT NOT NULL DEFAULT '',
    stopped REAL
)""",
        "CREATE INDEX IF NOT EXISTS maintenance_camera ON maintenance (camera)",
        """CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    camera TEXT NOT NULL,
    ts REAL NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}'
)""",
    )


def _v2_device_identity(conn: sqlite3.Connection) -> None:
    _run(
        conn,
        """CREATE TABLE IF NOT EXISTS device_identity (
    camera TEXT PRIMARY KEY,
    serial TEXT NOT NULL,
    firmware TEXT NOT NULL DEFAULT '',
    clock_offset REAL,
    ts REAL NOT NULL
)""",
    )


def _v3_video_references(conn: sqlite3.Connection) -> None:
    _run(
        conn,
        """CREATE TABLE IF NOT EXISTS video_references (
    camera TEXT NOT NULL,
    key TEXT NOT NULL,
    kind TEXT NOT NULL,
    value BLOB NOT NULL,
    ts REAL NOT NULL,
    PRIMARY KEY (camera, key)
)""",
    )


def _v4_excuses(conn: sqlite3.Connection) -> None:
    _run(
        conn,
        """CREATE TABLE IF NOT EXISTS excuses (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    camera TEXT NOT NULL,
    start REAL NOT NULL,
    end REAL NOT NULL,
    reason TEXT NOT NULL,
    recorded_by TEXT NOT NULL DEFAULT '',
    recorded REAL NOT NULL
)""",
        "CREATE INDEX IF NOT EXISTS excuses_camera ON excuses (camera)",
    )


def _v5_recorded_days(conn: sqlite3.Connection) -> None:
    _run(
        conn,
        """CREATE TABLE IF NOT EXISTS recorded_days (
    camera TEXT NOT NULL,
    day TEXT NOT NULL,
    samples INTEGER NOT NULL,
    seconds REAL NOT NULL,
    PRIMARY KEY (camera, day)
)""",
    )


def _v6_transition_reason(conn: sqlite3.Connection) -> None:
    columns = {row[1] for row in conn.execute("PRAGMA table_info(transitions)")}
    if "reason" not in columns:
        _run(conn, "ALTER TABLE transitions ADD COLUMN reason TEXT NOT NULL DEFAULT ''")


def _v7_recorded_retention(conn: sqlite3.Connection) -> None:
    columns = {row[1] for row in conn.execute("PRAGMA table_info(recorded_days)")}
    if "retention" not in columns:
        _run(conn, "ALTER TABLE recorded_days ADD COLUMN retention REAL")


# In order; ``MIGRATIONS[k].version == k + 1``. Append only.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "camera status, transitions, runs, maintenance windows, events", _v1_status_history),
    Migration(2, "device identity (serial, firmware, clock offset) per camera", _v2_device_identity),
    Migration(3, "the video probe's learned references per camera", _v3_video_references),
    Migration(4, "excused outages (e.g. a utility power cut) left out of the rates", _v4_excuses),
    Migration(5, "recorded footage per camera per day, from the recording checks", _v5_recorded_days),
    Migration(6, "each transition's reason, as the log gave it (fault episodes)", _v6_transition_reason),
    Migration(7, "the shortest retention the recorder reported each day", _v7_recorded_retention),
)
SCHEMA_VERSION = len(MIGRATIONS)


def _check_migrations() -> None:
    numbers = [m.version for m in MIGRATIONS]
    if numbers != list(range(1, len(MIGRATIONS) + 1)):
        raise ValueError(f"state migrations must be numbered 1, 2, ... in order: {numbers}")


_check_migrations()


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """Open the state database, creating and upgrading it in place (``readonly``: ``open_readonly``)."""
    if readonly:
        return open_readonly(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, check_same_thread=False, timeout=10)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        version = _version(conn)
    except sqlite3.DatabaseError as exc:
        conn.close()
        if not is_corrupt(exc):
            raise
        raise CorruptState(f"{path}: not a camwatch state database ({exc})") from exc
    if version > SCHEMA_VERSION:
        conn.close()
        raise StateError(f"{path}: schema version {version} is newer than this camwatch ({SCHEMA_VERSION})")
    if version < SCHEMA_VERSION:
        try:
            upgrade(conn)
        except sqlite3.Error:
            conn.close()
            raise
    return conn


def upgrade(conn: sqlite3.Connection) -> int:
    """Apply the migrations the database lacks, all in one transaction; returns the version it had.

    ``BEGIN IMMEDIATE`` takes the write lock before the version is read, so two writers opening an old file
    at once upgrade it once.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        found = _version(conn)
        for step in MIGRATIONS[found:]:
            step.apply(conn)
        if found < SCHEMA_VERSION:
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    if 0 < found < SCHEMA_VERSION:
        log.info("state database upgraded from schema version %d to %d", found, SCHEMA_VERSION)
    return found


def open_readonly(path: Path, *, oldest: int = 1, newest: int | None = SCHEMA_VERSION) -> sqlite3.Connection:
    """Open for reading only, never writing (safe beside a running monitor).

    ``oldest``: the first version whose tables the reader needs; ``newest`` (None: any) the last it knows.
    Any other version raises ``UnreadableVersion`` with the remedy.
    """
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
    try:
        version = _version(conn)
    except sqlite3.Error:
        conn.close()
        raise
    if version < oldest or (newest is not None and version > newest):
        conn.close()
        raise UnreadableVersion(version_problem(version, oldest, newest))
    return conn


def version_problem(version: int, oldest: int, newest: int | None) -> str:
    """What a reader says of a version outside ``oldest``..``newest``."""
    if newest is not None and version > newest:
        return (
            f"schema version {version} is newer than this camwatch reads ({newest}); "
            "read it with the camwatch that wrote it or a newer one"
        )
    return (
        f"schema version {version}, older than this command reads ({oldest} or later); "
        "run `camwatch run` once to upgrade it in place"
    )


def _version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])
