"""CPU per video check and detection accuracy: camwatch's video probe against a naive full OpenCV decode.

Starts the GStreamer RTSP test server (tests/support/gst_rtsp_server.py) with labelled streams, checks each
stream ``--runs`` times with both methods over the same ``duration`` seconds, and prints a table. The
``transport`` part checks the same streams with camwatch's probe pinned to RTP over interleaved TCP and to RTP
over UDP (the relay receiving datagrams and framing them for the decoder), in one run.

    python benchmarks/bench_video.py [--runs 3] [--duration 3] [--part all|rtsp|files|transport]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

# OpenCV's FFmpeg backend reads this once at import: RTSP over TCP, like the probe.
os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp")

import av
import cv2
import numpy as np

from camwatch.config.models import Camera, VideoSettings
from camwatch.monitor.picture import analysis
from camwatch.monitor.probes.base import ProbeContext
from camwatch.monitor.probes.video import capture, probe

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.gst_rtsp import start_gst_rtsp

# Stream -> the status a correct check gives it.
LABELS = {"live": "ok", "clock": "ok", "frozen": "frozen", "black": "black", "blurred": "blurred"}
_OPEN_TIMEOUT_MS = 5000

Check = Callable[[str, VideoSettings], str]
"""One check of a stream URL; returns the status it found."""


def cpu_seconds() -> float:
    """CPU time of this process, all threads included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def camwatch_check(url: str, settings: VideoSettings, transport: str = "auto") -> str:
    camera = Camera(id="bench", rtsp_url=url, transport=transport)  # type: ignore[arg-type]
    result = asyncio.run(probe(camera, ProbeContext(settings=settings)))
    return result.status


def tcp_check(url: str, settings: VideoSettings) -> str:
    return camwatch_check(url, settings, "tcp")


def udp_check(url: str, settings: VideoSettings) -> str:
    return camwatch_check(url, settings, "udp")


def naive_check(url: str, settings: VideoSettings) -> str:
    """Decode every frame with OpenCV, convert and analyse each one."""
    capture = cv2.VideoCapture(
        url,
        cv2.CAP_FFMPEG,
        [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, _OPEN_TIMEOUT_MS, cv2.CAP_PROP_READ_TIMEOUT_MSEC, _OPEN_TIMEOUT_MS],
    )
    pictures: list[analysis.Picture] = []
    try:
        first: float | None = None
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            t = capture.get(cv2.CAP_PROP_POS_MSEC) / 1000
            first = t if first is None else first
            pic = analysis.picture(frame, t - first)
            analysis.luma(pic), analysis.sharpness(pic)
            pictures.append(pic)
            if t - first >= settings.duration:
                break
    finally:
        capture.release()
    if not pictures:
        return "offline"
    span = pictures[-1].pts - pictures[0].pts
    fps = (len(pictures) - 1) / span if span > 0 else 0.0
    verdict = analysis.assess(pictures, fps=fps, baseline=None, settings=settings)
    return verdict.faults[0] if verdict.faults else "ok"


def receive_only(url: str, settings: VideoSettings) -> str:
    """Receive the same seconds without decoding: the cost every method pays before any analysis."""
    options = {"rtsp_transport": "tcp", "analyzeduration": "0", "probesize": "32"}
    with av.open(url, options=options, timeout=_OPEN_TIMEOUT_MS / 1000) as container:
        stream = container.streams.video[0]
        time_base = stream.time_base or 1
        first: float | None = None
        for packet in container.demux(stream):
            if packet.pts is None:
                continue
            t = float(packet.pts * time_base)
            first = t if first is None else first
            if t - first >= settings.duration:
                break
    return "-"


METHODS: dict[str, Check] = {
    "camwatch": camwatch_check,
    "naive": naive_check,
    "receive": receive_only,
}


def measure(
    check: Callable[[str, VideoSettings], str], url: str, settings: VideoSettings
) -> tuple[float, str]:
    before = cpu_seconds()
    status = check(url, settings)
    return cpu_seconds() - before, status


def encode_clip(path: Path, scene: str, *, seconds: float, width: int = 1280, height: int = 720) -> Path:
    """A 25 fps H.264 clip (1 s GOP) of a moving pattern (``moving``), a still textured scene or black."""
    fps = 25
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    texture = cv2.resize(
        np.random.default_rng(0).integers(0, 256, (height // 20, width // 20, 3), dtype=np.uint8),
        (width, height),
        interpolation=cv2.INTER_NEAREST,
    )
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.gop_size = fps
        stream.options = {"preset": "ultrafast", "tune": "zerolatency"}
        for i in range(int(seconds * fps)):
            if scene == "moving":
                wave = 127 + 120 * np.sin((x * x + y * y) / 4000 + i / 3)
                image = cv2.cvtColor(wave.astype(np.uint8), cv2.COLOR_GRAY2BGR)
            elif scene == "still":
                image = texture
            else:
                image = np.zeros((height, width, 3), np.uint8)
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image, np.uint8), format="bgr24")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def camwatch_file_check(path: str, settings: VideoSettings) -> str:
    """The probe's decoding and analysis on a file: no network, so only decoding and analysis count."""
    got = capture(path, settings=settings, deadline=time.monotonic() + 60, cancel=threading.Event())
    verdict = analysis.assess(got.pictures, fps=got.fps, baseline=None, settings=settings, alive=got.alive)
    return verdict.faults[0] if verdict.faults else "ok"


