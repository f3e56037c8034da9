"""Convert Chinese map coordinates (GCJ-02, BD-09) to WGS-84, vectorised over numpy arrays.

GCJ-02 is the obfuscated datum every map in mainland China must use (AMap, Tencent, Google China); BD-09 is
Baidu's further offset of GCJ-02. Only the forward transforms have closed forms; the inverses here solve them
by fixed-point iteration to well below a millimetre. Points outside China's rough bounding box carry no
offset, as on the maps themselves.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

Coords = tuple[NDArray[np.float64], NDArray[np.float64]]
"""(lat, lon) arrays in degrees."""

# Krasovsky 1940 ellipsoid, which the GCJ-02 algorithm uses.
_A = 6378245.0
_EE = 0.00669342162296594323
_BD_X_PI = np.pi * 3000.0 / 180.0
# Rough box (the one the maps use): the offset applies inside, nothing outside.
_CHINA_LON = (72.004, 137.8347)
_CHINA_LAT = (0.8293, 55.8271)
# 1e-9 degrees is about 0.1 mm; the iteration converges in 3-5 steps for GCJ-02 and BD-09.
_TOLERANCE_DEG = 1e-9
_MAX_ITERATIONS = 30


def _as_arrays(lat: ArrayLike, lon: ArrayLike) -> Coords:
    lat_a, lon_a = np.broadcast_arrays(np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64))
    return lat_a.astype(np.float64, copy=True), lon_a.astype(np.float64, copy=True)


def in_china(lat: ArrayLike, lon: ArrayLike) -> NDArray[np.bool_]:
    """True where the point lies in the box inside which GCJ-02 and BD-09 differ from WGS-84."""
    lat_a, lon_a = _as_arrays(lat, lon)
    return (
        (lon_a >= _CHINA_LON[0])
        & (lon_a <= _CHINA_LON[1])
        & (lat_a >= _CHINA_LAT[0])
        & (lat_a <= _CHINA_LAT[1])
    )


def _gcj_offset(lat: NDArray[np.float64], lon: NDArray[np.float64]) -> Coords:
    """The GCJ-02 offset (dlat, dlon) in degrees at WGS-84 point (lat, lon)."""
    x = lon - 105.0
    y = lat - 35.0
    wave_x = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * np.sqrt(np.abs(x))
        + wave_x
        + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    )
    dlon = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * np.sqrt(np.abs(x))
        + wave_x
        + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    )
    rad_lat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    return dlat, dlon


def wgs84_to_gcj02(lat: ArrayLike, lon: ArrayLike) -> Coords:
    """WGS-84 → GCJ-02 (the closed-form forward transform)."""
    lat_a, lon_a = _as_arrays(lat, lon)
    inside = in_china(lat_a, lon_a)
    dlat, dlon = _gcj_offset(lat_a, lon_a)
    return np.where(inside, lat_a + dlat, lat_a), np.where(inside, lon_a + dlon, lon_a)


def _gcj02_to_bd09(lat: NDArray[np.float64], lon: NDArray[np.float64]) -> Coords:
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _BD_X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _BD_X_PI)
    return z * np.sin(theta) + 0.006, z * np.cos(theta) + 0.0065


def wgs84_to_bd09(lat: ArrayLike, lon: ArrayLike) -> Coords:
    """WGS-84 → BD-09 (GCJ-02, then Baidu's offset; none outside China)."""
    lat_a, lon_a = _as_arrays(lat, lon)
    inside = in_china(lat_a, lon_a)
    bd_lat, bd_lon = _gcj02_to_bd09(*wgs84_to_gcj02(lat_a, lon_a))
    return np.where(inside, bd_lat, lat_a), np.where(inside, bd_lon, lon_a)


def _invert(forward: Callable[[ArrayLike, ArrayLike], Coords], lat: ArrayLike, lon: ArrayLike) -> Coords:
    """Solve ``forward(wgs) == given`` by fixed-point iteration (the offsets vary slowly, so it contracts)."""
    target_lat, target_lon = _as_arrays(lat, lon)
    est_lat, est_lon = target_lat.copy(), target_lon.copy()
    for _ in range(_MAX_ITERATIONS):
        fwd_lat, fwd_lon = forward(est_lat, est_lon)
        err_lat, err_lon = fwd_lat - target_lat, fwd_lon - target_lon
        est_lat -= err_lat
        est_lon -= err_lon
        if not np.any(np.abs(err_lat) > _TOLERANCE_DEG) and not np.any(np.abs(err_lon) > _TOLERANCE_DEG):
            break
    return est_lat, est_lon


def gcj02_to_wgs84(lat: ArrayLike, lon: ArrayLike) -> Coords:
    """GCJ-02 → WGS-84, accurate to well below a metre (iterative inverse of :func:`wgs84_to_gcj02`)."""
    return _invert(wgs84_to_gcj02, lat, lon)


def bd09_to_wgs84(lat: ArrayLike, lon: ArrayLike) -> Coords:
    """BD-09 → WGS-84, accurate to well below a metre (iterative inverse of :func:`wgs84_to_bd09`)."""
    return _invert(wgs84_to_bd09, lat, lon)


_TO_WGS84: dict[str, Callable[[ArrayLike, ArrayLike], Coords]] = {
    "gcj02": gcj02_to_wgs84,
    "bd09": bd09_to_wgs84,
}


def to_wgs84(lat: ArrayLike, lon: ArrayLike, crs: ArrayLike) -> Coords:
    """Convert each point from its own ``crs`` (``wgs84``, ``gcj02`` or ``bd09``) to WGS-84.

    ``lat``, ``lon`` and ``crs`` are equal-length arrays; NaN coordinates stay NaN.
    """
    lat_a, lon_a = _as_arrays(lat, lon)
    crs_a = np.asarray(crs)
    for name, convert in _TO_WGS84.items():
        mask = (crs_a == name) & np.isfinite(lat_a) & np.isfinite(lon_a)
        if mask.any():
            lat_a[mask], lon_a[mask] = convert(lat_a[mask], lon_a[mask])
    return lat_a, lon_a


_FROM_WGS84: dict[str, Callable[[ArrayLike, ArrayLike], Coords]] = {
    "gcj02": wgs84_to_gcj02,
    "bd09": wgs84_to_bd09,
}


def from_wgs84(lat: ArrayLike, lon: ArrayLike, crs: str) -> Coords:
    """WGS-84 points in ``crs`` (``wgs84``, ``gcj02`` or ``bd09``), as a ledger in that system holds them."""
    convert = _FROM_WGS84.get(crs)
    return convert(lat, lon) if convert else _as_arrays(lat, lon)
