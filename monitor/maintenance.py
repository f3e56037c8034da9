"""Maintenance windows: which cameras a target names, and until when."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from camwatch.config.areas import LEVELS, POLICE_STATION, admin_names, area_path
from camwatch.config.models import Camera, parse_duration
from camwatch.monitor.state import open_readonly

DEFAULT_MAX_SECONDS = 24 * 3600.0
"""A window started without ``--until`` ends after this, so a forgotten one does not mute a camera forever."""


def resolve_targets(cameras: Sequence[Camera], targets: Iterable[str]) -> list[str]:
    """Camera ids named by ``targets``: a camera id, an area name (county, township, village or police
    station), or an area path ``county/township[/village]`` or ``county/station``. Raises ValueError naming
    targets that match nothing."""
    chosen: dict[str, None] = {}
    unknown = []
    for target in targets:
        parts = [p for p in target.split("/") if p]
        hits = [c.id for c in cameras if c.id == target]
        if not hits and len(parts) == 1:
            hits = [c.id for c in cameras if target in (*admin_names(c), c.police_station)]
        elif not hits:
            hits = [
                c.id
                for c in cameras
                if admin_names(c)[: len(parts)] == parts
                or (c.police_station and [c.county, c.police_station] == parts)
            ]
        if not hits:
            unknown.append(target)
        chosen.update(dict.fromkeys(hits))
    if unknown:
        raise ValueError(f"no camera or area called {', '.join(repr(u) for u in unknown)}")
    return list(chosen)


_BARE_NUMBER = re.compile(r"\s*\d+(\.\d+)?\s*")
_CLOCK = re.compile(r"\s*(\d{1,2}):(\d{2})\s*")


def parse_span(text: str, option: str) -> float:
    """Seconds from a duration typed on the command line (``4h``, ``30m``, ``2d``). A unit is required:
    ``--until 4`` could mean hours as well as seconds."""
    if _BARE_NUMBER.fullmatch(text):
        raise ValueError(
            f"{option} {text}: give a unit, e.g. {text.strip()}h, {text.strip()}m or {text.strip()}d"
        )
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise ValueError(f"{option}: {exc}") from None


def parse_until(text: str, *, now: float, tz: str) -> float:
    """End of a window from a duration (``4h``, ``2d``), a time of day (``18:00``: the next one) or a local
    date/time (``2026-12-01 18:00``), read in ``tz``."""
    if _BARE_NUMBER.fullmatch(text):
        parse_span(text, "--until")
    try:
        return now + parse_duration(text)
    except ValueError:
        pass
    zone = ZoneInfo(tz)
    if clock := _CLOCK.fullmatch(text):
        hour, minute = int(clock.group(1)), int(clock.group(2))
        if hour > 23 or minute > 59:
            raise ValueError(f"--until {text!r}: not a time of day")
        today = datetime.fromtimestamp(now, zone).replace(hour=hour, minute=minute, second=0, microsecond=0)
        moment = today if today.timestamp() > now else today + timedelta(days=1)
        return moment.timestamp()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"--until: expected a duration like 4h, a time like 18:00 or 2026-12-01T18:00, got {text!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    if moment.timestamp() <= now:
        raise ValueError(f"--until {text!r} is in the past")
    return moment.timestamp()


@dataclass(frozen=True, slots=True)
class Window:
    """One maintenance window as the state database holds it; ``end`` None: until stopped."""

    camera: str
    start: float
    end: float | None
    reason: str


def current_windows(state: Path, *, now: float) -> list[Window]:
    """Windows not over at ``now``, oldest first, read-only (no database yet: none).

    Read here rather than through ``StateStore.maintenance_windows`` because listing needs each window's
    reason, which that iterator does not return.
    """
    if not state.is_file():
        return []
    with closing(open_readonly(state)) as db:
        rows = db.execute(
            "SELECT camera, start, until, stopped, reason FROM maintenance "
            "WHERE (until IS NULL OR until > ?) AND (stopped IS NULL OR stopped > ?) ORDER BY start, camera",
            (now, now),
        ).fetchall()
    return [Window(camera, start, until, reason) for camera, start, until, _stopped, reason in rows]


@dataclass(frozen=True, slots=True)
class WindowGroup:
    """The windows one `maintenance start` opened: the same start, end and reason, over several cameras."""

    start: float
    end: float | None
    reason: str
    cameras: tuple[str, ...]


def group_windows(windows: Iterable[Window]) -> list[WindowGroup]:
    """One entry per maintenance window as it was started, oldest first (the database keeps one row per
    camera)."""
    groups: dict[tuple[float, float | None, str], list[str]] = {}
    for w in windows:
        groups.setdefault((w.start, w.end, w.reason), []).append(w.camera)
    return [WindowGroup(start, end, reason, tuple(cams)) for (start, end, reason), cams in groups.items()]


def describe_targets(cameras: Sequence[str], inventory: Sequence[Camera], *, limit: int = 4) -> str:
    """The cameras of a window as a person named them: the area (county, township, village or police station)
    whose cameras they are exactly, else their ids (the first ``limit``, then how many more)."""
    chosen = set(cameras)
    if len(chosen) == 1:
        return cameras[0]
    for level in (*LEVELS, POLICE_STATION):
        members: dict[str, set[str]] = {}
        for c in inventory:
            if path := area_path(c, level):
                members.setdefault(path, set()).add(c.id)
        for path, ids in members.items():
            if ids == chosen:
                return path
    shown = ", ".join(cameras[:limit])
    return shown + (f" (+{len(cameras) - limit} more)" if len(cameras) > limit else "")
