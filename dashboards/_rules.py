"""Prometheus recording and alerting rules for camwatch, built as data and rendered as YAML."""

from typing import Any

import yaml

from camwatch.config.areas import POLICE_STATION
from camwatch.config.models import ReportSettings
from camwatch.dashboards._i18n import alert_texts, t
from camwatch.dashboards._links import AREA_UID, CAMERA_UID, COVERAGE_UID, FLEET_UID, dashboard_path
from camwatch.dashboards._promql import (
    ALERTING_PICTURE_FAULTS,
    CAMERA_ALERT_LABELS,
    FLEET_LEVEL,
    INSTANCE_LABELS,
    LEVEL_CAMERAS,
    LEVEL_LABELS,
    MONITORED_UP,
    NO_VIDEO,
    NO_VIDEO_CLUSTER_LABELS,
    ON_CAMERA,
    ON_CLUSTER,
    ON_DEVICE,
    RATE_LEVELS,
    SILENCED,
    WORKING,
    area_series,
    fault_regex,
    target_ratio,
    with_info,
)
from camwatch.monitor.faults import PICTURE_FAULTS

Rule = dict[str, Any]

# The dashboards' rate colours turn from red to orange here. The alert compares an area's online rate with
# its camwatch's `reports.online_target` (exported as camwatch_online_target; the default where a camwatch
# does not export it).
AREA_ONLINE_RATE_THRESHOLD = 0.9
DEFAULT_ONLINE_TARGET = ReportSettings().online_target
AREA_RATE_LEVELS = ("county", "township", POLICE_STATION)
# A camera not probed for this long means the scheduler or the whole instance has stalled.
PROBE_STALE_SECONDS = 900

CAMERA_DOWN_FOR = "5m"
# Longer than the default video interval (5 min) and its 10 % jitter: the camera's next check comes first,
# and a quiet camera's `frozen`, which that check takes back (its second look), never pages.
PICTURE_FAULT_FOR = "6m"
# Shorter than CAMERA_DOWN_FOR so the inhibiting cluster alert fires before its members would.
OFFLINE_CLUSTER_FOR = "2m"
# Cameras of one switch or site without a picture together, and how long: shorter than PICTURE_FAULT_FOR,
# so the cluster fires before (and mutes) its members' CameraNoVideo.
NO_VIDEO_CLUSTER_MIN = 3
NO_VIDEO_CLUSTER_FOR = "5m"

# A device's keepalive deadline (interval x count) is its debounce already; shorter than OFFLINE_CLUSTER_FOR
# so it fires before the offline cluster its channels form, which it inhibits (dashboards/alertmanager.yml).
GB28181_DEVICE_DOWN_FOR = "1m"
# The cluster key camwatch gives the channels of a device seen through GB/T 28181 alone
# (monitor/service.py ``_cluster_camera``): the label Alertmanager matches the device's OfflineCluster on.
GB28181_CLUSTER_KEY = "gb28181:{{ $labels.device }}"

# camwatch serves the frame that raised a fault; the scrape target is its address.
SNAPSHOT_LINK = "http://{{ $labels.instance }}/snapshot/{{ $labels.camera }}?fault={{ $labels.fault }}"


def camera_link() -> str:
    """The camera detail dashboard of the alert's camera (in the language being generated)."""
    return dashboard_path(CAMERA_UID, camera="{{ $labels.camera }}")


CLUSTER_CAMERAS = (
    # Cluster ids repeat across instances (switch-001 in two counties): the member list is the instance's own.
    "{{ range $i, $s := query (printf "
    '"camwatch_camera_cluster{cluster=%q,instance=%q,county_prometheus=%q}"'
    " $labels.cluster $labels.instance $labels.county_prometheus)"
    ' | sortByLabel "camera" }}{{ if $i }}, {{ end }}{{ $s.Labels.camera }}{{ end }}'
)
CLUSTER_SHARE = (
    "{{ with query (printf "
    '"camwatch_offline_cluster_share{cluster=%q,instance=%q,county_prometheus=%q}"'
    " $labels.cluster $labels.instance $labels.county_prometheus) }}"
    "{{ . | first | value | humanizePercentage }}{{ end }}"
)
CLUSTER_ONSET = (
    '{{ if eq $labels.onset "before_monitoring" }}have been unreachable since before monitoring began'
    "{{ else }}became unreachable together{{ end }}"
)
CAMERA_PLACE = (
    "{{ $labels.name }} at {{ $labels.site }},"
    " {{ $labels.county }} {{ $labels.township }} {{ $labels.village }}"
)
# Recording alerts: the recording check runs hourly, its faults stand between checks.
RECORDING_FOR = "5m"


