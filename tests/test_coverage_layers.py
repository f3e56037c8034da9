"""Reading coverage layers: formats, CRS checks, categories, derived intersections and area assignment."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from shapely import LineString, Point, box

from camwatch.config.categories import load_categories
from camwatch.config.errors import ConfigError
from camwatch.config.models import CategorySpec
from camwatch.coverage.fov import camera_frame
from camwatch.coverage.layers import assign_areas, derive_intersections, osm_tag, read_layer, read_layers
from support.coverage_sample import ORIGIN, UTM_EPSG, camera_at, helsinki_pbf, write_layer

CATALOG = load_categories()


def test_shapefile_without_crs_is_refused_naming_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "roads.shp"
    with pytest.warns(UserWarning, match="crs"):
        gpd.GeoDataFrame({"highway": ["primary"]}, geometry=[LineString([(0, 0), (1, 1)])]).to_file(path)
    with pytest.raises(ConfigError) as caught:
        read_layer(path, "roads", CATALOG)
    (problem,) = caught.value.problems
    assert (problem.file, problem.field) == (str(path), "crs")
    assert "no coordinate reference system" in problem.reason


def test_swapped_coordinates_are_refused(tmp_path: Path) -> None:
    # In China lat/lon swapped puts latitude out of range; in Helsinki both stay in range, but the layer then
    # lies far from the cameras while its swapped version overlaps them.
    china = tmp_path / "china.geojson"
    gpd.GeoDataFrame(
        {"highway": ["primary"]}, geometry=[LineString([(34.40, 115.60), (34.41, 115.61)])], crs=4326
    ).to_file(china)
    with pytest.raises(ConfigError, match="swapped") as caught:
        read_layer(china, "roads", CATALOG)
    assert caught.value.problems[0].field == "crs"

    helsinki = tmp_path / "helsinki.geojson"
    gpd.GeoDataFrame(
        {"highway": ["primary"]}, geometry=[LineString([(60.17, 24.94), (60.18, 24.95)])], crs=4326
    ).to_file(helsinki)
    with pytest.raises(ConfigError, match="swapped") as caught:
        read_layer(helsinki, "roads", CATALOG, near=(24.93, 60.16, 24.96, 60.19))
    assert (caught.value.problems[0].file, caught.value.problems[0].field) == (str(helsinki), "geometry")
    assert len(read_layer(helsinki, "roads", CATALOG)[0]) == 1  # without cameras to compare, it is read


def test_category_column_overrides_the_tag_mapping(tmp_path: Path) -> None:
    lines = [
        LineString([(0, 0), (100, 0)]),
        LineString([(0, 10), (100, 10)]),
        LineString([(0, 20), (100, 20)]),
    ]
    path = write_layer(
        tmp_path / "roads.gpkg",
        lines,
        highway=["residential", "residential", "footway"],
        category=["key_road", None, None],
    )
    roads, _ = read_layer(path, "roads", CATALOG)
    assert roads["category"].tolist() == ["key_road", "village_road"]  # the footway has no category

    bad = write_layer(tmp_path / "bad.gpkg", lines[:2], category=["key_road", "motorway_bridge"])
    with pytest.raises(ConfigError) as caught:
        read_layer(bad, "roads", CATALOG)
    (problem,) = caught.value.problems
    assert (problem.where, problem.field) == ("feature 2", "category")
    assert "motorway_bridge" in problem.reason


def test_deployment_categories_extend_the_vocabulary() -> None:
    catalog = load_categories({"petrol_station": CategorySpec(kind="site", target=0.8)})
    assert catalog.specs["petrol_station"].target == 0.8
    assert catalog.specs["village_road"].dori == "detection"
    assert "petrol_station" in catalog.of_kind("site") and "school" in catalog.of_kind("site")


def test_intersections_from_the_road_network() -> None:
    roads = gpd.GeoDataFrame(
        {"category": ["key_road", "village_road", "village_road", "village_road", "village_road"]},
        geometry=[
            LineString([(0, 0), (100, 0), (200, 0)]),  # a main road through two junctions
            LineString([(100, 0), (100, 100)]),  # shares the vertex (100, 0): a T
            LineString([(150, 0), (150, -80)]),  # ends on the main road between its vertices: a T too
            LineString([(300, 0), (400, 0), (400, 100)]),  # a bend: no junction
            LineString([(300, 100), (300, 200)]),
        ],
        crs=UTM_EPSG,
    )
    signals = gpd.GeoDataFrame(geometry=[Point(101, 2), Point(300, 150)], crs=UTM_EPSG)
    found = derive_intersections(roads, signals, CATALOG, radius=15.0)
    got = sorted(
        zip(
            shapely.get_x(found.geometry.to_numpy()),
            shapely.get_y(found.geometry.to_numpy()),
            found["category"],
            strict=True,
        )
    )
    # The signal 2 m from the T is that junction; the one on a village road is a junction of its own.
    assert got == [(100, 0, "key_intersection"), (150, 0, "key_intersection"), (300, 150, "intersection")]


def test_areas_from_polygons_else_from_the_nearest_cameras_ledger() -> None:
    areas = gpd.GeoDataFrame(
        {"name": ["Yucheng", "Lidian", "Dongguan"], "level": ["county", "township", "township"]},
        geometry=[box(0, 0, 2000, 1000), box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000)],
        crs=UTM_EPSG,
    )
    cameras = camera_frame(
        [camera_at("c1", 5000, 5000, county="Zhecheng", township="Chengguan", village="Dong")]
    )
    cameras = cameras.to_crs(UTM_EPSG)
    anchors = shapely.points(np.array([[500, 500], [1500, 500], [6000, 6000]]) + ORIGIN)
    areas = areas.set_geometry(areas.translate(*ORIGIN))
    names = assign_areas(anchors, areas, cameras)
    assert names.values.tolist() == [
        ["Yucheng", "Lidian", "Dong"],  # no village polygons: the ledger of the nearest camera fills in
        ["Yucheng", "Dongguan", "Dong"],
        ["Zhecheng", "Chengguan", "Dong"],
    ]


def test_osm_pbf_layers_and_tags() -> None:
    pbf = helsinki_pbf()
    cameras = camera_frame([camera_at("c", 0, 0)]).iloc[0:0]
    layers = read_layers({"roads": pbf, "sites": pbf, "buildings": pbf}, CATALOG, cameras=cameras)
    assert layers.crs.to_epsg() == 32635  # Helsinki is in UTM zone 35N
    lines = pyogrio.read_dataframe(pbf, layer="lines")
    mapped = osm_tag(lines, "highway").isin(list(CATALOG.road_tags["highway"]))
    assert len(layers.roads) == int(mapped.sum())
    assert layers.roads.length.sum() == pytest.approx(lines[mapped].to_crs(32635).length.sum(), rel=1e-9)
    assert len(layers.signals) == 135
    counts = layers.sites["category"].value_counts()
    # Point sites keep their tags in other_tags, polygons in GDAL columns: both must be read.
    assert counts["bank"] == 17 and counts["hotel"] == 30
    assert (layers.sites.geom_type == "Point").sum() > 0 and (layers.sites.geom_type != "Point").sum() > 0
    assert len(layers.buildings) > 400 and layers.areas.empty
