"""Time a synthetic city's coverage: five synthetic counties, their reports in parallel, then the roll-up.

Run: ``python benchmarks/bench_city_coverage.py`` (options: ``--help``). Generates the counties side by side
(benchmarks/synthetic_county.py), runs ``camwatch coverage``'s ``run_coverage`` on each, ``--workers`` at a
time, each county in a fresh process (so that its peak RSS is its own), then ``camwatch report
coverage-city``'s roll-up; then the same counties one after another, for the ratio. Prints the wall time,
each county's time, CPU time and peak RSS (VmHWM), and the most memory two counties running together held.
"""

from __future__ import annotations

import argparse
import multiprocessing
import pickle
import resource
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from synthetic_county import ORIGIN, synthetic_county, write_county

# Counties sit this far apart (metres east), more than the side of a 50,000-segment county (~28 km).
COUNTY_STRIDE = 40_000.0


@dataclass(frozen=True)
class CountyRun:
    name: str
    seconds: float
    cpu_seconds: float
    peak_rss_bytes: int
    started: float
    ended: float


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss() -> int:
    """This process's peak resident set (VmHWM), in bytes; getrusage's maxrss where /proc is missing."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def prepare_county(index: int, folder: Path, sizes: tuple[int, int, int]) -> str:
    """Generate county ``index`` into ``folder`` (layers and a pickled camera list and settings)."""
    roads, cameras, buildings = sizes
    name = f"County {index + 1}"
    county = synthetic_county(
        road_segments=roads,
        cameras=cameras,
        buildings=buildings,
        seed=7 + index,
        name=name,
        origin=(ORIGIN[0] + index * COUNTY_STRIDE, ORIGIN[1]),
    )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "county.pickle").write_bytes(pickle.dumps(write_county(county, folder)))
    return name


def county_report(folder: Path, out: Path) -> CountyRun:
    """Run the coverage report of the county in ``folder`` into ``out`` (in a fresh worker process)."""
    from camwatch.config.models import Config
    from camwatch.coverage.command import run_coverage

    cameras, settings = pickle.loads((folder / "county.pickle").read_bytes())
    config = Config(source=folder / "camwatch.yaml", cameras=tuple(cameras), coverage=settings)
    started = time.time()
    start, cpu = time.perf_counter(), _cpu_seconds()
    run_coverage(config, out)
    seconds = time.perf_counter() - start
    return CountyRun(folder.name, seconds, _cpu_seconds() - cpu, _peak_rss(), started, time.time())


def run_all(folders: list[Path], outs: list[Path], workers: int) -> tuple[float, list[CountyRun]]:
    """Wall seconds and each county's run, ``workers`` at a time, each county in its own spawned process."""
    context = multiprocessing.get_context("spawn")
    start = time.perf_counter()
    with ProcessPoolExecutor(workers, mp_context=context, max_tasks_per_child=1) as pool:
        runs = list(pool.map(county_report, folders, outs))
    return time.perf_counter() - start, runs


def concurrent_peak(runs: list[CountyRun]) -> int:
    """The largest sum of peak RSS over the counties running when one of them started (an upper bound of
    what they held together)."""
    return max(sum(r.peak_rss_bytes for r in runs if r.started <= run.started < r.ended) for run in runs)


def report(label: str, wall: float, runs: list[CountyRun]) -> None:
    print(f"{label}: {wall:.1f} s wall")
    for run in runs:
        print(
            f"  {run.name:<10} {run.seconds:7.1f} s   CPU {run.cpu_seconds:6.1f} s   "
            f"peak RSS {run.peak_rss_bytes / 2**30:5.2f} GiB"
        )
    print(f"  sum of county times {sum(r.seconds for r in runs):.1f} s, "
          f"CPU {sum(r.cpu_seconds for r in runs):.1f} s; "
          f"most memory at once {concurrent_peak(runs) / 2**30:.2f} GiB")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counties", type=int, default=5, help="counties in the city (default 5)")
    parser.add_argument("--roads", type=int, default=50_000, help="road segments per county (default 50,000)")
    parser.add_argument("--cameras", type=int, default=10_000, help="cameras per county (default 10,000)")
    parser.add_argument(
        "--buildings", type=int, default=100_000, help="buildings per county (default 100,000)"
    )
    parser.add_argument("--workers", type=int, default=2, help="counties at a time (default 2: the cores)")
    parser.add_argument("--no-sequential", action="store_true", help="skip the one-after-another run")
    parser.add_argument("--keep", type=Path, help="write the counties and reports here, and keep them")
    args = parser.parse_args(argv)

    from camwatch.coverage.city import write_city_report

    sizes = (args.roads, args.cameras, args.buildings)
    with tempfile.TemporaryDirectory(prefix="camwatch-city-") as scratch:
        root = args.keep or Path(scratch)
        folders = [root / f"county-{i + 1}" for i in range(args.counties)]
        start = time.perf_counter()
        with ProcessPoolExecutor(args.workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            list(pool.map(prepare_county, range(args.counties), folders, [sizes] * args.counties))
        print(f"generated {args.counties} counties of {sizes[0]:,} road segments, {sizes[1]:,} cameras, "
              f"{sizes[2]:,} buildings each in {time.perf_counter() - start:.1f} s")  # fmt: skip

        outs = [f / "report" for f in folders]
        wall, runs = run_all(folders, outs, args.workers)
        start = time.perf_counter()
        summary = write_city_report(outs, root / "city")
        rollup = time.perf_counter() - start
        report(f"{args.workers} at a time", wall, runs)
        print(f"  city roll-up {rollup:.2f} s (peak RSS of the main process {_peak_rss() / 2**30:.2f} GiB); "
              f"total {wall + rollup:.1f} s")  # fmt: skip
        print("  city: " + ", ".join(f"{n} {c['ratio']:.1%}" for n, c in summary["categories"].items()))
        if not args.no_sequential:
            seq_wall, seq_runs = run_all(folders, [f / "report-sequential" for f in folders], 1)
            report("one after another", seq_wall, seq_runs)
            print(f"ratio one after another / {args.workers} at a time: {seq_wall / wall:.2f}x")


if __name__ == "__main__":
    main()
