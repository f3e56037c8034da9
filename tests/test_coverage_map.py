"""The coverage map opened in headless Chromium: loads offline without errors, draws its base from the layers
(or a local tile server's tiles), every layer, a legend of the layers present in zh/en, clustered
suggestions that leave the gaps visible."""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString, Point, Polygon, box

from camwatch.config.models import BasemapSettings
from camwatch.coverage.mapview import BASE_COLOURS, PALETTE, STATUS_COLOURS, write_map
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
    "bases": "[...document.querySelectorAll('.leaflet-control-layers-base label')]"
    ".map(l => l.textContent.trim())",
    "legend_rows": "[...document.querySelectorAll('.camwatch-legend-row')].map(r => r.textContent.trim())",
    "base_layers": "(() => { const map = Object.values(window).find(v => v instanceof L.Map); let n = 0;"
    " map.eachLayer(l => { n += l instanceof L.GeoJSON && l.options.pane === 'camwatchBase'; });"
    " return n; })()",
}
LEGEND_EN = [
    "Building",
    "Road covered",
    "Road not covered",
    "Field of view",
    "Field of view (down)",
    "Gap",
    "Camera",
    "Camera down",
    "Suggested camera",
    "Area red",
    "Area green",
]
LEGEND_ZH = [
    "建筑",
    "道路已覆盖",
    "道路未覆盖",
    "监控视场",
    "监控视场（离线）",
    "盲区",
    "摄像机",
    "离线摄像机",
    "建议新增点位",
    "区域 红",
    "区域 绿",
]
# The suggestions layer's clusters and markers: [how many are drawn, how many suggestions they stand for].
SUGGESTIONS_DRAWN = """(() => {
    const map = Object.values(window).find(v => v instanceof L.Map);
    let drawn = 0, stood = 0;
    map.eachLayer(layer => {
        if (!(layer instanceof L.GeoJSON) || layer.options.pane !== "camwatchClusters") return;
        layer.eachLayer(f => {
            if (f instanceof L.Polyline) return;  // a suggestion's heading arrow
            drawn += 1;
            stood += f.feature.properties.camwatchCount || 1;
        });
    });
    return [drawn, stood];
})()"""
ZOOM_IN = (
    "new Promise(r => { const map = Object.values(window).find(v => v instanceof L.Map);"
    " map.once('zoomend', () => setTimeout(r, 300)); map.setZoom(19); })"
)


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
    buildings = gpd.GeoDataFrame(
        geometry=[box(*at(0.3, 1), *at(1.7, 2.5)), box(*at(2.5, 1), *at(3.7, 2.5))], crs=4326
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
        "buildings": buildings,
    }


def many_suggestions(count: int = 40) -> gpd.GeoDataFrame:
    """``count`` suggested cameras within ~60 m of the road gap of :func:`scenario` (a county's worth of
    suggestions seen from afar)."""
    rng = np.random.default_rng(7)
    points = [Point(at(7.25 + dx, dy)) for dx, dy in rng.uniform(-0.6, 0.6, size=(count, 2))]
    return gpd.GeoDataFrame(
        {"direction": rng.uniform(0, 360, count), "gain": 50.0, "area": "East"}, geometry=points, crs=4326
    )


def seen_through(fill_hex: str, under: str, opacity: float = 0.25) -> str:
    """The colour of ``under`` seen through a fill of ``fill_hex`` at ``opacity``."""
    fill, below = (np.array([int(c[i : i + 2], 16) for i in (1, 3, 5)]) for c in (fill_hex, under))
    return "#" + "".join(f"{round(v):02x}" for v in opacity * fill + (1 - opacity) * below)


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
    for status in ("green", "red"):
        # Leaflet's map background (#dddddd) under the 25 % opaque area fill.
        seen = seen_through(STATUS_COLOURS[status], "#dddddd")
        assert colour_pixels(image, seen, tolerance=3) > 20_000, status


