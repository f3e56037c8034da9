"""Monthly online rate (在线率) and working-order rate (完好率) per camera and area, ranked (逐月排名).

Rates are time-weighted over *monitored* time only: time the monitor was running (its ``runs``) after the
camera was first seen, minus the camera's maintenance windows (reported separately). A month in which a
camera was never monitored has no rate, rather than a made-up 0 or 100 %.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from camwatch.config.areas import LEVELS, area_path
from camwatch.config.models import Camera, Config, ReportSettings
from camwatch.monitor.state import Transition
from camwatch.office import tr, write_csv, write_xlsx
from camwatch.report_cells import markdown_cell

if TYPE_CHECKING:
    from camwatch.monitor.period import Period

Interval = tuple[float, float]


@dataclass(frozen=True, slots=True)
class CameraUptime:
    camera: str
    monitored: float  # seconds
    up: float
    working: float
    maintenance: float
    excused: float = 0.0  # seconds inside excused outages (e.g. a utility power cut), not counted either

    @property
    def online_rate(self) -> float | None:
        return self.up / self.monitored if self.monitored > 0 else None

    @property
    def working_rate(self) -> float | None:
        return self.working / self.monitored if self.monitored > 0 else None


@dataclass(frozen=True, slots=True)
class AreaUptime:
    level: str
    area: str
    cameras: int
    monitored: float
    up: float
    working: float
    maintenance: float
    rank: int
    status: str

    @property
    def online_rate(self) -> float:
        return self.up / self.monitored if self.monitored > 0 else 0.0

    @property
    def working_rate(self) -> float:
        return self.working / self.monitored if self.monitored > 0 else 0.0


def month_bounds(month: str, tz: str = "UTC") -> Interval:
    """Epoch seconds of [first instant, first instant of next month) of ``YYYY-MM`` in ``tz``."""
    try:
        start = datetime.strptime(month, "%Y-%m").replace(tzinfo=ZoneInfo(tz))
    except ValueError:
        raise ValueError(f"--month must look like 2026-11, got {month!r}") from None
    nxt = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start.timestamp(), nxt.timestamp()


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


def camera_uptime(
    camera: str,
    transitions: Sequence[Transition],
    monitored: Sequence[Interval],
    maintenance: Sequence[Interval],
    excused: Sequence[Interval] = (),
) -> CameraUptime:
    """Time-weighted rates from one camera's ordered transitions within ``monitored`` time, leaving out its
    ``maintenance`` and ``excused`` windows (sorted, disjoint)."""
    if not transitions:
        return CameraUptime(camera, 0.0, 0.0, 0.0, 0.0)
    seen = subtract(monitored, [(float("-inf"), transitions[0].ts)])
    serviced = subtract(seen, maintenance)
    counted = subtract(serviced, excused)
    maint = _seconds(seen) - _seconds(serviced)
    starts = [a for a, _ in counted]
    up = working = 0.0
    for i, t in enumerate(transitions):
        end = transitions[i + 1].ts if i + 1 < len(transitions) else float("inf")
        if t.up or t.working:
            seconds = overlap(t.ts, end, counted, starts)
            up += seconds if t.up else 0.0
            working += seconds if t.working else 0.0
    return CameraUptime(camera, _seconds(counted), up, working, maint, _seconds(serviced) - _seconds(counted))


def _seconds(intervals: Sequence[Interval]) -> float:
    return sum(b - a for a, b in intervals)


def area_ranking(
    cameras: Sequence[Camera], uptimes: dict[str, CameraUptime], settings: ReportSettings
) -> list[AreaUptime]:
    """Roll camera time up to county/township/village; rank each level by online rate, best first."""
    return rank_areas([(cam, uptimes.get(cam.id)) for cam in cameras], settings)


def rank_areas(
    cameras: Sequence[tuple[Camera, CameraUptime | None]], settings: ReportSettings
) -> list[AreaUptime]:
    """:func:`area_ranking` over (camera, its uptime) pairs, which may come from several state databases
    whose camera ids repeat."""
    rows: list[AreaUptime] = []
    for level in LEVELS:
        sums: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0, 0.0, 0.0])
        for cam, u in cameras:
            area = _area_name(cam, level)
            if not area or u is None or u.monitored <= 0:
                continue
            s = sums[area]
            s[0] += 1
            s[1] += u.monitored
            s[2] += u.up
            s[3] += u.working
            s[4] += u.maintenance
        ordered = sorted(sums.items(), key=lambda kv: (-(kv[1][2] / kv[1][1]), kv[0]))
        for rank, (area, (n, mon, up, work, maint)) in enumerate(ordered, start=1):
            status = area_status(up / mon, work / mon, settings)
            rows.append(AreaUptime(level, area, int(n), mon, up, work, maint, rank, status))
    return rows


_SEVERITY = ("green", "yellow", "orange", "red")


def area_status(online_rate: float, working_rate: float, settings: ReportSettings) -> str:
    """The worse of two colours: the online rate's and the working rate's, each against its own target.

    The threshold bands sit as far below each target as ``thresholds`` sit below ``yellow``: with the
    defaults (red 0.85, orange 0.90, yellow 0.95) and a 0.90 working target, a working rate under 0.80 is red
    (so 90.9 % online but 73.7 % working is red, not yellow).
    """
    bands = settings.thresholds
    online = bands.colour(online_rate - settings.online_target + bands.yellow)
    working = bands.colour(working_rate - settings.working_target + bands.yellow)
    return max(online, working, key=_SEVERITY.index)


def _area_name(cam: Camera, level: str) -> str:
    """Qualified so that two villages of the same name in different townships stay apart."""
    return area_path(cam, level)


class NoHistory(ValueError):
    """The monitor did not run in the month asked for: there is nothing to rate."""


def compute(config: Config, month: str | Period) -> tuple[list[CameraUptime], list[AreaUptime]]:
    """Every camera's uptime and the area ranking for a month (``YYYY-MM``) or any :class:`Period`."""
    from camwatch.monitor.period import month_period, read_history  # period reads with this module's helpers

    period = month_period(month, config.reports.timezone) if isinstance(month, str) else month
    h = read_history(config.state_path, period)
    uptimes = {
        c.id: camera_uptime(
            c.id,
            h.transitions.get(c.id, []),
            h.monitored,
            h.maintenance.get(c.id, []),
            h.excused.get(c.id, []),
        )
        for c in config.cameras
    }
    return list(uptimes.values()), area_ranking(config.cameras, uptimes, config.reports)


