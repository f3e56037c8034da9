"""Scoring an assessed group (an area, or a contractor's cameras) by the rules of ``reports.assessment``.

Pure: figures in, score out, every point traceable. A group earns ``weight × min(1, value ÷ target)`` per
figure (the weights add up to 100), loses the points of each deduction rule that holds, and lands in a band.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from camwatch.config.assessment import AssessmentSettings, Deduction
from camwatch.monitor.episodes import HOUR, FaultEpisode
from camwatch.monitor.state.recordings import DAY_SECONDS
from camwatch.monitor.uptime import CameraUptime


@dataclass(frozen=True, slots=True)
class Figures:
    """What one channel or one group scored over the period (seconds inside counted time)."""

    cameras: int
    monitored: float
    up: float
    working: float
    episodes: int = 0
    recording_checks: int = 0
    recorded: float = 0.0

    @classmethod
    def of(cls, uptimes: Iterable[CameraUptime], episodes: int = 0) -> Figures:
        rows = [u for u in uptimes if u.monitored > 0]
        return cls(
            len(rows),
            sum(u.monitored for u in rows),
            sum(u.up for u in rows),
            sum(u.working for u in rows),
            episodes,
            sum(u.recording_checks for u in rows),
            sum(u.recorded for u in rows),
        )

    def as_dict(self) -> dict[str, float | None]:
        """Every figure a rule may name; a rate is None when nothing was monitored."""
        m = self.monitored
        return {
            "online_rate": self.up / m if m else None,
            "working_rate": self.working / m if m else None,
            # 视频质量合格率: the share of online time with a good picture.
            "video_quality_rate": self.working / self.up if self.up else None,
            "recording_rate": self.recorded / (self.recording_checks * DAY_SECONDS)
            if self.recording_checks
            else None,
            "fault_hours": (m - self.working) / HOUR,
            "offline_hours": (m - self.up) / HOUR,
            "cameras": float(self.cameras),
            "episodes": float(self.episodes),
        }


@dataclass(frozen=True, slots=True)
class DeductionLine:
    rule: Deduction
    count: int  # channels that matched (per channel), or 1 (per area)
    points: float  # taken off, after the rule's cap
    channels: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class GroupScore:
    group: str  # "area level" or "contractor"
    unit: str
    figures: Figures
    earned: dict[str, float]  # points per figure
    deductions: tuple[DeductionLine, ...]
    score: float
    band: str

    @property
    def deducted(self) -> float:
        return sum(d.points for d in self.deductions)


def score_group(
    group: str,
    unit: str,
    channels: Sequence[CameraUptime],
    episodes: Sequence[FaultEpisode],
    rules: AssessmentSettings,
) -> GroupScore | None:
    """Score ``unit``'s channels; None when none of them was monitored in the period (no made-up score)."""
    per_camera = {u.camera: 0 for u in channels}
    for e in episodes:
        if e.camera in per_camera:
            per_camera[e.camera] += 1
    figures = Figures.of(channels, sum(per_camera.values()))
    if figures.monitored <= 0:
        return None
    values = figures.as_dict()
    earned: dict[str, float] = {
        name: fw.weight * min(1.0, (values[name] or 0.0) / fw.target) for name, fw in rules.figures.items()
    }
    lines: list[DeductionLine] = []
    for rule in rules.deductions:
        if rule.per == "channel":
            hit = tuple(
                sorted(
                    u.camera
                    for u in channels
                    if u.monitored > 0 and rule.when.holds(Figures.of([u], per_camera[u.camera]).as_dict())
                )
            )
            count = len(hit)
        else:
            hit, count = (), int(rule.when.holds(values))
        if count:
            points = count * rule.points
            if rule.max_points is not None:
                points = min(points, rule.max_points)
            lines.append(DeductionLine(rule, count, points, hit))
    score = max(0.0, sum(earned.values()) - sum(d.points for d in lines))
    return GroupScore(group, unit, figures, earned, tuple(lines), score, rules.bands.band(score))


@dataclass(frozen=True, slots=True)
class RepairTimes:
    """How quickly a contractor's faults were repaired over the period."""

    episodes: int
    median_hours: float | None
    p90_hours: float | None
    open_at_end: int
    longest_open_hours: float | None


def repair_times(episodes: Sequence[FaultEpisode], period_end: float) -> RepairTimes:
    """Median and 90th percentile of the time to repair of the episodes that ended within the period; the
    episodes still open at its end and the longest of them (measured to the period's end)."""
    closed_hours = sorted(
        h for e in episodes if e.end is not None and e.end <= period_end and (h := e.repair_hours) is not None
    )
    still_open = [e for e in episodes if e.open_at(period_end)]
    return RepairTimes(
        len(episodes),
        statistics.median(closed_hours) if closed_hours else None,
        _percentile(closed_hours, 0.9) if closed_hours else None,
        len(still_open),
        max(((period_end - e.start) / HOUR for e in still_open), default=None),
    )


def _percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (the value at or below which ``q`` of the values lie): no interpolation,
    so the figure is always an episode a contractor can look up."""
    rank = max(1, -(-len(sorted_values) * q // 1))
    return sorted_values[int(rank) - 1]
