"""Day and night at a camera (monitor/daylight.py): by the sun for a position, by civil hours without."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from camwatch.config.models import Camera
from camwatch.monitor import daylight

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("when", "lat", "lon", "elevation"),
    [
        # At the sun's culminations the elevation follows from the latitude and the declination alone
        # (90 - |lat - decl| at noon, |lat| + |decl| - 90 at midnight): solstices at ±23.44°, equinox at 0°.
        (datetime(2026, 6, 21, 11, 56, tzinfo=SHANGHAI), 31.23, 121.47, 82.2),  # summer noon, Shanghai
        (datetime(2026, 12, 21, 11, 38, tzinfo=SHANGHAI), 31.23, 121.47, 35.3),  # winter noon
        (datetime(2026, 3, 20, 12, 7, tzinfo=UTC), 0.0, 0.0, 89.9),  # equinox on the equator: overhead
        (datetime(2026, 12, 21, 22, 18, tzinfo=UTC), 60.17, 24.94, -53.3),  # Helsinki, winter midnight
    ],
)
def test_solar_elevation_matches_published_positions(
    when: datetime, lat: float, lon: float, elevation: float
) -> None:
    assert daylight.solar_elevation(when, lat, lon) == pytest.approx(elevation, abs=0.6)


def at(hour: int, minute: int = 0, month: int = 12) -> float:
    return datetime(2026, month, 7, hour, minute, tzinfo=SHANGHAI).timestamp()


def test_a_position_judges_by_the_sun_and_dusk_is_twilight() -> None:
    shanghai = Camera(id="c", lat=31.23, lon=121.47)
    # Sunset in Shanghai on 7 December is at 16:52.
    assert daylight.camera_period(shanghai, at(12), "UTC") == "day"
    assert daylight.camera_period(shanghai, at(17), "UTC") == "twilight"
    assert daylight.camera_period(shanghai, at(18), "UTC") == "night"
    assert daylight.camera_period(shanghai, at(6, 30), "UTC") == "twilight"
    # The same local hour in June is broad daylight.
    assert daylight.camera_period(shanghai, at(18, month=6), "UTC") == "day"


def test_without_a_position_the_local_civil_hours_judge_in_the_cameras_own_zone() -> None:
    own = Camera(id="c", timezone="Asia/Shanghai")
    fleet = Camera(id="d")
    noon = at(12)  # 04:00 UTC
    assert daylight.camera_period(own, noon, "UTC") == "day"
    # No zone of its own: the fleet's (reports.timezone).
    assert daylight.camera_period(fleet, noon, "UTC") == "night"
    assert daylight.camera_period(fleet, noon, "Asia/Shanghai") == "day"
    assert daylight.camera_period(own, at(18), "UTC") == "twilight"
    assert daylight.camera_period(own, at(23), "UTC") == "night"


def test_a_local_clock_reads_the_time_it_is_given() -> None:
    clock = daylight.LocalClock("Asia/Shanghai", lambda: at(12))
    assert clock.period(Camera(id="c")) == "day"
