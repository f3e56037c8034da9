"""``camwatch run CONFIG`` under tracemalloc: after AT seconds, write what is allocated, by line, to OUT.

    python3 benchmarks/_traced_run.py AT OUT CONFIG

The snapshot is taken from a thread while the service runs (its event loop keeps going), after a full
garbage collection; OUT gets the total and the 40 largest lines, with their counts. Used by
``bench_service.py --tracemalloc``; tracing slows the service and adds its own memory, so RSS and times of a
traced run are not the service's figures.
"""

from __future__ import annotations

import gc
import sys
import threading
import time
import tracemalloc
from pathlib import Path


def snapshot_later(at: float, out: Path) -> None:
    time.sleep(at)
    gc.collect()
    snap = tracemalloc.take_snapshot().filter_traces(
        [
            tracemalloc.Filter(False, tracemalloc.__file__),
            tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
        ]
    )
    stats = snap.statistics("lineno")
    total = sum(s.size for s in stats)
    lines = [f"total {total} bytes in {sum(s.count for s in stats)} blocks"]
    for stat in stats[:40]:
        frame = stat.traceback[0]
        lines.append(f"{stat.size}\t{stat.count}\t{frame.filename}:{frame.lineno}")
    out.write_text("\n".join(lines) + "\n")


def main() -> None:
    at, out, config = float(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    tracemalloc.start(1)
    threading.Thread(target=snapshot_later, args=(at, out), daemon=True).start()
    from camwatch.cli import app

    app(["run", config])


if __name__ == "__main__":
    main()