def write_uptime_report(
    config: Config, month: str | Period, out_dir: Path, *, lang: str = "en"
) -> list[Path]:
    """Write uptime_areas.csv, uptime_cameras.csv, uptime.md and uptime.xlsx (one sheet per level and one of
    cameras, status cells coloured) for ``month`` in ``lang`` (``zh`` or ``en``); returns the paths."""
    cameras, areas = compute(config, month)
    out_dir.mkdir(parents=True, exist_ok=True)
    targets = config.reports
    by_id = {c.id: c for c in config.cameras}

    def t(text: str) -> str:
        return tr(lang, text)

    def pct(x: float | None) -> str:
        return "" if x is None else f"{100 * x:.2f}"

    area_header = [t(c) for c in _AREA_COLUMNS]
    area_rows = [_area_cells(a, targets, t) for a in areas]
    camera_header = [t(c) for c in _CAMERA_COLUMNS]
    camera_rows = [
        [
            c.camera,
            by_id[c.camera].name,
            by_id[c.camera].county,
            by_id[c.camera].township,
            by_id[c.camera].village,
            "" if c.online_rate is None else f"{c.online_rate:.6f}",
            "" if c.working_rate is None else f"{c.working_rate:.6f}",
            f"{c.monitored / 3600:.2f}",
            f"{c.maintenance / 3600:.2f}",
        ]
        for c in sorted(cameras, key=lambda c: (c.online_rate is None, c.online_rate or 0.0, c.camera))
    ]
    area_csv = out_dir / "uptime_areas.csv"
    write_csv(area_csv, area_header, area_rows)
    cam_csv = out_dir / "uptime_cameras.csv"
    write_csv(cam_csv, camera_header, camera_rows)
    xlsx = out_dir / "uptime.xlsx"
    sheets = {
        t(level): (area_header, [r for r, a in zip(area_rows, areas, strict=True) if a.level == level])
        for level in LEVELS
        if any(a.level == level for a in areas)
    }
    write_xlsx(xlsx, {**sheets, t("Cameras"): (camera_header, camera_rows)}, lang=lang)

    md = out_dir / "uptime.md"
    lines = [
        f"# {t('Online-rate ranking')} {month if isinstance(month, str) else month.label}",
        "",
        f"{t('Targets')}: {t('online (在线率)')} {100 * targets.online_target:.0f} %, "
        f"{t('working order (完好率)')} {100 * targets.working_target:.0f} %. "
        f"{t('Maintenance time is excluded.')}",
        "",
        t("Status: the worse of the online rate and the working rate, each against its own target."),
        "",
    ]
    for level in LEVELS:
        rows = [a for a in areas if a.level == level]
        if not rows:
            continue
        lines += [
            f"## {t(f'By {level}')}",
            "",
            f"| {t('rank')} | {t('area')} | {t('status')} | {t('cameras')} | {t('online %')} | "
            f"{t('working %')} |",
            "|---:|---|---|---:|---:|---:|",
        ]
        lines += [
            f"| {a.rank} | {markdown_cell(a.area)} | {t(a.status)} | {a.cameras} | {pct(a.online_rate)} | "
            f"{pct(a.working_rate)} |"
            for a in rows
        ]
        lines.append("")
    worst = [
        c
        for c in sorted(cameras, key=lambda c: c.online_rate if c.online_rate is not None else 2.0)
        if c.online_rate is not None and c.online_rate < targets.online_target
    ][:20]
    if worst:
        lines += [
            f"## {t('Cameras below the online target')}",
            "",
            f"| {t('camera')} | {t('name')} | {t('online %')} | {t('working %')} |",
            "|---|---|---:|---:|",
        ]
        lines += [
            f"| {markdown_cell(c.camera)} | {markdown_cell(by_id[c.camera].name)} | "
            f"{pct(c.online_rate)} | {pct(c.working_rate)} |"
            for c in worst
        ]
    md.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [area_csv, cam_csv, md, xlsx]


