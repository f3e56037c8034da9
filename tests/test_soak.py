"""Fault soak, CI size: a minute of the monitor against a hostile simulated fleet stays within the bounds
of the reliability issue (lateness, /metrics time, memory, no unhandled error, debounced flapping), with
the hostile-input parts alongside: a gzip-bomb and an endless-reply ONVIF device, a camera redirecting the
video decoder to another loopback host, and 200 slow clients on the exporter."""

from __future__ import annotations

import sys
from pathlib import Path

from support.gst_rtsp import unused_port

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from soak import SLOW_CLIENTS, run_soak

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
    # The hostile parts really ran: every slow client got in at least once, the bomb and the endless reply
    # were read (and refused: violations), the redirecting camera was probed (camwatch probe, at least).
    hostile = report.hostile
    assert hostile.slow.opened >= SLOW_CLIENTS, figures
    assert min(hostile.onvif_requests.values()) >= 1, figures
    assert hostile.redirect_decodes >= 1, figures
