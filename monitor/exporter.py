"""Prometheus collector over the monitor's in-memory snapshot: no probing and no I/O at scrape time."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from camwatch.monitor.outcome import VIDEO_FAULTS
from camwatch.monitor.snapshot import Snapshot
from camwatch.monitor.tracker import CameraTrack

INFO_LABELS = (
    "camera",
    "name",
    "site",
    "county",
    "township",
    "village",
    "vendor",
    "model",
    "tier",
    "switch",
    "fibre",
    "power",
    "lat",
    "lon",
    "priority",
)
VALUE_METRICS = {
    "fps": ("camwatch_video_fps", "Frames per second measured on the stream."),
    "luma": ("camwatch_video_luma", "Mean luma (0-255) of the analysed frames."),
    "sharpness": ("camwatch_video_sharpness", "Variance of the Laplacian at the fixed analysis size."),
    "clock_offset_seconds": ("camwatch_onvif_clock_offset_seconds", "Camera clock minus monitor clock."),
}
FAULT_KINDS = (*VIDEO_FAULTS, "clock_skew")


def _gauge(name: str, doc: str, labels: Sequence[str] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=list(labels))


class MonitorCollector(Collector):
    """Builds every camwatch metric fresh from ``snapshot()`` on each scrape."""

    def __init__(self, snapshot: Callable[[], Snapshot]):
        self._snapshot = snapshot

    def describe(self) -> Iterable[Metric]:
        return []  # keeps the registry from calling collect() at registration

    def collect(self) -> Iterable[Metric]:
        snap = self._snapshot()
        yield from camera_metrics(snap.tracks.values(), snap.maintenance)
        yield from service_metrics(snap)


def camera_metrics(tracks: Iterable[CameraTrack], maintenance: frozenset[str] = frozenset()) -> list[Metric]:
    """Per-camera families; also used by ``/probe`` for a single camera."""
    info = _gauge("camwatch_camera_info", "Camera metadata; join on `camera`.", INFO_LABELS)
    up = _gauge("camwatch_camera_up", "1 if the camera's stream (or ONVIF service) answers.", ["camera"])
    status = _gauge("camwatch_camera_status", "Current camera status, one-hot.", ["camera", "status"])
    working = _gauge("camwatch_camera_working", "1 if online with a usable picture (完好).", ["camera"])
    maint = _gauge("camwatch_camera_maintenance", "1 while the camera is under maintenance.", ["camera"])
    changed = _gauge(
        "camwatch_camera_last_change_timestamp_seconds", "When the status last changed.", ["camera"]
    )
    flaps = CounterMetricFamily(
        "camwatch_camera_flaps", "Up/down transitions since the state began.", labels=["camera"]
    )
    success = _gauge("camwatch_probe_success", "1 if the probe succeeded.", ["camera", "probe"])
    duration = _gauge("camwatch_probe_duration_seconds", "How long the probe took.", ["camera", "probe"])
    last = _gauge("camwatch_probe_last_timestamp_seconds", "When the probe last ran.", ["camera", "probe"])
    fault = _gauge("camwatch_video_fault", "1 while the fault is present.", ["camera", "fault"])
    stream_up = _gauge(
        "camwatch_stream_up", "1 if this stream of the camera answers DESCRIBE.", ["camera", "stream"]
    )
    values = {key: _gauge(name, doc, ["camera"]) for key, (name, doc) in VALUE_METRICS.items()}

    for t in tracks:
        cid = t.camera.id
        labels = t.camera.info_labels()
        info.add_metric([cid, *(labels[k] for k in INFO_LABELS[1:])], 1)
        maint.add_metric([cid], 1 if cid in maintenance else 0)
        if t.up is None:
            continue
        up.add_metric([cid], 1 if t.up else 0)
        status.add_metric([cid, t.status], 1)
        working.add_metric([cid], 1 if t.working else 0)
        changed.add_metric([cid], t.since)
        flaps.add_metric([cid], t.flaps)
        for name, result in t.probes.items():
            success.add_metric([cid, name], 1 if result.success else 0)
            duration.add_metric([cid, name], result.duration_seconds)
            last.add_metric([cid, name], t.probe_times.get(name, 0.0))
        rtsp = t.probes.get("rtsp")
        for role, stream_status in (rtsp.details.get("streams", {}) if rtsp else {}).items():
            stream_up.add_metric([cid, role], 1 if stream_status == "ok" else 0)
        if t.up:
            kinds = (VIDEO_FAULTS if "video" in t.probes else ()) + (
                ("clock_skew",) if "onvif" in t.probes else ()
            )
            for kind in kinds:
                fault.add_metric([cid, kind], 1 if kind in t.faults else 0)
        if t.result is not None:
            for key, value in t.result.values.items():
                if key in values:
                    values[key].add_metric([cid], value)
    return [
        info,
        up,
        status,
        working,
        maint,
        changed,
        flaps,
        success,
        duration,
        last,
        fault,
        stream_up,
        *values.values(),
    ]


def service_metrics(snap: Snapshot) -> list[Metric]:
    probes_total = CounterMetricFamily(
        "camwatch_probes", "Probes run, by probe and result status.", labels=["probe", "result"]
    )
    for (probe, result), n in sorted(snap.probes_total.items()):
        probes_total.add_metric([probe, result], n)

    lat = snap.lateness
    cumulative, buckets = 0, []
    for bound, count in zip((*lat.buckets, float("inf")), lat.counts, strict=True):
        cumulative += count
        buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
    lateness = HistogramMetricFamily(
        "camwatch_scheduler_lateness_seconds",
        "How late probe rounds start after their due time.",
        buckets=buckets,
        sum_value=lat.total,
    )

    cluster_size = _gauge(
        "camwatch_offline_cluster_cameras", "Cameras down together in an offline cluster.", ["cluster"]
    )
    cluster_info = _gauge(
        "camwatch_offline_cluster_info",
        "Offline cluster metadata.",
        ["cluster", "kind", "key", "county", "township"],
    )
    cluster_since = _gauge(
        "camwatch_offline_cluster_since_timestamp_seconds", "When the cluster formed.", ["cluster"]
    )
    member = _gauge(
        "camwatch_camera_cluster", "1 for each down camera in an offline cluster.", ["camera", "cluster"]
    )
    for c in snap.clusters:
        cluster_size.add_metric([c.cluster], len(c.cameras))
        cluster_info.add_metric([c.cluster, c.kind, c.key, c.county, c.township], 1)
        cluster_since.add_metric([c.cluster], c.since)
        for cam in c.cameras:
            member.add_metric([cam, c.cluster], 1)

    ratio = _gauge(
        "camwatch_coverage_ratio", "Share of the category covered by any camera.", ["area", "category"]
    )
    effective = _gauge(
        "camwatch_coverage_effective_ratio", "Share covered by cameras that are up.", ["area", "category"]
    )
    target = _gauge("camwatch_coverage_target_ratio", "Provincial target for the category.", ["category"])
    targets: dict[str, float] = {}
    for row in snap.coverage:
        ratio.add_metric([row.area, row.category], row.ratio)
        effective.add_metric([row.area, row.category], row.effective_ratio)
        targets[row.category] = row.target
    for category, value in sorted(targets.items()):
        target.add_metric([category], value)

    events = CounterMetricFamily(
        "camwatch_device_events",
        "Device events: replaced, firmware_changed, clock_reset.",
        labels=["camera", "event"],
    )
    for (camera, kind), n in sorted(snap.events_total.items()):
        events.add_metric([camera, kind], n)
    healthy = _gauge("camwatch_state_healthy", "1 while the state database accepts writes.")
    healthy.add_metric([], 1 if snap.state_healthy else 0)
    write_errors = CounterMetricFamily("camwatch_state_write_errors", "Failed state database flushes.")
    write_errors.add_metric([], snap.state_write_errors)
    reload_ok = _gauge("camwatch_config_last_reload_successful", "1 if the last config (re)load succeeded.")
    reload_ok.add_metric([], 1 if snap.config_reload_ok else 0)
    reload_ts = _gauge(
        "camwatch_config_last_reload_success_timestamp_seconds", "When the config last loaded."
    )
    reload_ts.add_metric([], snap.config_reload_timestamp)
    return [
        probes_total,
        lateness,
        cluster_size,
        cluster_info,
        cluster_since,
        member,
        ratio,
        effective,
        target,
        events,
        healthy,
        write_errors,
        reload_ok,
        reload_ts,
    ]
