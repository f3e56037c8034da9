"""Monthly online rate and working-order rate on a synthetic history with known answers."""

from __future__ import annotations

import csv

import pytest
from typer.testing import CliRunner

from camwatch.cli import app
from camwatch.config.load import load_config
from camwatch.config.models import Config, Debounce, MonitorSettings, ReportSettings
from camwatch.monitor.probes.base import ProbeResult
from camwatch.monitor.state import StateStore, StoredCamera, Transition
from camwatch.monitor.tracker import Tracker
from camwatch.monitor.uptime import (
    area_status,
    compute,
    compute_city,
    merge,
    month_bounds,
    subtract,
)
from camwatch.reports.uptime import write_uptime_report
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
    rows = list(csv.DictReader(paths[0].open(encoding="utf-8-sig")))
    assert {r["area"] for r in rows if r["level"] == "township"} == {"A县/X镇", "A县/Y镇", "B县/Z镇"}
    assert "在线率" in paths[2].read_text(encoding="utf-8")


def test_status_from_both_rates_against_their_targets():
    settings = ReportSettings()  # online 0.95, working 0.90; bands red 0.85, orange 0.90, yellow 0.95
    assert area_status(0.909, 0.737, settings) == "red"  # yellow by the online rate alone
    assert area_status(0.96, 0.91, settings) == "green"
    assert area_status(0.96, 0.87, settings) == "yellow"  # 3 points under its 0.90 target
    assert area_status(0.93, 0.95, settings) == "yellow"
    assert area_status(0.88, 0.95, settings) == "orange"


def _village_history(tmp_path, timezone_line: str):
    """One village camera over 110 monitored hours: down 10 h (online 100/110 = 90.9 %) and frozen 19 h
    more (working 81/110 = 73.6 %)."""
    t0, _ = month_bounds("2026-11", "Asia/Shanghai")
    store = StateStore(tmp_path / "state.db")
    with store._conn:
        store._conn.execute("INSERT INTO runs (started, last_seen) VALUES (?, ?)", (t0, t0 + 110 * HOUR))
    for h, status, up, working in (
        (0, "ok", True, True),
        (10, "offline", False, False),
        (20, "frozen", True, False),
        (39, "ok", True, True),
    ):
        store.stage(
            StoredCamera("v1", up, status, (), t0 + h * HOUR, t0 + h * HOUR),
            Transition("v1", t0 + h * HOUR, None, status, up, working, ()),
        )
    store.close()
    config = tmp_path / "camwatch.yaml"
    config.write_text(
        f"monitor: {{state: state.db}}\nreports: {{{timezone_line}}}\n"
        "cameras:\n"
        "  - {id: v1, name: 村口, host: 10.0.0.1, county: 梁园区, township: 谢集镇, village: 谢集村}\n",
        encoding="utf-8",
    )
    return config


def _instance(tmp_path, name, history, cameras):
    """A county instance's config file and state database: one 100 h run; ``history`` = (camera, hour, up);
    ``cameras`` = (id, county, township)."""
    t0, _ = month_bounds("2026-11")
    store = StateStore(tmp_path / f"{name}.db")
    with store._conn:
        store._conn.execute("INSERT INTO runs (started, last_seen) VALUES (?, ?)", (t0, t0 + 100 * HOUR))
    for cam, h, up in history:
        status = "ok" if up else "offline"
        store.stage(
            StoredCamera(cam, up, status, (), t0 + h * HOUR, t0 + h * HOUR),
            Transition(cam, t0 + h * HOUR, None, status, up, up, ()),
        )
    store.flush()
    store.close()
    config = tmp_path / f"{name}.yaml"
    config.write_text(
        f"monitor: {{state: {name}.db}}\ncameras:\n"
        + "".join(
            f"  - {{id: {cam}, rtsp_url: 'rtsp://127.0.0.1:9/x', county: {county}, township: {township}}}\n"
            for cam, county, township in cameras
        ),
        encoding="utf-8",
    )
    return config


