"""Measure coverage: which camera sees which stretch of road, intersection and site, rolled up by area."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from pyproj import CRS

from camwatch.config.areas import LEVELS
from camwatch.config.categories import CategoryCatalog, load_categories
from camwatch.config.errors import ConfigError, Problem
from camwatch.config.models import Camera, Config, CoverageSettings
from camwatch.coverage.fov import camera_frame, dori_limited, fov_sectors
from camwatch.coverage.layers import Layers, Role, assign_areas, derive_intersections, read_layers

SEGMENT_LENGTH = 50.0
"""Roads are cut into straight pieces of at most this many metres, each assigned to one area."""

ALL = "all"
"""Area and level name of the whole report."""

ROW_COLUMNS = [
    "area",
    "level",
    "category",
    "kind",
    "target",
    "total",
    "covered",
    "effective_covered",
    "redundant",
    "ratio",
    "effective_ratio",
    "redundant_ratio",
]

Step = Callable[[str], None]
Status = Mapping[str, bool] | NDArray[np.bool_] | None
"""Which cameras count in effective coverage: {camera id: counts}, one flag per camera in the model's order,
or None (all of them)."""


def _no_step(_: str) -> None:
    pass


@dataclass(frozen=True)
class Incidence:
    """Which camera sees which part of which feature: parallel arrays, one entry per (feature, camera) part.

    ``start``/``end`` are metres along a road piece; a point feature (intersection, site) is one unit long, so
    it is seen on [0, 1] or not at all.
    """

    feature: NDArray[np.intp]
    camera: NDArray[np.intp]
    start: NDArray[np.float64]
    end: NDArray[np.float64]


@dataclass(frozen=True)
class Sweep:
    """Elementary intervals of all features laid end to end: ``owner`` feature, local ``start``/``end``, and
    ``depth`` = how many cameras see it."""

    owner: NDArray[np.intp]
    start: NDArray[np.float64]
    end: NDArray[np.float64]
    depth: NDArray[np.int64]

    def per_feature(self, n: int, min_depth: int) -> NDArray[np.float64]:
        """Length (or unit) of each feature seen by at least ``min_depth`` cameras."""
        seen = (self.depth >= min_depth) * (self.end - self.start)
        return np.bincount(self.owner, weights=seen, minlength=n).astype(float)


def road_pieces(roads: gpd.GeoDataFrame, *, max_length: float = SEGMENT_LENGTH) -> gpd.GeoDataFrame:
    """Lines cut into straight two-point pieces of at most ``max_length`` m, keeping the other columns."""
    if roads.empty:
        return roads.reset_index(drop=True)
    dense = shapely.segmentize(roads.geometry.to_numpy(), max_length)
    coords, line = shapely.get_coordinates(dense, return_index=True)
    same = line[1:] == line[:-1]
    ends = np.stack([coords[:-1][same], coords[1:][same]], axis=1)
    keep = np.any(ends[:, 0] != ends[:, 1], axis=1)
    attributes = pd.DataFrame(roads.drop(columns=roads.geometry.name)).iloc[line[:-1][same][keep]]
    return gpd.GeoDataFrame(
        attributes.reset_index(drop=True), geometry=shapely.linestrings(ends[keep]), crs=roads.crs
    )


def points_along(ends: NDArray[np.float64], distance: NDArray[np.float64]) -> NDArray[np.float64]:
    """The point ``distance`` m along each straight segment (``ends``: n x 2 x 2; negative: from its end), as
    GEOS' :func:`shapely.line_interpolate_point` computes it, bit for bit, without making geometries."""
    delta = ends[:, 1] - ends[:, 0]
    length = segment_lengths(ends)
    forward = np.where(distance < 0, length + distance, distance)
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = forward / length
    points = delta * fraction[:, None] + ends[:, 0]
    points = np.where(((forward <= 0) | (fraction <= 0))[:, None], ends[:, 0], points)
    return np.where(((forward >= length) | (fraction >= 1))[:, None], ends[:, 1], points)


def segment_lengths(ends: NDArray[np.float64]) -> NDArray[np.float64]:
    """Length of each straight segment (``ends``: n x 2 x 2) as GEOS measures it (:func:`shapely.length`)."""
    delta = ends[:, 1] - ends[:, 0]
    return np.asarray(np.sqrt(delta[:, 0] * delta[:, 0] + delta[:, 1] * delta[:, 1]))


