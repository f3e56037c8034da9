"""Per-camera families through prometheus_client's generic metric families, as the exporter first built them.

The reference the exporter's direct renderer must match byte for byte (and benchmarks/bench_scrape.py's
"generic" side)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from camwatch.monitor.exporter import INFO_LABELS, VALUE_METRICS, service_metrics
from camwatch.monitor.faults import FAULTS
from camwatch.monitor.live import Snapshot
from camwatch.monitor.probes.registry import SPEC
from camwatch.monitor.tracker import CameraTrack


class ReferenceCollector(Collector):
    """Every camwatch family, all built fresh through prometheus_client on each collect()."""

    def __init__(self, snapshot: Callable[[], Snapshot], *, service: bool = True):
        self._snapshot, self._service = snapshot, service

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterable[Metric]:
        snap = self._snapshot()
        yield from reference_camera_metrics(snap.tracks.values(), snap.maintenance)
        if self._service:
            yield from service_metrics(snap)


def _gauge(name: str, doc: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=labels)


def reference_camera_metrics(tracks: Iterable[CameraTrack], maintenance: frozenset[str]) -> list[Metric]:
    info = _gauge("camwatch_camera_info", "Camera metadata; join on `camera`.", list(INFO_LABELS))
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
    fault = _gauge(
        "camwatch_video_fault", "1 while the fault is present; absent otherwise.", ["camera", "fault"]
    )
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
            # Flags for the faults the checks that ran can raise, in vocabulary order.
            raised = {f for name in t.probes if name in SPEC for f in SPEC[name].faults}
            kinds = [f.name for f in FAULTS if f.kind != "stream" and f.name in raised]
            for kind in kinds:
                if kind in t.faults:
                    fault.add_metric([cid, kind], 1)
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
