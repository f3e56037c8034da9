"""Recording integrity (录像完整性): the pure footage judgement by hand, the ``recorders:`` config and ledger
columns, and the recording probe against an ISAPI NVR peer (camwatch/sim/isapi_nvr.py: its own Digest check,
nothing of camwatch's client) over real sockets: a stopped channel, a gap, short retention, a failed disk,
hostile answers."""

from __future__ import annotations

import ast
import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from camwatch.config.errors import ConfigError
from camwatch.config.load import load_config
from camwatch.config.models import RecordingSettings, RetentionTargets
from camwatch.config.recorders import Recorder
from camwatch.monitor import footage
from camwatch.monitor.outcome import combine
from camwatch.monitor.probes import recording
from camwatch.monitor.probes.base import ProbeContext, ProbeResult
from camwatch.sim import isapi_nvr
from camwatch.sim.isapi_nvr import Channel, Disk, Nvr
from support.cameras import make_camera

H, DAY = 3600.0, 86400.0
NOW = 1_800_000_000.0


def judge(ranges, *, oldest=None, retention=30 * DAY):
    return footage.judge(ranges, now=NOW, gap=60.0, stopped_after=900.0, retention=retention, oldest=oldest)


# --- the pure judgement -----------------------------------------------------------------------------------


def test_continuous_footage_has_no_fault():
    v = judge([(NOW - 40 * DAY, NOW - 10.0)])
    assert v.faults == ()
    assert v.values == {
        "recording_retention_seconds": 40 * DAY,
        "recording_seconds_24h": DAY - 10.0,
        "recording_last_age_seconds": 10.0,
        "recording_gaps_24h": 0.0,
    }


def test_segments_that_touch_or_overlap_are_one_piece():
    pieces = [(NOW - DAY - H, NOW - 12 * H), (NOW - 12 * H, NOW - 6 * H), (NOW - 7 * H, NOW - 5.0)]
    v = judge(pieces, oldest=NOW - 31 * DAY)
    assert v.faults == () and v.values["recording_gaps_24h"] == 0.0
    assert v.values["recording_seconds_24h"] == DAY - 5.0


def test_gaps_longer_than_the_setting_count_shorter_ones_do_not():
    pieces = [
        (NOW - 2 * DAY, NOW - 20 * H),
        (NOW - 20 * H + 30.0, NOW - 10 * H),  # a 30 s hole: no gap
        (NOW - 10 * H + 600.0, NOW - 5 * H),  # 10 min: a gap
        (NOW - 4 * H, NOW - 1.0),  # 1 h: a gap
    ]
    v = judge(pieces, oldest=NOW - 35 * DAY)
    assert v.values["recording_gaps_24h"] == 2.0
    assert v.values["recording_seconds_24h"] == DAY - 30.0 - 600.0 - H - 1.0
    assert v.faults == (footage.GAPS,)


def test_a_hole_at_the_window_start_is_a_gap_only_after_older_footage():
    late_start = [(NOW - 20 * H, NOW - 1.0)]
    assert judge(late_start, oldest=NOW - 40 * DAY).values["recording_gaps_24h"] == 1.0
    # A camera whose footage begins 20 h ago has no gap (and short retention).
    fresh = judge(late_start)
    assert fresh.values["recording_gaps_24h"] == 0.0
    assert fresh.faults == (footage.RETENTION_SHORT,)
    assert fresh.values["recording_retention_seconds"] == 20 * H


def test_stopped_recording_and_the_trailing_hole_is_no_gap():
    v = judge([(NOW - 40 * DAY, NOW - 2 * H)])
    assert v.faults == (footage.STOPPED,)
    assert v.values["recording_last_age_seconds"] == 2 * H
    assert v.values["recording_gaps_24h"] == 0.0
    assert v.values["recording_seconds_24h"] == DAY - 2 * H
    # Just under stopped_after is still recording (files close late).
    assert judge([(NOW - 40 * DAY, NOW - 899.0)]).faults == ()


