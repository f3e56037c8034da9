"""The monitor service at 10,000 cameras: /metrics scrape time, memory and scheduler lateness.

A healthy RTSP-only simulated fleet runs in one process and ``camwatch run`` (the real service: scheduler,
probes, SQLite state, exporter) in another; this process scrapes ``/metrics`` every few seconds for the
whole run, timing each scrape and sampling the service's RSS and CPU.

    python3 benchmarks/bench_service.py [--cameras 10000] [--duration 120] [--interval 60]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import (
    PROFILES,
    cpu_seconds,
    error_lines,
    fleet_process,
    histogram,
    machine,
    monitor_config,
    monitor_process,
    percentile,
    quantile,
    sample_value,
    since,
    watch_monitor,
)

LATENESS = "camwatch_scheduler_lateness_seconds"
GOAL_SCRAPE = 0.5
GOAL_RSS = 300e6


def met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cameras", type=int, default=10_000)
    parser.add_argument("--duration", type=float, default=120.0, help="seconds of watching")
    parser.add_argument("--interval", default="60s", help="RTSP probe interval")
    parser.add_argument("--scrape-every", type=float, default=2.0)
    parser.add_argument("--port", type=int, default=19640, help="exporter port")
    args = parser.parse_args(argv)
    print(f"machine: {machine()}; {time.strftime('%Y-%m-%d %H:%M')}")
    with tempfile.TemporaryDirectory(prefix="camwatch-bench-") as tmp:
        work = Path(tmp)
        with fleet_process(
            PROFILES / "healthy.yaml", work / "fleet", count=args.cameras, onvif=False
        ) as fleet:
            config = monitor_config(
                fleet.config,
                work / "fleet" / "service.yaml",
                monitor={
                    "listen": f"127.0.0.1:{args.port}",
                    "state": str(work / "state.db"),
                    "rtsp": {"interval": args.interval},
                },
            )
            with monitor_process(config, work / "service.log") as monitor:
                cpu = cpu_seconds(monitor.pid)
                # The first minute is the start-up spread and first rounds; lateness is also given after it.
                warmup = min(60.0, args.duration / 2)
                watch = asyncio.run(
                    watch_monitor(monitor, duration=args.duration, every=args.scrape_every, warmup=warmup)
                )
                cpu = cpu_seconds(monitor.pid) - cpu
            errors = error_lines(monitor.log)
    last = watch.last
    rtsp_ok = sample_value(last, "camwatch_probes_total", {"probe": "rtsp", "result": "ok"})
    up = sum(
        1 for line in last.splitlines() if line.startswith("camwatch_camera_up{") and line.endswith(" 1.0")
    )
    lateness = histogram(last, LATENESS)
    steady = since(lateness, histogram(watch.warm, LATENESS))
    scrape = watch.scrape_seconds
    p50, p99 = percentile(scrape, 0.5), percentile(scrape, 0.99)
    peak_rss = max(watch.rss)
    print(f"cameras {args.cameras:,}, RTSP interval {args.interval}, watched {args.duration:g} s")
    print(f"cameras up at the end: {up:,}; RTSP probes ok: {rtsp_ok:,.0f}")
    print(f"failed scrapes: {watch.failed_scrapes}")
    print(
        f"/metrics: {len(scrape)} scrapes, p50 {p50:.3f} s, p99 {p99:.3f} s, max {max(scrape):.3f} s, "
        f"{watch.body_bytes / 1e6:.1f} MB  (goal <= {GOAL_SCRAPE} s: {met(p99 <= GOAL_SCRAPE)})"
    )
    print(
        f"RSS: start {watch.rss[0] / 1e6:.0f} MB, peak {peak_rss / 1e6:.0f} MB, "
        f"end {watch.rss[-1] / 1e6:.0f} MB  (goal <= {GOAL_RSS / 1e6:.0f} MB: {met(peak_rss <= GOAL_RSS)})"
    )
    print(
        f"scheduler lateness: whole run p50 {quantile(lateness, 0.5):.3f} s, "
        f"p99 {quantile(lateness, 0.99):.3f} s; after {warmup:g} s p50 {quantile(steady, 0.5):.3f} s, "
        f"p99 {quantile(steady, 0.99):.3f} s"
    )
    print(f"service CPU: {cpu:.1f} s over {args.duration:g} s ({cpu / args.duration:.0%} of one core)")
    print(f"ERROR lines in the service log: {len(errors)}")
    for line in errors[:5]:
        print("  " + line[:200])


if __name__ == "__main__":
    main()
