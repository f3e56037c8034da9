"""Fault soak, CI size: a minute of the monitor against a hostile simulated fleet stays within the bounds
of the reliability issue (lateness, /metrics time, memory, no unhandled error, debounced flapping)."""

from __future__ import annotations

import sys
from pathlib import Path

from support.gst_rtsp import unused_port

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from soak import run_soak

# Small enough for a 2-core CI runner next to the fleet process; the 10-minute, 1,000-camera run is
# benchmarks/soak.py.
CAMERAS = 300
DURATION = 60.0


def test_fault_soak_within_bounds(tmp_path: Path) -> None:
    report = run_soak(tmp_path, cameras=CAMERAS, duration=DURATION, port=unused_port())
    figures = "\n".join(report.lines())
    assert report.violations == [], figures
    # The fleet really was hostile, and the monitor classified each kind of fault as a result.
    for outcome in ("rtsp:ok", "rtsp:timeout", "rtsp:offline", "rtsp:error", "onvif:ok", "onvif:error"):
        assert report.results.get(outcome, 0) > 0, f"no {outcome} results\n{figures}"
    assert report.flapping_cameras == CAMERAS * 5 // 100
    assert report.scrapes >= DURATION * 0.5, figures
