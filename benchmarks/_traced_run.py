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


def profile_between_signals(out: Path) -> None:
    profiler = cProfile.Profile(time.process_time)  # CPU time: the machine is shared

    def start(_sig: int, _frame: FrameType | None) -> None:
        profiler.enable()

    def stop(_sig: int, _frame: FrameType | None) -> None:
        profiler.disable()
        text = io.StringIO()
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
