"""Write the coverage map (``map.html``): a folium page that works offline, with its detail tiles beside it
(``map_files/``) when the area is large (see :mod:`camwatch.coverage.mappage`).

Its base is drawn from the layers themselves (buildings, roads, area outlines) unless the config names a
tile server on the local network (``coverage.basemap``); nothing else is ever fetched. The first view shows
the areas by status; a county's roads, fields of view, gaps and cameras are drawn as the planner zooms in.

Names, areas and every other value from a ledger or OSM are data, never markup or template: branca compiles
the script each folium element renders as a Jinja template once more before the page is written, so a value
placed in such a script would be evaluated (``{{7*7}}`` shows 49; worse runs Python). Features therefore go
into JSON blocks (or detail files) that no template sees (:class:`~camwatch.coverage.mappage.DataLayer`), and
tooltips are built from text nodes.
"""

from __future__ import annotations

import html
import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import NDArray

from camwatch.config.models import BasemapSettings
from camwatch.coverage.mappage import (
    DataLayer,
    Drawn,
    Group,
    Overlay,
    Panes,
    Swatch,
    Verbatim,
    ZoomScaledLines,
    figure_of,
    place,
    render_page,
    use_inline_leaflet,
)
from camwatch.coverage.maptiles import COORDINATE_DECIMALS, Tiles, tile_features, whole
from camwatch.reports.office import tr

log = logging.getLogger(__name__)

__all__ = [
    "PALETTE",
    "STATUS_COLOURS",
    "Drawn",
    "finish_map",
    "prepare_base",
    "prepare_gaps",
    "prepare_roads",
    "prepare_views",
    "write_map",
]

# Colours are chosen to be told apart at a glance (and by a pixel count in the map's browser test).
PALETTE = {
    "covered": "#1a9850",
    "uncovered": "#d73027",
    "sector": "#2b83ba",
    "camera": "#08306b",
    "down": "#9e9e9e",
    "unverified": "#fdae61",
    "gap": "#e7298a",
    "suggestion": "#6a3d9a",
    "area_edge": "#ffffff",
}
STATUS_COLOURS = {"red": "#e41a1c", "orange": "#ff7f00", "yellow": "#ffd92f", "green": "#4daf4a"}
# The base drawn from the layers: a plain street map under the coverage colours.
BASE_COLOURS = {"street": "#fbfbf8", "building": "#c9c0b6", "area_outline": "#6e6e6e"}

# ~0.5 m at the equator: invisible on a map, yet it drops most vertices of densified lines and arcs.
SIMPLIFY_DEGREES = 5e-6
ARROW_METRES = 30.0
ARROW_BARB_METRES = 10.0
# Markers keep their pixel size at every zoom: a layer with more of them starts hidden, or a county-wide view
# would be nothing but markers.
DENSE_MARKERS = 2000
# Zoom level from which lines and markers have their full width (16: about 2 m per pixel).
FULL_WIDTH_ZOOM = 16
# Targets of 100 % make a road important; such roads are drawn thicker than village roads.
MINOR_ROAD_CATEGORIES = frozenset({"village_road", "village_entrance"})
# Buildings in the drawn base, at most: a county has hundreds of thousands, which would make a page of tens
# of megabytes; beyond this the base shows streets and area outlines only.
BASE_BUILDINGS_MAX = 100_000
# Suggested cameras closer than this many pixels on screen are drawn as one numbered cluster.
CLUSTER_CELL_PIXELS = 60
# Leaflet's panes: the drawn base sits above tiles (200) and below overlays (400); clusters sit just below
# the overlays, so gaps and roads are always drawn over them.
PANES = {"camwatchBase": 250, "camwatchClusters": 390}
# The drawn base's layers: in its pane, never under the mouse.
QUIET = {"pane": "camwatchBase", "interactive": False}


