"""Read roads, key sites, buildings and admin areas, categorise them, derive intersections, assign areas."""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from camwatch.config.areas import LEVELS
from camwatch.config.categories import CategoryCatalog
from camwatch.config.errors import ConfigError, Problem

log = logging.getLogger(__name__)

# Every feature carries one column per level of the admin hierarchy (camwatch.config.areas.LEVELS).

# OSM admin_level -> our level (OSM China: 6 county-level, 8 township, 10 village/community).
OSM_ADMIN_LEVELS = {"6": "county", "8": "township", "10": "village"}

Role = Literal["roads", "sites", "buildings", "areas"]

# Chinese data names its columns in Chinese: the first of these a layer has stands for ``name`` / ``level``.
NAME_COLUMNS = ("name", "名称", "道路名称", "路名", "区划名称", "行政区划名称", "行政区名称", "NAME")
LEVEL_COLUMNS = ("level", "级别", "层级", "区划级别", "行政级别", "区划类型")
# Level values of a Chinese areas layer (brackets, slashes and spaces dropped first: 县（区）, 乡镇/街道).
ZH_LEVELS = {
    **dict.fromkeys(("县", "区", "县区", "县级市", "市辖区", "旗", "区县", "县级"), "county"),
    **dict.fromkeys(("乡镇", "乡", "镇", "街道", "乡镇街道", "苏木", "乡级", "乡镇级"), "township"),
    **dict.fromkeys(("村", "社区", "村社区", "村委会", "居委会", "嘎查", "行政村", "村级"), "village"),
}
_LEVEL_NOISE = re.compile(r"[\s()（）/／、]")


@dataclass(frozen=True)
class Layers:
    """Every input layer in one metric CRS (``crs``, local UTM).

    ``roads``: LineStrings with ``category``, ``name`` and ``osm_id`` (text, empty where unknown);
    ``signals``: traffic-signal Points; ``sites``: Points or Polygons with ``category``, ``name`` and
    ``osm_id``; ``buildings``: Polygons (occluders); ``areas``: Polygons with
    ``name`` and ``level`` (one of :data:`LEVELS`). Every frame has a default RangeIndex and may be empty.
    """

    crs: CRS
    roads: gpd.GeoDataFrame
    signals: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    areas: gpd.GeoDataFrame


def empty_frame(columns: tuple[str, ...] = (), crs: CRS | int | str = 4326) -> gpd.GeoDataFrame:
    """An empty GeoDataFrame with ``columns`` plus ``geometry``."""
    return gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in columns}, geometry=[], crs=crs)


def is_osm(path: Path) -> bool:
    return path.name.lower().endswith((".pbf", ".osm"))


def osm_tag(frame: pd.DataFrame, key: str) -> pd.Series:
    """The value of OSM tag ``key`` per row: GDAL's own column where it has one, else parsed out of the
    ``other_tags`` hstore text (``"k"=>"v","k2"=>"v2"``) with one vectorised regex. Both are read because
    GDAL gives points and polygons different columns, and a frame may hold both."""
    own = key in frame.columns and not isinstance(frame[key], gpd.GeoSeries)
    values = frame[key].astype(object) if own else pd.Series(None, index=frame.index, dtype=object)
    if "other_tags" not in frame.columns:
        return values
    pattern = rf'"{re.escape(key)}"=>"((?:[^"\\]|\\.)*)"'
    return values.fillna(
        frame["other_tags"].astype("string").str.extract(pattern, expand=False).astype(object)
    )


def read_vector(path: Path, *, layer: str | None = None) -> gpd.GeoDataFrame:
    """Features of one layer with a geometry (invalid or empty geometries dropped), numbered from 0."""
    if not path.exists():
        raise ConfigError([Problem(str(path), None, None, "file not found")])
    with warnings.catch_warnings():
        # GDAL's OSM driver warns about unclosed rings in partial extracts; those features are dropped below.
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            frame = pyogrio.read_dataframe(path, layer=layer, on_invalid="ignore")
        except Exception as exc:  # pyogrio raises DataSourceError, DataLayerError, GDAL errors...
            raise ConfigError([Problem(str(path), None, None, f"cannot read as a GIS layer: {exc}")]) from exc
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    return frame.reset_index(drop=True)


