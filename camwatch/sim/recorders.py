"""The simulated fleet's recorders (``recorders:`` of a fleet profile): an ONVIF Profile G recorder and a
Hikvision ISAPI NVR on loopback holding the footage of the first healthy cameras, with the recording
faults the demo shows — a recording that stopped, one with a gap, one with short retention, and a failed
disk — so that the recording check, its metrics, alerts and dashboard row have something to say."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from camwatch.sim import isapi_nvr, onvif_recorder
from camwatch.sim.profiles import RecorderFleetSpec, SimCamera

ONVIF_ID = "nvr-g1"
ISAPI_ID = "nvr-h1"
HOUR, DAY = 3600.0, 86400.0
# The ONVIF recorder's first channels, in this order: what each one's footage looks like.
FAULTS = ("stopped", "gap", "short")


def _footage(fault: str, now: float, kept: float) -> list[tuple[float, float]]:
    if fault == "stopped":  # stopped three hours ago
        return [(now - kept, now - 3 * HOUR)]
    if fault == "gap":  # a 20-minute hole five hours ago
        return [(now - kept, now - 5 * HOUR), (now - 5 * HOUR + 1200.0, math.inf)]
    if fault == "short":  # six days kept, below any retention target
        return [(now - 6 * DAY, math.inf)]
    return [(now - kept, math.inf)]


class SimRecorders:
    """The recorders and which camera each channel records; served from this process's event loop."""

    def __init__(
        self, spec: RecorderFleetSpec, cameras: Sequence[SimCamera], *, username: str, password: str
    ):
        healthy = [c for c in cameras if c.behaviour == "ok" and c.picture == "live"]
        now = time.time()
        self.username = username
        self.channels: dict[str, tuple[str, str]] = {}  # camera id -> (recorder id, channel or token)
        on_onvif, on_isapi = healthy[: spec.onvif], healthy[spec.onvif : spec.onvif + spec.isapi]
        self.onvif = onvif_recorder.OnvifRecorder(username=username, password=password) if on_onvif else None
        for n, cam in enumerate(on_onvif):
            token = f"REC{n + 1:03d}"
            fault = FAULTS[n] if n < len(FAULTS) else ""
            assert self.onvif is not None
            self.onvif.recordings[token] = onvif_recorder.Recording(_footage(fault, now, spec.kept))
            self.channels[cam.id] = (ONVIF_ID, token)
        self.isapi = isapi_nvr.Nvr(username=username, password=password, zone="UTC") if on_isapi else None
        if self.isapi is not None:
            failed = [isapi_nvr.Disk("hdd2", status="error", free_mb=0)] if spec.failed_disk else []
            self.isapi.disks = [isapi_nvr.Disk("hdd1"), *failed]
            for n, cam in enumerate(on_isapi, 1):
                self.isapi.channels[n] = isapi_nvr.Channel(_footage("", now, spec.kept))
                self.channels[cam.id] = (ISAPI_ID, str(n))
        self._runners: list[web.AppRunner] = []

    async def start(self) -> None:
        if self.onvif is not None:
            self._runners.append(await self.onvif.serve("127.0.0.1"))
        if self.isapi is not None:
            self._runners.append(await self.isapi.serve("127.0.0.1"))

    async def stop(self) -> None:
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()

    def ledger(self, camera_id: str) -> dict[str, str]:
        """The ledger fields naming the camera's recorder and channel (none for a camera not recorded)."""
        found = self.channels.get(camera_id)
        return {} if found is None else {"recorder": found[0], "recorder_channel": found[1]}

    def config(self, password_env: str) -> list[dict[str, Any]]:
        """The ``recorders:`` section (after :meth:`start`: the ports are known then)."""
        section: list[dict[str, Any]] = []
        for rid, kind, device in ((ONVIF_ID, "onvif", self.onvif), (ISAPI_ID, "isapi", self.isapi)):
            if device is not None:
                login = {"username": self.username, "password_env": password_env}
                section.append({"id": rid, "kind": kind, "host": "127.0.0.1", "port": device.port, **login})
        return section