def test_short_retention_against_its_target():
    v = judge([(NOW - 6 * DAY, NOW - 1.0)])
    assert v.faults == (footage.RETENTION_SHORT,)
    assert judge([(NOW - 6 * DAY, NOW - 1.0)], retention=5 * DAY).faults == ()
    assert judge([(NOW - 2 * DAY, NOW)], oldest=NOW - 91 * DAY, retention=90 * DAY).faults == ()


def test_no_footage_at_all_is_stopped_and_short():
    v = judge([])
    assert v.faults == (footage.STOPPED, footage.RETENTION_SHORT)
    assert "recording_last_age_seconds" not in v.values
    assert v.values["recording_seconds_24h"] == 0.0


def test_footage_ahead_of_the_recorder_clock_and_bad_ranges_are_clipped():
    v = judge([(NOW - 31 * DAY, NOW + 600.0), (NOW - H, NOW - 2 * H)])
    assert v.values["recording_last_age_seconds"] == 0.0
    assert v.values["recording_seconds_24h"] == DAY


def test_retention_target_by_category_and_area_the_longest_wins():
    targets = RetentionTargets.model_validate(
        {"default": "30d", "by_category": {"hotel": "90d"}, "by_area": {"城关镇": "60d", "Kallio": "100d"}}
    )
    assert targets.target(make_camera()) == 30 * DAY
    assert targets.target(make_camera(site="hotel")) == 90 * DAY
    assert targets.target(make_camera(township="城关镇")) == 60 * DAY
    assert targets.target(make_camera(site="hotel", township="城关镇")) == 90 * DAY
    assert targets.target(make_camera(site="hotel", village="Kallio")) == 100 * DAY


def test_recording_settings_names_and_defaults():
    s = RecordingSettings()
    assert (s.interval, s.timeout, s.gap, s.stopped_after) == (H, 60.0, 60.0, 900.0)
    assert s.retention.default == 30 * DAY and s.retention.by_category == {} and s.retention.by_area == {}


# --- config and ledger ------------------------------------------------------------------------------------


def _write(tmp_path: Path, recorders: str, rows: str) -> Path:
    (tmp_path / "cams.csv").write_text(rows, encoding="utf-8")
    (tmp_path / "camwatch.yaml").write_text(f"cameras: cams.csv\nrecorders:\n{recorders}", encoding="utf-8")
    return tmp_path / "camwatch.yaml"


_NVR = (
    "  - {id: nvr-1, kind: isapi, host: 127.0.0.1, username: admin, password_env: NVR_PW,"
    " timezone: Asia/Shanghai}\n"
)


def test_ledger_names_the_recorder_and_channel(tmp_path):
    rows = "编号,IP地址,录像机,录像通道\ncam-1,10.0.0.1,nvr-1,3\ncam-2,10.0.0.2,,\n"
    config = load_config(_write(tmp_path, _NVR, rows), environ={"NVR_PW": "s3cret"})
    one, two = config.cameras
    assert one.recorder is not None and one.recorder.id == "nvr-1" and one.recorder_channel == "3"
    assert one.recorder.password == SecretStr("s3cret")
    assert two.recorder is None
    assert [r.id for r in config.recorders] == ["nvr-1"]


def test_bad_recorders_and_rows_are_named(tmp_path):
    recorders = (
        _NVR + "  - {id: nvr-1, kind: onvif, host: 127.0.0.2}\n  - {id: nvr-3, kind: isapi, host: a/b}\n"
    )
    rows = (
        "id,host,recorder,recorder_channel\n"
        "cam-1,10.0.0.1,nvr-9,1\ncam-2,10.0.0.2,nvr-1,x\ncam-3,10.0.0.3,nvr-1,\n"
    )
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, recorders, rows), environ={})
    text = str(err.value)
    assert "recorders.0.password_env" in text and "NVR_PW is not set" in text
    assert "recorders.1.id" in text and "repeats" in text
    assert "recorders.1.kind" not in text  # ONVIF Profile G recorders are spoken now
    assert "recorders.2.host" in text
    assert "unknown recorder 'nvr-9'" in text
    assert "channel is a number" in text and "'x'" in text
    assert "recorder_channel" in text and "required with recorder nvr-1" in text


