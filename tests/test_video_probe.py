"""The video probe against the real GStreamer RTSP server, and its decoding of long-GOP H.264."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest
from conftest import GST_RTSP_PASSWORD, GST_RTSP_USER

from camwatch.config.models import VideoSettings
from camwatch.monitor.picture import references
from camwatch.monitor.picture.analysis import assess
from camwatch.monitor.probes.base import MemoryBaselines, ProbeContext, ProbeResult
from camwatch.monitor.probes.video import BASELINE_KEY, MAX_DECODE_ERROR_RATIO, SCENE_KEY, capture, probe
from support.cameras import make_camera
from support.gst_rtsp import GstRtsp

# The test server's frame rate (tests/support/gst_rtsp_server.py).
SERVER_FPS = 15


def context(**settings: float) -> ProbeContext:
    return ProbeContext(settings=VideoSettings(**settings))


async def check(url: str, ctx: ProbeContext, camera_id: str = "cam-1", **login: str) -> ProbeResult:
    return await probe(make_camera(id=camera_id, rtsp_url=url, **login), ctx)


async def test_mounts_are_classified(gst_rtsp: GstRtsp) -> None:
    expected = {"live": "ok", "clock": "ok", "frozen": "frozen", "black": "black"}
    snapshots: list[tuple[str, bytes, str | None]] = []
    ctx = context()
    ctx.snapshot_sink = lambda camera, jpeg, fault: snapshots.append((camera, jpeg, fault))
    results = dict(
        zip(
            expected,
            await asyncio.gather(*(check(gst_rtsp.url(m), ctx, camera_id=m) for m in expected)),
            strict=True,
        )
    )
    assert {m: r.status for m, r in results.items()} == expected
    for mount, result in results.items():
        assert result.probe == "video"
        assert result.success is (expected[mount] == "ok")
        assert result.faults == (() if expected[mount] == "ok" else (expected[mount],))
        assert result.values["fps"] == pytest.approx(SERVER_FPS, abs=0.5)
    assert results["black"].values["luma"] < 16 < results["live"].values["luma"]
    assert results["clock"].values["sharpness"] > VideoSettings().blur_floor
    assert sorted((camera, fault) for camera, _, fault in snapshots) == [
        ("black", "black"),
        ("clock", None),
        ("frozen", "frozen"),
        ("live", None),
    ]
    for _, jpeg, _ in snapshots:
        image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert image is not None and image.shape[1] <= 320


async def test_secured_mount_needs_the_login(gst_rtsp: GstRtsp) -> None:
    url = gst_rtsp.url("secure")
    ctx = context()
    good = await check(url, ctx, username=GST_RTSP_USER, password=GST_RTSP_PASSWORD)
    wrong = await check(url, ctx, username=GST_RTSP_USER, password="not-" + GST_RTSP_PASSWORD)
    assert good.status == "ok"
    assert wrong.status == "auth_failed"
    assert wrong.error and GST_RTSP_PASSWORD not in wrong.error and "not-" not in wrong.error


async def test_blurred_by_baseline_and_by_floor(gst_rtsp: GstRtsp) -> None:
    blurred_url = gst_rtsp.url("blurred")  # a defocused scene that still shows a ticking clock
    sharp_url = gst_rtsp.url("clock")
    # The floor catches a camera checked for the first time; the camera's own baseline catches the rest.
    ctx = context(blur_floor=100.0)
    lenient = context(blur_floor=1.0)
    first, sharp, unjudged = await asyncio.gather(
        check(blurred_url, ctx, camera_id="new-cam"),
        check(sharp_url, ctx, camera_id="cam-b"),
        check(blurred_url, lenient, camera_id="cam-c"),
    )
    assert (first.status, sharp.status, unjudged.status) == ("blurred", "ok", "ok")
    assert ctx.baselines.get("cam-b", BASELINE_KEY) == pytest.approx(sharp.values["sharpness"])
    assert ctx.baselines.get("new-cam", BASELINE_KEY) is None  # a faulty check never teaches the baseline

    # Above the floor, only the baseline learned from the sharp stream makes the difference.
    lenient.baselines.put("cam-c", BASELINE_KEY, sharp.values["sharpness"])
    blurred, still_blurred = await asyncio.gather(
        check(blurred_url, ctx, camera_id="cam-b"), check(blurred_url, lenient, camera_id="cam-c")
    )
    assert (blurred.status, blurred.faults) == ("blurred", ("blurred",))
    assert still_blurred.status == "blurred"
    assert ctx.baselines.get("cam-b", BASELINE_KEY) == pytest.approx(sharp.values["sharpness"])


async def test_refused_port_is_offline_at_once(closed_port: int) -> None:
    result = await check(f"rtsp://127.0.0.1:{closed_port}/live", context(timeout=2.0))
    assert result.status == "offline" and not result.success
    assert result.duration_seconds < 2.0


async def test_silent_server_times_out_within_timeout(hanging_port: int) -> None:
    started = time.monotonic()
    result = await check(
        f"rtsp://127.0.0.1:{hanging_port}/live", context(timeout=2.0), username="admin", password="pw-hidden"
    )
    assert result.status == "timeout"
    assert time.monotonic() - started < 2.0 + 1.0
    assert result.error and "pw-hidden" not in result.error


def encode_clip(path: Path, *, moving: bool, seconds: int = 6, fps: int = 15, gop: int = 60) -> Path:
    """An H.264 clip whose keyframes come every ``gop`` frames: a still textured scene, or a square moving
    across it."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        stream.codec_context.gop_size = gop
        stream.options = {"preset": "ultrafast", "tune": "zerolatency"}
        tiles = np.random.default_rng(0).integers(0, 256, (18, 32, 3), dtype=np.uint8)
        base = cv2.resize(tiles, (640, 360), interpolation=cv2.INTER_NEAREST)
        for i in range(seconds * fps):
            image = base.copy()
            if moving:
                cv2.rectangle(image, (10 + 8 * i, 10), (60 + 8 * i, 60), (0, 0, 255), -1)
            frame = av.VideoFrame.from_ndarray(np.asarray(image, np.uint8), format="bgr24")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


