"""A map layer split into tiles: every feature drawn in a view is in a tile that the view grown by half a
tile touches, long lines are cut at tile edges, properties go with every piece."""

from __future__ import annotations

import json
import math

import numpy as np
import shapely
from shapely.geometry import LineString, MultiPolygon, Point, box

from camwatch.coverage.maptiles import TILE_DEGREES, tile_features, whole

T = TILE_DEGREES


def pieces(tiles: dict[str, str]) -> list[tuple[str, dict, shapely.Geometry]]:
    found = []
    for key, text in tiles.items():
        for feature in json.loads(f"[{text}]"):
            found.append((key, feature["properties"], shapely.from_geojson(json.dumps(feature["geometry"]))))
    return found


def test_a_long_line_is_cut_at_tile_edges_and_keeps_its_properties() -> None:
    # 3.5 tiles east from just inside tile (3855, 1147), and a point and a small multi-polygon across an edge.
    road = LineString([(115.651, 34.411), (115.651 + 3.5 * T, 34.4115)])
    blocks = MultiPolygon([box(115.6495, 34.41, 115.6499, 34.4104), box(115.6501, 34.41, 115.6505, 34.4104)])
    geoms = np.array([road, Point(115.7, 34.42), blocks], dtype=object)
    props = [json.dumps({"name": n}) for n in ("road", "camera", "<blocks>")]
    found = pieces(tile_features(geoms, props).features)

    road_pieces = [(key, shape) for key, p, shape in found if p == {"name": "road"}]
    assert len(road_pieces) == 4  # one per tile it crosses
    assert math.isclose(sum(s.length for _, s in road_pieces), road.length, rel_tol=1e-6)
    for key, shape in road_pieces:
        x, y = map(int, key.split(":"))
        west, south, east, north = shape.bounds
        assert x * T - 1e-9 <= west and east <= (x + 1) * T + 1e-9 and y * T <= south <= north <= (y + 1) * T
        assert all(len(repr(float(c)).split(".")[1]) <= 6 for c in shapely.get_coordinates(shape).ravel())
    assert [(k, s.wkt) for k, p, s in found if p == {"name": "camera"}] == [
        (f"{math.floor(115.7 / T)}:{math.floor(34.42 / T)}", "POINT (115.7 34.42)")
    ]
    # The multi-polygon's two blocks lie either side of 115.65 (a tile edge): one feature per tile.
    block_keys = sorted(k for k, p, _ in found if p == {"name": "<blocks>"})
    assert block_keys == [f"3854:{math.floor(34.41 / T)}", f"3855:{math.floor(34.41 / T)}"]


def test_every_feature_of_a_view_is_in_a_tile_near_it() -> None:
    rng = np.random.default_rng(3)
    starts = rng.uniform([115.6, 34.3], [115.8, 34.5], (300, 2))
    ends = starts + rng.uniform(-0.05, 0.05, (300, 2))
    lines = shapely.linestrings(np.stack([starts, ends], axis=1))
    found = pieces(tile_features(lines, ["{}"] * len(lines)).features)
    for key, _, shape in found:
        x, y = map(int, key.split(":"))
        grown = box((x - 0.5) * T, (y - 0.5) * T, (x + 1.5) * T, (y + 1.5) * T)
        assert grown.buffer(1e-9).covers(shape)
    assert math.isclose(sum(s.length for *_, s in found), shapely.length(lines).sum(), rel_tol=1e-6)


def test_whole_is_one_collection() -> None:
    tiles = whole(np.array([Point(1, 2)], dtype=object), ['{"a":1}'])
    assert json.loads(tiles.collection()) == {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"a": 1},
                "geometry": {"type": "Point", "coordinates": [1.0, 2.0]},
            }
        ],
    }
