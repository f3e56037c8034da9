"""Suggest new camera positions and headings that close coverage gaps (lazy greedy max-coverage)."""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from pyproj import CRS

from camwatch.coverage.fov import (
    DEFAULT_WIDTH_PX,
    FIXED_HFOV,
    RANGE_LEVEL,
    dori_distance,
    dori_limited,
    fov_sectors,
    grid_convergence,
)
from camwatch.coverage.measure import CoverageModel, dori_levels

DEMAND_PIECE = 10.0
"""Uncovered road is cut into pieces of at most this many metres; a new camera gains a piece it sees whole."""


@dataclass(frozen=True)
class NewCamera:
    """The camera a suggestion stands for, and how candidates are laid out."""

    hfov: float = FIXED_HFOV
    width_px: float = DEFAULT_WIDTH_PX
    headings: int = 8
    spacing: float = 25.0
    # Candidate points per suggestion allowed: on long gaps the spacing widens to keep the search this size.
    candidates_per_suggestion: int = 20


@dataclass(frozen=True)
class Demand:
    """What is left to cover where an area misses a target, one element per row: road pieces first (at most
    :data:`DEMAND_PIECE` m, kept as their two end points: a county has a million of them and only those a
    candidate can see become geometries), then unseen intersections and sites (``zones``).

    ``group`` is the (area, category) index, ``size`` metres or 1, ``weight`` the share of the group's total
    it is worth; ``deficit`` is each group's size still needed."""

    ends: NDArray[np.float64]
    zones: NDArray[np.object_]
    zone_kind: NDArray[np.object_]
    group: NDArray[np.intp]
    dori: NDArray[np.str_]
    size: NDArray[np.float64]
    weight: NDArray[np.float64]
    area: NDArray[np.object_]
    category: NDArray[np.object_]
    deficit: NDArray[np.float64]

    @property
    def roads(self) -> int:
        return len(self.ends)

    def __len__(self) -> int:
        return len(self.ends) + len(self.zones)

    def subset(self, rows: NDArray[np.intp]) -> Demand:
        """The elements ``rows`` (sorted), road pieces now as LineStrings in ``zones``' place."""
        road = rows[rows < self.roads]
        zone = rows[rows >= self.roads] - self.roads
        geometry = np.concatenate([shapely.linestrings(self.ends[road]), self.zones[zone]])
        kind = np.concatenate([np.full(len(road), "road", dtype=object), self.zone_kind[zone]])
        return Demand(
            ends=np.zeros((0, 2, 2)),
            zones=geometry,
            zone_kind=kind,
            group=self.group[rows],
            dori=self.dori[rows],
            size=self.size[rows],
            weight=self.weight[rows],
            area=self.area[rows],
            category=self.category[rows],
            deficit=self.deficit,
        )


def _pieces(ends: NDArray[np.float64], max_length: float) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    """Straight segments (``ends``: n x 2 x 2) cut into equal pieces of at most ``max_length`` m, as GEOS'
    densifier cuts them (:func:`shapely.segmentize`), and the segment each piece comes from."""
    delta = ends[:, 1] - ends[:, 0]
    length = np.sqrt(delta[:, 0] * delta[:, 0] + delta[:, 1] * delta[:, 1])
    counts = np.where(length > max_length, np.ceil(length / max_length), 1).astype(np.intp)
    # counts + 1 points per segment: its start, the cuts, its own end (not one computed along it).
    owner = np.repeat(np.arange(len(ends)), counts + 1)
    step = np.arange(len(owner)) - np.repeat(np.cumsum(counts + 1) - (counts + 1), counts + 1)
    last = step == counts[owner]
    fraction = (step * (length / counts)[owner]) / np.where(length > 0, length, 1.0)[owner]
    points = ends[owner, 0] + fraction[:, None] * delta[owner]
    points[last] = ends[:, 1]
    pieces = np.stack([points[:-1][~last[:-1]], points[1:][~last[:-1]]], axis=1)
    piece_owner = owner[:-1][~last[:-1]]
    keep = np.any(pieces[:, 0] != pieces[:, 1], axis=1)
    return pieces[keep], piece_owner[keep]


