"""Area drill-down: county → township → village rates, rankings and a map of cameras coloured by state."""

from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import geomap, stat, table, timeseries
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models import geomap as gm

from camwatch.config.areas import POLICE_STATION
from camwatch.dashboards._grafana import (
    area_variables,
    camera_detail_link,
    dashboard,
    hide_columns,
    merge_columns,
    panel,
    query,
    value_states,
)
from camwatch.dashboards._i18n import t
from camwatch.dashboards._links import AREA_UID
from camwatch.dashboards._promql import (
    AREA_LEVELS,
    LEVEL_LABELS,
    MONITORED_UP,
    ON_CAMERA,
    RATE_LEVELS,
    WORKING,
    area_series,
    with_info,
)

SELECTION = 'county=~"$county", township=~"$township", village=~"$village", police_station=~"$police_station"'
SELECTED_INFO = f"camwatch_camera_info{{{SELECTION}}}"
RATE = dm.DynamicConfigValue(id_val="unit", value="percentunit")

# A camera's state on the map: the value the map colours by.
CAMERA_STATES = {
    0: ("down", "red"),
    1: ("video fault", "orange"),
    2: ("ok", "green"),
    3: ("maintenance", "blue"),
}
CAMERA_STATE = (
    "max by (camera, name, site, village, lat, lon, status) (\n"
    f"  (\n    (camwatch_camera_up + {ON_CAMERA} {WORKING})\n"
    f"    or {ON_CAMERA} 3 * (camwatch_camera_maintenance == 1)\n  )\n"
    f"  * {ON_CAMERA} group_left(status) (camwatch_camera_status == 1)\n"
    f"  * {ON_CAMERA} group_left(name, site, village, lat, lon) {SELECTED_INFO}\n)"
)


def _selected(operation: str, series: str) -> str:
    """``operation`` over the selected area's cameras of a per-camera series."""
    return f"{operation}({with_info(series, (), info_selector=f'{{{SELECTION}}}')})"


def _ranking(level: str) -> table.Panel:
    labels = RATE_LEVELS[level]
    selector = "{" + ", ".join(f'{label}=~"${label}"' for label in labels) + "}"
    return panel(
        table.Panel()
        .transformations(
            merge_columns(
                {"Value #A": "Online rate", "Value #B": "Working-order rate", "Value #C": "Cameras monitored"}
            )
        )
        .override_by_name(t("Online rate"), [RATE])
        .override_by_name(t("Working-order rate"), [RATE])
        .sort_by([cb.TableSortByFieldState().display_name(t("Online rate")).desc(False)]),
        f"{LEVEL_LABELS[level]} ranking",
        query(area_series(level, f"camera_online:ratio{selector}"), table=True),
        query(area_series(level, f"camera_working:ratio{selector}"), table=True),
        query(area_series(level, f"cameras_monitored:count{selector}"), table=True),
        width=6,
        height=10,
        description=f"Each {LEVEL_LABELS[level].lower()} of the selection, lowest online rate first.",
    )


# The Geomap's default base ("default": CARTO, or the server's geomap.default_baselayer_config) loads tiles
# from the internet. camwatch's is an XYZ layer: a local tile server when generated with --basemap-tiles, else
# one transparent tile given inline, which draws a plain background and asks no server for anything.
BLANK_TILE = (
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)


def basemap(tiles: str | None = None, attribution: str = "") -> cb.MapLayerOptions:
    """The Geomap base layer: ``tiles`` (an XYZ template of a local tile server), else a blank tile."""
    config = {"url": tiles or BLANK_TILE, "attribution": attribution if tiles else ""}
    return cb.MapLayerOptions().type("xyz").name(t("Basemap")).config(config)


