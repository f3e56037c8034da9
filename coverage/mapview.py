"""Write the coverage map (``map.html``): a self-contained folium page that works offline.

Names, areas and every other value from a ledger or OSM are data, never markup or template: branca compiles
the script each folium element renders as a Jinja template once more before the page is written, so a value
placed in such a script would be evaluated (``{{7*7}}`` shows 49; worse runs Python). Features therefore go
into JSON blocks that no template sees (:class:`_DataLayer`), and tooltips are built from text nodes.
"""

from __future__ import annotations

import base64
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import shapely
import xstatic.pkg.leaflet as leaflet_pkg
from branca.element import Element, Figure, MacroElement
from folium.map import Layer
from folium.template import Template
from numpy.typing import NDArray

__all__ = ["PALETTE", "STATUS_COLOURS", "write_map"]

# Colours are chosen to be told apart at a glance (and by a pixel count in the map's browser test).
PALETTE = {
    "covered": "#1a9850",
    "uncovered": "#d73027",
    "sector": "#2b83ba",
    "camera": "#08306b",
    "down": "#9e9e9e",
    "gap": "#e7298a",
    "suggestion": "#6a3d9a",
    "area_edge": "#ffffff",
}
STATUS_COLOURS = {"red": "#e41a1c", "orange": "#ff7f00", "yellow": "#ffd92f", "green": "#4daf4a"}

# ~0.5 m at the equator: invisible on a map, yet it drops most vertices of densified lines and arcs.
SIMPLIFY_DEGREES = 5e-6
# 6 decimals of a degree is ~0.1 m; more only bloats the page.
COORDINATE_DECIMALS = 6
ARROW_METRES = 30.0
ARROW_BARB_METRES = 10.0
# Markers keep their pixel size at every zoom: a layer with more of them starts hidden, or a county-wide view
# would be nothing but markers.
DENSE_MARKERS = 2000
# Zoom level from which lines and markers have their full width (16: about 2 m per pixel).
FULL_WIDTH_ZOOM = 16
# Targets of 100 % make a road important; such roads are drawn thicker than village roads.
MINOR_ROAD_CATEGORIES = frozenset({"village_road", "village_entrance"})


def write_map(
    path: Path,
    *,
    roads: gpd.GeoDataFrame,
    sectors: gpd.GeoDataFrame,
    cameras: gpd.GeoDataFrame,
    gaps: gpd.GeoDataFrame,
    suggestions: gpd.GeoDataFrame,
    areas: gpd.GeoDataFrame,
    tiles: str | None = None,
) -> None:
    """Write the coverage map to ``path``.

    Parameters
    ----------
    path
        The HTML file to write. Leaflet is inlined, so the page needs no network.
    roads
        ``geometry`` (lines), ``category`` (str), ``covered`` (bool).
    sectors
        Field-of-view polygons: ``camera`` (id), ``geometry``, ``up`` (bool).
    cameras
        ``camera`` (id), ``name``, ``up`` (bool, or None where no status is known), ``geometry`` (points).
    gaps
        ``kind`` (``road``/``intersection``/``site``), ``category``, ``area``, ``length_m``, ``geometry``.
    suggestions
        Proposed cameras: ``geometry`` (points), ``direction`` (degrees from north, clockwise), ``gain``,
        ``area``.
    areas
        ``area``, ``level``, ``status`` (``red``/``orange``/``yellow``/``green``), ``ratio``, ``geometry``.
    tiles
        A folium tile name (e.g. ``"OpenStreetMap"``) to draw a base map; None (default) draws none, which
        keeps the page fully offline.

    All frames are in EPSG:4326 (others are reprojected) and any may be empty.
    """
    layers = {
        name: _wgs84(frame)
        for name, frame in {
            "roads": roads,
            "sectors": sectors,
            "cameras": cameras,
            "gaps": gaps,
            "suggestions": suggestions,
            "areas": areas,
        }.items()
    }
    fmap = folium.Map(tiles=tiles, prefer_canvas=True, control_scale=True, location=(0, 0), zoom_start=2)
    _use_inline_leaflet(fmap)

    levels = _area_levels(layers["areas"])
    finest = max(levels, key=lambda item: len(item[1]))[0] if levels else None
    for level, frame in levels:
        # Levels overlap; the finest (most areas) is shown, the others are a click away.
        _add_areas(fmap, frame, level, show=level == finest)
    _add_roads(fmap, layers["roads"])
    _add_sectors(fmap, layers["sectors"])
    _add_gaps(fmap, layers["gaps"])
    _add_cameras(fmap, layers["cameras"])
    _add_suggestions(fmap, layers["suggestions"])

    folium.LayerControl(collapsed=False).add_to(fmap)
    fmap.add_child(_ZoomScaledLines())
    _figure(fmap).html.add_child(Element(_legend_html()))
    bounds = _bounds(layers.values())
    if bounds is not None:
        fmap.fit_bounds(bounds)
    path.write_text(fmap.get_root().render(), encoding="utf-8")


