"""Each room of the state store on its own: stored rows, device identity, maintenance windows, the write
batch, the connection and its run, read-only readers. (The store as a whole, recovery included, is in
test_monitor_state.py; video references in test_video_references.py; the schema in
test_state_migrations.py.)"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from pathlib import Path

import pytest

from camwatch.monitor.state import StateReader, StateStore, identity, maintenance, rows, writes
from camwatch.monitor.state.database import Database
from camwatch.monitor.state.schema import SCHEMA_VERSION, StateError, connect


@pytest.fixture
def conn(tmp_path):
    with closing(connect(tmp_path / "state.db")) as c:
        yield c


def test_rows_round_trip_through_their_columns(conn):
    camera = rows.StoredCamera("门口-1", None, "error", ("frozen", "clock_skew"), 1.5, 2.5, 3)
    transition = rows.Transition("门口-1", 2.5, None, "frozen", True, False, ("frozen",))
    event = rows.Event("门口-1", 3.0, "replaced", {"serial": ["old", "new"], "note": "=1+1"})
    seven = ", ".join("?" * 7)
    conn.execute(
        f"INSERT INTO camera_state ({rows.CAMERA_COLUMNS}) VALUES ({seven})", rows.camera_values(camera)
    )
    conn.execute(
        f"INSERT INTO transitions ({rows.TRANSITION_COLUMNS}) VALUES ({seven}, ?)",
        rows.transition_values(transition),
    )
    conn.execute(f"INSERT INTO events ({rows.EVENT_COLUMNS}) VALUES (?, ?, ?, ?)", rows.event_values(event))
    stored_camera = conn.execute(f"SELECT {rows.CAMERA_COLUMNS} FROM camera_state").fetchone()
    stored_transition = conn.execute(f"SELECT {rows.TRANSITION_COLUMNS} FROM transitions").fetchone()
    stored_event = conn.execute(f"SELECT {rows.EVENT_COLUMNS} FROM events").fetchone()
    assert rows.camera_from(stored_camera) == camera
    assert rows.transition_from(stored_transition) == transition
    assert rows.event_from(stored_event) == event


def test_identity_keeps_the_latest_per_camera(conn):
    with conn:
        identity.write(conn, {"a": ("SN1", "V1", 0.5, 10.0), "b": ("SN2", "", None, 10.0)})
    with conn:
        identity.write(conn, {"a": ("SN9", "V2", None, 20.0)})
    assert identity.read(conn) == {"a": ("SN9", "V2", None), "b": ("SN2", "", None)}


def test_maintenance_window_ends_at_its_stop_or_its_until(conn):
    assert maintenance.start(conn, ["a", "b", "c"], until=200.0, reason="fibre repair", now=100.0) == 3
    assert maintenance.start(conn, ["d"], until=None, reason="", now=120.0) == 1
    assert maintenance.stop(conn, ["b", "d"], now=150.0) == 2
    assert maintenance.stop(conn, ["a"], now=250.0) == 0  # already over at 200: nothing to stop
    assert maintenance.windows(conn) == [
        ("a", 100.0, 200.0),
        ("b", 100.0, 150.0),
        ("c", 100.0, 200.0),
        ("d", 120.0, 150.0),
    ]


def row(cam: str, ts: float) -> rows.StoredCamera:
    return rows.StoredCamera(cam, True, "ok", (), ts, ts)


def trans(cam: str, ts: float) -> rows.Transition:
    return rows.Transition(cam, ts, None, "ok", True, True, ())


def test_write_batch_bounds_transitions_while_the_disk_refuses(tmp_path, monkeypatch):
    monkeypatch.setattr(writes, "MAX_PENDING_TRANSITIONS", 3)
    batch = writes.WriteBatch()
    for k in range(5):
        batch.stage(row("a", k), trans("a", k))
    assert batch.dropped_transitions == 2 and batch.pending == 1 + 3  # one current row, newest three changes
    db = Database(tmp_path / "state.db")
    assert batch.flush(db, now=9) and batch.pending == 0
    with closing(sqlite3.connect(db.path)) as check:
        assert check.execute("SELECT ts FROM transitions ORDER BY id").fetchall() == [(2.0,), (3.0,), (4.0,)]
    db.close()


def test_write_batch_keeps_what_was_staged_during_a_flush(tmp_path):
    db = Database(tmp_path / "state.db")
    batch = writes.WriteBatch()
    batch.stage(row("a", 1), trans("a", 1))
    batch.stage_identity("a", ("SN1", "V1", None, 1.0))
    staged_meanwhile = threading.Event()
    real_attached = db.attached

    def attached() -> sqlite3.Connection | None:
        if not staged_meanwhile.is_set():  # another thread stages while this flush holds its copy
            staged_meanwhile.set()
            batch.stage(row("a", 2), trans("a", 2))
            batch.stage_identity("a", ("SN2", "V1", None, 2.0))
        return real_attached()

    db.attached = attached  # type: ignore[method-assign]
    assert batch.flush(db, now=3)
    assert batch.pending == 3  # the newer row, its transition and the newer identity wait for the next flush
    assert batch.flush(db, now=4) and batch.pending == 0
    with closing(sqlite3.connect(db.path)) as check:
        assert check.execute("SELECT last_probe FROM camera_state").fetchall() == [(2.0,)]
        assert check.execute("SELECT serial FROM device_identity").fetchall() == [("SN2",)]
        assert check.execute("SELECT count(*) FROM transitions").fetchone() == (2,)
    db.close()


def test_database_records_the_run_once_the_file_opens(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the state folder should be")
    db = Database(blocker / "state.db")
    db.begin_run(now=5.0)
    assert db.attached() is None and db.run_id is None
    with pytest.raises(StateError, match="cannot open the state database"):
        db.required()
    blocker.unlink()
    blocker.mkdir()
    conn = db.attached()
    assert conn is not None and db.run_id is not None
    with conn:
        db.stamp_run(conn, 8.0)
    assert conn.execute("SELECT started, last_seen FROM runs").fetchall() == [(5.0, 8.0)]
    assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    db.close()


def test_readers_read_without_writing(tmp_path):
    path = tmp_path / "state.db"
    store = StateStore(path)
    store.begin_run(now=1.0)
    store.stage(row("a", 1.0), trans("a", 1.0))
    store.start_maintenance(["a"], until=None, reason="", now=2.0)
    store.close()
    before = path.read_bytes()
    with StateReader(path) as reader:
        assert [t.camera for t in reader.transitions()] == ["a"]
        assert reader.maintenance_windows() == [("a", 2.0, None)]
        assert reader.runs()[0][0] == 1.0
    assert path.read_bytes() == before


def test_reader_of_a_missing_file_creates_nothing(tmp_path: Path):
    with pytest.raises(sqlite3.OperationalError):
        StateReader(tmp_path / "nothing.db")
    assert list(tmp_path.iterdir()) == []