def _line_incidence(lines: NDArray[np.object_], sectors: NDArray[np.object_]) -> Incidence:
    """The stretches of straight ``lines`` inside each sector, as distances along the line."""
    line_i, cam_i = shapely.STRtree(sectors).query(lines, predicate="intersects")
    cut = shapely.intersection(lines[line_i], sectors[cam_i])
    parts, part_of = shapely.get_parts(cut, return_index=True)
    linear = (shapely.get_type_id(parts) == 1) & (shapely.length(parts) > 0)
    parts, pair = parts[linear], part_of[linear]
    base = lines[line_i[pair]]
    a = shapely.line_locate_point(base, shapely.get_point(parts, 0))
    b = shapely.line_locate_point(base, shapely.get_point(parts, -1))
    return Incidence(line_i[pair], cam_i[pair], np.minimum(a, b), np.maximum(a, b))


def _zone_incidence(zones: NDArray[np.object_], sectors: NDArray[np.object_]) -> Incidence:
    zone_i, cam_i = shapely.STRtree(sectors).query(zones, predicate="intersects")
    return Incidence(zone_i, cam_i, np.zeros(len(zone_i)), np.ones(len(zone_i)))


def _concat(parts: Sequence[Incidence]) -> Incidence:
    if not parts:
        empty = np.zeros(0)
        return Incidence(empty.astype(np.intp), empty.astype(np.intp), empty, empty)
    return Incidence(
        *(np.concatenate([getattr(p, f) for p in parts]) for f in ("feature", "camera", "start", "end"))
    )


def sweep(sizes: NDArray[np.float64], incidence: Incidence, seen_by: NDArray[np.bool_]) -> Sweep:
    """Lay every feature end to end and count, between consecutive interval ends, how many cameras in
    ``seen_by`` (bool per camera) see it: one sort and one cumulative sum for all features together."""
    offsets = np.concatenate([[0.0], np.cumsum(sizes)])
    keep = seen_by[incidence.camera]
    lo = offsets[incidence.feature[keep]] + incidence.start[keep]
    hi = offsets[incidence.feature[keep]] + incidence.end[keep]
    position = np.concatenate([lo, hi, offsets])
    delta = np.concatenate(
        [np.ones(len(lo), np.int64), -np.ones(len(hi), np.int64), np.zeros(len(offsets), np.int64)]
    )
    order = np.argsort(position, kind="stable")
    position, depth = position[order], np.cumsum(delta[order])
    start, end, depth = position[:-1], position[1:], depth[:-1]
    real = end > start
    start, end, depth = start[real], end[real], depth[real]
    owner = np.clip(np.searchsorted(offsets, (start + end) / 2, side="right") - 1, 0, max(len(sizes) - 1, 0))
    return Sweep(owner, start - offsets[owner], end - offsets[owner], depth)


