"""Liveness sweep side by side: camwatch's RTSP probe, Prometheus' blackbox_exporter and a naive asyncio loop.

For each fleet size a healthy, RTSP-only simulated fleet runs in its own process. Then, one tool after the
other, each probes every camera once:

- camwatch: the real Service objects (scheduler, debounced tracker, SQLite state store; no HTTP) run one
  liveness sweep (``Scheduler.run_once``, OPTIONS + DESCRIBE with Digest) on uvloop, then flush state;
- blackbox_exporter 0.23: ``tcp`` module with ``query_response`` (``OPTIONS *``, expect ``^RTSP/1.0 200``),
  driven through ``/probe`` by an aiohttp client at the same concurrency; its own process's CPU is counted;
- naive: a plain asyncio streams loop sending OPTIONS only.

CPU is each tool's own process (the fleet and, for blackbox_exporter, the HTTP client are not counted).

    python3 benchmarks/bench_liveness.py --cameras 1000 10000 [--rounds 3] [--profile-out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import uvloop

from camwatch.config.load import load_config
from camwatch.config.models import Config
from camwatch.monitor.probes.base import ProbeCaches
from camwatch.monitor.service import Service

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import PROFILES, cpu_seconds, fleet_process, machine, stop_group

BLACKBOX = "prometheus-blackbox-exporter"
BLACKBOX_MODULE = "rtsp_options"
# blackbox_exporter appends "\n" to each ``send``, which completes the request's blank line.
BLACKBOX_CONFIG = """\
modules:
  rtsp_options:
    prober: tcp
    timeout: 5s
    tcp:
      preferred_ip_protocol: ip4
      query_response:
        - send: "OPTIONS * RTSP/1.0\\r\\nCSeq: 1\\r\\n\\r"
        - expect: "^RTSP/1.0 200"
"""
GOAL_CPU_PER_1000 = 0.25
GOAL_SWEEP_10000 = 5.0


@dataclass(frozen=True, slots=True)
class Run:
    """One tool's sweep over the fleet."""

    tool: str
    cameras: int
    ok: int
    wall: float
    cpu: float
    fleet_cpu: float = 0.0  # the simulated fleet's CPU over the same sweep

    @property
    def rate(self) -> float:
        return self.cameras / self.wall

    @property
    def cpu_per_1000(self) -> float:
        return self.cpu / self.cameras * 1000


# -- camwatch ----------------------------------------------------------------------------------------------


def with_concurrency(config: Config, concurrency: int, state: Path) -> Config:
    monitor = config.monitor.model_copy(update={"concurrency": concurrency, "state": state})
    return config.model_copy(update={"monitor": monitor})


async def camwatch_sweep(config: Config, caches: ProbeCaches) -> tuple[int, float, float]:
    """One liveness sweep through the service's scheduler, tracker and state store: (ok, wall, cpu).

    ``caches``: what the probes keep between rounds (remembered challenges, parsed URLs), one for every round
    of a fleet, as a running service keeps its own for its life: only the first round meets the challenge."""
    service = Service(config)
    service.scheduler.caches = caches
    cpu, wall = cpu_seconds(), time.perf_counter()
    await service.scheduler.run_once(kinds=["rtsp"])  # a liveness sweep only
    await service.flush()
    wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    service.store.close()
    return service.probes_total[("rtsp", "ok")], wall, cpu


def run_camwatch(
    config: Config, work: Path, round_no: int, profile_out: Path | None, caches: ProbeCaches
) -> Run:
    config = with_concurrency(config, config.monitor.concurrency, work / f"state-{round_no}.db")
    profiler = cProfile.Profile() if profile_out else None
    if profiler:
        profiler.enable()
    ok, wall, cpu = uvloop.run(camwatch_sweep(config, caches))
    if profiler and profile_out:
        profiler.disable()
        profiler.dump_stats(profile_out)
    return Run("camwatch", len(config.cameras), ok, wall, cpu)


# -- blackbox_exporter -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def drive_blackbox(base: str, targets: Sequence[str], concurrency: int) -> int:
    """Ask blackbox_exporter to probe every target once; returns how many succeeded."""
    gate = asyncio.Semaphore(concurrency)
    timeout = aiohttp.ClientTimeout(total=30)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def one(target: str) -> bool:
            async with gate:
                params = {"target": target, "module": BLACKBOX_MODULE}
                async with session.get(f"{base}/probe", params=params) as reply:
                    return "\nprobe_success 1" in await reply.text()

        return sum(await asyncio.gather(*(one(t) for t in targets)))


def run_blackbox(targets: Sequence[str], concurrency: int, work: Path) -> Run:
    config = work / "blackbox.yml"
    config.write_text(BLACKBOX_CONFIG)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [BLACKBOX, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=(work / "blackbox.log").open("wb"),
        start_new_session=True,
    )
    try:
        asyncio.run(wait_ready(base))
        cpu, wall = cpu_seconds(proc.pid), time.perf_counter()
        ok = uvloop.run(drive_blackbox(base, targets, concurrency))
        wall, cpu = time.perf_counter() - wall, cpu_seconds(proc.pid) - cpu
    finally:
        stop_group(proc)
    return Run("blackbox_exporter", len(targets), ok, wall, cpu)


