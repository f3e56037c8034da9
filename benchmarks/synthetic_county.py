"""Generate a synthetic county (roads, cameras, buildings, key sites, admin areas) for coverage benchmarks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from pyproj import CRS, Transformer

from camwatch.config.models import Camera, CoverageSettings

UTM = CRS.from_epsg(32650)  # UTM 50N: the Shangqiu area of Henan
ORIGIN = (400_000.0, 3_780_000.0)  # south-west corner, about 115.9 °E, 34.1 °N
SITE_CATEGORIES = ("school", "hospital", "supermarket", "hotel", "bank", "entertainment")


@dataclass(frozen=True)
class County:
    """Every layer in :data:`UTM`. ``roads``: ``category``; ``cameras``: ``camera``, ``direction``, ``hfov``,
    ``range``, ``camera_type``, township/village names; ``sites``: ``category``, ``name``; ``buildings``;
    ``areas``: ``name``, ``level``."""

    roads: gpd.GeoDataFrame
    cameras: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    areas: gpd.GeoDataFrame


def synthetic_county(
    *,
    road_segments: int = 50_000,
    cameras: int = 10_000,
    buildings: int = 100_000,
    sites: int = 500,
    townships: int = 4,
    villages: int = 5,
    spacing: float = 250.0,
    seed: int = 7,
    name: str = "Synthetic County",
    origin: tuple[float, float] = ORIGIN,
) -> County:
    """A county on a jittered road grid about ``spacing`` m apart with about ``road_segments`` segments.

    Every 40th grid line is a key road, every 10th a main street, lines 5 off those township streets, the
    rest village roads. Cameras sit next to grid nodes (a quarter domes, the rest fixed cameras facing along
    a road); buildings and key sites fill the blocks between roads. ``townships`` x ``townships`` township
    squares each hold ``villages`` x ``villages`` village squares. The county is called ``name`` and its
    south-west corner is ``origin`` (UTM 50N metres), so that several make a city side by side.
    """
    rng = np.random.default_rng(seed)
    n = round(float(np.sqrt(1 + 2 * road_segments) + 1) / 2)  # 2 n (n - 1) segments on an n x n grid
    grid = np.arange(n) * spacing
    nodes = np.stack(np.meshgrid(grid, grid, indexing="ij"), axis=-1) + np.array(origin)
    nodes += rng.uniform(-0.1, 0.1, nodes.shape) * spacing
    road_frame = _roads(nodes)
    extent = (origin[0] - spacing / 2, origin[1] - spacing / 2, *(np.array(origin) + grid[-1] + spacing / 2))
    return County(
        roads=road_frame,
        cameras=_cameras(nodes, cameras, rng),
        buildings=_buildings(nodes, buildings, spacing, rng),
        sites=_sites(nodes, sites, rng),
        areas=_areas(name, extent, townships, villages),
    )


def _line_category(index: np.ndarray) -> np.ndarray:
    return np.select(
        [index % 40 == 0, index % 10 == 0, index % 10 == 5],
        ["key_road", "main_street", "township_street"],
        "village_road",
    )


def _roads(nodes: np.ndarray) -> gpd.GeoDataFrame:
    n = nodes.shape[0]
    along_i = np.stack([nodes[:-1, :], nodes[1:, :]], axis=2).reshape(
        -1, 2, 2
    )  # segments along the first axis
    along_j = np.stack([nodes[:, :-1], nodes[:, 1:]], axis=2).reshape(-1, 2, 2)
    # A segment along axis i lies on grid line j (and vice versa): its category is that line's.
    line_i = np.tile(np.arange(n), n - 1)
    line_j = np.repeat(np.arange(n), n - 1)
    return gpd.GeoDataFrame(
        {"category": np.concatenate([_line_category(line_i), _line_category(line_j)])},
        geometry=shapely.linestrings(np.concatenate([along_i, along_j])),
        crs=UTM,
    )


def _cameras(nodes: np.ndarray, count: int, rng: np.random.Generator) -> gpd.GeoDataFrame:
    flat = nodes.reshape(-1, 2)
    at = rng.choice(len(flat), size=count, replace=False)
    dome = rng.random(count) < 0.25
    heading = rng.integers(0, 4, count) * 90.0 + rng.uniform(-10, 10, count)
    offset = rng.uniform(-8, 8, (count, 2))
    return gpd.GeoDataFrame(
        {
            "camera": [f"cam-{i:05d}" for i in range(count)],
            "direction": np.where(dome, np.nan, heading % 360),
            "hfov": np.where(dome, 360.0, rng.choice([60.0, 75.0, 90.0, 100.0], count)),
            "range": np.where(dome, 40.0, rng.uniform(40, 80, count)).round(1),
            "camera_type": np.where(dome, "dome", "fixed"),
        },
        geometry=shapely.points(flat[at] + offset),
        crs=UTM,
    )


def _buildings(nodes: np.ndarray, count: int, spacing: float, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Footprints 8-20 m across, inside blocks, at least ~30 m from the grid lines (some road-side)."""
    block = rng.integers(0, nodes.shape[0] - 1, (count, 2))
    centre = nodes[block[:, 0], block[:, 1]] + rng.uniform(0.12, 0.88, (count, 2)) * spacing
    half = rng.uniform(4, 10, (count, 2))
    return gpd.GeoDataFrame(geometry=shapely.box(*(centre - half).T, *(centre + half).T), crs=UTM)