def _figure(element: Element) -> Figure:
    root = element.get_root()
    assert isinstance(root, Figure)  # a folium.Map is always created inside a Figure
    return root


def _wgs84(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The frame in EPSG:4326 without missing or empty geometries."""
    if frame.crs is not None and frame.crs.to_epsg() != 4326:
        frame = frame.to_crs(4326)
    return frame[~(frame.geometry.isna() | frame.geometry.is_empty)]


def _lean(geoms: NDArray[np.object_]) -> NDArray[np.object_]:
    """Geometries in degrees, simplified (:data:`SIMPLIFY_DEGREES`), rounded (:data:`COORDINATE_DECIMALS`)."""
    geoms = geoms.copy()
    # Lines need no topology check (which is slow on merged multi-lines); polygons keep valid rings.
    lines = shapely.get_type_id(geoms) == shapely.GeometryType.MULTILINESTRING
    lines |= shapely.get_type_id(geoms) == shapely.GeometryType.LINESTRING
    geoms[lines] = shapely.simplify(geoms[lines], SIMPLIFY_DEGREES, preserve_topology=False)
    geoms[~lines] = shapely.simplify(geoms[~lines], SIMPLIFY_DEGREES, preserve_topology=True)
    rounded: NDArray[np.object_] = shapely.transform(geoms, lambda xy: np.round(xy, COORDINATE_DECIMALS))
    return rounded


def _features(frame: gpd.GeoDataFrame, columns: list[str]) -> dict[str, Any]:
    """GeoJSON of ``frame``, lean (see :func:`_lean`), carrying only ``columns`` as properties.

    Geometries are written by GEOS and parsed back in one go: geopandas' per-feature ``to_geo_dict`` takes
    seconds for a county."""
    geometries = json.loads("[" + ",".join(shapely.to_geojson(_lean(frame.geometry.to_numpy()))) + "]")
    properties = frame[columns].astype(object).where(frame[columns].notna(), None).to_dict("records")
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": props, "geometry": geometry}
            for props, geometry in zip(properties, geometries, strict=True)
        ],
    }


def _constant(style: dict[str, Any]) -> Any:
    return lambda _feature: style


def _add_layer(
    parent: folium.Map | folium.FeatureGroup,
    frame: gpd.GeoDataFrame,
    *,
    name: str,
    style: dict[str, Any],
    tooltip: dict[str, str],
    show: bool = True,
) -> None:
    """One overlay of ``parent``: ``frame`` drawn in ``style``, with ``tooltip`` (column -> label)."""
    if frame.empty:
        return
    _DataLayer(_features(frame, list(tooltip)), name=name, show=show, style=style, tooltip=tooltip).add_to(
        parent
    )


def _area_levels(areas: gpd.GeoDataFrame) -> list[tuple[str, gpd.GeoDataFrame]]:
    """Areas split by level, in order of first appearance."""
    if areas.empty:
        return []
    return [(str(level), areas[areas["level"] == level]) for level in areas["level"].unique()]


def _add_areas(fmap: folium.Map, areas: gpd.GeoDataFrame, level: str, *, show: bool) -> None:
    """Choropleth of one admin level, coloured by status (one constant-style layer per status)."""
    group = folium.FeatureGroup(name=f"Areas: {level}", show=show)
    for status, colour in STATUS_COLOURS.items():
        _add_layer(
            group,
            areas[areas["status"] == status],
            name=status,
            style={"color": PALETTE["area_edge"], "weight": 1.5, "fillColor": colour, "fillOpacity": 0.25},
            tooltip={"area": "Area", "level": "Level", "status": "Status", "ratio": "Coverage ratio"},
        )
    group.add_to(fmap)


def _add_roads(fmap: folium.Map, roads: gpd.GeoDataFrame) -> None:
    """Roads dissolved to one multi-line per category and state: few features, same picture."""
    if roads.empty:
        return
    merged = _lines_by(roads, ["covered", "category"])
    for covered, label in ((True, "Covered roads"), (False, "Uncovered roads")):
        group = folium.FeatureGroup(name=label)
        colour = PALETTE["covered" if covered else "uncovered"]
        for minor in (True, False):
            _add_layer(
                group,
                merged[
                    (merged["covered"] == covered) & (merged["category"].isin(MINOR_ROAD_CATEGORIES) == minor)
                ],
                name=label,
                style={"color": colour, "weight": 3 if minor else 5, "opacity": 1.0},
                tooltip={"category": "Category", "covered": "Covered"},
            )
        group.add_to(fmap)


def _lines_by(lines: gpd.GeoDataFrame, keys: list[str], *, sums: tuple[str, ...] = ()) -> gpd.GeoDataFrame:
    """One merged, simplified (Multi)LineString per combination of ``keys``, with the ``sums`` columns added
    up. Pieces that continue each other are joined, so a road cut into short pieces becomes one line whose
    straight runs simplify to their ends: a much smaller page than one feature per piece."""
    rows = []
    for key, group in lines.groupby(keys, sort=True, dropna=False):
        parts = shapely.get_parts(group.geometry.to_numpy())
        merged = shapely.line_merge(shapely.multilinestrings(parts))
        rows.append((*key, *(group[column].sum() for column in sums), merged))
    return gpd.GeoDataFrame(rows, columns=[*keys, *sums, "geometry"], crs=4326)


def _add_sectors(fmap: folium.Map, sectors: gpd.GeoDataFrame) -> None:
    for up, label, colour in ((True, "Fields of view", "sector"), (False, "Fields of view (down)", "down")):
        _add_layer(
            fmap,
            sectors[sectors["up"].astype(bool) == up],
            name=label,
            style={"color": PALETTE[colour], "weight": 2, "fillColor": PALETTE[colour], "fillOpacity": 0.2},
            tooltip={"camera": "Camera"},
        )


def _add_cameras(fmap: folium.Map, cameras: gpd.GeoDataFrame) -> None:
    if cameras.empty:
        return
    down = cameras["up"].eq(False)
    shown = cameras.assign(status=np.where(down, "down", np.where(cameras["up"].isna(), "unknown", "up")))
    for selected, label, colour in ((~down, "Cameras", "camera"), (down, "Cameras (down)", "down")):
        _add_layer(
            fmap,
            shown[selected],
            name=label,
            show=int(selected.sum()) <= DENSE_MARKERS,
            style={
                "color": "#ffffff",
                "weight": 1,
                "fillColor": PALETTE[colour],
                "fillOpacity": 1,
                "radius": 4,
            },
            tooltip={"camera": "Camera", "name": "Name", "status": "Status"},
        )


def _add_gaps(fmap: folium.Map, gaps: gpd.GeoDataFrame) -> None:
    """Road gaps as one feature per category and area (its tooltip gives their total length); unseen
    intersections and sites as markers, in a layer of their own that starts hidden when dense."""
    on_roads = gaps.geom_type.isin(["LineString", "MultiLineString"]).to_numpy()
    style = {"color": PALETTE["gap"], "weight": 5, "opacity": 1.0, "fillColor": PALETTE["gap"]}
    tooltip = {"kind": "Gap", "category": "Category", "area": "Area", "length_m": "Length (m)"}
    road_gaps = _lines_by(gaps[on_roads], ["kind", "category", "area"], sums=("length_m",))
    _add_layer(fmap, road_gaps, name="Gaps (roads)", style=style, tooltip=tooltip)
    _add_layer(
        fmap,
        gaps[~on_roads],
        name="Gaps (intersections, sites)",
        style={**style, "fillOpacity": 0.6, "radius": 7},
        tooltip={key: label for key, label in tooltip.items() if key != "length_m"},
        show=int((~on_roads).sum()) <= DENSE_MARKERS,
    )


def _add_suggestions(fmap: folium.Map, suggestions: gpd.GeoDataFrame) -> None:
    if suggestions.empty:
        return
    group = folium.FeatureGroup(name="Suggested cameras")
    tooltip = {"direction": "Heading (°)", "gain": "Gain", "area": "Area"}
    style = {"color": PALETTE["suggestion"], "weight": 3, "opacity": 1.0, "fillColor": PALETTE["suggestion"]}
    _add_layer(group, _heading_arrows(suggestions), name="headings", style=style, tooltip=tooltip)
    _add_layer(
        group, suggestions, name="positions", style={**style, "fillOpacity": 1, "radius": 6}, tooltip=tooltip
    )
    group.add_to(fmap)


def _heading_arrows(points: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """An arrow (shaft and two barbs) from each point along its ``direction``, built in a local metric CRS."""
    local = points.to_crs(points.estimate_utm_crs())
    xy = shapely.get_coordinates(local.geometry.values)
    heading = np.radians(points["direction"].to_numpy(dtype=float))
    tip = xy + ARROW_METRES * np.column_stack([np.sin(heading), np.cos(heading)])
    barbs = [
        tip + ARROW_BARB_METRES * np.column_stack([np.sin(heading + turn), np.cos(heading + turn)])
        for turn in (np.radians(150), np.radians(-150))
    ]
    shaft = shapely.linestrings(np.stack([xy, tip, barbs[0]], axis=1))
    barb = shapely.linestrings(np.stack([tip, barbs[1]], axis=1))
    arrows = shapely.multilinestrings(
        np.column_stack([shaft, barb]).ravel(), indices=np.repeat(np.arange(len(points)), 2)
    )
    return _wgs84(points.set_geometry(gpd.GeoSeries(arrows, index=points.index, crs=local.crs)))


def _bounds(frames: Any) -> list[list[float]] | None:
    """``[[south, west], [north, east]]`` of every non-empty frame, or None when all are empty."""
    boxes = [frame.total_bounds for frame in frames if not frame.empty]
    if not boxes:
        return None
    stacked = np.array(boxes)
    west, south = stacked[:, :2].min(axis=0)
    east, north = stacked[:, 2:].max(axis=0)
    return [[float(south), float(west)], [float(north), float(east)]]


def _legend_html() -> str:
    def swatch(colour: str, label: str, *, line: bool = False) -> str:
        shape = "height:4px;margin:6px 0" if line else "height:12px;border-radius:2px"
        return (
            f'<div class="camwatch-legend-row"><span style="display:inline-block;width:18px;{shape};'
            f'background:{colour}"></span> {label}</div>'
        )

    rows = [
        swatch(PALETTE["covered"], "Road covered", line=True),
        swatch(PALETTE["uncovered"], "Road not covered", line=True),
        swatch(PALETTE["sector"], "Field of view"),
        swatch(PALETTE["camera"], "Camera"),
        swatch(PALETTE["down"], "Camera down"),
        swatch(PALETTE["gap"], "Gap"),
        swatch(PALETTE["suggestion"], "Suggested camera"),
        *(swatch(colour, f"Area {status}") for status, colour in STATUS_COLOURS.items()),
    ]
    return (
        '<div class="camwatch-legend" style="position:fixed;bottom:28px;right:12px;z-index:1000;'
        "background:#fff;padding:8px 10px;border:1px solid #999;border-radius:4px;"
        'font:12px/18px sans-serif;box-shadow:0 1px 4px rgba(0,0,0,.3)">'
        "<b>Coverage</b>" + "".join(rows) + "</div>"
    )


def _use_inline_leaflet(fmap: folium.Map) -> None:
    """Replace folium's CDN links (Leaflet, jQuery, Bootstrap...) with Leaflet itself, inlined."""
    # Instance attributes: folium's add_js_link would otherwise edit the class-wide lists.
    fmap.default_js = []
    fmap.default_css = []
    script, style = _leaflet_assets()
    header = _figure(fmap).header
    header.add_child(_Verbatim(f"<style>{style}</style>"), name="leaflet_inline_css")
    header.add_child(_Verbatim(f"<script>{script}</script>"), name="leaflet_inline_js")
    header.add_child(_Verbatim(f"<style>{_TOOLTIP_CSS}</style>"), name="camwatch_tooltip_css")
    header.add_child(_Verbatim(f"<script>{_DATA_LAYER_JS}</script>"), name="camwatch_data_layer_js")


# Tooltips are tables built from text nodes (textContent): a name such as ``<img onerror=...>`` is shown as
# typed, never parsed as HTML (folium's GeoJsonTooltip writes values into innerHTML).
_DATA_LAYER_JS = """
function camwatchLayer(id, style, fields) {
    const collection = JSON.parse(document.getElementById(id).textContent);
    return L.geoJSON(collection, {
        style: function () { return style; },
        pointToLayer: function (feature, latlng) {
            return L.circleMarker(latlng, {radius: style.radius || 5, fill: true});
        },
    }).bindTooltip(function (layer) {
        const table = document.createElement("table");
        for (const [key, label] of fields) {
            const row = table.insertRow();
            const head = document.createElement("th");
            head.textContent = label;
            row.appendChild(head);
            const value = layer.feature.properties[key];
            row.insertCell().textContent = value === null || value === undefined ? "" : String(value);
        }
        return table;
    }, {sticky: true, className: "camwatch-tooltip"});
}
"""
_TOOLTIP_CSS = (
    ".camwatch-tooltip th{padding:2px 8px 2px 2px;text-align:left}.camwatch-tooltip td{text-align:left}"
)


def _json_for_script(value: Any) -> str:
    """``value`` as JSON that can sit inside ``<script type="application/json">``: ``<``, ``>`` and ``&`` are
    escaped, so no value can close the element (``</script>``) or open a comment."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


class _DataLayer(Layer):
    """A GeoJSON overlay whose features are a JSON block of the page, outside every template; its script
    (which branca compiles as a template again) names the block and holds only camwatch's own constants."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = camwatchLayer(
            {{ this.data_id|tojson }}, {{ this.style|tojson }}, {{ this.fields|tojson }}
        );
        {% endmacro %}
        """
    )

    def __init__(
        self,
        collection: dict[str, Any],
        *,
        name: str,
        show: bool,
        style: dict[str, Any],
        tooltip: dict[str, str],
    ) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "DataLayer"
        self.collection = collection
        self.style = style
        self.fields = list(tooltip.items())
        self.data_id = f"{self.get_name()}_data"

    def render(self, **kwargs: Any) -> Any:
        data = _json_for_script(self.collection)
        block = f'<script type="application/json" id="{self.data_id}">{data}</script>'
        _figure(self).html.add_child(_Verbatim(block), name=self.data_id)
        return super().render(**kwargs)


class _ZoomScaledLines(MacroElement):
    """Thin lines and small markers when zoomed out, full width from :data:`FULL_WIDTH_ZOOM` on: a county's
    roads drawn at street width would hide one another and the areas under them."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            const map = {{ this._parent.get_name() }};
            function rescale() {
                const k = Math.max(0.2, Math.min(1, Math.pow(2, (map.getZoom() - {{ this.full_zoom }}) / 2)));
                map.eachLayer(function (layer) {
                    if (!(layer instanceof L.GeoJSON) || typeof layer.options.style !== "function") return;
                    layer.eachLayer(function (feature) {
                        const base = layer.options.style(feature.feature);
                        const scaled = {weight: (base.weight || 3) * k};
                        if (feature instanceof L.CircleMarker) {
                            scaled.radius = Math.max(2, (base.radius || 5) * k);
                        }
                        feature.setStyle(scaled);
                    });
                });
            }
            map.on("zoomend overlayadd", rescale);
            map.whenReady(rescale);
        })();
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self.full_zoom = FULL_WIDTH_ZOOM


class _Verbatim(Element):
    """HTML put into the page as it is; an ``Element`` would compile it as a Jinja template (slow for
    Leaflet's source, and wrong should it ever contain ``{{``)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def render(self, **kwargs: Any) -> str:
        return self.text


@cache
def _leaflet_assets() -> tuple[str, str]:
    """Leaflet's JS and CSS from the xstatic-leaflet package, the CSS images as data URIs."""
    base = Path(leaflet_pkg.BASE_DIR)
    script = (base / "leaflet.js").read_text(encoding="utf-8")
    script = re.sub(r"//# sourceMappingURL=\S+\s*$", "", script)

    def inline_image(match: re.Match[str]) -> str:
        data = base64.b64encode((base / match.group(1)).read_bytes()).decode("ascii")
        return f"url(data:image/png;base64,{data})"

    style = re.sub(r"url\((images/[\w.-]+\.png)\)", inline_image, (base / "leaflet.css").read_text("utf-8"))
    return script, style