def write_map(
    path: Path,
    *,
    roads: gpd.GeoDataFrame,
    sectors: gpd.GeoDataFrame,
    cameras: gpd.GeoDataFrame,
    gaps: gpd.GeoDataFrame,
    suggestions: gpd.GeoDataFrame,
    areas: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame | None = None,
    streets: gpd.GeoDataFrame | None = None,
    basemap: BasemapSettings | None = None,
    lang: str = "en",
) -> None:
    """Write the coverage map to ``path``.

    Parameters
    ----------
    path
        The HTML file to write. Leaflet is inlined, so the page needs no network; layers too large for a
        page that opens at once go to ``<stem>_files/`` beside it and are read as the planner zooms in (see
        :mod:`camwatch.coverage.mappage`): the folder travels with the page.
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
        ``area``, ``level``, ``status`` (``red``/``orange``/``yellow``/``green``), ``ratio``, ``geometry``;
        ``needed`` (suggested cameras the area needs) shown on hover where given.
    buildings
        Polygons, drawn in the base (none when None).
    streets
        Every road line (``geometry``), drawn in the base; ``roads`` when None.
    basemap
        A local tile server, offered as the base (the drawn base stays a click away); None draws the base from
        the layers only, so the page asks no server for anything.
    lang
        ``zh`` or ``en``: the language of the legend, the layer control and the tooltips' labels.

    All frames are in EPSG:4326 (others are reprojected) and any may be empty.
    """
    base = prepare_base(
        buildings=buildings if buildings is not None else roads.iloc[0:0],
        streets=streets if streets is not None else roads,
        lang=lang,
    )
    fields_of_view, points = prepare_views(sectors=sectors, cameras=cameras, lang=lang)
    finish_map(
        path,
        base=base,
        roads=prepare_roads(roads, lang),
        sectors=fields_of_view,
        cameras=points,
        gaps=prepare_gaps(gaps, lang),
        suggestions=suggestions,
        areas=areas,
        basemap=basemap,
        lang=lang,
    )


def prepare_base(*, buildings: gpd.GeoDataFrame, streets: gpd.GeoDataFrame, lang: str = "en") -> Drawn:
    """The base drawn from the layers (buildings, streets; :func:`finish_map` adds the area outlines): plain
    data, so that a forked child can make it as soon as the layers are read."""
    return _base(_wgs84(buildings), _wgs84(streets), lang)


def prepare_roads(roads: gpd.GeoDataFrame, lang: str = "en") -> Drawn:
    """The roads by coverage (plain data: a forked child makes them while the gaps and suggestions are
    found)."""
    roads = _wgs84(roads)
    return _fitted(_roads(roads, lang), roads)


def prepare_views(
    *, sectors: gpd.GeoDataFrame, cameras: gpd.GeoDataFrame, lang: str = "en"
) -> tuple[Drawn, Drawn]:
    """The fields of view and the cameras (plain data: a forked child makes them while the model is
    built)."""
    sectors, cameras = _wgs84(sectors), _wgs84(cameras)
    return _fitted(_sectors(sectors, lang), sectors), _fitted(_cameras(cameras, lang), cameras)


def prepare_gaps(gaps: gpd.GeoDataFrame, lang: str = "en") -> Drawn:
    """The gaps' layers of :func:`write_map`: plain data, so that a forked child can make them while the
    cameras are suggested."""
    gaps = _wgs84(gaps)
    return _fitted(_gaps(gaps, lang), gaps)


def _fitted(drawn: Drawn, frame: gpd.GeoDataFrame) -> Drawn:
    """``drawn`` with the bounds of ``frame`` (none when it is empty) for the first view to fit."""
    return replace(drawn, boxes=[tuple(frame.total_bounds)] if not frame.empty else [])