def test_office_files_in_chinese_by_default_in_china(tmp_path):
    from openpyxl import load_workbook
    from typer.testing import CliRunner

    from camwatch.cli import app

    config = _village_history(tmp_path, "timezone: Asia/Shanghai")
    result = CliRunner().invoke(
        app, ["report", "uptime", str(config), "--month", "2026-11", "--out", str(tmp_path / "zh")]
    )
    assert result.exit_code == 0, result.output
    raw = (tmp_path / "zh" / "uptime_areas.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    rows = list(csv.DictReader((tmp_path / "zh" / "uptime_areas.csv").open(encoding="utf-8-sig")))
    village = next(r for r in rows if r["层级"] == "村")
    assert (village["区域"], village["状态"], village["在线率"][:5], village["完好率"][:5]) == (
        "梁园区/谢集镇/谢集村",
        "红",
        "0.909",
        "0.736",
    )
    text = (tmp_path / "zh" / "uptime.md").read_text(encoding="utf-8")
    assert (
        text.startswith("# 在线率排名 2026-11")
        and "## 按村" in text
        and "| 1 | 梁园区/谢集镇/谢集村 | 红 |" in text
    )

    book = load_workbook(tmp_path / "zh" / "uptime.xlsx")
    assert book.sheetnames == ["概况", "区县", "乡镇", "村", "摄像机", "未计入统计"]
    sheet = book["村"]
    header = [c.value for c in sheet[1]]
    status = sheet.cell(row=2, column=header.index("状态") + 1)
    assert status.value == "红" and status.fill.fgColor.rgb.endswith("FFC7CE")
    # Numbers are numbers (sortable, summable), shown as percent and hours.
    online = sheet.cell(row=2, column=header.index("在线率") + 1)
    hours = sheet.cell(row=2, column=header.index("监测时长(小时)") + 1)
    assert online.data_type == "n" and online.value == pytest.approx(100 / 110)
    assert online.number_format == "0.00%"
    assert hours.data_type == "n" and hours.value == pytest.approx(110) and hours.number_format == "0.00"
    summary = {row[0].value: row[1] for row in book["概况"].iter_rows(min_row=2)}
    assert summary["区县"].value == "梁园区"
    assert summary["统计周期"].value == "2026-11-01 00:00 至 2026-12-01 00:00 (Asia/Shanghai)"
    assert (
        summary["监测时长(小时)"].value == pytest.approx(110) and summary["在线率目标"].number_format == "0%"
    )
    assert "2026-11-01 00:00 至 2026-12-01 00:00" in book["村"].oddHeader.center.text
    cameras = book["摄像机"]
    header = [c.value for c in cameras[1]]
    row = {h: c.value for h, c in zip(header, cameras[2], strict=True)}
    # Down 10 h (offline), frozen 19 h: the main cause is the longer one.
    assert row["离线时长(小时)"] == pytest.approx(10) and row["主要故障原因"] == "画面冻结"

    english = CliRunner().invoke(
        app,
        [
            "report",
            "uptime",
            str(config),
            "--month",
            "2026-11",
            "--out",
            str(tmp_path / "en"),
            "--lang",
            "en",
        ],
    )
    assert english.exit_code == 0, english.output
    assert (tmp_path / "en" / "uptime.md").read_text(encoding="utf-8").startswith("# Online-rate ranking")
    book = load_workbook(tmp_path / "en" / "uptime.xlsx")
    assert book["village"]["D2"].value == "red"
    bad = CliRunner().invoke(app, ["report", "uptime", str(config), "--month", "2026-11", "--lang", "fr"])
    assert bad.exit_code == 1 and "zh, en" in bad.output


def test_report_language_setting_overrides_the_timezone(tmp_path):
    config = _village_history(tmp_path, "timezone: Asia/Shanghai, lang: en")
    from camwatch.config.load import load_config
    from camwatch.reports.office import report_lang

    settings = load_config(config, resolve_secrets=False).reports
    assert report_lang(settings) == "en" and report_lang(settings, "zh") == "zh"
    assert report_lang(ReportSettings(timezone="Europe/Helsinki")) == "en"
    assert report_lang(ReportSettings(timezone="Asia/Urumqi")) == "zh"


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


def test_city_ranking_over_several_instances_with_equal_camera_ids(tmp_path):
    # Two counties number their cameras alike; Yongcheng is split over two instances.
    configs = [
        _instance(
            tmp_path,
            "xiayi",
            [("c1", 0, True), ("c2", 0, True), ("c2", 50, False)],  # c2 down half the time
            [("c1", "夏邑县", "城关镇"), ("c2", "夏邑县", "城关镇")],
        ),
        _instance(tmp_path, "yongcheng", [("c1", 0, False)], [("c1", "永城市", "城关镇")]),
        _instance(tmp_path, "yongcheng-b", [("c9", 0, True)], [("c9", "永城市", "芒山镇")]),
    ]
    areas = {(a.level, a.area): a for a in compute_city([load_config(c) for c in configs], "2026-11")}
    assert areas["county", "夏邑县"].online_rate == pytest.approx(0.75)
    assert areas["county", "夏邑县"].cameras == 2
    assert areas["county", "永城市"].online_rate == pytest.approx(0.5)  # summed over both instances
    assert areas["county", "永城市"].cameras == 2
    assert (areas["county", "夏邑县"].rank, areas["county", "永城市"].rank) == (1, 2)
    # Townships of the same name in two counties stay apart.
    assert areas["township", "夏邑县/城关镇"].online_rate == pytest.approx(0.75)
    assert areas["township", "永城市/城关镇"].online_rate == 0.0

    out = tmp_path / "city"
    result = CliRunner().invoke(
        app, ["report", "city", *map(str, configs), "--month", "2026-11", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((out / "city_uptime.csv").open(encoding="utf-8-sig")))
    assert [(r["area"], r["rank"], r["online_rate"]) for r in rows if r["level"] == "county"] == [
        ("夏邑县", "1", "0.750000"),
        ("永城市", "2", "0.500000"),
    ]
    assert "City: online 62.50 %" in (out / "city_uptime.md").read_text(encoding="utf-8")


def test_no_picture_time_is_online_but_not_working(tmp_path):
    """A camera that answers but shows no picture (no_video) for 20 of 100 hours: online all month, in
    working order (完好) 80 %. The transition's ``working`` comes from the fault vocabulary through the
    tracker, as the service stores it."""
    t0, _ = month_bounds("2026-11")
    db = tmp_path / "state.db"
    store = StateStore(db)
    with store._conn:
        store._conn.execute("INSERT INTO runs (started, last_seen) VALUES (?, ?)", (t0, t0 + 100 * HOUR))
    camera = make_camera(id="n", rtsp_url="rtsp://10.0.0.9/live", county="A县", township="X镇")
    tracker = Tracker({"n": camera}, debounce=Debounce(down_after=1, up_after=1))
    live = ProbeResult("rtsp", True, "ok", 0.1)
    no_video = ProbeResult("video", False, "no_video", 8.0, error="no RTP in 8 s", faults=("no_video",))
    picture = ProbeResult("video", True, "ok", 3.0)
    for hour, video in ((0, picture), (60, no_video), (80, picture)):
        transition = tracker.observe("n", {"rtsp": live, "video": video}, t0 + hour * HOUR)
        assert transition is not None
        store.stage(tracker.tracks["n"].stored(), transition)
    assert tracker.tracks["n"].status == "ok"
    store.flush()
    store.close()
    cfg = Config(source=tmp_path / "camwatch.yaml", cameras=(camera,), monitor=MonitorSettings(state=db))
    cameras, _ = compute(cfg, "2026-11")
    assert cameras[0].online_rate == pytest.approx(1.0)
    assert cameras[0].working_rate == pytest.approx(80 / 100)
