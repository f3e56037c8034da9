"""Offline clusters by topology label, by place, and within a time window."""

from __future__ import annotations

from camwatch.config.models import ClusterSettings
from camwatch.monitor.clusters import DownCamera, offline_clusters
from support.cameras import make_camera

SETTINGS = ClusterSettings(min_cameras=3, window=120, radius=200)


def down(cid: str, since: float, **fields) -> DownCamera:
    return DownCamera(make_camera(id=cid, **fields), since)


def test_switch_outage_is_one_cluster():
    cams = [down(f"s{i}", 1000 + i, switch="sw-7", county="Qixian", township="Chengguan") for i in range(40)]
    clusters = offline_clusters(cams, SETTINGS)
    assert len(clusters) == 1
    c = clusters[0]
    assert c.cluster == "switch:sw-7" and c.kind == "switch" and len(c.cameras) == 40
    assert c.county == "Qixian" and c.township == "Chengguan" and c.since == 1000


def test_too_few_or_too_far_apart_in_time_is_no_cluster():
    cams = [
        down("a", 0, switch="sw1"),
        down("b", 10, switch="sw1"),
        down("c", 5000, switch="sw1"),
        down("d", 5010, switch="sw1"),
    ]
    assert offline_clusters(cams, SETTINGS) == []


def test_most_specific_label_wins_and_camera_counted_once():
    cams = [down(f"x{i}", 100, switch="sw1", power="feeder-2") for i in range(3)]
    cams += [down(f"y{i}", 100, switch=f"other{i}", power="feeder-2") for i in range(3)]
    clusters = {c.cluster: c for c in offline_clusters(cams, SETTINGS)}
    assert set(clusters) == {"switch:sw1", "power:feeder-2"}
    assert clusters["power:feeder-2"].cameras == ("y0", "y1", "y2")


def test_unlabelled_cameras_cluster_by_place():
    # Three cameras ~100 m apart in a row, one 5 km away.
    near = [down(f"p{i}", 50, lat=34.0, lon=115.0 + i * 0.001) for i in range(3)]
    far = down("far", 50, lat=34.05, lon=115.0)
    clusters = offline_clusters([*near, far], SETTINGS)
    assert len(clusters) == 1
    assert clusters[0].kind == "place" and clusters[0].cameras == ("p0", "p1", "p2")


def test_place_chain_links_single_linkage():
    chain = [down(f"q{i}", 0, lat=34.0, lon=115.0 + i * 0.0019) for i in range(5)]  # ~175 m steps
    clusters = offline_clusters(chain, SETTINGS)
    assert len(clusters) == 1 and len(clusters[0].cameras) == 5
