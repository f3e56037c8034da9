"""Time the coverage report on a synthetic county and compare with a naive per-camera x per-road shapely loop.

Run: ``python benchmarks/bench_coverage.py`` (options: ``--help``). Prints the size of the county, the time of
each stage, the naive loop's time on a subset of cameras scaled up to all of them, and the ratio; then opens
the county's ``map.html`` in headless Chromium (tests/support/browser.py): the time to its first view
(Leaflet's ``load`` and the layers drawn: the first frame after the page's load event) and to the detail
layers drawn at street zoom. ``--also-map`` times other maps (an earlier build's) in the same run.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import shapely
from synthetic_county import County, synthetic_county, write_county

from camwatch.config.models import Config
from camwatch.coverage.command import log as command_log
from camwatch.coverage.command import run_coverage
from camwatch.coverage.mappage import DETAIL_ZOOM

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.browser import load_page

# The stage after measurement in run_coverage: what precedes it covers what the naive loop computes.
GAPS_STAGE = "finding gaps"


class StageLog(logging.Handler):
    """Times of the stages ``run_coverage`` announces (its debug log lines ``coverage: <stage>``)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.marks: list[tuple[str, float]] = []
        self.cpu: list[float] = []  # this process's CPU seconds at each mark (load moves them less)

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("coverage: "):  # not the report's own info and warnings
            self.marks.append((message.removeprefix("coverage: "), time.perf_counter()))
            self.cpu.append(time.process_time())

    def __enter__(self) -> StageLog:
        self.marks = [("setup", time.perf_counter())]
        self.cpu = [time.process_time()]
        command_log.addHandler(self)
        command_log.setLevel(logging.DEBUG)
        return self

    def __exit__(self, *exc: object) -> None:
        command_log.removeHandler(self)
        self.marks.append(("end", time.perf_counter()))
        self.cpu.append(time.process_time())

    def until(self, stage: str) -> float | None:
        """Seconds from the start to where ``stage`` began; None if it was not announced."""
        starts = dict(self.marks)
        return starts[stage] - self.marks[0][1] if stage in starts else None

    def durations(self) -> list[tuple[str, float]]:
        """(stage, seconds) for each announced stage, in order."""
        return [(name, end - start) for (name, start), (_, end) in itertools.pairwise(self.marks)]

    def cpu_durations(self) -> list[float]:
        """This process's CPU seconds in each announced stage, in order."""
        return [end - start for start, end in itertools.pairwise(self.cpu)]


@contextmanager
def timed(label: str, times: dict[str, float]) -> Iterator[None]:
    start = time.perf_counter()
    yield
    times[label] = time.perf_counter() - start
    print(f"  {label:<34} {times[label]:8.2f} s", flush=True)


def naive_sector(x: float, y: float, direction: float, hfov: float, reach: float) -> shapely.Polygon:
    """One camera's view the way a per-site tool draws it: a Python-built polygon (disc for 360°)."""
    if hfov >= 360:
        return shapely.Point(x, y).buffer(reach)
    steps = 32
    angles = [math.radians(direction - hfov / 2 + hfov * i / steps) for i in range(steps + 1)]
    return shapely.Polygon([(x, y), *((x + reach * math.sin(a), y + reach * math.cos(a)) for a in angles)])


def naive_covered_length(county: County, cameras: int) -> tuple[float, float]:
    """Seconds and metres of road seen for the first ``cameras`` cameras, testing every road for each."""
    roads = list(county.roads.geometry)
    start = time.perf_counter()
    seen = 0.0
    for camera in county.cameras.head(cameras).itertuples():
        sector = naive_sector(
            camera.geometry.x, camera.geometry.y, camera.direction, camera.hfov, camera.range
        )
        for road in roads:
            if sector.intersects(road):
                seen += sector.intersection(road).length
    return time.perf_counter() - start, seen


# Milliseconds from navigation to the first frame drawn after the page's load event (Leaflet's ``load`` fires
# when the page's script fits the view, before it).
FIRST_VIEW = (
    "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(performance.now()))))"
)
# Milliseconds from zooming to street level (the middle of the view) to every detail file read and drawn
# (after "moveend", when the map has asked for the tiles around the view).
STREET_VIEW = """new Promise(done => {
    const map = Object.values(window).find(v => v instanceof L.Map);
    const start = performance.now();
    map.once("moveend", function wait() {
        const asked = document.querySelectorAll("script[src]").length;
        if (typeof camwatchDetails !== "undefined" && camwatchDetails.size < asked) {
            setTimeout(wait, 20);
            return;
        }
        requestAnimationFrame(() => requestAnimationFrame(() => done(performance.now() - start)));
    });
    map.setZoom(%d);
})"""


