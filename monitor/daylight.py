"""Day or night where a camera stands, at a given instant: what ``mono_by_day`` (ICR异常, 黑白) is judged
against, since a camera's day/night switch (its IR-cut filter, ICR) follows the light of its place.

With a position (``lat``/``lon``) the sun's elevation decides, from a simple solar calculation (NOAA's
low-precision formulas, within a fraction of a degree: far finer than a day/night judgement needs). Without
one, fixed civil hours of the camera's local clock do (its ``timezone``, else the fleet's
``reports.timezone``). Between day and night (dawn, dusk, the sun low) lies ``twilight``, which is never
judged: cameras switch modes somewhere in it, each at its own light level.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from camwatch.config.models import Camera

Period = Literal["day", "night", "twilight"]

# Sun elevation (degrees): at or above this it is day (the sun well up, even under cloud a colour camera's
# light); below this night (civil twilight over, no daylight left to see colour by).
DAY_ELEVATION, NIGHT_ELEVATION = 10.0, -6.0
# Without a position: local hours [from, to) that are day and night anywhere in China's latitudes all year
# (the shortest winter day there still runs 07:30-16:30 local; summer dusk ends before 21:00).
DAY_HOURS, NIGHT_HOURS = (9, 16), (21, 5)


def solar_elevation(when: datetime, lat: float, lon: float) -> float:
    """The sun's elevation (degrees above the horizon) at ``lat``/``lon`` at the aware instant ``when``."""
    utc = when.astimezone(UTC)
    hours = utc.hour + utc.minute / 60 + utc.second / 3600
    year_days = 366 if utc.year % 4 == 0 and (utc.year % 100 != 0 or utc.year % 400 == 0) else 365
    gamma = 2 * math.pi / year_days * (utc.timetuple().tm_yday - 1 + (hours - 12) / 24)
    # Equation of time (minutes) and declination (radians), as Fourier series over the year.
    eqtime = 229.18 * (
        0.000075
        + 0.001868 * math.cos(gamma)
        - 0.032077 * math.sin(gamma)
        - 0.014615 * math.cos(2 * gamma)
        - 0.040849 * math.sin(2 * gamma)
    )
    decl = (
        0.006918
        - 0.399912 * math.cos(gamma)
        + 0.070257 * math.sin(gamma)
        - 0.006758 * math.cos(2 * gamma)
        + 0.000907 * math.sin(2 * gamma)
        - 0.002697 * math.cos(3 * gamma)
        + 0.00148 * math.sin(3 * gamma)
    )
    solar_minutes = hours * 60 + eqtime + 4 * lon  # true solar time at the place
    hour_angle = math.radians(solar_minutes / 4 - 180)
    phi = math.radians(lat)
    cos_zenith = math.sin(phi) * math.sin(decl) + math.cos(phi) * math.cos(decl) * math.cos(hour_angle)
    return 90 - math.degrees(math.acos(max(-1.0, min(1.0, cos_zenith))))


def period_at(when: float, *, zone: str, lat: float | None = None, lon: float | None = None) -> Period:
    """``day``, ``night`` or ``twilight`` at epoch seconds ``when``: by the sun at ``lat``/``lon`` when both
    are given, else by the civil hours of the local clock of ``zone``."""
    instant = datetime.fromtimestamp(when, ZoneInfo(zone))
    if lat is not None and lon is not None:
        elevation = solar_elevation(instant, lat, lon)
        if elevation >= DAY_ELEVATION:
            return "day"
        return "night" if elevation < NIGHT_ELEVATION else "twilight"
    hour = instant.hour
    if DAY_HOURS[0] <= hour < DAY_HOURS[1]:
        return "day"
    if hour >= NIGHT_HOURS[0] or hour < NIGHT_HOURS[1]:
        return "night"
    return "twilight"


def camera_period(camera: Camera, when: float, fleet_zone: str) -> Period:
    """The period at ``camera`` at ``when``: its position's sun, else its own ``timezone``'s civil hours
    (``fleet_zone``, the fleet's ``reports.timezone``, when it names none)."""
    return period_at(when, zone=camera.timezone or fleet_zone, lat=camera.lat, lon=camera.lon)


@dataclass(frozen=True, slots=True)
class LocalClock:
    """The wall clock (epoch seconds) checks are judged by, and the zone of a camera that names none (the
    fleet's ``reports.timezone``). The monitor runs on ``time.time``; tests pass a clock of their own."""

    zone: str = "UTC"
    now: Callable[[], float] = time.time

    def period(self, camera: Camera) -> Period:
        """Day, night or twilight at ``camera`` now."""
        return camera_period(camera, self.now(), self.zone)