def _map(base: cb.MapLayerOptions) -> geomap.Panel:
    mappings, colours = value_states(CAMERA_STATES)
    markers = (
        cb.MapLayerOptions()
        .type("markers")
        .name(t("Cameras"))
        .location(
            cb.FrameGeometrySource().mode(cm.FrameGeometrySourceMode.COORDS).latitude("lat").longitude("lon")
        )
        .config(
            {
                "showLegend": True,
                "style": {
                    "color": {"field": "Value", "fixed": "dark-green"},
                    "size": {"fixed": 6},
                    "opacity": 0.8,
                    "symbol": {"fixed": "img/icons/marker/circle.svg", "mode": "fixed"},
                },
            }
        )
    )
    return panel(
        geomap.Panel()
        .view(geomap.MapViewConfig().id("fit"))
        .basemap(base)
        .layers([markers])
        .tooltip(geomap.TooltipOptions().mode(gm.TooltipMode.DETAILS))
        .mappings(mappings)
        .thresholds(colours)
        .color_scheme(db.FieldColor().mode(dm.FieldColorModeId.THRESHOLDS))
        .with_transformation(
            dm.DataTransformerConfig(
                id_val="convertFieldType",
                options={
                    "conversions": [
                        {"targetField": "lat", "destinationType": "number"},
                        {"targetField": "lon", "destinationType": "number"},
                    ]
                },
            )
        ),
        "Cameras by state",
        query(CAMERA_STATE, table=True),
        width=14,
        height=12,
        description="Every camera of the selection at its ledger position: green ok, orange video fault, "
        "red down, "
        "blue under maintenance.",
    )


def build(base: cb.MapLayerOptions | None = None) -> db.Dashboard:
    """The area drill-down dashboard; its map's base is ``base`` (default :func:`basemap`: offline)."""
    return (
        dashboard(
            "camwatch / Area drill-down",
            uid=AREA_UID,
            description=(
                "Online and working-order rates by county, township, village and police station, with a map."
            ),
            variables=area_variables(*AREA_LEVELS, POLICE_STATION),
        )
        .with_panel(
            panel(
                stat.Panel().unit("percentunit").decimals(1),
                "Online rate (在线率)",
                query(f"{_selected('sum', MONITORED_UP)} / {_selected('count', MONITORED_UP)}"),
                width=6,
                height=4,
            )
        )
        .with_panel(
            panel(
                stat.Panel().unit("percentunit").decimals(1),
                "Working-order rate (完好率)",
                query(f"{_selected('sum', WORKING)} / {_selected('count', MONITORED_UP)}"),
                width=6,
                height=4,
            )
        )
        .with_panel(
            panel(
                stat.Panel().decimals(0),
                "Cameras monitored",
                query(_selected("count", MONITORED_UP)),
                width=6,
                height=4,
            )
        )
        .with_panel(
            panel(
                stat.Panel().decimals(0),
                "Cameras down",
                query(f"{_selected('count', f'{MONITORED_UP} == 0')} or vector(0)"),
                width=6,
                height=4,
            )
        )
        .with_panel(_ranking("county"))
        .with_panel(_ranking("township"))
        .with_panel(_ranking("village"))
        .with_panel(_ranking(POLICE_STATION))
        .with_panel(_map(base or basemap()))
        .with_panel(
            panel(
                timeseries.Panel().unit("percentunit").max(1),
                "Online rate per township",
                query(
                    area_series("township", 'camera_online:ratio{county=~"$county", township=~"$township"}'),
                    legend="{{county}} {{township}}",
                ),
                width=10,
                height=12,
            )
        )
        .with_panel(
            panel(
                table.Panel()
                .with_transformation(hide_columns("Time", "Value"))
                .override_by_name("camera", [camera_detail_link()]),
                "Cameras in the selection",
                query(
                    "max by (camera, name, site, county, township, village, police_station, status) (\n"
                    "  (camwatch_camera_status == 1)\n"
                    f"  * {ON_CAMERA} group_left(name, site, county, township, village, police_station)"
                    f" {SELECTED_INFO}\n)",
                    table=True,
                ),
                width=24,
                height=10,
            )
        )
    )