# --- the probe against an ISAPI NVR -----------------------------------------------------------------------


def test_the_nvr_peer_speaks_the_protocol_without_camwatch():
    """The tests' peer is the other side of the exchange: nothing of camwatch's own client judges it."""
    source = Path(isapi_nvr.__file__)
    tree = ast.parse(source.read_text(encoding="utf-8"), str(source))
    imported = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    imported += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert imported and not [m for m in imported if m.split(".")[0] == "camwatch"]


@pytest.fixture
async def nvr() -> AsyncIterator[tuple[Nvr, int]]:
    box = Nvr(skew=-120.0)  # its clock is 2 minutes behind ours: judged by its own
    clock = box.now
    box.channels = {
        1: Channel([(clock - 40 * DAY, clock - 30.0)]),  # sound
        2: Channel([(clock - 40 * DAY, clock - 3 * H)]),  # stopped 3 h ago
        3: Channel([(clock - 40 * DAY, clock - 5 * H), (clock - 5 * H + 900.0, clock - 10.0)]),  # a gap
        4: Channel([(clock - 6 * DAY + H * k, clock - 6 * DAY + H * (k + 1)) for k in range(6 * 24)]),
        5: Channel([(clock - 40 * DAY, clock - 30.0)], hostile="endless"),
        6: Channel([(clock - 40 * DAY, clock - 30.0)], hostile="liar"),
        7: Channel([(clock - 40 * DAY, clock - 30.0)], hostile="huge"),
        8: Channel([(clock - 40 * DAY, clock - 30.0)], hostile="bomb"),
    }
    runner = await box.serve()
    yield box, box.port
    await runner.cleanup()


def _camera(port: int, channel: int, password: str = "nvr-secret-1", **fields):
    recorder = Recorder(
        id="nvr-1", kind="isapi", host="127.0.0.1", port=port, username="admin", timezone="Asia/Shanghai"
    ).with_password(SecretStr(password))
    return make_camera(id=f"cam-{channel}", recorder=recorder, recorder_channel=str(channel), **fields)


async def _probe(camera, **settings) -> ProbeResult:
    ctx = ProbeContext(settings=RecordingSettings(timeout=20, **settings))
    return await recording.probe(camera, ctx)


async def test_sound_channel_values_and_disks(nvr):
    _, port = nvr
    result = await _probe(_camera(port, 1))
    assert (result.status, result.success, result.faults) == ("ok", True, ())
    values = result.values
    assert values["recording_retention_seconds"] == pytest.approx(40 * DAY, abs=2)
    assert values["recording_last_age_seconds"] == pytest.approx(
        30.0, abs=2
    )  # the recorder's clock, not ours
    assert values["recording_seconds_24h"] == pytest.approx(DAY - 30.0, abs=2)
    assert values["recording_gaps_24h"] == 0.0
    assert result.details["disks"] == [
        {"disk": "hdd1", "status": "ok", "ok": True, "capacity_bytes": 3815447 * 2**20, "free_bytes": 2**30}
    ]


@pytest.mark.parametrize(
    ("channel", "faults"),
    [(2, ("recording_stopped",)), (3, ("recording_gaps",)), (4, ("retention_short",))],
)
async def test_stopped_gap_and_short_retention(nvr, channel, faults):
    _, port = nvr
    result = await _probe(_camera(port, channel))
    assert (result.status, result.faults) == ("ok", faults)