def _camera_value(metric: str, pipe: str) -> str:
    """A Go template printing the alerting camera's ``metric`` through ``pipe``."""
    query = f'printf "{metric}{{camera=%q, instance=%q}}" $labels.camera $labels.instance'
    return f"{{{{ with query ({query}) }}}}{{{{ . | first | value | {pipe} }}}}{{{{ end }}}}"


RECORDING_LAST_AGE = _camera_value("camwatch_recording_last_age_seconds", "humanizeDuration")
RECORDING_GAPS = _camera_value("camwatch_recording_gaps_24h", 'printf "%.0f"')
RECORDING_RETENTION = _camera_value("camwatch_recording_retention_seconds", "humanizeDuration")


def recording_rules() -> list[Rule]:
    """Per-camera monitored/working series and per-area online and working-order (完好率) rates."""
    rules: list[Rule] = [
        # Cameras under maintenance are counted apart and never lower an area's rates.
        {
            "record": MONITORED_UP,
            "expr": f"camwatch_camera_up unless {ON_CAMERA} (camwatch_camera_maintenance == 1)",
        },
        {
            "record": WORKING,
            "expr": (
                f"({MONITORED_UP} unless {ON_CAMERA}"
                f' (camwatch_video_fault{{fault=~"{fault_regex(PICTURE_FAULTS)}"}} == 1))\n'
                f"or {ON_CAMERA} (0 * {MONITORED_UP})"
            ),
        },
    ]
    for level, labels in {FLEET_LEVEL: (), **RATE_LEVELS}.items():
        by = f"by ({', '.join(labels)}) " if labels else ""
        cameras = LEVEL_CAMERAS.get(level, "")

        def per_area(
            operation: str,
            series: str,
            labels: tuple[str, ...] = labels,
            by: str = by,
            cameras: str = cameras,
        ) -> str:
            joined = with_info(series, labels, info_selector=cameras) if labels else series
            return f"{operation} {by}({joined})"

        monitored = area_series(level, "cameras_monitored:count")
        online = area_series(level, "cameras_online:sum")
        working = area_series(level, "cameras_working:sum")
        rules += [
            {"record": monitored, "expr": per_area("count", MONITORED_UP)},
            {"record": online, "expr": per_area("sum", MONITORED_UP)},
            {"record": working, "expr": per_area("sum", WORKING)},
            {"record": area_series(level, "camera_online:ratio"), "expr": f"{online} / {monitored}"},
            {"record": area_series(level, "camera_working:ratio"), "expr": f"{working} / {monitored}"},
        ]
    # Each area's online-rate target: its camwatch's (areas of one county may be split across instances).
    for level in AREA_RATE_LEVELS:
        labels = RATE_LEVELS[level]
        info = f"camwatch_camera_info{LEVEL_CAMERAS.get(level, '')}"
        rules.append(
            {
                "record": area_series(level, "online_target:max"),
                "expr": (
                    f"max by ({', '.join(labels)}) (\n"
                    f"  {info} * on({', '.join(INSTANCE_LABELS)}) group_left() camwatch_online_target\n)"
                ),
            }
        )
    return rules


def alert(
    name: str,
    expr: str,
    *,
    duration: str,
    severity: str,
    summary: str,
    description: str,
    link: str,
    fills: dict[str, str] | None = None,
    **extra: str,
) -> Rule:
    """One alerting rule with the labels and annotations every camwatch alert carries; ``summary`` and
    ``description`` are the English, the Chinese is ``_zh.ZH_ALERTS[name]`` with ``fills`` filled in."""
    summary, description = alert_texts(name, summary, description, **(fills or {}))
    return {
        "alert": name,
        "expr": expr,
        "for": duration,
        "labels": {"severity": severity},
        "annotations": {"summary": summary, "description": description, "dashboard_url": link, **extra},
    }