async def wait_ready(base: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(f"{base}/-/healthy") as reply:
                    if reply.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{BLACKBOX} not ready within {timeout:g} s")
            await asyncio.sleep(0.1)


# -- naive reference ---------------------------------------------------------------------------------------


async def naive_sweep(targets: Sequence[tuple[str, int]], concurrency: int, timeout: float) -> int:
    """OPTIONS to every camera with asyncio streams: connect, send, read the head, check the status line."""
    gate = asyncio.Semaphore(concurrency)

    async def one(host: str, port: int) -> bool:
        async with gate:
            try:
                async with asyncio.timeout(timeout):
                    reader, writer = await asyncio.open_connection(host, port)
                    try:
                        writer.write(b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n")
                        head = await reader.readuntil(b"\r\n\r\n")
                    finally:
                        writer.close()
                return head.startswith(b"RTSP/1.0 200")
            except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                return False

    return sum(await asyncio.gather(*(one(h, p) for h, p in targets)))


def run_naive(targets: Sequence[tuple[str, int]], concurrency: int, timeout: float) -> Run:
    cpu, wall = cpu_seconds(), time.perf_counter()
    ok = asyncio.run(naive_sweep(targets, concurrency, timeout))
    wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    return Run("naive asyncio", len(targets), ok, wall, cpu)


# -- driver ------------------------------------------------------------------------------------------------


def median_run(runs: Sequence[Run]) -> Run:
    """The round with the median wall time (its CPU goes with it)."""
    return sorted(runs, key=lambda r: r.wall)[len(runs) // 2]


def bench_size(count: int, *, rounds: int, concurrency: int, profile_out: Path | None) -> list[Run]:
    with tempfile.TemporaryDirectory(prefix="camwatch-bench-") as tmp:
        work = Path(tmp)
        with fleet_process(PROFILES / "healthy.yaml", work / "fleet", count=count, onvif=False) as fleet:
            config = with_concurrency(load_config(fleet.config), concurrency, work / "state.db")
            endpoints = [urlsplit(c.rtsp_url or "") for c in config.cameras]
            targets = [(u.hostname or "", u.port or 554) for u in endpoints]
            timeout = config.monitor.rtsp.timeout
            caches = ProbeCaches()
            tools: list[tuple[str, Callable[[int], Run]]] = [
                (
                    "camwatch",
                    lambda i: run_camwatch(config, work, i, profile_out if i == 0 else None, caches),
                ),
                (
                    "blackbox_exporter",
                    lambda i: run_blackbox([f"{h}:{p}" for h, p in targets], concurrency, work),
                ),
                ("naive asyncio", lambda i: run_naive(targets, concurrency, timeout)),
            ]
            results = []
            for name, run in tools:
                runs = []
                for i in range(rounds):
                    before = cpu_seconds(fleet.pid)
                    r = replace(run(i), fleet_cpu=cpu_seconds(fleet.pid) - before)
                    print(
                        f"  {name:18} {count:6d} cameras  wall {r.wall:6.2f} s  cpu {r.cpu:6.2f} s  "
                        f"fleet cpu {r.fleet_cpu:6.2f} s  ok {r.ok}  load {os.getloadavg()[0]:.1f}",
                        file=sys.stderr,
                    )
                    runs.append(r)
                results.append(median_run(runs))
            return results


def table(results: Sequence[Run]) -> str:
    lines = [
        "| tool | cameras | ok | wall s | cameras/s | CPU-s per 1,000 probes | fleet CPU-s per 1,000 |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.tool} | {r.cameras:,} | {r.ok:,} | {r.wall:.2f} | {r.rate:,.0f} | {r.cpu_per_1000:.3f} "
            f"| {r.fleet_cpu / r.cameras * 1000:.3f} |"
        )
    return "\n".join(lines)


def ratios(results: Sequence[Run]) -> str:
    lines = []
    for count in sorted({r.cameras for r in results}):
        by_tool = {r.tool: r for r in results if r.cameras == count}
        cw, bb = by_tool["camwatch"], by_tool["blackbox_exporter"]
        lines.append(
            f"{count:,} cameras: camwatch vs blackbox_exporter: {cw.rate / bb.rate:.2f}x the rate, "
            f"{bb.cpu_per_1000 / cw.cpu_per_1000:.2f}x less CPU per probe; "
            f"goals: CPU {cw.cpu_per_1000:.3f} <= {GOAL_CPU_PER_1000} "
            f"{'met' if cw.cpu_per_1000 <= GOAL_CPU_PER_1000 else 'NOT met'}"
            + (
                f", sweep {cw.wall:.2f} s <= {GOAL_SWEEP_10000:g} s "
                f"{'met' if cw.wall <= GOAL_SWEEP_10000 else 'NOT met'}"
                if count == 10_000
                else ""
            )
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cameras", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--rounds", type=int, default=3, help="sweeps per tool and size (median reported)")
    parser.add_argument("--concurrency", type=int, default=512, help="probes in flight, every tool")
    parser.add_argument(
        "--profile-out", type=Path, help="cProfile of camwatch's first sweep at the last size"
    )
    args = parser.parse_args(argv)
    print(f"machine: {machine()}; {time.strftime('%Y-%m-%d %H:%M')}; load {os.getloadavg()[0]:.1f}")
    results: list[Run] = []
    for count in args.cameras:
        profile = args.profile_out if count == args.cameras[-1] else None
        results += bench_size(count, rounds=args.rounds, concurrency=args.concurrency, profile_out=profile)
    print(table(results))
    print(ratios(results))
    if args.profile_out:
        pstats.Stats(str(args.profile_out)).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
