"""GB/T 28181 under hostile floods: the real service as upper platform, attackers in their own process.

Each flood runs ``--seconds`` from a child process speaking raw SIP (``tests/support/hostile_devices.py``,
no camwatch code on the attacking side) while this process scrapes ``/metrics`` every 0.1 s. Measured per
flood: ``/metrics`` latency (p50, p95) and size, RSS before and after, the drop counters; and under the
REGISTER flood, how many of ten re-registrations of a known device succeed.

    python3 benchmarks/bench_gb28181_hostile.py --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1] / "tests"))
from _harness import machine, percentile, rss_bytes, stop_group

from camwatch.config.models import Camera, Config, Gb28181Keepalive, Gb28181Settings, MonitorSettings
from camwatch.monitor.service import Service
from camwatch.sim.gb28181_device import channel_ids
from support.hostile_devices import RawGbDevice

PLATFORM_ID = "34020000002000000001"
DOMAIN = "3402000000"
PASSWORD = "bench-gb-hostile"
KNOWN = "34020000001180000001"
ATTACKER = "34020000001180000099"  # registers with the valid password, then sends junk CmdTypes
FLOODS = ("idle", "catalog64k", "cmdtype", "register", "guess", "tcp")


# -- the attacking side (child process) ------------------------------------------------------------------


def flood(kind: str, port: int, seconds: float, rate: float) -> None:
    platform = ("127.0.0.1", port)
    end = time.monotonic() + seconds
    sent = 0

    def paced() -> bool:
        nonlocal sent
        sent += 1
        ahead = sent / rate - (time.monotonic() - (end - seconds))
        if ahead > 0:
            time.sleep(ahead)
        return time.monotonic() < end

    def dev(device_id: str, n: int, password: str = "", timeout: float = 0.05) -> RawGbDevice:
        host = f"127.0.{n // 250}.{n % 250 + 2}"
        return RawGbDevice(device_id, platform, PLATFORM_ID, DOMAIN, password, host=host, timeout=timeout)

    if kind == "catalog64k":
        items = "".join(f"<Item><DeviceID>{c}</DeviceID><Status>OFF</Status></Item>" for c in range(1150))
        body = f"<Response><CmdType>Catalog</CmdType><SN>1</SN><SumNum>1</SumNum><DeviceList>{items}"
        socks = [dev(KNOWN, n) for n in range(50)]
        payload = (body + "</DeviceList></Response>").encode()[:64000]
        while paced():
            s = socks[sent % len(socks)]
            s.send(s.request("MESSAGE", payload))
    elif kind == "cmdtype":
        attacker = dev(ATTACKER, 0, password=PASSWORD, timeout=1.0)
        assert attacker.register() == 200, "the attacker could not register"
        while paced():
            cmd = f"X{sent:08d}" + "y" * 30000
            attacker.send(attacker.request("MESSAGE", f"<Notify><CmdType>{cmd}</CmdType></Notify>".encode()))
    elif kind == "register":
        socks = [dev(KNOWN, n) for n in range(50)]
        while paced():
            s = socks[sent % len(socks)]
            s.send(s.request("REGISTER", from_id=f"3402000000132{sent:07d}"))
    elif kind == "guess":
        for n in range(60):
            dev(KNOWN, n + 100, timeout=0.2).register(3600, f"guess-{n}")
    elif kind == "tcp":
        import socket

        held = []
        for _ in range(500):
            s = socket.socket()
            s.bind(("127.0.0.9", 0))
            try:
                s.connect(platform)
            except OSError:
                break
            held.append(s)
        time.sleep(max(0.0, end - time.monotonic()))
    else:
        time.sleep(seconds)


# -- the measuring side ----------------------------------------------------------------------------------


async def scrape_loop(url: str, seconds: float) -> tuple[list[float], int]:
    took, size = [], 0
    end = time.monotonic() + seconds
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < end:
            start = time.perf_counter()
            async with session.get(url + "/metrics") as resp:
                size = len(await resp.read())
            took.append(time.perf_counter() - start)
            await asyncio.sleep(0.1)
    return took, size


async def measure(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-gb-hostile-"))
    port = args.port
    channels = channel_ids(KNOWN, 50)
    settings = Gb28181Settings(
        listen=f"127.0.0.1:{port}",
        id=PLATFORM_ID,
        domain=DOMAIN,
        keepalive=Gb28181Keepalive(interval=600.0, count=3),
    ).with_passwords({"": SecretStr(PASSWORD)})
    cfg = Config(
        source=tmp / "camwatch.yaml",
        cameras=tuple(Camera(id=f"ch-{c}", gb_id=c, gb_device=KNOWN) for c in channels),
        monitor=MonitorSettings(listen=f"127.0.0.1:{port + 1}", state=tmp / "state.db"),
        gb28181=settings,
    )
    svc = Service(cfg)
    await svc.start()
    assert svc.gb is not None
    known = RawGbDevice(KNOWN, ("127.0.0.1", port), PLATFORM_ID, DOMAIN, password=PASSWORD)
    assert await asyncio.to_thread(known.register) == 200
    query = await asyncio.to_thread(known.query, "Catalog")
    assert query is not None
    answer = known.catalog(dict.fromkeys(channels, "ON"), sn=known.sn_of(query))
    await asyncio.to_thread(known.reply, answer)
    print(machine())
    print(f"flood for {args.seconds:g} s each; /metrics scraped every 0.1 s; a known device, 50 channels")
    print("| flood | /metrics p50 / p95 | /metrics size | RSS before → after | dropped | other |")
    print("|---|---:|---:|---:|---|---|")
    try:
        for kind in args.floods:
            rate = {"catalog64k": 200.0, "cmdtype": 300.0, "register": 150.0}.get(kind, 1.0)
            before = dict(svc.gb.dropped)
            rss0 = rss_bytes()
            child = subprocess.Popen(
                [sys.executable, __file__, "--flood", kind, "--port", str(port),
                 "--seconds", str(args.seconds), "--rate", str(rate)],
                start_new_session=True,
            )  # fmt: skip
            other = ""
            try:
                scraping = asyncio.create_task(scrape_loop(svc.url, args.seconds))
                if kind == "tcp":
                    await asyncio.sleep(args.seconds / 2)
                    held = len(svc.gb.tcp.connections)
                    other = f"connections held mid-flood: {held} of 500 tried from one host"
                if kind == "register":
                    await asyncio.sleep(1.0)
                    outcomes = [await asyncio.to_thread(known.register) for _ in range(10)]
                    other = f"known device re-registered {outcomes.count(200)}/10"
                took, size = await scraping
                child.wait(timeout=60)
            finally:
                stop_group(child)
            await asyncio.sleep(1.0)  # what the socket buffers still hold is handled (and counted) here
            if kind == "guess":
                answered = svc.gb.messages[("REGISTER", "403")]
                other = f"403 answered: {answered} (of 60 guesses from 60 sources)"
            if kind == "cmdtype":
                other = f"counted as MESSAGE/other: {svc.gb.messages[('MESSAGE', 'other')]}"
            dropped = {k: v - before.get(k, 0) for k, v in svc.gb.dropped.items() if v - before.get(k, 0)}
            print(
                f"| {kind} | {percentile(took, 0.5) * 1000:.0f} / {percentile(took, 0.95) * 1000:.0f} ms "
                f"| {size / 1024:.0f} KiB | {rss0 / 2**20:.0f} → {rss_bytes() / 2**20:.0f} MiB "
                f"| {', '.join(f'{k} {v}' for k, v in sorted(dropped.items())) or '—'} | {other} |"
            )
    finally:
        known.close()
        await svc.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--port", type=int, default=15260)
    ap.add_argument("--floods", nargs="*", default=list(FLOODS), choices=FLOODS)
    ap.add_argument("--flood", choices=FLOODS, help=argparse.SUPPRESS)
    ap.add_argument("--rate", type=float, default=1.0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.flood:
        flood(args.flood, args.port, args.seconds, args.rate)
        return
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    asyncio.run(measure(args))


if __name__ == "__main__":
    main()