def camera_alert_expr(selected: str) -> str:
    """Per-camera alert expression: silenced cameras dropped, metadata labels joined."""
    return with_info(f"{selected} unless {ON_CAMERA} {SILENCED}", CAMERA_ALERT_LABELS)


def camera_down_expr() -> str:
    """Down cameras; those in an active offline cluster carry its ``cluster`` label for inhibition."""
    down = camera_alert_expr("(camwatch_camera_up == 0)")
    return f"({down}) * {ON_CAMERA} group_left(cluster) camwatch_camera_cluster\nor {ON_CAMERA}\n{down}"


def offline_cluster_expr() -> str:
    """Active offline clusters with their label, area and onset; a cluster without info still alerts."""
    active = "(camwatch_offline_cluster_cameras > 0)"
    return (
        f"{active} * {ON_CLUSTER} group_left(kind, key, county, township, onset)"
        f" camwatch_offline_cluster_info\nor {ON_CLUSTER}\n{active}"
    )


def area_target(level: str) -> str:
    """A Go template printing the online-rate target of the alerting area of ``level``."""
    labels = RATE_LEVELS[level]
    matchers = ", ".join(f"{label}=%q" for label in labels)
    args = " ".join(f"$labels.{label}" for label in labels)
    series = area_series(level, "online_target:max")
    return (
        f'{{{{ with query (printf "{series}{{{matchers}}}" {args}) }}}}'
        "{{ . | first | value | humanizePercentage }}"
        f"{{{{ else }}}}{DEFAULT_ONLINE_TARGET:.0%}{{{{ end }}}}"
    )


def no_video_selected() -> str:
    return f'(camwatch_video_fault{{fault="{NO_VIDEO}"}} == 1) unless {ON_CAMERA} {SILENCED}'


def camera_no_video_alert() -> Rule:
    """CameraNoVideo: the camera answers, its picture never comes; carries its topology labels, by which a
    no-picture cluster mutes it."""
    return alert(
        "CameraNoVideo",
        with_info(no_video_selected(), (*CAMERA_ALERT_LABELS, "switch")),
        duration=PICTURE_FAULT_FOR,
        severity="warning",
        summary="Camera {{ $labels.camera }} is online but shows no picture",
        description=(
            f"Camera {{{{ $labels.camera }}}} ({CAMERA_PLACE}) answers, but no picture has come from it for "
            f"{PICTURE_FAULT_FOR}: SETUP or PLAY refused, no RTP (a firewall or NAT), or nothing decodable. "
            "Its video check's error says which."
        ),
        link=camera_link(),
        fills={"duration": PICTURE_FAULT_FOR},
    )


def no_video_cluster_alert(label: str) -> Rule:
    """NoVideoCluster for one topology label: that many cameras of one switch (or site) answer but show no
    picture together, e.g. a firewall blocking RTP for the site; one page."""
    joined = with_info(no_video_selected(), ("county", "township", label), info_selector=f'{{{label}!=""}}')
    grouped = f"count by ({', '.join(INSTANCE_LABELS)}, county, township, {label}) (\n  {joined}\n)"
    rule = alert(
        "NoVideoCluster",
        f'label_replace(\n{grouped} >= {NO_VIDEO_CLUSTER_MIN},\n"cluster", "{label}:$1", "{label}", "(.+)")',
        duration=NO_VIDEO_CLUSTER_FOR,
        severity="warning",
        summary=f"{{{{ $value }}}} cameras of {label} {{{{ $labels.{label} }}}} show no picture",
        description=(
            f"{{{{ $value }}}} cameras of {label} {{{{ $labels.{label} }}}} in {{{{ $labels.county }}}} "
            "{{ $labels.township }} answer but have shown no picture together for "
            f"{NO_VIDEO_CLUSTER_FOR}: RTP is likely blocked on their way (a firewall, NAT, a media server). "
            "Their CameraNoVideo pages are muted, except priority cameras'."
        ),
        link=dashboard_path(AREA_UID, county="{{ $labels.county }}", township="{{ $labels.township }}"),
        fills={
            "duration": NO_VIDEO_CLUSTER_FOR,
            "kind": {"switch": "交换机", "site": "站点"}.get(label, label),
            "label": label,
        },
    )
    rule["labels"]["kind"] = label
    return rule


