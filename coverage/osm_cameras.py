"""Turn OpenStreetMap surveillance cameras (``man_made=surveillance`` nodes) into a camera inventory."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyogrio
import yaml

from camwatch.config.errors import ConfigError, Problem
from camwatch.config.models import Camera
from camwatch.coverage.fov import (
    DEFAULT_WIDTH_PX,
    FIXED_HFOV,
    OMNIDIRECTIONAL_TYPES,
    RANGE_LEVEL,
    dori_distance,
)
from camwatch.coverage.layers import osm_tag

__all__ = ["DEFAULT_RANGE", "camera_type", "cameras_from_osm", "osm_bearing", "write_inventory"]

DEFAULT_RANGE = round(
    float(dori_distance(np.array([DEFAULT_WIDTH_PX]), np.array([FIXED_HFOV]), RANGE_LEVEL)[0]), 1
)
"""Range (m) given to every imported camera: the DORI detection distance of a 1080p camera behind a 90° lens
(38.4 m), the same default the coverage engine applies to a ledger camera with no range. OSM records neither
resolution nor lens, and a dome or PTZ sees at any moment through a lens of about that width."""

# OSM's camera:type vocabulary -> camera_type as the coverage engine reads it (dome/ptz are drawn as 360°).
_OSM_TYPES = {"fixed": "fixed", "dome": "dome", "panning": "ptz", "ptz": "ptz"}

# surveillance:type values that are not cameras (a guard post, an ALPR reader is still a camera).
_NOT_CAMERAS = frozenset({"guard"})

_COMPASS = {
    name: index * 22.5
    for index, name in enumerate(
        ["n", "nne", "ne", "ene", "e", "ese", "se", "sse", "s", "ssw", "sw", "wsw", "w", "wnw", "nw", "nnw"]
    )
}
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?")


def osm_bearing(value: Any) -> float | None:
    """Degrees clockwise from north from an OSM ``camera:direction``/``direction`` value.

    Accepts numbers (``135``, ``-45``, ``400``: wrapped into 0-360), 16-point compass letters (``NE``,
    ``SSW``) and lists or ranges, of which the first value counts (``90;270``, ``45-135``). None when absent
    or unreadable.
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    first = re.split(r"[;,]", str(value).strip())[0].strip()
    if first.casefold() in _COMPASS:
        return _COMPASS[first.casefold()]
    if match := _NUMBER.match(first):
        return float(match.group()) % 360.0
    return None


def camera_type(osm_type: Any, revolving: Any) -> str:
    """``fixed``, ``dome`` or ``ptz`` from OSM ``camera:type`` (or ``revolving=yes``); ``""`` when unknown."""
    known = _OSM_TYPES.get(str(osm_type).strip().casefold()) if isinstance(osm_type, str) else None
    if known:
        return known
    return "ptz" if isinstance(revolving, str) and revolving.strip().casefold() == "yes" else ""


def cameras_from_osm(pbf: Path) -> list[Camera]:
    """Cameras from the ``man_made=surveillance`` points of an OSM file (``.osm.pbf`` or ``.osm``).

    Each camera gets id ``osm-<node id>``, ``networked`` False (a position for planning, nothing to probe),
    the node's ``name``, its position (WGS-84), ``camera_type`` from
    ``camera:type``/``revolving``, ``direction`` from ``camera:direction`` (else ``direction``) and these
    documented defaults where OSM says nothing:

    - ``hfov``: 360° for dome and PTZ cameras, 90° for fixed ones; a camera of unknown type is taken as fixed
      (90°) when it has a direction and as 360° when it has none, since where it looks is then unknown;
    - ``range``: :data:`DEFAULT_RANGE`.

    Nodes tagged ``surveillance:type=guard`` (a guard, not a camera) are left out.

    Raises
    ------
    ConfigError
        When the file cannot be read as OSM data.
    """
    try:
        nodes = pyogrio.read_dataframe(pbf, layer="points", where="man_made = 'surveillance'")
    except Exception as exc:  # pyogrio raises DataSourceError, DataLayerError and GDAL errors
        raise ConfigError([Problem(str(pbf), None, None, f"cannot read as OSM data: {exc}")]) from exc
    nodes = nodes[nodes.geometry.notna() & ~nodes.geometry.is_empty]
    kinds = osm_tag(nodes, "surveillance:type").astype("string").str.strip().str.casefold()
    nodes = nodes[~kinds.isin(_NOT_CAMERAS).fillna(False).to_numpy()]

    directions = pd.Series(
        [osm_bearing(a if a is not None else b) for a, b in _pairs(nodes, "camera:direction", "direction")],
        index=nodes.index,
        dtype=object,
    )
    types = [camera_type(t, r) for t, r in _pairs(nodes, "camera:type", "revolving")]
    return [
        Camera(
            id=f"osm-{osm_id}",
            name=name if isinstance(name, str) else "",
            lat=round(point.y, 7),
            lon=round(point.x, 7),
            direction=direction,
            hfov=360.0 if kind in OMNIDIRECTIONAL_TYPES or direction is None else FIXED_HFOV,
            range=DEFAULT_RANGE,
            camera_type=kind,
            # Positions for coverage planning: nothing of them is on this network to probe.
            networked=False,
        )
        for osm_id, name, point, direction, kind in zip(
            nodes["osm_id"], nodes["name"], nodes.geometry, directions, types, strict=True
        )
    ]


def _pairs(frame: pd.DataFrame, first: str, second: str) -> Iterable[tuple[Any, Any]]:
    """Values of two OSM tags per row, missing ones as None."""
    a, b = (osm_tag(frame, key).where(lambda s: s.notna(), None) for key in (first, second))
    return zip(a, b, strict=True)


def write_inventory(cameras: Iterable[Camera], path: Path) -> None:
    """Write ``cameras`` as a YAML inventory (``cameras:`` list of records) that ``load_config`` reads.

    Records use the ledger field names and leave out fields at their defaults. Coordinates are written as
    WGS-84 (what a ``Camera`` holds), so no ``crs`` is written; passwords never are.
    """
    records = [
        camera.model_dump(mode="json", exclude={"password", "source_crs"}, exclude_defaults=True)
        for camera in cameras
    ]
    text = yaml.safe_dump({"cameras": records}, allow_unicode=True, sort_keys=False, width=120)
    path.write_text(text, encoding="utf-8")