def finish_map(
    path: Path,
    *,
    base: Drawn,
    roads: Drawn,
    sectors: Drawn,
    cameras: Drawn,
    gaps: Drawn,
    suggestions: gpd.GeoDataFrame,
    areas: gpd.GeoDataFrame,
    basemap: BasemapSettings | None = None,
    lang: str = "en",
) -> None:
    """Write the map of the prepared layers (``base``: :func:`prepare_base`, ``roads``: :func:`prepare_roads`,
    ``sectors`` and ``cameras``: :func:`prepare_views`, ``gaps``: :func:`prepare_gaps`) with the suggestions
    and areas to ``path`` (see :func:`write_map`); every layer bottom to top: the base, the areas by level,
    roads, fields of view, gaps, cameras, suggestions."""
    layers = {"suggestions": _wgs84(suggestions), "areas": _wgs84(areas)}
    fmap = _page(basemap, lang)
    (group,) = base.groups
    outlines = _overlay(
        layers["areas"][["geometry"]],
        name="area outlines",
        style={"color": BASE_COLOURS["area_outline"], "weight": 1, "dashArray": "4 4", "fill": False},
        tooltip={},
        options=QUIET,
        detail=False,
    )
    place(fmap, [replace(group, overlays=group.overlays + outlines, show=basemap is None)])
    levels = _area_levels(layers["areas"])
    finest = max(levels, key=lambda item: len(item[1]))[0] if levels else None
    # Levels overlap; the finest (most areas) is shown, the others are a click away.
    place(fmap, [_areas(frame, level, lang, show=level == finest) for level, frame in levels])
    suggested = _suggestions(layers["suggestions"], lang)
    legend = list(base.legend)
    for drawn in (roads, sectors, gaps, cameras, suggested):
        place(fmap, drawn.groups)
        legend += drawn.legend
    legend += [
        Swatch(colour, f"{tr(lang, 'Area')} {tr(lang, status)}")
        for status, colour in STATUS_COLOURS.items()
        if (layers["areas"]["status"] == status).any()
    ]
    boxes = [box for drawn in (roads, sectors, gaps, cameras) for box in drawn.boxes]
    boxes += [tuple(frame.total_bounds) for frame in layers.values() if not frame.empty]
    _finish(fmap, boxes, legend, lang)
    render_page(fmap, path)


def _page(basemap: BasemapSettings | None, lang: str) -> folium.Map:
    """The empty page: Leaflet inlined, the panes, and the local tile server when one is configured."""
    fmap = folium.Map(tiles=None, prefer_canvas=True, control_scale=True, location=(0, 0), zoom_start=2)
    use_inline_leaflet(fmap, _TOOLTIP_CSS)
    fmap.add_child(Panes(PANES))
    if basemap is not None:
        DataLayer(
            {"url": basemap.tiles, "attribution": basemap.attribution, "maxZoom": basemap.max_zoom},
            factory="camwatchTiles",
            name=tr(lang, "Tiles"),
            show=True,
            overlay=False,
        ).add_to(fmap)
    return fmap


def _finish(
    fmap: folium.Map, boxes: list[tuple[float, float, float, float]], legend: list[Swatch], lang: str
) -> None:
    """The layer control, the zoom-scaled line widths, the legend and the first view's bounds (``boxes``: of
    what was measured; the base's streets and buildings may reach further)."""
    folium.LayerControl(collapsed=False).add_to(fmap)
    fmap.add_child(ZoomScaledLines(FULL_WIDTH_ZOOM))
    figure_of(fmap).html.add_child(Verbatim(_legend_html(legend, lang)), name="camwatch_legend")
    bounds = _bounds(boxes)
    if bounds is not None:
        fmap.fit_bounds(bounds)