def test_base_is_drawn_from_the_layers(loaded_map: LoadedMap) -> None:
    image = loaded_map.image
    assert loaded_map.page.values["bases"] == ["Base map (from the layers)"]
    # Two buildings of ~60 x 85 px in the green township, under its fill.
    seen = seen_through(STATUS_COLOURS["green"], BASE_COLOURS["building"])
    assert colour_pixels(image, seen, tolerance=3) > 8_000
    # Streets are wider than the coverage colours drawn over them: a pale casing along each road.
    casing = sum(
        colour_pixels(image, seen_through(STATUS_COLOURS[s], BASE_COLOURS["street"]), tolerance=3)
        for s in ("green", "red")
    )
    assert casing > 1_000
    # Buildings, major and minor streets, area outlines (dashed, under the areas' own edges).
    assert loaded_map.page.values["base_layers"] == 4


def test_screenshot_shows_the_legend(loaded_map: LoadedMap) -> None:
    image = loaded_map.image
    page = loaded_map.page
    left, top, right, bottom = (round(v) for v in page.values["legend"])
    assert right - left > 100 and bottom - top > 150
    legend = image[top:bottom, left:right]
    present = [
        # No camera of this map looks elsewhere (moved, tampered): no unverified sector to show.
        *(colour for name, colour in PALETTE.items() if name not in ("area_edge", "unverified")),
        STATUS_COLOURS["green"],
        STATUS_COLOURS["red"],
        BASE_COLOURS["building"],
    ]
    for colour in present:
        assert colour_pixels(legend, colour, tolerance=2) >= 40, colour
    # No township is orange or yellow: the legend shows only what the map draws.
    for colour in (STATUS_COLOURS["orange"], STATUS_COLOURS["yellow"]):
        assert colour_pixels(legend, colour, tolerance=2) == 0, colour
    assert page.values["legend_rows"] == LEGEND_EN


def test_map_coordinates_are_rounded(loaded_map: LoadedMap) -> None:
    path = loaded_map.path
    collections = map_data(path.read_text())
    assert len(collections) == 16  # one per drawn (layer, style) pair: 12, and 4 in the base
    coordinates = re.findall(r"-?\d+\.\d+", json.dumps([c["features"] for c in collections]))
    assert coordinates and all(len(number.split(".")[1]) <= 6 for number in coordinates)


def test_map_with_no_features_still_loads(tmp_path: Path) -> None:
    empty = {name: frame.iloc[0:0] for name, frame in scenario().items()}
    path = tmp_path / "map.html"
    write_map(path, **empty)
    page = load_page(path.as_uri(), evaluate=PAGE_CHECKS, settle_s=0.2)
    assert page.errors == []
    assert page.values["overlays"] == []
    assert page.values["legend_rows"] == []


def test_legend_and_layer_names_speak_the_report_language(tmp_path: Path) -> None:
    layers = scenario()
    path = tmp_path / "map.html"
    write_map(path, **layers, lang="zh")
    page = load_page(path.as_uri(), evaluate=PAGE_CHECKS, settle_s=0.2)
    assert page.errors == []
    assert page.values["legend_rows"] == LEGEND_ZH
    assert page.values["overlays"][:3] == ["区域: 乡镇", "已覆盖道路", "未覆盖道路"]
    assert page.values["bases"] == ["底图（由图层绘制）"]

    # Only the layers present: no buildings, suggestions, gaps or down cameras, every area green.
    layers["areas"] = layers["areas"].assign(status="green")
    for name in ("buildings", "suggestions", "gaps"):
        layers[name] = layers[name].iloc[0:0]
    layers["cameras"] = layers["cameras"].assign(up=True)
    layers["sectors"] = layers["sectors"].assign(up=True)
    write_map(path, **layers, lang="zh")
    page = load_page(path.as_uri(), evaluate=PAGE_CHECKS, settle_s=0.2)
    assert page.values["legend_rows"] == ["道路已覆盖", "道路未覆盖", "监控视场", "摄像机", "区域 绿"]


