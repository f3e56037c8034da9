"""Keeping the state file sound while the service runs.

At start and on a schedule the service checks that the file is still the one it writes (not deleted or
replaced under it), writable and intact (``PRAGMA quick_check``). A deleted or replaced file is written back
from the open connection (no history lost); a corrupt one is set aside as ``*.corrupt-<timestamp>`` and a new
one started. Each is one log line, and ``healthy`` is False until a later check finds the file sound.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from contextlib import closing
from pathlib import Path

from camwatch.monitor.state.database import Database
from camwatch.monitor.state.schema import StateError, is_corrupt, log

QUICK_CHECK_INTERVAL = 600.0  # seconds between integrity checks of the whole file (also at start)


def check(db: Database, now: float | None = None) -> bool:
    """Check that the file is still ours, writable and sound, and repair what can be repaired.

    Cheap checks every call; ``PRAGMA quick_check`` (reads the whole file) at the first call, every
    ``QUICK_CHECK_INTERVAL`` and after an error that points at damage. Returns True when a new, empty
    database replaced a corrupt one: the caller stages its current state again.
    """
    now = time.monotonic() if now is None else now
    with db.lock:
        found = _inspect(db, now)
        if found is None:
            if db.problem is not None:
                log.warning("state database %s is sound again", db.path)
            db.problem = None
            return False
        kind, detail = found
        try:
            if kind in ("deleted", "replaced"):
                db.write_errors += 1
                db.problem = _write_back(db, kind)
                return False
            if kind == "corrupt":
                db.write_errors += 1
                db.problem = set_aside(db, detail)
                return True
        except (sqlite3.Error, OSError) as exc:
            detail = f"was {kind} and could not be repaired ({exc})"
        if db.problem != detail:  # one line (and one error counted) per episode
            db.write_errors += 1
            log.error("state database %s %s; keeping state in memory", db.path, detail)
        db.problem = detail
        return False


def _inspect(db: Database, now: float) -> tuple[str, str] | None:
    """What is wrong with the file, as (kind, detail), or None."""
    try:
        st = db.path.stat()
    except FileNotFoundError:
        return ("deleted", "") if db.conn is not None else None
    except OSError as exc:
        return "unreadable", f"cannot be read ({exc})"
    if db.conn is None:
        return None  # never opened (disk trouble): flush retries and reports
    if (st.st_dev, st.st_ino) != db.file:
        return "replaced", ""
    if not st.st_mode & 0o222 or not os.access(db.path, os.W_OK):
        return "read-only", f"is read-only (mode {st.st_mode & 0o777:o})"
    if now >= db.next_quick_check:
        try:
            # A connection of its own reads the file as it is on disk, not the open one's page cache.
            with closing(sqlite3.connect(f"file:{db.path}?mode=ro", uri=True)) as fresh:
                rows = fresh.execute("PRAGMA quick_check").fetchall()
        except sqlite3.DatabaseError as exc:
            if not is_corrupt(exc):
                return "unreadable", f"cannot be checked ({exc})"
            rows = [(str(exc),)]
        if rows != [("ok",)]:
            return "corrupt", "; ".join(str(r[0]) for r in rows[:3])
        db.next_quick_check = now + QUICK_CHECK_INTERVAL
    return None


def _write_back(db: Database, kind: str) -> str:
    """The file was deleted or replaced under the open connection, which still holds the whole database:
    copy it back to the path (a replacing file is kept aside). Returns the problem to report."""
    assert db.conn is not None
    copy = db.path.with_name(db.path.name + ".restoring")
    copy.unlink(missing_ok=True)
    with closing(sqlite3.connect(copy)) as target:
        db.conn.backup(target)
    aside = None
    if kind == "replaced":
        aside = _aside_name(db.path, "replaced")
        os.replace(db.path, aside)
    db.conn.close()  # removes the -wal and -shm files of the old connection
    os.replace(copy, db.path)
    db.conn = db.open()  # the copy holds this run's row too: the run id stays valid
    found = "was deleted" if aside is None else f"was replaced by another file (kept as {aside.name})"
    log.error(
        "state database %s %s while camwatch ran; wrote it back from the open connection, history kept",
        db.path,
        found,
    )
    return f"{kind} while running"


def set_aside(db: Database, detail: str) -> str:
    """Move a corrupt file (and its -wal, -shm) aside and start a new database. Returns the problem."""
    if db.conn is not None:
        with contextlib.suppress(sqlite3.Error):
            db.conn.close()
        db.conn = None
    aside = _aside_name(db.path, "corrupt")
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.replace(f"{db.path}{suffix}", f"{aside}{suffix}")
    try:
        db.conn = db.open()
    except (sqlite3.Error, OSError, StateError) as exc:
        db.failed(exc)
    if db.run_started is not None:
        db.run_id = None
        db.begin_run(db.run_started)
    log.error(
        "state database %s is corrupt (%s); kept it as %s (history before now is there) and started a "
        "new one",
        db.path,
        detail,
        aside.name,
    )
    return f"corrupt: {detail}"


def _aside_name(path: Path, why: str) -> Path:
    return path.with_name(f"{path.name}.{why}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}")
