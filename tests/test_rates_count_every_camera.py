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
from camwatch.monitor.uptime_report import write_uptime_report

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


def _ledger(folder: Path, rows: str = ROWS, extra: str = "") -> Path:
    (folder / "台账.csv").write_bytes((HEADER + rows).encode("gbk"))
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
    assert "台账摄像机: 5, 计入统计: 2, 未计入: 3" in text and "## 未计入在线率、完好率的摄像机" in text
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