def checked_crs(
    frame: gpd.GeoDataFrame, path: Path, *, near: tuple[float, float, float, float] | None = None
) -> gpd.GeoDataFrame:
    """``frame`` in EPSG:4326, refusing a layer whose CRS is missing or plainly wrong.

    ``near`` (lon/lat bounds, e.g. of the cameras) catches swapped axes: a layer that misses those bounds
    but would hit them with x and y exchanged was written as (lat, lon).
    """
    if frame.crs is None:
        reason = (
            "the layer has no coordinate reference system; save it with one (e.g. EPSG:4326 or a UTM zone)"
        )
        raise ConfigError([Problem(str(path), None, "crs", reason)])
    if frame.empty:
        return frame.to_crs(4326)
    wgs = frame.to_crs(4326)
    minx, miny, maxx, maxy = wgs.total_bounds
    if (
        not np.all(np.isfinite([minx, miny, maxx, maxy]))
        or miny < -90
        or maxy > 90
        or minx < -180
        or maxx > 180
    ):
        reason = (
            f"coordinates do not fit the layer's CRS ({frame.crs.to_string()}): bounds {minx:.4f},{miny:.4f},"
            f"{maxx:.4f},{maxy:.4f} in lon/lat; is the CRS wrong or are x and y swapped?"
        )
        raise ConfigError([Problem(str(path), None, "crs", reason)])
    if near is not None:
        box = shapely.box(*near).buffer(0.05)
        if not box.intersects(shapely.box(minx, miny, maxx, maxy)) and box.intersects(
            shapely.box(miny, minx, maxy, maxx)
        ):
            reason = (
                "coordinates look swapped (lat, lon instead of lon, lat): the layer lies far from the cameras"
            )
            raise ConfigError([Problem(str(path), None, "geometry", reason)])
    return wgs


def categorise(
    frame: pd.DataFrame, tags: Mapping[str, Mapping[str, str]], catalog: CategoryCatalog, path: Path
) -> pd.Series:
    """Category per row: the layer's own ``category`` column where given, else the first tag in ``tags``
    (key -> {value: category}) that maps. Unknown names in a ``category`` column are refused by row."""
    mapped = pd.Series(None, index=frame.index, dtype=object)
    for key, values in tags.items():
        mapped = mapped.fillna(osm_tag(frame, key).map(values))
    if "category" not in frame.columns:
        return mapped
    given = frame["category"].astype(object).where(frame["category"].notna() & (frame["category"] != ""))
    unknown = given.notna() & ~given.isin(list(catalog.specs))
    if unknown.any():
        problems = [
            Problem(str(path), f"feature {i + 1}", "category", f"unknown category {given[i]!r}")
            for i in np.flatnonzero(unknown.to_numpy())[:20]
        ]
        raise ConfigError(problems)
    return given.fillna(mapped)


