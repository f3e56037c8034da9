"""The hourly recording round: 10,000 cameras behind 200 simulated Hikvision ISAPI NVRs on loopback.

Each NVR (camwatch/sim/isapi_nvr.py: Digest login, paged CMSearch, disks, clock) runs in a child process
on its own loopback address, so only the monitor's CPU is counted here. Every channel holds 40 days of
hourly files (one shared list: the NVRs' memory stays small). The round is camwatch's recording check for
every camera through ``sweep`` (as the scheduler runs it: ``recording_concurrency`` at a time), measured
for wall time and this process's CPU; the CPU share of a core is that CPU over the hourly interval.

Against it, on ``--naive`` cameras (a slice of the same fleet), the naive way: one search per camera over
its whole retention window, paged to the end (40 days of hourly files at 40 a page), instead of the last
24 hours and the oldest footage apart (one result).

    python benchmarks/bench_recording.py [--recorders 200] [--channels 50] [--concurrency 8] [--naive 200]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import resource
import time
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from pydantic import SecretStr

from camwatch.config.models import Camera, MonitorSettings, RecordingSettings
from camwatch.config.recorders import Recorder
from camwatch.monitor import footage
from camwatch.monitor.probes import isapi
from camwatch.monitor.recordings import client as isapi_client
from camwatch.monitor.sweep import sweep
from camwatch.sim.isapi_nvr import Channel, Nvr

PASSWORD = "bench-nvr-pw"
PORT = 18480
DAY, HOUR = 86400.0, 3600.0
INTERVAL = 3600.0  # monitor.recording.interval


def address(n: int) -> str:
    return f"127.71.{n // 250}.{n % 250 + 1}"


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _serve(recorders: int, channels: int, ready: Any, stop: Any) -> None:
    async def main() -> None:
        now = time.time()
        files = [(now - 40 * DAY + HOUR * k, now - 40 * DAY + HOUR * (k + 1)) for k in range(40 * 24 - 1)]
        files.append((files[-1][1], float("inf")))  # the file being written
        shared = Channel(files)
        runners = []
        for n in range(recorders):
            nvr = Nvr(password=PASSWORD, zone="Asia/Shanghai")
            nvr.channels = dict.fromkeys(range(1, channels + 1), shared)
            runners.append(await nvr.serve(address(n), PORT))
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.2)
        for runner in runners:
            await runner.cleanup()

    asyncio.run(main())


def fleet(recorders: int, channels: int) -> list[Camera]:
    cameras = []
    for n in range(recorders):
        recorder = Recorder(
            id=f"nvr-{n:03d}",
            kind="isapi",
            host=address(n),
            port=PORT,
            username="admin",
            timezone="Asia/Shanghai",
        ).with_password(SecretStr(PASSWORD))
        cameras += [
            Camera(id=f"cam-{n:03d}-{c:02d}", recorder=recorder, recorder_channel=str(c))
            for c in range(1, channels + 1)
        ]
    return cameras


async def naive(camera: Camera, settings: RecordingSettings) -> footage.Verdict:
    """One search over the whole retention window, every page."""
    assert camera.recorder is not None and camera.recorder_channel is not None
    zone = ZoneInfo(camera.recorder.timezone)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        nvr = isapi_client(session, camera.recorder, settings)
        now = await isapi.clock(nvr, zone)
        await isapi.disks(nvr)
        target = settings.retention.target(camera)
        since = now - isapi.lookback(target).total_seconds()
        ranges = await isapi.search(
            nvr, int(camera.recorder_channel), since, now, zone, max_items=100_000, max_pages=10_000
        )
    return footage.judge(
        ranges, now=now, gap=settings.gap, stopped_after=settings.stopped_after, retention=target
    )


async def bench(cameras: list[Camera], concurrency: int, naive_count: int) -> None:
    settings = RecordingSettings(timeout=120)
    monitor = MonitorSettings(concurrency=concurrency, recording=settings)
    await sweep(cameras[:concurrency], monitor, kinds=("recording",))  # warm-up: imports, first connections

    before, started = cpu_seconds(), time.monotonic()
    results = await sweep(cameras, monitor, kinds=("recording",))
    cpu, wall = cpu_seconds() - before, time.monotonic() - started
    statuses: dict[str, int] = {}
    for r in results:
        statuses[r.probes["recording"].status] = statuses.get(r.probes["recording"].status, 0) + 1
    print(f"round: {len(cameras)} cameras, concurrency {concurrency}: statuses {statuses}")
    share = 100 * cpu / INTERVAL
    print(f"  wall {wall:.1f} s (goal <= 600 s); CPU {cpu:.1f} s = {share:.2f} % of a core over the hourly")
    print(f"  interval (goal < 5 %); {1000 * cpu / len(cameras):.2f} ms CPU per camera")

    if not naive_count:
        return
    some = cameras[:naive_count]
    before, started = cpu_seconds(), time.monotonic()
    await sweep(some, monitor, kinds=("recording",))
    ours_cpu, ours_wall = cpu_seconds() - before, time.monotonic() - started
    gate = asyncio.Semaphore(concurrency)

    async def one(camera: Camera) -> footage.Verdict:
        async with gate:
            return await naive(camera, settings)

    before, started = cpu_seconds(), time.monotonic()
    verdicts = await asyncio.gather(*(one(c) for c in some))
    naive_cpu, naive_wall = cpu_seconds() - before, time.monotonic() - started
    assert all(v.faults == () for v in verdicts)
    print(f"{naive_count} cameras: camwatch {ours_cpu:.2f} CPU-s, {ours_wall:.1f} s wall")
    print(f"  naive (whole retention window, every page) {naive_cpu:.2f} CPU-s, {naive_wall:.1f} s wall")
    print(f"  ratio naive / camwatch: CPU {naive_cpu / ours_cpu:.1f}, wall {naive_wall / ours_wall:.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recorders", type=int, default=200)
    parser.add_argument("--channels", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=MonitorSettings().recording_concurrency)
    parser.add_argument("--naive", type=int, default=200, help="cameras for the naive comparison (0: none)")
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    ready, stop = context.Event(), context.Event()
    server = context.Process(target=_serve, args=(args.recorders, args.channels, ready, stop), daemon=True)
    server.start()
    try:
        if not ready.wait(120):
            raise RuntimeError("the simulated NVRs did not start within 120 s")
        asyncio.run(bench(fleet(args.recorders, args.channels), args.concurrency, args.naive))
    finally:
        stop.set()
        server.join(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
