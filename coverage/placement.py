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
from camwatch.coverage.gaps import finest_area
from camwatch.coverage.measure import CoverageModel, dori_levels, road_pieces

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


def _demand(model: CoverageModel) -> tuple[gpd.GeoDataFrame, NDArray[np.float64]]:
    """What is left to cover where an area misses a target: elements (``group`` = (area, category) index,
    ``size``, ``dori``, geometry) and each group's deficit (size units still needed)."""
    area = finest_area(model)
    coverage = model.feature_coverage()
    features = model.features
    keys = pd.MultiIndex.from_arrays([area, features["category"].to_numpy()])
    group, names = pd.factorize(keys)
    totals = np.bincount(group, weights=coverage["size"].to_numpy())
    covered = np.bincount(group, weights=coverage["covered"].to_numpy())
    targets = np.array([model.catalog.specs[category].target for _, category in names])
    deficit = targets * totals - covered
    dori = dori_levels(features["category"], model.catalog)

    stretches = model.road_stretches()
    open_road = stretches[~stretches["covered"]]
    road = road_pieces(
        gpd.GeoDataFrame(
            {"group": group[open_road["feature"]], "dori": dori[open_road["feature"]]},
            geometry=open_road.geometry.to_numpy(),
            crs=model.crs,
        ),
        max_length=DEMAND_PIECE,
    )
    road["size"] = road.length
    road["kind"] = "road"
    unseen = (features["kind"] != "road").to_numpy() & (coverage["covered"].to_numpy() <= 0)
    points = gpd.GeoDataFrame(
        {
            "group": group[unseen],
            "dori": dori[unseen],
            "size": 1.0,
            "kind": features["kind"].to_numpy()[unseen],
        },
        geometry=features.geometry.to_numpy()[unseen],
        crs=model.crs,
    )
    elements = pd.concat([road, points], ignore_index=True)
    elements = elements[deficit[elements["group"].to_numpy()] > 1e-9].reset_index(drop=True)
    elements["weight"] = elements["size"] / totals[elements["group"].to_numpy()]
    elements["area"] = names.get_level_values(0).to_numpy(dtype=object)[elements["group"].to_numpy()]
    elements["category"] = names.get_level_values(1).to_numpy(dtype=object)[elements["group"].to_numpy()]
    return gpd.GeoDataFrame(elements, geometry="geometry", crs=model.crs), deficit.astype(float)


