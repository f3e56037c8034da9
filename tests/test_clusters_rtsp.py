"""Offline clusters against real GStreamer RTSP servers: cameras broken from the start form no cluster; the
server behind one switch stopping mid-run makes exactly one cluster naming that switch and its cameras."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest

from camwatch.config.models import Config, Debounce, MonitorSettings, RtspSettings, VideoSettings
from camwatch.monitor.service import Service
from support.cameras import make_camera
from support.gst_rtsp import unused_port
from support.pipeline import scrape

# Every camera shares one fibre and power feed and stands within a few hundred metres of the others, so a
# wrong grouping by fibre, power or place would show.
SHARED = {"fibre": "fibre-1", "power": "feeder-1", "county": "Xiayi", "township": "Chengguan"}


def at(i: int) -> dict[str, float]:
    return {"lat": 34.0, "lon": 115.0 + i * 0.0005}  # ~46 m apart


async def until(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.2)


async def test_broken_cameras_form_no_cluster_and_a_dead_switch_forms_exactly_one(
    tmp_path: Path, gst_rtsp, gst_rtsp_server_factory, closed_port, caplog: pytest.LogCaptureFixture
) -> None:
    behind_b = gst_rtsp_server_factory(
        {"cam": "videotestsrc is-live=true pattern=zone-plate kx2=20 ky2=20 kt=1"}
    )
    mounts = ["live", "clock", "frozen", "black", "blurred", "live", "clock", "live"]
    switch_a = [
        make_camera(
            id=f"a{i}", name=f"A view {i}", rtsp_url=gst_rtsp.url(m), switch="sw-a", **SHARED, **at(i)
        )
        for i, m in enumerate(mounts)
    ]
    closed = f"rtsp://127.0.0.1:{closed_port}"
    broken = [
        make_camera(id="a-closed-1", rtsp_url=f"{closed}/x", switch="sw-a", **SHARED, **at(1)),
        make_camera(id="a-closed-2", rtsp_url=f"{closed}/y", switch="sw-a", **SHARED, **at(2)),
        make_camera(
            id="a-wrong-pw",
            rtsp_url=gst_rtsp.url("secure"),
            username="admin",
            password="not-it",
            switch="sw-a",
            **SHARED,
            **at(3),
        ),
    ]
    switch_b = [
        make_camera(
            id=f"b{i}", name=f"B view {i}", rtsp_url=behind_b.url("cam"), switch="sw-b", **SHARED, **at(i + 4)
        )
        for i in range(4)
    ]
    cameras = [*switch_a, *broken, *switch_b]
    settings = MonitorSettings(
        listen=f"127.0.0.1:{unused_port()}",
        state=tmp_path / "state.db",
        # A generous timeout: on a loaded CI machine a healthy camera must not read as down.
        rtsp=RtspSettings(interval=1.0, timeout=5.0, jitter=0.0),
        video=VideoSettings(interval=3600, timeout=10),
        debounce=Debounce(down_after=2, up_after=1),
    )
    svc = Service(Config(source=tmp_path / "camwatch.yaml", cameras=tuple(cameras), monitor=settings))
    caplog.set_level(logging.INFO, logger="camwatch.monitor.service")
    await svc.start()
    try:
        tracks = svc.tracker.tracks
        # First sight is not debounced: wait for the first rounds to settle (a healthy camera that timed out
        # once under load is back at its next round).
        await until(lambda: {c for c, t in tracks.items() if t.up is not True} == {c.id for c in broken}, 60)
        assert tracks["a-wrong-pw"].status == "auth_failed" and tracks["a-closed-1"].status == "offline"
        for _ in range(3):  # a few rounds in: still nothing shared
            await asyncio.sleep(1.0)
            svc.update_clusters()
            assert svc.clusters == []

        behind_b.stop()

        def b_clustered() -> bool:
            svc.update_clusters()
            return any(set(c.cameras) == {c.id for c in switch_b} for c in svc.clusters)

        await until(b_clustered)
        (cluster,) = svc.clusters
        assert cluster.cluster == "switch:sw-b" and cluster.kind == "switch" and cluster.key == "sw-b"
        assert cluster.share == 1.0 and cluster.onset == "observed"
        assert cluster.county == "Xiayi" and cluster.township == "Chengguan"

        m = await scrape(svc.url)
        members = {dict(k[1])["camera"] for k in m if k[0] == "camwatch_camera_cluster"}
        assert members == {"b0", "b1", "b2", "b3"}
        assert m[("camwatch_offline_cluster_cameras", (("cluster", "switch:sw-b"),))] == 4
        assert m[("camwatch_offline_cluster_share", (("cluster", "switch:sw-b"),))] == 1.0
    finally:
        await svc.stop()

    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    # One line per change, each naming camera, name, old -> new status and why.
    for cam in switch_b:
        (line,) = [x for x in lines if x.startswith(f"camera {cam.id} ")]
        assert line.startswith(f"camera {cam.id} ({cam.name}): ok -> offline: ")
    assert any(x.startswith("camera a-wrong-pw (-): new -> auth_failed: ") for x in lines)
    assert not any(x.startswith("camera a0 ") for x in lines)  # first seen healthy: nothing to say
    (started,) = [x for x in lines if x.startswith("offline cluster ")]
    assert started.startswith(
        "offline cluster switch:sw-b started: 4 cameras of switch sw-b in Xiayi Chengguan"
    )
    assert started.endswith("100% of its monitored cameras unreachable: b0, b1, b2, b3")
