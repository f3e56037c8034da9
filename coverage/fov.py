"""Camera fields of view: documented defaults, DORI ranges and sector polygons cut by buildings."""

from __future__ import annotations

import re
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from pyproj import CRS, Proj

from camwatch.config.models import Camera

DORI_PX_PER_M = {"detection": 25.0, "observation": 62.5, "recognition": 125.0, "identification": 250.0}
"""IEC 62676-4 pixel densities on the target (pixels per metre of scene width)."""

RANGE_LEVEL = "detection"
"""A camera with no configured range reaches as far as it still *detects* (25 px/m)."""

DEFAULT_WIDTH_PX = 1920
"""Sensor width assumed when the ledger gives no resolution (1080p, the common surveillance camera)."""

FIXED_HFOV = 90.0
"""Horizontal FOV of a fixed camera with none configured (a 2.8-4 mm lens on a 1/2.8" sensor)."""

OMNIDIRECTIONAL_TYPES = frozenset({"dome", "ptz", "speed_dome", "panoramic", "fisheye", "360"})
"""``camera_type`` values drawn as 360°: a dome or PTZ may face any way, so the sector is a full disc."""

PANORAMIC_TYPES = frozenset({"panoramic", "fisheye", "360"})
"""``camera_type`` values whose lens really spans the configured FOV, so DORI uses the arc formula."""

ARC_VERTICES = 64

_RESOLUTION = re.compile(r"(\d{3,5})\s*[x×*]\s*\d{3,5}")
_NAMED_WIDTH = {
    "4k": 3840,
    "2160p": 3840,
    "8mp": 3840,
    "5mp": 2592,
    "4mp": 2560,
    "1440p": 2560,
    "3mp": 2048,
    "1080p": 1920,
    "2mp": 1920,
    "960p": 1280,
    "1.3mp": 1280,
    "720p": 1280,
    "1mp": 1280,
    "d1": 704,
    "cif": 352,
}


def resolution_width(resolution: str) -> float:
    """Horizontal pixels from ``1920x1080``, ``1080p``, ``4MP``, ``4K``...; NaN when unknown."""
    text = resolution.strip().lower()
    if match := _RESOLUTION.search(text):
        return float(match.group(1))
    return float(_NAMED_WIDTH.get(text.replace(" ", ""), np.nan))


def dori_distance(
    width_px: NDArray[np.float64], lens_deg: NDArray[np.float64], level: str
) -> NDArray[np.float64]:
    """Distance (m) at which a camera still gives ``level``'s pixel density across its view.

    The scene is ``2 d tan(fov/2)`` wide at distance ``d`` for a rectilinear lens, ``d * fov`` (arc) for a
    lens of 180° or more, so ``d = width / (ppm * 2 tan(fov/2))`` or ``width / (ppm * fov)``. Example: 1920 px
    behind a 90° lens detects to 38.4 m and recognises to 7.7 m.
    """
    ppm = DORI_PX_PER_M[level]
    lens = np.radians(lens_deg)
    wide = lens_deg >= 180
    span = np.where(wide, lens, 2 * np.tan(np.where(wide, 1.0, lens) / 2))
    distance: NDArray[np.float64] = width_px / (ppm * span)
    return distance


def camera_frame(cameras: Sequence[Camera]) -> gpd.GeoDataFrame:
    """Cameras with a position, in EPSG:4326, their view filled in with the documented defaults.

    Columns: ``camera`` (id), ``name``, ``county``, ``township``, ``village``, ``direction`` (true bearing,
    degrees clockwise from north), ``hfov`` (degrees drawn), ``lens`` (degrees for pixel density),
    ``width_px``, ``range`` (m), ``assumed_view`` (bool: direction or FOV was defaulted), geometry.

    Defaults: no ``hfov`` -> 360° for dome/PTZ types (they may face anywhere), 90° otherwise; no
    ``direction`` -> a full 360° disc (where it looks is unknown). The pixel density (``lens``) is that of a
    90° lens in both cases and whenever a 360° FOV is given for a camera that is not panoramic/fisheye (a
    dome or PTZ sees any way, but through a normal lens at any moment). No resolution -> 1920 px; no
    ``range`` -> the DORI *detection* distance.
    """
    placed = [c for c in cameras if c.has_position]
    frame = pd.DataFrame(
        {
            "camera": [c.id for c in placed],
            "name": [c.name for c in placed],
            "county": [c.county for c in placed],
            "township": [c.township for c in placed],
            "village": [c.village for c in placed],
            "direction": np.array([np.nan if c.direction is None else c.direction for c in placed], float),
            "hfov": np.array([np.nan if c.hfov is None else c.hfov for c in placed], float),
            "range": np.array([np.nan if c.range is None else c.range for c in placed], float),
            "width_px": np.array([resolution_width(c.resolution) for c in placed], float),
            "omni": np.array([c.camera_type.strip().lower() in OMNIDIRECTIONAL_TYPES for c in placed], bool),
            "panoramic": np.array([c.camera_type.strip().lower() in PANORAMIC_TYPES for c in placed], bool),
        }
    )
    no_fov = frame["hfov"].isna().to_numpy()
    no_direction = frame["direction"].isna().to_numpy()
    given = frame["hfov"].to_numpy()
    # 360° in a ledger means "may face any way"; only a fisheye/panoramic lens spreads its pixels that wide.
    wide_optics = frame["panoramic"].to_numpy()
    lens = np.where(no_fov | no_direction | ((given >= 360) & ~wide_optics), FIXED_HFOV, given)
    hfov = np.where(no_fov, np.where(frame["omni"].to_numpy(), 360.0, FIXED_HFOV), given)
    width = frame["width_px"].fillna(DEFAULT_WIDTH_PX).to_numpy()
    frame = frame.assign(
        direction=np.where(no_direction, 0.0, frame["direction"].to_numpy()),
        hfov=np.where(no_direction, 360.0, hfov),
        lens=lens,
        width_px=width,
        range=frame["range"].fillna(pd.Series(dori_distance(width, lens, RANGE_LEVEL))).to_numpy(),
        assumed_view=no_fov | no_direction,
    ).drop(columns=["omni", "panoramic"])
    points = shapely.points([c.lon for c in placed], [c.lat for c in placed]) if placed else []
    return gpd.GeoDataFrame(frame, geometry=points, crs=4326)


