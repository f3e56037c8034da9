"""One camera's footage on one day as its recorder reports it: what `camwatch recordings` prints, so that a
duty officer checks a claim ("it recorded all night") in seconds. An ISAPI recorder is asked directly; a
GB/T 28181 channel's device registers with the running service, which asks it (``gb_day_footage``, behind
its ``/recordings`` endpoint)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import aiohttp

from camwatch.config.models import Camera, RecordingSettings
from camwatch.config.recorders import ONVIF, Recorder
from camwatch.monitor.gb28181.recorder import Footage, ask_footage
from camwatch.monitor.period import merge
from camwatch.monitor.probes import isapi, profile_g

if TYPE_CHECKING:
    from camwatch.monitor.gb28181.platform import Platform


class AnswerIncomplete(RuntimeError):
    """The recorder's answer could not be had whole (short of its SumNum, or none in time)."""


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

    @classmethod
    def from_json(cls, entry: Mapping[str, Any]) -> DayFootage:
        """Back from ``as_json_entry`` (the service's ``/recordings`` answer)."""
        ranges = [(float(r["start"]), float(r["end"])) for r in entry["ranges"]]
        gaps = [(float(r["start"]), float(r["end"])) for r in entry["gaps"]]
        day = date.fromisoformat(entry["day"])
        return cls(day, entry["timezone"], float(entry["start"]), float(entry["end"]), ranges, gaps)


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
    ranges = merge((max(a, start), min(b, end)) for a, b in found if b > start and a < end)
    edges = [start, *(x for r in ranges for x in r), end]
    holes = [(edges[i], edges[i + 1]) for i in range(0, len(edges) - 1, 2)]
    gaps = [(a, b) for a, b in holes if b - a > gap]
    return DayFootage(day, zone, start, end, ranges, gaps)


def _day_window(day: date | None, zone: ZoneInfo, now: float) -> tuple[float, float]:
    """``day`` (default: today of the clock ``now``) from its midnight to the next, or to ``now``."""
    day = day or datetime.fromtimestamp(now, zone).date()
    start = datetime.combine(day, datetime.min.time(), zone).timestamp()
    end = min(datetime.combine(day + timedelta(days=1), datetime.min.time(), zone).timestamp(), now)
    return start, max(start, end)


async def gb_day_footage(
    platform: Platform, camera: Camera, settings: RecordingSettings, day: date | None = None
) -> tuple[DayFootage, Footage]:
    """A GB/T 28181 camera's footage on ``day``, asked of the device owning its channel through the running
    platform (the service's ``/recordings`` endpoint). Raises NoRecorder (no gb_id), ``NotRegistered``, or
    ``AnswerIncomplete`` (the answer could not be had whole)."""
    if camera.gb_id is None:
        raise NoRecorder(f"camera {camera.id} has no gb_id (国标编码)")
    zone_name = camera.timezone or platform.timezone
    zone = ZoneInfo(zone_name)
    found = await ask_footage(
        platform,
        camera.gb_id,
        zone,
        lambda now: _day_window(day, zone, now),
        max_items=settings.max_items,
        timeout=settings.timeout,
    )
    if not found.complete:
        raise AnswerIncomplete(f"GB/T 28181 device {found.device}: answer incomplete: {found.reason}")
    start, end = found.window
    found_day = datetime.fromtimestamp(start, zone).date()
    return _day(found_day, zone_name, start, end, found.ranges, settings.gap), found


def as_json_entry(camera: str, found: DayFootage) -> dict[str, Any]:
    """The day's footage as ``camwatch recordings --json`` and ``/recordings`` print it."""
    zone = ZoneInfo(found.zone)

    def local(ts: float) -> str:
        return datetime.fromtimestamp(ts, zone).strftime("%H:%M:%S")

    return {
        "camera": camera,
        "day": found.day.isoformat(),
        "timezone": found.zone,
        "start": found.start,  # the day's span asked: its midnight to the next, or to the recorder's now
        "end": found.end,
        "recorded_seconds": round(found.recorded, 3),
        "ranges": [{"from": local(a), "to": local(b), "start": a, "end": b} for a, b in found.ranges],
        "gaps": [{"from": local(a), "to": local(b), "start": a, "end": b} for a, b in found.gaps],
    }
