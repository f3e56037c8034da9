"""The exporter serves the snapshot under the contract's names and labels, as the generic path would."""

from __future__ import annotations

import asyncio
import math
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import CollectorRegistry
from prometheus_client.utils import floatToGoString

from camwatch.config.models import Camera, Debounce, Stream
from camwatch.monitor import exporter as exporter_module
from camwatch.monitor.exporter import INFO_LABELS, CameraExposition, Exporter
from camwatch.monitor.exposition import escape_label_value, format_value
from camwatch.monitor.live import ClusterView, CoverageView, Snapshot
from camwatch.monitor.probes.base import ProbeResult
from camwatch.monitor.state import StoredCamera
from camwatch.monitor.tracker import Tracker
from support.cameras import make_camera
from support.exporter_reference import ReferenceCollector

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(body: bytes) -> Samples:
    """Every sample keyed by (name, sorted labels); fails on a family written in two places."""
    families = list(text_string_to_metric_families(body.decode()))
    names = [f.name for f in families]
    assert len(names) == len(set(names)), "a family is split"
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families for s in f.samples}


def value(found: Samples, metric: str, /, **labels: str) -> float | None:
    return found.get((metric, tuple(sorted(labels.items()))))


def build() -> tuple[Exporter, Snapshot]:
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
    return Exporter(lambda: snap), snap