def test_suggestions_cluster_without_hiding_the_gaps(tmp_path: Path) -> None:
    layers = {**scenario(), "suggestions": many_suggestions(40)}
    path = tmp_path / "map.html"
    write_map(path, **layers)
    checks = {**PAGE_CHECKS, "suggestions": SUGGESTIONS_DRAWN}
    page = load_page(path.as_uri(), evaluate=checks, settle_s=0.3)
    assert page.errors == []
    drawn, stood = page.values["suggestions"]
    assert drawn < 10 and stood == 40  # a few numbered clusters stand for all 40
    image = cv2.imdecode(np.frombuffer(page.screenshot, np.uint8), cv2.IMREAD_COLOR)

    # The same map without the suggestions: every gap pixel was already visible with the clusters drawn.
    hide = (
        "(() => { const map = Object.values(window).find(v => v instanceof L.Map);"
        " map.eachLayer(l => { if (l.options.pane === 'camwatchClusters') map.removeLayer(l); }); })()"
    )
    bare = load_page(path.as_uri(), evaluate={**checks, "hide": hide}, settle_s=0.3)
    bare_image = cv2.imdecode(np.frombuffer(bare.screenshot, np.uint8), cv2.IMREAD_COLOR)
    gap = colour_pixels(image, PALETTE["gap"])
    assert gap > 150 and gap >= colour_pixels(bare_image, PALETTE["gap"]) - 10

    # Zoomed in, the clusters break up into the suggestions themselves.
    near = load_page(
        path.as_uri(), evaluate={"zoom": ZOOM_IN, "suggestions": SUGGESTIONS_DRAWN}, settle_s=0.3
    )
    assert near.errors == []
    assert near.values["suggestions"][1] == 40 and near.values["suggestions"][0] > drawn


class _TileHandler(BaseHTTPRequestHandler):
    """A local tile server: one plain tile for every /tiles/Z/X/Y.png."""

    tile = cv2.imencode(".png", np.full((256, 256, 3), (0x90, 0xC8, 0xE8), np.uint8))[1].tobytes()

    def do_GET(self) -> None:
        ok = re.fullmatch(r"/tiles/\d+/\d+/\d+\.png", self.path) is not None
        self.send_response(200 if ok else 404)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(self.tile) if ok else 0))
        self.end_headers()
        if ok:
            self.wfile.write(self.tile)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def tile_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TileHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_local_tile_server_is_the_only_host_asked(tmp_path: Path, tile_server: str) -> None:
    attribution = "<img src=x onerror=window.camwatchXss=1> 县局测绘"
    basemap = BasemapSettings(tiles=f"{tile_server}/tiles/{{z}}/{{x}}/{{y}}.png", attribution=attribution)
    path = tmp_path / "map.html"
    write_map(path, **scenario(), basemap=basemap)
    checks = {
        **PAGE_CHECKS,
        "attribution": "document.querySelector('.leaflet-control-attribution').textContent",
        "xss": "window.camwatchXss ?? 0",
    }
    page = load_page(path.as_uri(), evaluate=checks, settle_s=1.0)
    assert page.errors == []
    # Leaflet's own empty image is a data: URL, which loads nothing.
    tiles = [url for url in page.requests[1:] if not url.startswith("data:")]
    assert page.requests[0] == path.as_uri() and tiles
    assert all(re.fullmatch(rf"{tile_server}/tiles/\d+/\d+/\d+\.png", url) for url in tiles), tiles
    assert page.values["bases"] == ["Tiles", "Base map (from the layers)"]
    image = cv2.imdecode(np.frombuffer(page.screenshot, np.uint8), cv2.IMREAD_COLOR)
    assert colour_pixels(image, "#e8c890", tolerance=3) > 20_000  # the tile's own colour, outside the areas
    assert attribution in page.values["attribution"] and page.values["xss"] == 0