def row(cells: list[object]) -> str:
    return f"{cells[0]!s:<9}{cells[1]!s:<9}" + "".join(f"{c!s:>10}" for c in cells[2:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--part", choices=("all", "rtsp", "files", "transport"), default="all")
    args = parser.parse_args()
    settings = VideoSettings(duration=args.duration)

    server = start_gst_rtsp(tuple(LABELS))
    try:
        if args.part in ("all", "transport"):
            transports(args.runs, settings, server.url)
        if args.part not in ("all", "rtsp"):
            return 0
        # One untimed check per method first, so that library start-up is not billed to the first stream.
        for check in METHODS.values():
            check(server.url("live"), settings)
        print(f"{args.runs} runs of {args.duration:g} s per stream and method; mean CPU seconds per check")
        print(row(["stream", "label", "camwatch", "naive", "receive", "ratio", "cw right", "nv right"]))
        cpu = {name: {mount: 0.0 for mount in LABELS} for name in METHODS}
        right = {name: {mount: 0 for mount in LABELS} for name in METHODS}
        for mount, label in LABELS.items():
            for _ in range(args.runs):
                for name, check in METHODS.items():
                    seconds, status = measure(check, server.url(mount), settings)
                    cpu[name][mount] += seconds / args.runs
                    right[name][mount] += status == label
            print(row([mount, label, *_figures(cpu, right, mount, args.runs)]))
        mean = {name: {"all": sum(per.values()) / len(per)} for name, per in cpu.items()}
        hits = {name: {"all": sum(per.values())} for name, per in right.items()}
        print(row(["all", "", *_figures(mean, hits, "all", args.runs * len(LABELS))]))
    finally:
        server.stop()
    if args.part == "all":
        files(args.runs, settings)
    return 0


def transports(runs: int, settings: VideoSettings, url: Callable[[str], str]) -> None:
    """camwatch's probe over interleaved TCP and over UDP on the same streams, runs interleaved."""
    methods: dict[str, Check] = {"tcp": tcp_check, "udp": udp_check}
    for check in methods.values():  # library start-up and the first UDP ports, untimed
        check(url("live"), settings)
    print(f"RTP over TCP and over UDP, {runs} runs; mean CPU seconds per camwatch check")
    print(row(["stream", "label", "tcp", "udp", "udp/tcp", "tcp right", "udp right"]))
    cpu = {name: dict.fromkeys(LABELS, 0.0) for name in methods}
    right = {name: dict.fromkeys(LABELS, 0) for name in methods}
    for mount, label in LABELS.items():
        for _ in range(runs):
            for name, check in methods.items():
                seconds, status = measure(check, url(mount), settings)
                cpu[name][mount] += seconds / runs
                right[name][mount] += status == label
        ratio = cpu["udp"][mount] / cpu["tcp"][mount]
        counts = [f"{right[name][mount]}/{runs}" for name in methods]
        print(row([mount, label, *(f"{cpu[n][mount]:.4f}" for n in methods), f"{ratio:.3f}", *counts]))
    tcp, udp = (sum(cpu[name].values()) / len(LABELS) for name in methods)
    print(row(["all", "", f"{tcp:.4f}", f"{udp:.4f}", f"{udp / tcp:.3f}", "", ""]) + "\n")


def files(runs: int, settings: VideoSettings) -> None:
    """The same comparison on 1280x720 25 fps clips read from disk: decoding and analysis only."""
    labels = {"moving": "ok", "still": "frozen", "black": "black"}
    methods: dict[str, Check] = {"camwatch": camwatch_file_check, "naive": naive_check}
    print(f"\n1280x720 25 fps clips from disk, {runs} runs; mean CPU seconds per check (decode + analysis)")
    print(row(["clip", "label", "camwatch", "naive", "ratio", "cw right", "nv right"]))
    with tempfile.TemporaryDirectory() as folder:
        clips = {
            s: str(encode_clip(Path(folder) / f"{s}.ts", s, seconds=settings.duration + 1)) for s in labels
        }
        cpu = {name: dict.fromkeys(labels, 0.0) for name in methods}
        right = {name: dict.fromkeys(labels, 0) for name in methods}
        for scene, label in labels.items():
            for _ in range(runs):
                for name, check in methods.items():
                    seconds, status = measure(check, clips[scene], settings)
                    cpu[name][scene] += seconds / runs
                    right[name][scene] += status == label
            ratio = cpu["camwatch"][scene] / cpu["naive"][scene]
            counts = [f"{right[name][scene]}/{runs}" for name in methods]
            print(row([scene, label, *(f"{cpu[n][scene]:.4f}" for n in methods), f"{ratio:.3f}", *counts]))


def _figures(
    cpu: dict[str, dict[str, float]], right: dict[str, dict[str, int]], key: str, runs: int
) -> list[str]:
    ratio = cpu["camwatch"][key] / cpu["naive"][key]
    return [
        *(f"{cpu[name][key]:.4f}" for name in METHODS),
        f"{ratio:.3f}",
        f"{right['camwatch'][key]}/{runs}",
        f"{right['naive'][key]}/{runs}",
    ]


if __name__ == "__main__":
    start = time.monotonic()
    code = main()
    print(f"took {time.monotonic() - start:.0f} s")
    sys.exit(code)
