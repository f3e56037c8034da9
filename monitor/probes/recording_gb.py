"""The recording check for a GB/T 28181 camera with no ``recorder``: its recorder is the registered device
that owns its channel (nothing to configure), asked through the running platform (``ProbeContext.gb28181``).

The device's ``DeviceTime`` is the recorder's clock and its ``Record`` word is read; ``RecordInfo`` over twice
the retention target (a longer retention reads as that much: never short) is judged by
``monitor.footage.judge``. ``Record`` OFF is ``recording_stopped`` whatever the footage says. A device that is
not registered is the status ``offline`` saying so (no recording fault); an answer short of its ``SumNum``, or
none in time, is ``incomplete``.
"""

from __future__ import annotations

import time
from typing import cast
from zoneinfo import ZoneInfo

from camwatch.config.models import Camera, RecordingSettings
from camwatch.monitor import footage
from camwatch.monitor.gb28181.recorder import NotRegistered, ask_footage
from camwatch.monitor.probes.base import INCOMPLETE, OFFLINE, OK, SKIPPED, ProbeContext, ProbeResult

NAME = "recording"
RECORD_OFF = "the device's DeviceStatus says Record OFF"


async def probe(camera: Camera, ctx: ProbeContext) -> ProbeResult:
    """Ask the device owning ``camera.gb_id`` for its clock, Record word and footage."""
    settings = cast(RecordingSettings, ctx.settings)
    platform = ctx.gb28181
    if platform is None or camera.gb_id is None:
        return ProbeResult(NAME, False, SKIPPED, 0.0, error="no recorder, and no gb28181: platform running")
    started = time.monotonic()
    zone = ZoneInfo(camera.timezone or platform.timezone)
    target = settings.retention.target(camera)
    try:
        found = await ask_footage(
            platform,
            camera.gb_id,
            zone,
            lambda now: (now - 2 * max(target, footage.DAY), now),
            max_items=settings.max_items,
            timeout=ctx.timeout,
        )
    except NotRegistered as exc:
        return ProbeResult(NAME, False, OFFLINE, time.monotonic() - started, error=str(exc))
    details = {"device": found.device, "clock": found.clock, "record": found.record}
    duration = time.monotonic() - started
    if not found.complete:
        error = f"GB/T 28181 device {found.device}: answer incomplete: {found.reason}"
        return ProbeResult(NAME, False, INCOMPLETE, duration, error=error, details=details)
    verdict = footage.judge(
        found.ranges,
        now=found.now,
        gap=settings.gap,
        stopped_after=settings.stopped_after,
        retention=target,
    )
    faults = verdict.faults
    if found.record == "OFF":
        details["reason"] = RECORD_OFF
        faults = (footage.STOPPED, *(f for f in faults if f != footage.STOPPED))
    return ProbeResult(NAME, True, OK, duration, faults=faults, values=verdict.values, details=details)