async def test_short_retention_pages_through_six_days_of_hourly_files(nvr):
    box, port = nvr
    result = await _probe(_camera(port, 4))
    assert result.values["recording_retention_seconds"] == pytest.approx(6 * DAY, abs=2)
    assert result.values["recording_seconds_24h"] == pytest.approx(DAY, abs=H)
    assert result.values["recording_gaps_24h"] == 0.0
    assert box.searches >= 2  # 24-25 hourly files at 40 a page, and the oldest apart


async def test_retention_target_follows_the_category(nvr):
    _, port = nvr
    retention = RetentionTargets(by_category={"hotel": 90 * DAY})
    hotel = await _probe(_camera(port, 1, site="hotel"), retention=retention)
    assert hotel.faults == ("retention_short",)


async def test_a_failed_disk_is_a_storage_fault_for_every_channel(nvr):
    box, port = nvr
    box.disks = [Disk("hdd1"), Disk("hdd2", status="error", free_mb=0), Disk("hdd3", prop="RO")]
    for channel, footage_faults in ((1, ()), (2, ("recording_stopped",))):
        result = await _probe(_camera(port, channel))
        assert result.faults == ("storage_fault", *footage_faults)
        assert [d["ok"] for d in result.details["disks"]] == [True, False, False]


@pytest.mark.parametrize(("overwrite", "ok"), [(True, True), (False, False), (None, True)])
async def test_a_full_disk_is_a_fault_only_when_it_does_not_overwrite(nvr, overwrite, ok):
    box, port = nvr
    box.disks, box.overwrite = [Disk("hdd1", free_mb=0)], overwrite
    result = await _probe(_camera(port, 1))
    assert result.faults == (() if ok else ("storage_fault",))
    (disk,) = result.details["disks"]
    assert disk["ok"] is ok and disk["status"] == ("ok" if ok else "full")


async def test_a_disk_with_room_does_not_ask_for_the_overwrite_setting(nvr):
    box, port = nvr
    box.overwrite = False
    result = await _probe(_camera(port, 1))
    assert result.faults == () and result.details["disks"][0]["ok"] is True


@pytest.mark.parametrize(
    ("channel", "why"), [(5, "still MORE after 3 pages"), (6, "numOfMatches"), (7, "larger")]
)
async def test_hostile_answers_are_incomplete_never_a_gap(nvr, channel, why):
    _, port = nvr
    result = await _probe(_camera(port, channel), max_pages=3, max_reply_bytes=256 * 1024)
    assert result.status == "incomplete" and not result.success
    assert result.faults == () and result.values == {}
    assert why in (result.error or "")


async def test_more_items_than_the_bound_is_incomplete(nvr):
    _, port = nvr
    result = await _probe(_camera(port, 4), max_items=10)
    assert result.status == "incomplete" and "more than 10 footage items" in (result.error or "")


async def test_wrong_password_is_auth_failed_and_never_shown(nvr):
    box, port = nvr
    result = await _probe(_camera(port, 1, password="wrong-pw-123"))
    assert result.status == "auth_failed"
    assert "wrong-pw-123" not in (result.error or "")
    assert box.searches == 0


async def test_a_redirect_is_not_followed_with_the_login(nvr):
    box, port = nvr
    box.redirect_to = "http://127.0.0.2:9/ISAPI/System/time"
    result = await _probe(_camera(port, 1))
    assert result.status == "error" and "redirect" in (result.error or "")


async def test_a_recorder_that_is_not_there_is_offline():
    from support.gst_rtsp import unused_port

    result = await _probe(_camera(unused_port(), 1))
    assert result.status == "offline"


async def test_recording_faults_leave_the_camera_working(nvr):
    """Device faults: the camera stays 完好; the recording values join the camera's result while up."""
    _, port = nvr
    camera = _camera(port, 2, rtsp_url="rtsp://127.0.0.1:1/x")
    live = ProbeResult("rtsp", True, "ok", 0.1)
    found = await _probe(camera)
    result = combine(camera, {"rtsp": live, "recording": found}, timestamp=0.0)
    assert result.up and result.working and result.status == "ok"
    assert "recording_stopped" in result.faults
    assert result.to_json()["recording_last_age_seconds"] == pytest.approx(3 * H, abs=2)


