"""Report periods (a calendar month, or any whole days), the interval algebra of monitored time, and the
state database's history inside a period, read without writing."""

from __future__ import annotations

import bisect
import re
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from camwatch.monitor.clusters import CLUSTER_EVENT
from camwatch.monitor.state import StateError, StateReader, Transition, UnreadableVersion

Interval = tuple[float, float]

# ---------------------------------------------------------------------------------------------------------
# Intervals
# ---------------------------------------------------------------------------------------------------------


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, disjoint union of intervals."""
    out: list[Interval] = []
    for a, b in sorted(i for i in intervals if i[1] > i[0]):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def subtract(base: Sequence[Interval], cut: Sequence[Interval]) -> list[Interval]:
    """``base`` minus ``cut``, both sorted and disjoint."""
    out: list[Interval] = []
    j = 0
    for a, b in base:
        while j < len(cut) and cut[j][1] <= a:
            j += 1
        k, cur = j, a
        while k < len(cut) and cut[k][0] < b:
            if cut[k][0] > cur:
                out.append((cur, cut[k][0]))
            cur = max(cur, cut[k][1])
            k += 1
        if cur < b:
            out.append((cur, b))
    return out


def overlap(a: float, b: float, intervals: Sequence[Interval], starts: Sequence[float]) -> float:
    """Seconds of [a, b) inside ``intervals`` (sorted, disjoint; ``starts`` their start times)."""
    total = 0.0
    i = max(bisect.bisect_right(starts, a) - 1, 0)
    while i < len(intervals) and intervals[i][0] < b:
        lo, hi = max(a, intervals[i][0]), min(b, intervals[i][1])
        if hi > lo:
            total += hi - lo
        i += 1
    return total


def seconds(intervals: Sequence[Interval]) -> float:
    return sum(b - a for a, b in intervals)


# ---------------------------------------------------------------------------------------------------------
# Periods
# ---------------------------------------------------------------------------------------------------------

_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def month_bounds(month: str, tz: str = "UTC") -> Interval:
    """Epoch seconds of [first instant, first instant of next month) of ``YYYY-MM`` in ``tz``."""
    # strptime would take 2026-1 for January: the month has two digits, as everywhere else.
    if not _MONTH.fullmatch(month):
        raise ValueError(f"--month must look like 2026-11 (YYYY-MM), got {month!r}")
    start = datetime.strptime(month, "%Y-%m").replace(tzinfo=ZoneInfo(tz))
    nxt = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start.timestamp(), nxt.timestamp()


@dataclass(frozen=True, slots=True)
class Period:
    """``[start, end)`` in epoch seconds: whole days ``first_day`` to ``last_day`` in ``tz``; ``label`` as
    the reports print it (``2026-11`` for a calendar month)."""

    start: float
    end: float
    label: str
    first_day: date
    last_day: date
    tz: str

    @property
    def is_month(self) -> bool:
        return self.first_day.day == 1 and self.last_day + timedelta(days=1) == _next_month(self.first_day)


def month_period(month: str, tz: str) -> Period:
    start, end = month_bounds(month, tz)
    zone = ZoneInfo(tz)
    first = datetime.fromtimestamp(start, zone).date()
    last = datetime.fromtimestamp(end, zone).date() - timedelta(days=1)
    return Period(start, end, month, first, last, tz)


def days_period(first: str, last: str, tz: str) -> Period:
    """Whole days ``first`` to ``last`` (both included, ``YYYY-MM-DD``) in ``tz``."""
    try:
        d0, d1 = date.fromisoformat(first), date.fromisoformat(last)
    except ValueError:
        raise ValueError(
            f"--from and --to must be dates such as 2026-10-01, got {first!r} and {last!r}"
        ) from None
    if d1 < d0:
        raise ValueError(f"--to ({last}) is before --from ({first})")
    return _days(d0, d1, tz)


def previous(period: Period) -> Period:
    """The period before: the previous calendar month for a month, else as many days just before."""
    if period.is_month:
        first = _next_month(period.first_day - timedelta(days=40))  # the first of the previous month
        return month_period(first.strftime("%Y-%m"), period.tz)
    days = (period.last_day - period.first_day).days + 1
    return _days(period.first_day - timedelta(days=days), period.first_day - timedelta(days=1), period.tz)


def _days(d0: date, d1: date, tz: str) -> Period:
    zone = ZoneInfo(tz)
    start = datetime.combine(d0, datetime.min.time(), zone).timestamp()
    end = datetime.combine(d1 + timedelta(days=1), datetime.min.time(), zone).timestamp()
    label = d0.isoformat() if d0 == d1 else f"{d0.isoformat()} – {d1.isoformat()}"
    return Period(start, end, label, d0, d1, tz)


def _next_month(d: date) -> date:
    return date(d.year + 1, 1, 1) if d.month == 12 else date(d.year, d.month + 1, 1)


# ---------------------------------------------------------------------------------------------------------
# History
# ---------------------------------------------------------------------------------------------------------


class NoHistory(ValueError):
    """The monitor did not run in the period asked for: there is nothing to rate."""


@dataclass(slots=True)
class History:
    """What the state database says about ``period``; every interval list sorted and disjoint."""

    period: Period
    runs: list[Interval]  # the monitor's runs within the period
    transitions: dict[str, list[Transition]] = field(default_factory=dict)
    maintenance: dict[str, list[Interval]] = field(default_factory=dict)
    excused: dict[str, list[Interval]] = field(default_factory=dict)
    clusters: dict[str, list[tuple[float, str]]] = field(default_factory=dict)
    # Per camera: (recording checks, seconds of footage they found in their 24 hours) over the period's days.
    recorded: dict[str, tuple[int, float]] = field(default_factory=dict)
    # Per camera: (shortest retention any check found in the period, the last day's shortest), in seconds.
    retention: dict[str, tuple[float, float]] = field(default_factory=dict)


def read_history(path: Path, period: Period) -> History:
    """The monitor's runs, every camera's transitions, maintenance and excused windows and offline-cluster
    memberships for ``period``, read-only (a report never writes or upgrades the monitor's database).

    Raises :class:`NoHistory` when the monitor did not run in the period, ValueError (one line) for a file
    that is missing, of a version this camwatch does not read, or damaged."""
    if not path.exists():
        raise ValueError(f"{path}: no state database; run `camwatch run` first to collect history")
    start, end = period.start, period.end
    try:
        with StateReader(path) as store:
            runs = store.runs()
            running = merge((max(a, start), min(b, end)) for a, b in runs)
            if not running:
                raise NoHistory(_no_history(period, path, runs))
            history = History(period, running)
            windows: dict[str, list[Interval]] = defaultdict(list)
            for cam, a, b in store.maintenance_windows():
                windows[cam].append((a, end if b is None else b))
            transitions: dict[str, list[Transition]] = defaultdict(list)
            for t in store.transitions():
                transitions[t.camera].append(t)
            clusters: dict[str, list[tuple[float, str]]] = defaultdict(list)
            for e in store.events(CLUSTER_EVENT, since=start - 31 * 86400):
                clusters[e.camera].append((e.ts, str(e.detail.get("cluster", ""))))
            excused: dict[str, list[Interval]] = defaultdict(list)
            for cam, a, b, *_ in store.excuses():
                excused[cam].append((a, b))
            recorded: dict[str, tuple[int, float]] = {}
            days = (period.first_day.isoformat(), period.last_day.isoformat())
            retention: dict[str, tuple[float, float]] = {}
            for cam, _, samples, footage, kept in store.recorded_days(*days):  # by camera, then day
                n, total = recorded.get(cam, (0, 0.0))
                recorded[cam] = (n + samples, total + footage)
                if kept is not None:
                    shortest = min(kept, retention[cam][0]) if cam in retention else kept
                    retention[cam] = (shortest, kept)
    except UnreadableVersion as exc:
        raise ValueError(f"{path}: cannot read the state database: {exc}") from None  # not "restore it"
    except (sqlite3.DatabaseError, StateError) as exc:
        # One line, no traceback: the file is damaged (`camwatch run` sets such a file aside) or not ours.
        raise ValueError(
            f"{path}: cannot read the state database ({exc}); restore it from a backup"
        ) from None
    history.transitions = dict(transitions)
    history.maintenance = {c: merge(w) for c, w in windows.items()}
    history.excused = {c: merge(w) for c, w in excused.items()}
    history.clusters = dict(clusters)
    history.recorded = recorded
    history.retention = retention
    return history


def _no_history(period: Period, path: Path, runs: Sequence[Interval]) -> str:
    if not runs:
        return f"no monitoring history for {period.label}: {path} holds none yet (`camwatch run` collects it)"
    zone = ZoneInfo(period.tz)
    first = datetime.fromtimestamp(min(a for a, _ in runs), zone).date()
    last = datetime.fromtimestamp(max(b for _, b in runs), zone).date()
    return f"no monitoring history for {period.label}: {path} covers {first} to {last}"
