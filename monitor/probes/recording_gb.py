"""The recording check for a GB/T 28181 camera with no ``recorder``: its recorder is the registered device
that owns its channel (nothing to configure), asked through the running platform (``ProbeContext.gb28181``).

The device's ``DeviceTime`` is the recorder's clock and its ``Record`` word is read. ``RecordInfo`` asks the
whole retention window (twice the target: a longer retention reads as that much, never short) at most once
a day (``FULL_EVERY``, each camera at its own phase of the day) and the last 24 h otherwise: an NVR's
hour-long files over 60 days are some 1,440 items in hundreds of MESSAGEs, too many to ask every hour.
Between whole asks the oldest footage is carried forward with the recorder's clock (the retention measured
holds, as a full recorder overwrites as fast as it records); a last 24 h that does not reach back to its
start (nothing recorded, or footage wiped) asks the whole window at the next check.
``monitor.footage.judge`` judges the footage; ``Record`` OFF is ``recording_stopped`` whatever the footage
says. A device that is not registered is the status ``offline`` saying so (no recording fault); an answer
short of its ``SumNum``, or none in time, is ``incomplete``. A disk-failure alarm from the owning device
in the last day is ``storage_fault`` (``gb28181.alarms``), with or without a footage verdict.
"""

from __future__ import annotations

import math
import time
import zlib
from dataclasses import dataclass
from typing import Any, cast
from zoneinfo import ZoneInfo

from camwatch.config.models import Camera, RecordingSettings
from camwatch.monitor import footage
from camwatch.monitor.gb28181 import alarms
from camwatch.monitor.gb28181.recorder import NotRegistered, ask_footage
from camwatch.monitor.probes.base import (
    INCOMPLETE,
    OFFLINE,
    OK,
    SKIPPED,
    ProbeContext,
    ProbeResult,
    Transient,
)
from camwatch.monitor.probes.recording import NAME, STORAGE_FAULT  # one kind: they live in its module

RECORD_OFF = "the device's DeviceStatus says Record OFF"
OLDEST = "gb28181_oldest_footage"  # ProbeContext.baselines key of the last whole ask (memory only)
FULL_EVERY = footage.DAY  # seconds (recorder's clock) between asks of the whole retention window


@dataclass(frozen=True)
class _Oldest(Transient):
    """The oldest footage the last whole ask found, the recorder's clock then, and when the next is due."""

    start: float
    asked: float
    due: float


def _phase(camera_id: str) -> float:
    """A camera's own share of the day (0 to ``FULL_EVERY``), stable across runs: after a start's first round,
    the whole asks of a fleet spread over the day instead of all falling in one hourly round."""
    return zlib.crc32(camera_id.encode()) / 2**32 * FULL_EVERY


async def probe(camera: Camera, ctx: ProbeContext) -> ProbeResult:
    """Ask the device owning ``camera.gb_id`` for its clock, Record word and footage."""
    settings = cast(RecordingSettings, ctx.settings)
    platform = ctx.gb28181
    if platform is None or camera.gb_id is None:
        return ProbeResult(NAME, False, SKIPPED, 0.0, error="no recorder, and no gb28181: platform running")
    started = time.monotonic()
    zone = ZoneInfo(camera.timezone or platform.timezone)
    target = settings.retention.target(camera)
    cached = ctx.baselines.get(camera.id, OLDEST)
    known = cached if isinstance(cached, _Oldest) else None

    def window(now: float) -> tuple[float, float]:
        # A recorder clock set back (beyond DeviceTime's second steps) asks the whole window again.
        if known is not None and known.asked - 60.0 <= now < known.due:
            return now - footage.DAY, now
        return now - 2 * max(target, footage.DAY), now

    try:
        found = await ask_footage(
            platform, camera.gb_id, zone, window, max_items=settings.max_items, timeout=ctx.timeout
        )
    except NotRegistered as exc:
        return ProbeResult(NAME, False, OFFLINE, time.monotonic() - started, error=str(exc))
    details: dict[str, Any] = {"device": found.device, "clock": found.clock, "record": found.record}
    # The device's disk-failure alarm is a storage_fault of every channel it owns, whatever the footage says.
    storage = alarms.held(platform.devices.get(found.device), platform.clock())
    if storage:
        details.update(alarms.details(found.device, storage))
    failed = (STORAGE_FAULT,) if alarms.FAULT in storage else ()
    duration = time.monotonic() - started
    if not found.complete:
        error = f"GB/T 28181 device {found.device}: answer incomplete: {found.reason}"
        return ProbeResult(NAME, False, INCOMPLETE, duration, error=error, faults=failed, details=details)
    whole = found.window[1] - found.window[0] > footage.DAY
    oldest: float | None = None
    if whole and found.ranges:
        # The first whole ask's successor comes at the camera's phase of the day, then every FULL_EVERY.
        due = found.now + (FULL_EVERY if known is not None else _phase(camera.id))
        ctx.baselines.put(camera.id, OLDEST, _Oldest(min(s for s, _ in found.ranges), found.now, due))
    elif not whole and known is not None:
        oldest = known.start + (found.now - known.asked)
        if min((s for s, _ in found.ranges), default=found.now) > found.window[0] + settings.gap:
            # The last 24 h do not reach back to its start: the next check asks the whole window again.
            ctx.baselines.put(camera.id, OLDEST, _Oldest(known.start, known.asked, -math.inf))
    details["window_seconds"] = round(found.window[1] - found.window[0])
    verdict = footage.judge(
        found.ranges,
        now=found.now,
        gap=settings.gap,
        stopped_after=settings.stopped_after,
        retention=target,
        oldest=oldest,
    )
    faults = (*failed, *verdict.faults)
    if found.record == "OFF":
        details["reason"] = RECORD_OFF
        faults = (footage.STOPPED, *(f for f in faults if f != footage.STOPPED))
    return ProbeResult(NAME, True, OK, duration, faults=faults, values=verdict.values, details=details)
