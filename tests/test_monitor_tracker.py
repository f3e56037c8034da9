"""Debounce and transitions of the per-camera tracker."""

from __future__ import annotations

from camwatch.config.models import Debounce
from camwatch.monitor.probes.base import ProbeResult
from camwatch.monitor.state import StoredCamera
from camwatch.monitor.tracker import Tracker
from support.cameras import make_camera

CAM = make_camera(id="c1", rtsp_url="rtsp://127.0.0.1:1/x")


def rtsp(ok: bool, status: str | None = None) -> dict[str, ProbeResult]:
    return {"rtsp": ProbeResult("rtsp", ok, status or ("ok" if ok else "offline"), 0.01)}


def video(*faults: str) -> dict[str, ProbeResult]:
    return {
        "video": ProbeResult(
            "video",
            not faults,
            faults[0] if faults else "ok",
            1.0,
            faults=faults,
            values={"fps": 15.0, "luma": 100.0},
        )
    }


def test_first_result_is_taken_without_debounce():
    tr = Tracker({"c1": CAM}, Debounce(down_after=3, up_after=2))
    t = tr.observe("c1", rtsp(False), 100.0)
    assert t is not None and t.prev_status is None and t.status == "offline" and not t.up


def test_k_failures_to_go_down_m_successes_to_come_back():
    tr = Tracker({"c1": CAM}, Debounce(down_after=3, up_after=2))
    assert tr.observe("c1", rtsp(True), 0).up
    assert tr.observe("c1", rtsp(False), 1) is None
    assert tr.observe("c1", rtsp(False), 2) is None
    assert tr.tracks["c1"].up is True  # still up inside the debounce window
    down = tr.observe("c1", rtsp(False, "timeout"), 3)
    assert down is not None and not down.up and down.status == "timeout" and down.prev_status == "ok"
    assert tr.observe("c1", rtsp(True), 4) is None
    back = tr.observe("c1", rtsp(True), 5)
    assert back is not None and back.up and back.status == "ok"
    assert tr.tracks["c1"].flaps == 2


def test_single_flap_inside_window_is_absorbed():
    tr = Tracker({"c1": CAM}, Debounce(down_after=2, up_after=2))
    tr.observe("c1", rtsp(True), 0)
    assert tr.observe("c1", rtsp(False), 1) is None
    assert tr.observe("c1", rtsp(True), 2) is None
    assert tr.observe("c1", rtsp(False), 3) is None  # counter was reset by the success
    assert tr.tracks["c1"].flaps == 0


def test_video_fault_changes_status_but_not_up():
    tr = Tracker({"c1": CAM}, Debounce())
    tr.observe("c1", rtsp(True), 0)
    t = tr.observe("c1", video("frozen"), 1)
    assert t is not None and t.up and t.status == "frozen" and not t.working
    assert tr.tracks["c1"].result.values["fps"] == 15.0
    t = tr.observe("c1", video(), 2)
    assert t is not None and t.status == "ok" and t.working


def test_down_camera_ignores_stale_video_faults():
    tr = Tracker({"c1": CAM}, Debounce(down_after=1))
    tr.observe("c1", {**rtsp(True), **video("black")}, 0)
    t = tr.observe("c1", rtsp(False, "offline"), 1)
    assert t is not None and t.status == "offline" and t.faults == ()


def test_reload_keeps_known_cameras_and_drops_removed():
    tr = Tracker({"c1": CAM}, Debounce())
    tr.observe("c1", rtsp(True), 0)
    other = make_camera(id="c2", rtsp_url="rtsp://127.0.0.1:1/y")
    tr.replace_inventory({"c2": other, "c1": CAM})
    assert tr.tracks["c1"].up is True and tr.tracks["c2"].up is None
    tr.replace_inventory({"c2": other})
    assert "c1" not in tr.tracks
    assert tr.observe("c1", rtsp(True), 1) is None


def test_down_time_is_known_only_when_seen_going_down():
    t = Tracker({"c1": CAM}, Debounce(down_after=1, up_after=1))
    t.observe("c1", rtsp(False), now=1.0)
    assert t.tracks["c1"].down_since is None  # already down when first seen
    t.observe("c1", rtsp(True), now=2.0)
    t.observe("c1", rtsp(False), now=3.0)
    t.observe("c1", rtsp(False, "timeout"), now=4.0)
    assert t.tracks["c1"].down_since == 3.0  # a new status while down keeps the down time
    t.observe("c1", rtsp(True), now=5.0)
    assert t.tracks["c1"].down_since is None


def test_cameras_added_by_a_reload_or_restored_down_have_no_known_down_time():
    restored = {"c1": StoredCamera("c1", False, "offline", (), 50.0, 50.0)}
    t = Tracker({"c1": CAM}, Debounce(down_after=1, up_after=1), restored)
    t.observe("c1", rtsp(False), now=100.0)
    assert t.tracks["c1"].down_since is None  # down before this run began
    added = make_camera(id="c2", rtsp_url="rtsp://127.0.0.1:2/x")
    t.replace_inventory({"c1": CAM, "c2": added})
    t.observe("c2", rtsp(False), now=101.0)
    assert t.tracks["c2"].down_since is None


def test_a_video_report_on_its_own_is_no_liveness_vote():
    """The scheduler reports a round's liveness first and its video check apart: only the first counts."""
    tr = Tracker({"c1": CAM}, Debounce(down_after=2, up_after=2))
    tr.observe("c1", rtsp(False), 0)
    assert tr.observe("c1", rtsp(True), 1) is None
    assert tr.observe("c1", video(), 2) is None  # not a second success
    assert tr.tracks["c1"].up is False
    back = tr.observe("c1", rtsp(True), 3)
    assert back is not None and back.up
    frozen = tr.observe("c1", video("frozen"), 4)
    assert frozen is not None and frozen.status == "frozen" and frozen.up
