"""``camwatch run CONFIG`` under tracemalloc or cProfile, for ``bench_service.py``.

    python3 benchmarks/_traced_run.py tracemalloc AT OUT CONFIG
        AT seconds after start, after a full garbage collection, write to OUT what is allocated, by line
        (the total, then the 40 largest lines with their block counts).
    python3 benchmarks/_traced_run.py profile OUT CONFIG
        cProfile the event-loop thread from SIGUSR1 to SIGUSR2, then write to OUT the 40 functions with the
        most time of their own and the 40 with the most time in all they call.

Tracing and profiling slow the service (and tracemalloc adds its own memory), so the RSS and times of such a
run are not the service's figures.
"""

from __future__ import annotations

import cProfile
import gc
import io
import pstats
import signal
import sys
import threading
import time
import tracemalloc
from pathlib import Path
from types import FrameType


def snapshot_later(at: float, out: Path) -> None:
    time.sleep(at)
    gc.collect()
    skip = [
        tracemalloc.Filter(False, tracemalloc.__file__),
        tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
    ]
    stats = tracemalloc.take_snapshot().filter_traces(skip).statistics("lineno")
    lines = [f"total {sum(s.size for s in stats)} bytes in {sum(s.count for s in stats)} blocks"]
    for stat in stats[:40]:
        frame = stat.traceback[0]
        lines.append(f"{stat.size}\t{stat.count}\t{frame.filename}:{frame.lineno}")
    out.write_text("\n".join(lines) + "\n")


class CollectionTimes:
    """Each garbage collection's wall time by generation (``gc.callbacks``), while profiling."""

    def __init__(self) -> None:
        self.times: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self.on = False
        self._began = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if not self.on:
            return
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.times[info["generation"]].append(time.perf_counter() - self._began)

    def summary(self) -> str:
        lines = ["garbage collections while profiled (wall seconds):"]
        for generation, times in self.times.items():
            ordered = sorted(times)
            worst = ordered[-1] if ordered else 0.0
            total = sum(ordered)
            lines.append(
                f"  gen {generation}: {len(ordered)} collections, {total:.3f} s in all, max {worst:.3f} s"
            )
        return "\n".join(lines) + "\n\n"


def profile_between_signals(out: Path) -> None:
    profiler = cProfile.Profile(time.process_time)  # CPU time: the machine is shared
    collections = CollectionTimes()
    gc.callbacks.append(collections)

    def start(_sig: int, _frame: FrameType | None) -> None:
        collections.on = True
        profiler.enable()

    def stop(_sig: int, _frame: FrameType | None) -> None:
        profiler.disable()
        collections.on = False
        text = io.StringIO()
        text.write(collections.summary())
        stats = pstats.Stats(profiler, stream=text)
        stats.sort_stats("tottime").print_stats(40)
        stats.sort_stats("cumulative").print_stats(40)
        out.write_text(text.getvalue())

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)


def main() -> None:
    mode, *rest = sys.argv[1:]
    if mode == "tracemalloc":
        at, out, config = float(rest[0]), Path(rest[1]), rest[2]
        tracemalloc.start(1)
        threading.Thread(target=snapshot_later, args=(at, out), daemon=True).start()
    elif mode == "profile":
        out, config = Path(rest[0]), rest[1]
        profile_between_signals(out)
    else:
        raise SystemExit(f"unknown mode {mode!r}: tracemalloc or profile")
    from camwatch.cli import app

    app(["run", config])


if __name__ == "__main__":
    main()
