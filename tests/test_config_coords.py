"""GCJ-02 / BD-09 → WGS-84 conversions against published reference pairs, and their inverse accuracy."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import ArrayLike, NDArray

from camwatch.config.coords import (
    bd09_to_wgs84,
    gcj02_to_wgs84,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

# (WGS-84 lat, lon, GCJ-02 lat, lon) from the test table of googollee/eviltransform (transform_test.go).
WGS_GCJ_PAIRS = np.array(
    [
        (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # Shanghai
        (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # Shenzhen
        (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # Beijing
    ]
)
# wandergis/coordtransform's documented example: GCJ-02 (39.915, 116.404) ↔ BD-09 and ↔ WGS-84 (the latter
# from its one-step approximate inverse, good to about a metre).
COORDTRANSFORM_GCJ = (39.915, 116.404)
COORDTRANSFORM_BD = (39.92133699351021, 116.41036949371029)
COORDTRANSFORM_WGS = (39.91359571849836, 116.39775550083061)


def metres(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> NDArray[np.float64]:
    """Haversine distance in metres."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * 6371008.8 * np.arcsin(np.sqrt(a))


def test_forward_matches_published_pairs() -> None:
    lat, lon = wgs84_to_gcj02(WGS_GCJ_PAIRS[:, 0], WGS_GCJ_PAIRS[:, 1])
    assert metres(lat, lon, WGS_GCJ_PAIRS[:, 2], WGS_GCJ_PAIRS[:, 3]).max() < 0.01


def test_gcj02_to_wgs84_recovers_published_points() -> None:
    lat, lon = gcj02_to_wgs84(WGS_GCJ_PAIRS[:, 2], WGS_GCJ_PAIRS[:, 3])
    error = metres(lat, lon, WGS_GCJ_PAIRS[:, 0], WGS_GCJ_PAIRS[:, 1])
    assert error.max() < 0.01
    # The offset itself is hundreds of metres, so the conversion did something.
    assert metres(*WGS_GCJ_PAIRS.T).min() > 300


def test_bd09_to_wgs84_matches_published_example() -> None:
    lat, lon = bd09_to_wgs84(*COORDTRANSFORM_BD)
    assert metres(lat, lon, *COORDTRANSFORM_WGS) < 2.0
    assert metres(*COORDTRANSFORM_BD, *COORDTRANSFORM_WGS) > 1000


def test_outside_china_there_is_no_offset() -> None:
    lat = np.array([60.17, 51.5, -33.87])
    lon = np.array([24.94, -0.12, 151.21])
    for convert in (gcj02_to_wgs84, bd09_to_wgs84, wgs84_to_gcj02, wgs84_to_bd09):
        out_lat, out_lon = convert(lat, lon)
        np.testing.assert_array_equal(out_lat, lat)
        np.testing.assert_array_equal(out_lon, lon)


def test_to_wgs84_converts_each_point_from_its_own_system() -> None:
    gcj_lat, gcj_lon = WGS_GCJ_PAIRS[0, 2], WGS_GCJ_PAIRS[0, 3]
    lat, lon = to_wgs84(
        [gcj_lat, COORDTRANSFORM_BD[0], 30.0, np.nan],
        [gcj_lon, COORDTRANSFORM_BD[1], 120.0, np.nan],
        ["gcj02", "bd09", "wgs84", "gcj02"],
    )
    assert metres(lat[0], lon[0], WGS_GCJ_PAIRS[0, 0], WGS_GCJ_PAIRS[0, 1]) < 0.01
    assert metres(lat[1], lon[1], *COORDTRANSFORM_WGS) < 2.0
    assert (lat[2], lon[2]) == (30.0, 120.0)
    assert np.isnan(lat[3]) and np.isnan(lon[3])


@settings(max_examples=200, deadline=None)
@given(
    lat=st.floats(min_value=18.0, max_value=53.0),
    lon=st.floats(min_value=74.0, max_value=134.0),
)
def test_inverses_are_sub_metre_across_china(lat: float, lon: float) -> None:
    for forward, inverse in ((wgs84_to_gcj02, gcj02_to_wgs84), (wgs84_to_bd09, bd09_to_wgs84)):
        back_lat, back_lon = inverse(*forward(lat, lon))
        assert metres(back_lat, back_lon, lat, lon) < 0.01


def test_vectorised_over_many_points() -> None:
    rng = np.random.default_rng(7)
    lat = rng.uniform(20, 50, 100_000)
    lon = rng.uniform(75, 130, 100_000)
    back_lat, back_lon = gcj02_to_wgs84(*wgs84_to_gcj02(lat, lon))
    assert metres(back_lat, back_lon, lat, lon).max() < 0.01
