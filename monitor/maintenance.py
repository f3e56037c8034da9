"""Maintenance windows: which cameras a target names, and until when."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from camwatch.config.models import Camera, parse_duration


def resolve_targets(cameras: Sequence[Camera], targets: Iterable[str]) -> list[str]:
    """Camera ids named by ``targets``: a camera id, an area name (county, township or village), or an area
    path ``county/township[/village]``. Raises ValueError naming targets that match nothing."""
    chosen: dict[str, None] = {}
    unknown = []
    for target in targets:
        parts = [p for p in target.split("/") if p]
        hits = [c.id for c in cameras if c.id == target]
        if not hits and len(parts) == 1:
            hits = [c.id for c in cameras if target in (c.county, c.township, c.village)]
        elif not hits:
            hits = [c.id for c in cameras if [c.county, c.township, c.village][: len(parts)] == parts]
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