def area_rate_alert(level: str) -> Rule:
    """AreaOnlineRateLow for one area level: its online rate below its camwatch's target (the default where
    none is exported), linking to the drill-down filtered to that area."""
    labels = RATE_LEVELS[level]
    place = " ".join(f"{{{{ $labels.{label} }}}}" for label in labels)
    rate = area_series(level, "camera_online:ratio")
    target = f"{area_series(level, 'online_target:max')}\n  or 0 * {rate} + {DEFAULT_ONLINE_TARGET}"
    name = LEVEL_LABELS[level].lower()
    rule = alert(
        "AreaOnlineRateLow",
        f"{rate}\n< (\n  {target}\n)",
        duration="15m",
        severity="warning",
        summary=f"Online rate of {name} {place} is {{{{ $value | humanizePercentage }}}}",
        description=(
            f"Fewer than {area_target(level)} (the target) of the monitored cameras of {name} {place} "
            "have been online for 15 minutes (cameras under maintenance excluded)."
        ),
        link=dashboard_path(AREA_UID, **{label: f"{{{{ $labels.{label} }}}}" for label in labels}),
        fills={"level": t(LEVEL_LABELS[level]), "place": place, "target": area_target(level)},
    )
    rule["labels"]["level"] = level
    return rule


def gb28181_device_down_alert() -> Rule:
    """Gb28181DeviceDown: a registered device, NVR or lower platform silent past its keepalive deadline; the
    value is its catalog's channel count, and ``key`` the offline-cluster key of its channels."""
    rule = alert(
        "Gb28181DeviceDown",
        (
            f"sum by (job, {', '.join(INSTANCE_LABELS)}, device) (camwatch_gb28181_channels)\n"
            f"and {ON_DEVICE} (camwatch_gb28181_device_up == 0)"
        ),
        duration=GB28181_DEVICE_DOWN_FOR,
        severity="critical",
        summary="GB/T 28181 device {{ $labels.device }} and its {{ $value }} channels are silent",
        description=(
            "GB/T 28181 device {{ $labels.device }} (an IPC, NVR or lower platform registered with "
            "{{ $labels.instance }}) has missed its keepalives past the deadline (interval x count): it and "
            "its {{ $value }} channels are offline. Any offline cluster its linked cameras form "
            f"({GB28181_CLUSTER_KEY}) stays quiet, and so do their CameraDown pages, except priority "
            "cameras'."
        ),
        link=dashboard_path(FLEET_UID),
        fills={"cluster_key": GB28181_CLUSTER_KEY},
    )
    rule["labels"]["key"] = GB28181_CLUSTER_KEY
    return rule


def _fault_selected(fault: str) -> str:
    return f'(camwatch_video_fault{{fault="{fault}"}} == 1)'


def recording_alerts() -> list[Rule]:
    """Recording integrity (录像完整性): per camera, stopped (muted while its recorder has a disk fault,
    which pages once as RecorderStorageFault), gaps and short retention; per recorder, its failed disks."""
    stopped = f"{_fault_selected('recording_stopped')}\nunless {ON_CAMERA} {_fault_selected('storage_fault')}"
    return [
        alert(
            "CameraRecordingStopped",
            camera_alert_expr(f"({stopped})"),
            duration=RECORDING_FOR,
            severity="warning",
            summary="Camera {{ $labels.camera }} is not being recorded",
            description=(
                f"The recorder of camera {{{{ $labels.camera }}}} ({CAMERA_PLACE}) holds no footage of it "
                "from the last " + RECORDING_LAST_AGE + ", while the camera is up: its recording has stopped."
            ),
            link=camera_link(),
            fills={"last_age": RECORDING_LAST_AGE},
        ),
        alert(
            "CameraRecordingGaps",
            camera_alert_expr(_fault_selected("recording_gaps")),
            duration=RECORDING_FOR,
            severity="warning",
            summary="Camera {{ $labels.camera }} has gaps in its recording",
            description=(
                f"The footage of camera {{{{ $labels.camera }}}} ({CAMERA_PLACE}) in the last 24 hours has "
                + RECORDING_GAPS
                + " gaps longer than monitor.recording.gap."
            ),
            link=camera_link(),
            fills={"gaps": RECORDING_GAPS},
        ),
        alert(
            "CameraRetentionShort",
            camera_alert_expr(_fault_selected("retention_short")),
            duration=RECORDING_FOR,
            severity="warning",
            summary="Camera {{ $labels.camera }} footage is kept too briefly",
            description=(
                f"The recorder of camera {{{{ $labels.camera }}}} ({CAMERA_PLACE}) keeps "
                + RECORDING_RETENTION
                + " of its footage, less than its retention target."
            ),
            link=camera_link(),
            fills={"retention": RECORDING_RETENTION},
        ),
        alert(
            "RecorderStorageFault",
            f"count by (job, {', '.join(INSTANCE_LABELS)}, recorder) (camwatch_recorder_disk_ok == 0)",
            duration=RECORDING_FOR,
            severity="critical",
            summary="Recorder {{ $labels.recorder }} has {{ $value }} failed disks",
            description=(
                "{{ $value }} disks of recorder {{ $labels.recorder }} have failed, are unformatted or "
                "read-only: the footage of its channels is at risk. Their CameraRecordingStopped pages are "
                "muted."
            ),
            link=dashboard_path(FLEET_UID),
        ),
    ]


