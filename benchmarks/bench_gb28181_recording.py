"""GB/T 28181 recording checks: what a round costs the upper platform's process.

Simulated NVRs (``SimGbDevice``: hour-long files over 30 days per channel, RecordInfo answered four items
per MESSAGE) run in a child process and register with a ``Platform`` in this process. Every channel's
``recording`` check runs once with no history (each asks the whole retention window: the daily round) and
once more (each asks the last 24 h: the hourly rounds between), ``recording_concurrency`` at a time.
Measured per round: wall time, this process's CPU time, MESSAGEs received; and that CPU for 10,000 cameras
checked hourly (23 hourly rounds and one daily round a day).

    python3 benchmarks/bench_gb28181_recording.py --devices 10 --channels 20
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from pathlib import Path

from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import machine, stop_group

from camwatch.config.models import Camera, Gb28181Keepalive, Gb28181Settings, RecordingSettings
from camwatch.monitor.gb28181.platform import Platform
from camwatch.monitor.probes import recording
from camwatch.monitor.probes.base import MemoryBaselines, ProbeContext, ProbeResult
from camwatch.sim.demo import free_udp_and_tcp_port
from camwatch.sim.gb28181_device import SimGbDevice, channel_ids

PLATFORM_ID = "34020000002000000001"
DOMAIN = "3402000000"
PASSWORD = "bench-gb-recording"
FLEET = 10_000


def device_ids(count: int) -> list[str]:
    return [f"3402000000118{n:07d}" for n in range(1, count + 1)]  # channel ids take the last two digits


async def serve(port: int, devices: int, channels: int) -> None:
    """The child: ``devices`` NVRs registering with the platform at ``port``, until killed."""
    sims = [
        SimGbDevice(
            d,
            ("127.0.0.1", port),
            PLATFORM_ID,
            DOMAIN,
            password=PASSWORD,
            channels=dict.fromkeys(channel_ids(d, channels), "ON"),
            keepalive_interval=20.0,
            timezone="UTC",
        )
        for d in device_ids(devices)
    ]
    for sim in sims:
        await sim.start()
    await asyncio.Event().wait()


async def measure(devices: int, channels: int, concurrency: int) -> None:
    port = free_udp_and_tcp_port("127.0.0.1")
    settings = Gb28181Settings(
        listen=f"127.0.0.1:{port}",
        id=PLATFORM_ID,
        domain=DOMAIN,
        keepalive=Gb28181Keepalive(interval=30.0, count=4),
    ).with_passwords({"": SecretStr(PASSWORD)})
    platform = Platform(settings, known=lambda _: True)
    platform.timezone = "UTC"
    await platform.start()
    fleet = ["--serve", str(port), "--devices", str(devices), "--channels", str(channels)]
    child = subprocess.Popen(
        [sys.executable, __file__, *fleet],
        start_new_session=True,
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while sum(len(d.channels) for d in platform.devices.values()) < devices * channels:
            if time.monotonic() > deadline or child.poll() is not None:
                raise RuntimeError("the simulated NVRs did not register with their catalogs in time")
            await asyncio.sleep(0.2)
        cameras = [
            Camera(id=f"cam-{n}", gb_id=cid)
            for n, cid in enumerate(c for d in platform.devices.values() for c in d.channels)
        ]
        memory = MemoryBaselines()
        gate = asyncio.Semaphore(concurrency)
        check = RecordingSettings(timeout=60.0)

        async def one(camera: Camera) -> ProbeResult:
            async with gate:
                return await recording.probe(camera, ProbeContext(check, memory, gb28181=platform))

        print(machine())
        print(f"{devices} NVRs × {channels} channels = {len(cameras)} cameras, {concurrency} at once\n")
        print("| round | wall | CPU (this process) | CPU per camera | MESSAGEs in | checks ok |")
        print("|---|---:|---:|---:|---:|---:|")
        per_camera = []
        for name in ("daily: whole window (60 days)", "hourly: last 24 h"):
            before = platform.messages[("MESSAGE", "RecordInfo")]
            cpu, wall = time.process_time(), time.monotonic()
            results = await asyncio.gather(*(one(c) for c in cameras))
            cpu, wall = time.process_time() - cpu, time.monotonic() - wall
            received = platform.messages[("MESSAGE", "RecordInfo")] - before
            ok = sum(r.status == "ok" for r in results)
            per_camera.append(cpu / len(cameras))
            print(
                f"| {name} | {wall:.1f} s | {cpu:.2f} s | {1000 * cpu / len(cameras):.1f} ms | {received} "
                f"| {ok}/{len(cameras)} |"
            )
        daily, hourly = per_camera
        day_cpu = FLEET * (daily + 23 * hourly)
        print(
            f"\n{FLEET} cameras checked hourly: {day_cpu:.0f} CPU seconds a day = "
            f"{100 * day_cpu / 86400:.2f} % of a core (each check asking the whole window every hour: "
            f"{100 * FLEET * 24 * daily / 86400:.2f} %)"
        )
    finally:
        stop_group(child)
        await platform.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=10)
    parser.add_argument("--channels", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--serve", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve, args.devices, args.channels))
    else:
        asyncio.run(measure(args.devices, args.channels, args.concurrency))


if __name__ == "__main__":
    main()
