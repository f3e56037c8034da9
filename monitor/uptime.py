"""Monthly online rate (在线率) and working-order rate (完好率) per camera and area, ranked (逐月排名).

Rates are time-weighted over *monitored* time only: time the monitor was running (its ``runs``) after the
camera was first seen, minus the camera's maintenance windows (reported separately). A month in which a
camera was never monitored has no rate, rather than a made-up 0 or 100 %: such a camera, and every camera
marked not networked (是否联网 = 否), is listed as not counted, with the reason (``NotCounted``), so every
ledger camera is either in the rates or in that list. The report files are written by
``camwatch.reports.uptime``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

from camwatch.config.areas import LEVELS, POLICE_STATION, area_path
from camwatch.config.models import Camera, Config, ReportSettings
from camwatch.config.scope import NOT_NETWORKED, monitored
from camwatch.monitor.period import (
    History,
    Interval,
    NoHistory,
    Period,
    merge,
    month_bounds,
    month_period,
    overlap,
    read_history,
    seconds,
    subtract,
)
from camwatch.monitor.probes.registry import plan
from camwatch.monitor.state import Transition
from camwatch.monitor.state.recordings import DAY_SECONDS
from camwatch.reports.ranking import competition_ranks

__all__ = [
    "NoHistory",
    "Period",
    "merge",
    "month_bounds",
    "overlap",
    "subtract",
]  # the algebra lives in period

CONTRACTOR = "contractor"
RANKED_LEVELS = (*LEVELS, POLICE_STATION, CONTRACTOR)
"""The groups ranked: county, township, village, the police stations' areas (派出所) beside them, and the
maintenance contractors (运维单位), who are assessed by their cameras' rates."""

# Why a ledger camera has no rate (the reports translate these).
UNDER_MAINTENANCE = "under maintenance for the whole period"
NO_PLATFORM = "linked by gb_id (国标编码) only, and the config has no gb28181: section"
NO_STATUS = "no status recorded in the period (added later, or the monitor did not run while it was listed)"


@dataclass(frozen=True, slots=True)
class CameraUptime:
    camera: str
    monitored: float  # seconds
    up: float
    working: float
    maintenance: float
    # Counted seconds not in working order, by cause (status word, or the fault of a camera that is up),
    # longest first.
    causes: tuple[tuple[str, float], ...] = ()
    excused: float = 0.0  # seconds inside excused outages (e.g. a utility power cut), not counted either
    # The recording checks in the period and the footage they found in their 24 hours (录像完整率).
    recording_checks: int = 0
    recorded: float = 0.0
    # The shortest retention the recorder reported in the period, and the last day's (seconds; None: no check
    # said), for the retention table.
    retention_shortest: float | None = None
    retention_latest: float | None = None

    @property
    def recording_rate(self) -> float | None:
        """录像完整率: the footage the recorder held ÷ the footage it should have held, averaged over the
        period's recording checks; None without any (no recorder checked)."""
        return self.recorded / (self.recording_checks * DAY_SECONDS) if self.recording_checks else None

    @property
    def online_rate(self) -> float | None:
        return self.up / self.monitored if self.monitored > 0 else None

    @property
    def working_rate(self) -> float | None:
        return self.working / self.monitored if self.monitored > 0 else None

    @property
    def offline(self) -> float:
        """Counted seconds the camera was down (离线时长)."""
        return self.monitored - self.up

    @property
    def main_cause(self) -> str:
        """What kept the camera out of working order longest (主要故障原因), or ``""``."""
        return self.causes[0][0] if self.causes else ""


@dataclass(frozen=True, slots=True)
class NotCounted:
    """A ledger camera outside every rate's denominator, and why."""

    camera: Camera
    reason: str


@dataclass(frozen=True, slots=True)
class MonthUptime:
    """One month of one instance: every ledger camera is in ``cameras`` (with a rate) or ``not_counted``."""

    month: str
    start: float  # epoch seconds, the month's bounds in reports.timezone
    end: float
    monitored: float  # seconds the monitor ran within the month
    cameras: list[CameraUptime]
    areas: list[AreaUptime]
    not_counted: list[NotCounted]


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


def camera_uptime(
    camera: str,
    transitions: Sequence[Transition],
    monitored: Sequence[Interval],
    maintenance: Sequence[Interval],
    excused: Sequence[Interval] = (),
) -> CameraUptime:
    """Time-weighted rates from one camera's ordered transitions within ``monitored`` time, leaving out its
    ``maintenance`` and ``excused`` windows (each sorted and disjoint)."""
    if not transitions:
        return CameraUptime(camera, 0.0, 0.0, 0.0, 0.0)
    seen = subtract(monitored, [(float("-inf"), transitions[0].ts)])
    serviced = subtract(seen, maintenance)
    counted = subtract(serviced, excused)
    maint = seconds(seen) - seconds(serviced)
    starts = [a for a, _ in counted]
    up = working = 0.0
    causes: dict[str, float] = defaultdict(float)
    for i, t in enumerate(transitions):
        end = transitions[i + 1].ts if i + 1 < len(transitions) else float("inf")
        span = overlap(t.ts, end, counted, starts)
        up += span if t.up else 0.0
        working += span if t.working else 0.0
        if not t.working and span > 0:
            causes[_cause(t)] += span
    ranked = tuple(sorted(causes.items(), key=lambda kv: (-kv[1], kv[0])))
    return CameraUptime(
        camera, seconds(counted), up, working, maint, ranked, seconds(serviced) - seconds(counted)
    )


