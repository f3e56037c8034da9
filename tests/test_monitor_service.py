"""The service end to end: real RTSP server, a closed and a hanging port, /metrics, /probe, restart."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from camwatch.config.models import Config, Debounce, MonitorSettings, RtspSettings, VideoSettings, WebSettings
from camwatch.monitor.service import Service
from support.cameras import make_camera
from support.gst_rtsp import unused_port


def config(tmp_path: Path, cameras, **monitor) -> Config:
    settings = MonitorSettings(
        listen=f"127.0.0.1:{unused_port()}",
        state=tmp_path / "state.db",
        rtsp=RtspSettings(interval=1.0, timeout=1.0, jitter=0.0),
        video=VideoSettings(interval=3600, timeout=10),
        debounce=Debounce(down_after=1, up_after=1),
        **monitor,
    )
    return Config(source=tmp_path / "camwatch.yaml", cameras=tuple(cameras), monitor=settings)


async def scrape(url: str) -> dict[tuple[str, tuple], float]:
    async with aiohttp.ClientSession() as s, s.get(url + "/metrics") as resp:
        text = await resp.text()
    return {
        (smp.name, tuple(sorted(smp.labels.items()))): smp.value
        for fam in text_string_to_metric_families(text)
        for smp in fam.samples
    }


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))


async def wait_for(predicate, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := await predicate():
            return result
        await asyncio.sleep(0.2)
    raise AssertionError("condition not reached in time")


@pytest.fixture
def cameras(gst_rtsp, closed_port, hanging_port):
    return [
        make_camera(id="live", rtsp_url=gst_rtsp.url("live"), county="A县", township="X镇"),
        make_camera(id="closed", rtsp_url=f"rtsp://127.0.0.1:{closed_port}/x", county="A县"),
        make_camera(id="hang", rtsp_url=f"rtsp://127.0.0.1:{hanging_port}/x", county="A县"),
    ]


async def test_service_monitors_and_exports(tmp_path, cameras):
    svc = Service(config(tmp_path, cameras))
    await svc.start()
    try:

        async def all_known():
            m = await scrape(svc.url)
            return (
                m
                if all(
                    value(m, "camwatch_camera_up", camera=c) is not None for c in ("live", "closed", "hang")
                )
                else None
            )

        m = await wait_for(all_known)
        assert value(m, "camwatch_camera_up", camera="live") == 1
        assert value(m, "camwatch_camera_status", camera="closed", status="offline") == 1
        assert value(m, "camwatch_camera_status", camera="hang", status="timeout") == 1

        # The hanging camera never delays the live one: it keeps getting probed every second.
        first = value(m, "camwatch_probe_last_timestamp_seconds", camera="live", probe="rtsp")
        await asyncio.sleep(2.5)
        m = await scrape(svc.url)
        assert value(m, "camwatch_probe_last_timestamp_seconds", camera="live", probe="rtsp") >= first + 1.5
        assert value(m, "camwatch_probes_total", probe="rtsp", result="ok") >= 2

        async with aiohttp.ClientSession() as s:
            async with s.get(svc.url + "/healthz") as r:
                health = await r.json()
            assert health["cameras"] == 3 and health["up"] == 1
            async with s.get(svc.url + "/probe", params={"target": "nope"}) as r:
                assert r.status == 400
            async with s.get(svc.url + "/probe", params={"target": "live", "module": "ftp"}) as r:
                assert r.status == 400
            async with s.get(svc.url + "/probe", params={"target": "live", "module": "rtsp"}) as r:
                assert r.status == 200
                text = await r.text()
            assert 'camwatch_probe_success{camera="live",probe="rtsp"} 1.0' in text
            async with s.get(svc.url + "/probe", params={"target": "live", "module": "rtsp"}) as r:
                assert r.status == 429  # rate-limited per camera
    finally:
        await svc.stop()


async def test_restart_keeps_history(tmp_path, cameras):
    cfg = config(tmp_path, cameras)
    svc = Service(cfg)
    await svc.start()
    await wait_for(lambda: _all_probed(svc))
    await svc.stop()
    with sqlite3.connect(cfg.monitor.state) as conn:
        before = conn.execute("SELECT camera, status FROM transitions ORDER BY id").fetchall()
    assert sorted(before) == [("closed", "offline"), ("hang", "timeout"), ("live", "ok")]

    again = Service(cfg)
    # Restored before any probe runs.
    assert again.tracker.tracks["live"].up is True and again.tracker.tracks["hang"].status == "timeout"
    await again.start()
    await asyncio.sleep(2.5)
    await again.stop()
    with sqlite3.connect(cfg.monitor.state) as conn:
        after = conn.execute("SELECT camera, status FROM transitions ORDER BY id").fetchall()
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        runs = conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    assert after == before  # unchanged states are not recorded again
    assert runs == 2


async def _all_probed(svc: Service) -> bool:
    return all(t.up is not None for t in svc.tracker.tracks.values())


async def test_bad_reload_keeps_running_config(tmp_path, cameras):
    from camwatch.config.errors import ConfigError, Problem

    def broken(_path):
        raise ConfigError([Problem("cameras.csv", "row 3", "lat", "latitude 134.2 out of range")])

    cfg = config(tmp_path, cameras, web=WebSettings())
    svc = Service(cfg, loader=broken)
    await svc.start()
    try:
        assert svc.reload() is False
        assert svc.config is cfg and len(svc.tracker.tracks) == 3
        m = await scrape(svc.url)
        assert value(m, "camwatch_config_last_reload_successful") == 0
        assert svc.reload(config(tmp_path, cameras[:1])) is True
        assert list(svc.tracker.tracks) == ["live"]
    finally:
        await svc.stop()


async def test_jobs_and_rounds_run_on_the_event_loop_thread(tmp_path, cameras):
    """APScheduler runs plain functions in a thread pool; monitor state is not thread-safe: upkeep jobs and
    probe rounds run on the loop."""
    import threading

    svc = Service(config(tmp_path, cameras))
    await svc.start()
    seen: list[int] = []
    try:
        svc.jobs.add_job(lambda: seen.append(threading.get_ident()), 0.1, "upkeep-thread")
        await wait_for(lambda: _true_when(bool(seen)))
    finally:
        await svc.stop()
    assert set(seen) == {threading.get_ident()}


async def test_busy_decoders_never_hold_up_liveness(tmp_path, gst_rtsp):
    """With one decoder for four cameras, video checks take turns while every camera's liveness goes on."""
    from camwatch.monitor.scheduler import Scheduler

    cams = [make_camera(id=f"v{i}", rtsp_url=gst_rtsp.url("live")) for i in range(4)]
    settings = MonitorSettings(
        rtsp=RtspSettings(interval=0.5, timeout=2.0, jitter=0.0),
        video=VideoSettings(interval=1.0, timeout=8.0, duration=2.0),
        video_concurrency=1,
    )
    seen: dict[str, list[str]] = {c.id: [] for c in cams}
    sched = Scheduler(settings, cams, lambda cam, results, now: seen[cam.id].extend(results))
    sched.start()
    await asyncio.sleep(6.0)
    await sched.stop()
    # A camera is probed by one round at a time, so one decoding waits; while it does, the others go on:
    # with one decoder, at any moment at least three of the four cameras are free to be probed.
    counts = sorted(kinds.count("rtsp") for kinds in seen.values())
    assert counts[2] >= 5 and counts[0] >= 1, seen
    videos = sum(kinds.count("video") for kinds in seen.values())
    assert 1 <= videos <= 4  # one 2 s decode at a time in 6 s


