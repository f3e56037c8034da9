"""Coverage layers for the Chinese demo, drawn over its area as a county's GIS office would give them: a
road network with a 道路等级 column and administrative areas with 名称 and 级别 (县, 乡镇/街道, 村/社区)
matching the townships, villages and street grid the fleet is planned on (``profiles.plan``)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
from shapely import LineString, box

from camwatch.sim.profiles import ZH_TOWNSHIPS, AreaSpec, grid_roads

ROADS_FILE = "路网.geojson"
AREAS_FILE = "行政区划.geojson"


def _road_class(index: int, count: int) -> str:
    """The middle street of the grid is a 城市主干道, its edges 县道 leaving town; the others take turns as
    次干道, 乡道 and 村道."""
    if index == count // 2:
        return "城市主干道"
    if index in (0, count - 1):
        return "县道"
    return ("次干道", "乡道", "村道")[index % 3]


def _split(road: list[tuple[float, float]], cuts: list[float], axis: int) -> list[tuple[float, float]]:
    """``road`` (a straight street of the grid) with a vertex at each crossing street, so that the
    crossings are the network's junctions (intersections to cover)."""
    x0, y0 = road[0]
    start, end = road[0][axis], road[1][axis]
    inner = sorted((c for c in cuts if min(start, end) < c < max(start, end)), reverse=start > end)
    points = [(c, y0) if axis == 0 else (x0, c) for c in inner]
    return [road[0], *points, road[1]]


def write_zh_layers(area: AreaSpec, folder: Path) -> tuple[Path, Path]:
    """Write the roads and areas GeoJSON of ``area`` into ``folder``; their paths."""
    south, west, north, east = area.bbox
    roads = grid_roads(area.bbox)
    rows = [r for r in roads if r[0][1] == r[1][1]]
    columns = [r for r in roads if r[0][0] == r[1][0]]
    row_lats, column_lons = [r[0][1] for r in rows], [c[0][0] for c in columns]
    rows = [_split(r, column_lons, 0) for r in rows]
    columns = [_split(c, row_lats, 1) for c in columns]
    classes = [_road_class(i, len(rows)) for i in range(len(rows))]
    classes += [_road_class(j + 1, len(columns) + 2) for j in range(len(columns))]
    names = [f"东西{i + 1}路" for i in range(len(rows))] + [f"南北{j + 1}路" for j in range(len(columns))]
    folder.mkdir(parents=True, exist_ok=True)
    gpd.GeoDataFrame(
        {"名称": names, "道路等级": classes}, geometry=[LineString(r) for r in rows + columns], crs=4326
    ).to_file(folder / ROADS_FILE, driver="GeoJSON")
    names, levels, shapes = [area.county], ["县"], [box(west, south, east, north)]
    dx, dy = (east - west) / 4, (north - south) / 4
    for t, (township, villages, _) in enumerate(ZH_TOWNSHIPS):
        top, left = t // 2 * 2, t % 2 * 2  # the township's first row (from the north) and column of 4x4
        names.append(township)
        levels.append("街道" if township.endswith("街道") else "乡镇")
        shapes.append(box(west + left * dx, north - (top + 2) * dy, west + (left + 2) * dx, north - top * dy))
        for v, village in enumerate(villages):
            row, col = top + v // 2, left + v % 2
            names.append(village)
            levels.append("社区" if village.endswith("社区") else "村")
            shapes.append(
                box(west + col * dx, north - (row + 1) * dy, west + (col + 1) * dx, north - row * dy)
            )
    gpd.GeoDataFrame({"名称": names, "级别": levels}, geometry=shapes, crs=4326).to_file(
        folder / AREAS_FILE, driver="GeoJSON"
    )
    return folder / ROADS_FILE, folder / AREAS_FILE
