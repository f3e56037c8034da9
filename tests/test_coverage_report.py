"""The coverage report end to end: status snapshots, summary.json shape, by_area.csv ranking, files, CLI."""

from __future__ import annotations

import csv
import json
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from shapely import LineString, Point, box
from typer.testing import CliRunner

from camwatch.cli import app
from camwatch.config.errors import ConfigError
from camwatch.config.load import load_config
from camwatch.coverage.command import run_coverage
from camwatch.coverage.status import load_status
from support.coverage_sample import lonlat, write_layer

CATEGORY_KEYS = {"kind", "target", "total", "covered", "ratio", "effective_ratio", "meets_target"}


def test_status_from_probe_json_and_state_database(tmp_path: Path) -> None:
    probe = tmp_path / "probe.json"
    probe.write_text(
        json.dumps(
            [
                {"camera": "A", "up": True, "status": "ok", "faults": [], "probes": {}},
                {"camera": "B", "up": False, "status": "offline", "faults": [], "probes": {}},
            ]
        )
    )
    assert load_status(probe) == {"A": True, "B": False}

    db = tmp_path / "camwatch.db"
    with sqlite3.connect(db) as conn:
        conn.execute(
            "CREATE TABLE camera_state (camera TEXT PRIMARY KEY, up INTEGER, status TEXT, since REAL)"
        )
        conn.executemany(
            "INSERT INTO camera_state VALUES (?, ?, ?, ?)",
            [("A", 0, "frozen", 1.0), ("B", 1, "ok", 2.0), ("C", None, "unknown", 3.0)],
        )
    conn.close()
    assert load_status(db) == {"A": False, "B": True}

    bad = tmp_path / "bad.json"
    bad.write_text('[{"camera": "A", "up": "yes"}]')
    with pytest.raises(ConfigError) as caught:
        load_status(bad)
    assert (caught.value.problems[0].where, caught.value.problems[0].field) == ("item 1", "up")


def _project(tmp_path: Path) -> Path:
    """Two townships of one county: East has its road half covered by A and B and its school (which
    needs recognition, 7.68 m) seen from 5 m; West's road and school are unseen. A is down in the status
    snapshot."""
    write_layer(
        tmp_path / "roads.gpkg",
        [LineString([(-100, 50), (100, 50)]), LineString([(-900, 50), (-700, 50)])],
        category=["key_road", "key_road"],
    )
    write_layer(
        tmp_path / "sites.gpkg",
        [Point(0, 15), Point(-800, 15)],
        category=["school", "school"],
        name=["East school", "West school"],
    )
    write_layer(
        tmp_path / "areas.gpkg",
        [box(-1000, -500, 500, 500), box(-200, -500, 500, 500), box(-1000, -500, -200, 500)],
        name=["Yucheng", "East", "West"],
        level=["county", "township", "township"],
    )
    cameras = []
    for camera_id, x in (("A", 0.0), ("B", 5.0)):
        lon, lat = lonlat(x, 0)
        cameras.append(
            f"  - {{id: {camera_id}, lat: {lat!r}, lon: {lon!r}, direction: 0, hfov: 90, range: 100}}"
        )
    config = tmp_path / "camwatch.yaml"
    config.write_text(
        "cameras:\n" + "\n".join(cameras) + "\n"
        "coverage:\n  roads: roads.gpkg\n  sites: sites.gpkg\n  areas: areas.gpkg\n  max_suggestions: 20\n"
        "  thresholds: {red: 0.5, orange: 0.8, yellow: 0.95}\n"
    )
    (tmp_path / "probe.json").write_text(
        json.dumps([{"camera": "A", "up": False}, {"camera": "B", "up": True}])
    )
    return config