def test_camera_metrics():
    exporter, _ = build()
    found = samples(exporter.exposition())
    v = value
    assert v(found, "camwatch_camera_up", camera="a") == 1
    assert v(found, "camwatch_camera_up", camera="b") == 0
    assert v(found, "camwatch_camera_up", camera="c") is None  # never probed: no made-up value
    assert v(found, "camwatch_camera_status", camera="a", status="frozen") == 1
    assert v(found, "camwatch_camera_status", camera="b", status="timeout") == 1
    assert v(found, "camwatch_camera_working", camera="a") == 0
    assert v(found, "camwatch_video_fault", camera="a", fault="frozen") == 1
    assert v(found, "camwatch_video_fault", camera="a", fault="black") is None  # absent faults: no series
    assert v(found, "camwatch_video_fault", camera="a", fault="clock_skew") == 1
    assert v(found, "camwatch_video_fps", camera="a") == 14.5
    assert v(found, "camwatch_video_sharpness", camera="a") == 210.0
    assert v(found, "camwatch_onvif_clock_offset_seconds", camera="a") == 301.0
    assert v(found, "camwatch_probe_success", camera="a", probe="video") == 0
    assert v(found, "camwatch_probe_duration_seconds", camera="b", probe="rtsp") == 5.0
    assert v(found, "camwatch_probe_last_timestamp_seconds", camera="b", probe="rtsp") == 1001.0
    assert v(found, "camwatch_camera_last_change_timestamp_seconds", camera="a") == 1000.0
    assert v(found, "camwatch_camera_flaps_total", camera="a") == 0
    assert v(found, "camwatch_camera_maintenance", camera="c") == 1
    assert v(found, "camwatch_camera_maintenance", camera="a") == 0
    info = {
        "camera": "a",
        "name": "东门",
        "site": "",
        "county": "柘城县",
        "township": "城关镇",
        "village": "",
        "police_station": "",
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
    assert v(found, "camwatch_camera_info", **info) == 1


def test_stream_roles():
    exporter, _ = build()
    found = samples(exporter.exposition())
    assert value(found, "camwatch_stream_up", camera="d", stream="main") == 1
    assert value(found, "camwatch_stream_up", camera="d", stream="sub") == 0
    assert value(found, "camwatch_camera_up", camera="d") == 1


def test_service_and_process_metrics():
    exporter, _ = build()
    found = samples(exporter.exposition())
    v = value
    assert v(found, "camwatch_probes_total", probe="rtsp", result="timeout") == 2
    assert v(found, "camwatch_offline_cluster_cameras", cluster="switch:sw-1") == 1
    assert v(found, "camwatch_camera_cluster", camera="b", cluster="switch:sw-1") == 1
    assert v(found, "camwatch_coverage_ratio", area="柘城县", category="school") == 0.8
    assert v(found, "camwatch_coverage_effective_ratio", area="柘城县", category="school") == 0.6
    assert v(found, "camwatch_coverage_target_ratio", category="school") == 1.0
    assert v(found, "camwatch_scheduler_lateness_seconds_count") == 0
    assert v(found, "camwatch_state_healthy") == 1
    assert (v(found, "process_resident_memory_bytes") or 0) > 0
    # The registry still answers for the service-level families.
    assert exporter.registry.get_sample_value("camwatch_probes_total", {"probe": "rtsp", "result": "ok"}) == 5


def test_only_camera_is_a_per_camera_label():
    exporter, _ = build()
    for name, labels in samples(exporter.exposition()):
        names = {k for k, _ in labels}
        if "camera" in names and name != "camwatch_camera_info":
            # Per-camera metadata only via camwatch_camera_info.
            assert not ({"county", "township", "name", "site"} & names), name


# -- the direct renderer matches prometheus_client's generic path exactly ----------------------------------

ODD = 'q"uote\\back\nslash'
CLOCK = "clock_offset_seconds"


def varied_fleet() -> tuple[Tracker, dict[str, Camera]]:
    """Cameras and results chosen for the renderer's edge cases."""
    cams = [
        make_camera(
            id="东门-1",
            name="东门 路口",
            rtsp_url="rtsp://127.0.0.1:1/a",
            onvif_host="127.0.0.1",
            county="柘城县",
            township="城关镇",
            village="李庄村",
            lat=34.123456789,
            lon=-115.5,
            priority=True,
        ),
        make_camera(id=ODD, name=ODD, site=ODD, vendor="\\", model='"', rtsp_url="rtsp://127.0.0.1:1/b"),
        make_camera(
            id="streams",
            streams=(
                Stream(role="main", rtsp_url="rtsp://127.0.0.1:1/m"),
                Stream(role=ODD, rtsp_url="rtsp://127.0.0.1:1/s"),
            ),
        ),
        make_camera(id="never", rtsp_url="rtsp://127.0.0.1:1/n"),
        make_camera(id="down", rtsp_url="rtsp://127.0.0.1:1/d", onvif_host="127.0.0.1"),
        make_camera(id="onvif-only", onvif_host="127.0.0.1"),
        make_camera(id="restored", rtsp_url="rtsp://127.0.0.1:1/r"),
        make_camera(id="maint", rtsp_url="rtsp://127.0.0.1:1/x"),
    ]
    cameras = {c.id: c for c in cams}
    restored = {"restored": StoredCamera("restored", False, "offline", (), 1.5e9, 1.5e9, 3)}
    tracker = Tracker(cameras, Debounce(down_after=1, up_after=1), restored)
    nan, inf = float("nan"), float("inf")
    tracker.observe(
        "东门-1",
        {
            "rtsp": ProbeResult("rtsp", True, "ok", 1e-07),
            "video": ProbeResult(
                "video",
                False,
                "black",
                2.000000001,
                faults=("black", "moved"),
                values={"fps": nan, "luma": 0.0, "sharpness": inf, "scene_match": 0.5},
            ),
            "onvif": ProbeResult("onvif", True, "ok", 0.2, values={CLOCK: -12345678.9}),
        },
        1_760_000_123.456789,
    )
    tracker.observe(ODD, {"rtsp": ProbeResult("rtsp", True, "ok", 123456789.0)}, 1e16)
    tracker.observe(
        "streams",
        {
            "rtsp": ProbeResult(
                "rtsp",
                True,
                "ok",
                0.3,
                faults=("sub_stream_down",),
                details={"streams": {"main": "ok", ODD: "timeout"}},
            )
        },
        -inf,
    )
    for at in (10.0, 20.0, 30.0):  # up, down, up again: two flaps
        ok = at != 20.0
        tracker.observe(
            "down",
            {
                "rtsp": ProbeResult("rtsp", ok, "ok" if ok else "offline", 0.5),
                "onvif": ProbeResult("onvif", ok, "ok" if ok else "offline", 0.25),
            },
            at,
        )
    tracker.observe("down", {"rtsp": ProbeResult("rtsp", False, "auth_failed", 0.01)}, 40.0)
    tracker.observe(
        "onvif-only",
        {
            "onvif": ProbeResult(
                "onvif", True, "ok", 0.1, faults=("clock_skew",), values={"clock_offset_seconds": 1e6}
            )
        },
        50.0,
    )
    tracker.observe("maint", {"rtsp": ProbeResult("rtsp", True, "ok", 0.1)}, 60.0)
    return tracker, cameras


def snapshot_of(tracker: Tracker, maintenance: frozenset[str]) -> Snapshot:
    return Snapshot(
        tracks=tracker.tracks,
        probes_total={("rtsp", "ok"): 7, (ODD, "error"): 1},
        clusters=[ClusterView("switch:" + ODD, "switch", ODD, ("down",), county="柘城县", since=1.5e9)],
        coverage=[CoverageView("柘城县", "school", 0.8, float("nan"), 1.0)],
        maintenance=maintenance,
        events_total={("东门-1", "replaced"): 1},
    )


def generic_body(snap: Snapshot, *, service: bool) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ReferenceCollector(lambda: snap, service=service))
    return generate_latest(registry)


