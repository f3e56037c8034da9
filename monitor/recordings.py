"""One camera's footage on one day as its recorder reports it: what `camwatch recordings` prints, so that a
duty officer checks a claim ("it recorded all night") in seconds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp

from camwatch.config.models import Camera, RecordingSettings
from camwatch.config.recorders import ONVIF, Recorder
from camwatch.monitor.period import merge
from camwatch.monitor.probes import isapi, profile_g


class NoRecorder(ValueError):
    """The camera's footage cannot be asked for directly (no recorder in the ledger, or one spoken to only
    through the running service)."""


@dataclass(frozen=True, slots=True)
class DayFootage:
    day: date
    zone: str
    start: float
    end: float  # the day's end, or the recorder's now on the current day
    ranges: list[tuple[float, float]]  # footage, clipped to the day, joined where they touch
    gaps: list[tuple[float, float]]  # holes longer than the `gap` setting, between start and end

    @property
    def recorded(self) -> float:
        return sum(b - a for a, b in self.ranges)


def client(session: aiohttp.ClientSession, recorder: Recorder, settings: RecordingSettings) -> isapi.Client:
    """An ISAPI client for ``recorder``: its own host only, the reply bound of ``settings``."""
    password = recorder.password.get_secret_value() if recorder.password else ""
    host = f"[{recorder.host}]" if ":" in recorder.host else recorder.host
    base = f"http://{host}:{recorder.port}"
    return isapi.Client(session, base, recorder.username, password, settings.max_reply_bytes)


async def day_footage(camera: Camera, settings: RecordingSettings, day: date | None = None) -> DayFootage:
    """``camera``'s footage on ``day`` (default: the recorder's today), in the recorder's time zone.

    Raises NoRecorder, ``isapi.IsapiFailed``/``profile_g.OnvifFailed`` (login refused, offline …) or
    ``isapi.Incomplete``/``profile_g.Incomplete`` (the answer could not be had whole within the bounds)."""
    recorder = camera.recorder
    if recorder is not None and recorder.kind == ONVIF:
        return await _onvif_day(camera, recorder, settings, day)
    if recorder is None or camera.recorder_channel is None:
        raise NoRecorder(
            f"camera {camera.id} names no recorder in the ledger (columns recorder, recorder_channel); "
            "a GB/T 28181 channel's recordings are asked through the running service"
        )
    zone = ZoneInfo(recorder.timezone)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        nvr = client(session, recorder, settings)
        now = await isapi.clock(nvr, zone)
        day = day or datetime.fromtimestamp(now, zone).date()
        start, end = _bounds(day, zone, now)
        found = await isapi.search(
            nvr,
            int(camera.recorder_channel),
            start,
            max(end, start),
            zone,
            max_items=settings.max_items,
            max_pages=settings.max_pages,
        )
    return _day(day, recorder.timezone, start, end, found, settings.gap)


def _bounds(day: date, zone: ZoneInfo, now: float) -> tuple[float, float]:
    start = datetime.combine(day, datetime.min.time(), zone).timestamp()
    end = min(datetime.combine(day + timedelta(days=1), datetime.min.time(), zone).timestamp(), now)
    return start, end


async def _onvif_day(
    camera: Camera, recorder: Recorder, settings: RecordingSettings, day: date | None
) -> DayFootage:
    """The day's footage of an ONVIF Profile G recorder: its recording's data-present history that day."""
    from camwatch.monitor.probes.recording import onvif_client, recording_token

    zone = ZoneInfo(recorder.timezone)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        device = onvif_client(session, recorder, settings)
        now = await profile_g.connect(device)
        day = day or datetime.fromtimestamp(now, zone).date()
        start, end = _bounds(day, zone, now)
        token = await recording_token(device, camera, settings)
        found = await profile_g.footage(
            device,
            token,
            start,
            max(end, start),
            zone,
            max_items=settings.max_items,
            max_pages=settings.max_pages,
        )
    return _day(day, recorder.timezone, start, end, found.ranges, settings.gap)


def _day(
    day: date, zone: str, start: float, end: float, found: list[tuple[float, float]], gap: float
) -> DayFootage:
    ranges = merge((max(a, start), min(b, end)) for a, b in found)
    edges = [start, *(x for r in ranges for x in r), end]
    holes = [(edges[i], edges[i + 1]) for i in range(0, len(edges) - 1, 2)]
    gaps = [(a, b) for a, b in holes if b - a > gap]
    return DayFootage(day, zone, start, end, ranges, gaps)
