"""Chinese layers for planners: a self-drawn layer set around a county seat (夏邑县城) with Chinese columns,
road classes and area levels, read without renaming; a ledger township that contradicts the polygon a
camera stands in is warned; cameras and layers far apart are refused unless forced; the Chinese report
speaks Chinese only."""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import pytest
from shapely import LineString, box
from typer.testing import CliRunner

from camwatch.cli import app
from camwatch.config.errors import ConfigError
from camwatch.config.load import load_config
from camwatch.coverage.command import run_coverage

# 夏邑县城: 城关镇 west of 116.130, 东城街道 east of it; the county seat's streets and the roads leaving it.
WEST, SOUTH, EAST, NORTH = 116.115, 34.230, 116.145, 34.250
MIDDLE = 116.130
ROADS = [
    ("人民路", "城市主干道", [(116.117, 34.240), (116.143, 34.240)]),
    ("孔祖大道", "国道", [(MIDDLE + 0.0005, 34.231), (MIDDLE + 0.0005, 34.249)]),
    ("会亭路", "县道", [(116.117, 34.245), (116.128, 34.245)]),
    ("东关街", "支路", [(116.132, 34.236), (116.143, 34.236)]),
    ("刘庄路", "乡道", [(116.117, 34.234), (116.128, 34.234)]),
    ("王楼村道", "村道", [(116.132, 34.246), (116.143, 34.246)]),
    ("田间小路", "机耕路", [(116.120, 34.232), (116.125, 34.232)]),
]
# (id, name, lon, lat, direction, ledger township): cam-5 stands in 东城街道 but its ledger says 城关镇.
CAMERAS = [
    ("cam-1", "人民路西口", 116.118, 34.2402, 90, "城关镇"),
    ("cam-2", "人民路孔祖大道口", 116.1297, 34.2402, 90, "城关镇"),
    ("cam-3", "孔祖大道北段", 116.1302, 34.2440, 0, "东城街道"),
    ("cam-4", "东关街", 116.1330, 34.2362, 90, "东城街道"),
    ("cam-5", "人民路东段", 116.1380, 34.2402, 270, "城关镇"),
]


def write_layers(folder: Path) -> None:
    """GeoJSON layers with the columns a county's GIS office gives: 名称, 道路等级; 名称, 级别."""
    roads = gpd.GeoDataFrame(
        {"名称": [r[0] for r in ROADS], "道路等级": [r[1] for r in ROADS]},
        geometry=[LineString(r[2]) for r in ROADS],
        crs=4326,
    )
    roads.to_file(folder / "路网.geojson", driver="GeoJSON")
    areas = gpd.GeoDataFrame(
        {
            "名称": ["夏邑县", "城关镇", "东城街道", "东关村", "新华社区"],
            "级别": ["县", "乡镇", "乡镇（街道）", "村", "村/社区"],
        },
        geometry=[
            box(WEST, SOUTH, EAST, NORTH),
            box(WEST, SOUTH, MIDDLE, NORTH),
            box(MIDDLE, SOUTH, EAST, NORTH),
            box(WEST, SOUTH, MIDDLE, 34.240),
            box(MIDDLE, SOUTH, EAST, 34.240),
        ],
        crs=4326,
    )
    areas.to_file(folder / "行政区划.geojson", driver="GeoJSON")


def write_config(folder: Path, *, lon_shift: float = 0.0, extra: str = "") -> Path:
    write_layers(folder)
    rows = [
        f"  - {{id: {i}, name: {n}, lat: {lat}, lon: {lon + lon_shift}, direction: {d}, hfov: 90, range: 60, "
        f"county: 夏邑县, township: {t}}}"
        for i, n, lon, lat, d, t in CAMERAS
    ]
    config = folder / "camwatch.yaml"
    config.write_text(
        "cameras:\n" + "\n".join(rows) + "\n"
        "coverage:\n  roads: 路网.geojson\n  areas: 行政区划.geojson\n  max_suggestions: 10\n"
        + extra
        + "reports: {timezone: Asia/Shanghai}\n",
        encoding="utf-8",
    )
    return config


