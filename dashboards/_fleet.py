"""Fleet overview: online and working-order rates, status and faults, down and flapping cameras, probing,
and GB/T 28181 devices (IPCs, NVRs, lower platforms registered with camwatch)."""

from grafana_foundation_sdk.builders import bargauge, stat, table, timeseries
from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm

from camwatch.dashboards._grafana import (
    camera_detail_link,
    dashboard,
    hide_columns,
    latest_value,
    panel,
    query,
    state_table,
    thresholds,
    value_states,
)
from camwatch.dashboards._i18n import t
from camwatch.dashboards._links import FLEET_UID
from camwatch.dashboards._promql import (
    FLEET_LEVEL,
    INSTANCE_LABELS,
    MONITORED_UP,
    ON_CAMERA,
    ON_CLUSTER,
    area_series,
    with_info,
)
from camwatch.dashboards._recordings import ROW as RECORDINGS_ROW
from camwatch.dashboards._recordings import fleet_panels as recording_panels
from camwatch.dashboards._rules import AREA_ONLINE_RATE_THRESHOLD

DOWN_SINCE = (
    "1000 * max by (camera, status, name, site, county, township, village) (\n"
    "  camwatch_camera_last_change_timestamp_seconds\n"
    f"  * {ON_CAMERA} group_left(status) (camwatch_camera_status == 1)\n"
    f"  * {ON_CAMERA} group_left(name, site, county, township, village) camwatch_camera_info\n"
    f"  and {ON_CAMERA} (camwatch_camera_up == 0)\n"
    ")"
)
# Monitored cameras that answer but show no picture: counted beside the ones that are down.
NO_PICTURE = (
    f'count((camwatch_video_fault{{fault="no_video"}} == 1) and {ON_CAMERA} {MONITORED_UP}) or vector(0)'
)
ACTIVE_CLUSTERS = (
    "max by (cluster, kind, key, county, township, onset) (\n"
    "  (camwatch_offline_cluster_cameras > 0)\n"
    f"  * {ON_CLUSTER} group_left(kind, key, county, township, onset) camwatch_offline_cluster_info\n"
    ")"
)
FLAPPING = with_info(
    "topk(20, increase(camwatch_camera_flaps_total[$__range]) > 0)", ("name", "county", "township")
)
# Red below the alert threshold, green from the 98 % that assessments ask of key public areas.
RATE_COLOURS = thresholds("red", (AREA_ONLINE_RATE_THRESHOLD, "orange"), (0.98, "green"))
LATENESS = (
    "histogram_quantile({q},"
    " sum by (le) (rate(camwatch_scheduler_lateness_seconds_bucket[$__rate_interval])))"
)


GB_DEVICE_STATES = {0: ("down", "red"), 1: ("up", "green")}
# Columns of the GB/T 28181 device table, one query each, in this order.
GB_DEVICE_COLUMNS = {
    "State": "camwatch_gb28181_device_up",
    "Since keepalive": "camwatch_gb28181_keepalive_age_seconds",
    "Channels up": 'camwatch_gb28181_channels{state="up"}',
    "Channels down": 'camwatch_gb28181_channels{state="down"}',
    "Unknown channels": "camwatch_gb28181_unknown_channels",
    "Clock offset": "camwatch_gb28181_clock_offset_seconds",
}


def per_device(expr: str) -> str:
    """One series per GB/T 28181 device of each camwatch instance (scrape labels such as job dropped)."""
    return f"max by ({', '.join(INSTANCE_LABELS)}, device) ({expr})"


def _ratio_stat(title: str, expr: str, description: str) -> stat.Panel:
    return panel(
        stat.Panel().unit("percentunit").decimals(1).min(0).max(1).thresholds(RATE_COLOURS),
        title,
        query(expr),
        width=4,
        height=4,
        description=description,
    )


def _count_stat(
    title: str,
    expr: str,
    description: str,
    *,
    colours: db.ThresholdsConfig | None = None,
    width: int = 4,
) -> stat.Panel:
    """A count as a small stat panel; ``colours``: its threshold scale (e.g. red from 1 for a fault count)."""
    kind = stat.Panel().decimals(0)
    if colours is not None:
        kind = kind.thresholds(colours)
    return panel(kind, title, query(expr), width=width, height=4, description=description)


