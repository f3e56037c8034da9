"""Offline clusters: only shared reachability failures, by label share or place, over time."""

from __future__ import annotations

from camwatch.config.models import Camera, ClusterSettings
from camwatch.monitor.clusters import ClusterTracker, DownCamera
from support.cameras import make_camera

SETTINGS = ClusterSettings(min_cameras=3, min_share=0.8, window=120, radius=200)


def cams(prefix: str, n: int, **fields) -> list[Camera]:
    return [make_camera(id=f"{prefix}{i}", **fields) for i in range(n)]


def down(cam: Camera, since: float | None, status: str = "offline") -> DownCamera:
    return DownCamera(cam, status, since)


def test_switch_outage_is_one_cluster_naming_label_share_and_area():
    fleet = cams("s", 40, switch="sw-7", county="Qixian", township="Chengguan")
    tracker = ClusterTracker(SETTINGS)
    changes = tracker.update(fleet, [down(c, 1000 + i) for i, c in enumerate(fleet)], now=1050)
    assert len(tracker.clusters) == 1
    c = tracker.clusters[0]
    assert c.cluster == "switch:sw-7" and c.kind == "switch" and len(c.cameras) == 40
    assert c.county == "Qixian" and c.township == "Chengguan" and c.since == 1000
    assert c.share == 1.0 and c.onset == "observed"
    assert [(ch.change, ch.cameras) for ch in changes] == [("started", c.cameras)]


def test_only_reachability_failures_count():
    fleet = cams("a", 4, switch="sw1")
    statuses = ["auth_failed", "error", "auth_failed", "error"]
    tracker = ClusterTracker(SETTINGS)
    tracker.update(fleet, [down(c, 100, s) for c, s in zip(fleet, statuses, strict=True)], now=110)
    assert tracker.clusters == []
    # Two unreachable and two refusing logins: the switch still answers, so it is not the cause.
    tracker.update(
        fleet,
        [down(c, 100, s) for c, s in zip(fleet, ["offline", "timeout", *statuses[2:]], strict=True)],
        now=120,
    )
    assert tracker.clusters == []


def test_a_label_cluster_needs_a_share_of_the_label_not_in_maintenance():
    fleet = cams("f", 10, fibre="fibre-1")
    tracker = ClusterTracker(SETTINGS)
    tracker.update(fleet, [down(c, 500) for c in fleet[:7]], now=510)
    assert tracker.clusters == []  # 7 of 10: under 80 %
    # Two of the healthy three go under maintenance: 7 of 8 monitored cameras are down.
    tracker.update(fleet[:8], [down(c, 500) for c in fleet[:7]], now=515)
    assert [(c.cluster, len(c.cameras), round(c.share, 3)) for c in tracker.clusters] == [
        ("fibre:fibre-1", 7, 0.875)
    ]


def test_cameras_down_from_the_start_never_merge_with_later_ones():
    fleet = cams("k", 6, switch="sw2")
    tracker = ClusterTracker(SETTINGS)
    broken = [down(c, None) for c in fleet[:2]]
    tracker.update(fleet, broken, now=100)
    assert tracker.clusters == []
    # The switch fails: the four that were up go down; the label is wholly unreachable.
    tracker.update(fleet, [*broken, *(down(c, 900 + i) for i, c in enumerate(fleet[2:]))], now=910)
    (c,) = tracker.clusters
    assert c.cameras == ("k2", "k3", "k4", "k5") and c.share == 1.0 and c.since == 900


def test_cameras_down_from_the_start_cluster_only_when_the_whole_label_is_down():
    fleet = cams("w", 5, switch="sw3", county="Qixian")
    tracker = ClusterTracker(SETTINGS)
    tracker.update(fleet, [down(c, None) for c in fleet[:4]], now=100)
    assert tracker.clusters == []  # one camera of the switch answers
    tracker.update(fleet, [down(c, None) for c in fleet], now=105)
    (c,) = tracker.clusters
    assert c.onset == "before_monitoring" and len(c.cameras) == 5 and c.since == 105


