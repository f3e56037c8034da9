"""The coverage map opened in headless Chromium: loads offline without errors and draws every layer."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import cv2
import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString, Point, Polygon, box

from camwatch.coverage.mapview import PALETTE, STATUS_COLOURS, write_map
from support.browser import PageLoad, load_page

# A crossroads in Shangqiu; one step is ~100 m.
X0, Y0, STEP = 115.65, 34.41, 0.001
OVERLAYS = [
    "Areas: township",
    "Covered roads",
    "Uncovered roads",
    "Fields of view",
    "Fields of view (down)",
    "Gaps (roads)",
    "Gaps (intersections, sites)",
    "Cameras",
    "Cameras (down)",
    "Suggested cameras",
]
PAGE_CHECKS = {
    "legend": "(() => { const r = document.querySelector('.camwatch-legend').getBoundingClientRect();"
    " return [r.left, r.top, r.right, r.bottom]; })()",
    "controls": "[...document.querySelectorAll('.leaflet-control, .camwatch-legend')].map(e => {"
    " const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })",
    "overlays": "[...document.querySelectorAll('.leaflet-control-layers-overlays label')]"
    ".map(l => l.textContent.trim())",
}


def at(dx: float, dy: float) -> tuple[float, float]:
    return (X0 + dx * STEP, Y0 + dy * STEP)


def fov_sector(apex: Point, direction: float, hfov: float, radius: float) -> Polygon:
    angles = np.radians(np.linspace(direction - hfov / 2, direction + hfov / 2, 33))
    arc = np.column_stack([apex.x + radius * np.sin(angles), apex.y + radius * np.cos(angles)])
    return Polygon([(apex.x, apex.y), *map(tuple, arc)])


def scenario() -> dict[str, gpd.GeoDataFrame]:
    """Two townships (green, red), a covered and an uncovered crossing road pair, three cameras (one down,
    one with no known status), a road gap, an intersection gap and one suggested camera facing west."""
    roads = gpd.GeoDataFrame(
        {
            "category": ["main_street", "key_road", "village_road", "main_street"],
            "covered": [True, False, True, False],
        },
        geometry=[
            LineString([at(0, 0), at(4, 0)]),
            LineString([at(4, 0), at(8, 0)]),
            LineString([at(2, -3), at(2, 3)]),
            LineString([at(6, -3), at(6, 3)]),
        ],
        crs=4326,
    )
    cameras = gpd.GeoDataFrame(
        {"camera": ["c1", "c2", "c3"], "name": ["North gate", "Market", "School"], "up": [True, False, None]},
        geometry=[Point(at(1, 0.5)), Point(at(5, 0.5)), Point(at(2.5, -2))],
        crs=4326,
    )
    local = cameras.to_crs(cameras.estimate_utm_crs())
    sectors = gpd.GeoDataFrame(
        {"camera": ["c1", "c2", "c3"], "up": [True, False, True]},
        geometry=[fov_sector(p, d, 90, 120) for p, d in zip(local.geometry, [90, 90, 0], strict=True)],
        crs=local.crs,
    ).to_crs(4326)
    gaps = gpd.GeoDataFrame(
        {
            "kind": ["road", "intersection"],
            "category": ["key_road", "intersection"],
            "area": ["East", "East"],
            "length_m": [150.0, None],
        },
        geometry=[LineString([at(6.5, 0), at(8, 0)]), Point(at(6, 0))],
        crs=4326,
    )
    suggestions = gpd.GeoDataFrame(
        {"direction": [270.0], "gain": [150.0], "area": ["East"]}, geometry=[Point(at(7.5, 1))], crs=4326
    )
    areas = gpd.GeoDataFrame(
        {
            "area": ["West", "East"],
            "level": ["township", "township"],
            "status": ["green", "red"],
            "ratio": [0.97, 0.5],
        },
        geometry=[box(*at(-1, -4), *at(4, 4)), box(*at(4, -4), *at(9, 4))],
        crs=4326,
    )
    return {
        "roads": roads,
        "sectors": sectors,
        "cameras": cameras,
        "gaps": gaps,
        "suggestions": suggestions,
        "areas": areas,
    }


def colour_pixels(image: np.ndarray, hex_colour: str, *, tolerance: int = 8) -> int:
    """Pixels of ``image`` (BGR) within ``tolerance`` of ``hex_colour`` on every channel."""
    rgb = [int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]
    bgr = np.array(rgb[::-1], dtype=np.int16)
    return int(np.all(np.abs(image.astype(np.int16) - bgr) <= tolerance, axis=-1).sum())


def map_data(html: str) -> list[dict]:
    """The GeoJSON collections embedded in the page (JSON blocks, with ``<``, ``>``, ``&`` escaped)."""
    blocks = re.findall(r'<script type="application/json" id="[\w-]+">(.*?)</script>', html, flags=re.S)
    return [json.loads(blob) for blob in blocks]


@dataclass(frozen=True)
class LoadedMap:
    path: Path
    image: np.ndarray  # the screenshot, BGR
    page: PageLoad


@pytest.fixture(scope="module")
def loaded_map(tmp_path_factory: pytest.TempPathFactory) -> LoadedMap:
    path = tmp_path_factory.mktemp("map") / "map.html"
    write_map(path, **scenario())
    page = load_page(path.as_uri(), evaluate=PAGE_CHECKS)
    (path.parent / "screenshot.png").write_bytes(page.screenshot)
    image = cv2.imdecode(np.frombuffer(page.screenshot, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, "the screenshot is not a PNG"
    return LoadedMap(path, image, page)


def test_map_loads_offline_without_console_errors(loaded_map: LoadedMap) -> None:
    path = loaded_map.path
    page = loaded_map.page
    assert page.errors == []
    assert page.requests == [path.as_uri()]
    assert "<script src=" not in path.read_text()


def test_map_has_a_layer_control_with_every_overlay(loaded_map: LoadedMap) -> None:
    page = loaded_map.page
    assert page.values["overlays"] == OVERLAYS


def test_screenshot_shows_roads_sectors_cameras_gaps_and_suggestions(loaded_map: LoadedMap) -> None:
    image = loaded_map.image
    page = loaded_map.page
    drawing = image.copy()
    for left, top, right, bottom in page.values["controls"]:
        # The legend's swatches and the controls' grey text must not count as drawn features.
        drawing[math.floor(top) : math.ceil(bottom), math.floor(left) : math.ceil(right)] = 0
    counts = {name: colour_pixels(drawing, PALETTE[name]) for name in PALETTE if name != "area_edge"}
    # Roads are 200-350 px long and 3-5 px wide; sector outlines and markers are smaller.
    assert counts["covered"] > 500
    assert counts["uncovered"] > 600
    assert counts["sector"] > 100
    assert counts["down"] > 100  # the down camera's sector outline and marker
    assert counts["camera"] > 20
    assert counts["gap"] > 150
    assert counts["suggestion"] > 80


def test_screenshot_shows_the_area_choropleth(loaded_map: LoadedMap) -> None:
    image = loaded_map.image
    background = np.array([0xDD] * 3)  # Leaflet's map background, under the 25 % opaque area fill
    for status in ("green", "red"):
        fill = np.array([int(STATUS_COLOURS[status][i : i + 2], 16) for i in (1, 3, 5)])
        seen = "#" + "".join(f"{round(v):02x}" for v in 0.25 * fill + 0.75 * background)
        assert colour_pixels(image, seen, tolerance=3) > 20_000, status


def test_screenshot_shows_the_legend(loaded_map: LoadedMap) -> None:
    image = loaded_map.image
    page = loaded_map.page
    left, top, right, bottom = (round(v) for v in page.values["legend"])
    assert right - left > 100 and bottom - top > 150
    legend = image[top:bottom, left:right]
    for colour in [*PALETTE.values(), *STATUS_COLOURS.values()]:
        if colour != PALETTE["area_edge"]:
            assert colour_pixels(legend, colour, tolerance=2) >= 40, colour


def test_map_coordinates_are_rounded(loaded_map: LoadedMap) -> None:
    path = loaded_map.path
    collections = map_data(path.read_text())
    assert len(collections) == 13  # one per drawn (layer, style) pair
    coordinates = re.findall(r"-?\d+\.\d+", json.dumps([c["features"] for c in collections]))
    assert coordinates and all(len(number.split(".")[1]) <= 6 for number in coordinates)


def test_map_with_no_features_still_loads(tmp_path: Path) -> None:
    empty = {name: frame.iloc[0:0] for name, frame in scenario().items()}
    path = tmp_path / "map.html"
    write_map(path, **empty)
    page = load_page(path.as_uri(), evaluate=PAGE_CHECKS, settle_s=0.2)
    assert page.errors == []
    assert page.values["overlays"] == []
