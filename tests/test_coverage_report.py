"""The coverage report end to end: status snapshots, summary.json shape, by_area.csv ranking, files, CLI."""

from __future__ import annotations

import csv
import json
import logging
import re
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pyogrio
import pytest
import shapely
from shapely import LineString, Point, box
from test_coverage_map import map_data
from typer.testing import CliRunner

from camwatch.cli import app
from camwatch.config.errors import ConfigError
from camwatch.config.load import load_config
from camwatch.coverage.command import run_coverage
from camwatch.coverage.status import load_states, load_status
from camwatch.monitor.state import StateStore, StoredCamera, Transition
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
        "gaps.fgb",
        "gaps.geojson",
        "map.html",
        "report.md",
        "suggestions.csv",
        "suggestions.geojson",
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
    # The map's areas carry their status, score and cameras needed (shown on hover), as by_area.csv does.
    shown = {
        f["properties"]["area"]: f["properties"]
        for c in map_data((out / "map.html").read_text())
        for f in c.get("features", [])
        if "needed" in f["properties"]
    }
    for row in rows:
        area = shown[row["area"]]
        assert (area["status"], area["needed"]) == (row["status"], int(row["cameras_needed"]))
        assert area["ratio"] == pytest.approx(float(row["score"]))
    county = [r for r in rows if r["area"] == "Yucheng"]
    assert int(county[0]["cameras_needed"]) == sum(
        int(next(r for r in rows if r["area"] == f"Yucheng/{t}")["cameras_needed"]) for t in ("East", "West")
    )

    gaps = json.loads((out / "gaps.geojson").read_text())
    kinds = sorted((f["properties"]["kind"], f["properties"]["area"]) for f in gaps["features"])
    # The same gaps for GIS users, at full precision (the GeoJSON keeps 6 decimals).
    fgb = pyogrio.read_dataframe(out / "gaps.fgb")
    assert fgb.crs.to_epsg() == 4326 and sorted(zip(fgb["kind"], fgb["area"], strict=True)) == kinds
    shapes = shapely.from_geojson([json.dumps(f["geometry"]) for f in gaps["features"]])
    same = shapely.equals_exact(shapes[:, None], fgb.geometry.to_numpy()[None, :], tolerance=1e-6)
    assert same.any(axis=0).all() and same.any(axis=1).all()
    assert any(len(str(x).split(".")[-1]) > 6 for x in shapely.get_coordinates(fgb.geometry).ravel())
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


@pytest.mark.parametrize(
    ("a", "reason"),
    [
        ({"up": True, "working": False, "status": "no_video", "faults": ["no_video"]}, "no picture"),
        ({"up": True, "working": False, "status": "frozen", "faults": ["frozen"]}, "picture fault"),
        ({"up": True, "working": False, "status": "ok", "faults": ["moved"]}, "looks elsewhere"),
    ],
)
def test_effective_coverage_counts_only_working_cameras(tmp_path: Path, a: dict, reason: str) -> None:
    """A camera that answers but has no usable picture (no_video, frozen) or looks elsewhere (moved) covers
    nothing effectively, exactly as if it were down; the report says why it was left out, and a moved
    camera's sector is drawn as unverified."""
    config = _project(tmp_path)
    status = tmp_path / "working.json"
    status.write_text(json.dumps([{"camera": "A", **a}, {"camera": "B", "up": True, "working": True}]))
    document = run_coverage(load_config(config), tmp_path / "out", status=status)
    road = document["categories"]["key_road"]
    assert road["covered"] == pytest.approx(105.0, abs=0.05)
    assert road["effective_ratio"] == pytest.approx(0.25, abs=1e-4)  # B alone, as with A down
    text = (tmp_path / "out" / "report.md").read_text()
    assert "- Cameras up in the status snapshot: 2 / 2" in text
    assert "- Cameras in working order (effective coverage): 1 / 2" in text
    assert f"- Left out of effective coverage: {reason}" in text
    page = (tmp_path / "out" / "map.html").read_text()
    assert ("Field of view (unverified)" in page) is (reason == "looks elsewhere")


