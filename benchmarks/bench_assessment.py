"""The month's office pack for a county: `camwatch report uptime` (ranking + fault episodes + assessment)
on a synthetic state database of N cameras and a month of history, beside the ranking alone.

Each run is a whole `camwatch` process (imports, config and ledger load, database read, files written), so
the figures are what an office PC waits for. The synthetic month: the monitor restarted twice, each camera
with a Poisson number of outages and frozen spells (mean 4 and 2), some maintenance and excused windows.

    python3 benchmarks/bench_assessment.py [--cameras 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from camwatch.config.models import Camera
from camwatch.monitor.state import StateStore
from camwatch.monitor.uptime import month_bounds

MONTH = "2026-11"
H = 3600.0


def build(folder: Path, cameras: int, seed: int = 1) -> Path:
    """Write camwatch.yaml, cameras.csv and state.db for ``cameras`` cameras; returns the config path."""
    rng = random.Random(seed)
    t0, t1 = month_bounds(MONTH, "Asia/Shanghai")
    db = folder / "state.db"
    StateStore(db).close()  # the current schema
    contractor = "contractor" in Camera.model_fields
    header = "id,name,host,county,township,village,police_station" + (",contractor" if contractor else "")
    lines = [header]
    transitions: list[tuple[object, ...]] = []
    windows: list[tuple[object, ...]] = []
    for i in range(cameras):
        town, village = i // 500, i // 50
        host = f"10.{i // 65536}.{i // 256 % 256}.{i % 256}"
        row = f"c{i},点位{i},{host},梁园区,镇{town},村{village},所{i // 800}"
        lines.append(row + (f",维保{i % 8}" if contractor else ""))
        ts = t0 - rng.uniform(0, 86400)
        transitions.append((f"c{i}", ts, None, "ok", 1, 1, "[]"))
        events = sorted(
            [(rng.uniform(t0, t1), "offline", rng.expovariate(1 / (6 * H))) for _ in range(_poisson(rng, 4))]
            + [(rng.uniform(t0, t1), "frozen", rng.expovariate(1 / H)) for _ in range(_poisson(rng, 2))]
        )
        for start, status, length in events:
            up = int(status != "offline")
            transitions.append((f"c{i}", start, "ok", status, up, 0, f'["{status}"]'))
            transitions.append((f"c{i}", start + length, status, "ok", 1, 1, "[]"))
        if i % 97 == 0:
            windows.append((f"c{i}", t0 + 10 * 86400, t0 + 10 * 86400 + 8 * H, "pole", None))
    transitions.sort(key=lambda r: (r[0], r[1]))
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "INSERT INTO transitions (camera, ts, prev_status, status, up, working, faults) "
            "VALUES (?,?,?,?,?,?,?)",
            transitions,
        )
        conn.executemany(
            "INSERT INTO maintenance (camera, start, until, reason, stopped) VALUES (?,?,?,?,?)", windows
        )
        for a, b in ((t0, t0 + 9 * 86400), (t0 + 9 * 86400 + H, t0 + 20 * 86400), (t0 + 20 * 86400 + 60, t1)):
            conn.execute("INSERT INTO runs (started, last_seen) VALUES (?, ?)", (a, b))
    (folder / "cameras.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = folder / "camwatch.yaml"
    config.write_text(
        "cameras: cameras.csv\nmonitor: {state: state.db}\nreports: {timezone: Asia/Shanghai}\n",
        encoding="utf-8",
    )
    print(f"{cameras} cameras, {len(transitions)} transitions, {len(windows)} maintenance windows")
    return config


def _poisson(rng: random.Random, mean: float) -> int:
    n, p, limit = 0, 1.0, 2.718281828**-mean
    while (p := p * rng.random()) > limit:
        n += 1
    return n


RANKING_ONLY = """
import sys
from pathlib import Path
from camwatch.config.load import load_config
from camwatch.reports.uptime import write_uptime_report
cfg = load_config(Path(sys.argv[1]), resolve_secrets=False, require_address=False)
write_uptime_report(cfg, sys.argv[2], Path(sys.argv[3]), lang="zh")
"""


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cameras", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config = build(folder, args.cameras)
        pack = [sys.executable, "-m", "camwatch", "report", "uptime", str(config), "--month", MONTH]
        pack += ["--out", str(folder / "pack")]
        ranking = [sys.executable, "-c", RANKING_ONLY, str(config), MONTH, str(folder / "ranking")]
        full, alone = [], []
        for _ in range(args.runs):  # interleaved, so that a load spike hits both
            full.append(timed(pack))
            alone.append(timed(ranking))
        episodes = sum(1 for _ in (folder / "pack" / "fault_episodes.csv").open(encoding="utf-8-sig")) - 1
        print(f"fault episodes written: {episodes}")
        print(f"report uptime (ranking + episodes + assessment): median {statistics.median(full):.1f} s "
              f"(min {min(full):.1f}, max {max(full):.1f})")  # fmt: skip
        print(f"ranking alone (uptime_* files):                 median {statistics.median(alone):.1f} s "
              f"(min {min(alone):.1f}, max {max(alone):.1f})")  # fmt: skip
        print(f"ratio: {statistics.median(full) / statistics.median(alone):.2f}")


if __name__ == "__main__":
    main()