async def _true_when(value: bool) -> bool:
    return value


async def test_deleted_state_database_is_reported_and_written_back(tmp_path, closed_port):
    cam = make_camera(id="closed", rtsp_url=f"rtsp://127.0.0.1:{closed_port}/x")
    svc = Service(config(tmp_path, [cam]))
    await svc.start()
    try:
        await wait_for(lambda: _all_probed(svc))
        await svc.flush()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{svc.store.path}{suffix}").unlink(missing_ok=True)
        await svc.check_state()  # the scheduled check (every 30 s), run now
        assert value(await scrape(svc.url), "camwatch_state_healthy") == 0
        assert svc.store.path.exists()
    finally:
        await svc.stop()
    with sqlite3.connect(svc.store.path) as conn:
        assert conn.execute("SELECT camera, status FROM transitions").fetchall() == [("closed", "offline")]


async def test_housekeeping_jobs_outlive_their_failures_and_stop_with_the_service():
    from camwatch.monitor.housekeeping import Housekeeping

    jobs, runs = Housekeeping(), []

    def flaky() -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            raise RuntimeError("first run fails")

    jobs.add_job(flaky, 0.01, "flaky")
    background = jobs.spawn(asyncio.sleep(3600), "long")
    await wait_for(lambda: _true_when(len(runs) >= 3))  # the failure did not end the job
    await jobs.stop()
    stopped_at = len(runs)
    await asyncio.sleep(0.05)
    assert len(runs) == stopped_at and background.cancelled()


async def test_report_targets_are_exported_for_the_area_alerts(tmp_path, cameras):
    """AreaOnlineRateLow compares an area's rate with camwatch_online_target: the configured target."""
    from camwatch.config.models import ReportSettings

    cfg = config(tmp_path, cameras[:1]).model_copy(
        update={"reports": ReportSettings(online_target=0.97, working_target=0.85)}
    )
    svc = Service(cfg)
    await svc.start()
    try:
        m = await scrape(svc.url)
        assert value(m, "camwatch_online_target") == 0.97
        assert value(m, "camwatch_working_target") == 0.85
    finally:
        await svc.stop()


