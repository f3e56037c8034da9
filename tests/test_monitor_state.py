"""SQLite state: batches, restart, schema version, a disk that refuses writes."""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import pytest

from camwatch.monitor.state import (
    QUICK_CHECK_INTERVAL,
    SCHEMA_VERSION,
    StateError,
    StateStore,
    StoredCamera,
    Transition,
)


def row(cam: str, up: bool, status: str, ts: float) -> StoredCamera:
    return StoredCamera(cam, up, status, (), ts, ts)


def trans(cam: str, ts: float, prev: str | None, status: str, up: bool) -> Transition:
    return Transition(cam, ts, prev, status, up, up, ())


def test_flush_and_reload_round_trip(tmp_path):
    db = tmp_path / "state.db"
    store = StateStore(db)
    store.begin_run(now=10)
    store.stage(row("a", True, "ok", 10), trans("a", 10, None, "ok", True))
    store.stage(row("a", False, "offline", 20), trans("a", 20, "ok", "offline", False))
    store.stage(row("b", True, "ok", 11), trans("b", 11, None, "ok", True))
    assert store.flush(now=21)
    store.close()

    again = StateStore(db)
    state = again.load()
    assert state["a"].status == "offline" and state["a"].up is False and state["b"].up is True
    assert [(t.camera, t.status) for t in again.transitions()] == [("a", "ok"), ("a", "offline"), ("b", "ok")]
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        ((started, last_seen),) = conn.execute("SELECT started, last_seen FROM runs").fetchall()
        assert started == 10.0 and last_seen >= 21.0  # close() stamps the end of the run
    again.close()


def test_newer_schema_is_refused(tmp_path):
    db = tmp_path / "state.db"
    with sqlite3.connect(db) as conn:
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    with pytest.raises(StateError, match="newer"):
        StateStore(db)


def test_unwritable_database_keeps_batch_and_catches_up(tmp_path):
    db = tmp_path / "state.db"
    store = StateStore(db)
    store.stage(row("a", True, "ok", 1), trans("a", 1, None, "ok", True))
    assert store.flush()
    # Simulate a full/read-only disk: sqlite refuses writes on a query_only connection.
    store._conn.execute("PRAGMA query_only=ON")
    store.stage(row("a", False, "offline", 2), trans("a", 2, "ok", "offline", False))
    assert not store.flush()
    assert not store.healthy and store.write_errors == 1 and store.pending == 2
    store._conn.execute("PRAGMA query_only=OFF")
    assert store.flush()
    assert store.healthy and store.pending == 0
    assert [t.status for t in store.transitions("a")] == ["ok", "offline"]
    store.close()


def test_maintenance_windows(tmp_path):
    store = StateStore(tmp_path / "s.db")
    store.start_maintenance(["a", "b"], until=200.0, reason="fibre repair", now=100.0)
    store.stop_maintenance(["b"], now=150.0)
    assert sorted(store.maintenance_windows()) == [("a", 100.0, 200.0), ("b", 100.0, 150.0)]
    store.close()


