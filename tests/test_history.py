"""`camwatch history`: a camera's transitions from the state database, without camera passwords."""

from __future__ import annotations

import json
import time
from pathlib import Path

from typer.testing import CliRunner

from camwatch.cli import app
from camwatch.monitor.state import StateStore, StoredCamera, Transition

CONFIG = """\
credentials:
  default: {username: admin, password_env: CAMWATCH_HISTORY_TEST_UNSET}
  nvr: {username: op, password_file: secrets/missing}
monitor: {state: state.db}
reports: {timezone: Asia/Shanghai}
cameras:
  - {id: gate, name: North gate, rtsp_url: 'rtsp://127.0.0.1:9/a'}
  - {id: yard, rtsp_url: 'rtsp://127.0.0.1:9/b', credentials: nvr}
"""


def write_history(path: Path, now: float) -> None:
    store = StateStore(path)
    steps = [
        (now - 3 * 86400, None, "ok", True, ()),  # outside the last two days
        (now - 3600, "ok", "offline", False, ()),
        (now - 600, "offline", "ok", True, ()),
        (now - 300, "ok", "frozen", True, ("frozen",)),
    ]
    for ts, prev, status, up, faults in steps:
        t = Transition("gate", ts, prev, status, up, up and not faults, faults)
        store.stage(StoredCamera("gate", up, status, faults, ts, ts), t)
    store.stage(
        StoredCamera("yard", True, "ok", (), now, now), Transition("yard", now, None, "ok", True, True, ())
    )
    assert store.flush()
    store.close()


def test_history_lists_transitions_with_local_time_reason_and_duration(tmp_path, monkeypatch):
    monkeypatch.delenv("CAMWATCH_HISTORY_TEST_UNSET", raising=False)
    config = tmp_path / "camwatch.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    now = time.time()
    write_history(tmp_path / "state.db", now)
    runner = CliRunner()

    # Probing needs the passwords; reading the history does not.
    assert runner.invoke(app, ["check-config", str(config)]).exit_code == 1
    result = runner.invoke(app, ["history", str(config), "gate", "--since", "2d", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["status"], r["reason"]) for r in rows] == [
        ("offline", "unreachable: connection refused or no route"),
        ("ok", "stream answers"),
        ("frozen", "frozen"),
    ]
    assert [round(r["duration_seconds"]) for r in rows[:2]] == [3000, 300]
    assert [r["ongoing"] for r in rows] == [False, False, True]
    assert rows[0]["time"].endswith("+08:00")  # reports.timezone

    table = runner.invoke(app, ["history", str(config), "gate"])
    assert table.exit_code == 0, table.output
    assert "4 status change(s)" in table.stdout and "50m 00s" in table.stdout and "so far" in table.stdout

    unknown = runner.invoke(app, ["history", str(config), "nope"])
    assert unknown.exit_code == 1 and "unknown camera id" in unknown.stderr


def test_history_without_a_state_database_says_so(tmp_path):
    config = tmp_path / "camwatch.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    result = CliRunner().invoke(app, ["history", str(config), "gate"])
    assert result.exit_code == 1
    assert "cannot read the state database" in result.stderr and not (tmp_path / "state.db").exists()