@pytest.mark.parametrize("moving", [False, True])
def test_long_gop_is_sampled_between_keyframes(tmp_path: Path, moving: bool) -> None:
    clip = encode_clip(tmp_path / "clip.ts", moving=moving)
    settings = VideoSettings()
    got = capture(str(clip), settings=settings, deadline=time.monotonic() + 10, cancel=threading.Event())
    # One keyframe per 4 s: every picture after the first comes from frames decoded in between.
    assert got.pictures[0].pts == 0.0 and len(got.pictures) >= 4
    assert got.fps == pytest.approx(15)
    verdict = assess(got.pictures, fps=got.fps, baseline=None, settings=settings)
    assert ("frozen" in verdict.faults) is not moving


def corrupt_keyframes(clip: Path, out: Path, damaged: set[int]) -> Path:
    """``clip`` with the slice data of its keyframes numbered in ``damaged`` (0 = the first) overwritten
    with noise: 花屏 on those pictures, the rest intact."""
    noise = np.random.default_rng(1)
    with av.open(str(clip)) as source, av.open(str(out), "w", format="mpegts") as sink:
        stream = source.streams.video[0]
        target = sink.add_stream_from_template(stream)
        keyframe = -1
        for packet in source.demux(stream):
            if packet.size == 0:
                continue
            data = bytearray(bytes(packet))
            if packet.is_keyframe:
                keyframe += 1
                if keyframe in damaged:
                    start = len(data) // 3  # past the parameter sets and slice header
                    data[start:] = noise.integers(0, 256, len(data) - start, dtype=np.uint8).tobytes()
            copy = av.Packet(bytes(data))
            copy.pts, copy.dts, copy.time_base = packet.pts, packet.dts, packet.time_base
            copy.is_keyframe = packet.is_keyframe
            copy.stream = target
            sink.mux(copy)
    return out


def test_corrupt_pictures_are_counted_and_left_out_of_the_checks(tmp_path: Path) -> None:
    """A stream whose pictures partly decode in error (花屏): the checks run on the pictures that decoded
    whole, and the share in error is the decode error ratio (above half, the probe says no_video)."""
    clip = encode_clip(tmp_path / "clip.ts", moving=True, seconds=5, gop=15)
    settings = VideoSettings(duration=4.0)

    def captured(damaged: set[int]):
        path = corrupt_keyframes(clip, tmp_path / f"damaged-{len(damaged)}.ts", damaged)
        return capture(str(path), settings=settings, deadline=time.monotonic() + 10, cancel=threading.Event())

    whole = captured(set())
    assert whole.corrupt == 0 and len(whole.pictures) >= 4
    some = captured({1})
    assert some.corrupt >= 1 and some.corrupt / some.decoded <= MAX_DECODE_ERROR_RATIO
    assert 3 <= len(some.pictures) < len(whole.pictures)
    most = captured({0, 1, 2, 3, 4})
    assert most.corrupt / most.decoded > MAX_DECODE_ERROR_RATIO


class _ThreadsSeen(MemoryBaselines):
    """A baseline store that notes which threads read and write it."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: set[int] = set()

    def get(self, camera_id: str, key: str) -> Any:
        self.threads.add(threading.get_ident())
        return super().get(camera_id, key)

    def put(self, camera_id: str, key: str, value: Any) -> None:
        self.threads.add(threading.get_ident())
        super().put(camera_id, key, value)


async def test_pictures_are_judged_off_the_loop_and_learned_on_it(
    gst_rtsp: GstRtsp, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The judgement (≈ 13 ms of CPU a check) runs in the decoder's thread; the live store is touched only
    # by the loop's thread, which writes back what the judgement learned.
    judged_in: list[int] = []
    real_judge = references.judge

    def judge(*args: Any, **kwargs: Any) -> references.Judged:
        judged_in.append(threading.get_ident())
        return real_judge(*args, **kwargs)

    monkeypatch.setattr(references, "judge", judge)
    store = _ThreadsSeen()
    ctx = ProbeContext(settings=VideoSettings(), baselines=store)
    snapshots: list[str | None] = []
    ctx.snapshot_sink = lambda camera, jpeg, fault: snapshots.append(fault)
    first = await check(gst_rtsp.url("clock"), ctx)
    learned = store.get("cam-1", BASELINE_KEY)
    second = await check(gst_rtsp.url("clock"), ctx)
    loop_thread = threading.get_ident()
    assert first.status == second.status == "ok"
    assert len(judged_in) == 2 and loop_thread not in judged_in
    assert store.threads == {loop_thread}
    assert learned == pytest.approx(first.values["sharpness"])  # written back after the first check
    assert second.details["baseline_sharpness"] == pytest.approx(learned)  # and judged against by the next
    assert snapshots == [None, None]
    frozen = await check(gst_rtsp.url("frozen"), ctx, camera_id="cam-f")
    assert frozen.status == "frozen"
    assert store.get("cam-f", f"{SCENE_KEY}:streaks") is not None