async def test_metrics_per_camera_and_one_set_of_disks_per_recorder(nvr):
    """``camwatch_recording_*{camera}``, the fault flags, and the recorder's disks once for all channels."""
    from prometheus_client.parser import text_string_to_metric_families

    from camwatch.config.models import Debounce
    from camwatch.monitor.exporter import Exporter
    from camwatch.monitor.live import Snapshot
    from camwatch.monitor.tracker import Tracker

    box, port = nvr
    box.disks = [Disk("hdd1"), Disk("hdd2", status="error", free_mb=0)]
    cams = {c: _camera(port, n, rtsp_url=f"rtsp://127.0.0.1:1/{n}") for n, c in ((2, "cam-2"), (3, "cam-3"))}
    tracker = Tracker(cams, Debounce(down_after=1, up_after=1))
    for at, (camera_id, camera) in enumerate(cams.items()):
        found = await _probe(camera)
        tracker.observe(
            camera_id, {"rtsp": ProbeResult("rtsp", True, "ok", 0.1), "recording": found}, 1000.0 + at
        )
    body = Exporter(lambda: Snapshot(tracks=tracker.tracks)).exposition().decode()
    got = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(body)
        for s in f.samples
    }
    assert got[("camwatch_recording_last_age_seconds", (("camera", "cam-2"),))] == pytest.approx(3 * H, abs=2)
    assert got[("camwatch_recording_gaps_24h", (("camera", "cam-3"),))] == 1.0
    assert got[("camwatch_video_fault", (("camera", "cam-2"), ("fault", "recording_stopped")))] == 1.0
    assert got[("camwatch_video_fault", (("camera", "cam-3"), ("fault", "storage_fault")))] == 1.0
    disks = {k: v for k, v in got.items() if k[0].startswith("camwatch_recorder_disk")}
    assert disks == {
        ("camwatch_recorder_disk_ok", (("disk", "hdd1"), ("recorder", "nvr-1"))): 1.0,
        ("camwatch_recorder_disk_ok", (("disk", "hdd2"), ("recorder", "nvr-1"))): 0.0,
        (
            "camwatch_recorder_disk_bytes",
            (("disk", "hdd1"), ("kind", "capacity"), ("recorder", "nvr-1")),
        ): 3815447 * 2.0**20,
        ("camwatch_recorder_disk_bytes", (("disk", "hdd1"), ("kind", "free"), ("recorder", "nvr-1"))): 2.0
        ** 30,
        (
            "camwatch_recorder_disk_bytes",
            (("disk", "hdd2"), ("kind", "capacity"), ("recorder", "nvr-1")),
        ): 3815447 * 2.0**20,
        ("camwatch_recorder_disk_bytes", (("disk", "hdd2"), ("kind", "free"), ("recorder", "nvr-1"))): 0.0,
    }


