"""SQLite state: batches, restart, schema version, a disk that refuses writes."""

from __future__ import annotations

import sqlite3

import pytest

from camwatch.monitor.state import SCHEMA_VERSION, StateError, StateStore, StoredCamera, Transition


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
