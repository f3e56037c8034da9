"""Monthly online rate and working-order rate on a synthetic history with known answers."""

from __future__ import annotations

import csv

import pytest
from typer.testing import CliRunner

from camwatch.cli import app
from camwatch.config.models import Config, MonitorSettings, ReportSettings
from camwatch.monitor.state import StateStore, StoredCamera, Transition
from camwatch.monitor.uptime import compute, merge, month_bounds, subtract, write_uptime_report
from support.cameras import make_camera

HOUR = 3600.0


def test_interval_algebra():
    assert merge([(5, 7), (1, 3), (2, 4)]) == [(1, 4), (5, 7)]
    assert subtract([(0, 10)], [(2, 3), (5, 12)]) == [(0, 2), (3, 5)]
    assert subtract([(0, 10), (20, 30)], [(8, 22)]) == [(0, 8), (22, 30)]


def test_month_bounds_in_local_zone():
    start, end = month_bounds("2026-02", "Asia/Shanghai")
    assert end - start == 28 * 24 * HOUR
    assert start == month_bounds("2026-02")[0] - 8 * HOUR
    with pytest.raises(ValueError, match="2026-11"):
        month_bounds("November")


def test_known_answers(tmp_path):
    t0, _ = month_bounds("2026-11")
    db = tmp_path / "state.db"
    store = StateStore(db)
    # Monitor ran 100 h, then was stopped for 20 h, then ran 80 h more: 180 h monitored.
    with store._conn:
        store._conn.execute("INSERT INTO runs (started, last_seen) VALUES (?, ?)", (t0, t0 + 100 * HOUR))
        store._conn.execute(
            "INSERT INTO runs (started, last_seen) VALUES (?, ?)", (t0 + 120 * HOUR, t0 + 200 * HOUR)
        )

    def tr(cam, h, status, up, working):
        store.stage(
            StoredCamera(cam, up, status, (), t0 + h * HOUR, t0 + h * HOUR),
            Transition(cam, t0 + h * HOUR, None, status, up, working, ()),
        )

    # a: up 0-50 h, down 50-60 h, up 60 h on, frozen (up, not working) 150-170 h.
    tr("a", 0, "ok", True, True)
    tr("a", 50, "offline", False, False)
    tr("a", 60, "ok", True, True)
    tr("a", 150, "frozen", True, False)
    tr("a", 170, "ok", True, True)
    # b: always up, but 10 h under maintenance (excluded from both sides); first seen at 20 h.
    tr("b", 20, "ok", True, True)
    # c: down from the start.
    tr("c", 0, "offline", False, False)
    store.flush()
    store.start_maintenance(["b"], until=t0 + 40 * HOUR, reason="pole replaced", now=t0 + 30 * HOUR)
    store.close()

    cams = (
        make_camera(id="a", county="A县", township="X镇"),
        make_camera(id="b", county="A县", township="Y镇"),
        make_camera(id="c", county="B县", township="Z镇"),
    )
    cfg = Config(
        source=tmp_path / "camwatch.yaml",
        cameras=cams,
        monitor=MonitorSettings(state=db),
        reports=ReportSettings(),
    )
    cameras, areas = compute(cfg, "2026-11")
    by = {c.camera: c for c in cameras}
    assert by["a"].monitored == pytest.approx(180 * HOUR)
    assert by["a"].online_rate == pytest.approx(170 / 180)  # down 50-60 h
    assert by["a"].working_rate == pytest.approx(150 / 180)  # minus frozen 150-170 h
    assert by["b"].monitored == pytest.approx(150 * HOUR)  # seen from 20 h, 10 h maintenance out
    assert by["b"].maintenance == pytest.approx(10 * HOUR)
    assert by["b"].online_rate == pytest.approx(1.0)
    assert by["c"].online_rate == 0.0
    county = {a.area: a for a in areas if a.level == "county"}
    assert county["A县"].online_rate == pytest.approx((170 + 150) / (180 + 150))
    assert county["A县"].rank == 1 and county["B县"].rank == 2
    assert county["B县"].status == "red" and county["A县"].status == "green"

    paths = write_uptime_report(cfg, "2026-11", tmp_path / "out")
    rows = list(csv.DictReader(paths[0].open(encoding="utf-8")))
    assert {r["area"] for r in rows if r["level"] == "township"} == {"A县/X镇", "A县/Y镇", "B县/Z镇"}
    assert "在线率" in paths[2].read_text(encoding="utf-8")


@pytest.mark.parametrize("where", [0, 3 * 4096], ids=["header", "page"])
def test_report_on_a_corrupt_database_is_one_clear_line(tmp_path, where):
    db = tmp_path / "state.db"
    store = StateStore(db)
    t0, _ = month_bounds("2026-11")
    store.begin_run(now=t0)
    for k in range(400):  # a few pages of history
        store.stage(
            StoredCamera("a", k % 2 == 0, "ok", (), t0 + k, t0 + k),
            Transition("a", t0 + k, None, "ok" if k % 2 == 0 else "offline", k % 2 == 0, k % 2 == 0, ()),
        )
    store.flush()
    store.close()
    with open(db, "r+b") as f:
        f.seek(where)
        f.write(bytes(range(256)) * 16)
    config = tmp_path / "camwatch.yaml"
    config.write_text("monitor: {state: state.db}\ncameras:\n  - {id: a, rtsp_url: 'rtsp://127.0.0.1:9/a'}\n")
    result = CliRunner().invoke(app, ["report", "uptime", str(config), "--month", "2026-11", "--out", "out"])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # a clean exit, not an exception escaping
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "cannot read the state database" in lines[0], result.output