def test_effective_coverage_from_the_state_database(tmp_path: Path) -> None:
    """The monitor's own state: a camera whose latest transition is not in working order (no_video) counts
    as left out."""
    db = tmp_path / "state.db"
    store = StateStore(db)
    store.stage(
        StoredCamera("A", True, "no_video", ("no_video",), 1.0, 1.0),
        Transition("A", 1.0, None, "no_video", True, False, ("no_video",)),
    )
    store.stage(StoredCamera("B", True, "ok", (), 1.0, 1.0), Transition("B", 1.0, None, "ok", True, True, ()))
    store.flush()
    store.close()
    states = load_states(db)
    assert (states["A"].up, states["A"].working, states["A"].left_out) == (True, False, "no picture")
    assert load_status(db) == {"A": False, "B": True}


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
    tiles = "http://10.1.2.3/tiles/{z}/{x}/{y}.png"
    config.write_text(
        config.read_text() + f"  basemap: {{tiles: '{tiles}', max_zoom: 18}}\n"
        "reports: {timezone: Asia/Shanghai}\n"
    )
    result = CliRunner().invoke(app, ["coverage", str(config), "--out", str(tmp_path / "zh")])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "zh" / "map.html").read_text(encoding="utf-8")
    # The map speaks the report language too, and its base is the configured local tile server.
    legend = re.findall(r'<div class="camwatch-legend-row"><span [^>]*></span> ([^<]*)</div>', page)
    # No status file: no camera is down; the townships are red and orange, so only those are listed.
    assert legend == [
        "道路已覆盖",
        "道路未覆盖",
        "监控视场",
        "盲区",
        "摄像机",
        "建议新增点位",
        "区域 红",
        "区域 橙",
    ]
    assert {"url": tiles, "attribution": "", "maxZoom": 18} in map_data(page)
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


def _planner_project(tmp_path: Path, *, cameras_at: float = 0.0, extra: str = "") -> Path:
    """One straight key road of two named OSM ways (凯旋路 west of x=0, 神火大道 east of it), a school
    nobody sees, no areas layer; camera A at x=``cameras_at`` looks north from 50 m below the road's west
    end. The ledger names the county and township."""
    write_layer(
        tmp_path / "roads.gpkg",
        [LineString([(-400, 50), (0, 50)]), LineString([(0, 50), (400, 50)])],
        category=["key_road", "key_road"],
        name=["凯旋路", "神火大道"],
        osm_id=["101", "102"],
    )
    write_layer(tmp_path / "sites.gpkg", [Point(300, 80)], category=["school"], name=["实验小学"])
    lon, lat = lonlat(cameras_at - 350, 0)
    config = tmp_path / "camwatch.yaml"
    config.write_text(
        f"cameras:\n  - {{id: A, lat: {lat!r}, lon: {lon!r}, direction: 0, hfov: 60, range: 80, "
        "county: 梁园区, township: 平原街道}\n"
        "coverage:\n  roads: roads.gpkg\n  sites: sites.gpkg\n" + extra,
        encoding="utf-8",
    )
    return config


def test_planner_deliverables(tmp_path: Path) -> None:
    config = _planner_project(tmp_path, extra="  categories: {key_road: {kind: road, target: 0.5}}\n")
    out = tmp_path / "out"
    run_coverage(load_config(config), out)
    # Without an areas layer, by_area.csv ranks the ledger's own county and township.
    areas = {
        (r["level"], r["area"]) for r in csv.DictReader((out / "by_area.csv").open(encoding="utf-8-sig"))
    }
    assert areas == {("county", "梁园区"), ("township", "梁园区/平原街道")}

    # The gap along both ways is one stretch that names both; the school gap names the school.
    gaps = [f["properties"] for f in json.loads((out / "gaps.geojson").read_text())["features"]]
    road = max((g for g in gaps if g["kind"] == "road"), key=lambda g: g["length_m"])
    assert (road["name"], road["osm_id"], road["category"]) == ("凯旋路; 神火大道", "101; 102", "key_road")
    assert road["length_m"] > 600
    (site,) = [g for g in gaps if g["kind"] == "site"]
    assert (site["name"], site["category"], site["area"]) == ("实验小学", "school", "梁园区/平原街道")

    rows = list(csv.DictReader((out / "suggestions.csv").open(encoding="utf-8-sig")))
    assert rows and list(rows[0]) == [
        "id", "lon", "lat", "ledger_crs", "ledger_lon", "ledger_lat",
        "direction", "hfov", "range", "gain", "area", "covers",
    ]  # fmt: skip
    assert all(r["ledger_crs"] == "wgs84" and r["ledger_lon"] == r["lon"] for r in rows)
    assert any("school 1" in r["covers"] for r in rows) and all(
        "key_road" in r["covers"] or "school" in r["covers"] for r in rows
    )
    features = json.loads((out / "suggestions.geojson").read_text())["features"]
    assert [f["properties"]["id"] for f in features] == [r["id"] for r in rows]
    assert features[0]["geometry"]["coordinates"] == pytest.approx(
        [float(rows[0]["lon"]), float(rows[0]["lat"])]
    )
    text = (out / "report.md").read_text(encoding="utf-8")
    assert f"{len(rows)} new cameras suggested" in text
    assert "every area would meet its targets" in text and "cap" not in text