def _polygons(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    polys = frame[frame.geom_type.isin(["Polygon", "MultiPolygon"])]
    return _single_parts(polys)


def _single_parts(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``frame`` with each multi-part geometry exploded into its parts, numbered from 0 (a layer of single
    parts, as a county's 100,000 buildings usually are, is not copied part by part)."""
    if not frame.geom_type.str.startswith("Multi").any():
        return frame.reset_index(drop=True)
    return frame.explode(index_parts=False).reset_index(drop=True)


def read_layer(
    path: Path,
    role: Role,
    catalog: CategoryCatalog,
    *,
    near: tuple[float, float, float, float] | None = None,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """One input layer in EPSG:4326, and traffic-signal points found with it (roads only, else empty).

    ``roads``: LineStrings + ``category`` (uncategorised roads — footways, tracks — are dropped);
    ``sites``: Points/Polygons + ``category``, ``name``; ``buildings``: Polygons; ``areas``: Polygons +
    ``name``, ``level``. An OSM PBF is read through GDAL's OSM driver (``lines`` for roads, ``points`` and
    ``multipolygons`` for the rest).
    """
    osm = is_osm(path)
    signals = empty_frame(crs=4326)
    if role == "roads":
        frame = checked_crs(read_vector(path, layer="lines" if osm else None), path, near=near)
        if osm:
            points = read_vector(path, layer="points").to_crs(4326)
            signals = points.loc[osm_tag(points, "highway") == "traffic_signals", ["geometry"]]
        elif "highway" in frame.columns:
            signals = frame.loc[
                (frame["highway"] == "traffic_signals") & (frame.geom_type == "Point"), ["geometry"]
            ]
        lines = frame[frame.geom_type.isin(["LineString", "MultiLineString"])].copy()
        lines["category"] = categorise(lines, catalog.road_tags, catalog, path)
        lines = _with_identity(lines, osm=osm)
        roads = lines.loc[lines["category"].notna(), ["category", "name", "osm_id", "geometry"]]
        return _single_parts(roads), signals.reset_index(drop=True)
    if osm:
        frame = pd.concat(
            [read_vector(path, layer="points"), read_vector(path, layer="multipolygons")], ignore_index=True
        )
        frame = checked_crs(gpd.GeoDataFrame(frame, geometry="geometry", crs=4326), path, near=near)
    else:
        frame = checked_crs(read_vector(path), path, near=near)
    if role == "sites":
        sites = frame.copy()
        sites["category"] = categorise(sites, catalog.site_tags, catalog, path)
        sites = _with_identity(sites, osm=osm)
        sites = sites.loc[
            sites["category"].notna() & sites.geom_type.isin(["Point", "Polygon", "MultiPolygon"])
        ]
        return sites[["category", "name", "osm_id", "geometry"]].reset_index(drop=True), signals
    if role == "buildings":
        if osm:
            frame = frame[osm_tag(frame, "building").notna()]
        return _polygons(frame)[["geometry"]], signals
    return _areas(frame, path, osm=osm), signals


def _with_identity(frame: gpd.GeoDataFrame, *, osm: bool) -> gpd.GeoDataFrame:
    """``frame`` with ``name`` and ``osm_id`` as text ("" where the layer has none), so that a gap can be
    found again in the source data. GDAL's OSM driver gives ways of polygons an ``osm_way_id`` instead."""
    column = next((c for c in NAME_COLUMNS if c in frame.columns), "name")
    name = osm_tag(frame, column) if column in frame or osm else pd.Series(None, index=frame.index)
    osm_id = frame["osm_id"] if "osm_id" in frame else pd.Series(None, index=frame.index, dtype=object)
    if "osm_way_id" in frame:
        osm_id = osm_id.fillna(frame["osm_way_id"])
    return frame.assign(name=_text(name), osm_id=_text(osm_id))


def _text(values: pd.Series) -> pd.Series:
    # Integral ids read as floats (NaN elsewhere) are written without their ".0".
    return values.map(lambda v: "" if pd.isna(v) else str(int(v)) if isinstance(v, float) else str(v))


def _areas(frame: gpd.GeoDataFrame, path: Path, *, osm: bool) -> gpd.GeoDataFrame:
    if osm:
        frame = frame[osm_tag(frame, "boundary") == "administrative"].copy()
        frame["level"] = osm_tag(frame, "admin_level").map(OSM_ADMIN_LEVELS)
        frame = frame[frame["level"].notna()]
    else:
        frame = _chinese_areas(frame)
    missing = [c for c in ("name", "level") if c not in frame.columns]
    if missing:
        reason = (
            f"an areas layer needs columns 'name' and 'level' ({', '.join(LEVELS)}), or 名称 and 级别 "
            "(县/区, 乡镇/街道, 村/社区)"
        )
        raise ConfigError([Problem(str(path), None, missing[0], reason)])
    bad = ~frame["level"].isin(LEVELS)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        reason = (
            f"level {frame['level'].iloc[i]!r} is not one of {', '.join(LEVELS)} or 县/区, 乡镇/街道, 村/社区"
        )
        raise ConfigError([Problem(str(path), f"feature {i + 1}", "level", reason)])
    frame = frame.assign(name=frame["name"].fillna("").astype(str))
    return _polygons(frame)[["name", "level", "geometry"]]


def _chinese_areas(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """An areas layer with Chinese columns (名称, 级别) and level words (县, 乡镇, 村) in our terms."""
    renames = {}
    for target, candidates in (("name", NAME_COLUMNS), ("level", LEVEL_COLUMNS)):
        found = next((c for c in candidates if c in frame.columns), None)
        if found is not None and found != target:
            renames[found] = target
    frame = frame.rename(columns=renames)
    if "level" in frame.columns:
        words = frame["level"].map(lambda v: _LEVEL_NOISE.sub("", str(v)) if isinstance(v, str) else v)
        frame = frame.assign(level=words.map(ZH_LEVELS).fillna(frame["level"]))
    return frame


def read_layers(
    paths: Mapping[Role, Path | None],
    catalog: CategoryCatalog,
    *,
    cameras: gpd.GeoDataFrame,
    refuse_apart: bool = False,
) -> Layers:
    """Every configured layer, projected to the local UTM zone of the data (cameras included).

    ``cameras`` (EPSG:4326 points) sets the reference for the swapped-axes check and, with the layers, the
    UTM zone. Cameras and layers that do not overlap measure nothing: ``refuse_apart`` refuses them (a
    report), else the UTM zone is the cameras' (never one midway between the two).
    """
    near = tuple(cameras.total_bounds) if len(cameras) else None
    frames: dict[str, gpd.GeoDataFrame] = {}
    signals = empty_frame(crs=4326)
    defaults: dict[Role, tuple[str, ...]] = {
        "roads": ("category", "name", "osm_id"),
        "sites": ("category", "name", "osm_id"),
        "buildings": (),
        "areas": ("name", "level"),
    }
    for role, columns in defaults.items():
        path = paths.get(role)
        if path is None:
            frames[role] = empty_frame(columns)
            continue
        frames[role], found = read_layer(Path(path), role, catalog, near=near)
        if role == "roads":
            signals = found
    extent = pd.concat(
        [cameras[["geometry"]], *(f[["geometry"]] for f in frames.values())], ignore_index=True
    )
    if extent.empty:
        raise ConfigError(
            [Problem("coverage", None, None, "no cameras with a position and no layers to measure")]
        )
    reference = extent
    apart = _apart(cameras, [f for f in frames.values() if not f.empty])
    if apart:
        if refuse_apart:
            raise ConfigError([Problem("coverage", None, None, apart)])
        reference = cameras[["geometry"]]
    crs = gpd.GeoDataFrame(reference, geometry="geometry", crs=4326).estimate_utm_crs()
    return Layers(
        crs=crs,
        roads=frames["roads"].to_crs(crs),
        signals=signals.to_crs(crs),
        sites=frames["sites"].to_crs(crs),
        buildings=frames["buildings"].to_crs(crs),
        areas=frames["areas"].to_crs(crs),
    )


# How far (degrees, about 2 km) around the cameras a layer must reach to count as theirs.
_NEAR_CAMERAS = 0.02


def _apart(cameras: gpd.GeoDataFrame, layers: list[gpd.GeoDataFrame]) -> str:
    """Why the cameras and the layers (EPSG:4326) cannot be measured together, or ``""``."""
    if cameras.empty or not layers:
        return ""
    seen = shapely.box(*cameras.total_bounds).buffer(_NEAR_CAMERAS)
    drawn = [shapely.box(*frame.total_bounds) for frame in layers]
    if any(seen.intersects(box) for box in drawn):
        return ""

    def where(bounds: np.ndarray) -> str:
        west, south, east, north = bounds
        return f"lon {west:.4f}–{east:.4f}, lat {south:.4f}–{north:.4f}"

    layer_bounds = shapely.total_bounds(shapely.union_all(drawn))
    return (
        f"the cameras ({where(cameras.total_bounds)}) and the coverage layers ({where(layer_bounds)}) do not "
        "overlap, so nothing would be covered: check the ledger's coordinate system (crs: wgs84, gcj02 or "
        "bd09) and the layers' CRS, or that the layers are this county's; --force reports anyway"
    )


def derive_intersections(
    roads: gpd.GeoDataFrame,
    signals: gpd.GeoDataFrame,
    catalog: CategoryCatalog,
    *,
    radius: float,
) -> gpd.GeoDataFrame:
    """Intersections of a road network (metric CRS): nodes of degree >= 3, plus traffic signals.

    A vertex's degree counts 1 for each line that ends there and 2 for each line passing through it, so OSM
    ways that are not split at junctions still yield their junctions; a line that ends on another line without
    a shared vertex adds 2 there. Vertices match on millimetre-rounded coordinates (``np.unique``). A junction
    is ``catalog.key_intersection`` when a road of a key category meets there. Signals within ``radius`` of a
    junction are the same junction; the others are added, key when a key road passes within ``radius``.
    Returns Points with ``category``.
    """
    crs = roads.crs
    if roads.empty:
        return empty_frame(("category",), crs=crs)
    coords, line = shapely.get_coordinates(roads.geometry.to_numpy(), return_index=True)
    first = np.r_[True, line[1:] != line[:-1]]
    last = np.r_[line[1:] != line[:-1], True]
    weight = np.where(first | last, 1, 2)
    key_road = roads["category"].isin(catalog.key_roads).to_numpy()
    nodes, inverse = np.unique(np.round(coords, 3), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    degree = np.bincount(inverse, weights=weight, minlength=len(nodes))
    key = np.bincount(inverse, weights=key_road[line], minlength=len(nodes)) > 0
    # A road ending on another road with no shared vertex (common outside OSM) meets it there: +2 degree.
    lines = roads.geometry.to_numpy()
    dangling = np.flatnonzero(degree == 1)
    ends = shapely.points(nodes[dangling])
    end_i, line_i = shapely.STRtree(lines).query(ends, predicate="dwithin", distance=0.01)
    owner = np.zeros(len(nodes), np.intp)
    owner[inverse] = line
    onto = line_i != owner[dangling[end_i]]
    degree[dangling[end_i[onto]]] += 2
    key[dangling[end_i[onto]]] |= key_road[line_i[onto]]
    junction = degree >= 3
    points = shapely.points(nodes[junction])
    key_flags = key[junction]
    if not signals.empty:
        signal_points = signals.geometry.to_numpy()
        near_junction = np.zeros(len(signal_points), bool)
        if len(points):
            near_junction[
                shapely.STRtree(points).query(signal_points, predicate="dwithin", distance=radius)[0]
            ] = True
        extra = signal_points[~near_junction]
        extra_key = np.zeros(len(extra), bool)
        key_lines = lines[key_road]
        if len(extra) and len(key_lines):
            extra_key[shapely.STRtree(key_lines).query(extra, predicate="dwithin", distance=radius)[0]] = True
        points = np.concatenate([points, extra])
        key_flags = np.concatenate([key_flags, extra_key])
    category = np.where(key_flags, catalog.key_intersection, catalog.other_intersection)
    return gpd.GeoDataFrame({"category": category}, geometry=points, crs=crs)


def assign_areas(
    anchors: np.ndarray,
    areas: gpd.GeoDataFrame,
    cameras: gpd.GeoDataFrame,
) -> pd.DataFrame:
    """County/township/village names for each anchor point (metric CRS, same as ``areas`` and ``cameras``).

    A point takes the name of the area polygon of each level that contains it. Where no polygon of a level
    contains it, it takes that level's ledger name of the nearest camera (``cameras`` columns ``county``,
    ``township``, ``village``): a road or site usually belongs to the same place as the cameras around it.
    With no camera either, the name is empty, and the feature counts only in the totals of the levels above.
    Returns a DataFrame with one column per level, aligned with ``anchors``.
    """
    names = pd.DataFrame({level: np.full(len(anchors), "", dtype=object) for level in LEVELS})
    if len(anchors) == 0:
        return names
    unresolved = np.ones((len(anchors), len(LEVELS)), bool)
    for j, level in enumerate(LEVELS):
        polys = areas[areas["level"] == level]
        if polys.empty:
            continue
        # Boxes first, then the point-in-polygon test against prepared polygons (the tree's own "within"
        # prepares the points, not the polygons: 4x slower on a county's 300,000 anchors); same pairs and
        # order.
        shapes = polys.geometry.to_numpy()
        point_i, poly_i = shapely.STRtree(shapes).query(anchors)
        shapely.prepare(shapes)
        inside = shapely.contains(shapes[poly_i], anchors[point_i])
        point_i, poly_i = point_i[inside], poly_i[inside]
        point_i, first = np.unique(point_i, return_index=True)
        names.loc[point_i, level] = polys["name"].to_numpy()[poly_i[first]]
        unresolved[point_i, j] = False
    pending = unresolved.any(axis=1)
    if pending.any() and len(cameras):
        tree = shapely.STRtree(cameras.geometry.to_numpy())
        nearest = tree.nearest(anchors[pending])
        rows = np.flatnonzero(pending)
        for j, level in enumerate(LEVELS):
            ledger = cameras[level].to_numpy()[nearest]
            take = unresolved[rows, j]
            names.loc[rows[take], level] = ledger[take]
    return names
