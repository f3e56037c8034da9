"""A bug in camwatch is not a camera fault: the ONVIF, video and still-picture probes catch their protocol's
exceptions only; anything else reaches ``run_probe``, which logs its traceback and marks the probe ``error``
(``internal``), counted as ``camwatch_probes_total{result="internal_error"}``;
the camera is not marked down."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from camwatch.config.models import Config, Debounce, MonitorSettings, RtspSettings, VideoSettings
from camwatch.monitor.probes import onvif, snapshot, video
from camwatch.monitor.probes.base import ERROR, OK, ProbeResult
from camwatch.monitor.service import Service
from camwatch.monitor.sweep import probe_camera
from support.cameras import make_camera
from support.gst_rtsp import unused_port


def _service(tmp_path: Path, camera) -> Service:  # type: ignore[no-untyped-def]
    settings = MonitorSettings(
        listen=f"127.0.0.1:{unused_port()}",
        state=tmp_path / "state.db",
        rtsp=RtspSettings(timeout=2.0),
        video=VideoSettings(timeout=10.0, duration=1.0),
        debounce=Debounce(down_after=1, up_after=1),
    )
    return Service(Config(source=tmp_path / "camwatch.yaml", cameras=(camera,), monitor=settings))


def _bug(*_args: object, **_kwargs: object) -> None:
    raise AttributeError("'NoneType' object has no attribute 'frames'")  # what a slip in camwatch raises


async def _bug_async(*_args: object, **_kwargs: object) -> None:
    _bug()


async def _check(tmp_path: Path, camera, kind: str, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    svc = _service(tmp_path, camera)
    try:
        # The camera was seen up before the bug.
        live = svc.plan(camera.id).live  # type: ignore[union-attr]
        assert live is not None
        svc._on_probed(camera, {live: ProbeResult(live, True, OK, 0.01)}, time.time())
        assert svc.tracker.tracks[camera.id].up is True
        with caplog.at_level(logging.ERROR, logger="camwatch.monitor.sweep"):
            results = await probe_camera(
                camera, svc.settings, kinds=[kind], previous={live: ProbeResult(live, True, OK, 0.01)}
            )
        result = results[kind]
        assert (result.status, result.internal, result.faults) == (ERROR, True, ())
        assert "internal error: AttributeError" in (result.error or "")
        logged = [r for r in caplog.records if r.exc_info and r.exc_info[0] is AttributeError]
        assert logged and f"probe {kind} for camera {camera.id} failed unexpectedly" in logged[0].getMessage()
        svc._on_probed(camera, results, time.time())
        assert svc.probes_total[(kind, "internal_error")] == 1 and (kind, ERROR) not in svc.probes_total
        track = svc.tracker.tracks[camera.id]
        assert (track.up, track.status) == (True, "ok")
    finally:
        svc.store.close()


async def test_a_bug_in_the_onvif_probe_is_internal(
    tmp_path: Path, closed_port: int, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(onvif, "_inspect", _bug_async)
    camera = make_camera(id="o", onvif_host="127.0.0.1", onvif_port=closed_port)
    await _check(tmp_path, camera, "onvif", caplog)  # ONVIF decides this camera's liveness


async def test_a_bug_in_the_snapshot_probe_is_internal(
    tmp_path: Path, closed_port: int, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(snapshot, "_two_pictures", _bug_async)
    camera = make_camera(id="s", snapshot_url=f"http://127.0.0.1:{closed_port}/picture")
    await _check(tmp_path, camera, "snapshot", caplog)  # the still picture decides this one's


async def test_a_bug_in_the_video_probe_is_internal(
    tmp_path: Path, gst_rtsp, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(video, "capture", _bug)  # in the capture thread, against the real stream
    camera = make_camera(id="v", rtsp_url=gst_rtsp.url("live"))
    await _check(tmp_path, camera, "video", caplog)


async def test_a_protocol_failure_is_still_the_cameras(tmp_path: Path, closed_port: int) -> None:
    """Narrowing the catch keeps a camera that refuses the connection a camera result, not an internal one."""
    camera = make_camera(id="s", snapshot_url=f"http://127.0.0.1:{closed_port}/picture")
    results = await probe_camera(camera, MonitorSettings(), kinds=["snapshot"])
    assert (results["snapshot"].status, results["snapshot"].internal) == ("offline", False)


def test_the_exporter_renders_a_copy_of_the_trackers_state(tmp_path: Path) -> None:
    cameras = (
        make_camera(id="a", rtsp_url="rtsp://127.0.0.1:9/a"),
        make_camera(id="b", rtsp_url="rtsp://127.0.0.1:9/b"),
    )
    svc = _service(tmp_path, cameras[0])
    try:
        svc._on_probed(cameras[0], {"rtsp": ProbeResult("rtsp", True, OK, 0.01)}, time.time())
        snap = svc.snapshot()
        assert snap.tracks is not svc.tracker.tracks and snap.probes_total is not svc.probes_total
        svc.tracker.replace_inventory({c.id: c for c in cameras})  # a reload while a scrape renders
        svc._on_probed(cameras[0], {"rtsp": ProbeResult("rtsp", True, OK, 0.01)}, time.time())
        assert list(snap.tracks) == ["a"] and snap.probes_total == {("rtsp", "ok"): 1}
    finally:
        svc.store.close()