def _wgs84(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The frame in EPSG:4326 without missing or empty geometries."""
    if frame.crs is not None and frame.crs.to_epsg() != 4326:
        frame = frame.to_crs(4326)
    return frame[~(frame.geometry.isna() | frame.geometry.is_empty)]


def _lean(geoms: NDArray[np.object_]) -> NDArray[np.object_]:
    """Geometries in degrees, simplified (:data:`SIMPLIFY_DEGREES`), rounded (:data:`COORDINATE_DECIMALS`)."""
    geoms = geoms.copy()
    # Lines need no topology check (which is slow on merged multi-lines); polygons keep valid rings. A line of
    # two points or a box (a county's 100,000 building footprints) has nothing to drop.
    kinds = shapely.get_type_id(geoms)
    lines = (kinds == shapely.GeometryType.MULTILINESTRING) | (kinds == shapely.GeometryType.LINESTRING)
    # Only a line with a part of three points or more has a vertex to drop (a county's roads are hundreds of
    # thousands of two-point stretches: simplifying them changes nothing and takes a second).
    lines &= shapely.get_num_coordinates(geoms) > 2 * shapely.get_num_geometries(geoms)
    polygons = (kinds != shapely.GeometryType.POINT) & ~lines & (shapely.get_num_coordinates(geoms) > 5)
    geoms[lines] = shapely.simplify(geoms[lines], SIMPLIFY_DEGREES, preserve_topology=False)
    geoms[polygons] = shapely.simplify(geoms[polygons], SIMPLIFY_DEGREES, preserve_topology=True)
    rounded: NDArray[np.object_] = shapely.transform(geoms, lambda xy: np.round(xy, COORDINATE_DECIMALS))
    return rounded


def _features(frame: gpd.GeoDataFrame, columns: list[str], *, tiled: bool) -> Tiles:
    """GeoJSON features of ``frame`` (by tile when ``tiled``, see :mod:`camwatch.coverage.maptiles`), lean
    (see :func:`_lean`), carrying only ``columns`` as properties.

    Geometries are written by GEOS and joined as text: geopandas' per-feature ``to_geo_dict`` (or parsing
    GEOS' text back to dump it again) takes seconds for a county."""
    split = tile_features if tiled else whole
    if not columns:  # the base's buildings and streets: a county's 100,000 empty objects
        return split(_lean(frame.geometry.to_numpy()), ["{}"] * len(frame))
    records = frame[columns].astype(object).where(frame[columns].notna(), None).to_dict("records")
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    return split(_lean(frame.geometry.to_numpy()), [dumps(props) for props in records])


def _overlay(
    frame: gpd.GeoDataFrame,
    *,
    name: str,
    style: dict[str, Any],
    tooltip: dict[str, str],
    show: bool = True,
    factory: str = "camwatchLayer",
    options: dict[str, Any] | None = None,
    detail: bool = True,
) -> tuple[Overlay, ...]:
    """One overlay: ``frame`` drawn in ``style``, with ``tooltip`` (column -> label; none when empty), made by
    the page's JS function ``factory`` with extra Leaflet ``options``; a ``detail`` layer waits for the
    planner to zoom in when it is large (:class:`~camwatch.coverage.mappage.DataLayer`). Nothing when
    ``frame`` is empty."""
    if frame.empty:
        return ()
    features = _features(frame, list(tooltip), tiled=detail)
    args = (style, list(tooltip.items()), options or {})
    return (Overlay(features, factory=factory, name=name, show=show, args=args, detail=detail),)


def _area_levels(areas: gpd.GeoDataFrame) -> list[tuple[str, gpd.GeoDataFrame]]:
    """Areas split by level, in order of first appearance."""
    if areas.empty:
        return []
    return [(str(level), areas[areas["level"] == level]) for level in areas["level"].unique()]


def _labels(lang: str, tooltip: dict[str, str]) -> dict[str, str]:
    """Tooltip labels (column -> English label) in ``lang``."""
    return {column: tr(lang, label) for column, label in tooltip.items()}


def _base(buildings: gpd.GeoDataFrame, streets: gpd.GeoDataFrame, lang: str) -> Drawn:
    """The base drawn from the layers (buildings, streets; :func:`finish_map` adds the area outlines) in a
    pane under every overlay: a street map that needs no tile server."""
    if len(buildings) > BASE_BUILDINGS_MAX:
        log.warning(
            "map: %d buildings are too many for the page; its base shows streets and area outlines only",
            len(buildings),
        )
        buildings = buildings.iloc[0:0]
    overlays = _overlay(
        buildings[["geometry"]],
        name="buildings",
        style={"stroke": False, "fillColor": BASE_COLOURS["building"], "fillOpacity": 1},
        tooltip={},
        options=QUIET,
    )
    drawn = bool(overlays)
    if not streets.empty:
        narrow = streets["category"].isin(MINOR_ROAD_CATEGORIES) if "category" in streets else False
        widths = _lines_by(streets[["geometry"]].assign(narrow=narrow), ["narrow"])
        for minor, width in ((True, 7), (False, 10)):
            overlays += _overlay(
                widths[widths["narrow"] == minor],
                name="streets",
                style={"color": BASE_COLOURS["street"], "weight": width, "opacity": 1},
                tooltip={},
                options=QUIET,
            )
    group = Group(tr(lang, "Base map (from the layers)"), overlays, overlay=False)
    return Drawn([group], [Swatch(BASE_COLOURS["building"], tr(lang, "Building"))] if drawn else [])


def _areas(areas: gpd.GeoDataFrame, level: str, lang: str, *, show: bool) -> Group:
    """Choropleth of one admin level, coloured by status (one constant-style layer per status), with each
    area's score and the suggested cameras it needs (``needed``, where given) on hover. Always in the page:
    it is the first view."""
    tooltip = {"area": "Area", "level": "Level", "status": "Status", "ratio": "Coverage ratio"}
    if "needed" in areas:
        tooltip["needed"] = "Cameras needed"
    overlays: tuple[Overlay, ...] = ()
    for status, colour in STATUS_COLOURS.items():
        overlays += _overlay(
            areas[areas["status"] == status],
            name=status,
            style={"color": PALETTE["area_edge"], "weight": 1.5, "fillColor": colour, "fillOpacity": 0.25},
            tooltip=_labels(lang, tooltip),
            detail=False,
        )
    return Group(f"{tr(lang, 'Areas')}: {tr(lang, level)}", overlays, show=show)


def _roads(roads: gpd.GeoDataFrame, lang: str) -> Drawn:
    """Roads dissolved to one multi-line per category and state: few features, same picture."""
    if roads.empty:
        return Drawn([], [])
    merged = _lines_by(roads, ["covered", "category"])
    drawn = Drawn([], [])
    for covered, label, meaning in (
        (True, "Covered roads", "Road covered"),
        (False, "Uncovered roads", "Road not covered"),
    ):
        colour = PALETTE["covered" if covered else "uncovered"]
        if not (merged["covered"] == covered).any():
            continue
        overlays: tuple[Overlay, ...] = ()
        for minor in (True, False):
            overlays += _overlay(
                merged[
                    (merged["covered"] == covered) & (merged["category"].isin(MINOR_ROAD_CATEGORIES) == minor)
                ],
                name=label,
                style={"color": colour, "weight": 3 if minor else 5, "opacity": 1.0},
                tooltip=_labels(lang, {"category": "Category", "covered": "Covered"}),
            )
        drawn.groups.append(Group(tr(lang, label), overlays))
        drawn.legend.append(Swatch(colour, tr(lang, meaning), line=True))
    return drawn


def _lines_by(lines: gpd.GeoDataFrame, keys: list[str], *, sums: tuple[str, ...] = ()) -> gpd.GeoDataFrame:
    """One merged, simplified (Multi)LineString per combination of ``keys``, with the ``sums`` columns added
    up. Pieces that continue each other are joined, so a road cut into short pieces becomes one line whose
    straight runs simplify to their ends: a much smaller page than one feature per piece."""
    if lines.empty:
        return gpd.GeoDataFrame(columns=[*keys, *sums, "geometry"], geometry="geometry", crs=4326)
    grouped = lines.groupby(keys, sort=True, dropna=False)
    # Rows by group (in the groups' order, rows in theirs), then every group's parts in one array call.
    order = np.argsort(grouped.ngroup().to_numpy(), kind="stable")
    counts = grouped.size().to_numpy()
    parts, row = shapely.get_parts(lines.geometry.to_numpy()[order], return_index=True)
    group = np.repeat(np.arange(len(counts)), counts)[row]
    merged = shapely.multilinestrings(parts, indices=group, out=np.empty(len(counts), dtype=object))
    table = grouped.size().index.to_frame(index=False)
    starts = np.cumsum(counts) - counts
    for column in sums:
        values = lines[column].to_numpy(float)[order]
        table[column] = [values[a : a + n].sum() for a, n in zip(starts, counts, strict=True)]
    return gpd.GeoDataFrame(table[[*keys, *sums]], geometry=merged, crs=4326)


def _sectors(sectors: gpd.GeoDataFrame, lang: str) -> Drawn:
    drawn = Drawn([], [])
    counted = sectors["up"].astype(bool)
    # A camera turned or sprayed (moved, tampered) looks elsewhere: its sector is unverified, not counted.
    unverified = sectors["unverified"].astype(bool) if "unverified" in sectors else counted & False
    for selected, label, colour, meaning in (
        (counted, "Fields of view", "sector", "Field of view"),
        (~counted & ~unverified, "Fields of view (down)", "down", "Field of view (down)"),
        (unverified, "Fields of view (unverified)", "unverified", "Field of view (unverified)"),
    ):
        overlays = _overlay(
            sectors[selected],
            name=tr(lang, label),
            style={"color": PALETTE[colour], "weight": 2, "fillColor": PALETTE[colour], "fillOpacity": 0.2},
            tooltip=_labels(lang, {"camera": "Camera"}),
        )
        if overlays:
            drawn.groups.append(Group(None, overlays))
            drawn.legend.append(Swatch(PALETTE[colour], tr(lang, meaning)))
    return drawn


def _cameras(cameras: gpd.GeoDataFrame, lang: str) -> Drawn:
    drawn = Drawn([], [])
    if cameras.empty:
        return drawn
    down = cameras["up"].eq(False)
    shown = cameras.assign(status=np.where(down, "down", np.where(cameras["up"].isna(), "unknown", "up")))
    for selected, label, colour, meaning in (
        (~down, "Cameras", "camera", "Camera"),
        (down, "Cameras (down)", "down", "Camera down"),
    ):
        overlays = _overlay(
            shown[selected],
            name=tr(lang, label),
            show=int(selected.sum()) <= DENSE_MARKERS,
            style={
                "color": "#ffffff",
                "weight": 1,
                "fillColor": PALETTE[colour],
                "fillOpacity": 1,
                "radius": 4,
            },
            tooltip=_labels(lang, {"camera": "Camera", "name": "Name", "status": "Status"}),
        )
        if overlays:
            drawn.groups.append(Group(None, overlays))
            drawn.legend.append(Swatch(PALETTE[colour], tr(lang, meaning)))
    return drawn


def _gaps(gaps: gpd.GeoDataFrame, lang: str) -> Drawn:
    """Road gaps as one feature per category and area (its tooltip gives their total length); unseen
    intersections and sites as markers, in a layer of their own that starts hidden when dense."""
    on_roads = gaps.geom_type.isin(["LineString", "MultiLineString"]).to_numpy()
    style = {"color": PALETTE["gap"], "weight": 5, "opacity": 1.0, "fillColor": PALETTE["gap"]}
    tooltip = _labels(lang, {"kind": "Gap", "category": "Category", "area": "Area", "length_m": "Length (m)"})
    road_gaps = _lines_by(gaps[on_roads], ["kind", "category", "area"], sums=("length_m",))
    overlays = _overlay(road_gaps, name=tr(lang, "Gaps (roads)"), style=style, tooltip=tooltip)
    overlays += _overlay(
        gaps[~on_roads],
        name=tr(lang, "Gaps (intersections, sites)"),
        style={**style, "fillOpacity": 0.6, "radius": 7},
        tooltip={key: label for key, label in tooltip.items() if key != "length_m"},
        show=int((~on_roads).sum()) <= DENSE_MARKERS,
    )
    legend = [Swatch(PALETTE["gap"], tr(lang, "Gap"))] if overlays else []
    return Drawn([Group(None, (overlay,)) for overlay in overlays], legend)


def _suggestions(suggestions: gpd.GeoDataFrame, lang: str) -> Drawn:
    """Suggested cameras as a clustered layer: positions closer than :data:`CLUSTER_CELL_PIXELS` on screen
    become one numbered circle (regrouped at every zoom), drawn under the gaps so it never hides them; a
    position alone is a marker with an arrow along its heading (:data:`ARROW_METRES`)."""
    if suggestions.empty:
        return Drawn([], [])
    tooltip = _labels(lang, {"direction": "Heading (°)", "gain": "Gain", "area": "Area"})
    style = {"color": PALETTE["suggestion"], "weight": 3, "opacity": 1.0, "fillColor": PALETTE["suggestion"]}
    positions = _overlay(
        suggestions,
        name="positions",
        style={**style, "fillOpacity": 1, "radius": 6},
        tooltip=tooltip,
        factory="camwatchClusters",
        options={
            "pane": "camwatchClusters",
            "cellPixels": CLUSTER_CELL_PIXELS,
            "clusterLabel": tr(lang, "Suggested cameras"),
            "arrowMetres": ARROW_METRES,
            "barbMetres": ARROW_BARB_METRES,
        },
        # Always in the page: the clusters are the county-wide view of where cameras are needed (a few
        # hundred points), and clusters cannot form across tiles.
        detail=False,
    )
    group = Group(tr(lang, "Suggested cameras"), positions)
    return Drawn([group], [Swatch(PALETTE["suggestion"], tr(lang, "Suggested camera"))])


def _bounds(boxes: list[tuple[float, float, float, float]]) -> list[list[float]] | None:
    """``[[south, west], [north, east]]`` of every box ``(west, south, east, north)``, or None when none."""
    if not boxes:
        return None
    stacked = np.array(boxes)
    west, south = stacked[:, :2].min(axis=0)
    east, north = stacked[:, 2:].max(axis=0)
    return [[float(south), float(west)], [float(north), float(east)]]


def _legend_html(rows: list[Swatch], lang: str) -> str:
    """The legend of the layers drawn: only camwatch's own words and colours, so plain HTML is safe."""

    def swatch(row: Swatch) -> str:
        shape = "height:4px;margin:6px 0" if row.line else "height:12px;border-radius:2px"
        return (
            f'<div class="camwatch-legend-row"><span style="display:inline-block;width:18px;{shape};'
            f'background:{row.colour}"></span> {html.escape(row.label)}</div>'
        )

    if not rows:
        return ""
    return (
        '<div class="camwatch-legend" style="position:fixed;bottom:28px;right:12px;z-index:1000;'
        "background:#fff;padding:8px 10px;border:1px solid #999;border-radius:4px;"
        'font:12px/18px sans-serif;box-shadow:0 1px 4px rgba(0,0,0,.3)">'
        f"<b>{html.escape(tr(lang, 'Coverage'))}</b>" + "".join(map(swatch, rows)) + "</div>"
    )


_TOOLTIP_CSS = (
    ".camwatch-tooltip th{padding:2px 8px 2px 2px;text-align:left}.camwatch-tooltip td{text-align:left}"
    f".camwatch-cluster{{display:flex;align-items:center;justify-content:center;border-radius:50%;"
    f"border:2px solid {PALETTE['suggestion']};background:rgba(106,61,154,.18);color:#3f1f66;"
    "font:bold 12px sans-serif}"
)