def comparable(found: Samples) -> dict[tuple[str, tuple[tuple[str, str], ...]], str]:
    """Samples with values as text (NaN equals NaN), process metrics left out (they change by the call)."""
    return {key: repr(v) for key, v in found.items() if not key[0].startswith("process_")}


def assert_same_as_generic(exporter: Exporter, cameras: CameraExposition, snap: Snapshot) -> None:
    direct = b"".join(cameras.render(snap.tracks.values(), snap.maintenance))
    assert direct == generic_body(snap, service=False)  # byte for byte
    assert comparable(samples(exporter.exposition())) == comparable(samples(generic_body(snap, service=True)))


def test_direct_renderer_matches_generic_path():
    tracker, _ = varied_fleet()
    snap = snapshot_of(tracker, frozenset({"maint", ODD}))
    assert_same_as_generic(Exporter(lambda: snap), CameraExposition(), snap)
    found = samples(generic_body(snap, service=False))
    assert value(found, "camwatch_stream_up", camera="streams", stream=ODD) == 0
    assert value(found, "camwatch_camera_maintenance", camera=ODD) == 1
    assert value(found, "camwatch_camera_flaps_total", camera="restored") == 3
    assert math.isnan(value(found, "camwatch_video_fps", camera="东门-1") or 0)


def test_cached_lines_follow_every_change():
    """Each kind of change between scrapes shows in the next scrape, and only current cameras appear."""
    tracker, cameras = varied_fleet()
    maintenance = frozenset({"maint"})
    state = {"snap": snapshot_of(tracker, maintenance)}
    exporter, cameras_text = Exporter(lambda: state["snap"]), CameraExposition()

    def scrape_matches() -> None:
        state["snap"] = snapshot_of(tracker, maintenance)
        assert_same_as_generic(exporter, cameras_text, state["snap"])

    scrape_matches()
    tracker.observe("down", {"rtsp": ProbeResult("rtsp", True, "ok", 0.2)}, 100.0)  # back up
    tracker.observe("东门-1", {"rtsp": ProbeResult("rtsp", True, "ok", 0.4)}, 101.0)  # only rtsp ran
    tracker.observe("maint", {"rtsp": ProbeResult("rtsp", True, "ok", 0.1)}, 60.0)  # equal result, same time
    skewed = ProbeResult("onvif", True, "ok", 0.1, faults=("clock_skew",), values={CLOCK: -2e6})
    tracker.observe("onvif-only", {"onvif": skewed}, 103.0)  # new value, same faults
    scrape_matches()
    tracker.observe(
        "东门-1",
        {
            "video": ProbeResult(
                "video", True, "ok", 2.0, values={"fps": 25.0, "luma": 80.0, "sharpness": 400.0}
            )
        },
        102.0,
    )
    again = tracker.tracks["maint"].probes["rtsp"]
    tracker.observe("maint", {"rtsp": again}, 70.0)  # the very same result object, a later time
    tracker.tracks["never"].up = True  # restored or debounced state without a new result
    tracker.tracks["never"].status = "ok"
    scrape_matches()
    maintenance = frozenset({"down"})
    scrape_matches()
    renamed = cameras["东门-1"].model_copy(update={"name": "西门"})
    same = {cid: c.model_copy() for cid, c in cameras.items() if cid not in ("东门-1", "maint")}
    tracker.replace_inventory({"东门-1": renamed, **same})  # reload: one renamed, one removed, others equal
    scrape_matches()
    assert 'camera="maint"' not in exporter.exposition().decode()


