"""PromQL fragments shared by the recording rules, the alerts and the dashboards."""

from collections.abc import Sequence

from camwatch.config.areas import LEVEL_KEYS, LEVELS, POLICE_STATION
from camwatch.monitor.faults import FAULTS

# Area levels from the coarsest down; a level is named by its last label and keyed by all of them,
# because township and village names repeat across counties.
AREA_LEVELS: dict[str, tuple[str, ...]] = {level: LEVEL_KEYS[level] for level in LEVELS}
FLEET_LEVEL = "fleet"
# Police-station areas (派出所辖区) lie within a county beside its townships: rates and alerts are kept at
# that level too, over the cameras whose ledger names a station.
RATE_LEVELS: dict[str, tuple[str, ...]] = {**AREA_LEVELS, POLICE_STATION: LEVEL_KEYS[POLICE_STATION]}
# camwatch_camera_info selector of the cameras counted at each level (default: all).
LEVEL_CAMERAS = {POLICE_STATION: f'{{{POLICE_STATION}!=""}}'}
# How each level is named on the dashboards and in the alerts (translated with the rest).
LEVEL_LABELS = {
    "county": "County",
    "township": "Township",
    "village": "Village",
    POLICE_STATION: "Police station",
}

# Labels copied from camwatch_camera_info onto per-camera alerts.
CAMERA_ALERT_LABELS = ("name", "site", "county", "township", "village", "priority")

# A camera that answers but whose picture never comes: its own alert (CameraNoVideo) and clusters, not
# CameraVideoFault's, so it pages once.
NO_VIDEO = "no_video"
# Picture faults that page as CameraVideoFault: the picture no longer shows what it should.
ALERTING_PICTURE_FAULTS = tuple(
    f.name for f in FAULTS if f.kind == "picture" and f.severity == "warning" and f.name != NO_VIDEO
)
# Topology labels (camwatch_camera_info) by which cameras losing their picture together page as one.
NO_VIDEO_CLUSTER_LABELS = ("switch", "site")

# The labels naming the camwatch that exports a series: its scrape ``instance`` and, in a city Prometheus,
# the external label each county Prometheus attaches to what it federates (absent, so equal on both sides,
# where one Prometheus scrapes every camwatch). Camera and cluster ids are unique only within one camwatch,
# so every per-camera or per-cluster join matches on these too.
COUNTY_PROMETHEUS = "county_prometheus"
INSTANCE_LABELS = (COUNTY_PROMETHEUS, "instance")
ON_CAMERA = f"on({', '.join(INSTANCE_LABELS)}, camera)"
ON_CLUSTER = f"on({', '.join(INSTANCE_LABELS)}, cluster)"
# A GB/T 28181 device (IPC, NVR, lower platform) is seen by the camwatch it registers with: its series are
# kept apart per instance like a camera's, so a device registered with two instances is two rows.
ON_DEVICE = f"on({', '.join(INSTANCE_LABELS)}, device)"

MONITORED_UP = "camera:camwatch_camera_up:monitored"
WORKING = "camera:camwatch_camera_working:bool"

# Cameras whose alerts are silenced: under maintenance, unless the ledger marks them priority.
SILENCED = f'(camwatch_camera_maintenance == 1 unless {ON_CAMERA} camwatch_camera_info{{priority="true"}})'


def with_info(expr: str, labels: Sequence[str], *, info_selector: str = "") -> str:
    """``expr`` with camera metadata labels joined from ``camwatch_camera_info``."""
    return f"({expr}) * {ON_CAMERA} group_left({', '.join(labels)}) camwatch_camera_info{info_selector}"


def fault_regex(faults: Sequence[str]) -> str:
    """A label-matcher regex matching exactly these faults."""
    return "|".join(faults)


def area_series(level: str, series: str) -> str:
    """Name of a per-area recording rule (``level:metric:operation``, as Prometheus recommends)."""
    return f"{level}:camwatch_{series}"


def target_ratio() -> str:
    """Coverage target per category, deduplicated across camwatch instances."""
    return "max by (category) (camwatch_coverage_target_ratio)"
