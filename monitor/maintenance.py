"""Maintenance windows: which cameras a target names, and until when."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from camwatch.config.areas import admin_names
from camwatch.config.models import Camera, parse_duration
from camwatch.monitor.state import open_readonly

DEFAULT_MAX_SECONDS = 24 * 3600.0
"""A window started without ``--until`` ends after this, so a forgotten one does not mute a camera forever."""


def resolve_targets(cameras: Sequence[Camera], targets: Iterable[str]) -> list[str]:
    """Camera ids named by ``targets``: a camera id, an area name (county, township or village), or an area
    path ``county/township[/village]``. Raises ValueError naming targets that match nothing."""
    chosen: dict[str, None] = {}
    unknown = []
    for target in targets:
        parts = [p for p in target.split("/") if p]
        hits = [c.id for c in cameras if c.id == target]
        if not hits and len(parts) == 1:
            hits = [c.id for c in cameras if target in admin_names(c)]
        elif not hits:
            hits = [c.id for c in cameras if admin_names(c)[: len(parts)] == parts]
        if not hits:
            unknown.append(target)
        chosen.update(dict.fromkeys(hits))
    if unknown:
        raise ValueError(f"no camera or area called {', '.join(repr(u) for u in unknown)}")
    return list(chosen)


def parse_until(text: str, *, now: float, tz: str) -> float:
    """End of a window from a duration (``4h``, ``2d``) or a local date/time (``2026-12-01 18:00``)."""
    try:
        return now + parse_duration(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"--until: expected a duration like 4h or a time like 2026-12-01T18:00, got {text!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(tz))
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
