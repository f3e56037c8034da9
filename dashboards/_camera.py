"""Camera detail: one camera's status, probes, picture measurements and faults over time."""

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import stat, statetimeline, table, timeseries
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm

from camwatch.dashboards._grafana import (
    area_variables,
    dashboard,
    hide_columns,
    label_variable,
    panel,
    query,
    value_states,
)
from camwatch.dashboards._i18n import t
from camwatch.dashboards._links import CAMERA_UID
from camwatch.dashboards._recordings import ROW as RECORDINGS_ROW
from camwatch.dashboards._recordings import camera_panels as recording_panels

CAMERA = 'camera="$camera"'
# camwatch serves fault snapshots itself; Grafana only links to them.
SNAPSHOT_URL = "${camwatch_url}/snapshot/${camera}"
UP_STATES = {0: ("down", "red"), 1: ("up", "green")}
FAULT_STATES = {0: ("clear", "green"), 1: ("fault", "red")}
MAINTENANCE_STATES = {0: ("in service", "green"), 1: ("maintenance", "blue")}
# Whether the picture comes (在线不出图: answers, shows nothing), beside up/down.
PICTURE_STATES = {0: ("picture", "green"), 1: ("no picture", "red")}
# What the camera's own analytics say (ONVIF events), apart from what camwatch measured.
EVENT_STATES = {0: ("clear", "green"), 1: ("camera reports", "orange")}


def _snapshot_link() -> db.DashboardLink:
    return (
        db.DashboardLink(t("Latest snapshot"))
        .type(dm.DashboardLinkType.LINK)
        .url(SNAPSHOT_URL)
        .target_blank(True)
    )


def _state_stat(title: str, expr: str, states: dict[int, tuple[str, str]], *, width: int) -> stat.Panel:
    mappings, colours = value_states(states)
    return panel(
        stat.Panel().mappings(mappings).thresholds(colours), title, query(expr), width=width, height=4
    )


def _state_timeline(
    title: str,
    expr: str,
    legend: str,
    states: dict[int, tuple[str, str]],
    description: str = "",
    width: int = 12,
) -> statetimeline.Panel:
    mappings, colours = value_states(states)
    return panel(
        statetimeline.Panel()
        .mappings(mappings)
        .thresholds(colours)
        .color_scheme(db.FieldColor().mode(dm.FieldColorModeId.THRESHOLDS))
        .show_value(cm.VisibilityMode.NEVER),
        title,
        query(expr, legend=legend),
        width=width,
        height=7,
        description=description,
    )


def _measurement(title: str, metric: str, *, unit: str, description: str) -> timeseries.Panel:
    return panel(
        timeseries.Panel().unit(unit),
        title,
        query(f"{metric}{{{CAMERA}}}", legend="{{camera}} {{stream}}"),
        width=8,
        height=7,
        description=description,
    )


