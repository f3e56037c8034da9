"""The monitor service at 10,000–100,000 cameras: memory, CPU, /metrics scrape time, scheduler lateness.

A healthy RTSP-only simulated fleet runs in one process and ``camwatch run`` (the real service: scheduler,
default probes, SQLite state, exporter, HTTP) in another; a real Prometheus (``/usr/bin/prometheus``) scrapes
``/metrics`` every 15 s, and this process samples each process's CPU and memory and reads ``/metrics``
itself now and then (lateness histogram, probe times).

The script first re-runs itself inside a network namespace of its own (``unshare --net``, loopback brought
up, no other interface), where the fleet answers every camera address from one wildcard listener per port
(``camwatch simulate --wildcard``). Where namespaces are unavailable it says so and falls back to one
listener per camera (which needs an open file per camera and far more of the fleet's CPU).

    python3 benchmarks/bench_service.py [--cameras 10000] [--duration 120] [--interval 60s]
        [--no-netns] [--no-prometheus] [--scrape-every S]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import (
    PROFILES,
    Usage,
    error_lines,
    family_lines,
    fleet_process,
    histogram,
    in_own_namespace,
    load_average,
    machine,
    memory_map,
    monitor_config,
    monitor_process,
    percentile,
    prometheus_process,
    prometheus_query,
    quantile,
    reexec_in_namespace,
    reset_high_water,
    rss_high_water,
    sample_value,
    since,
    watch_monitor,
)

LATENESS = "camwatch_scheduler_lateness_seconds"
LAST = "camwatch_probe_last_timestamp_seconds"
GOAL_SCRAPE = 1.0
GOAL_LATENESS = 2.0
JITTER = 0.1  # monitor.rtsp.jitter's default: a round may come interval × 5 % later than the interval
_SAMPLE = re.compile(r'camera="([^"]*)".*probe="rtsp"[^}]*\} (\S+)')


def met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def goal_rss(cameras: int) -> float:
    """The issue's goals: 300 MB at 10,000 cameras, 1 GB at 50,000 (and above)."""
    return 300e6 if cameras <= 10_000 else 1e9


def seconds(text: str) -> float:
    units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    match = re.fullmatch(r"([\d.]+)(ms|s|m|h)?", text)
    if match is None:
        raise SystemExit(f"--interval: {text!r} is not a duration like 60s")
    return float(match.group(1)) * units[match.group(2) or "s"]


def skipped_rounds(text: str, at: float, interval: float) -> tuple[int, int]:
    """Cameras whose last RTSP probe is older than one interval (with its jitter) plus the lateness goal at
    wall time ``at``, and how many cameras have an RTSP probe time at all."""
    allowed = interval * (1 + JITTER / 2) + GOAL_LATENESS
    late = seen = 0
    for match in _SAMPLE.finditer(family_lines(text, LAST)):
        seen += 1
        if at - float(match.group(2)) > allowed:
            late += 1
    return late, seen