def _demand(model: CoverageModel) -> Demand:
    """What is left to cover where an area misses a target (see :class:`Demand`)."""
    area = model.finest_area()
    coverage = model.feature_coverage()
    features = model.features
    keys = pd.MultiIndex.from_arrays([area, features["category"].to_numpy()])
    group, names = pd.factorize(keys)
    totals = np.bincount(group, weights=coverage["size"].to_numpy())
    covered = np.bincount(group, weights=coverage["covered"].to_numpy())
    targets = np.array([model.catalog.specs[category].target for _, category in names])
    deficit = (targets * totals - covered).astype(float)
    dori = dori_levels(features["category"], model.catalog)

    stretches = model.road_stretches()
    open_road = stretches[~stretches["covered"]]
    # Stretches are two-point lines.
    ends, stretch = _pieces(
        shapely.get_coordinates(open_road.geometry.to_numpy()).reshape(-1, 2, 2), DEMAND_PIECE
    )
    road_feature = open_road["feature"].to_numpy()[stretch]
    piece_delta = ends[:, 1] - ends[:, 0]
    unseen = np.flatnonzero((features["kind"] != "road").to_numpy() & (coverage["covered"].to_numpy() <= 0))
    feature = np.concatenate([road_feature, unseen])
    piece_length = np.sqrt(piece_delta[:, 0] * piece_delta[:, 0] + piece_delta[:, 1] * piece_delta[:, 1])
    size = np.concatenate([piece_length, np.ones(len(unseen))])
    wanted = deficit[group[feature]] > 1e-9
    feature, size = feature[wanted], size[wanted]
    zone_rows = unseen[wanted[len(ends) :]]
    category = features["category"].to_numpy(dtype=object)
    return Demand(
        ends=ends[wanted[: len(ends)]],
        zones=features.geometry.to_numpy()[zone_rows],
        zone_kind=features["kind"].to_numpy(dtype=object)[zone_rows],
        group=group[feature],
        dori=dori[feature],
        size=size,
        weight=size / totals[group[feature]],
        area=names.get_level_values(0).to_numpy(dtype=object)[group[feature]],
        category=category[feature],
        deficit=deficit,
    )


def _candidate_points(demand: Demand, spacing: float, crs: CRS) -> gpd.GeoDataFrame:
    """Where a new camera could stand, with the area it serves and, on a road, the road's grid bearing: on
    uncovered road (at most one point per ``spacing`` x ``spacing`` cell), at unseen intersections, and every
    ``spacing`` m around unseen sites. ``bearing`` is NaN off the road."""
    is_site = demand.zone_kind == "site"
    zones = demand.zones[is_site]
    outlines = shapely.get_exterior_ring(zones)
    counts = np.maximum(1, np.ceil(shapely.length(outlines) / spacing)).astype(int)
    owner = np.repeat(np.arange(len(outlines)), counts)
    step = np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)
    around = shapely.line_interpolate_point(outlines[owner], (step + 0.5) / counts[owner], normalized=True)
    roads = demand.roads
    delta = demand.ends[:, 1] - demand.ends[:, 0]
    # A piece's centroid as GEOS computes it (length-weighted middle), so candidates stand where they did.
    length = np.sqrt(delta[:, 0] * delta[:, 0] + delta[:, 1] * delta[:, 1])[:, None]
    middle = (length * ((demand.ends[:, 0] + demand.ends[:, 1]) / 2)) / length
    others = np.concatenate([middle, shapely.get_coordinates(shapely.centroid(demand.zones[~is_site]))])
    area = np.concatenate(
        [demand.area[:roads], demand.area[roads:][~is_site], demand.area[roads:][is_site][owner]]
    )
    bearing = np.concatenate(
        [np.degrees(np.arctan2(delta[:, 0], delta[:, 1])), np.full(len(others) - roads + len(around), np.nan)]
    )
    xy = np.concatenate([others, shapely.get_coordinates(around)])
    first = np.sort(_first_per_cell(xy, spacing))
    return gpd.GeoDataFrame(
        {"area": area[first], "bearing": bearing[first]}, geometry=shapely.points(xy[first]), crs=crs
    )


def _cells(xy: NDArray[np.float64], size: float, origin: NDArray[np.float64]) -> NDArray[np.int64]:
    """One integer per ``size`` x ``size`` cell (counted from ``origin``) of each point."""
    cell = np.floor(xy / size).astype(np.int64) - np.floor(origin / size).astype(np.int64)
    return cell[:, 0] * (1 << 32) + cell[:, 1]


def _first_per_cell(xy: NDArray[np.float64], size: float) -> NDArray[np.intp]:
    """Index of the first point in each ``size`` x ``size`` cell."""
    if len(xy) == 0:
        return np.zeros(0, np.intp)
    _, first = np.unique(_cells(xy, size, xy.min(axis=0)), return_index=True)
    return first