def test_report_files_and_summary_shape(tmp_path: Path) -> None:
    config = _project(tmp_path)
    out = tmp_path / "out"
    document = run_coverage(load_config(config), out, status=tmp_path / "probe.json")
    assert sorted(p.name for p in out.iterdir()) == [
        "by_area.csv",
        "gaps.geojson",
        "map.html",
        "report.md",
        "summary.json",
    ]
    assert json.loads((out / "summary.json").read_text()) == document
    assert set(document) == {"crs", "categories", "areas"} and document["crs"] == "EPSG:32650"
    assert set(document["categories"]) == {"key_road", "school"}
    road = document["categories"]["key_road"]
    assert set(road) == CATEGORY_KEYS
    # East: [-50, 50] by A and [-45, 55] by B = 105 m of 400 m; B alone (A is down) sees 100 m.
    assert (road["kind"], road["target"], road["total"]) == ("road", 1.0, 400.0)
    assert road["covered"] == pytest.approx(105.0, abs=0.05)
    assert road["effective_ratio"] == pytest.approx(0.25, abs=1e-4) and road["meets_target"] is False
    assert document["categories"]["school"] == {
        "kind": "site",
        "target": 1.0,
        "total": 2,
        "covered": 1,
        "ratio": 0.5,
        "effective_ratio": 0.5,
        "meets_target": False,
    }
    areas = {(a["level"], a["area"]): a for a in document["areas"]}
    assert set(areas) == {("county", "Yucheng"), ("township", "Yucheng/East"), ("township", "Yucheng/West")}
    for area in document["areas"]:
        assert set(area) == {"area", "level", "status", "rank", "categories"}
        assert all(set(c) == CATEGORY_KEYS for c in area["categories"].values())
    east, west = areas[("township", "Yucheng/East")], areas[("township", "Yucheng/West")]
    # East: road 100/200 effective -> 0.5 of target, school seen -> 1: score 0.75 (orange); West sees nothing.
    assert (east["rank"], east["status"], west["rank"], west["status"]) == (1, "orange", 2, "red")
    assert east["categories"]["key_road"]["total"] == 200.0 and west["categories"]["school"]["covered"] == 0

    rows = list(csv.DictReader((out / "by_area.csv").open()))
    assert {(r["area"], r["category"]) for r in rows} == {
        (a, c) for a in ("Yucheng", "Yucheng/East", "Yucheng/West") for c in ("key_road", "school")
    }
    west_rows = [r for r in rows if r["area"] == "Yucheng/West"]
    assert {r["status"] for r in west_rows} == {"red"} and int(west_rows[0]["cameras_needed"]) >= 3
    county = [r for r in rows if r["area"] == "Yucheng"]
    assert int(county[0]["cameras_needed"]) == sum(
        int(next(r for r in rows if r["area"] == f"Yucheng/{t}")["cameras_needed"]) for t in ("East", "West")
    )

    gaps = json.loads((out / "gaps.geojson").read_text())
    kinds = sorted((f["properties"]["kind"], f["properties"]["area"]) for f in gaps["features"])
    assert kinds == [
        ("road", "Yucheng/East"),
        ("road", "Yucheng/East"),
        ("road", "Yucheng/West"),
        ("site", "Yucheng/West"),
    ]
    lengths = sorted(
        round(f["properties"]["length_m"]) for f in gaps["features"] if f["properties"]["kind"] == "road"
    )
    assert lengths == [45, 50, 200]
    text = (out / "report.md").read_text()
    assert "| key_road | road | 100.0 % | 0.40 km | 0.10 km | 26.2 % | 25.0 % |" in text
    assert "## Ranking by township" in text and "| 2 | Yucheng/West | red |" in text
    assert "Leaflet" in (out / "map.html").read_text()


@pytest.fixture
def root_logging() -> Iterator[None]:
    """The CLI points the root logger at the runner's captured stderr: put the old handlers back."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level


def test_cli_coverage_command(tmp_path: Path, root_logging: None) -> None:
    config = _project(tmp_path)
    result = CliRunner().invoke(
        app,
        ["coverage", str(config), "--out", str(tmp_path / "cli"), "--status", str(tmp_path / "probe.json")],
    )
    assert result.exit_code == 0, result.output
    assert "0/2 categories meet their target" in result.output
    document = json.loads((tmp_path / "cli" / "summary.json").read_text())
    assert document["categories"]["key_road"]["effective_ratio"] == pytest.approx(0.25, abs=1e-4)


def test_chinese_report_and_bom_csv(tmp_path: Path, root_logging: None) -> None:
    config = _project(tmp_path)
    config.write_text(config.read_text() + "reports: {timezone: Asia/Shanghai}\n")
    result = CliRunner().invoke(app, ["coverage", str(config), "--out", str(tmp_path / "zh")])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "zh" / "report.md").read_text(encoding="utf-8")
    assert text.startswith("# 视频监控覆盖分析报告\n")
    assert "| 主干道 | 道路 | 100.0 % | 0.40 km | 0.10 km | 26.2 % | 26.2 % |" in text
    assert "## 乡镇排名" in text and "| 2 | Yucheng/West | 红 |" in text
    raw = (tmp_path / "zh" / "by_area.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader((tmp_path / "zh" / "by_area.csv").open(encoding="utf-8-sig")))
    west = [r for r in rows if r["区域"] == "Yucheng/West"]
    assert {r["状态"] for r in west} == {"红"} and {r["层级"] for r in west} == {"乡镇"}
    assert {r["类别"] for r in west} == {"主干道", "学校"} and {r["是否达标"] for r in west} == {"否"}
    # summary.json stays the machine contract, in English.
    assert "key_road" in json.loads((tmp_path / "zh" / "summary.json").read_text())["categories"]
