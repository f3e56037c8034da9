"""The collector exports the snapshot under the contract's names and labels."""

from __future__ import annotations

from prometheus_client import generate_latest
from prometheus_client.registry import CollectorRegistry

from camwatch.config.models import Debounce
from camwatch.monitor.exporter import INFO_LABELS, MonitorCollector
from camwatch.monitor.probes.base import ProbeResult
from camwatch.monitor.snapshot import ClusterView, CoverageView, Snapshot
from camwatch.monitor.tracker import Tracker
from support.cameras import make_camera


def build() -> tuple[CollectorRegistry, Snapshot]:
    cams = {
        "a": make_camera(
            id="a",
            name="东门",
            rtsp_url="rtsp://127.0.0.1:1/a",
            onvif_host="127.0.0.1",
            county="柘城县",
            township="城关镇",
            village="",
            lat=34.1,
            lon=115.3,
        ),
        "b": make_camera(id="b", rtsp_url="rtsp://127.0.0.1:1/b", switch="sw-1"),
        "c": make_camera(id="c", rtsp_url="rtsp://127.0.0.1:1/c"),
        "d": make_camera(id="d", rtsp_url="rtsp://127.0.0.1:1/d"),
    }
    tracker = Tracker(cams, Debounce())
    tracker.observe(
        "a",
        {
            "rtsp": ProbeResult("rtsp", True, "ok", 0.012),
            "video": ProbeResult(
                "video",
                False,
                "frozen",
                2.5,
                faults=("frozen",),
                values={"fps": 14.5, "luma": 90.0, "sharpness": 210.0},
            ),
            "onvif": ProbeResult(
                "onvif", True, "ok", 0.2, faults=("clock_skew",), values={"clock_offset_seconds": 301.0}
            ),
        },
        1000.0,
    )
    tracker.observe("b", {"rtsp": ProbeResult("rtsp", False, "timeout", 5.0, error="timed out")}, 1001.0)
    tracker.observe(
        "d",
        {
            "rtsp": ProbeResult(
                "rtsp",
                True,
                "ok",
                0.02,
                faults=("sub_stream_down",),
                details={"streams": {"main": "ok", "sub": "not_found"}},
            )
        },
        1002.0,
    )
    snap = Snapshot(
        tracks=tracker.tracks,
        probes_total={("rtsp", "ok"): 5, ("rtsp", "timeout"): 2},
        clusters=[ClusterView("switch:sw-1", "switch", "sw-1", ("b",), county="柘城县", since=1001.0)],
        coverage=[CoverageView("柘城县", "school", 0.8, 0.6, 1.0)],
        maintenance=frozenset({"c"}),
    )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MonitorCollector(lambda: snap))
    return registry, snap


def test_camera_metrics():
    reg, _ = build()
    v = reg.get_sample_value
    assert v("camwatch_camera_up", {"camera": "a"}) == 1
    assert v("camwatch_camera_up", {"camera": "b"}) == 0
    assert v("camwatch_camera_up", {"camera": "c"}) is None  # never probed: no made-up value
    assert v("camwatch_camera_status", {"camera": "a", "status": "frozen"}) == 1
    assert v("camwatch_camera_status", {"camera": "b", "status": "timeout"}) == 1
    assert v("camwatch_camera_working", {"camera": "a"}) == 0
    assert v("camwatch_video_fault", {"camera": "a", "fault": "frozen"}) == 1
    assert v("camwatch_video_fault", {"camera": "a", "fault": "black"}) == 0
    assert v("camwatch_video_fault", {"camera": "a", "fault": "clock_skew"}) == 1
    assert v("camwatch_video_fps", {"camera": "a"}) == 14.5
    assert v("camwatch_video_sharpness", {"camera": "a"}) == 210.0
    assert v("camwatch_onvif_clock_offset_seconds", {"camera": "a"}) == 301.0
    assert v("camwatch_probe_success", {"camera": "a", "probe": "video"}) == 0
    assert v("camwatch_probe_duration_seconds", {"camera": "b", "probe": "rtsp"}) == 5.0
    assert v("camwatch_probe_last_timestamp_seconds", {"camera": "b", "probe": "rtsp"}) == 1001.0
    assert v("camwatch_camera_last_change_timestamp_seconds", {"camera": "a"}) == 1000.0
    assert v("camwatch_camera_maintenance", {"camera": "c"}) == 1
    info = {
        "camera": "a",
        "name": "东门",
        "site": "",
        "county": "柘城县",
        "township": "城关镇",
        "village": "",
        "vendor": "",
        "model": "",
        "tier": "default",
        "switch": "",
        "fibre": "",
        "power": "",
        "lat": "34.100000",
        "lon": "115.300000",
        "priority": "false",
    }
    assert set(info) == set(INFO_LABELS)
    assert v("camwatch_camera_info", info) == 1


def test_stream_roles():
    reg, _ = build()
    v = reg.get_sample_value
    assert v("camwatch_stream_up", {"camera": "d", "stream": "main"}) == 1
    assert v("camwatch_stream_up", {"camera": "d", "stream": "sub"}) == 0
    assert v("camwatch_camera_up", {"camera": "d"}) == 1


def test_service_metrics():
    reg, _ = build()
    v = reg.get_sample_value
    assert v("camwatch_probes_total", {"probe": "rtsp", "result": "timeout"}) == 2
    assert v("camwatch_offline_cluster_cameras", {"cluster": "switch:sw-1"}) == 1
    assert v("camwatch_camera_cluster", {"camera": "b", "cluster": "switch:sw-1"}) == 1
    assert v("camwatch_coverage_ratio", {"area": "柘城县", "category": "school"}) == 0.8
    assert v("camwatch_coverage_effective_ratio", {"area": "柘城县", "category": "school"}) == 0.6
    assert v("camwatch_coverage_target_ratio", {"category": "school"}) == 1.0
    assert v("camwatch_scheduler_lateness_seconds_count", {}) == 0


def test_only_camera_is_a_per_camera_label_and_exposition_parses():
    reg, _ = build()
    text = generate_latest(reg).decode()
    from prometheus_client.parser import text_string_to_metric_families

    families = {f.name: f for f in text_string_to_metric_families(text)}
    for name, fam in families.items():
        if name == "camwatch_camera_info":
            continue
        for sample in fam.samples:
            if "camera" in sample.labels:  # per-camera series: metadata only via camwatch_camera_info
                assert not ({"county", "township", "name", "site"} & set(sample.labels)), name
    assert "camwatch_camera_up" in families