@given(st.one_of(st.floats(), st.integers(min_value=-(10**18), max_value=10**18), st.booleans()))
def test_values_are_written_as_prometheus_client_writes_them(number: float):
    assert format_value(number) == floatToGoString(number)


@given(st.text())
def test_label_values_survive_the_parser(text: str):
    line = f'm{{camera="{escape_label_value(text)}"}} 1.0\n'
    (family,) = text_string_to_metric_families(line)
    assert family.samples[0].labels == {"camera": text}


def test_prometheus_parses_the_body():
    tracker, _ = varied_fleet()
    snap = snapshot_of(tracker, frozenset({"maint"}))
    checked = subprocess.run(
        ["promtool", "check", "metrics"],
        input=Exporter(lambda: snap).exposition(),
        capture_output=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


class _NoWalk(list[object]):
    """Tracks a render must not walk: it may ask how many there are, never iterate them."""

    def __iter__(self):  # type: ignore[no-untyped-def]
        raise AssertionError("the render walked every track")


def test_followed_changes_render_as_a_walk_does_without_walking():
    """With ``follow_changes`` the owner reports each applied result (as the service does), a scrape only
    joins the cached lines, and the body is still byte for byte the generic one after every kind of change."""
    tracker, cameras = varied_fleet()
    maintenance = frozenset({"maint"})
    followed = CameraExposition(follow_changes=True)

    def observe(cid: str, results: dict[str, ProbeResult], now: float) -> None:
        tracker.observe(cid, results, now)
        followed.changed(tracker.tracks[cid], cid in maintenance)

    def scrape_matches(*, walks: bool = False) -> None:
        snap = snapshot_of(tracker, maintenance)
        tracks = snap.tracks.values() if walks else _NoWalk([None] * len(snap.tracks))
        body = b"".join(followed.render(tracks, snap.maintenance))  # type: ignore[arg-type]
        assert body == generic_body(snap, service=False)

    scrape_matches(walks=True)  # the first render lays the cameras out
    observe("down", {"rtsp": ProbeResult("rtsp", True, "ok", 0.2)}, 100.0)
    observe("东门-1", {"rtsp": ProbeResult("rtsp", True, "ok", 0.4)}, 101.0)
    observe("never", {"rtsp": ProbeResult("rtsp", False, "timeout", 5.0)}, 102.0)
    scrape_matches()
    maintenance = frozenset({"down", "nowhere"})  # "maint" leaves maintenance, "down" enters it
    scrape_matches()
    renamed = cameras["东门-1"].model_copy(update={"name": "西门"})
    same = {cid: c.model_copy() for cid, c in cameras.items() if cid not in ("东门-1", "maint")}
    tracker.replace_inventory({"东门-1": renamed, **same})
    followed.invalidate()  # a reload: the next render walks
    scrape_matches(walks=True)
    observe("streams", {"rtsp": ProbeResult("rtsp", False, "offline", 1.0)}, 200.0)
    scrape_matches()


def _fleet(n: int) -> Tracker:
    cameras = {f"c{i}": make_camera(id=f"c{i}", rtsp_url=f"rtsp://127.0.0.1:1/{i}") for i in range(n)}
    tracker = Tracker(cameras, Debounce(down_after=1, up_after=1))
    for i, cid in enumerate(cameras):
        tracker.observe(cid, {"rtsp": ProbeResult("rtsp", True, "ok", 0.01)}, 1000.0 + i)
    return tracker


async def test_a_walk_yields_to_the_loop_and_each_camera_comes_from_one_state(monkeypatch):
    monkeypatch.setattr(CameraExposition, "SLICE_SECONDS", 0.0)  # yield at every chance
    tracker = _fleet(2000)
    followed = CameraExposition(follow_changes=True)
    applied: list[str] = []

    async def results_arriving() -> None:  # the probes, going on while a scrape walks
        for i in range(0, 2000, 97):
            cid = f"c{i}"
            tracker.observe(cid, {"rtsp": ProbeResult("rtsp", False, "offline", 3.0)}, 5000.0 + i)
            followed.changed(tracker.tracks[cid], False)
            applied.append(cid)
            await asyncio.sleep(0)

    probes = asyncio.create_task(results_arriving())
    body = b"".join(await followed.render_async(dict(tracker.tracks).values()))
    assert 0 < len(applied) < 21, "the walk gave the loop no turn (or ended before any)"
    await probes
    found = samples(body)
    for i in range(2000):  # each camera whole: up, success and probe time from the same result
        up = value(found, "camwatch_camera_up", camera=f"c{i}")
        success = value(found, "camwatch_probe_success", camera=f"c{i}", probe="rtsp")
        at = value(found, "camwatch_probe_last_timestamp_seconds", camera=f"c{i}", probe="rtsp")
        assert (up, success, at) in ((1.0, 1.0, 1000.0 + i), (0.0, 0.0, 5000.0 + i))
    snap = Snapshot(tracks=dict(tracker.tracks))
    after = b"".join(await followed.render_async(_NoWalk([None] * 2000)))  # type: ignore[arg-type]
    assert after == generic_body(snap, service=False)  # what arrived mid-walk is in the next scrape


async def test_a_cancelled_walk_leaves_the_next_render_whole(monkeypatch):
    monkeypatch.setattr(CameraExposition, "SLICE_SECONDS", 0.0)
    tracker = _fleet(1000)
    followed = CameraExposition(follow_changes=True)
    scrape = asyncio.create_task(followed.render_async(dict(tracker.tracks).values()))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    tracker.observe("c3", {"rtsp": ProbeResult("rtsp", False, "timeout", 5.0)}, 9000.0)
    followed.changed(tracker.tracks["c3"], False)
    scrape.cancel()  # the scraper went away mid-walk
    with pytest.raises(asyncio.CancelledError):
        await scrape
    snap = Snapshot(tracks=dict(tracker.tracks))
    body = b"".join(await followed.render_async(snap.tracks.values()))
    assert body == generic_body(snap, service=False)


async def test_the_streamed_body_is_the_body_as_the_scrape_began(monkeypatch):
    """/metrics writes the body in blocks: the state as the scrape began, whatever arrives meanwhile."""
    monkeypatch.setattr(exporter_module, "BLOCK_LINES", 2)
    tracker, _ = varied_fleet()
    snap = snapshot_of(tracker, frozenset({"maint"}))
    exporter = Exporter(lambda: snapshot_of(tracker, frozenset({"maint"})), follow_changes=True)
    exporter.exposition()
    expected = generic_body(snap, service=True)
    size, body = await exporter.exposition_blocks()
    tracker.observe("down", {"rtsp": ProbeResult("rtsp", True, "ok", 0.2)}, 100.0)  # while it is written
    exporter.changed(tracker.tracks["down"], False)
    first = next(body)
    written = first + b"".join(body)
    assert len(written) == size and len(first) < size
    assert comparable(samples(written)) == comparable(samples(expected))
    size, body = await exporter.exposition_blocks()  # the next one: its length kept up with the change
    written = b"".join(body)
    assert len(written) == size and value(samples(written), "camwatch_camera_up", camera="down") == 1
