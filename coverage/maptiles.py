"""A map layer's GeoJSON features split into square tiles of :data:`TILE_DEGREES`, so that the page reads
only the tiles around what the planner looks at (see :mod:`camwatch.coverage.mappage`).

A geometry belongs to the tile of its bounding box's centre. A multi-part geometry whose parts lie in several
tiles becomes one feature per tile (with the same properties) holding its parts there, and a line larger than
a tile is cut at the tiles' edges first: every part is then smaller than a tile, so whatever is drawn in the
view belongs to a tile that the view, grown by half a tile on each side, touches. (Polygons are not cut, as
their outlines would show the cuts: the detail layers' polygons, fields of view and buildings, are far
smaller than a tile.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

# About 3 km: at the detail zoom (15) a 1200 x 800 view needs a dozen tiles of a county's few hundred.
TILE_DEGREES = 0.03
# 6 decimals of a degree is ~0.1 m; more only bloats the page (cut points are rounded to it too).
COORDINATE_DECIMALS = 6


@dataclass(frozen=True)
class Tiles:
    """Features (GeoJSON text, joined by commas) by tile key ``"x:y"`` (the tile's column and row)."""

    features: dict[str, str]

    def collection(self, key: str | None = None) -> str:
        """A FeatureCollection of one tile (``key``) or of every tile."""
        chosen = [self.features[key]] if key is not None else list(self.features.values())
        return '{"type":"FeatureCollection","features":[' + ",".join(filter(None, chosen)) + "]}"

    def size(self) -> int:
        return sum(map(len, self.features.values()))


def whole(geoms: NDArray[np.object_], properties: list[str]) -> Tiles:
    """``geoms``, each with its ``properties`` (a JSON object's text), as one tile (``"all"``)."""
    texts = shapely.to_geojson(geoms)
    joined = ",".join(
        f'{{"type":"Feature","properties":{props},"geometry":{text}}}'
        for props, text in zip(properties, texts, strict=True)
    )
    return Tiles({"all": joined})


def tile_features(geoms: NDArray[np.object_], properties: list[str]) -> Tiles:
    """``geoms`` (EPSG:4326, none empty), each with its ``properties`` (a JSON object's text), by tile."""
    parts, owner = shapely.get_parts(geoms, return_index=True)
    parts, owner = _cut_large(parts, owner)
    bounds = shapely.bounds(parts)
    column = np.floor((bounds[:, 0] + bounds[:, 2]) / 2 / TILE_DEGREES).astype(np.int64)
    row = np.floor((bounds[:, 1] + bounds[:, 3]) / 2 / TILE_DEGREES).astype(np.int64)
    # One feature per (geometry, tile): its parts there, in order of the geometry then tile.
    # One integer key per (geometry, column, row), in that order: a 1-D unique is much faster than rows'.
    x0, y0 = column.min(), row.min()
    width, height = column.max() - x0 + 1, row.max() - y0 + 1
    code = (owner.astype(np.int64) * width + (column - x0)) * height + (row - y0)
    codes, group = np.unique(code, return_inverse=True)
    group = group.ravel()
    keys = np.stack([codes // (width * height), codes // height % width + x0, codes % height + y0], axis=1)
    shapes = _regroup(parts, group, len(keys), geoms[keys[:, 0]])
    texts = shapely.to_geojson(shapes)
    tiles: dict[str, list[str]] = {}
    for (index, x, y), text in zip(keys.tolist(), texts, strict=True):
        feature = f'{{"type":"Feature","properties":{properties[index]},"geometry":{text}}}'
        tiles.setdefault(f"{x}:{y}", []).append(feature)
    return Tiles({key: ",".join(features) for key, features in tiles.items()})


def _cut_large(
    parts: NDArray[np.object_], owner: NDArray[np.int64]
) -> tuple[NDArray[np.object_], NDArray[np.int64]]:
    """Lines larger than a tile cut at the tiles' edges (a long road gap becomes a piece per tile)."""
    bounds = shapely.bounds(parts)
    large = ((bounds[:, 2] - bounds[:, 0]) > TILE_DEGREES) | ((bounds[:, 3] - bounds[:, 1]) > TILE_DEGREES)
    large &= shapely.get_dimensions(parts) == 1
    if not large.any():
        return parts, owner
    pieces, owners = [parts[~large]], [owner[~large]]
    for part, who, (west, south, east, north) in zip(parts[large], owner[large], bounds[large], strict=True):
        columns = np.arange(np.floor(west / TILE_DEGREES), np.floor(east / TILE_DEGREES) + 1)
        rows = np.arange(np.floor(south / TILE_DEGREES), np.floor(north / TILE_DEGREES) + 1)
        x, y = (grid.ravel() * TILE_DEGREES for grid in np.meshgrid(columns, rows))
        tiles = shapely.box(x, y, x + TILE_DEGREES, y + TILE_DEGREES)
        cut = shapely.get_parts(shapely.intersection(part, tiles))
        # A line touching a tile's edge leaves a point there: only pieces of the part's own kind count.
        cut = cut[(shapely.get_dimensions(cut) == shapely.get_dimensions(part)) & ~shapely.is_empty(cut)]
        cut = shapely.transform(cut, lambda xy: np.round(xy, COORDINATE_DECIMALS))
        pieces.append(cut)
        owners.append(np.full(len(cut), who))
    return np.concatenate(pieces), np.concatenate(owners)


def _regroup(
    parts: NDArray[np.object_], group: NDArray[np.int64], count: int, originals: NDArray[np.object_]
) -> NDArray[np.object_]:
    """The ``count`` geometries made of the parts of each group: the part itself when alone, else a multi-part
    geometry of the original's kind."""
    shapes = np.empty(count, dtype=object)
    sizes = np.bincount(group, minlength=count)
    alone = sizes[group] == 1
    shapes[group[alone]] = parts[alone]
    makers = {
        shapely.GeometryType.POINT: shapely.multipoints,
        shapely.GeometryType.LINESTRING: shapely.multilinestrings,
        shapely.GeometryType.POLYGON: shapely.multipolygons,
    }
    kinds = shapely.get_type_id(parts)
    for kind, make in makers.items():
        chosen = ~alone & (kinds == kind)
        if not chosen.any():
            continue
        order = np.argsort(group[chosen], kind="stable")
        targets, local = np.unique(group[chosen][order], return_inverse=True)
        shapes[targets] = make(parts[chosen][order], indices=local.ravel())
    missing = np.flatnonzero(shapes == None)  # noqa: E711 (element-wise)
    if len(missing):  # a collection's mixed parts: drawn as its original
        shapes[missing] = originals[missing]
    return shapes
