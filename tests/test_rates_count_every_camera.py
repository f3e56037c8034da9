"""Every ledger camera is in every rate's denominator or in the list of cameras not counted, with the reason:
a GB/T 28181-only camera without a platform is refused where it would be watched, and not-networked
cameras (是否联网 = 否) are planning positions — never probed, tracked, exported or counted."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

from test_monitor_service import config as service_config
from test_monitor_service import scrape, value
from typer.testing import CliRunner

from camwatch.cli import app
from camwatch.config.load import load_config
from camwatch.monitor.service import Service
from camwatch.monitor.state import StateStore, StoredCamera, Transition
from camwatch.monitor.uptime import (
    NO_PLATFORM,
    NO_STATUS,
    UNDER_MAINTENANCE,
    compute_month,
    month_bounds,
)
from camwatch.reports.uptime import write_uptime_report

HOUR = 3600.0
GB_ID = "41140200001320000001"
PLATFORM = 'gb28181: {id: "41140200002000000001", domain: "4114020000", password_env: GB_PW}\n'
HEADER = "编号,名称,IP,所属区县,所属乡镇,所属派出所,国标编码,是否联网\n"
# A county's ledger as a 技防 officer writes it (GBK, Chinese headers): three cameras with an address,
# one planned position not on the network (with an IP the survey filled in), one known by its 国标编码 only.
ROWS = (
    "XJ-01,谢集村口,10.0.0.1,梁园区,谢集镇,谢集派出所,,是\n"
    "XJ-02,谢集小学,10.0.0.2,梁园区,谢集镇,谢集派出所,,是\n"
    "PL-01,平台路口,10.0.0.3,梁园区,平台镇,平台派出所,,是\n"
    "PL-09,规划点位,10.0.0.9,梁园区,平台镇,平台派出所,,否\n"
    f"GB-01,国标球机,,梁园区,平台镇,平台派出所,{GB_ID},是\n"
)


def _ledger(folder: Path, rows: str = ROWS, extra: str = "", header: str = HEADER) -> Path:
    (folder / "台账.csv").write_bytes((header + rows).encode("gbk"))
    config = folder / "camwatch.yaml"
    config.write_text(
        f"cameras: 台账.csv\nmonitor: {{state: state.db}}\nreports: {{timezone: Asia/Shanghai}}\n{extra}",
        encoding="utf-8",
    )
    return config


def test_gb28181_only_camera_without_a_platform_is_refused_where_it_would_be_watched(tmp_path):
    config = _ledger(tmp_path)
    result = CliRunner().invoke(app, ["check-config", str(config)])
    assert result.exit_code == 1
    problem = next(line for line in result.output.splitlines() if "gb28181" in line)
    assert "台账.csv" in problem and "row 6" in problem and "gb_id" in problem
    assert "no gb28181: section" in problem and "是否联网 = 否" in problem
    # Reports and maintenance read the same ledger without complaint: they probe nothing.
    assert len(load_config(config, resolve_secrets=False).cameras) == 5
    # Marked not networked, it is a planning position and the config is fine.
    fixed = _ledger(tmp_path, ROWS.replace(f"{GB_ID},是", f"{GB_ID},否"))
    result = CliRunner().invoke(app, ["check-config", str(fixed)])
    assert result.exit_code == 0, result.output
    assert "5 cameras in 1 county" in result.output and "2 not networked (是否联网 = 否)" in result.output
    # With a platform configured, the camera is watched through it.
    platform = _ledger(tmp_path, extra=PLATFORM)
    assert len(load_config(platform, environ={"GB_PW": "x"}, require_address=True).cameras) == 5


def _history(tmp_path: Path) -> None:
    """100 monitored hours: XJ-01 up, XJ-02 down half the time, PL-01 under maintenance throughout; the
    not-networked and the GB/T 28181-only camera have nothing stored (as `run` leaves them)."""
    t0, _ = month_bounds("2026-11", "Asia/Shanghai")
    store = StateStore(tmp_path / "state.db")
    with store._conn:
        store._conn.execute("INSERT INTO runs (started, last_seen) VALUES (?, ?)", (t0, t0 + 100 * HOUR))
    for cam, h, status in (("XJ-01", 0, "ok"), ("XJ-02", 0, "ok"), ("XJ-02", 50, "offline")):
        up = status == "ok"
        store.stage(
            StoredCamera(cam, up, status, (), t0 + h * HOUR, t0 + h * HOUR),
            Transition(cam, t0 + h * HOUR, None, status, up, up, ()),
        )
    store.flush()
    store.start_maintenance(["PL-01"], until=t0 + 200 * HOUR, reason="杆件更换", now=t0 - HOUR)
    store.close()


def test_every_ledger_camera_is_counted_or_listed_with_its_reason(tmp_path):
    config = load_config(_ledger(tmp_path), resolve_secrets=False)
    _history(tmp_path)
    month = compute_month(config, "2026-11")
    counted = {u.camera for u in month.cameras if u.monitored > 0}
    left_out = {n.camera.id: n.reason for n in month.not_counted}
    assert counted | set(left_out) == {c.id for c in config.cameras}
    assert not counted & set(left_out)
    assert left_out == {"PL-09": "not networked", "PL-01": UNDER_MAINTENANCE, "GB-01": NO_PLATFORM}
    county = next(a for a in month.areas if a.level == "county")
    assert (county.cameras, round(county.online_rate, 3)) == (2, 0.75)
    # A networked camera with nothing stored in the month is listed too, never dropped silently.
    store = StateStore(tmp_path / "state.db")
    store.stop_maintenance(["PL-01"], now=month.start - 1)
    store.close()
    month = compute_month(config, "2026-11")
    assert {n.camera.id: n.reason for n in month.not_counted}["PL-01"] == NO_STATUS

    paths = write_uptime_report(config, "2026-11", tmp_path / "out", lang="zh")
    listed = list(csv.DictReader(paths[-1].open(encoding="utf-8-sig")))
    assert {r["编号"]: r["原因"][:3] for r in listed} == {
        "PL-09": "未联网",
        "PL-01": "统计周",
        "GB-01": "仅有国",
    }
    text = paths[2].read_text(encoding="utf-8")
    assert "台账摄像机：5，计入统计：2，未计入：3。" in text and "## 未计入在线率、完好率的摄像机" in text
    # Not networked: not a row of the camera table either.
    cameras = {r["编号"] for r in csv.DictReader(paths[1].open(encoding="utf-8-sig"))}
    assert "PL-09" not in cameras and {"XJ-01", "XJ-02"} <= cameras


async def test_not_networked_cameras_are_never_probed_tracked_or_exported(tmp_path, closed_port):
    from support.cameras import make_camera

    cameras = [
        make_camera(id="net", rtsp_url=f"rtsp://127.0.0.1:{closed_port}/x", county="A县"),
        make_camera(id="plan", rtsp_url=f"rtsp://127.0.0.1:{closed_port}/y", county="A县", networked=False),
    ]
    svc = Service(service_config(tmp_path, cameras))
    await svc.start()
    try:
        for _ in range(50):
            metrics = await scrape(svc.url)
            if value(metrics, "camwatch_camera_up", camera="net") is not None:
                break
            await asyncio.sleep(0.2)
        assert value(metrics, "camwatch_camera_up", camera="net") == 0
        assert not [k for k in metrics if ("camera", "plan") in k[1]]
        assert set(svc.tracker.tracks) == {"net"} and set(svc.scheduler.cameras) == {"net"}
        assert svc.health()["cameras"] == 1
    finally:
        await svc.stop()
    store = StateStore(tmp_path / "state.db")
    try:
        assert {t.camera for t in store.transitions()} == {"net"}
    finally:
        store.close()


def test_rankings_by_police_station_and_contractor(tmp_path):
    from openpyxl import load_workbook

    rows = ROWS.replace(",是\n", ",是,某运维公司\n").replace(",否\n", ",否,某运维公司\n")
    config = _ledger(tmp_path, rows, header=HEADER.replace("是否联网\n", "是否联网,运维单位\n"))
    _history(tmp_path)
    paths = write_uptime_report(
        load_config(config, resolve_secrets=False), "2026-11", tmp_path / "out", lang="zh"
    )
    areas = list(csv.DictReader(paths[0].open(encoding="utf-8-sig")))
    stations = {r["区域"]: r for r in areas if r["层级"] == "派出所"}
    assert set(stations) == {"梁园区/谢集派出所"}  # 平台派出所: its only counted camera is under maintenance
    assert (stations["梁园区/谢集派出所"]["摄像机数"], stations["梁园区/谢集派出所"]["在线率"]) == (
        "2",
        "0.750000",
    )
    assert [(r["区域"], r["摄像机数"]) for r in areas if r["层级"] == "运维单位"] == [("某运维公司", "2")]
    book = load_workbook(paths[3])
    # The ledger names no villages: no village sheet.
    assert book.sheetnames == ["概况", "区县", "乡镇", "派出所", "运维单位", "摄像机", "未计入统计"]
    assert "## 按派出所" in paths[2].read_text(encoding="utf-8")


def test_month_city_language_and_coverage_city_defaults(tmp_path, monkeypatch):
    config = _ledger(tmp_path)
    _history(tmp_path)
    runner = CliRunner()
    for month in ("2026-1", "2026/12", "2026-13"):
        bad = runner.invoke(app, ["report", "uptime", str(config), "--month", month])
        assert bad.exit_code == 1 and "YYYY-MM" in bad.output, month
    out = tmp_path / "city"
    city = runner.invoke(app, ["report", "city", str(config), "--month", "2026-11", "--out", str(out)])
    assert city.exit_code == 0, city.output
    text = (out / "city_uptime.md").read_text(encoding="utf-8")
    # Chinese: the config's timezone is Asia/Shanghai, as for report uptime.
    assert text.startswith("# 全市在线率排名 2026-11") and "## 按派出所" in text
    assert "未计入在线率、完好率的摄像机: 3" in text
    english = runner.invoke(
        app, ["report", "city", str(config), "--month", "2026-11", "--out", str(out), "--lang", "en"]
    )
    assert english.exit_code == 0
    assert (out / "city_uptime.md").read_text(encoding="utf-8").startswith("# City online-rate ranking")

    from camwatch.cli_reports import _reports_lang

    for name, title in (
        ("a", "# 视频监控覆盖分析报告"),
        ("b", "# 视频监控覆盖分析报告"),
        ("c", "# Coverage report"),
    ):
        (tmp_path / name).mkdir()
        (tmp_path / name / "report.md").write_text(title + "\n", encoding="utf-8")
    assert _reports_lang([tmp_path / "a", tmp_path / "b"]) == "zh"
    monkeypatch.setenv("TZ", "Europe/Helsinki")
    assert _reports_lang([tmp_path / "a", tmp_path / "c"]) == "en"  # mixed: the machine's zone decides
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    assert _reports_lang([tmp_path / "a", tmp_path / "c"]) == "zh"


async def test_run_then_report_counts_every_camera_of_the_ledger(tmp_path, gst_rtsp, closed_port):
    """The walk: a ledger, `run` for a few seconds with a GB/T 28181 platform that no device registers with,
    then the month's report from the state database it wrote."""
    import time
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from support.gst_rtsp import unused_port

    (tmp_path / "台账.csv").write_bytes(
        (
            HEADER.replace("是否联网\n", "是否联网,取流地址\n")
            + f"live,村口,,梁园区,谢集镇,谢集派出所,,是,{gst_rtsp.url('live')}\n"
            + f"dead,小学,,梁园区,谢集镇,谢集派出所,,是,rtsp://127.0.0.1:{closed_port}/x\n"
            + "plan,规划,10.0.0.9,梁园区,平台镇,平台派出所,,否,\n"
            + f"gb,国标,,梁园区,平台镇,平台派出所,{GB_ID},是,\n"
        ).encode("gbk")
    )
    monitor = "{interval: 1s, timeout: 1s}, debounce: {down_after: 1, up_after: 1}"
    config = tmp_path / "camwatch.yaml"
    config.write_text(
        "cameras: 台账.csv\n"
        f"monitor: {{listen: '127.0.0.1:{unused_port()}', state: state.db, rtsp: {monitor}}}\n"
        "reports: {timezone: Asia/Shanghai}\n"
        f"gb28181: {{listen: '127.0.0.1:{unused_port()}', id: '41140200002000000001', domain: '4114020000',"
        " password_env: GB_PW, keepalive: {interval: 1s, count: 1}}\n",
        encoding="utf-8",
    )
    cfg = load_config(config, environ={"GB_PW": "x"}, require_address=True)

    svc = Service(cfg)
    await svc.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            tracks = svc.tracker.tracks
            if all(tracks[c].up is not None for c in ("live", "dead", "gb")):
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.5)
        assert {c: svc.tracker.tracks[c].up for c in ("live", "dead", "gb")} == {
            "live": True,
            "dead": False,
            "gb": False,
        }
        assert "plan" not in svc.tracker.tracks
    finally:
        await svc.stop()

    month = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    result = compute_month(load_config(config, resolve_secrets=False), month)
    rated = {u.camera: u for u in result.cameras if u.monitored > 0}
    assert set(rated) == {"live", "dead", "gb"}
    assert [(n.camera.id, n.reason) for n in result.not_counted] == [("plan", "not networked")]
    assert rated["dead"].online_rate == 0.0 and rated["dead"].main_cause == "offline"
    assert rated["gb"].online_rate == 0.0 and rated["live"].online_rate > 0.5
    county = next(a for a in result.areas if a.level == "county")
    assert county.cameras == 3