def compute_city(configs: Sequence[Config], month: str | Period) -> list[AreaUptime]:
    """One ranking over several camwatch instances (one per county), each read from its own state database.

    Cameras are keyed by instance, so equal ids in two counties stay apart; an area monitored by two
    instances (a county split over several) is summed over both. Targets and colours: the first config's.
    """
    cameras: list[tuple[Camera, CameraUptime | None]] = []
    for config in configs:
        uptimes = {u.camera: u for u in compute(config, month)[0]}
        cameras += [(cam, uptimes.get(cam.id)) for cam in config.cameras]
    return rank_areas(cameras, configs[0].reports)


_AREA_COLUMNS = (
    "level",
    "area",
    "rank",
    "status",
    "cameras",
    "online_rate",
    "working_rate",
    "monitored_hours",
    "maintenance_hours",
    "online_target",
    "working_target",
)
_CAMERA_COLUMNS = (
    "camera",
    "name",
    "county",
    "township",
    "village",
    "online_rate",
    "working_rate",
    "monitored_hours",
    "maintenance_hours",
)


def _area_cells(a: AreaUptime, targets: ReportSettings, t: Callable[[str], str]) -> list[object]:
    """One area's row of ``_AREA_COLUMNS``, its words through ``t`` (the report language)."""
    return [
        t(a.level),
        a.area,
        a.rank,
        t(a.status),
        a.cameras,
        f"{a.online_rate:.6f}",
        f"{a.working_rate:.6f}",
        f"{a.monitored / 3600:.2f}",
        f"{a.maintenance / 3600:.2f}",
        targets.online_target,
        targets.working_target,
    ]


def write_city_report(configs: Sequence[Config], month: str, out_dir: Path) -> list[Path]:
    """Write city_uptime.csv and city_uptime.md: the city's county, township and village ranking for
    ``month`` over every given instance; the per-camera tables stay with each county's own report."""
    areas = compute_city(configs, month)
    targets = configs[0].reports
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "city_uptime.csv"
    write_csv(path, _AREA_COLUMNS, (_area_cells(a, targets, str) for a in areas))
    total = [a for a in areas if a.level == "county"]
    monitored = sum(a.monitored for a in total)
    lines = [
        f"# City online-rate ranking {month}",
        "",
        f"{len(configs)} camwatch instances, {sum(a.cameras for a in total)} cameras. "
        f"Targets: online (在线率) {100 * targets.online_target:.0f} %, "
        f"working order (完好率) {100 * targets.working_target:.0f} %. "
        "Maintenance time is excluded.",
        "",
    ]
    if monitored:
        online = sum(a.up for a in total) / monitored
        working = sum(a.working for a in total) / monitored
        lines += [f"City: online {100 * online:.2f} %, working order {100 * working:.2f} %.", ""]
    for level in LEVELS:
        lines += [f"## By {level}", "", "| rank | area | status | cameras | online % | working % |"]
        lines.append("|---:|---|---|---:|---:|---:|")
        lines += [
            f"| {a.rank} | {markdown_cell(a.area)} | {a.status} | {a.cameras} | {100 * a.online_rate:.2f} | "
            f"{100 * a.working_rate:.2f} |"
            for a in areas
            if a.level == level
        ]
        lines.append("")
    md = out_dir / "city_uptime.md"
    md.write_text("\n".join(lines), encoding="utf-8")
    return [path, md]