def build() -> db.Dashboard:
    """The fleet overview dashboard."""
    monitored = area_series(FLEET_LEVEL, "cameras_monitored:count")
    online = area_series(FLEET_LEVEL, "cameras_online:sum")
    reload_mappings, reload_thresholds = value_states({0: ("failed", "red"), 1: ("ok", "green")})
    overview = (
        dashboard(
            "camwatch / Fleet overview",
            uid=FLEET_UID,
            description="Health of every camera camwatch monitors, and of camwatch's own probing.",
        )
        .with_panel(
            _ratio_stat(
                "Online rate (在线率)",
                area_series(FLEET_LEVEL, "camera_online:ratio"),
                "Share of monitored cameras answering their probes; cameras under maintenance are excluded.",
            )
        )
        .with_panel(
            _ratio_stat(
                "Working-order rate (完好率)",
                area_series(FLEET_LEVEL, "camera_working:ratio"),
                "Share of monitored cameras that are online with a usable picture (no video fault).",
            )
        )
        .with_panel(_count_stat("Cameras monitored", monitored, "Cameras not under maintenance.", width=3))
        .with_panel(
            _count_stat(
                "Cameras down", f"{monitored} - {online}", "Monitored cameras failing probes.", width=3
            )
        )
        .with_panel(
            _count_stat(
                "Online, no picture (在线不出图)",
                NO_PICTURE,
                "Monitored cameras that answer but whose picture never comes (no_video): SETUP or PLAY "
                "refused, no RTP, nothing decodable. Online, not in working order.",
                colours=thresholds("green", (1.0, "red")),
            )
        )
        .with_panel(
            _count_stat(
                "Under maintenance",
                "sum(camwatch_camera_maintenance) or vector(0)",
                "Cameras marked for repair.",
                width=3,
            )
        )
        .with_panel(
            _count_stat(
                "Offline clusters",
                "count(camwatch_offline_cluster_cameras > 0) or vector(0)",
                "Groups of cameras that went down together (shared switch, fibre, power, site or place).",
                width=3,
            )
        )
        .with_panel(
            panel(
                timeseries.Panel().unit("percentunit").max(1),
                "Online and working-order rate",
                query(area_series(FLEET_LEVEL, "camera_online:ratio"), legend="online (在线率)"),
                query(area_series(FLEET_LEVEL, "camera_working:ratio"), legend="working order (完好率)"),
                width=12,
                height=8,
            )
        )
        .with_panel(
            panel(
                _count_bars(),
                "Cameras by status",
                query("count by (status) (camwatch_camera_status == 1)", legend="{{status}}", instant=True),
                width=6,
                height=8,
            )
        )
        .with_panel(
            panel(
                _count_bars(),
                "Cameras by video fault",
                query("sum by (fault) (camwatch_video_fault)", legend="{{fault}}", instant=True),
                width=6,
                height=8,
            )
        )
        .with_panel(
            panel(
                table.Panel()
                .unit("dateTimeFromNow")
                .override_by_name("camera", [camera_detail_link()])
                .with_transformation(hide_columns("Time"))
                .sort_by([cb.TableSortByFieldState().display_name("Value").desc(False)]),
                "Cameras down now (since when)",
                query(DOWN_SINCE, table=True),
                width=16,
                height=9,
                description="Down cameras, longest down first, with when each last changed state.",
            )
        )
        .with_panel(
            panel(
                table.Panel().with_transformation(hide_columns("Time")).display_name(t("cameras down")),
                "Active offline clusters",
                query(ACTIVE_CLUSTERS, table=True),
                width=8,
                height=9,
                description=(
                    "One row per cluster of cameras that became unreachable together, what they share, and "
                    "whether that was seen (onset observed) or they were down before monitoring began."
                ),
            )
        )
        .with_panel(
            panel(
                table.Panel()
                .with_transformation(hide_columns("Time"))
                .override_by_name("camera", [camera_detail_link()])
                .display_name(t("up/down changes")),
                "Flapping cameras",
                query(FLAPPING, table=True),
                width=8,
                height=8,
                description="Cameras that changed between up and down most often in the selected time range.",
            )
        )
        .with_panel(
            panel(
                timeseries.Panel().unit("percentunit").max(1),
                "Online rate per county",
                query(area_series("county", "camera_online:ratio"), legend="{{county}}"),
                width=16,
                height=8,
            )
        )
        .with_panel(
            panel(
                timeseries.Panel().unit("s"),
                "Probe latency",
                query("quantile by (probe) (0.9, camwatch_probe_duration_seconds)", legend="p90 {{probe}}"),
                query("max by (probe) (camwatch_probe_duration_seconds)", legend="max {{probe}}"),
                width=8,
                height=8,
                description="Duration of the latest probe of each camera, across cameras.",
            )
        )
        .with_panel(
            panel(
                timeseries.Panel().unit("s"),
                "Probe staleness",
                query(
                    "max by (probe) (time() - camwatch_probe_last_timestamp_seconds)",
                    legend="oldest {{probe}}",
                ),
                width=8,
                height=8,
                description="Age of the oldest latest probe per probe type; grows when probing falls behind.",
            )
        )
        .with_panel(
            panel(
                timeseries.Panel().unit("ops"),
                "Probe results",
                query(
                    "sum by (probe, result) (rate(camwatch_probes_total[$__rate_interval]))",
                    legend="{{probe}} {{result}}",
                ),
                width=8,
                height=8,
            )
        )
        .with_panel(
            panel(
                timeseries.Panel().unit("s"),
                "Scheduler lateness",
                *(query(LATENESS.format(q=q), legend=f"p{round(q * 100)}") for q in (0.5, 0.9, 0.99)),
                width=12,
                height=6,
                description="How late probes start against their schedule; sustained growth means overload.",
            )
        )
        .with_panel(
            panel(
                table.Panel()
                .unit("s")
                .with_transformation(hide_columns("Time"))
                .override_by_name("camera", [camera_detail_link()])
                .display_name(t("since last probe")),
                "Stalest cameras",
                query(
                    "topk(10, time() - max by (camera) (camwatch_probe_last_timestamp_seconds))",
                    table=True,
                ),
                width=6,
                height=6,
            )
        )
        .with_panel(
            panel(
                stat.Panel().mappings(reload_mappings).thresholds(reload_thresholds),
                "Last config reload",
                query("min(camwatch_config_last_reload_successful)"),
                width=6,
                height=6,
            )
        )
        .with_row(db.Row("GB/T 28181"))
    )
    for gb_panel in _gb28181_panels():
        overview = overview.with_panel(gb_panel)
    overview = overview.with_row(db.Row(t(RECORDINGS_ROW)))
    for recording_panel in recording_panels():
        overview = overview.with_panel(recording_panel)
    return overview