def _within_reach(demand: Demand, points: NDArray[np.object_], reach: float) -> NDArray[np.intp]:
    """Elements a camera standing at one of ``points`` with ``reach`` could see: road pieces whose middle is
    in a cell next to such a point's (cells ``reach`` wide), and every intersection and site."""
    middle = (demand.ends[:, 0] + demand.ends[:, 1]) / 2
    if len(points) == 0 or len(middle) == 0:
        return np.arange(demand.roads, len(demand))
    at = shapely.get_coordinates(points)
    origin = np.minimum(at.min(axis=0), middle.min(axis=0)) - 2 * reach
    near = _cells(at, reach, origin)
    shifts = np.array([dx * (1 << 32) + dy for dx in (-1, 0, 1) for dy in (-1, 0, 1)], np.int64)
    near = np.unique((near[:, None] + shifts[None, :]).ravel())
    roads = np.flatnonzero(np.isin(_cells(middle, reach, origin), near))
    return np.concatenate([roads, np.arange(demand.roads, len(demand))])


def _candidate_cameras(
    points: gpd.GeoDataFrame, camera: NewCamera
) -> tuple[gpd.GeoDataFrame, NDArray[np.intp]]:
    """Candidate cameras as :func:`camera_frame` columns, and the point each stands at: both ways along the
    road on a road, ``camera.headings`` evenly spaced headings elsewhere."""
    on_road = points["bearing"].notna().to_numpy()
    counts = np.where(on_road, 2, camera.headings)
    point = np.repeat(np.arange(len(points)), counts)
    turn = np.arange(len(point)) - np.repeat(np.cumsum(counts) - counts, counts)
    grid_north = points["bearing"].to_numpy() + grid_convergence(points.geometry.to_numpy(), CRS(points.crs))
    direction = (
        np.where(on_road[point], grid_north[point] + 180.0 * turn, turn * 360.0 / camera.headings) % 360.0
    )
    width = np.full(len(point), float(camera.width_px))
    lens = np.full(len(point), float(camera.hfov))
    frame = gpd.GeoDataFrame(
        {
            "area": points["area"].to_numpy()[point],
            "direction": direction,
            "hfov": lens,
            "lens": lens,
            "width_px": width,
            "range": dori_distance(width, lens, RANGE_LEVEL),
        },
        geometry=points.geometry.to_numpy()[point],
        crs=points.crs,
    )
    return frame, point


def suggest_cameras(
    model: CoverageModel, *, max_suggestions: int | None = None, camera: NewCamera | None = None
) -> gpd.GeoDataFrame:
    """New cameras, best first, until every area meets its targets, nothing more can be gained, or
    ``max_suggestions`` (default ``settings.max_suggestions``).

    Greedy max-coverage: each pick is the candidate (position x heading) that closes the largest share of the
    areas' remaining deficits, where covering x of a group's total counts x / total (so metres of road and
    counts of sites weigh alike). Gains only shrink as picks are made, so a stale gain in the priority queue
    is an upper bound: a popped candidate is re-scored and taken only if it still beats the next one (lazy
    evaluation). Elements of a (area, category) group stop counting once the group meets its target.

    Returns, in the model's CRS: Points with ``direction`` (true bearing), ``hfov``, ``range``, ``gain``
    (share of targets closed, summed over groups), ``area`` (the area it serves) and ``covers`` (what it
    newly covers, by category: ``{category: metres of road or number of intersections/sites}``). The
    frame's ``attrs`` say how the search ended: ``targets_met`` (every area would meet every target) and
    ``cap_reached`` (it stopped at the limit while more cameras would still help).
    """
    camera = camera or NewCamera()
    limit = model.settings.max_suggestions if max_suggestions is None else max_suggestions
    demand = _demand(model)
    if len(demand) == 0 or limit <= 0:
        # Nothing to cover is every target met; a cap of 0 leaves them as they are.
        deficit = demand.deficit if len(demand) else np.zeros(0)
        return _suggestions(model, None, [], [], deficit, capped=len(demand) > 0)
    road_length = float(np.sum(demand.size[: demand.roads]))
    spacing = max(camera.spacing, road_length / (camera.candidates_per_suggestion * limit))
    points = _candidate_points(demand, spacing, model.crs)
    candidates, point = _candidate_cameras(points, camera)
    # Only what some candidate could see takes part: on a county's roads, a few percent of the pieces.
    reach = float(candidates["range"].max()) if len(candidates) else 0.0
    seen = demand.subset(_within_reach(demand, points.geometry.to_numpy(), reach))
    views = _views(model, points, candidates, point, reach)
    element, bounds = _seen_by(seen, views, candidates)
    picked, covers, capped = _greedy(seen, element, bounds, limit)
    return _suggestions(model, candidates, picked, covers, seen.deficit, capped=capped)