def build() -> db.Dashboard:
    """The camera detail dashboard."""
    detail = (
        dashboard(
            "camwatch / Camera detail",
            uid=CAMERA_UID,
            description="Everything camwatch knows about one camera, over time.",
            variables=[
                *area_variables("county", "township"),
                label_variable(
                    "camera", label="Camera", selector='county=~"$county", township=~"$township"', multi=False
                ),
                db.TextBoxVariable("camwatch_url")
                .label(t("camwatch URL"))
                .description(t("Base URL of the camwatch service, for snapshot links."))
                .default_value("http://localhost:9640"),
            ],
        )
        .link(_snapshot_link())
        .with_panel(
            panel(
                table.Panel().with_transformation(hide_columns("Time", "Value", "__name__")),
                "Ledger",
                query(f"camwatch_camera_info{{{CAMERA}}}", table=True),
                width=24,
                height=4,
            )
        )
        .with_panel(
            panel(
                stat.Panel().text_mode(cm.BigValueTextMode.NAME),
                "Status",
                query(f"camwatch_camera_status{{{CAMERA}}} == 1", legend="{{status}}"),
                width=4,
                height=4,
            )
        )
        .with_panel(_state_stat("Up", f"camwatch_camera_up{{{CAMERA}}}", UP_STATES, width=3))
        .with_panel(
            _state_stat(
                "Picture",
                # no_video has a series only once raised; the 0 says "picture" rather than "no data".
                f'max(camwatch_video_fault{{{CAMERA}, fault="no_video"}}'
                f" or on() (0 * camwatch_camera_up{{{CAMERA}}}))",
                PICTURE_STATES,
                width=3,
            )
        )
        .with_panel(
            panel(
                stat.Panel().unit("dateTimeFromNow"),
                "State since",
                query(f"1000 * camwatch_camera_last_change_timestamp_seconds{{{CAMERA}}}"),
                width=5,
                height=4,
            )
        )
        .with_panel(
            _state_stat(
                "Maintenance", f"camwatch_camera_maintenance{{{CAMERA}}}", MAINTENANCE_STATES, width=4
            )
        )
        .with_panel(
            panel(
                stat.Panel().decimals(0),
                "Up/down changes in range",
                query(f"increase(camwatch_camera_flaps_total{{{CAMERA}}}[$__range])"),
                width=5,
                height=4,
            )
        )
        .with_panel(_state_timeline("Up over time", f"camwatch_camera_up{{{CAMERA}}}", "up", UP_STATES))
        .with_panel(
            _state_timeline(
                "Video faults over time",
                # Only faults present have a series; the 0 line says "no fault" rather than "no data".
                f"camwatch_video_fault{{{CAMERA}}} or on() (0 * camwatch_camera_up{{{CAMERA}}})",
                "{{fault}} {{stream}}",
                FAULT_STATES,
            ).links([_snapshot_link()])
        )
        .with_panel(
            _state_timeline(
                "Camera's own events over time",
                f"camwatch_camera_event{{{CAMERA}}}",
                "{{event}}",
                EVENT_STATES,
                description=(
                    "What the camera's on-board analytics report over ONVIF events (tamper, signal loss, "
                    "scene change, too blurry, too dark, too bright, storage failure), apart from the faults "
                    "camwatch measures. Empty for a camera without ONVIF events."
                ),
                width=24,
            )
        )
        .with_panel(
            _measurement(
                "Frame rate", "camwatch_video_fps", unit="fps", description="Frames per second decoded."
            )
        )
        .with_panel(
            _measurement(
                "Brightness (luma)",
                "camwatch_video_luma",
                unit="none",
                description="Mean luma, 0–255; near 0 is a black picture.",
            )
        )
        .with_panel(
            _measurement(
                "Sharpness",
                "camwatch_video_sharpness",
                unit="none",
                description="Variance of the Laplacian; a drop means blur, fog or a covered lens.",
            )
        )
        .with_panel(
            panel(
                timeseries.Panel().unit("none"),
                "Still picture (snapshot)",
                query(f"camwatch_snapshot_luma{{{CAMERA}}}", legend="luma"),
                query(f"camwatch_snapshot_sharpness{{{CAMERA}}}", legend="sharpness"),
                query(f"camwatch_snapshot_scene_match{{{CAMERA}}}", legend="scene match"),
                width=8,
                height=7,
                description=(
                    "The snapshot probe's still picture: mean luma (0–255), sharpness and match with the "
                    "camera's reference view (0–1); its faults show with the video faults."
                ),
            )
        )
        .with_panel(
            _measurement(
                "Clock offset",
                "camwatch_onvif_clock_offset_seconds",
                unit="s",
                description="Camera clock minus camwatch's clock, from ONVIF GetSystemDateAndTime.",
            )
        )
        .with_panel(
            panel(
                timeseries.Panel().unit("s"),
                "Probe duration",
                query(f"camwatch_probe_duration_seconds{{{CAMERA}}}", legend="{{probe}}"),
                width=8,
                height=7,
            )
        )
        .with_panel(
            panel(
                timeseries.Panel().unit("percentunit").min(0).max(1),
                "Decode errors",
                query(f"camwatch_video_decode_error_ratio{{{CAMERA}}}", legend="{{camera}}"),
                width=8,
                height=7,
                description=(
                    "Share of the decoded frames in error (花屏); above half the picture counts as none "
                    "(no_video)."
                ),
            )
        )
        .with_panel(
            panel(
                timeseries.Panel().unit("none").min(0).max(1),
                "Probe success",
                query(f"camwatch_probe_success{{{CAMERA}}}", legend="{{probe}}"),
                width=8,
                height=7,
            )
        )
    )
    detail = detail.with_row(db.Row(t(RECORDINGS_ROW)))
    for recording_panel in recording_panels(CAMERA):
        detail = detail.with_panel(recording_panel)
    return detail