def test_chinese_road_classes_and_areas_map_without_renaming(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path))
    document = run_coverage(config, tmp_path / "out", lang="zh")
    categories = document["categories"]
    # 国道 and 城市主干道 are key roads, 县道 and 支路 main streets, 乡道 a township street, 村道 a village
    # road; a class the mapping does not know (机耕路) is left out, as an OSM footway is.
    assert set(categories) >= {"key_road", "main_street", "township_street", "village_road"}
    assert categories["key_road"]["total"] == pytest.approx(2390 + 2000, rel=0.02)
    assert categories["village_road"]["total"] == pytest.approx(1010, rel=0.05)
    areas = {(a["level"], a["area"]) for a in document["areas"]}
    assert {("county", "夏邑县"), ("township", "夏邑县/城关镇"), ("township", "夏邑县/东城街道")} <= areas
    assert ("village", "夏邑县/东城街道/新华社区") in areas


def test_road_classes_are_overridable_in_the_config(tmp_path: Path) -> None:
    extra = "  road_classes:\n    道路等级: {村道: key_road, 机耕路: village_road}\n"
    document = run_coverage(load_config(write_config(tmp_path, extra=extra)), tmp_path / "out", lang="zh")
    assert document["categories"]["key_road"]["total"] == pytest.approx(2390 + 2000 + 1010, rel=0.02)
    assert document["categories"]["village_road"]["total"] == pytest.approx(460, rel=0.05)
    bad = load_config(write_config(tmp_path, extra="  road_classes:\n    道路等级: {村道: school}\n"))
    with pytest.raises(ConfigError) as caught:
        run_coverage(bad, tmp_path / "bad", lang="zh")
    (problem,) = caught.value.problems
    assert problem.field == "road_classes.道路等级.村道" and "not a road category" in problem.reason


ENGLISH_SENTENCE = re.compile(r"\b[A-Za-z]{2,}(?:[ ,'-]+[A-Za-z]{2,}){2,}\b")


def test_the_chinese_report_warns_of_a_contradicting_township_in_chinese_only(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path))
    run_coverage(config, tmp_path / "out", lang="zh")
    text = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "1 台摄像机的台账乡镇与其坐标所在的乡镇不一致：cam-5（台账：城关镇，实际位于：东城街道）" in text
    assert ENGLISH_SENTENCE.findall(text) == []
    page = (tmp_path / "out" / "map.html").read_text(encoding="utf-8")
    legend = re.findall(r'<div class="camwatch-legend-row"><span [^>]*></span> ([^<]*)</div>', page)
    assert legend and all(re.search(r"[\u4e00-\u9fff]", row) for row in legend)
    english = run_coverage(config, tmp_path / "en", lang="en")
    assert english["categories"] == run_coverage(config, tmp_path / "zh2", lang="zh")["categories"]
    assert (
        "1 camera stands in another township than their ledger names: "
        "cam-5 (ledger 城关镇, stands in 东城街道)"
        in (tmp_path / "en" / "report.md").read_text(encoding="utf-8")
    )


def test_cameras_and_layers_far_apart_are_refused_unless_forced(tmp_path: Path) -> None:
    # The ledger's cameras 30 degrees east of the layers (another continent's worth of UTM zones).
    config = write_config(tmp_path, lon_shift=30.0)
    result = CliRunner().invoke(app, ["coverage", str(config), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "do not overlap" in result.output and "--force" in result.output
    assert not (tmp_path / "out" / "suggestions.csv").exists()
    forced = CliRunner().invoke(app, ["coverage", str(config), "--out", str(tmp_path / "out"), "--force"])
    assert forced.exit_code == 0, forced.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    # Measured in the cameras' own UTM zone (50N at 146°E would be 55N), never one midway.
    assert summary["crs"] == "EPSG:32655"
    assert "不重叠" in (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
