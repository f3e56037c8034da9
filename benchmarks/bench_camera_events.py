"""What the cameras' own analytics cost: ONVIF PullPoint subscriptions (monitor/onvif_events/source.py) on N
simulated devices, against the ONVIF probe on the same devices.

The devices (camwatch/sim/onvif_device.py with its event service) run in a child process; only this
process's CPU and memory are counted. Prints: CPU per subscription made, CPU per pull, memory per live
subscription, CPU per ONVIF probe (the reference, same run), and the cameras one core sustains.

    python benchmarks/bench_camera_events.py [--cameras 500] [--seconds 30] [--interval 10]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from camwatch.config.models import OnvifEventSettings, OnvifSettings
from camwatch.monitor.onvif_events import pullpoint
from camwatch.monitor.onvif_events.source import CameraEventSource
from camwatch.monitor.probes import onvif
from camwatch.monitor.probes.base import ProbeContext
from camwatch.sim.onvif_device import OnvifDevice, serve_devices
from support.cameras import make_camera

PASSWORD = "bench-pw"


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_kib() -> int:
    with open(f"/proc/{os.getpid()}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))


def _serve(count: int, ports: multiprocessing.Queue, stop: multiprocessing.Event) -> None:  # type: ignore[type-arg]
    async def main() -> None:
        async with serve_devices([OnvifDevice(password=PASSWORD) for _ in range(count)]) as served:
            ports.put([d.port for d in served])
            while not stop.is_set():
                await asyncio.sleep(0.2)

    asyncio.run(main())


async def bench(ports: list[int], seconds: float, interval: float) -> None:
    cameras = [
        make_camera(id=f"cam{i}", onvif_host="127.0.0.1", onvif_port=p, username="admin", password=PASSWORD)
        for i, p in enumerate(ports)
    ]
    await onvif.load_wsdl()
    await pullpoint.EventsWsdl().load()
    # Reference: one ONVIF probe per camera, 64 at a time.
    gate = asyncio.Semaphore(64)

    async def probe(camera: object) -> None:
        async with gate:
            await onvif.probe(camera, ProbeContext(settings=OnvifSettings(timeout=10)))  # type: ignore[arg-type]

    before = cpu_seconds()
    await asyncio.gather(*(probe(c) for c in cameras))
    per_probe = (cpu_seconds() - before) / len(cameras)

    pulls = 0
    pull = pullpoint.PullPoint.pull

    async def counted(self: pullpoint.PullPoint, wait: float, limit: int) -> pullpoint.Pulled:
        nonlocal pulls
        pulls += 1
        return await pull(self, wait, limit)

    pullpoint.PullPoint.pull = counted  # type: ignore[method-assign]
    settings = OnvifEventSettings(interval=interval, wait=0.01, timeout=10, concurrency=64)
    source = CameraEventSource(settings, cameras, lambda *_: None)
    rss, before = rss_kib(), cpu_seconds()
    source.start()
    while source.subscriptions["created"] < len(cameras):
        await asyncio.sleep(0.1)
    subscribed_cpu = cpu_seconds() - before
    first_pulls = pulls
    per_subscription_kib = (rss_kib() - rss) / len(cameras)
    started, before = time.monotonic(), cpu_seconds()
    await asyncio.sleep(seconds)
    pull_cpu, window, steady = cpu_seconds() - before, time.monotonic() - started, pulls - first_pulls
    await source.stop()
    per_pull = pull_cpu / max(steady, 1)
    # Subscribing includes the first pull of each camera: take it out.
    per_subscribe = (subscribed_cpu - first_pulls * per_pull) / len(cameras)
    print(f"cameras {len(cameras)}, interval {interval:g} s, {steady} pulls in {window:.1f} s")
    print("| measure | value |")
    print("|---|---:|")
    print(f"| CPU-ms per ONVIF probe (reference) | {1000 * per_probe:.2f} |")
    print(f"| CPU-ms per subscription made | {1000 * per_subscribe:.2f} |")
    print(f"| CPU-ms per pull | {1000 * per_pull:.2f} |")
    print(f"| KiB per live subscription | {per_subscription_kib:.0f} |")
    print(f"| pull / probe CPU ratio | {per_pull / per_probe:.2f} |")
    print(f"| cameras one core sustains at {interval:g} s | {interval / per_pull:,.0f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--interval", type=float, default=10.0)
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    queue, stop = context.Queue(), context.Event()
    server = context.Process(target=_serve, args=(args.cameras, queue, stop), daemon=True)
    server.start()
    try:
        asyncio.run(bench(queue.get(timeout=120), args.seconds, args.interval))
    finally:
        stop.set()
        server.join(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