def grid_convergence(points: NDArray[np.object_], crs: CRS) -> NDArray[np.float64]:
    """Meridian convergence (degrees) at ``points`` (in ``crs``).

    Grid bearing = true bearing - convergence."""
    if len(points) == 0:
        return np.zeros(0)
    lonlat = gpd.GeoSeries(points, crs=crs).to_crs(4326)
    factors = Proj(crs).get_factors(lonlat.x.to_numpy(), lonlat.y.to_numpy())
    return np.asarray(factors.meridian_convergence, float)


def sector_polygons(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    bearing: NDArray[np.float64],
    hfov: NDArray[np.float64],
    reach: NDArray[np.float64],
    *,
    arc_vertices: int = ARC_VERTICES,
) -> NDArray[np.object_]:
    """Sector polygons from apex, grid bearing (0 = grid north, clockwise), FOV and reach, all at once.

    A sector is the apex plus ``arc_vertices + 1`` points on its arc, so its straight edges are exact and its
    arc is a chord polygon; a 360° view is a circle polygon with the same vertex count (one array, one call).
    """
    n = len(x)
    steps = np.linspace(0.0, 1.0, arc_vertices + 1)
    full = hfov >= 360
    start = np.where(full, 0.0, bearing - hfov / 2)
    sweep = np.where(full, 360.0 * arc_vertices / (arc_vertices + 2), hfov)
    angles = np.radians(start[:, None] + sweep[:, None] * steps[None, :])
    ring = np.empty((n, arc_vertices + 2, 2))
    ring[:, 1:, 0] = x[:, None] + reach[:, None] * np.sin(angles)
    ring[:, 1:, 1] = y[:, None] + reach[:, None] * np.cos(angles)
    # Apex for sectors; for discs, one more point on the circle.
    last = np.radians(start + 360.0)
    ring[:, 0, 0] = np.where(full, x + reach * np.sin(last - np.radians(360.0 / (arc_vertices + 2))), x)
    ring[:, 0, 1] = np.where(full, y + reach * np.cos(last - np.radians(360.0 / (arc_vertices + 2))), y)
    polygons: NDArray[np.object_] = shapely.polygons(ring)
    return polygons