class CoverageModel:
    """Coverage of one inventory over its layers, with the geometry computed once.

    Build it with :meth:`build` (reads layers, projects to local UTM, computes sectors and which camera sees
    which feature); then :meth:`measure` turns a camera status snapshot into coverage rows with array
    arithmetic only, cheap enough to run every few minutes in the monitoring service.

    Attributes (all in ``crs``): ``cameras`` (:func:`camera_frame` columns), ``sectors`` (one polygon per
    camera, no DORI limit), ``features`` (one row per road piece, intersection or site: ``kind``,
    ``category``, ``size`` — metres for road pieces, 1 otherwise — ``county``, ``township``, ``village``, the
    measured geometry — road piece or zone polygon — and ``anchor``, a representative point), ``layers``.
    """

    def __init__(
        self,
        *,
        layers: Layers,
        catalog: CategoryCatalog,
        cameras: gpd.GeoDataFrame,
        sectors: NDArray[np.object_],
        features: gpd.GeoDataFrame,
        incidence: Incidence,
        settings: CoverageSettings,
    ):
        self.layers = layers
        self.catalog = catalog
        self.cameras = cameras
        self.sectors = sectors
        self.features = features
        self.incidence = incidence
        self.settings = settings
        self._sizes = features["size"].to_numpy(float)
        every = np.ones(len(cameras), bool)
        self.design = sweep(self._sizes, incidence, every)
        self._covered = self.design.per_feature(len(features), 1)
        self._stretches: gpd.GeoDataFrame | None = None
        self._paths: dict[str, NDArray[np.object_]] | None = None
        self._finest: NDArray[np.object_] | None = None
        self._redundant = self.design.per_feature(len(features), 2)

    def road_stretches(self) -> gpd.GeoDataFrame:
        """Road pieces split where their design coverage changes (computed once): ``feature``,
        ``category``, ``covered`` (bool), LineString geometry."""
        if self._stretches is None:
            self._stretches = _stretches(self)
        return self._stretches

    @property
    def crs(self) -> CRS:
        return self.layers.crs

    @classmethod
    def build(
        cls,
        cameras: Sequence[Camera],
        settings: CoverageSettings,
        *,
        catalog: CategoryCatalog | None = None,
        step: Step = _no_step,
        refuse_apart: bool = False,
        layers_read: Callable[[Layers], object] | None = None,
        views_drawn: Callable[[gpd.GeoDataFrame, NDArray[np.object_]], object] | None = None,
    ) -> CoverageModel:
        """Read the layers of ``settings`` and precompute everything :meth:`measure` needs.

        ``step`` is told the name of each stage as it starts (for progress display); ``layers_read`` is given
        the layers as soon as they are read, ``views_drawn`` the placed cameras and their sectors as soon as
        they are drawn (the coverage report starts drawing its map with them).
        """
        catalog = catalog or load_categories(settings.categories, settings.road_classes)
        step("reading layers")
        wgs_cameras = camera_frame(cameras)
        paths: dict[Role, Path | None] = {
            "roads": settings.roads,
            "sites": settings.sites,
            "buildings": settings.buildings,
            "areas": settings.areas,
        }
        layers = read_layers(paths, catalog, cameras=wgs_cameras, refuse_apart=refuse_apart)
        if layers_read is not None:
            layers_read(layers)
        metric_cameras = wgs_cameras.to_crs(layers.crs)
        step("fields of view")
        sectors = fov_sectors(metric_cameras, buildings=layers.buildings)
        if views_drawn is not None:
            views_drawn(metric_cameras, sectors)
        step("features and areas")
        features = _features(layers, catalog, settings, metric_cameras)
        step("what each camera sees")
        incidence = _incidence(features, catalog, metric_cameras, sectors)
        return cls(
            layers=layers,
            catalog=catalog,
            cameras=metric_cameras,
            sectors=sectors,
            features=features,
            incidence=incidence,
            settings=settings,
        )

    @classmethod
    def from_config(
        cls,
        config: Config,
        *,
        step: Step = _no_step,
        refuse_apart: bool = False,
        layers_read: Callable[[Layers], object] | None = None,
        views_drawn: Callable[[gpd.GeoDataFrame, NDArray[np.object_]], object] | None = None,
    ) -> CoverageModel:
        """The model of ``config``'s cameras over its ``coverage`` layers (which must be configured);
        ``refuse_apart``: refuse cameras and layers that do not overlap (see :func:`read_layers`)."""
        if config.coverage is None:
            raise ConfigError([Problem(str(config.source), None, "coverage", "no coverage section")])
        return cls.build(
            config.cameras,
            config.coverage,
            step=step,
            refuse_apart=refuse_apart,
            layers_read=layers_read,
            views_drawn=views_drawn,
        )

    def camera_up(self, status: Status) -> NDArray[np.bool_]:
        """Up flag per camera; with a snapshot, a camera missing from it counts as down (effective coverage
        counts only cameras known to work). ``status`` may already be one flag per camera, in order."""
        if status is None:
            return np.ones(len(self.cameras), bool)
        if isinstance(status, np.ndarray):
            return status.astype(bool)
        return self.cameras["camera"].map(lambda c: bool(status.get(c, False))).to_numpy(bool)

    def feature_coverage(self, status: Status = None) -> pd.DataFrame:
        """Per feature: ``covered`` and ``redundant`` (all cameras), ``effective`` (cameras up), in units of
        ``size``."""
        effective = self._covered
        if status is not None:
            effective = sweep(self._sizes, self.incidence, self.camera_up(status)).per_feature(
                len(self.features), 1
            )
        return pd.DataFrame(
            {
                "size": self._sizes,
                "covered": self._covered,
                "effective": effective,
                "redundant": self._redundant,
            }
        )

    def area_paths(self) -> dict[str, NDArray[np.object_]]:
        """Area name of every feature at each level (``all`` plus :data:`LEVELS`); ``None`` where the feature
        has no name at that level. Lower levels are paths (``County/Township/Village``) so names repeated in
        different counties stay apart. Computed once (measuring, gaps and placement all ask)."""
        if self._paths is None:
            self._paths = area_paths(self.features)
        return self._paths

    def finest_area(self) -> NDArray[np.object_]:
        """The most detailed area path of each feature (village, else township, else county, else ``all``)."""
        if self._finest is None:
            paths = self.area_paths()
            finest = paths[ALL].copy()
            for level in LEVELS:
                finest = np.where(pd.isna(paths[level]), finest, paths[level])
            self._finest = finest
        return self._finest

    def measure(self, status: Status = None) -> list[dict[str, Any]]:
        """:meth:`measure_frame` as a list of row dicts (what the monitoring service exports)."""
        records: list[dict[str, Any]] = self.measure_frame(status).to_dict("records")
        return records

    def measure_frame(self, status: Status = None) -> pd.DataFrame:
        """Coverage rows, one per (area, category) with features: :data:`ROW_COLUMNS`.

        ``total``/``covered``/``effective_covered``/``redundant`` are metres for roads and counts otherwise;
        ``covered`` counts every camera, ``effective_covered`` only cameras up in ``status`` ({camera id: up};
        ``None`` = all up), ``redundant`` what at least two cameras see.
        """
        values = self.feature_coverage(status)
        values["category"] = self.features["category"].to_numpy()
        frames = []
        for level, paths in self.area_paths().items():
            keyed = values.assign(area=paths, level=level).dropna(subset=["area"])
            frames.append(keyed.groupby(["level", "area", "category"], sort=False).sum(numeric_only=True))
        rows = (
            pd.concat(frames)
            .reset_index()
            .rename(columns={"size": "total", "effective": "effective_covered"})
        )
        specs = self.catalog.specs
        rows["kind"] = rows["category"].map(lambda c: specs[c].kind)
        rows["target"] = rows["category"].map(lambda c: specs[c].target)
        rows = rows[rows["total"] > 0]
        for name, part in (
            ("ratio", "covered"),
            ("effective_ratio", "effective_covered"),
            ("redundant_ratio", "redundant"),
        ):
            rows[name] = (rows[part] / rows["total"]).clip(upper=1.0)
        order = {name: i for i, name in enumerate(specs)}
        level_order = {ALL: 0, **{level: i + 1 for i, level in enumerate(LEVELS)}}
        rows = rows.assign(_l=rows["level"].map(level_order), _c=rows["category"].map(order))
        rows = rows.sort_values(["_l", "area", "_c"]).drop(columns=["_l", "_c"])
        return rows[ROW_COLUMNS].reset_index(drop=True)


