"""What the monitor exports, as plain data: the one thing the collector reads at scrape time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from camwatch.monitor.tracker import CameraTrack

LATENESS_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@dataclass(slots=True)
class Lateness:
    """Histogram of how late probes start after their due time (exported as a Prometheus histogram)."""

    buckets: tuple[float, ...] = LATENESS_BUCKETS
    counts: list[int] = field(default_factory=lambda: [0] * (len(LATENESS_BUCKETS) + 1))
    total: float = 0.0
    n: int = 0

    def observe(self, seconds: float) -> None:
        seconds = max(seconds, 0.0)
        for i, bound in enumerate(self.buckets):
            if seconds <= bound:
                self.counts[i] += 1
                break
        else:
            self.counts[-1] += 1
        self.total += seconds
        self.n += 1


@dataclass(frozen=True, slots=True)
class ClusterView:
    """An offline cluster as exported: id, grouping kind (switch/fibre/power/site/place), members still down,
    the share of the label's (or place's) monitored cameras that are unreachable, and whether its onset was
    seen (``observed``) or the cameras were down before monitoring began (``before_monitoring``)."""

    cluster: str
    kind: str
    key: str
    cameras: tuple[str, ...]
    county: str = ""
    township: str = ""
    since: float = 0.0
    share: float = 0.0
    onset: str = "observed"


@dataclass(frozen=True, slots=True)
class CoverageView:
    area: str
    category: str
    ratio: float
    effective_ratio: float
    target: float


@dataclass(slots=True)
class Snapshot:
    """Everything the collector exports, as the service had it when the scrape began (its own copies)."""

    tracks: Mapping[str, CameraTrack]
    probes_total: Mapping[tuple[str, str], int] = field(default_factory=dict)
    lateness: Lateness = field(default_factory=Lateness)
    clusters: Sequence[ClusterView] = ()
    coverage: Sequence[CoverageView] = ()
    maintenance: frozenset[str] = frozenset()
    events_total: Mapping[tuple[str, str], int] = field(default_factory=dict)  # (camera, kind) -> count
    state_healthy: bool = True
    state_write_errors: int = 0
    config_reload_ok: bool = True
    config_reload_timestamp: float = 0.0
    # reports.online_target / working_target, exported so that the area alerts compare against them.
    online_target: float = 0.95
    working_target: float = 0.90
    # The cameras whose plan has a kind that reads a recorder's disks, indexed once per inventory, so a scrape
    # does not walk every track for them; None: look at every track.
    recorded: Sequence[str] | None = None