def test_a_failure_on_camwatchs_side_is_counted_as_internal_error_not_a_camera_fault(tmp_path):
    """A probe that failed on camwatch's side (no free UDP port, a missing decoder, a bug) counts as
    ``camwatch_probes_total{result="internal_error"}`` and leaves the camera's picture alone."""
    from camwatch.monitor.probes.base import ProbeResult

    camera = make_camera(id="c", rtsp_url="rtsp://127.0.0.1:9/live")
    svc = Service(config(tmp_path, [camera]))
    live = ProbeResult("rtsp", True, "ok", 0.01)
    ours = ProbeResult("video", False, "error", 0.01, error="internal error: no free UDP port", internal=True)
    svc._on_probed(camera, {"rtsp": live, "video": ours}, time.time())
    assert svc.probes_total[("video", "internal_error")] == 1
    assert ("video", "error") not in svc.probes_total
    track = svc.tracker.tracks["c"]
    assert (track.up, track.working, track.status) == (True, True, "ok")
    svc.store.close()


async def test_a_camera_online_without_picture_is_exported_as_no_video(tmp_path):
    """The simulator's "online, no picture" camera through the whole service: up, status no_video, the
    no_video flag, not in working order (完好)."""
    from camwatch.sim.fleet import Fleet
    from camwatch.sim.profiles import FleetSpec

    spec = {
        "count": 1,
        "seed": 5,
        "rtsp_port": 18577,
        "onvif": False,
        "profiles": [{"name": "no-picture", "behaviour": "no_video"}],
    }
    async with Fleet(FleetSpec.model_validate(spec), password="pw-sim", base_address="127.31.11.1") as fleet:
        (cam,) = fleet.cameras
        camera = make_camera(
            id="dark", rtsp_url=fleet.rtsp_url(cam.id), username="admin", password="pw-sim", county="A县"
        )
        cfg = config(tmp_path, [camera])
        video = VideoSettings(interval=3600, timeout=6, rtp_wait=1)
        svc = Service(cfg.model_copy(update={"monitor": cfg.monitor.model_copy(update={"video": video})}))
        await svc.start()
        try:

            async def judged():
                m = await scrape(svc.url)
                return m if value(m, "camwatch_camera_status", camera="dark", status="no_video") else None

            m = await wait_for(judged, timeout=20.0)
        finally:
            await svc.stop()
    assert value(m, "camwatch_camera_up", camera="dark") == 1
    assert value(m, "camwatch_camera_working", camera="dark") == 0
    assert value(m, "camwatch_video_fault", camera="dark", fault="no_video") == 1
    assert value(m, "camwatch_probes_total", probe="video", result="no_video") == 1


async def test_metrics_follow_results_reloads_and_maintenance(tmp_path, cameras):
    """The service reports each result it applies to the exporter, whose scrapes then walk no camera: what
    /metrics serves still follows the probes, a reload (one camera renamed, one removed) and maintenance."""
    svc = Service(config(tmp_path, cameras))
    await svc.start()
    try:
        await wait_for(lambda: _all_probed(svc))
        first = await scrape(svc.url)
        assert value(first, "camwatch_camera_up", camera="live") == 1
        assert value(first, "camwatch_camera_up", camera="closed") == 0
        seen = value(first, "camwatch_probe_last_timestamp_seconds", camera="live", probe="rtsp")
        newer = lambda m: value(m, "camwatch_probe_last_timestamp_seconds", camera="live", probe="rtsp") or 0  # noqa: E731
        later = await wait_for(lambda: _later(svc.url, newer, seen or 0))  # RTSP every second
        assert newer(later) > (seen or 0)  # a result applied since shows without any walk

        renamed = cameras[0].model_copy(update={"name": "西门"})
        assert svc.reload(config(tmp_path, [renamed, cameras[1]])) is True
        after = await scrape(svc.url)
        names = {
            dict(labels)["camera"]: dict(labels).get("name")
            for n, labels in after
            if n == "camwatch_camera_info"
        }
        assert names == {"live": "西门", "closed": cameras[1].name or ""}
        assert value(after, "camwatch_camera_up", camera="hang") is None

        svc.maintenance = frozenset({"closed"})  # as refresh_maintenance sets it
        maintained = await scrape(svc.url)
        assert value(maintained, "camwatch_camera_maintenance", camera="closed") == 1
        assert value(maintained, "camwatch_camera_maintenance", camera="live") == 0
    finally:
        await svc.stop()


async def _later(url: str, newer, than: float):  # type: ignore[no-untyped-def]
    m = await scrape(url)
    return m if newer(m) > than else None