def building_shadows(
    apex: NDArray[np.object_],
    sectors: NDArray[np.object_],
    reach: NDArray[np.float64],
    buildings: NDArray[np.object_],
) -> tuple[NDArray[np.intp], NDArray[np.object_]]:
    """The part of each sector hidden behind buildings, as (sector index, shadow polygon) pairs.

    Every footprint edge (a, b) facing the camera casts an exact shadow: the quadrilateral a, b, b', a' where
    a' and b' lie on the rays from the camera through a and b, far enough out to pass the sector's arc. A ray
    entering a footprint crosses such an edge first, so the union of these quadrilaterals is the footprint's
    whole shadow, footprint included, for concave footprints too. A footprint within 1 m of the camera is
    where the camera is mounted and casts no shadow. Shadows are clipped to their sector's bounding box, built
    for all pairs in single array calls and unioned per camera with one ``union_all(axis=1)``.
    """
    if len(buildings) == 0 or len(sectors) == 0:
        return np.zeros(0, np.intp), np.zeros(0, object)
    cam_i, bld_i = shapely.STRtree(buildings).query(sectors, predicate="intersects")
    mounted = shapely.dwithin(buildings[bld_i], apex[cam_i], 1.0)
    cam_i, bld_i = cam_i[~mounted], bld_i[~mounted]
    if len(cam_i) == 0:
        return np.zeros(0, np.intp), np.zeros(0, object)
    # Counter-clockwise exteriors: the outside of edge a->b is on its right.
    rings = shapely.get_exterior_ring(shapely.orient_polygons(buildings[bld_i]))
    coords, pair = shapely.get_coordinates(rings, return_index=True)
    same = pair[1:] == pair[:-1]
    a, b, pair = coords[:-1][same], coords[1:][same], pair[:-1][same]
    cams = cam_i[pair]
    c = shapely.get_coordinates(apex)[cams]
    va, vb = a - c, b - c
    # cross(a - c, b - c) = cross(b - a, c - a) < 0: the camera is on the outer side, not on the edge's line.
    facing = (va[:, 0] * vb[:, 1] - va[:, 1] * vb[:, 0]) < -1e-9
    a, b, c, va, vb, cams = a[facing], b[facing], c[facing], va[facing], vb[facing], cams[facing]
    da, db = np.hypot(*va.T), np.hypot(*vb.T)
    cos_half = np.cos(np.arccos(np.clip((va * vb).sum(axis=1) / (da * db), -1, 1)) / 2)
    # Beyond both corners, and far enough that the chord a'-b' stays beyond the sector's reach.
    far = (np.maximum(reach[cams] / np.maximum(cos_half, 1e-3), np.maximum(da, db)) + 1.0)[:, None]
    quads = shapely.polygons(np.stack([a, b, c + vb / db[:, None] * far, c + va / da[:, None] * far], axis=1))
    bounds = shapely.bounds(sectors[cams]).T
    shadows = shapely.intersection(quads, shapely.box(*bounds))
    order = np.argsort(cams, kind="stable")
    cams, shadows = cams[order], shadows[order]
    owners, first, counts = np.unique(cams, return_index=True, return_counts=True)
    table = np.full((len(owners), counts.max()), None, dtype=object)
    table[np.repeat(np.arange(len(owners)), counts), np.arange(len(cams)) - np.repeat(first, counts)] = (
        shadows
    )
    return owners, shapely.union_all(table, axis=1)


def fov_sectors(
    cameras: gpd.GeoDataFrame,
    *,
    buildings: gpd.GeoDataFrame | None = None,
    arc_vertices: int = ARC_VERTICES,
) -> NDArray[np.object_]:
    """The area each camera sees: one (Multi)Polygon per row of ``cameras``, in their metric CRS.

    ``cameras``: :func:`camera_frame` columns (``direction``, ``hfov``, ``range``) projected to a metric CRS.
    Bearings are true bearings, turned to grid bearings with the meridian convergence of the CRS.
    ``buildings`` (Polygons, same CRS) cut their shadows out (:func:`building_shadows`).
    """
    if cameras.empty:
        return np.zeros(0, dtype=object)
    reach = cameras["range"].to_numpy(float)
    apex = cameras.geometry.to_numpy()
    bearing = cameras["direction"].to_numpy(float) - grid_convergence(apex, CRS(cameras.crs))
    sectors = sector_polygons(
        shapely.get_x(apex),
        shapely.get_y(apex),
        bearing,
        cameras["hfov"].to_numpy(float),
        reach,
        arc_vertices=arc_vertices,
    )
    if buildings is not None and not buildings.empty:
        owners, shadows = building_shadows(apex, sectors, reach, buildings.geometry.to_numpy())
        sectors[owners] = shapely.difference(sectors[owners], shadows)
    return sectors


def dori_limited(
    sectors: NDArray[np.object_], cameras: gpd.GeoDataFrame, level: str, *, arc_vertices: int = ARC_VERTICES
) -> NDArray[np.object_]:
    """``sectors`` (from :func:`fov_sectors`) cut back to the distance at which each camera of ``cameras``
    still reaches DORI ``level``: the same view, intersected with a disc of that radius around the camera."""
    limit = dori_distance(cameras["width_px"].to_numpy(float), cameras["lens"].to_numpy(float), level)
    shorter = np.flatnonzero(limit < cameras["range"].to_numpy(float))
    limited = sectors.copy()
    if len(shorter):
        apex = cameras.geometry.to_numpy()[shorter]
        full = np.full(len(shorter), 360.0)
        discs = sector_polygons(
            shapely.get_x(apex),
            shapely.get_y(apex),
            np.zeros(len(shorter)),
            full,
            limit[shorter],
            arc_vertices=arc_vertices,
        )
        limited[shorter] = shapely.intersection(sectors[shorter], discs)
    return limited