HOSTILE_NAME = "</script><img src=x onerror=window.camwatchXss=1>{{7*7}}"
# GeoJSON layers drawn on the map now (the detail layers' own, once read, among them).
GEOJSON_DRAWN = (
    "(() => { const map = Object.values(window).find(v => v instanceof L.Map); let n = 0;"
    " map.eachLayer(l => { n += l instanceof L.GeoJSON; }); return n; })()"
)
# Every detail file the page asked for read, then the frame drawn.
DETAILS_READ = (
    "new Promise(function wait(done) { const asked = document.querySelectorAll('script[src]').length;"
    " if (camwatchDetails.size < asked) { setTimeout(() => wait(done), 20); return; }"
    " requestAnimationFrame(() => requestAnimationFrame(() => done(camwatchDetails.size))); })"
)


def test_large_layers_wait_beside_the_page_until_the_planner_zooms_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every layer but the areas is "large" here, and detail starts beyond the first view's zoom.
    monkeypatch.setattr("camwatch.coverage.mappage.DETAIL_BYTES", 100)
    monkeypatch.setattr("camwatch.coverage.mappage.DETAIL_ZOOM", 19)
    layers = scenario()
    layers["cameras"] = layers["cameras"].assign(name=[HOSTILE_NAME, "Market", "School"])
    path = tmp_path / "map.html"
    (tmp_path / "map_files").mkdir()
    (tmp_path / "map_files" / "data_layer_stale_data.js").write_text("stale")
    (tmp_path / "map_files" / "notes.txt").write_text("the planner's own")
    write_map(path, **layers)

    detail = sorted((tmp_path / "map_files").glob("*.js"))
    # Roads (3), sectors (2), gaps (2), cameras (2), and the base's buildings and streets (3), a
    # file per tile: the scenario straddles a tile's edge (115.65 °E). The stale file of an earlier map is
    # gone, the planner's own file stays.
    assert len({f.name.rsplit("_", 2)[0] for f in detail}) == 12 and len(detail) > 12
    assert not (tmp_path / "map_files" / "data_layer_stale_data.js").exists()
    assert (tmp_path / "map_files" / "notes.txt").exists()
    # In the page: the areas (green, red), their outlines and the suggestions (clusters at every zoom).
    assert len(map_data(path.read_text())) == 4
    assert any("Market" in f.read_text() for f in detail)  # the cameras are in a detail file...
    assert not any("</script>" in f.read_text() or "<img" in f.read_text() for f in detail)  # ...as data

    checks = {**PAGE_CHECKS, "drawn": GEOJSON_DRAWN, "xss": "window.camwatchXss ?? 0"}
    far = load_page(path.as_uri(), evaluate=checks, settle_s=0.3)
    assert far.errors == []
    assert far.requests == [path.as_uri()]  # nothing beside the page is read at the first view
    assert far.values["overlays"] == OVERLAYS  # every layer can still be switched
    assert far.values["legend_rows"] == LEGEND_EN
    image = cv2.imdecode(np.frombuffer(far.screenshot, np.uint8), cv2.IMREAD_COLOR)
    assert colour_pixels(image, seen_through(STATUS_COLOURS["red"], "#dddddd"), tolerance=3) > 20_000
    for left, top, right, bottom in far.values["controls"]:  # the legend's swatch is not a road
        image[math.floor(top) : math.ceil(bottom), math.floor(left) : math.ceil(right)] = 0
    assert colour_pixels(image, PALETTE["covered"]) == 0

    near = load_page(path.as_uri(), evaluate={"zoom": ZOOM_IN, "read": DETAILS_READ, **checks}, settle_s=0.3)
    assert near.errors == []
    asked = near.requests[1:]
    assert asked and all(url.startswith((tmp_path / "map_files").as_uri() + "/") for url in asked)
    assert near.values["read"] == len(asked) and near.values["drawn"] > far.values["drawn"]
    assert near.values["xss"] == 0
    image = cv2.imdecode(np.frombuffer(near.screenshot, np.uint8), cv2.IMREAD_COLOR)
    assert colour_pixels(image, PALETTE["covered"]) > 500  # the covered road through the middle, at 19
