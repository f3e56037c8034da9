"""State schema migrations: a database of every earlier version opens and is upgraded in place, nothing
lost; read-only readers accept the versions they understand and otherwise say what to do.

The fixtures in tests/testdata/state were written by each earlier release's own ``monitor/state.py`` (all
of them said version 1, in three shapes) and dumped as SQL.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import closing
from pathlib import Path

import pytest
from typer.testing import CliRunner

from camwatch.cli import app
from camwatch.config.errors import ConfigError
from camwatch.coverage.status import load_states, load_status
from camwatch.monitor.state import (
    SCHEMA_VERSION,
    StateError,
    StateReader,
    StateStore,
    StoredBaselines,
    StoredCamera,
    Transition,
    UnreadableVersion,
    open_readonly,
    read_transitions,
)
from camwatch.monitor.state import schema as state_schema
from camwatch.monitor.state.schema import MIGRATIONS, Migration

FIXTURES = Path(__file__).parent / "testdata" / "state"
HISTORIC = sorted(p.stem for p in FIXTURES.glob("*.sql"))
T0 = 1_780_000_000.0


def build(tmp_path: Path, name: str) -> Path:
    db = tmp_path / "state.db"
    with closing(sqlite3.connect(db)) as conn:
        conn.executescript((FIXTURES / f"{name}.sql").read_text(encoding="utf-8"))
    return db


def at_version(tmp_path: Path, version: int) -> Path:
    """A database made by the first ``version`` migrations only, as that camwatch would have left it."""
    db = tmp_path / f"v{version}.db"
    with closing(sqlite3.connect(db)) as conn:
        for step in MIGRATIONS[:version]:
            step.apply(conn)
        conn.execute(f"PRAGMA user_version={version}")
        conn.commit()
    return db


def shape(db: Path) -> dict[str, object]:
    """Every table's columns and every index's columns: what the code relies on."""
    with closing(sqlite3.connect(db)) as conn:
        objects = conn.execute(
            "SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name"
        ).fetchall()
        found: dict[str, object] = {"version": conn.execute("PRAGMA user_version").fetchone()[0]}
        for kind, name, _table in objects:
            pragma = "table_info" if kind == "table" else "index_info"
            found[f"{kind} {name}"] = conn.execute(f"PRAGMA {pragma}({name})").fetchall()
    return found


def fresh_shape(tmp_path: Path) -> dict[str, object]:
    db = tmp_path / "fresh" / "state.db"
    StateStore(db).close()
    return shape(db)


def version_of(db: Path) -> int:
    with closing(sqlite3.connect(db)) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


def test_the_fixtures_are_the_three_shapes_that_said_version_1(tmp_path):
    assert HISTORIC == ["v1-device-identity", "v1-first-release", "v1-video-references"]
    tables = {}
    for name in HISTORIC:
        (tmp_path / name).mkdir()
        db = build(tmp_path / name, name)
        assert version_of(db) == 1
        tables[name] = {k for k in shape(db) if k.startswith("table ")}
    assert "table device_identity" not in tables["v1-first-release"]
    assert tables["v1-device-identity"] - tables["v1-first-release"] == {"table device_identity"}
    assert tables["v1-video-references"] - tables["v1-device-identity"] == {"table video_references"}


@pytest.mark.parametrize("name", HISTORIC)
def test_every_earlier_release_upgrades_in_place_and_keeps_its_history(tmp_path, name):
    db = build(tmp_path, name)
    store = StateStore(db, recover=True)  # as `camwatch run` opens it
    assert store.healthy
    assert shape(db) == fresh_shape(tmp_path)  # the same schema as a new database, at SCHEMA_VERSION
    state = store.load()
    assert state["gate"] == StoredCamera("gate", False, "offline", (), T0 + 600, T0 + 600, 1)
    assert state["yard"].faults == ("frozen", "clock_skew") and state["yard"].status == "frozen"
    assert [(t.camera, t.status, t.working) for t in store.transitions()] == [
        ("gate", "ok", True),
        ("yard", "ok", True),
        ("gate", "offline", False),
        ("yard", "frozen", False),
    ]
    assert [(e.kind, e.detail) for e in store.events()] == [("rebooted", {"clock_jump_seconds": 3600.0})]
    assert list(store.maintenance_windows()) == [("gate", T0 + 700, T0 + 3600)]
    had_identity = name != "v1-first-release"
    assert store.identities() == ({"yard": ("SN-0042", "V5.7.3 build 230101", 1.5)} if had_identity else {})
    refs = StoredBaselines(store)
    assert refs.get("yard", "sharpness") == (41.25 if name == "v1-video-references" else None)

    # The new tables take writes: the first release's file could not store an identity before this.
    store.stage_identity("gate", "SN-7", "V1", None, T0 + 2000)
    store.stage(
        StoredCamera("gate", True, "ok", (), T0 + 2000, T0 + 2000),
        Transition("gate", T0 + 2000, "offline", "ok", True, True, ()),
    )
    assert store.flush(now=T0 + 2000) and store.healthy
    refs.put("gate", "sharpness", 12.0)
    store.close()

    again = StateStore(db)  # already current: opens as is
    assert again.identities()["gate"] == ("SN-7", "V1", None)
    assert len(again.transitions("gate")) == 3 and StoredBaselines(again).get("gate", "sharpness") == 12.0
    again.close()
    assert version_of(db) == SCHEMA_VERSION


@pytest.mark.parametrize("version", range(SCHEMA_VERSION + 1))
def test_every_schema_version_upgrades_to_the_current_one(tmp_path, version):
    db = at_version(tmp_path, version)
    StateStore(db).close()
    assert shape(db) == fresh_shape(tmp_path)


def test_migrations_are_numbered_in_order_and_checked_at_import(monkeypatch):
    assert [m.version for m in MIGRATIONS] == list(range(1, SCHEMA_VERSION + 1))
    monkeypatch.setattr(
        state_schema, "MIGRATIONS", (*MIGRATIONS, Migration(SCHEMA_VERSION + 2, "skips", lambda c: None))
    )
    with pytest.raises(ValueError, match="numbered 1, 2"):
        state_schema._check_migrations()


def _add_operator(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE transitions ADD COLUMN operator TEXT NOT NULL DEFAULT ''")


def test_a_new_migration_is_one_function_and_one_entry(tmp_path, monkeypatch):
    db = build(tmp_path, "v1-video-references")
    StateStore(db).close()
    step = Migration(SCHEMA_VERSION + 1, "who was on duty at each transition", _add_operator)
    monkeypatch.setattr(state_schema, "MIGRATIONS", (*MIGRATIONS, step))
    monkeypatch.setattr(state_schema, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    StateStore(db).close()
    assert version_of(db) == SCHEMA_VERSION + 1
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("SELECT status, operator FROM transitions WHERE id = 3").fetchone() == (
            "offline",
            "",
        )


def test_a_failing_migration_changes_nothing(tmp_path, monkeypatch):
    db = build(tmp_path, "v1-first-release")
    before = shape(db)

    def half_done(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half (x)")
        raise sqlite3.OperationalError("disk I/O error")

    broken = (*MIGRATIONS, Migration(SCHEMA_VERSION + 1, "fails half way", half_done))
    monkeypatch.setattr(state_schema, "MIGRATIONS", broken)
    monkeypatch.setattr(state_schema, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        state_schema.connect(db)
    assert shape(db) == before  # all or nothing: not even the earlier steps of this upgrade were kept


def test_two_writers_opening_an_old_file_at_once_upgrade_it_once(tmp_path):
    db = build(tmp_path, "v1-first-release")
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            state_schema.connect(db).close()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and shape(db) == fresh_shape(tmp_path)


# ------------------------------------------------------------------------------ read-only readers


def test_readers_read_every_earlier_version_without_upgrading_it(tmp_path):
    db = build(tmp_path, "v1-first-release")
    before = db.read_bytes()
    assert [t.status for t in read_transitions(db, "gate")] == ["ok", "offline"]
    with StateReader(db) as reader:
        assert reader.runs() == [(T0, T0 + 1200)]
        assert len(reader.transitions()) == 4
        assert reader.maintenance_windows() == [("gate", T0 + 700, T0 + 3600)]
    states = load_states(db)  # coverage's reader: the yard camera answers, but its picture is frozen
    seen = {c: (s.up, s.working) for c, s in states.items()}
    assert seen == {"gate": (False, False), "yard": (True, False)}
    assert load_status(db) == {"gate": False, "yard": False}  # effective coverage counts working cameras
    assert db.read_bytes() == before and version_of(db) == 1


def test_a_reader_that_needs_a_later_version_says_to_run_camwatch_once(tmp_path):
    db = build(tmp_path, "v1-device-identity")
    with pytest.raises(UnreadableVersion) as refused:
        open_readonly(db, oldest=SCHEMA_VERSION)
    assert str(refused.value) == (
        f"schema version 1, older than this command reads ({SCHEMA_VERSION} or later); "
        "run `camwatch run` once to upgrade it in place"
    )
    StateStore(db).close()  # what `camwatch run` does first
    open_readonly(db, oldest=SCHEMA_VERSION).close()


def config_for(tmp_path: Path) -> Path:
    config = tmp_path / "camwatch.yaml"
    config.write_text(
        "monitor: {state: state.db}\nreports: {timezone: Asia/Shanghai}\ncameras:\n"
        "  - {id: gate, rtsp_url: 'rtsp://127.0.0.1:9/a'}\n",
        encoding="utf-8",
    )
    return config


@pytest.mark.parametrize("version", [0, SCHEMA_VERSION + 1])
def test_commands_name_a_version_they_cannot_read_and_what_to_do(tmp_path, version):
    db = tmp_path / "state.db"
    with closing(sqlite3.connect(db)) as conn:
        conn.execute(f"PRAGMA user_version={version}")
        conn.commit()
    config = config_for(tmp_path)
    remedy = "run `camwatch run` once to upgrade it in place" if version == 0 else "newer than this camwatch"
    runner = CliRunner()
    for args in (
        ["history", str(config), "gate"],
        ["report", "uptime", str(config), "--month", "2026-05", "--out", str(tmp_path / "out")],
        ["maintenance", "list", str(config)],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 1, (args, result.output)
        lines = [line for line in result.output.splitlines() if line.strip()]
        text = " ".join(result.output.split())
        assert "cannot read the state database" in text and f"schema version {version}" in text, args
        assert remedy in text and "backup" not in text and len(lines) <= 3, (args, result.output)
    assert version_of(db) == version  # no reader wrote it
    with pytest.raises(ConfigError, match="no such table: camera_state") as refused:
        load_status(db)  # coverage reads camera_state(camera, up) wherever it is, of any version
    assert ("run `camwatch run` once" in str(refused.value)) == (version == 0)


def test_a_newer_database_is_refused_by_writers_too(tmp_path):
    db = tmp_path / "state.db"
    with closing(sqlite3.connect(db)) as conn:
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    with pytest.raises(StateError, match="newer"):
        StateStore(db)
    assert version_of(db) == SCHEMA_VERSION + 1


def test_history_reads_an_earlier_version_as_json(tmp_path):
    build(tmp_path, "v1-first-release")
    result = CliRunner().invoke(
        app, ["history", str(config_for(tmp_path)), "gate", "--since", "10000h", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert [r["status"] for r in json.loads(result.stdout)] == ["ok", "offline"]
