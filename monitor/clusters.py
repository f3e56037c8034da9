"""Offline clusters: cameras that went down together behind one switch, fibre, power feed or site — or,
without such labels, close together in place — so one alert names the outage instead of paging per camera."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from camwatch.config.models import Camera, ClusterSettings
from camwatch.monitor.snapshot import ClusterView

EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True, slots=True)
class DownCamera:
    camera: Camera
    since: float  # when it went down


def _time_groups(members: Sequence[DownCamera], window: float) -> list[list[DownCamera]]:
    """Split into runs whose consecutive down times are at most ``window`` apart."""
    ordered = sorted(members, key=lambda m: m.since)
    groups: list[list[DownCamera]] = []
    for m in ordered:
        if groups and m.since - groups[-1][-1].since <= window:
            groups[-1].append(m)
        else:
            groups.append([m])
    return groups


def _place_groups(members: Sequence[DownCamera], radius: float) -> list[list[DownCamera]]:
    """Single-linkage groups of cameras within ``radius`` metres of one another (grid-hashed, no n² loop)."""
    if not members:
        return []
    lat = np.radians(np.array([m.camera.lat for m in members], dtype=float))
    lon = np.radians(np.array([m.camera.lon for m in members], dtype=float))
    # Local equirectangular metres: errors well under 1 % across a county.
    x = EARTH_RADIUS_M * lon * np.cos(lat.mean())
    y = EARTH_RADIUS_M * lat
    cells: dict[tuple[int, int], list[int]] = {}
    for i, key in enumerate(zip((x // radius).astype(int), (y // radius).astype(int), strict=True)):
        cells.setdefault(key, []).append(i)
    parent = list(range(len(members)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for (cx, cy), idx in cells.items():
        near = [j for dx in (-1, 0, 1) for dy in (-1, 0, 1) for j in cells.get((cx + dx, cy + dy), ())]
        a = np.array(idx)
        b = np.array(near)
        d2 = (x[a, None] - x[None, b]) ** 2 + (y[a, None] - y[None, b]) ** 2
        for i, j in zip(*np.nonzero(d2 <= radius * radius), strict=True):
            ri, rj = find(int(a[i])), find(int(b[j]))
            if ri != rj:
                parent[ri] = rj
    groups: dict[int, list[DownCamera]] = {}
    for i, m in enumerate(members):
        groups.setdefault(find(i), []).append(m)
    return list(groups.values())


def _view(kind: str, key: str, members: Sequence[DownCamera]) -> ClusterView:
    def commonest(field: str) -> str:
        counts = Counter(getattr(m.camera, field) for m in members if getattr(m.camera, field))
        return counts.most_common(1)[0][0] if counts else ""

    cluster = f"{kind}:{key}"
    return ClusterView(
        cluster=cluster,
        kind=kind,
        key=key,
        cameras=tuple(sorted(m.camera.id for m in members)),
        county=commonest("county"),
        township=commonest("township"),
        since=min(m.since for m in members),
    )


def offline_clusters(down: Iterable[DownCamera], settings: ClusterSettings) -> list[ClusterView]:
    """Group down cameras into offline clusters.

    Topology labels are tried in ``settings.labels`` order (most specific first); a camera joins at most
    one cluster. Cameras left over that have a position are grouped by place. Only groups of at least
    ``min_cameras`` that went down within ``window`` of one another count.
    """
    remaining = {m.camera.id: m for m in down}
    clusters: list[ClusterView] = []
    for label in settings.labels:
        by_value: dict[str, list[DownCamera]] = {}
        for m in remaining.values():
            value = getattr(m.camera, label, "")
            if value:
                by_value.setdefault(value, []).append(m)
        for value, members in sorted(by_value.items()):
            for group in _time_groups(members, settings.window):
                if len(group) >= settings.min_cameras:
                    clusters.append(_view(label, value, group))
                    for m in group:
                        remaining.pop(m.camera.id, None)
    placed = [m for m in remaining.values() if m.camera.has_position]
    for group in _time_groups(placed, settings.window):
        for near in _place_groups(group, settings.radius):
            if len(near) >= settings.min_cameras:
                clusters.append(_view("place", min(m.camera.id for m in near), near))
    return clusters