def _views(
    model: CoverageModel,
    points: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame,
    point: NDArray[np.intp],
    reach: float,
) -> NDArray[np.object_]:
    """Each candidate's view, cut by the buildings around its point."""
    # Buildings hide the same things from every heading at a point: cut their shadows once per point.
    discs = points.assign(direction=0.0, hfov=360.0, range=reach)
    around = fov_sectors(discs, buildings=model.layers.buildings)
    views: NDArray[np.object_] = shapely.intersection(fov_sectors(candidates), around[point])
    return views


def _seen_by(
    demand: Demand, views: NDArray[np.object_], candidates: gpd.GeoDataFrame
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """The elements each candidate sees, grouped by candidate: ``element[bounds[c]:bounds[c + 1]]``."""
    pairs = []
    is_road = demand.zone_kind == "road"
    for level in pd.unique(demand.dori):
        tree = shapely.STRtree(dori_limited(views, candidates, level) if level else views)
        # A road piece counts when the view covers all of it; an intersection or site zone when it meets it.
        for rows, predicate in ((is_road, "covered_by"), (~is_road, "intersects")):
            rows = np.flatnonzero(rows & (demand.dori == level))
            found, cand = tree.query(demand.zones[rows], predicate=predicate)
            pairs.append((rows[found], cand))
    element = np.concatenate([p[0] for p in pairs]) if pairs else np.zeros(0, np.intp)
    cand = np.concatenate([p[1] for p in pairs]) if pairs else np.zeros(0, np.intp)
    order = np.argsort(cand, kind="stable")
    element, cand = element[order], cand[order]
    return element, np.searchsorted(cand, np.arange(len(candidates) + 1))


def _greedy(
    demand: Demand, element: NDArray[np.intp], bounds: NDArray[np.intp], limit: int
) -> tuple[list[tuple[int, float]], list[dict[str, float]], bool]:
    """Lazy greedy picks (candidate, gain), what each newly covers by category, and whether the cap
    stopped a search that could still gain (updates ``demand.deficit``)."""
    weight, size, group, deficit = demand.weight, demand.size, demand.group, demand.deficit
    open_element = np.ones(len(demand), bool)

    def gain(c: int) -> float:
        seen = element[bounds[c] : bounds[c + 1]]
        return float(weight[seen][open_element[seen]].sum())

    candidates = len(bounds) - 1
    initial = np.bincount(
        np.repeat(np.arange(candidates), np.diff(bounds)), weights=weight[element], minlength=candidates
    )
    queue = [(-g, c) for c, g in enumerate(initial.tolist())]
    heapq.heapify(queue)
    picked: list[tuple[int, float]] = []
    covers: list[dict[str, float]] = []
    names, category = np.unique(demand.category.astype(str), return_inverse=True)
    # The top's stored gain bounds every fresh gain: once it is zero, nothing helps any more.
    while queue and len(picked) < limit and -queue[0][0] > 0:
        _, c = heapq.heappop(queue)
        fresh = gain(c)
        if fresh <= 0:
            continue
        if queue and fresh < -queue[0][0]:
            heapq.heappush(queue, (-fresh, c))
            continue
        seen = element[bounds[c] : bounds[c + 1]]
        seen = seen[open_element[seen]]
        open_element[seen] = False
        np.subtract.at(deficit, group[seen], size[seen])
        open_element &= deficit[group] > 1e-9
        picked.append((c, fresh))
        amounts = np.bincount(category[seen], weights=size[seen], minlength=len(names))
        present = np.bincount(category[seen], minlength=len(names)) > 0
        covers.append(dict(zip(names[present].tolist(), amounts[present].tolist(), strict=True)))
    capped = len(picked) >= limit and bool(queue) and -queue[0][0] > 0
    return picked, covers, capped


def _suggestions(
    model: CoverageModel,
    candidates: gpd.GeoDataFrame | None,
    picked: list[tuple[int, float]],
    covers: list[dict[str, float]],
    deficit: NDArray[np.float64],
    *,
    capped: bool,
) -> gpd.GeoDataFrame:
    """The picked candidates as :func:`suggest_cameras` returns them."""
    columns = ["direction", "hfov", "range"]
    chosen = candidates.iloc[[c for c, _ in picked]] if candidates is not None else None
    frame = gpd.GeoDataFrame(
        {
            **{c: chosen[c].to_numpy() if chosen is not None else [] for c in columns},
            "gain": [g for _, g in picked],
            "area": chosen["area"].to_numpy() if chosen is not None else [],
            "covers": covers,
        },
        geometry=chosen.geometry.to_numpy() if chosen is not None else [],
        crs=model.crs,
    )
    # Deficits that no candidate can reduce stay open: the targets are then out of reach by placement.
    frame.attrs.update(targets_met=bool((deficit <= 1e-9).all()), cap_reached=capped)
    return frame
