"""Report periods (a calendar month, or any whole days) and the state database's history inside one."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from camwatch.monitor.clusters import CLUSTER_EVENT
from camwatch.monitor.excuses import read_excuses
from camwatch.monitor.state import StateError, StateStore, Transition
from camwatch.monitor.uptime import Interval, NoHistory, merge, month_bounds


@dataclass(frozen=True, slots=True)
class Period:
    """``[start, end)`` in epoch seconds; ``label`` as the report prints it."""

    start: float
    end: float
    label: str
    first_day: date
    last_day: date
    tz: str

    @property
    def hours(self) -> float:
        return (self.end - self.start) / 3600


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


def previous(period: Period, tz: str) -> Period:
    """The period before: the previous calendar month for a month, else as many days just before."""
    if period.first_day.day == 1 and period.last_day + timedelta(days=1) == _next_month(period.first_day):
        first = _next_month(period.first_day - timedelta(days=40))  # first of the previous month
        return month_period(first.strftime("%Y-%m"), tz)
    days = (period.last_day - period.first_day).days + 1
    return _days(period.first_day - timedelta(days=days), period.first_day - timedelta(days=1), tz)


def _days(d0: date, d1: date, tz: str) -> Period:
    zone = ZoneInfo(tz)
    start = datetime.combine(d0, datetime.min.time(), zone).timestamp()
    end = datetime.combine(d1 + timedelta(days=1), datetime.min.time(), zone).timestamp()
    label = d0.isoformat() if d0 == d1 else f"{d0.isoformat()} – {d1.isoformat()}"
    return Period(start, end, label, d0, d1, tz)


def _next_month(d: date) -> date:
    return date(d.year + 1, 1, 1) if d.month == 12 else date(d.year, d.month + 1, 1)


@dataclass(slots=True)
class History:
    """What the state database says about ``period``; every interval list sorted and disjoint."""

    period: Period
    monitored: list[Interval]
    transitions: dict[str, list[Transition]] = field(default_factory=dict)
    maintenance: dict[str, list[Interval]] = field(default_factory=dict)
    excused: dict[str, list[Interval]] = field(default_factory=dict)
    clusters: dict[str, list[tuple[float, str]]] = field(default_factory=dict)


def read_history(path: Path, period: Period) -> History:
    """The monitor's runs, transitions, maintenance and excused windows and cluster memberships for
    ``period``. Raises :class:`NoHistory` when the monitor did not run in it, ValueError for a file that
    is missing or cannot be read (one line, no traceback)."""
    if not path.exists():
        raise ValueError(f"{path}: no state database; run `camwatch run` first to collect history")
    start, end = period.start, period.end
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            runs = conn.execute("SELECT started, last_seen FROM runs").fetchall()
        monitored = merge((max(a, start), min(b, end)) for a, b in runs)
        if not monitored:
            raise NoHistory(_no_history(period, path, runs, period.tz))
        history = History(period, monitored)
        store = StateStore(path)
        try:
            windows: dict[str, list[Interval]] = defaultdict(list)
            for cam, a, b in store.maintenance_windows():
                windows[cam].append((a, end if b is None else b))
            transitions: dict[str, list[Transition]] = defaultdict(list)
            for t in store.transitions():
                transitions[t.camera].append(t)
            clusters: dict[str, list[tuple[float, str]]] = defaultdict(list)
            for e in store.events():
                if e.kind == CLUSTER_EVENT and start - 86400 * 31 <= e.ts < end:
                    clusters[e.camera].append((e.ts, str(e.detail.get("cluster", ""))))
        finally:
            store.close()
        excused: dict[str, list[Interval]] = defaultdict(list)
        for x in read_excuses(path):
            excused[x.camera].append((x.start, x.end))
    except (sqlite3.DatabaseError, StateError) as exc:
        raise ValueError(
            f"{path}: cannot read the state database ({exc}); restore it from a backup"
        ) from None
    history.transitions = dict(transitions)
    history.maintenance = {c: merge(w) for c, w in windows.items()}
    history.excused = {c: merge(w) for c, w in excused.items()}
    history.clusters = dict(clusters)
    return history


def _no_history(period: Period, path: Path, runs: list[tuple[float, float]], tz: str) -> str:
    if not runs:
        return f"no monitoring history for {period.label}: {path} holds none yet (`camwatch run` collects it)"
    zone = ZoneInfo(tz)
    first = datetime.fromtimestamp(min(a for a, _ in runs), zone).date()
    last = datetime.fromtimestamp(max(b for _, b in runs), zone).date()
    return f"no monitoring history for {period.label}: {path} covers {first} to {last}"