def time_map(path: Path, runs: int, street_zoom: int) -> None:
    """Open ``path`` ``runs`` times in a fresh headless Chromium; print the first view's and street view's
    times and the size of the page and the files beside it."""
    beside = path.parent / f"{path.stem}_files"
    extra = sum(f.stat().st_size for f in beside.iterdir()) if beside.is_dir() else 0
    files = len(list(beside.iterdir())) if beside.is_dir() else 0
    print(f"  {path}: page {path.stat().st_size / 1e6:.1f} MB, {files} detail files {extra / 1e6:.1f} MB")
    first, street = [], []
    for _ in range(runs):
        page = load_page(
            path.as_uri(),
            settle_s=0,
            evaluate={"first": FIRST_VIEW, "street": STREET_VIEW % street_zoom},
            timeout_s=120,
        )
        if page.errors:
            print(f"    errors: {page.errors[:3]}")
        first.append(page.values["first"] / 1000)
        street.append(page.values["street"] / 1000)
    for label, times in (("first view", first), (f"zoom {street_zoom}", street)):
        runs_text = ", ".join(f"{t:.2f}" for t in times)
        print(f"    {label:<12} {statistics.median(times):6.2f} s (runs: {runs_text})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--roads", type=int, default=50_000, help="road segments (default 50,000)")
    parser.add_argument("--cameras", type=int, default=10_000, help="cameras (default 10,000)")
    parser.add_argument(
        "--buildings", type=int, default=100_000, help="building footprints (default 100,000)"
    )
    parser.add_argument("--naive-cameras", type=int, default=100, help="cameras the naive loop runs on")
    parser.add_argument(
        "--max-suggestions",
        type=int,
        help="cap on suggested cameras (default: the settings' default; 0 skips)",
    )
    parser.add_argument(
        "--keep", type=Path, help="write the county layers and the report here, and keep them"
    )
    parser.add_argument("--map-runs", type=int, default=3, help="times each map is opened (default 3)")
    parser.add_argument("--also-map", type=Path, nargs="*", default=[], help="other map.html files to time")
    args = parser.parse_args(argv)

    times: dict[str, float] = {}
    print("synthetic county")
    with timed("generate", times):
        county = synthetic_county(road_segments=args.roads, cameras=args.cameras, buildings=args.buildings)
    print(
        f"  {len(county.roads):,} road segments ({county.roads.length.sum() / 1000:,.0f} km), "
        f"{len(county.cameras):,} cameras, {len(county.buildings):,} buildings, "
        f"{len(county.sites):,} key sites, "
        f"{len(county.areas):,} areas"
    )
    with tempfile.TemporaryDirectory(prefix="camwatch-bench-") as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        with timed("write layers (GeoPackage)", times):
            cameras, settings = write_county(county, folder)

        print("coverage report (camwatch run_coverage)")
        if args.max_suggestions is not None:
            settings = settings.model_copy(update={"max_suggestions": args.max_suggestions})
        config = Config(source=folder / "camwatch.yaml", cameras=tuple(cameras), coverage=settings)
        before = os.times()
        with timed("full report", times), StageLog() as stages:
            document = run_coverage(config, folder / "report")
        after = os.times()
        print(f"    {'stage':<32} {'wall':>8}   {'CPU':>6}")
        for (name, seconds), cpu in zip(stages.durations(), stages.cpu_durations(), strict=True):
            print(f"    {name:<32} {seconds:8.2f} s {cpu:6.2f} s")
        # CPU seconds move less than wall seconds when the machine is shared; a forked writer counts apart.
        own = (after.user - before.user) + (after.system - before.system)
        children = (after.children_user - before.children_user) + (
            after.children_system - before.children_system
        )
        print(f"  CPU: {own:.2f} s in this process, {children:.2f} s in child processes")
        sizes = ", ".join(
            f"{p.name} {p.stat().st_size / 1e6:.1f} MB" for p in sorted((folder / "report").iterdir())
        )
        print(f"  files: {sizes}")
        totals = document["categories"]
        print("  coverage: " + ", ".join(f"{name} {entry['ratio']:.1%}" for name, entry in totals.items()))

        print("map.html in headless Chromium (median of runs)")
        for path in (folder / "report" / "map.html", *args.also_map):
            time_map(path, args.map_runs, DETAIL_ZOOM)

        print(f"naive loop (shapely, every road for each camera) on {args.naive_cameras} cameras")
        naive_s, naive_m = naive_covered_length(county, args.naive_cameras)
        per_camera = naive_s / args.naive_cameras
        estimate = per_camera * len(county.cameras)
        print(f"  {naive_s:.2f} s ({per_camera * 1000:.0f} ms per camera, {naive_m:,.0f} m of road seen)")
        print(f"  scaled to {len(county.cameras):,} cameras: {estimate:,.0f} s ({estimate / 60:.1f} min), "
              "road length only: no buildings, sites, areas, gaps or placement")  # fmt: skip
        print(f"ratio naive / camwatch full report: {estimate / times['full report']:,.1f}x")
        measured = stages.until(GAPS_STAGE)
        if measured is not None:
            print(
                f"ratio naive / camwatch until '{GAPS_STAGE}' (coverage known): {estimate / measured:,.1f}x"
            )


if __name__ == "__main__":
    main()