def test_cluster_ends_when_most_are_back_and_the_rest_page_alone():
    fleet = cams("e", 5, switch="sw4")
    tracker = ClusterTracker(SETTINGS)
    outage = [down(c, 1000) for c in fleet]
    tracker.update(fleet, outage, now=1010)
    assert [c.cameras for c in tracker.clusters] == [("e0", "e1", "e2", "e3", "e4")]
    tracker.update(fleet, outage[:3], now=1200)  # two back: three of five still down
    assert [c.cameras for c in tracker.clusters] == [("e0", "e1", "e2")]
    changes = tracker.update(fleet, outage[:2], now=1210)  # most are back
    assert tracker.clusters == []
    assert [(ch.change, ch.cameras) for ch in changes] == [("ended", ("e0", "e1"))]
    # The two left behind (and one that fails again) do not form a new cluster of the same spell.
    tracker.update(fleet, [*outage[:2], down(fleet[4], 1215)], now=1220)
    assert tracker.clusters == []


def test_membership_does_not_grow_forever():
    fleet = cams("g", 5, switch="sw5")
    tracker = ClusterTracker(SETTINGS)
    first = [down(c, 1000 + i * 10) for i, c in enumerate(fleet[:4])]
    tracker.update(fleet, first, now=1040)
    assert tracker.clusters[0].cameras == ("g0", "g1", "g2", "g3")
    changes = tracker.update(fleet, [*first, down(fleet[4], 1100)], now=1105)  # within the window: joins
    assert tracker.clusters[0].cameras == ("g0", "g1", "g2", "g3", "g4")
    assert [(ch.change, ch.cameras) for ch in changes] == [("joined", ("g4",))]

    tracker = ClusterTracker(SETTINGS)
    first = [down(c, 1000) for c in fleet[:4]]
    tracker.update(fleet, first, now=1010)
    tracker.update(fleet, [*first, down(fleet[4], 1000 + 3600)], now=1000 + 3605)  # an hour later
    assert tracker.clusters[0].cameras == ("g0", "g1", "g2", "g3")


def test_down_times_far_apart_are_no_cluster():
    fleet = cams("t", 4, switch="sw1")
    tracker = ClusterTracker(SETTINGS)
    tracker.update(
        fleet, [down(fleet[0], 0), down(fleet[1], 10), down(fleet[2], 5000), down(fleet[3], 5010)], now=5020
    )
    assert tracker.clusters == []


def test_most_specific_label_wins_and_camera_counted_once():
    x = cams("x", 3, switch="sw1", power="feeder-2")
    y = [make_camera(id=f"y{i}", switch=f"other{i}", power="feeder-2") for i in range(3)]
    tracker = ClusterTracker(SETTINGS)
    tracker.update(x + y, [down(c, 100) for c in x + y], now=110)
    clusters = {c.cluster: c for c in tracker.clusters}
    assert set(clusters) == {"switch:sw1", "power:feeder-2"}
    assert clusters["power:feeder-2"].cameras == ("y0", "y1", "y2")


def test_unlabelled_cameras_cluster_by_place_relative_to_their_neighbours():
    # Three cameras ~100 m apart in a row, one 5 km away.
    near = [make_camera(id=f"p{i}", lat=34.0, lon=115.0 + i * 0.001) for i in range(3)]
    far = make_camera(id="far", lat=34.05, lon=115.0)
    tracker = ClusterTracker(SETTINGS)
    tracker.update([*near, far], [down(c, 50) for c in [*near, far]], now=60)
    (c,) = tracker.clusters
    assert c.kind == "place" and c.cameras == ("p0", "p1", "p2") and c.share == 1.0

    # The same three among six healthy neighbours within radius: 3 of 9 is no shared failure.
    healthy = [make_camera(id=f"n{i}", lat=34.0005, lon=115.0 + i * 0.0004) for i in range(6)]
    tracker = ClusterTracker(SETTINGS)
    tracker.update([*near, *healthy], [down(c, 50) for c in near], now=60)
    assert tracker.clusters == []


def test_place_chain_links_single_linkage():
    chain = [make_camera(id=f"q{i}", lat=34.0, lon=115.0 + i * 0.0019) for i in range(5)]  # ~175 m steps
    tracker = ClusterTracker(SETTINGS)
    tracker.update(chain, [down(c, 0) for c in chain], now=10)
    assert [len(c.cameras) for c in tracker.clusters] == [5]
