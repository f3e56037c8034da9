"""Memory an instance keeps after loading its config and a YAML ledger of N cameras.

Each figure comes from a fresh process that imports what ``camwatch run`` imports, then loads the config:
RSS after the imports, the RSS the load adds (what stays once the load's temporaries are collected), the
process's peak RSS (``VmHWM``: the load's peak, imports included) and the load's wall and CPU time. To
compare two versions side by side, run the script with each version's code first on ``PYTHONPATH``.

    python3 benchmarks/bench_load.py [--cameras 10000 50000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from camwatch.sim.profiles import load_spec, plan

PROFILE = Path(__file__).resolve().parent / "profiles" / "healthy.yaml"
LEDGER_FIELDS = ("lat", "lon", "direction", "hfov", "range", "county", "township", "village", "site")
LEDGER_FIELDS += ("switch", "fibre", "power", "vendor", "model")

MEASURE = """
import gc, json, os, sys, time
from pathlib import Path
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
import camwatch.monitor.service, camwatch.glue  # what `camwatch run` imports
from camwatch.config.load import load_config
gc.collect()
base = rss()
started, cpu = time.perf_counter(), time.process_time()
config = load_config(Path(sys.argv[1]))
seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
gc.collect()
peak = next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps({"imports": base, "kept": rss() - base, "seconds": seconds, "cameras": len(config.cameras),
                  "peak": peak, "cpu": cpu}))
"""


def write_ledger(folder: Path, count: int) -> Path:
    """A camwatch config and a YAML ledger of ``count`` simulated cameras (like a county's 台账)."""
    records = []
    for cam in plan(load_spec(PROFILE), count=count, base_address="127.20.0.1"):
        record = {"id": cam.id, "name": cam.name, "rtsp_url": f"rtsp://{cam.address}:8554/{cam.id}"}
        record |= {"username": "admin", "password_env": "CAMWATCH_PASSWORD"}
        records.append(record | {name: getattr(cam, name) for name in LEDGER_FIELDS})
    (folder / "cameras.yaml").write_text(yaml.safe_dump({"cameras": records}, allow_unicode=True))
    config = {"cameras": "cameras.yaml", "monitor": {"state": str(folder / "state.db")}}
    path = folder / "camwatch.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, nargs="+", default=[10_000, 50_000])
    args = parser.parse_args()
    print(f"{'cameras':>8} {'imports MB':>11} {'kept MB':>8} {'peak MB':>8} {'load s':>7} {'CPU s':>6}")
    for count in args.cameras:
        with tempfile.TemporaryDirectory(prefix="camwatch-load-") as tmp:
            config = write_ledger(Path(tmp), count)
            env = {**os.environ, "CAMWATCH_PASSWORD": "bench"}
            command = [sys.executable, "-c", MEASURE, str(config)]
            out = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.splitlines()[-1])
            assert r["cameras"] == count, r
            print(
                f"{count:>8,} {r['imports'] / 1e6:>11.0f} {r['kept'] / 1e6:>8.0f} {r['peak'] / 1e6:>8.0f}"
                f" {r['seconds']:>7.1f} {r['cpu']:>6.1f}"
            )


if __name__ == "__main__":
    main()
