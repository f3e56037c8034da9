"""Probes by name. Adding a protocol = one new module + one entry here."""

from __future__ import annotations

from camwatch.monitor.probes import onvif, rtsp, video
from camwatch.monitor.probes.base import ProbeFn

PROBES: dict[str, ProbeFn] = {
    "rtsp": rtsp.probe,
    "onvif": onvif.probe,
    "video": video.probe,
}
