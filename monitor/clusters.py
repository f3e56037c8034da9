"""Offline clusters: evidence of one shared upstream failure — a switch, fibre, power feed or site (or, for
cameras left over, a place) whose cameras became unreachable together — so one alert names the outage
instead of paging per camera, and only the members' own pages are muted."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from camwatch.config.models import Camera, ClusterSettings
from camwatch.monitor.live import ClusterView

EARTH_RADIUS_M = 6_371_008.8
# Only a camera that cannot be reached says something about what lies upstream of it; a refused login,
# a missing stream path or a bad picture is the camera's own fault.
REACHABILITY_STATUSES = frozenset({"offline", "timeout"})
OBSERVED = "observed"
PLACE = "place"
BEFORE_MONITORING = "before_monitoring"


@dataclass(frozen=True, slots=True)
class DownCamera:
    camera: Camera
    status: str
    since: float | None  # when it went down; None: already down when first seen (started or added)


CLUSTER_EVENT = "cluster"
"""The state database's event kind for "this camera was counted in that offline cluster" (its detail:
``{"cluster": id}``), which reports read to tie each fault episode to its cluster."""


@dataclass(frozen=True, slots=True)
class ClusterChange:
    """A cluster started, gained cameras, or ended (``cameras``: who joined, or who is still down and now
    pages alone)."""

    change: Literal["started", "joined", "ended"]
    cluster: ClusterView
    cameras: tuple[str, ...]


@dataclass(slots=True)
class _Active:
    kind: str
    key: str
    since: float
    onset: str
    members: dict[str, DownCamera] = field(default_factory=dict)  # every camera that ever joined


class _Places:
    """Positions of monitored cameras on a grid of ``radius`` cells: who lies within ``radius`` of whom."""

    def __init__(self, cameras: Sequence[Camera], radius: float):
        self.radius = radius
        placed = [c for c in cameras if c.has_position]
        self.ids = [c.id for c in placed]
        self.index = {cid: i for i, cid in enumerate(self.ids)}
        lat = np.radians(np.array([c.lat for c in placed], dtype=float))
        lon = np.radians(np.array([c.lon for c in placed], dtype=float))
        # Local equirectangular metres: errors well under 1 % across a county.
        self.x = EARTH_RADIUS_M * lon * np.cos(lat.mean() if len(placed) else 0.0)
        self.y = EARTH_RADIUS_M * lat
        self.cells: dict[tuple[int, int], list[int]] = {}
        for i, key in enumerate(
            zip((self.x // radius).astype(int), (self.y // radius).astype(int), strict=True)
        ):
            self.cells.setdefault(key, []).append(i)

    def near(self, ids: Iterable[str]) -> set[str]:
        """Monitored cameras within ``radius`` of any of ``ids`` (those included)."""
        out: set[str] = set()
        for cid in ids:
            i = self.index.get(cid)
            if i is None:
                continue
            cx, cy = int(self.x[i] // self.radius), int(self.y[i] // self.radius)
            cand = np.array(
                [j for dx in (-1, 0, 1) for dy in (-1, 0, 1) for j in self.cells.get((cx + dx, cy + dy), ())],
                dtype=int,
            )
            d2 = (self.x[cand] - self.x[i]) ** 2 + (self.y[cand] - self.y[i]) ** 2
            out.update(self.ids[j] for j in cand[d2 <= self.radius**2])
        return out


def _place_groups(members: Sequence[DownCamera], places: _Places) -> list[list[DownCamera]]:
    """Single-linkage groups of cameras within ``radius`` metres of one another."""
    by_id = {m.camera.id: m for m in members}
    left = set(by_id)
    groups: list[list[DownCamera]] = []
    for start in sorted(by_id):
        if start not in left:
            continue
        left.discard(start)
        group, frontier = [start], [start]
        while frontier:
            reached = places.near(frontier) & left
            left -= reached
            frontier = sorted(reached)
            group += frontier
        groups.append([by_id[c] for c in group])
    return groups


def _densest_window(members: Sequence[DownCamera], window: float) -> list[DownCamera]:
    """The most cameras whose down times fit in one ``window`` (the earliest such run on a tie)."""
    ordered = sorted(members, key=lambda m: (m.since or 0.0, m.camera.id))
    best: tuple[int, int] = (0, 0)
    lo = 0
    for hi, m in enumerate(ordered):
        while (m.since or 0.0) - (ordered[lo].since or 0.0) > window:
            lo += 1
        if hi + 1 - lo > best[1] - best[0]:
            best = (lo, hi + 1)
    return ordered[best[0] : best[1]]


def _commonest(cameras: Iterable[Camera], name: str) -> str:
    counts = Counter(getattr(c, name) for c in cameras if getattr(c, name))
    return counts.most_common(1)[0][0] if counts else ""


class _Monitored:
    """The monitored cameras by label value, and their positions: rebuilt only when the set changes."""

    def __init__(self, monitored: Sequence[Camera], settings: ClusterSettings):
        # Identity, not equality: a reload brings new Camera objects, and the old ones stay referenced here.
        self.key = (tuple(map(id, monitored)), settings)
        self.cameras = monitored
        self.settings = settings
        self.by_label: dict[str, dict[str, list[str]]] = {label: {} for label in settings.labels}
        for c in monitored:
            for label, values in self.by_label.items():
                if value := getattr(c, label, ""):
                    values.setdefault(value, []).append(c.id)
        self._places: _Places | None = None

    @property
    def places(self) -> _Places:
        if self._places is None:  # built only when some camera is grouped by place
            self._places = _Places(self.cameras, self.settings.radius)
        return self._places


class _Round:
    """What one update knows: the monitored cameras and who among them is unreachable."""

    def __init__(self, monitored: _Monitored, unreachable: Mapping[str, DownCamera]):
        self.monitored = monitored
        self.unreachable = unreachable

    def share(self, kind: str, key: str, members: Iterable[str]) -> tuple[int, int]:
        """(monitored, unreachable) cameras of a label value, or for a place, within radius of ``members``."""
        ids: Iterable[str] = (
            self.monitored.places.near(members)
            if kind == PLACE
            else self.monitored.by_label.get(kind, {}).get(key, ())
        )
        counted = [c in self.unreachable for c in ids]
        return len(counted), sum(counted)

    def still_down(self, active: _Active) -> list[DownCamera]:
        """Members still unreachable in the same down spell they joined with."""
        return [
            m
            for c, m in active.members.items()
            if (now := self.unreachable.get(c)) is not None and now.since == m.since
        ]


class ClusterTracker:
    """Offline clusters over time: which form, who joins, when they end.

    A cluster forms from cameras that became unreachable (``offline``/``timeout``) within ``window`` of one
    another and share a topology label — tried in ``settings.labels`` order, most specific first — when they
    are at least ``min_cameras`` and at least ``min_share`` of the label's monitored cameras (not in
    maintenance) are unreachable. Cameras left over that have a position are grouped by place, the share
    then taken over the monitored cameras within ``radius`` of the group. Cameras already down when first
    seen have no known down time: they never group with later ones, and form a cluster (onset
    ``before_monitoring``) only when every monitored camera of a label is unreachable. A camera joins an
    active cluster only if it went down within ``window`` of the cluster's start. When most members are
    back the cluster ends; those still down leave it and page alone, and form no other cluster before they
    come back.
    """

    def __init__(self, settings: ClusterSettings):
        self.settings = settings
        self._active: dict[str, _Active] = {}
        self._spent: set[tuple[str, float | None]] = set()  # down spells that already ended in a cluster
        self._monitored: _Monitored | None = None
        self.clusters: list[ClusterView] = []

    def update(
        self, monitored: Sequence[Camera], down: Iterable[DownCamera], now: float
    ) -> list[ClusterChange]:
        """Fold in the current state and return what changed; ``self.clusters`` then holds the clusters.

        ``monitored`` excludes cameras under maintenance; ``down`` lists the cameras reported down among them.
        """
        s = self.settings
        unreachable = {m.camera.id: m for m in down if m.status in REACHABILITY_STATUSES}
        if self._monitored is None or self._monitored.key != (tuple(map(id, monitored)), s):
            self._monitored = _Monitored(monitored, s)
        r = _Round(self._monitored, unreachable)
        self._spent = {
            (c, since) for c, since in self._spent if (m := unreachable.get(c)) and m.since == since
        }

        changes: list[ClusterChange] = []
        assigned: set[str] = set()
        for cid, active in list(self._active.items()):
            still = r.still_down(active)
            if 2 * len(still) < len(active.members) or not still:
                del self._active[cid]
                self._spent.update((m.camera.id, m.since) for m in still)
                changes.append(ClusterChange("ended", self._view(cid, active, r), _ids(still)))
            else:
                assigned.update(m.camera.id for m in still)

        free = [m for c, m in unreachable.items() if c not in assigned and (c, m.since) not in self._spent]
        joined: dict[str, list[DownCamera]] = {}
        for m in free:
            for cid, active in self._active.items():
                if self._may_join(m, active, r):
                    active.members[m.camera.id] = m
                    joined.setdefault(cid, []).append(m)
                    assigned.add(m.camera.id)
                    break
        free = [m for m in free if m.camera.id not in assigned]

        started: list[str] = []
        for label in s.labels:
            by_value: dict[str, list[DownCamera]] = {}
            for m in free:
                if (value := getattr(m.camera, label, "")) and f"{label}:{value}" not in self._active:
                    by_value.setdefault(value, []).append(m)
            for value, members in sorted(by_value.items()):
                monitored_n, unreachable_n = r.share(label, value, ())
                if unreachable_n < s.min_share * monitored_n:
                    continue
                group = _densest_window([m for m in members if m.since is not None], s.window)
                onset = OBSERVED
                if len(group) < s.min_cameras:
                    # Down times unknown: only a label wholly down is evidence of one failure.
                    group, onset = [m for m in members if m.since is None], BEFORE_MONITORING
                    if len(group) < s.min_cameras or unreachable_n < monitored_n:
                        continue
                started.append(self._start(f"{label}:{value}", label, value, onset, group, now))
                assigned.update(m.camera.id for m in group)
            free = [m for m in free if m.camera.id not in assigned]

        placed = [m for m in free if m.since is not None and m.camera.has_position]
        if len(placed) >= s.min_cameras:
            for near in _place_groups(placed, r.monitored.places):
                for group in _place_groups(_densest_window(near, s.window), r.monitored.places):
                    cid = f"{PLACE}:{min(m.camera.id for m in group)}"
                    if len(group) < s.min_cameras or cid in self._active:
                        continue
                    monitored_n, unreachable_n = r.share(PLACE, "", (m.camera.id for m in group))
                    if unreachable_n >= s.min_share * monitored_n:
                        started.append(self._start(cid, PLACE, cid.split(":", 1)[1], OBSERVED, group, now))

        self.clusters = []
        for cid, active in sorted(self._active.items()):
            view = self._view(cid, active, r)
            self.clusters.append(view)
            if cid in started:
                changes.append(ClusterChange("started", view, view.cameras))
            elif cid in joined:
                changes.append(ClusterChange("joined", view, _ids(joined[cid])))
        return changes

    def _start(
        self, cid: str, kind: str, key: str, onset: str, group: Sequence[DownCamera], now: float
    ) -> str:
        since = min((m.since for m in group if m.since is not None), default=now)
        self._active[cid] = _Active(kind, key, since, onset, {m.camera.id: m for m in group})
        return cid

    def _may_join(self, m: DownCamera, active: _Active, r: _Round) -> bool:
        if (m.since is None) != (active.onset == BEFORE_MONITORING):
            return False  # a known down time never merges with an unknown one
        if m.since is not None and abs(m.since - active.since) > self.settings.window:
            return False  # a later failure is another outage: membership does not grow forever
        if active.kind == PLACE:
            return bool(r.monitored.places.near([m.camera.id]) & active.members.keys())
        return bool(getattr(m.camera, active.kind, "") == active.key)

    def _view(self, cid: str, active: _Active, r: _Round) -> ClusterView:
        cameras = [m.camera for m in active.members.values()]
        monitored_n, unreachable_n = r.share(active.kind, active.key, active.members)
        return ClusterView(
            cluster=cid,
            kind=active.kind,
            key=active.key,
            cameras=_ids(r.still_down(active)),
            county=_commonest(cameras, "county"),
            township=_commonest(cameras, "township"),
            since=active.since,
            share=unreachable_n / monitored_n if monitored_n else 0.0,
            onset=active.onset,
        )


def _ids(members: Iterable[DownCamera]) -> tuple[str, ...]:
    return tuple(sorted(m.camera.id for m in members))