def test_unopenable_state_path_degrades_to_memory_and_recovers(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the state folder should be")
    store = StateStore(blocker / "state.db")  # cannot even create the folder: no crash
    assert not store.healthy and store.load() == {}
    store.begin_run(now=5)
    store.stage(row("a", True, "ok", 5), trans("a", 5, None, "ok", True))
    assert not store.flush() and store.pending == 1 + 1
    blocker.unlink()
    blocker.mkdir()
    assert store.flush(now=6)  # the disk is back: everything queued is written, the run too
    assert store.healthy and store.load()["a"].status == "ok"
    assert [t.status for t in store.transitions()] == ["ok"]
    with sqlite3.connect(blocker / "state.db") as conn:
        assert conn.execute("SELECT started FROM runs").fetchall() == [(5.0,)]
    store.close()


# ------------------------------------------------------------- the file deleted, replaced, damaged under us


def history(store: StateStore, cameras: int = 40, changes: int = 50) -> list[tuple[str, str]]:
    """Stage and flush enough transitions to fill several pages; returns (camera, status) in order."""
    store.begin_run(now=1)
    written = []
    for k in range(changes):
        for c in range(cameras):
            status = "ok" if k % 2 == 0 else "offline"
            store.stage(
                row(f"cam-{c}", k % 2 == 0, status, k), trans(f"cam-{c}", k, None, status, k % 2 == 0)
            )
            written.append((f"cam-{c}", status))
    assert store.flush(now=2)
    return written


def stored_history(db) -> list[tuple[str, str]]:
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute("SELECT camera, status FROM transitions ORDER BY id").fetchall()


def errors(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "camwatch.monitor.state" and r.levelno >= logging.ERROR]


def test_deleted_database_is_written_back_with_its_history(tmp_path, caplog):
    db = tmp_path / "state.db"
    store = StateStore(db, recover=True)
    written = history(store)
    assert store.check() is False and store.healthy
    for suffix in ("", "-wal", "-shm"):  # as `rm state.db*` would
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    assert store.check() is False
    assert not store.healthy
    assert len(errors(caplog)) == 1 and "was deleted" in errors(caplog)[0].getMessage()
    assert stored_history(db) == written  # back on disk, nothing lost
    store.stage(row("cam-0", True, "ok", 99), trans("cam-0", 99, "offline", "ok", True))
    assert store.flush(now=100)
    assert store.check() is False and store.healthy  # sound again: healthy once more
    store.close()
    assert stored_history(db) == [*written, ("cam-0", "ok")]
    assert len(errors(caplog)) == 1


def test_replaced_database_is_kept_aside_and_ours_written_back(tmp_path, caplog):
    db = tmp_path / "state.db"
    store = StateStore(db, recover=True)
    written = history(store, changes=2)
    other = tmp_path / "other.db"
    with closing(sqlite3.connect(other)) as conn, conn:
        conn.execute("CREATE TABLE foreign_data (x)")
    os.replace(other, db)
    store.check()
    assert not store.healthy
    (aside,) = tmp_path.glob("state.db.replaced-*")
    with closing(sqlite3.connect(aside)) as conn:
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [("foreign_data",)]
    assert stored_history(db) == written
    assert len(errors(caplog)) == 1 and "replaced" in errors(caplog)[0].getMessage()
    store.close()


def damage(db, offset: int = 3 * 4096) -> None:
    """4 KiB of garbage over one page in the middle of the file."""
    with open(db, "r+b") as f:
        f.seek(offset)
        f.write(bytes(range(256)) * 16)


def test_corrupt_database_is_set_aside_and_a_new_one_started(tmp_path, caplog):
    db = tmp_path / "state.db"
    store = StateStore(db, recover=True)
    history(store)
    with store._conn:
        store._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the history in the main file
    damage(db)
    later = time.monotonic() + QUICK_CHECK_INTERVAL  # when the scheduled integrity check is due
    assert store.check(now=later) is True  # a new database: the caller stages its current state again
    assert not store.healthy
    (aside,) = tmp_path.glob("state.db.corrupt-*")
    assert len(errors(caplog)) == 1 and aside.name in errors(caplog)[0].getMessage()
    assert stored_history(db) == []  # the new file works...
    assert bytes(range(256)) in aside.read_bytes()  # ...and the damaged one is kept to salvage from
    store.stage(row("cam-0", True, "ok", 99), trans("cam-0", 99, None, "ok", True))
    assert store.flush(now=100)
    assert not store.healthy  # until a check finds the new file sound
    assert store.check(now=later) is False and store.healthy
    store.close()
    assert stored_history(db) == [("cam-0", "ok")]


def test_corrupt_database_at_start(tmp_path, caplog):
    db = tmp_path / "state.db"
    first = StateStore(db)
    history(first, changes=4)
    first.close()
    damage(db, 0)  # the header too: not even a database any more
    with pytest.raises(StateError, match="not a camwatch state database"):
        StateStore(db)  # reports and tools refuse it and touch nothing
    assert not list(tmp_path.glob("*.corrupt-*"))
    store = StateStore(db, recover=True)  # the service sets it aside and goes on
    assert not store.healthy and store.load() == {}
    assert len(list(tmp_path.glob("state.db.corrupt-*"))) == 1
    assert len(errors(caplog)) == 1
    store.close()


def test_read_only_database_is_reported_once(tmp_path, caplog):
    db = tmp_path / "state.db"
    store = StateStore(db, recover=True)
    history(store, changes=2)
    db.chmod(0o444)  # root writes through it, but the service's own user (Docker: nobody) could not
    try:
        assert store.check() is False and store.check() is False
        assert not store.healthy
        assert len(errors(caplog)) == 1 and "read-only (mode 444)" in errors(caplog)[0].getMessage()
    finally:
        db.chmod(0o644)
    assert store.check() is False and store.healthy
    store.close()
