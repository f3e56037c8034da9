"""Area levels and area paths: the one place that knows county → township → village, and police stations.

A level is keyed by the names above it too, because township and village names repeat across counties:
an area's path is ``County/Township/Village``. A police station's area (派出所辖区) lies within a county,
beside the townships: its path is ``County/Station``.
"""

from __future__ import annotations

from typing import Protocol

LEVELS = ("county", "township", "village")
"""The administrative hierarchy below the city, coarsest first."""
POLICE_STATION = "police_station"
# The fields that key an area of each level, coarsest first.
LEVEL_KEYS: dict[str, tuple[str, ...]] = {
    "county": ("county",),
    "township": ("county", "township"),
    "village": ("county", "township", "village"),
    POLICE_STATION: ("county", POLICE_STATION),
}


class Placed(Protocol):
    """Anything with area fields (a ``Camera``, a ledger record)."""

    @property
    def county(self) -> str: ...

    @property
    def township(self) -> str: ...

    @property
    def village(self) -> str: ...

    @property
    def police_station(self) -> str: ...


def area_path(place: Placed, level: str) -> str:
    """The path of ``place``'s area at ``level`` (``County/Township``), or ``""`` when it names none there."""
    parts = [getattr(place, key) for key in LEVEL_KEYS[level]]
    return "/".join(parts) if parts[-1] else ""


def admin_names(place: Placed) -> list[str]:
    """County, township and village of ``place``, coarsest first."""
    return [getattr(place, level) for level in LEVELS]