def _sites(nodes: np.ndarray, count: int, rng: np.random.Generator) -> gpd.GeoDataFrame:
    flat = nodes.reshape(-1, 2)
    at = flat[rng.choice(len(flat), size=count, replace=False)] + rng.uniform(12, 20, (count, 2))
    return gpd.GeoDataFrame(
        {"category": rng.choice(SITE_CATEGORIES, count), "name": [f"site {i}" for i in range(count)]},
        geometry=shapely.points(at),
        crs=UTM,
    )


def _areas(name: str, extent: tuple[float, ...], townships: int, villages: int) -> gpd.GeoDataFrame:
    west, south, east, north = extent
    rows = [(name, "county", shapely.box(west, south, east, north))]
    town_w, town_h = (east - west) / townships, (north - south) / townships
    for t in range(townships * townships):
        tx, ty = west + (t % townships) * town_w, south + (t // townships) * town_h
        rows.append((f"T{t + 1:02d}", "township", shapely.box(tx, ty, tx + town_w, ty + town_h)))
        vw, vh = town_w / villages, town_h / villages
        for v in range(villages * villages):
            vx, vy = tx + (v % villages) * vw, ty + (v // villages) * vh
            rows.append((f"T{t + 1:02d}-V{v + 1:02d}", "village", shapely.box(vx, vy, vx + vw, vy + vh)))
    names, levels, shapes = zip(*rows, strict=True)
    return gpd.GeoDataFrame({"name": names, "level": levels}, geometry=list(shapes), crs=UTM)


def write_county(county: County, folder: Path) -> tuple[list[Camera], CoverageSettings]:
    """Write the layers as GeoPackages in ``folder``; return the cameras and settings naming the files."""
    paths = {}
    for name in ("roads", "buildings", "sites", "areas"):
        paths[name] = folder / f"{name}.gpkg"
        pyogrio.write_dataframe(getattr(county, name), paths[name])
    lon, lat = Transformer.from_crs(UTM, 4326, always_xy=True).transform(
        county.cameras.geometry.x.to_numpy(), county.cameras.geometry.y.to_numpy()
    )
    frame = county.cameras
    cameras = [
        Camera(
            id=cid,
            lat=float(y),
            lon=float(x),
            direction=None if np.isnan(d) else float(d),
            hfov=float(h),
            range=float(r),
            camera_type=str(kind),
        )
        for cid, x, y, d, h, r, kind in zip(
            frame["camera"],
            lon,
            lat,
            frame["direction"],
            frame["hfov"],
            frame["range"],
            frame["camera_type"],
            strict=True,
        )
    ]
    return cameras, CoverageSettings(**paths)
