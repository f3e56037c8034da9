"""Coverage on hand-made layers whose answers are known exactly: sectors, shadows, radii, DORI, outages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely
from pyproj import Geod
from shapely import LineString, Point, box

from camwatch.config.coords import wgs84_to_gcj02
from camwatch.config.load import load_config
from camwatch.config.models import CategorySpec, CoverageSettings
from camwatch.coverage.fov import camera_frame, dori_distance
from camwatch.coverage.gaps import find_gaps
from camwatch.coverage.measure import CoverageModel
from camwatch.coverage.placement import suggest_cameras
from support.coverage_sample import camera_at, lonlat, write_layer

# A road 200 m long, 50 m north of the origin, crossing the view of a camera at the origin facing north with
# a 90° FOV: the sector's straight edges (x = ±y) cut it at x = ±50, so exactly half of it is seen.
ROAD = LineString([(-100, 50), (100, 50)])


def whole(model: CoverageModel, category: str, status: dict[str, bool] | None = None) -> dict[str, float]:
    rows = model.measure_frame(status)
    (row,) = rows[(rows["level"] == "all") & (rows["category"] == category)].to_dict("records")
    return row


def north_camera(camera_id: str = "c1", x: float = 0.0, **fields: object):
    return camera_at(camera_id, x, 0.0, **{"direction": 0.0, "hfov": 90.0, "range": 100.0, **fields})


def test_straight_road_half_inside_one_sector(tmp_path: Path) -> None:
    roads = write_layer(tmp_path / "roads.gpkg", [ROAD], category=["key_road"])
    model = CoverageModel.build([north_camera()], CoverageSettings(roads=roads))
    row = whole(model, "key_road")
    assert row["total"] == pytest.approx(200.0, abs=1e-6)
    assert row["covered"] == pytest.approx(100.0, abs=1e-6)
    assert row["ratio"] == pytest.approx(0.5, abs=1e-9)
    assert row["redundant"] == 0.0
    assert model.crs.to_epsg() == 32650


def test_sector_cut_by_a_building(tmp_path: Path) -> None:
    # A 20 m wide building 20-30 m in front of the camera: the rays past its front corners (±10, 20) reach
    # the road at x = ±25, so 50 m of the 100 m in view lie in its shadow.
    roads = write_layer(tmp_path / "roads.gpkg", [ROAD], category=["key_road"])
    buildings = write_layer(tmp_path / "buildings.gpkg", [box(-10, 20, 10, 30)])
    model = CoverageModel.build([north_camera()], CoverageSettings(roads=roads, buildings=buildings))
    assert whole(model, "key_road")["covered"] == pytest.approx(50.0, abs=1e-6)
    sector = model.sectors[0]
    # The shadow starts at the building: a point just behind it is hidden, one beside it is seen.
    origin = np.array(model.cameras.geometry.iloc[0].coords[0])
    assert not sector.contains(Point(origin + np.array([0, 35])))
    assert sector.contains(Point(origin + np.array([20, 35])))


def test_camera_mounted_on_a_building_sees_out_of_it(tmp_path: Path) -> None:
    roads = write_layer(tmp_path / "roads.gpkg", [ROAD], category=["key_road"])
    buildings = write_layer(tmp_path / "buildings.gpkg", [box(-10, -20, 10, 0)])
    model = CoverageModel.build([north_camera()], CoverageSettings(roads=roads, buildings=buildings))
    assert whole(model, "key_road")["covered"] == pytest.approx(100.0, abs=1e-6)


def test_intersection_just_inside_and_just_outside_the_radius(tmp_path: Path) -> None:
    # Two T-junctions straight ahead of two cameras with 50 m range: one 14.5 m beyond the sector's arc
    # (its 15 m disc meets the view), the other 15.5 m beyond (it does not).
    lines, cameras = [], []
    for i, beyond in enumerate((14.5, 15.5)):
        x0, y = 1000.0 * i, 50.0 + beyond
        lines += [LineString([(x0 - 100, y), (x0 + 100, y)]), LineString([(x0, y), (x0, y + 100)])]
        cameras.append(north_camera(f"c{i}", x=x0, range=50.0))
    roads = write_layer(tmp_path / "roads.gpkg", lines, category=["key_road"] * 4)
    model = CoverageModel.build(cameras, CoverageSettings(roads=roads, intersection_radius=15.0))
    row = whole(model, "key_intersection")
    assert (row["total"], row["covered"]) == (2, 1)
    junctions = model.features[model.features["kind"] == "intersection"]
    seen = model.feature_coverage()["covered"].to_numpy()[junctions.index]
    north = shapely.get_y(junctions["anchor"].to_numpy()) - 3_800_000.0
    assert dict(zip(np.round(north, 1), seen, strict=True)) == {64.5: 1.0, 65.5: 0.0}


@pytest.mark.parametrize(("direction", "hfov", "seen"), [(180.0, 90.0, 0), (0.0, 90.0, 1), (180.0, 360.0, 1)])
def test_camera_facing_away_from_a_site(tmp_path: Path, direction: float, hfov: float, seen: int) -> None:
    sites = write_layer(tmp_path / "sites.gpkg", [Point(0, 30)], category=["hotel"], name=["Inn"])
    camera = camera_at("c1", 0, 0, direction=direction, hfov=hfov, range=50.0)
    model = CoverageModel.build([camera], CoverageSettings(sites=sites, site_buffer=10.0))
    row = whole(model, "hotel")
    assert (row["total"], row["covered"]) == (1, seen)


def test_true_north_is_not_grid_north_away_from_the_central_meridian(tmp_path: Path) -> None:
    # 80 km east of zone 50's central meridian grid north is ~0.45° off true north: a 0.5° wide view facing
    # true north still sees a point 90 m due north only if bearings are turned by the meridian convergence.
    lon, lat = lonlat(80_000, 0)
    site_lon, site_lat, _ = Geod(ellps="WGS84").fwd(lon, lat, 0.0, 90.0)
    sites = tmp_path / "sites.geojson"
    sites.write_text(
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"category":"bank","name":"B"},'
        f'"geometry":{{"type":"Point","coordinates":[{site_lon},{site_lat}]}}}}]}}'
    )
    camera = camera_at("c1", 80_000, 0, direction=0.0, hfov=0.5, range=100.0)
    settings = CoverageSettings(
        sites=sites, site_buffer=0.0, categories={"bank": CategorySpec(kind="site", target=1)}
    )
    assert whole(CoverageModel.build([camera], settings), "bank")["covered"] == 1


def test_coordinates_given_in_gcj02(tmp_path: Path) -> None:
    # The ledger gives the camera as a Chinese map shows it (GCJ-02, ~500 m off WGS-84 here); loading
    # converts it, so the half-road answer holds. The same numbers taken as WGS-84 see nothing.
    write_layer(tmp_path / "roads.gpkg", [ROAD], category=["key_road"])
    lon, lat = lonlat(0, 0)
    glat, glon = (float(v[0]) for v in wgs84_to_gcj02([lat], [lon]))
    for crs, covered in (("gcj02", 100.0), ("wgs84", 0.0)):
        config = tmp_path / f"{crs}.yaml"
        config.write_text(
            f"cameras:\n  - {{id: c1, lat: {glat!r}, lon: {glon!r}, crs: {crs},"
            " direction: 0, hfov: 90, range: 100}\n"
            "coverage: {roads: roads.gpkg}\n"
        )
        loaded = load_config(config)
        assert whole(CoverageModel.from_config(loaded), "key_road")["covered"] == pytest.approx(
            covered, abs=1e-6
        )


def test_dori_level_limits_what_counts(tmp_path: Path) -> None:
    # 1920 px behind a 90° lens detects to 38.4 m and recognises to 7.68 m.
    assert dori_distance(np.array([1920.0]), np.array([90.0]), "detection")[0] == pytest.approx(38.4)
    near, far = LineString([(-100, 20), (100, 20)]), LineString([(-100, 50), (100, 50)])
    roads = write_layer(
        tmp_path / "roads.gpkg", [near, far, far], category=["village_road", "village_road", "key_road"]
    )
    sites = write_layer(
        tmp_path / "sites.gpkg", [Point(0, 15), Point(300, 20)], category=["school"] * 2, name=["near", "far"]
    )
    cameras = [north_camera(resolution="1920x1080"), north_camera("c2", x=300, resolution="1080p")]
    settings = CoverageSettings(roads=roads, sites=sites, site_buffer=10.0)
    model = CoverageModel.build(cameras, settings)
    # Village roads need detection: 40 m of the near road (inside 38.4 m), none of the one at 50 m.
    assert whole(model, "village_road")["covered"] == pytest.approx(40.0, abs=1e-6)
    assert whole(model, "key_road")["covered"] == pytest.approx(100.0, abs=1e-6)
    # Schools need recognition: the zone 5 m away is seen, the one 10 m away is not.
    assert whole(model, "school")["covered"] == 1
    lifted = settings.model_copy(
        update={"categories": {"village_road": CategorySpec(kind="road", target=0.9)}}
    )
    assert whole(CoverageModel.build(cameras, lifted), "village_road")["covered"] == pytest.approx(
        140.0, abs=1e-6
    )


def test_default_view_of_cameras_without_direction_or_fov() -> None:
    frame = camera_frame(
        [
            camera_at("fixed", 0, 0, direction=90.0, camera_type="bullet"),
            camera_at("known", 0, 0, direction=90.0, hfov=60.0, range=80.0),
            camera_at("dome", 0, 0, camera_type="dome"),
            camera_at("lost", 0, 0),
            camera_at("fisheye", 0, 0, camera_type="fisheye", hfov=360.0, direction=0.0, resolution="4K"),
        ]
    ).set_index("camera")
    assert frame.loc["fixed", ["hfov", "lens", "range"]].tolist() == [90.0, 90.0, pytest.approx(38.4)]
    assert frame.loc["dome", ["hfov", "lens", "range"]].tolist() == [360.0, 90.0, pytest.approx(38.4)]
    assert frame.loc["lost", "hfov"] == 360.0
    # A fisheye spreads 3840 px over the full circle: detection at 3840 / (25 * 2 pi) m.
    assert frame.loc["fisheye", "range"] == pytest.approx(3840 / (25 * 2 * np.pi))
    assert frame.loc["known", ["hfov", "lens", "range"]].tolist() == [60.0, 60.0, 80.0]
    assert frame["assumed_view"].tolist() == [True, False, True, True, False]


def test_effective_and_redundant_coverage_with_cameras_down(tmp_path: Path) -> None:
    # A sees x in [-50, 50], B (40 m east) sees [-10, 90]: together 140 m, twice over [-10, 50] = 60 m.
    # (Off the central meridian, B's true north turns by ~0.0003°: figures involving B hold to a millimetre.)
    roads = write_layer(tmp_path / "roads.gpkg", [ROAD], category=["key_road"])
    model = CoverageModel.build([north_camera("A"), north_camera("B", x=40.0)], CoverageSettings(roads=roads))
    everyone = whole(model, "key_road")
    assert everyone["covered"] == pytest.approx(140.0, abs=1e-3)
    assert everyone["redundant"] == pytest.approx(60.0, abs=1e-3)
    assert everyone["effective_ratio"] == pytest.approx(0.7, abs=1e-5)
    assert whole(model, "key_road", {"A": True, "B": False})["effective_covered"] == pytest.approx(
        100.0, abs=1e-3
    )
    assert whole(model, "key_road", {"A": False, "B": True})["effective_covered"] == pytest.approx(
        100.0, abs=1e-3
    )
    # A camera missing from the snapshot is not known to work, so it does not count.
    down = whole(model, "key_road", {"B": False})
    assert (down["effective_covered"], down["covered"]) == (0.0, pytest.approx(140.0, abs=1e-3))
    (row,) = [r for r in model.measure({"A": True}) if r["level"] == "all"]
    assert row["effective_ratio"] == pytest.approx(0.5, abs=1e-5)


def test_gaps_and_placement_close_a_gap(tmp_path: Path) -> None:
    roads = write_layer(tmp_path / "roads.gpkg", [ROAD], category=["key_road"])
    settings = CoverageSettings(roads=roads, min_gap_length=30.0)
    model = CoverageModel.build([north_camera()], settings)
    gaps = find_gaps(model)
    assert sorted(np.round(gaps["length_m"], 6)) == [50.0, 50.0]
    assert set(gaps["kind"]) == {"road"}
    longer = CoverageModel.build([north_camera()], settings.model_copy(update={"min_gap_length": 60.0}))
    assert find_gaps(longer).empty

    suggestions = suggest_cameras(model)
    assert 2 <= len(suggestions) <= 6
    assert (suggestions["gain"] > 0).all() and suggestions["gain"].is_monotonic_decreasing
    # Build the suggested cameras: the road then meets its 100 % target and no road gap is left.
    wgs = suggestions.to_crs(4326)
    new = [
        camera_at("c1", 0, 0, direction=0.0, hfov=90.0, range=100.0),
        *(
            north_camera(f"new{i}").model_copy(
                update={"lat": p.y, "lon": p.x, "direction": d, "hfov": h, "range": r}
            )
            for i, (p, d, h, r) in enumerate(
                zip(wgs.geometry, wgs["direction"], wgs["hfov"], wgs["range"], strict=True)
            )
        ),
    ]
    closed = CoverageModel.build(new, settings)
    assert whole(closed, "key_road")["ratio"] == pytest.approx(1.0, abs=1e-6)
    assert find_gaps(closed).empty


def test_gap_lines_merged_as_dissolve_merges_them() -> None:
    # merged_lines does in one vectorised GEOS call what GeoDataFrame.dissolve does per group: same rows,
    # same geometries bit for bit, keys in the same order, rows with a missing key left out.
    import geopandas as gpd

    from camwatch.coverage.gaps import merged_lines

    rng = np.random.default_rng(11)
    start = rng.uniform(0, 300, (2000, 2))
    ends = np.stack([start, start + rng.uniform(-40, 40, (2000, 2))], axis=1)
    frame = gpd.GeoDataFrame(
        {
            "category": rng.choice(["key_road", "village_road", "street"], 2000).astype(object),
            "area": rng.choice(["b", "a", "c/d", None], 2000).astype(object),
        },
        geometry=shapely.linestrings(ends),
        crs=32650,
    )
    dissolved = frame.dissolve(by=["category", "area"], as_index=False)
    dissolved["geometry"] = shapely.line_merge(dissolved.geometry.to_numpy())
    expected = dissolved.explode(index_parts=False).reset_index(drop=True)
    found = merged_lines(frame, ["category", "area"])
    assert list(found.columns) == list(expected.columns)
    assert found[["category", "area"]].equals(expected[["category", "area"]])
    wkb = [shapely.to_wkb(f.geometry.to_numpy()).tolist() for f in (found, expected)]
    assert wkb[0] == wkb[1] and len(wkb[0]) > 100


def test_areas_assigned_as_the_trees_within_query_assigns_them() -> None:
    # assign_areas tests points against prepared polygons after a box query: the same pairs as the tree's own
    # "within", points on a boundary included (in no polygon).
    import geopandas as gpd

    from camwatch.coverage.layers import assign_areas

    rng = np.random.default_rng(5)
    polys = [shapely.buffer(Point(x, y), r) for x, y, r in rng.uniform((0, 0, 5), (500, 500, 80), (60, 3))]
    areas = gpd.GeoDataFrame(
        {"name": [f"v{i}" for i in range(60)], "level": "village"}, geometry=polys, crs=32650
    )
    anchors = shapely.points(rng.uniform(0, 500, (5000, 2)))
    anchors = np.concatenate([anchors, shapely.get_point(shapely.get_exterior_ring(polys[:5]), 0)])
    names = assign_areas(anchors, areas, gpd.GeoDataFrame(geometry=[], crs=32650))
    point_i, poly_i = shapely.STRtree(np.asarray(polys)).query(anchors, predicate="within")
    point_i, first = np.unique(point_i, return_index=True)
    expected = np.full(len(anchors), "", dtype=object)
    expected[point_i] = areas["name"].to_numpy()[poly_i[first]]
    assert names["village"].tolist() == expected.tolist()
    assert (names["village"] != "").sum() > 100


def test_points_along_straight_pieces_as_geos_interpolates_them() -> None:
    from camwatch.coverage.measure import points_along, segment_lengths

    rng = np.random.default_rng(3)
    ends = rng.uniform(-5e5, 5e5, (20000, 2, 2))
    ends[:2000, 1] = ends[:2000, 0] + rng.uniform(-50, 50, (2000, 2))  # road pieces: at most 50 m
    lines = shapely.linestrings(ends)
    length = shapely.length(lines)
    np.testing.assert_array_equal(segment_lengths(ends), length)
    for distance in (
        rng.uniform(0, 1, len(ends)) * length,
        0.5 * length,
        np.zeros(len(ends)),
        length,
        length * 1.5,
        -rng.uniform(0, 1, len(ends)) * length,
        np.full(len(ends), 1e-300),
    ):
        expected = shapely.get_coordinates(shapely.line_interpolate_point(lines, distance))
        np.testing.assert_array_equal(points_along(ends, distance), expected)
    middle = shapely.get_coordinates(shapely.line_interpolate_point(lines, 0.5, normalized=True))
    np.testing.assert_array_equal(points_along(ends, 0.5 * length), middle)


def test_area_paths_join_each_distinct_place_once() -> None:
    import pandas as pd

    from camwatch.coverage.measure import area_paths

    rng = np.random.default_rng(9)
    frame = pd.DataFrame(
        {
            "county": rng.choice(["C1", "C2", None], 3000),
            "township": rng.choice(["T1", "T2", "T3", ""], 3000),
            "village": rng.choice([f"V{i}" for i in range(40)] + [""], 3000),
        }
    )
    paths = area_paths(frame)
    for i, row in enumerate(frame.fillna("").itertuples(index=False)):
        names = [row.county, row.township, row.village]
        for level, depth in (("county", 1), ("township", 2), ("village", 3)):
            expected = "/".join(names[:depth]) if names[depth - 1] != "" else None
            assert paths[level][i] == expected
    assert set(paths["all"]) == {"all"}