async def test_end_to_end_through_the_sweep_and_the_service(tmp_path, nvr, gst_rtsp):
    """A real stream for liveness, the NVR for its recording: the recording kind runs under its own gate in
    the scheduled rounds and ``/probe?module=recording``, and its findings reach /metrics."""
    import asyncio

    import aiohttp

    from camwatch.config.models import Config, Debounce, MonitorSettings, RtspSettings, VideoSettings
    from camwatch.monitor.service import Service
    from camwatch.monitor.sweep import sweep
    from support.gst_rtsp import unused_port

    box, port = nvr
    box.disks = [Disk("hdd1"), Disk("hdd2", status="unformatted")]
    camera = _camera(port, 2, rtsp_url=gst_rtsp.url("live"))
    monitor = MonitorSettings(
        listen=f"127.0.0.1:{unused_port()}",
        state=tmp_path / "state.db",
        rtsp=RtspSettings(interval=3600, timeout=5.0, jitter=0.0),
        video=VideoSettings(interval=3600, jitter=0.0),
        recording=RecordingSettings(interval=3600, timeout=20, jitter=0.0),
        debounce=Debounce(down_after=1, up_after=1),
    )
    cfg = Config(source=tmp_path / "camwatch.yaml", cameras=(camera,), monitor=monitor)

    (result,) = await sweep(cfg.cameras, cfg.monitor, kinds=("rtsp", "recording"))
    assert result.up and result.working and result.status == "ok"
    assert set(result.faults) == {"storage_fault", "recording_stopped"}

    svc = Service(cfg)
    await svc.start()
    try:
        async with aiohttp.ClientSession() as session:
            params = {"target": camera.id, "module": "recording"}
            async with session.get(svc.url + "/probe", params=params) as r:
                assert r.status == 200
                assert 'camwatch_probe_success{camera="cam-2",probe="recording"} 1.0' in await r.text()
            for _ in range(300):
                async with session.get(svc.url + "/metrics") as r:
                    metrics = await r.text()
                if "camwatch_recorder_disk_ok{" in metrics:
                    break
                await asyncio.sleep(0.1)
    finally:
        await svc.stop()
    assert 'camwatch_recorder_disk_ok{disk="hdd2",recorder="nvr-1"} 0.0' in metrics
    assert 'camwatch_video_fault{camera="cam-2",fault="recording_stopped"} 1.0' in metrics
    assert 'camwatch_recording_last_age_seconds{camera="cam-2"}' in metrics
    assert "nvr-secret-1" not in metrics
    # The scheduled check's footage is kept for the day (录像完整率 of `report uptime`).
    from camwatch.monitor.state import StateReader

    with StateReader(tmp_path / "state.db") as reader:
        days = reader.recorded_days("2000-01-01", "2999-12-31")
    assert [(c, n) for c, _, n, _, _ in days] == [("cam-2", days[0][2])] and days[0][2] >= 1


async def test_a_recorder_that_never_answers_is_bounded_by_the_timeout(hanging_port):
    started = time.monotonic()
    ctx = ProbeContext(settings=RecordingSettings(timeout=1.0))
    result = await recording.probe(_camera(hanging_port, 1), ctx)
    assert result.status == "timeout" and "within 1 s" in (result.error or "")
    assert time.monotonic() - started < 10.0  # the deadline holds (not a speed target)


def test_isapi_times_with_z_are_the_recorders_local_time_offsets_are_kept():
    from zoneinfo import ZoneInfo

    from camwatch.monitor.probes import isapi

    shanghai = ZoneInfo("Asia/Shanghai")
    utc_noon = 1_796_644_800.0  # 2026-12-07T12:00:00 UTC
    assert isapi.parse_time("2026-12-07T20:00:00Z", shanghai) == utc_noon  # local time, marked Z
    assert isapi.parse_time("2026-12-07T20:00:00", shanghai) == utc_noon
    assert isapi.parse_time("2026-12-07T12:00:00+00:00", shanghai) == utc_noon
    assert isapi.parse_time("2026-12-07T20:00:00+08:00", ZoneInfo("UTC")) == utc_noon
    assert isapi.format_time(utc_noon, shanghai) == "2026-12-07T20:00:00Z"
    with pytest.raises(ValueError, match="not an ISAPI time"):
        isapi.parse_time("yesterday", shanghai)


async def test_a_channel_without_footage_is_stopped_with_nothing_kept(nvr):
    _, port = nvr
    result = await _probe(_camera(port, 9))  # the NVR answers NO MATCHES
    assert (result.status, result.faults) == ("ok", ("recording_stopped", "retention_short"))
    assert result.values["recording_seconds_24h"] == 0.0


async def test_an_entity_bomb_is_refused_unexpanded(nvr):
    _, port = nvr
    result = await _probe(_camera(port, 8))
    assert result.status == "error" and "EntitiesForbidden" in (result.error or "")
    assert result.faults == () and result.values == {}


