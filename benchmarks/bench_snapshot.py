"""CPU per check: the snapshot probe (two JPEG stills over HTTP) against the RTSP video check.

The snapshot side fetches from the ONVIF device simulator (camwatch/sim/onvif_device.py: 640x360 stills,
Digest login) run in a child process; the video side decodes the GStreamer RTSP test server's 640x360 streams
(tests/support/gst_rtsp_server.py), as benchmarks/bench_video.py does. Only this process's CPU is counted:
the servers run elsewhere. Each check runs ``--runs`` times per labelled picture; prints a table.

    python benchmarks/bench_snapshot.py [--runs 3] [--duration 3] [--gap 2]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import resource
import sys
from pathlib import Path

from pydantic import SecretStr

from camwatch.config.models import Camera, SnapshotSettings, VideoSettings
from camwatch.monitor.probes import snapshot, video
from camwatch.monitor.probes.base import ProbeContext
from camwatch.sim.onvif_device import SNAPSHOT_PATHS, OnvifDevice, serve_devices

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.gst_rtsp import start_gst_rtsp

LABELS = {"live": "ok", "frozen": "frozen", "black": "black"}
PASSWORD = "bench-pw"


def cpu_seconds() -> float:
    """CPU time of this process, all threads included (not its children)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _serve(ports: multiprocessing.Queue, stop: multiprocessing.Event) -> None:  # type: ignore[type-arg]
    async def main() -> None:
        devices = [OnvifDevice(password=PASSWORD, picture=p) for p in LABELS]
        async with serve_devices(devices) as served:
            ports.put({d.picture: d.port for d in served})
            while not stop.is_set():
                await asyncio.sleep(0.2)

    asyncio.run(main())


async def snapshot_check(port: int, settings: SnapshotSettings) -> str:
    camera = Camera(
        id="bench",
        snapshot_url=f"http://127.0.0.1:{port}{SNAPSHOT_PATHS[0]}",
        username="admin",
        password=SecretStr(PASSWORD),
    )
    return (await snapshot.probe(camera, ProbeContext(settings=settings))).status


async def video_check(url: str, settings: VideoSettings) -> str:
    return (await video.probe(Camera(id="bench", rtsp_url=url), ProbeContext(settings=settings))).status


def row(cells: list[object]) -> str:
    return f"{cells[0]!s:<9}{cells[1]!s:<9}" + "".join(f"{c!s:>12}" for c in cells[2:])


async def bench(runs: int, snap: SnapshotSettings, vid: VideoSettings, ports: dict[str, int], rtsp) -> None:
    await snapshot_check(ports["live"], snap)  # library start-up is not billed to the first picture
    await video_check(rtsp.url("live"), vid)
    print(f"{runs} runs per picture; mean CPU seconds per check (this process only)")
    print(row(["picture", "label", "snapshot", "video", "ratio", "snap right", "video right"]))
    for picture, label in LABELS.items():
        cpu = {"snapshot": 0.0, "video": 0.0}
        right = {"snapshot": 0, "video": 0}
        for _ in range(runs):
            before = cpu_seconds()
            right["snapshot"] += await snapshot_check(ports[picture], snap) == label
            middle = cpu_seconds()
            right["video"] += await video_check(rtsp.url(picture), vid) == label
            cpu["snapshot"] += (middle - before) / runs
            cpu["video"] += (cpu_seconds() - middle) / runs
        ratio = cpu["snapshot"] / cpu["video"] if cpu["video"] else float("nan")
        print(
            row(
                [
                    picture,
                    label,
                    f"{cpu['snapshot']:.4f}",
                    f"{cpu['video']:.4f}",
                    f"{ratio:.2f}",
                    f"{right['snapshot']}/{runs}",
                    f"{right['video']}/{runs}",
                ]
            )
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=float, default=3.0, help="seconds of stream per video check")
    parser.add_argument("--gap", type=float, default=2.0, help="seconds between the two stills")
    args = parser.parse_args()
    snap = SnapshotSettings(frozen_seconds=args.gap)
    vid = VideoSettings(duration=args.duration)

    context = multiprocessing.get_context("spawn")
    queue, stop = context.Queue(), context.Event()
    server = context.Process(target=_serve, args=(queue, stop), daemon=True)
    server.start()
    rtsp = start_gst_rtsp(tuple(LABELS))
    try:
        asyncio.run(bench(args.runs, snap, vid, queue.get(timeout=60), rtsp))
    finally:
        rtsp.stop()
        stop.set()
        server.join(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
