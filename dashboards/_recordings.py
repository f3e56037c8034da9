"""The recordings row (录像) of the fleet and camera dashboards: retention against its target, recordings
stopped, gaps, and the recorders' disks — from the hourly recording check (``camwatch_recording_*``,
``camwatch_recorder_disk_*``). Without recorders the counts read 0 and the rest shows no data."""

from grafana_foundation_sdk.builders import bargauge, stat, table, timeseries
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm

from camwatch.dashboards._grafana import (
    camera_detail_link,
    hide_columns,
    latest_value,
    panel,
    query,
    state_table,
    thresholds,
)
from camwatch.dashboards._i18n import t
from camwatch.dashboards._promql import INSTANCE_LABELS, ON_CAMERA

ROW = "Recordings (录像)"
FAULT_COLOURS = thresholds("green", (1.0, "red"))
DISK_STATES = {0: ("failed", "red"), 1: ("ok", "green")}
# Retention ÷ target: red below the target, green from it.
RETENTION_COLOURS = thresholds("red", (1.0, "green"))
RETENTION_RATIO = "camwatch_recording_retention_seconds / camwatch_recording_retention_target_seconds"
# Columns of the recorder disk table, one query each, in this order.
DISK_COLUMNS = {
    "Disk state": "camwatch_recorder_disk_ok",
    "Capacity": 'camwatch_recorder_disk_bytes{kind="capacity"}',
    "Free": 'camwatch_recorder_disk_bytes{kind="free"}',
}
# Cameras whose recording stopped, with the age of their newest footage.
STOPPED = (
    "max by (camera) (camwatch_recording_last_age_seconds\n"
    f'  and {ON_CAMERA} (camwatch_video_fault{{fault="recording_stopped"}} == 1))'
)


def _fault_count(fault: str) -> str:
    return f'count(camwatch_video_fault{{fault="{fault}"}} == 1) or vector(0)'


def _count(title: str, expr: str, description: str) -> stat.Panel:
    return panel(
        stat.Panel().decimals(0).thresholds(FAULT_COLOURS),
        title,
        query(expr),
        width=4,
        height=4,
        description=description,
    )


def per_disk(expr: str) -> str:
    """One series per recorder disk of each camwatch instance (scrape labels such as job dropped)."""
    return f"max by ({', '.join(INSTANCE_LABELS)}, recorder, disk) ({expr})"


def fleet_panels() -> list[Builder[dm.Panel]]:
    """The fleet overview's recordings row."""
    return [
        _count(
            "Recordings stopped",
            _fault_count("recording_stopped"),
            "Cameras up whose newest footage is older than monitor.recording.stopped_after (recorder's "
            "clock): their recording has stopped.",
        ),
        _count(
            "Recordings with gaps",
            _fault_count("recording_gaps"),
            "Cameras whose footage of the last 24 hours has a hole longer than monitor.recording.gap.",
        ),
        _count(
            "Retention short",
            _fault_count("retention_short"),
            "Cameras whose recorder keeps less footage than their retention target (by site category and "
            "area).",
        ),
        _count(
            "Recorder disks failed",
            "count(camwatch_recorder_disk_ok == 0) or vector(0)",
            "Recorder disks failed, unformatted, read-only, or full with overwrite off (storage_fault).",
        ),
        panel(
            stat.Panel().unit("s").decimals(1),
            "Shortest retention",
            query("min(camwatch_recording_retention_seconds)"),
            width=4,
            height=4,
            description="The least footage any recorded camera keeps (now − its oldest footage).",
        ),
        panel(
            stat.Panel().unit("percentunit").decimals(0),
            "Footage in the last 24 h",
            query("avg(camwatch_recording_seconds_24h) / 86400"),
            width=4,
            height=4,
            description="Share of the last 24 hours recorded, averaged over the recorded cameras.",
        ),
        panel(
            bargauge.Panel()
            .orientation(cm.VizOrientation.HORIZONTAL)
            .unit("percentunit")
            .min(0)
            .max(2)
            .thresholds(RETENTION_COLOURS)
            .reduce_options(latest_value()),
            "Retention against target (lowest 15)",
            query(f"bottomk(15, {RETENTION_RATIO})", legend="{{camera}}", instant=True),
            width=8,
            height=9,
            description=(
                "Footage kept ÷ the camera's retention target (monitor.recording.retention): below 100 % "
                "the recorder keeps less than the law asks."
            ),
        ),
        panel(
            table.Panel()
            .unit("s")
            .with_transformation(hide_columns("Time"))
            .override_by_name("camera", [camera_detail_link()])
            .display_name(t("newest footage age")),
            "Recordings stopped (newest footage)",
            query(STOPPED, table=True),
            width=6,
            height=9,
            description="Cameras up whose recording stopped, with how old their newest footage is.",
        ),
        state_table(
            "Recorder disks",
            {name: per_disk(series) for name, series in DISK_COLUMNS.items()},
            states=DISK_STATES,
            units={"Capacity": "bytes", "Free": "bytes"},
            width=10,
            height=9,
            description=(
                "Each disk of each recorder (ISAPI storage, ONVIF storage configurations), failed ones "
                "first; a failed disk pages once for the recorder (RecorderStorageFault)."
            ),
        ),
    ]


def camera_panels(camera: str) -> list[Builder[dm.Panel]]:
    """The camera detail's recordings row; ``camera``: its label matcher (``camera="$camera"``)."""
    return [
        panel(
            timeseries.Panel().unit("s").min(0),
            "Retention and its target",
            query(f"camwatch_recording_retention_seconds{{{camera}}}", legend="footage kept"),
            query(f"camwatch_recording_retention_target_seconds{{{camera}}}", legend="target"),
            width=8,
            height=7,
            description="Age of the oldest footage the recorder keeps, against the camera's retention target "
            "(monitor.recording.retention).",
        ),
        panel(
            timeseries.Panel().unit("s").min(0),
            "Newest footage age",
            query(f"camwatch_recording_last_age_seconds{{{camera}}}", legend="age"),
            width=8,
            height=7,
            description=(
                "Age of the end of the newest footage on the recorder's clock; past "
                "monitor.recording.stopped_after the recording has stopped."
            ),
        ),
        panel(
            timeseries.Panel().unit("s").min(0),
            "Footage and gaps in the last 24 h",
            query(f"camwatch_recording_seconds_24h{{{camera}}}", legend="footage"),
            query(f"86400 - camwatch_recording_seconds_24h{{{camera}}}", legend="missing"),
            width=8,
            height=7,
            description=(
                "Seconds recorded in the last 24 hours and the seconds missing; the gaps longer than "
                "monitor.recording.gap show as the recording_gaps fault."
            ),
        ),
    ]
