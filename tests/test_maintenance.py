"""Maintenance windows: targets by camera or area, the CLI, and the running service picking them up."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from camwatch.cli import app
from camwatch.config.load import load_config
from camwatch.monitor.maintenance import DEFAULT_MAX_SECONDS, current_windows, parse_until, resolve_targets
from camwatch.monitor.service import Service
from support.cameras import make_camera
from support.gst_rtsp import unused_port

CAMS = [
    make_camera(id="a1", county="柘城县", township="城关镇", village="东村", police_station="城关派出所"),
    make_camera(id="a2", county="柘城县", township="城关镇", village="西村", police_station="城关派出所"),
    make_camera(id="b1", county="柘城县", township="安平镇", village="东村", police_station="城关派出所"),
    make_camera(id="c1", county="夏邑县", township="城关镇", village="东村", police_station="城关派出所"),
]


def test_targets_by_id_area_and_path():
    assert resolve_targets(CAMS, ["a1"]) == ["a1"]
    assert resolve_targets(CAMS, ["安平镇"]) == ["b1"]
    assert resolve_targets(CAMS, ["城关镇"]) == ["a1", "a2", "c1"]  # a name shared by two counties
    assert resolve_targets(CAMS, ["柘城县/城关镇"]) == ["a1", "a2"]
    assert resolve_targets(CAMS, ["柘城县/城关镇/东村", "c1"]) == ["a1", "c1"]
    with pytest.raises(ValueError, match="'nowhere'"):
        resolve_targets(CAMS, ["a1", "nowhere"])
    # A police station's area (派出所辖区) is a target of its own, by name or as county/station.
    assert resolve_targets(CAMS, ["城关派出所"]) == ["a1", "a2", "b1", "c1"]
    assert resolve_targets(CAMS, ["柘城县/城关派出所"]) == ["a1", "a2", "b1"]


def test_until_as_duration_or_local_time():
    now = 1_790_000_000.0
    assert parse_until("4h", now=now, tz="Asia/Shanghai") == now + 4 * 3600
    ten_utc = datetime(2026, 12, 1, 10, 0, tzinfo=UTC).timestamp()  # 18:00 in Shanghai (UTC+8)
    assert parse_until("2026-12-01T18:00", now=now, tz="Asia/Shanghai") == ten_utc
    with pytest.raises(ValueError, match="past"):
        parse_until("2020-01-01T00:00", now=now, tz="UTC")
    with pytest.raises(ValueError, match="duration"):
        parse_until("soon", now=now, tz="UTC")
    # A time of day is the next one in the zone: today while it is ahead, else tomorrow.
    morning = datetime(2026, 12, 1, 1, 0, tzinfo=UTC).timestamp()  # 09:00 in Shanghai
    assert parse_until("18:00", now=morning, tz="Asia/Shanghai") == ten_utc
    assert parse_until("8:30", now=morning, tz="Asia/Shanghai") == ten_utc + 14.5 * 3600
    with pytest.raises(ValueError, match="not a time of day"):
        parse_until("25:00", now=now, tz="UTC")
    # A duration without a unit is refused, as the README says: 4 could be hours as well as seconds.
    with pytest.raises(ValueError, match=r"give a unit, e\.g\. 4h"):
        parse_until("4", now=now, tz="UTC")


async def test_cli_windows_reach_the_running_service(tmp_path):
    config = tmp_path / "camwatch.yaml"
    config.write_text(
        f"monitor: {{listen: '127.0.0.1:{unused_port()}', state: state.db}}\n"
        "cameras:\n"
        "  - {id: a1, rtsp_url: 'rtsp://127.0.0.1:9/a', county: 柘城县, township: 城关镇}\n"
        "  - {id: a2, rtsp_url: 'rtsp://127.0.0.1:9/b', county: 柘城县, township: 城关镇}\n"
        "  - {id: c1, rtsp_url: 'rtsp://127.0.0.1:9/c', county: 夏邑县, township: 城关镇}\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    started = runner.invoke(
        app, ["maintenance", "start", str(config), "柘城县", "--until", "2h", "--reason", "fibre repair"]
    )
    assert started.exit_code == 0, started.output
    assert "2 camera(s) under maintenance" in started.output
    listed = runner.invoke(app, ["maintenance", "list", str(config)])
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in listed.output.splitlines() if "│" in line]
    assert listed.exit_code == 0 and rows[0][:2] == ["柘城县", "2"] and "c1" not in listed.output
    unknown = runner.invoke(app, ["maintenance", "start", str(config), "nowhere"])
    assert unknown.exit_code == 1 and "nowhere" in unknown.output

    svc = Service(load_config(config))
    await svc.start()
    try:
        assert svc.maintenance == frozenset({"a1", "a2"})
        exported = {
            sample.labels["camera"]: sample.value
            for family in text_string_to_metric_families(svc.exporter.exposition().decode())
            if family.name == "camwatch_camera_maintenance"
            for sample in family.samples
        }
        assert exported == {"a1": 1, "a2": 1, "c1": 0}
        stopped = runner.invoke(app, ["maintenance", "stop", str(config), "a1"])
        assert stopped.exit_code == 0 and "1 camera(s)" in stopped.output
        await svc.refresh_maintenance()
        assert svc.maintenance == frozenset({"a2"})
    finally:
        await svc.stop()


def test_cli_until_default_maximum_indefinite_and_reasons(tmp_path):
    config = tmp_path / "camwatch.yaml"
    config.write_text(
        "monitor: {state: state.db}\nreports: {timezone: Asia/Shanghai}\n"
        "cameras:\n"
        "  - {id: a1, host: 10.0.0.1, county: 柘城县}\n"
        "  - {id: a2, host: 10.0.0.2, county: 柘城县}\n"
        "  - {id: c1, host: 10.0.0.3, county: 夏邑县}\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    clock = runner.invoke(
        app, ["maintenance", "start", str(config), "a1", "--until", "2099-12-01T18:00", "--reason", "换杆"]
    )
    assert clock.exit_code == 0, clock.output
    assert "until 2099-12-01T18:00+08:00" in clock.output  # read in reports.timezone, not the machine's
    default = runner.invoke(app, ["maintenance", "start", str(config), "a2", "--reason", "光缆抢修"])
    assert default.exit_code == 0 and "(the default; --until or --indefinite to change)" in default.output
    forever = runner.invoke(app, ["maintenance", "start", str(config), "c1", "--indefinite"])
    assert "until `camwatch maintenance stop`" in forever.output
    both = runner.invoke(app, ["maintenance", "start", str(config), "c1", "--indefinite", "--until", "1h"])
    assert both.exit_code == 1 and "not both" in both.output

    windows = {w.camera: w for w in current_windows(tmp_path / "state.db", now=time.time())}
    assert windows["a1"].end == datetime(2099, 12, 1, 10, 0, tzinfo=UTC).timestamp()
    assert windows["a2"].end - windows["a2"].start == DEFAULT_MAX_SECONDS == 24 * 3600
    assert windows["c1"].end is None

    listed = runner.invoke(app, ["maintenance", "list", str(config)])
    lines = {line.split("│")[1].strip(): line for line in listed.output.splitlines() if "│" in line}
    assert "(times in Asia/Shanghai)" in listed.output
    assert "换杆" in lines["a1"] and "2099-12-01 18:00" in lines["a1"]
    assert "光缆抢修" in lines["a2"]
    assert "until stopped" in lines["c1"] and "stopped by hand" not in listed.output
    # One row per window, naming the area it was started for, within 80 columns.
    area = runner.invoke(app, ["maintenance", "start", str(config), "柘城县", "--until", "18:00"])
    assert area.exit_code == 0 and "2 camera(s) under maintenance" in area.output
    listed = runner.invoke(app, ["maintenance", "list", str(config)])
    rows = [line for line in listed.output.splitlines() if "│" in line and "targets" not in line]
    assert len(rows) == 4 and max(map(len, listed.output.splitlines())) <= 80
    assert any([c.strip() for c in line.split("│")[1:3]] == ["柘城县", "2"] for line in rows)
    unitless = runner.invoke(app, ["history", str(config), "a1", "--since", "7"])
    assert unitless.exit_code == 1 and "give a unit" in unitless.output