def print_traced(path: Path, cameras: int) -> None:
    """The service's tracemalloc listing (``_traced_run.py``), with bytes per camera."""
    if not path.exists():
        print(f"tracemalloc: no snapshot was written ({path.name}); was --tracemalloc within the run?")
        return
    head, *rows = path.read_text().splitlines()
    total = int(head.split()[1])
    print(f"tracemalloc: {head}; {total / cameras:,.0f} bytes a camera (imports included)")
    for row in rows[:25]:
        size, count, where = row.split("\t")
        print(
            f"  {int(size) / 1e6:8.1f} MB {int(size) / cameras:8,.0f} B/camera "
            f"{int(count):>9,} blocks  {where}"
        )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cameras", type=int, default=10_000)
    parser.add_argument("--duration", type=float, default=120.0, help="seconds of watching")
    parser.add_argument("--interval", default="60s", help="RTSP probe interval")
    parser.add_argument(
        "--scrape-every",
        type=float,
        default=None,
        help="this script's own reads of /metrics (default: 60 s beside Prometheus, 2 s without)",
    )
    parser.add_argument("--prometheus-every", type=float, default=15.0, help="Prometheus scrape interval")
    parser.add_argument("--no-prometheus", action="store_true", help="this script scrapes alone")
    parser.add_argument("--no-netns", action="store_true", help="one listener per camera, no namespace")
    parser.add_argument("--port", type=int, default=19640, help="exporter port")
    parser.add_argument(
        "--base-address",
        default=None,
        help="the fleet's first address (outside a namespace: one nobody uses)",
    )
    parser.add_argument(
        "--tracemalloc",
        type=float,
        default=None,
        metavar="AT",
        help="run the service under tracemalloc and list what it holds AT seconds after it started (the "
        "RSS and times of such a run are not the service's own)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the service's event loop over the watch (slows it)"
    )
    parser.add_argument(
        "--no-video",
        action="store_true",
        help="no video checks (to see what they cost; not the default probes)",
    )
    parser.add_argument("--keep-state", type=Path, default=None, help="copy the state database here")
    args = parser.parse_args(argv)
    argv = list(sys.argv[1:] if argv is None else argv)
    if not args.no_netns and not in_own_namespace():
        why = reexec_in_namespace([str(Path(__file__).resolve()), *argv])  # exits when it could
        print(f"NOTE: no network namespace ({why}); falling back to one listener per camera")
    wildcard = in_own_namespace()
    use_prometheus = not args.no_prometheus and shutil.which("prometheus") is not None
    every = args.scrape_every or (60.0 if use_prometheus else 2.0)
    interval = seconds(args.interval)
    print(f"machine: {machine()}; {time.strftime('%Y-%m-%d %H:%M')}; load average {load_average()}")
    print(
        "fleet: "
        + (
            "one wildcard listener per port, in a network namespace of its own"
            if wildcard
            else "one listener per camera"
        )
    )
    with tempfile.TemporaryDirectory(prefix="camwatch-bench-") as tmp:
        work = Path(tmp)
        began = time.monotonic()
        with fleet_process(
            PROFILES / "healthy.yaml",
            work / "fleet",
            count=args.cameras,
            onvif=False,
            wildcard=wildcard,
            base_address=args.base_address,
        ) as fleet:
            print(f"fleet ready in {time.monotonic() - began:.0f} s", flush=True)
            config = monitor_config(
                fleet.config,
                work / "fleet" / "service.yaml",
                monitor={
                    "listen": f"127.0.0.1:{args.port}",
                    "state": str(work / "state.db"),
                    "rtsp": {"interval": args.interval},
                    # "No video": a check so rare that none falls in the run.
                    **({"video": {"interval": "30d"}} if args.no_video else {}),
                },
            )
            began = time.monotonic()
            traced: tuple[str, ...] = ()
            if args.tracemalloc:
                traced = ("tracemalloc", f"{args.tracemalloc:g}", str(work / "tracemalloc.txt"))
            elif args.profile:
                traced = ("profile", str(work / "profile.txt"))
            with monitor_process(config, work / "service.log", start_timeout=600.0, traced=traced) as monitor:
                print(f"service healthy in {time.monotonic() - began:.0f} s", flush=True)
                service, fleet_use = Usage(monitor.pid).start(), Usage(fleet.pid).start()
                # The start-up peak (loading the ledger) apart from the peak while monitoring.
                startup_peak = rss_high_water(monitor.pid)
                if args.profile:
                    os.kill(monitor.pid, signal.SIGUSR1)
                if not reset_high_water(monitor.pid):
                    print("NOTE: cannot reset VmHWM: the peak below includes start-up")
                scraper = (
                    prometheus_process(
                        work / "prometheus", f"127.0.0.1:{args.port}", every=args.prometheus_every
                    )
                    if use_prometheus
                    else contextlib.nullcontext()
                )
                with scraper as prom:
                    prom_use = Usage(prom.pid).start() if prom else None
                    prom_scrapes: list[float] = []
                    failed = 0
                    samples: list[dict[str, Any]] = []
                    run_start = time.time()
                    # The first minute is the start-up spread and first rounds: lateness also after it.
                    warmup = min(60.0, args.duration / 2)
                    watch = asyncio.run(
                        watch_monitor(
                            monitor, duration=args.duration, every=every, warmup=warmup, scrape_timeout=120.0
                        )
                    )
                    if args.profile:
                        os.kill(monitor.pid, signal.SIGUSR2)
                    service.stop(), fleet_use.stop()
                    mapped = memory_map(monitor.pid)
                    load_end = load_average()
                    if prom and prom_use:
                        prom_use.stop()
                        window = f"{int(time.time() - run_start) + 1}s"
                        raw = prometheus_query(
                            prom.url, f'scrape_duration_seconds{{job="camwatch"}}[{window}]'
                        )
                        prom_scrapes = [float(v) for _, v in raw[0]["values"]] if raw else []
                        ups = prometheus_query(prom.url, f'up{{job="camwatch"}}[{window}]')
                        failed = sum(1 for _, v in ups[0]["values"] if v == "0") if ups else 0
                        samples = prometheus_query(prom.url, 'scrape_samples_scraped{job="camwatch"}')
                if args.keep_state:
                    shutil.copy(work / "state.db", args.keep_state)
            errors = error_lines(monitor.log)
            if args.tracemalloc:
                print_traced(work / "tracemalloc.txt", args.cameras)
            elif args.profile:
                for _ in range(60):  # the profile is written by the service's loop, when it gets to it
                    if (work / "profile.txt").exists():
                        break
                    time.sleep(1)
                profile = work / "profile.txt"
                print(profile.read_text() if profile.exists() else "profile: none was written")
    last = watch.last
    rtsp_ok = sample_value(last, "camwatch_probes_total", {"probe": "rtsp", "result": "ok"})
    rtsp_ok_warm = sample_value(watch.warm, "camwatch_probes_total", {"probe": "rtsp", "result": "ok"})
    video = sum(
        float(line.rsplit(" ", 1)[1])
        for line in family_lines(last, "camwatch_probes_total").splitlines()
        if line.startswith('camwatch_probes_total{probe="video"')
    )
    up = sum(1 for line in family_lines(last, "camwatch_camera_up").splitlines() if line.endswith(" 1.0"))
    lateness = histogram(last, LATENESS)
    steady = since(lateness, histogram(watch.warm, LATENESS))
    late, seen = skipped_rounds(last, watch.last_at, interval)
    print(f"cameras {args.cameras:,}, RTSP interval {args.interval}, watched {args.duration:g} s")
    print(f"load average at the end (1, 5, 15 min): {load_end} — the 2 cores are shared with other sessions")
    print(f"cameras up at the end: {up:,}; RTSP probes ok: {rtsp_ok:,.0f}; video checks: {video:,.0f}")
    print(
        f"RTSP probes ok after the warm-up: {rtsp_ok - rtsp_ok_warm:,.0f} "
        f"(≈ one per camera per interval would be {args.cameras * (args.duration - warmup) / interval:,.0f})"
    )
    print(
        f"rounds skipped: {late + args.cameras - seen:,} cameras without an RTSP probe in the last "
        f"{interval * (1 + JITTER / 2) + GOAL_LATENESS:g} s ({args.cameras - seen:,} never probed)  "
        f"(goal 0: {met(late + args.cameras - seen == 0)})"
    )
    if use_prometheus:
        p50, p99 = percentile(prom_scrapes, 0.5), percentile(prom_scrapes, 0.99)
        print(
            f"/metrics by Prometheus every {args.prometheus_every:g} s: {len(prom_scrapes)} scrapes, "
            f"p50 {p50:.3f} s, p99 {p99:.3f} s, max {max(prom_scrapes, default=float('nan')):.3f} s, "
            f"{failed} failed  (goal p99 <= {GOAL_SCRAPE:g} s: {met(p99 <= GOAL_SCRAPE)})"
        )
        if samples:
            print(f"Prometheus: {float(samples[0]['value'][1]):,.0f} samples a scrape")
        print(prom_use.line("Prometheus") if prom_use else "")
    scrape = watch.scrape_seconds
    print(
        f"/metrics by this script every {every:g} s: {len(scrape)} scrapes, "
        f"p50 {percentile(scrape, 0.5):.3f} s, p99 {percentile(scrape, 0.99):.3f} s, "
        f"max {max(scrape, default=float('nan')):.3f} s, {watch.body_bytes / 1e6:.1f} MB, "
        f"{watch.failed_scrapes} failed"
    )
    peak = max(watch.rss_high_water, *watch.rss)
    goal = goal_rss(args.cameras)
    print(
        f"service RSS: peak while starting {startup_peak / 1e6:.0f} MB; watched: start "
        f"{watch.rss[0] / 1e6:.0f} MB, peak {peak / 1e6:.0f} MB (VmHWM), end {watch.rss[-1] / 1e6:.0f} MB"
        f"  (goal <= {goal / 1e6:.0f} MB: {met(max(peak, startup_peak) <= goal)})"
    )
    print(
        f"scheduler lateness: whole run p50 {quantile(lateness, 0.5):.3f} s, "
        f"p99 {quantile(lateness, 0.99):.3f} s; after {warmup:g} s p50 {quantile(steady, 0.5):.3f} s, "
        f"p99 {quantile(steady, 0.99):.3f} s  "
        f"(goal p99 <= {GOAL_LATENESS:g} s: {met(quantile(steady, 0.99) <= GOAL_LATENESS)})"
    )
    tenth = max(1, len(watch.rss) // 10)
    print("service RSS over the run, MB: " + " ".join(f"{r / 1e6:.0f}" for r in watch.rss[::tenth]))
    print(
        "service RSS at the end by mapping, MB: "
        + ", ".join(
            f"{k} {v / 1e6:.0f}" for k, v in sorted(mapped.items(), key=lambda kv: -kv[1]) if v >= 1e6
        )
    )
    print(service.line("service") + f"  (goal <= 1 core: {met(service.cpu <= service.wall)})")
    print(fleet_use.line("fleet"))
    print(f"ERROR lines in the service log: {len(errors)}")
    for line in errors[:5]:
        print("  " + line[:200])


if __name__ == "__main__":
    main()