async def test_a_days_footage_and_its_gaps_as_camwatch_recordings_prints_them(nvr):
    """`camwatch recordings`: the day's footage ranges joined, and the holes longer than `gap` (the recorder's
    clock and time zone)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from camwatch.monitor.recordings import day_footage

    box, port = nvr
    middle = box.now - 5 * H + 450.0  # channel 3's 15-minute gap
    day = datetime.fromtimestamp(middle, ZoneInfo("Asia/Shanghai")).date()
    found = await day_footage(_camera(port, 3), RecordingSettings(timeout=20), day)
    assert found.day == day and found.zone == "Asia/Shanghai"
    (gap,) = [g for g in found.gaps if g[0] <= middle < g[1]]
    assert 0 < gap[1] - gap[0] <= 900.0
    assert found.recorded + sum(b - a for a, b in found.gaps) == pytest.approx(
        found.end - found.start, abs=61
    )
    sound = await day_footage(_camera(port, 1), RecordingSettings(timeout=20), day)
    assert sound.gaps == [] or all(b - a <= 24 * H for a, b in sound.gaps)


def test_recordings_of_a_camera_without_a_recorder_says_so(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from camwatch.cli import app

    config = tmp_path / "camwatch.yaml"
    config.write_text("cameras:\n  - {id: c1, host: 10.0.0.1}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["recordings", str(config), "c1"])
    assert result.exit_code == 1 and "names no recorder" in result.output
    result = CliRunner().invoke(app, ["recordings", str(config), "nope"])
    assert result.exit_code == 1 and "unknown camera id" in result.output


def test_old_footage_but_none_in_the_last_24_hours_is_stopped_not_a_crash():
    verdict = judge([], oldest=NOW - 40 * DAY)
    assert verdict.faults == (footage.STOPPED,)
    assert verdict.values["recording_last_age_seconds"] == DAY  # at least: nothing since the window began
    assert verdict.values["recording_retention_seconds"] == 40 * DAY
    assert verdict.values["recording_seconds_24h"] == 0 and verdict.values["recording_gaps_24h"] == 0


async def test_checks_touching_maintenance_are_not_kept_for_the_recording_rate(tmp_path):
    """录像完整率 leaves maintenance out: a check whose 24 hours touch a maintenance window of its camera is
    not kept (neither recorded nor due); other cameras' checks and checks a day after the window are."""
    from camwatch.config.models import Config, MonitorSettings
    from camwatch.monitor.service import Service
    from camwatch.monitor.state import StateReader
    from support.gst_rtsp import unused_port

    cams = (make_camera(id="kept"), make_camera(id="maintained"))
    monitor = MonitorSettings(listen=f"127.0.0.1:{unused_port()}", state=tmp_path / "state.db")
    svc = Service(Config(source=tmp_path / "camwatch.yaml", cameras=cams, monitor=monitor))
    await svc.start()
    try:
        now = time.time()
        svc.store.start_maintenance(["maintained"], until=now - 2 * H, reason="lens", now=now - 5 * H)
        await svc.refresh_maintenance()
        check = ProbeResult("recording", True, "ok", 0.1, values={"recording_seconds_24h": 80000.0})
        live = ProbeResult("rtsp", True, "ok", 0.1)
        for camera in cams:
            svc._on_probed(camera, {"rtsp": live, "recording": check}, now)
        svc._on_probed(cams[1], {"rtsp": live, "recording": check}, now + DAY)  # the window 22 h behind it
        await asyncio.to_thread(svc.store.flush)
    finally:
        await svc.stop()
    with StateReader(tmp_path / "state.db") as reader:
        days = reader.recorded_days("2000-01-01", "2999-12-31")
    assert sorted((c, n) for c, _, n, _, _ in days) == [("kept", 1), ("maintained", 1)]
    assert svc.maintenance_end == {"maintained": pytest.approx(now - 2 * H)}
