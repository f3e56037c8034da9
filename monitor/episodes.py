"""Fault episodes (故障记录): one row per run of a single status in which a camera was not working.

An offline run followed by a ``frozen`` run are two episodes, so both rates can be recomputed from the rows:
an episode's ``hours`` are its time inside the *counted* time of the period (monitored, after the camera was
first seen, outside maintenance and excused windows), its maintenance and excused time are given apart, so

    online rate  = 1 − Σ hours of episodes with up = false ÷ counted hours
    working rate = 1 − Σ hours of every episode ÷ counted hours

which is exactly what :func:`camwatch.monitor.uptime.camera_uptime` computes from the same transitions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from camwatch.monitor.outcome import stored_reason
from camwatch.monitor.period import Interval, overlap, subtract
from camwatch.monitor.state import Transition

HOUR = 3600.0


@dataclass(frozen=True, slots=True)
class FaultEpisode:
    camera: str
    status: str
    up: bool
    start: float  # epoch seconds: when the run began (may precede the period)
    end: float | None  # when it ended; None while ongoing
    hours: float  # inside the period's counted time
    maintenance_hours: float
    excused_hours: float
    reason: str
    cluster: str = ""

    @property
    def repair_hours(self) -> float | None:
        """Time to repair: from the start of the run to the camera working again (None while ongoing)."""
        return None if self.end is None else (self.end - self.start) / HOUR

    def open_at(self, t: float) -> bool:
        return self.start < t and (self.end is None or self.end > t)


def camera_episodes(
    camera: str,
    transitions: Sequence[Transition],
    period: Interval,
    monitored: Sequence[Interval],
    maintenance: Sequence[Interval],
    excused: Sequence[Interval] = (),
    clusters: Sequence[tuple[float, str]] = (),
) -> list[FaultEpisode]:
    """The camera's fault episodes overlapping ``period`` from its ordered ``transitions``.

    ``monitored`` are the monitor's running times clipped to the period, ``maintenance`` and ``excused`` the
    camera's windows (each sorted and disjoint). ``clusters`` are (time, cluster id) of the offline clusters
    the camera was counted in; an episode belongs to a cluster that took the camera in while it ran.
    """
    if not transitions:
        return []
    seen = subtract(monitored, [(float("-inf"), transitions[0].ts)])
    counted = subtract(subtract(seen, maintenance), excused)
    in_maintenance = subtract(seen, subtract(seen, maintenance))
    in_excuse = subtract(subtract(seen, maintenance), subtract(subtract(seen, maintenance), excused))
    starts = [[a for a, _ in part] for part in (counted, in_maintenance, in_excuse)]

    episodes: list[FaultEpisode] = []
    for first, after in _runs(transitions):
        t = transitions[first]
        start = t.ts
        end = transitions[after].ts if after < len(transitions) else None
        if start >= period[1] or (end is not None and end <= period[0]):
            continue
        hi = float("inf") if end is None else end
        hours, maint, excuse = (
            overlap(start, hi, part, s) / HOUR
            for part, s in zip((counted, in_maintenance, in_excuse), starts, strict=True)
        )
        cluster = next((cid for ts, cid in clusters if start <= ts < hi), "")
        reason = t.reason or stored_reason(t.status, t.faults)
        episodes.append(
            FaultEpisode(camera, t.status, t.up, start, end, hours, maint, excuse, reason, cluster)
        )
    return episodes


def _runs(transitions: Sequence[Transition]) -> list[tuple[int, int]]:
    """(first index, index after) of each run of not-working transitions sharing one status and ``up``."""
    runs: list[tuple[int, int]] = []
    i = 0
    while i < len(transitions):
        t = transitions[i]
        j = i + 1
        if not t.working:
            while j < len(transitions) and _same_run(t, transitions[j]):
                j += 1
            runs.append((i, j))
        i = j
    return runs


def _same_run(a: Transition, b: Transition) -> bool:
    return not b.working and b.status == a.status and b.up == a.up