# The camera's own tamper detector (ONVIF events): a person passing close can trip it, so it must hold.
TAMPER_FOR = "2m"


def camera_tamper_alert() -> Rule:
    """The camera itself says it is covered, turned or sprayed (``camwatch_camera_event{event="tamper"}``):
    a warning of its own, apart from the faults camwatch measures in the picture."""
    return alert(
        "CameraTampered",
        camera_alert_expr('(camwatch_camera_event{event="tamper"} == 1)'),
        duration=TAMPER_FOR,
        severity="warning",
        summary="Camera {{ $labels.camera }} reports tampering",
        description=(
            f"Camera {{{{ $labels.camera }}}} ({CAMERA_PLACE}) has reported tampering for {TAMPER_FOR}: "
            "its own tamper detector (ONVIF event) says it is covered, turned or sprayed."
        ),
        link=camera_link(),
        fills={"duration": TAMPER_FOR},
        snapshot_url=SNAPSHOT_LINK,
    )


def alerting_rules() -> list[Rule]:
    """The alerts of issue 4 and the service's own health alerts."""
    return [
        alert(
            "CameraDown",
            camera_down_expr(),
            duration=CAMERA_DOWN_FOR,
            severity="critical",
            summary="Camera {{ $labels.camera }} is down",
            description=(
                f"Camera {{{{ $labels.camera }}}} ({CAMERA_PLACE}) has failed its probes"
                f" for {CAMERA_DOWN_FOR}."
            ),
            link=camera_link(),
            fills={"duration": CAMERA_DOWN_FOR},
        ),
        alert(
            "CameraVideoFault",
            camera_alert_expr(
                f'(camwatch_video_fault{{fault=~"{fault_regex(ALERTING_PICTURE_FAULTS)}"}} == 1)'
            ),
            duration=PICTURE_FAULT_FOR,
            severity="warning",
            summary="Camera {{ $labels.camera }} picture is {{ $labels.fault }}",
            description=(
                f"The picture of camera {{{{ $labels.camera }}}} ({CAMERA_PLACE}) has been judged "
                f"{{{{ $labels.fault }}}} for {PICTURE_FAULT_FOR}."
            ),
            link=camera_link(),
            fills={"duration": PICTURE_FAULT_FOR},
            snapshot_url=SNAPSHOT_LINK,
        ),
        camera_no_video_alert(),
        *(no_video_cluster_alert(label) for label in NO_VIDEO_CLUSTER_LABELS),
        alert(
            "CameraClockSkew",
            camera_alert_expr('(camwatch_video_fault{fault="clock_skew"} == 1)'),
            duration="30m",
            severity="info",
            summary="Camera {{ $labels.camera }} clock is off",
            description=(
                f"The clock of camera {{{{ $labels.camera }}}} ({CAMERA_PLACE}) is off by "
                '{{ with query (printf "camwatch_onvif_clock_offset_seconds{camera=%q, instance=%q}"'
                " $labels.camera $labels.instance) }}"
                '{{ . | first | value | printf "%.0f" }}{{ end }} s; recorded video times are wrong.'
            ),
            link=camera_link(),
        ),
        *recording_alerts(),
        camera_tamper_alert(),
        alert(
            "OfflineCluster",
            offline_cluster_expr(),
            duration=OFFLINE_CLUSTER_FOR,
            severity="critical",
            summary="{{ $value }} cameras of {{ $labels.kind }} {{ $labels.key }} are unreachable together",
            description=(
                "{{ $value }} cameras of {{ $labels.kind }} {{ $labels.key }} in {{ $labels.county }} "
                "{{ $labels.township }} " + CLUSTER_ONSET + " (" + CLUSTER_SHARE + " of its monitored "
                "cameras are unreachable): " + CLUSTER_CAMERAS + ". Their CameraDown pages are muted, "
                "except priority cameras'."
            ),
            fills={"cluster_cameras": CLUSTER_CAMERAS, "cluster_share": CLUSTER_SHARE},
            link=dashboard_path(AREA_UID, county="{{ $labels.county }}", township="{{ $labels.township }}"),
        ),
        gb28181_device_down_alert(),
        *(area_rate_alert(level) for level in AREA_RATE_LEVELS),
        alert(
            "CoverageBelowTarget",
            f"camwatch_coverage_effective_ratio < on(category) group_left() {target_ratio()}",
            duration="30m",
            severity="warning",
            summary="{{ $labels.category }} coverage in {{ $labels.area }} is below target",
            description=(
                "Cameras that are up cover {{ $value | humanizePercentage }} of {{ $labels.category }} "
                "in {{ $labels.area }}, below the target of "
                '{{ with query (printf "max(camwatch_coverage_target_ratio{category=%q})"'
                " $labels.category) }}"
                "{{ . | first | value | humanizePercentage }}{{ end }}."
            ),
            link=dashboard_path(COVERAGE_UID, area="{{ $labels.area }}", category="{{ $labels.category }}"),
        ),
        alert(
            "CamwatchProbesStale",
            (
                f"count by (job, {', '.join(INSTANCE_LABELS)}) (\n"
                f"  time() - max by (job, {', '.join(INSTANCE_LABELS)}, camera)"
                " (camwatch_probe_last_timestamp_seconds)"
                f" > {PROBE_STALE_SECONDS}\n)"
            ),
            duration="5m",
            severity="critical",
            summary="camwatch {{ $labels.instance }} has stopped probing {{ $value }} cameras",
            description=(
                f"{{{{ $value }}}} cameras of {{{{ $labels.instance }}}} have not been probed for over "
                f"{PROBE_STALE_SECONDS // 60} minutes: the scheduler is stalled or overloaded, so their "
                "status on the dashboards is stale."
            ),
            link=dashboard_path(FLEET_UID),
            fills={"stale_minutes": str(PROBE_STALE_SECONDS // 60)},
        ),
        alert(
            "CamwatchDown",
            'up{job=~"camwatch.*"} == 0',
            duration="5m",
            severity="critical",
            summary="camwatch {{ $labels.instance }} cannot be scraped",
            description=(
                "Prometheus has failed to scrape {{ $labels.instance }} for 5 minutes: "
                "no camera it monitors is watched."
            ),
            link=dashboard_path(FLEET_UID),
        ),
        alert(
            "CamwatchConfigReloadFailed",
            "camwatch_config_last_reload_successful == 0",
            duration="5m",
            severity="warning",
            summary="camwatch {{ $labels.instance }} rejected its new configuration",
            description=(
                "The last configuration reload of {{ $labels.instance }} failed; it keeps running the "
                "previous one. Run `camwatch check-config` to see why."
            ),
            link=dashboard_path(FLEET_UID),
        ),
    ]


class _LiteralDumper(yaml.SafeDumper):
    """Writes multi-line strings (PromQL, templates) as literal blocks so the file reads well."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_LiteralDumper.add_representer(str, _represent_str)


def render_rules() -> str:
    """The rule file's text."""
    groups = {
        "groups": [
            {"name": "camwatch.records", "rules": recording_rules()},
            {"name": "camwatch.alerts", "rules": alerting_rules()},
        ]
    }
    header = "# Generated by `python -m camwatch.dashboards.generate`; edit dashboards/_rules.py instead.\n"
    return header + yaml.dump(
        groups, Dumper=_LiteralDumper, sort_keys=False, allow_unicode=True, width=1_000_000
    )