def _gb28181_panels() -> list[Builder[dm.Panel]]:
    """Devices registered over GB/T 28181 beside the probed cameras: which are silent, how long since each
    kept alive, their channels up and down, channels no ledger camera links, and device clocks. Without a
    ``gb28181`` section the counts read 0 and the rest shows no data."""
    down_colours = thresholds("green", (1.0, "red"))
    return [
        _count_stat(
            "GB/T 28181 devices up",
            "count(camwatch_gb28181_device_up == 1) or vector(0)",
            "Registered devices and lower platforms keeping alive.",
        ),
        _count_stat(
            "GB/T 28181 devices down",
            "count(camwatch_gb28181_device_up == 0) or vector(0)",
            "Registered devices silent past their keepalive deadline: all their channels are down.",
            colours=down_colours,
        ),
        _count_stat(
            "GB/T 28181 channels up",
            'sum(camwatch_gb28181_channels{state="up"}) or vector(0)',
            "Channels in the devices' catalogs that are up (device online, channel not OFF).",
        ),
        _count_stat(
            "GB/T 28181 channels down",
            'sum(camwatch_gb28181_channels{state="down"}) or vector(0)',
            "Channels reported OFF, or behind a silent device.",
            colours=down_colours,
        ),
        _count_stat(
            "Unknown channels",
            "sum(camwatch_gb28181_unknown_channels) or vector(0)",
            "Channels no ledger camera links by gb_id (国标编码): counted, not monitored as cameras.",
        ),
        panel(
            stat.Panel().unit("s").decimals(1),
            "Largest device clock offset",
            query("max(abs(camwatch_gb28181_clock_offset_seconds))"),
            width=4,
            height=4,
            description="Largest |device clock − camwatch clock| from DeviceStatus answers.",
        ),
        state_table(
            "GB/T 28181 devices",
            {name: per_device(series) for name, series in GB_DEVICE_COLUMNS.items()},
            states=GB_DEVICE_STATES,
            units={"Since keepalive": "s", "Clock offset": "s"},
            width=14,
            height=9,
            description=(
                "Each registered device of each camwatch, silent ones first: seconds since its last "
                "keepalive, its catalog's channels up and down, those no ledger camera links, its clock "
                "offset (where it answers DeviceStatus)."
            ),
        ),
        panel(
            timeseries.Panel().unit("s"),
            "Keepalive age per device",
            query(per_device("camwatch_gb28181_keepalive_age_seconds"), legend="{{device}}"),
            width=10,
            height=9,
            description=(
                "Seconds since each device's last keepalive: a sawtooth below the keepalive interval "
                "while it lives; a line climbing past interval × count is a silent device."
            ),
        ),
    ]


def _count_bars() -> bargauge.Panel:
    """Horizontal bars of whole-camera counts, latest value."""
    return (
        bargauge.Panel().orientation(cm.VizOrientation.HORIZONTAL).decimals(0).reduce_options(latest_value())
    )
