"""GB/T 28181 at county scale: the real service as upper platform for many channels behind NVR-like devices.

Simulated devices (half over UDP, half over TCP, GB2312 bodies, paced multi-packet Catalogs) run in their own
process, so their CPU is never counted as camwatch's. The service (platform, tracker, state, exporter, HTTP)
runs here with a ledger linking every channel by ``gb_id``. Time can be compressed: ``--speed 10`` makes the
60 s keepalive 6 s (ten times the keepalive traffic per wall second: a conservative CPU figure).

Measured: time until every channel is up in ``/metrics``; service CPU and RSS over a steady window; the
``/metrics`` scrape time; how long one silenced NVR takes to turn all its channels offline (and whether it
forms one cluster); and, per message, our SIP parser against ``sipmessage`` when that is installed.

    python3 benchmarks/bench_gb28181.py --devices 100 --channels 100 --speed 10 --steady 60
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from camwatch.config.models import (
    Camera,
    Config,
    Gb28181Keepalive,
    Gb28181Settings,
    MonitorSettings,
)
from camwatch.monitor.gb28181 import sip
from camwatch.monitor.service import Service
from camwatch.sim.gb28181_device import SimGbDevice, channel_ids

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import cpu_seconds, machine, percentile, rss_bytes, stop_group

PLATFORM_ID = "34020000002000000001"
DOMAIN = "3402000000"
PASSWORD = "bench-gb-password"


def device_ids(count: int) -> list[str]:
    return [f"3402000000118{n:07d}" for n in range(count)]


# -- the device process ------------------------------------------------------------------------------------


async def run_devices(port: int, devices: int, channels: int, interval: float) -> None:
    """Start every device (staggered over a second), then keep alive until killed; SIGUSR1 silences the
    first device (its keepalives stop)."""
    sims = [
        SimGbDevice(
            d,
            ("127.0.0.1", port),
            PLATFORM_ID,
            DOMAIN,
            password=PASSWORD,
            channels=dict.fromkeys(channel_ids(d, channels), "ON"),
            transport="UDP" if n % 2 else "TCP",
            keepalive_interval=interval,
            items_per_packet=4,
        )
        for n, d in enumerate(device_ids(devices))
    ]

    def silence() -> None:
        sims[0].keepalives = False

    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, silence)
    registering = []
    for sim in sims:
        await sim.start(register=False)
        registering.append(asyncio.create_task(keep_registered(sim)))
        await asyncio.sleep(1.0 / devices)
    await asyncio.Event().wait()


async def keep_registered(sim: SimGbDevice) -> None:
    """Register until it succeeds, as devices do (a lost datagram only delays it)."""
    while True:
        try:
            if await sim.register() == 200:
                return
        except TimeoutError:
            pass
        await asyncio.sleep(1.0)


# -- the measuring side -----------------------------------------------------------------------------------


async def scrape(session: aiohttp.ClientSession, url: str) -> tuple[float, str]:
    start = time.perf_counter()
    async with session.get(url + "/metrics") as resp:
        text = await resp.text()
    return time.perf_counter() - start, text


def camera_ups(text: str) -> dict[str, float]:
    return {
        s.labels["camera"]: s.value
        for fam in text_string_to_metric_families(text)
        if fam.name == "camwatch_camera_up"
        for s in fam.samples
    }


async def measure(args: argparse.Namespace) -> None:
    interval = 60.0 / args.speed
    ids = device_ids(args.devices)
    cameras = tuple(
        Camera(id=f"ch-{c}", gb_id=c, township=f"dev-{d[-3:]}")
        for d in ids
        for c in channel_ids(d, args.channels)
    )
    tmp = Path(tempfile.mkdtemp(prefix="bench-gb-"))
    port = args.port
    settings = Gb28181Settings(
        listen=f"127.0.0.1:{port}",
        id=PLATFORM_ID,
        domain=DOMAIN,
        keepalive=Gb28181Keepalive(interval=interval, count=3),
        catalog_interval=600.0 / args.speed,
    ).with_passwords({"": SecretStr(PASSWORD)})
    cfg = Config(
        source=tmp / "camwatch.yaml",
        cameras=cameras,
        monitor=MonitorSettings(listen=f"127.0.0.1:{port + 1}", state=tmp / "state.db"),
        gb28181=settings,
    )
    svc = Service(cfg)
    await svc.start()
    rss_start = rss_bytes()
    cpu0, t0 = cpu_seconds(), time.monotonic()
    child = subprocess.Popen(
        [sys.executable, __file__, "--devices-only", "--port", str(port), "--devices", str(args.devices),
         "--channels", str(args.channels), "--speed", str(args.speed)],
        stdout=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    total = len(cameras)
    try:
        async with aiohttp.ClientSession() as session:
            # Watched in memory (parsing a 10,000-camera scrape every poll would load the loop under test);
            # one scrape afterwards confirms /metrics shows it.
            while (up := sum(1 for t in svc.tracker.tracks.values() if t.up)) < total:
                if time.monotonic() - t0 > 20 * interval:
                    raise SystemExit(f"only {up} of {total} channels up")
                await asyncio.sleep(0.1)
            all_up = time.monotonic() - t0
            cpu_startup = cpu_seconds() - cpu0
            _, text = await scrape(session, svc.url)
            assert sum(camera_ups(text).values()) == total

            # Steady state, first without scrapes (keepalives and the periodic Catalog, compressed alike),
            # then with a /metrics scrape every 2 s.
            cpu1, t1 = cpu_seconds(), time.monotonic()
            peak = rss_bytes()
            while time.monotonic() - t1 < args.steady / 2:
                await asyncio.sleep(1.0)
                peak = max(peak, rss_bytes())
            quiet_wall, quiet_cpu = time.monotonic() - t1, cpu_seconds() - cpu1
            cpu2, t2 = cpu_seconds(), time.monotonic()
            scrapes = []
            while time.monotonic() - t2 < args.steady / 2:
                took, _ = await scrape(session, svc.url)
                scrapes.append(took)
                peak = max(peak, rss_bytes())
                await asyncio.sleep(2.0)
            scraped_wall, scraped_cpu = time.monotonic() - t2, cpu_seconds() - cpu2

            # Silence one NVR: all its channels offline together, one cluster.
            os.kill(child.pid, signal.SIGUSR1)
            silenced = time.monotonic()
            first = {f"ch-{c}" for c in channel_ids(ids[0], args.channels)}
            while not all(svc.tracker.tracks[c].up is False for c in first):
                await asyncio.sleep(0.05)
            offline_after = time.monotonic() - silenced
            gb = svc.gb
            assert gb is not None
            since_last = max(svc.tracker.tracks[c].since for c in first) - gb.devices[ids[0]].last_keepalive
            svc.update_clusters()
            clusters = [(c.key, len(c.cameras)) for c in svc.clusters]
    finally:
        stop_group(child)
        await svc.stop()

    keepalives_per_s = args.devices / interval
    print(machine())
    print(
        f"{args.devices} devices x {args.channels} channels = {total} channels; keepalive {interval:g} s "
        f"(60 s / speed {args.speed:g}), {keepalives_per_s:.1f} keepalives/s"
    )
    print(f"every channel up in /metrics after {all_up:.1f} s (startup CPU {cpu_startup:.2f} s)")
    quiet = 100 * quiet_cpu / quiet_wall
    print(
        f"steady, no scrapes ({quiet_wall:.0f} s): service CPU {quiet:.2f} % of a core "
        f"(~{quiet / args.speed:.3f} % at real 60 s keepalives); with a scrape every 2 s "
        f"({scraped_wall:.0f} s): {100 * scraped_cpu / scraped_wall:.1f} %; "
        f"RSS start {rss_start / 2**20:.0f} MB, peak {peak / 2**20:.0f} MB"
    )
    print(
        f"/metrics scrape p50 {percentile(scrapes, 0.5) * 1000:.0f} ms, "
        f"p99 {percentile(scrapes, 0.99) * 1000:.0f} ms"
    )
    ka = settings.keepalive
    print(
        f"silenced NVR: its {args.channels} channels offline {offline_after:.1f} s after the signal, "
        f"{since_last:.1f} s after its last keepalive "
        f"(bound: interval x count = {ka.interval * ka.count:g} s + one tick); clusters {clusters}"
    )


def _keepalive(domain: str) -> bytes:
    body = (
        b'<?xml version="1.0" encoding="GB2312"?>\r\n<Notify>\r\n'
        b"<CmdType>Keepalive</CmdType>\r\n<SN>1</SN>\r\n"
        b"<DeviceID>34020000001320000001</DeviceID>\r\n<Status>OK</Status>\r\n</Notify>\r\n"
    )
    head = (
        f"MESSAGE sip:34020000002000000001@{domain} SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.1.64:5060;rport;branch=z9hG4bK1234567890\r\n"
        f"From: <sip:34020000001320000001@{domain}>;tag=12345678\r\n"
        f"To: <sip:34020000002000000001@{domain}>\r\n"
        "Call-ID: 1234567890@192.168.1.64\r\nCSeq: 20 MESSAGE\r\nMax-Forwards: 70\r\n"
        "User-Agent: IP Camera\r\nContent-Type: Application/MANSCDP+xml\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def parser_figures() -> None:
    """Per-message parse time of a keepalive MESSAGE: ours against sipmessage (when installed).

    GB/T 28181 URIs name the 10-digit domain as host (``sip:<id>@3402000000``), which sipmessage's URI
    grammar refuses; the timing uses the same message with an IP address as host so that both parse it."""
    gb_form, ip_form = _keepalive(DOMAIN), _keepalive("192.168.1.2")
    n = 20000
    ours = min(timeit.repeat(lambda: sip.parse(ip_form, max_bytes=65536), number=n, repeat=3)) / n
    line = f"SIP parse of a keepalive MESSAGE: camwatch {ours * 1e6:.1f} us"
    try:
        from sipmessage import Message  # type: ignore[import-not-found]

        def theirs(data: bytes) -> None:
            msg = Message.parse(data)
            _ = (msg.from_address, msg.call_id, msg.cseq, msg.via, msg.content_type)

        other = min(timeit.repeat(lambda: theirs(ip_form), number=n, repeat=3)) / n
        line += f", sipmessage 0.7.1 {other * 1e6:.1f} us (typed From/Call-ID/CSeq/Via/Content-Type)"
        try:
            theirs(gb_form)
        except ValueError as exc:
            line += f"; sipmessage refuses the GB/T 28181 form sip:<id>@{DOMAIN}: {exc}"
    except ImportError:
        line += " (sipmessage not installed: pip install sipmessage to compare)"
    print(line)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--devices", type=int, default=100)
    ap.add_argument("--channels", type=int, default=100, help="channels per device")
    ap.add_argument("--speed", type=float, default=10.0, help="time compression of the 60 s keepalive")
    ap.add_argument("--steady", type=float, default=60.0, help="seconds of steady state to measure")
    ap.add_argument("--port", type=int, default=15060)
    ap.add_argument("--devices-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.devices_only:
        asyncio.run(run_devices(args.port, args.devices, args.channels, 60.0 / args.speed))
        return
    parser_figures()
    asyncio.run(measure(args))


if __name__ == "__main__":
    main()