def area_paths(frame: pd.DataFrame) -> dict[str, NDArray[np.object_]]:
    """Area path per row of a frame with :data:`LEVELS` columns, at ``all`` and each level (see
    :meth:`CoverageModel.area_paths`)."""
    paths: dict[str, NDArray[np.object_]] = {ALL: np.full(len(frame), ALL, dtype=object)}
    names = [frame[level].fillna("").astype(str).to_numpy(dtype=object) for level in LEVELS]
    # A county has hundreds of places but hundreds of thousands of features: join the names of each distinct
    # (county, township, village) once, not once per feature.
    if not len(frame):
        return {**paths, **{level: np.zeros(0, dtype=object) for level in LEVELS}}
    # One integer per (county, township, village) in mixed radix, so that the distinct ones are found by a
    # 1-D unique: same order, first rows and inverse as the row-wise unique of the codes, 3x faster.
    key = np.zeros(len(frame), np.int64)
    for column in names:
        codes, uniques = pd.factorize(column)
        key = key * max(len(uniques), 1) + codes
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    for i, level in enumerate(LEVELS):
        joined = np.array(
            [
                "/".join(str(column[row]) for column in names[: i + 1]) if names[i][row] != "" else None
                for row in first
            ],
            dtype=object,
        )
        paths[level] = joined[inverse]
    return paths


def dori_levels(categories: pd.Series, catalog: CategoryCatalog) -> NDArray[np.str_]:
    """The DORI level each category requires, ``""`` where none."""
    levels = {name: spec.dori or "" for name, spec in catalog.specs.items()}
    return np.asarray(pd.Series(categories).map(levels).to_numpy(), dtype=str)


