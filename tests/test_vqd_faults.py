"""The VQD fault classes of issue 26 over real scenes served live by the real GStreamer RTSP server: each
fault found on the first or the confirming check, the healthy look-alikes clean (a fixed subset; the
benchmark runs the whole corpus)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import pytest

from camwatch.config.models import Camera, VideoSettings
from camwatch.monitor.daylight import LocalClock
from camwatch.monitor.probes.base import ProbeContext
from camwatch.monitor.probes.video import probe
from support import vqd_faults

pytestmark = pytest.mark.slow


async def confirmed_checks(url, streams, settings: VideoSettings) -> dict[str, tuple[str, ...]]:
    """Each stream checked as often as its label's confirmation asks (twice for a look-alike, as for the
    subtle faults it resembles): the faults of the last check."""
    gate = asyncio.Semaphore(4)

    async def one(stream) -> tuple[str, tuple[str, ...]]:
        ctx = ProbeContext(settings=settings, local_clock=vqd_faults.local_clock(stream))
        camera = Camera(id=stream.name, rtsp_url=url(stream.name))
        checks = 2 if stream.label == "ok" else settings.confirmations(stream.label)
        async with gate:
            for _ in range(checks):
                result = await probe(camera, ctx)
        return stream.name, tuple(result.faults)

    return dict(await asyncio.gather(*(one(s) for s in streams)))


async def test_new_faults_and_their_look_alikes(tmp_path: Path, gst_rtsp_server_factory) -> None:
    streams = vqd_faults.build(tmp_path / "vqd")
    assert {s.label for s in streams} == {"ok", *vqd_faults.NEW_FAULTS}
    chosen = vqd_faults.ci_subset(streams)
    server = gst_rtsp_server_factory({s.name: s.fragment for s in chosen})
    found = await confirmed_checks(server.url, chosen, VideoSettings())
    wrong = [
        (s.name, found[s.name])
        for s in chosen
        if (found[s.name] != () if s.label == "ok" else s.label not in found[s.name])
    ]
    assert not wrong


async def test_a_subtle_fault_waits_for_its_confirming_check(tmp_path: Path, gst_rtsp_server_factory) -> None:
    streams = {s.name: s for s in vqd_faults.build(tmp_path / "vqd")}
    stream = streams["too_bright_blown_chelsea"]
    server = gst_rtsp_server_factory({stream.name: stream.fragment})
    ctx = ProbeContext(settings=VideoSettings())
    camera = Camera(id="c", rtsp_url=server.url(stream.name))
    first = await probe(camera, ctx)
    assert first.status == "ok" and first.faults == ()
    second = await probe(camera, ctx)
    assert second.status == "too_bright"


async def test_mono_by_day_is_a_device_fault_judged_on_the_injected_local_time(
    tmp_path: Path, gst_rtsp_server_factory
) -> None:
    streams = {s.name: s for s in vqd_faults.build(tmp_path / "vqd")}
    stream = streams["mono_by_day_noon_0_chelsea"]
    server = gst_rtsp_server_factory({stream.name: stream.fragment})
    camera = Camera(id="c", rtsp_url=server.url(stream.name), timezone=vqd_faults.ZONE)
    settings = VideoSettings(confirm={"mono_by_day": 1})

    def clock(at: datetime) -> LocalClock:
        return LocalClock("UTC", lambda: at.timestamp())

    noon = await probe(camera, ProbeContext(settings=settings, local_clock=clock(vqd_faults.NOON)))
    # Flagged, but the picture is usable: the check succeeds, the status word stays ok (完好).
    assert noon.faults == ("mono_by_day",) and noon.success and noon.status == "ok"
    assert noon.details["period"] == "day"
    night = await probe(camera, ProbeContext(settings=settings, local_clock=clock(vqd_faults.MIDNIGHT)))
    assert night.faults == () and night.details["period"] == "night"
    # No clock given: day and night are not judged.
    unjudged = await probe(camera, ProbeContext(settings=settings))
    assert unjudged.faults == () and "period" not in unjudged.details