def with_recordings(
    u: CameraUptime, recorded: tuple[int, float] | None, retention: tuple[float, float] | None = None
) -> CameraUptime:
    """``u`` with the period's recording checks (count, footage seconds) and retention (shortest, latest) of
    its camera, if any."""
    if recorded is not None:
        u = replace(u, recording_checks=recorded[0], recorded=recorded[1])
    if retention is not None:
        u = replace(u, retention_shortest=retention[0], retention_latest=retention[1])
    return u


def _cause(t: Transition) -> str:
    """Why a stored status is not in working order: the status word (offline, frozen …), or for a camera up
    with a picture fault that is not a status word, that fault."""
    if t.status != "ok" or not t.faults:
        return t.status
    return t.faults[0]


def area_ranking(
    cameras: Sequence[Camera], uptimes: dict[str, CameraUptime], settings: ReportSettings
) -> list[AreaUptime]:
    """Roll camera time up to county/township/village and police station; rank each level by online rate,
    best first."""
    return rank_areas([(cam, uptimes.get(cam.id)) for cam in cameras], settings)


def rank_areas(
    cameras: Sequence[tuple[Camera, CameraUptime | None]], settings: ReportSettings
) -> list[AreaUptime]:
    """:func:`area_ranking` over (camera, its uptime) pairs, which may come from several state databases
    whose camera ids repeat."""
    rows: list[AreaUptime] = []
    for level in RANKED_LEVELS:
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
        ranks = competition_ranks([up / mon for _, (_, mon, up, _, _) in ordered])
        for rank, (area, (n, mon, up, work, maint)) in zip(ranks, ordered, strict=True):
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
    """Qualified so that two villages of the same name in different townships stay apart; a contractor is
    one across counties."""
    return cam.contractor if level == CONTRACTOR else area_path(cam, level)


def compute(config: Config, month: str | Period) -> tuple[list[CameraUptime], list[AreaUptime]]:
    """The period's camera and area rates (see ``compute_month`` for the whole picture)."""
    result = compute_month(config, month)
    return result.cameras, result.areas


def camera_uptimes(cameras: Sequence[Camera], h: History) -> dict[str, CameraUptime]:
    """Each camera's uptime (and recording checks) over ``h``'s period."""
    return {
        c.id: with_recordings(
            camera_uptime(
                c.id,
                h.transitions.get(c.id, []),
                h.runs,
                h.maintenance.get(c.id, []),
                h.excused.get(c.id, []),
            ),
            h.recorded.get(c.id),
            h.retention.get(c.id),
        )
        for c in cameras
    }


def compute_month(config: Config, month: str | Period, history: History | None = None) -> MonthUptime:
    """Rates of every monitored camera and area for a month (``YYYY-MM``) or any :class:`Period`, and the
    ledger cameras not counted (why); ``history``: that period's, when the caller read it already."""
    period = month_period(month, config.reports.timezone) if isinstance(month, str) else month
    h = history if history is not None else read_history(config.state_path, period)
    watched = monitored(config.cameras)
    uptimes = camera_uptimes(watched, h)
    left_out = [NotCounted(c, NOT_NETWORKED) for c in config.cameras if not c.networked]
    left_out += [
        NotCounted(c, _why_no_rate(c, h.runs, h.maintenance.get(c.id, []), config))
        for c in watched
        if uptimes[c.id].monitored <= 0
    ]
    return MonthUptime(
        period.label,
        period.start,
        period.end,
        seconds(h.runs),
        list(uptimes.values()),
        area_ranking(watched, uptimes, config.reports),
        left_out,
    )


def _why_no_rate(
    camera: Camera, running: Sequence[Interval], maintenance: Sequence[Interval], config: Config
) -> str:
    if maintenance and not subtract(running, maintenance):
        return UNDER_MAINTENANCE
    if plan(camera).unconfigured(config):  # only a source this config does not run would report on it
        return NO_PLATFORM
    return NO_STATUS


def compute_city(configs: Sequence[Config], month: str | Period) -> list[AreaUptime]:
    """One ranking over several camwatch instances (one per county), each read from its own state database.

    Cameras are keyed by instance, so equal ids in two counties stay apart; an area monitored by two
    instances (a county split over several) is summed over both. Targets and colours: the first config's.
    """
    return city_month(configs, month)[0]


def city_month(configs: Sequence[Config], month: str | Period) -> tuple[list[AreaUptime], list[NotCounted]]:
    """:func:`compute_city`, and every instance's cameras not counted."""
    cameras: list[tuple[Camera, CameraUptime | None]] = []
    left_out: list[NotCounted] = []
    for config in configs:
        result = compute_month(config, month)
        uptimes = {u.camera: u for u in result.cameras}
        cameras += [(cam, uptimes[cam.id]) for cam in monitored(config.cameras)]
        left_out += result.not_counted
    return rank_areas(cameras, configs[0].reports), left_out