def _candidate_points(demand: gpd.GeoDataFrame, spacing: float) -> gpd.GeoDataFrame:
    """Where a new camera could stand, with the area it serves and, on a road, the road's grid bearing: on
    uncovered road (at most one point per ``spacing`` x ``spacing`` cell), at unseen intersections, and every
    ``spacing`` m around unseen sites. ``bearing`` is NaN off the road."""
    is_site = (demand["kind"] == "site").to_numpy()
    zones = demand.geometry.to_numpy()[is_site]
    outlines = shapely.get_exterior_ring(zones)
    counts = np.maximum(1, np.ceil(shapely.length(outlines) / spacing)).astype(int)
    owner = np.repeat(np.arange(len(outlines)), counts)
    step = np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)
    around = shapely.line_interpolate_point(outlines[owner], (step + 0.5) / counts[owner], normalized=True)
    others = demand[~is_site]
    on_road = (others["kind"] == "road").to_numpy()
    bearing = np.full(len(others), np.nan)
    if on_road.any():
        # Road pieces are two-point lines.
        pieces = shapely.get_coordinates(others.geometry.to_numpy()[on_road]).reshape(-1, 2, 2)
        delta = pieces[:, 1] - pieces[:, 0]
        bearing[on_road] = np.degrees(np.arctan2(delta[:, 0], delta[:, 1]))
    points = np.concatenate([shapely.centroid(others.geometry.to_numpy()), around])
    area = np.concatenate([others["area"].to_numpy(), demand["area"].to_numpy()[is_site][owner]])
    bearing = np.concatenate([bearing, np.full(len(around), np.nan)])
    cells = np.floor(shapely.get_coordinates(points) / spacing)
    _, first = np.unique(cells, axis=0, return_index=True)
    first = np.sort(first)
    return gpd.GeoDataFrame(
        {"area": area[first], "bearing": bearing[first]}, geometry=points[first], crs=demand.crs
    )


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
    demand, deficit = _demand(model)
    columns: dict[str, list[object]] = {
        "direction": [],
        "hfov": [],
        "range": [],
        "gain": [],
        "area": [],
        "covers": [],
    }
    if demand.empty or limit <= 0:
        empty = gpd.GeoDataFrame(columns, geometry=[], crs=model.crs)
        empty.attrs.update(targets_met=demand.empty, cap_reached=not demand.empty)
        return empty
    road_length = demand.loc[demand["kind"] == "road", "size"].sum()
    spacing = max(camera.spacing, road_length / (camera.candidates_per_suggestion * limit))
    points = _candidate_points(demand, spacing)
    candidates, point = _candidate_cameras(points, camera)
    # Buildings hide the same things from every heading at a point: cut their shadows once per point.
    discs = points.assign(direction=0.0, hfov=360.0, range=candidates["range"].max())
    around = fov_sectors(discs, buildings=model.layers.buildings)
    views = shapely.intersection(fov_sectors(candidates), around[point])
    pairs = []
    dori = demand["dori"].to_numpy(dtype=str)
    is_road = (demand["kind"] == "road").to_numpy()
    geometry = demand.geometry.to_numpy()
    for level in pd.unique(dori):
        tree = shapely.STRtree(dori_limited(views, candidates, level) if level else views)
        # A road piece counts when the view covers all of it; an intersection or site zone when it meets it.
        for rows, predicate in ((is_road, "covered_by"), (~is_road, "intersects")):
            rows = np.flatnonzero(rows & (dori == level))
            found, cand = tree.query(geometry[rows], predicate=predicate)
            pairs.append((rows[found], cand))
    element = np.concatenate([p[0] for p in pairs])
    cand = np.concatenate([p[1] for p in pairs])
    order = np.argsort(cand, kind="stable")
    element, cand = element[order], cand[order]
    bounds = np.searchsorted(cand, np.arange(len(candidates) + 1))
    weight = demand["weight"].to_numpy(float)
    size = demand["size"].to_numpy(float)
    group = demand["group"].to_numpy()
    open_element = np.ones(len(demand), bool)

    def gain(c: int) -> float:
        seen = element[bounds[c] : bounds[c + 1]]
        return float(weight[seen][open_element[seen]].sum())

    initial = np.bincount(cand, weights=weight[element], minlength=len(candidates))
    queue = [(-g, c) for c, g in enumerate(initial.tolist())]
    heapq.heapify(queue)
    picked: list[tuple[int, float]] = []
    covers: list[dict[str, float]] = []
    category = demand["category"].to_numpy()
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
        covers.append(pd.Series(size[seen]).groupby(category[seen], sort=True).sum().to_dict())
    chosen = candidates.iloc[[c for c, _ in picked]]
    frame = gpd.GeoDataFrame(
        {
            "direction": chosen["direction"].to_numpy(),
            "hfov": chosen["hfov"].to_numpy(),
            "range": chosen["range"].to_numpy(),
            "gain": [g for _, g in picked],
            "area": chosen["area"].to_numpy(),
            "covers": covers,
        },
        geometry=chosen.geometry.to_numpy(),
        crs=model.crs,
    )
    # Deficits that no candidate can reduce stay open: the targets are then out of reach by placement.
    frame.attrs.update(
        targets_met=bool((deficit <= 1e-9).all()),
        cap_reached=len(picked) >= limit and bool(queue) and -queue[0][0] > 0,
    )
    return frame
