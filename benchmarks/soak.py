"""Fault soak: the monitor service against a hostile simulated fleet, checked against the reliability bounds.

The fleet (benchmarks/profiles/soak.yaml: blackholed, slowloris, resetting, garbage and oversized replies,
flapping every 30 s, malformed ONVIF XML) runs in its own process and ``camwatch run`` in another, so the
fleet's load does not show up as the monitor's lateness. This process scrapes ``/metrics`` every second.

Bounds (reliability issue, point 1): scheduler lateness p99 under 10 % of the RTSP interval, ``/metrics``
p99 under 1 s, RSS growth bounded, no ERROR or traceback in the monitor's log, flapping debounced (a
flapping camera never changes state more often than it really flapped; a steadily faulty camera never).

    python3 benchmarks/soak.py --duration 600 [--cameras 1000] [--interval 10s]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import (
    PROFILES,
    Watch,
    error_lines,
    fleet_process,
    histogram,
    machine,
    monitor_config,
    monitor_process,
    percentile,
    quantile,
    since,
    watch_monitor,
)

from camwatch.config.models import parse_duration
from camwatch.sim.profiles import SimCamera, load_spec, plan

SOAK_PROFILE = PROFILES / "soak.yaml"
LATENESS = "camwatch_scheduler_lateness_seconds"
LATENESS_SHARE = 0.10  # of the RTSP interval, at p99
SCRAPE_P99 = 1.0
# RSS may grow this much from the end of the warm-up to the end (caches fill, SQLite pages, histories).
RSS_GROWTH_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class SoakReport:
    """Figures of one soak run; ``violations`` lists every bound it broke."""

    cameras: int
    duration: float
    interval: float
    warmup: float
    lateness_p99: float  # after the warm-up
    lateness_p99_all: float
    lateness_p50: float
    scrapes: int
    failed_scrapes: int
    scrape_p50: float
    scrape_p99: float
    scrape_max: float
    rss_warm: int
    rss_peak: int
    rss_end: int
    errors: tuple[str, ...]
    flapping_cameras: int
    flaps_seen: int
    flaps_max: int  # most state changes of one flapping camera
    flaps_allowed: int  # real up/down changes of a flapping camera over the run, at most
    steady_flapped: tuple[str, ...]  # steadily healthy or faulty cameras that changed up/down after the first
    results: dict[str, int]  # probe:result -> count, from camwatch_probes_total

    @property
    def violations(self) -> list[str]:
        found = []
        if not self.lateness_p99 < LATENESS_SHARE * self.interval:
            found.append(
                f"lateness p99 {self.lateness_p99:.3f} s >= {LATENESS_SHARE:.0%} of {self.interval:g} s"
            )
        if not self.scrape_p99 < SCRAPE_P99:
            found.append(f"/metrics p99 {self.scrape_p99:.3f} s >= {SCRAPE_P99:g} s")
        if self.failed_scrapes:
            found.append(f"{self.failed_scrapes} scrapes failed")
        if self.rss_end - self.rss_warm > RSS_GROWTH_BYTES:
            found.append(f"RSS grew {(self.rss_end - self.rss_warm) / 1e6:.0f} MB after the warm-up")
        if self.errors:
            found.append(f"{len(self.errors)} ERROR/traceback lines, first: {self.errors[0][:160]}")
        if self.flaps_max > self.flaps_allowed:
            found.append(
                f"a flapping camera changed {self.flaps_max} times, it flapped at most {self.flaps_allowed}"
            )
        if self.flapping_cameras and not self.flaps_seen:
            found.append("no flap of the flapping cameras was seen")
        if self.steady_flapped:
            found.append(f"steady cameras changed state: {', '.join(self.steady_flapped[:5])}")
        return found

    def lines(self) -> list[str]:
        mb = 1e6
        return [
            f"{self.cameras:,} cameras, RTSP interval {self.interval:g} s, {self.duration:g} s "
            f"(warm-up {self.warmup:g} s)",
            f"scheduler lateness: p50 {self.lateness_p50:.3f} s, p99 {self.lateness_p99:.3f} s "
            f"after the warm-up (bound < {LATENESS_SHARE * self.interval:g} s); "
            f"p99 {self.lateness_p99_all:.3f} s whole run",
            f"/metrics: {self.scrapes} scrapes, p50 {self.scrape_p50:.3f} s, p99 {self.scrape_p99:.3f} s, "
            f"max {self.scrape_max:.3f} s, failed {self.failed_scrapes} (bound p99 < {SCRAPE_P99:g} s)",
            f"RSS: {self.rss_warm / mb:.0f} MB after warm-up, peak {self.rss_peak / mb:.0f} MB, "
            f"end {self.rss_end / mb:.0f} MB (growth bound {RSS_GROWTH_BYTES / mb:.0f} MB)",
            f"flapping: {self.flapping_cameras} cameras, {self.flaps_seen} state changes seen, at most "
            f"{self.flaps_max} per camera (real flaps <= {self.flaps_allowed}); steady cameras that changed: "
            f"{len(self.steady_flapped)}",
            "probe results: " + ", ".join(f"{k} {v}" for k, v in sorted(self.results.items())),
            f"ERROR/traceback lines in the monitor log: {len(self.errors)}",
        ]


def _labelled(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Samples of ``name`` by their label pairs, read from exposition ``text``."""
    from prometheus_client.parser import text_string_to_metric_families

    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                out[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def run_soak(
    work: Path, *, cameras: int, duration: float, interval: str = "10s", port: int = 19641
) -> SoakReport:
    """Run the fleet and the monitor for ``duration`` seconds of watching and measure them."""
    spec = load_spec(SOAK_PROFILE)
    sims = plan(spec, count=cameras)
    seconds = parse_duration(interval)
    warmup = min(3 * seconds, duration / 3)
    with fleet_process(SOAK_PROFILE, work / "fleet", count=cameras) as fleet:
        fleet_started = time.monotonic()
        config = monitor_config(
            fleet.config,
            work / "fleet" / "soak.yaml",
            monitor={
                "listen": f"127.0.0.1:{port}",
                "state": str(work / "state.db"),
                "rtsp": {"interval": interval, "timeout": "5s"},
                "onvif": {"interval": "60s", "timeout": "5s"},
            },
        )
        with monitor_process(config, work / "monitor.log") as monitor:
            watch = asyncio.run(watch_monitor(monitor, duration=duration, every=1.0, warmup=warmup))
        fleet_seconds = time.monotonic() - fleet_started
        errors = tuple(error_lines(monitor.log))
    return _report(
        watch,
        sims,
        errors,
        cameras=cameras,
        duration=duration,
        interval=seconds,
        warmup=warmup,
        fleet_seconds=fleet_seconds,
    )


def _report(
    watch: Watch,
    sims: Sequence[SimCamera],
    errors: tuple[str, ...],
    *,
    cameras: int,
    duration: float,
    interval: float,
    warmup: float,
    fleet_seconds: float,
) -> SoakReport:
    lateness = histogram(watch.last, LATENESS)
    steady = since(lateness, histogram(watch.warm, LATENESS))
    flaps = {
        dict(k)["camera"]: int(v) for k, v in _labelled(watch.last, "camwatch_camera_flaps_total").items()
    }
    flapping = [c for c in sims if c.behaviour == "flapping"]
    period = min((c.period for c in flapping), default=math.inf)
    results = Counter(
        {
            f"{dict(k)['probe']}:{dict(k)['result']}": int(v)
            for k, v in _labelled(watch.last, "camwatch_probes_total").items()
        }
    )
    after = watch.after(warmup) or watch.scrape_seconds
    warm_index = next((i for i, t in enumerate(watch.elapsed) if t >= warmup), 0)
    return SoakReport(
        cameras=cameras,
        duration=duration,
        interval=interval,
        warmup=warmup,
        lateness_p99=quantile(steady, 0.99),
        lateness_p99_all=quantile(lateness, 0.99),
        lateness_p50=quantile(steady, 0.5),
        scrapes=len(watch.scrape_seconds),
        failed_scrapes=watch.failed_scrapes,
        scrape_p50=percentile(after, 0.5),
        scrape_p99=percentile(after, 0.99),
        scrape_max=max(after),
        rss_warm=watch.rss[warm_index],
        rss_peak=max(watch.rss),
        rss_end=watch.rss[-1],
        errors=errors,
        flapping_cameras=len(flapping),
        flaps_seen=sum(flaps.get(c.id, 0) for c in flapping),
        flaps_max=max((flaps.get(c.id, 0) for c in flapping), default=0),
        flaps_allowed=int(fleet_seconds // period) + 1 if flapping else 0,
        steady_flapped=tuple(c.id for c in sims if c.behaviour != "flapping" and flaps.get(c.id, 0)),
        results=dict(results),
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cameras", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of watching")
    parser.add_argument("--interval", default="10s", help="RTSP probe interval")
    parser.add_argument("--port", type=int, default=19641, help="exporter port")
    parser.add_argument(
        "--work", type=Path, help="keep config, logs and state here (default: a temporary folder)"
    )
    args = parser.parse_args(argv)
    print(f"machine: {machine()}; {time.strftime('%Y-%m-%d %H:%M')}; load {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="camwatch-soak-") as tmp:
        report = run_soak(
            args.work or Path(tmp),
            cameras=args.cameras,
            duration=args.duration,
            interval=args.interval,
            port=args.port,
        )
    print("\n".join(report.lines()))
    print(f"load at the end: {os.getloadavg()[0]:.1f}")
    problems = report.violations
    print("bounds: all met" if not problems else "bounds NOT met:\n  " + "\n  ".join(problems))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