def test_suggestions_in_the_ledger_system_and_the_cap(tmp_path: Path) -> None:
    from camwatch.config.coords import gcj02_to_wgs84
    from camwatch.coverage.measure import CoverageModel
    from camwatch.coverage.placement import suggest_cameras
    from camwatch.reports.coverage import suggestion_table, suggestions_outcome

    config = _planner_project(tmp_path, extra="  max_suggestions: 1\n")
    model = CoverageModel.from_config(load_config(config))
    suggestions = suggest_cameras(model)
    assert len(suggestions) == 1 and suggestions.attrs == {"targets_met": False, "cap_reached": True}
    assert "cap on suggestions was reached (coverage.max_suggestions = 1)" in suggestions_outcome(suggestions)
    assert "仍有区域未达到目标" in suggestions_outcome(suggestions, "zh")
    table = suggestion_table(suggestions, ledger_crs="gcj02", kinds={"key_road": "road", "school": "site"})
    back_lat, back_lon = gcj02_to_wgs84(table["ledger_lat"], table["ledger_lon"])
    assert back_lat == pytest.approx(table["lat"], abs=1e-6) and back_lon == pytest.approx(
        table["lon"], abs=1e-6
    )
    assert abs(table["ledger_lon"][0] - table["lon"][0]) > 1e-3  # GCJ-02 is some hundred metres off


def test_warnings_for_layers_apart_and_a_foreign_status_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = _planner_project(tmp_path, cameras_at=50_000.0)
    (tmp_path / "probe.json").write_text(json.dumps([{"camera": "other-1", "up": True}]))
    with caplog.at_level(logging.WARNING):
        # Refused unless forced (tests/test_coverage_chinese.py); forced, the report says why it is empty.
        run_coverage(load_config(config), tmp_path / "out", status=tmp_path / "probe.json", force=True)
    text = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    for expected in (
        "the cameras and the coverage layers do not overlap",
        f"the status file {tmp_path / 'probe.json'} names none of the 1 cameras (it names 1 others)",
    ):
        assert expected in text and expected in caplog.text


def test_forked_children_write_the_same_report_as_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On the main thread the map's layers and the files are made by forked children (coverage.aside); off
    # it (the demo's worker thread) all in this process. Both must write the same bytes: every file, and the
    # page and its detail files (made small enough to be tiled) once folium's random ids are numbered.
    monkeypatch.setattr("camwatch.coverage.mappage.DETAIL_BYTES", 100)
    config = _project(tmp_path)
    write_layer(tmp_path / "buildings.gpkg", [box(20, 60, 40, 80), box(-850, 60, -830, 80)])
    config.write_text(config.read_text().replace("coverage:\n", "coverage:\n  buildings: buildings.gpkg\n"))
    status = tmp_path / "probe.json"
    status.write_text(
        json.dumps([{"camera": "A", "up": False}, {"camera": "B", "up": True, "faults": ["moved"]}])
    )
    forked = tmp_path / "forked"
    run_coverage(load_config(config), forked, status=status)
    alone = tmp_path / "alone"
    worker = threading.Thread(
        target=run_coverage, args=(load_config(config), alone), kwargs={"status": status}
    )
    worker.start()
    worker.join()

    def files(out: Path) -> dict[str, bytes]:
        found = {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
        ids: dict[bytes, bytes] = {}  # folium's random ids, numbered in order of appearance in the page
        for match in re.finditer(rb"[0-9a-f]{32}", found["map.html"]):
            ids.setdefault(match.group(), b"id%d" % len(ids))
        assert ids

        def number(data: bytes) -> bytes:
            return re.sub(rb"[0-9a-f]{32}", lambda m: ids.get(m.group(), b"unknown"), data)

        # The page and its detail files (text) numbered; every other file as it is.
        return {
            number(name.encode()).decode(): number(data) if name.endswith((".html", ".js")) else data
            for name, data in found.items()
        }

    mine, theirs = files(forked), files(alone)
    assert sorted(mine) == sorted(theirs)
    assert any(name.startswith("map_files/") for name in mine)  # detail files were written and compared
    assert {"gaps.fgb", "gaps.geojson", "map.html", "report.md", "summary.json"} <= mine.keys()
    assert mine == theirs