def _features(
    layers: Layers, catalog: CategoryCatalog, settings: CoverageSettings, cameras: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    pieces = road_pieces(layers.roads)
    ends = shapely.get_coordinates(pieces.geometry.to_numpy()).reshape(-1, 2, 2)
    junctions = derive_intersections(
        layers.roads, layers.signals, catalog, radius=settings.intersection_radius
    )
    sites = layers.sites
    geometry = np.concatenate(
        [
            pieces.geometry.to_numpy(),
            shapely.buffer(junctions.geometry.to_numpy(), settings.intersection_radius),
            shapely.buffer(sites.geometry.to_numpy(), settings.site_buffer)
            if settings.site_buffer > 0
            else sites.geometry.to_numpy(),
        ]
    )
    anchor = np.concatenate(
        [
            # Each piece's middle, as shapely.line_interpolate_point(..., 0.5, normalized=True) finds it.
            shapely.points(points_along(ends, 0.5 * segment_lengths(ends))),
            junctions.geometry.to_numpy(),
            shapely.point_on_surface(sites.geometry.to_numpy()),
        ]
    )
    features = gpd.GeoDataFrame(
        {
            "kind": ["road"] * len(pieces) + ["intersection"] * len(junctions) + ["site"] * len(sites),
            "category": np.concatenate([pieces["category"], junctions["category"], sites["category"]]).astype(
                object
            ),
            **{
                column: np.concatenate(
                    [
                        pieces[column].to_numpy(dtype=object),
                        np.full(len(junctions), "", dtype=object),
                        sites[column].to_numpy(dtype=object),
                    ]
                )
                for column in ("name", "osm_id")
            },
            "size": np.concatenate([segment_lengths(ends), np.ones(len(junctions) + len(sites))]),
            "anchor": anchor,
        },
        geometry=geometry,
        crs=layers.crs,
    )
    names = assign_areas(anchor, layers.areas, cameras)
    return features.join(names.set_axis(features.index))


def _incidence(
    features: gpd.GeoDataFrame,
    catalog: CategoryCatalog,
    cameras: gpd.GeoDataFrame,
    sectors: NDArray[np.object_],
) -> Incidence:
    """Which camera sees which feature, per DORI level: a category that requires a level is tested against
    sectors whose reach is limited to that level's distance."""
    dori = dori_levels(features["category"], catalog)
    kinds = features["kind"].to_numpy()
    geometry = features.geometry.to_numpy()
    parts = []
    every = np.arange(len(sectors))
    for level in pd.unique(dori):
        if len(sectors) == 0:
            continue
        # Only the cameras whose view reaches near a feature that needs this level are cut back to its
        # distance (a county's schools need recognition from a few hundred of its ten thousand cameras).
        near = np.unique(shapely.STRtree(sectors).query(geometry[dori == level])[1]) if level else every
        level_sectors = dori_limited(sectors[near], cameras.iloc[near], level) if level else sectors
        for is_road in (True, False):
            rows = np.flatnonzero((dori == level) & ((kinds == "road") == is_road))
            if len(rows) == 0 or len(level_sectors) == 0:
                continue
            found = (_line_incidence if is_road else _zone_incidence)(geometry[rows], level_sectors)
            parts.append(Incidence(rows[found.feature], near[found.camera], found.start, found.end))
    return _concat(parts)


def _stretches(model: CoverageModel) -> gpd.GeoDataFrame:
    seen = model.design
    kinds = model.features["kind"].to_numpy()
    on_road = (kinds[seen.owner] == "road") & (seen.end - seen.start > 1e-6)
    owner, start, end = seen.owner[on_road], seen.start[on_road], seen.end[on_road]
    # Road pieces are straight, so each stretch is the line between two interpolated points.
    pieces = shapely.get_coordinates(model.features.geometry.to_numpy()[owner]).reshape(-1, 2, 2)
    ends = np.stack([points_along(pieces, start), points_along(pieces, end)], axis=1)
    return gpd.GeoDataFrame(
        {
            "feature": owner,
            "category": model.features["category"].to_numpy()[owner],
            "covered": seen.depth[on_road] >= 1,
        },
        geometry=shapely.linestrings(ends) if len(ends) else [],
        crs=model.crs,
    )
