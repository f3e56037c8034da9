"""Hostile names in ledgers, layers and OSM stay data: the map evaluates no template and runs no HTML from
them (checked in headless Chromium), CSV cells cannot start a formula, markdown tables keep their shape."""

from __future__ import annotations

import csv
import json
import logging
import re
from pathlib import Path

import openpyxl
import pytest
import yaml
from shapely import LineString, Point, box
from test_coverage_map import map_data
from typer.testing import CliRunner

from camwatch.cli import app
from camwatch.config.load import load_config
from camwatch.config.models import Config, MonitorSettings, ReportSettings
from camwatch.coverage.command import run_coverage
from camwatch.monitor.state import StateStore, StoredCamera, Transition
from camwatch.monitor.uptime import month_bounds
from camwatch.reports.cells import markdown_cell, spreadsheet_cell
from camwatch.reports.uptime import write_uptime_report
from support.browser import load_page
from support.cameras import make_camera
from support.coverage_sample import lonlat, write_layer

# An <img> whose onerror counts in window.camwatchXss: it runs only if the text is ever parsed as HTML.
XSS = "<img src=x onerror=window.camwatchXss=(window.camwatchXss||0)+1>"
FORMULA = '=HYPERLINK("http://127.0.0.1/","click")'
# Every breaker at once: a formula start, live HTML, a table pipe, backticks and a line break.
MIXED = f"{FORMULA}{XSS}|`code`\nsecond line"
COUNTY = "@{% raw %}"  # a formula start too: every area path of the report begins with it


def ssti(marker: Path) -> str:
    """A Jinja payload that creates ``marker`` if it is ever evaluated."""
    return "{{ cycler.__init__.__globals__.os.mkdir('" + str(marker) + "') }}"


# Hovers every feature of every drawn GeoJSON layer (as a mouse would), reads each tooltip, then checks that
# the payload is live in this browser: the same text through innerHTML must run its onerror.
OPEN_TOOLTIPS = """new Promise(resolve => {
    const map = Object.values(window).find(v => v instanceof L.Map);
    const texts = [];
    let images = 0;
    map.eachLayer(group => {
        if (!(group instanceof L.GeoJSON) || !group.getTooltip()) return;  // the drawn base has none
        group.eachLayer(feature => {
            const at = feature.getLatLng ? feature.getLatLng() : feature.getBounds().getCenter();
            feature.fire("mouseover", {latlng: at}, true);
            const element = group.getTooltip().getElement();
            texts.push(element.textContent);
            images += element.querySelectorAll("img").length;
            feature.fire("mouseout", {latlng: at}, true);
        });
    });
    setTimeout(() => {
        const fromTooltips = window.camwatchXss ?? 0;
        document.createElement("div").innerHTML = PAYLOAD;
        setTimeout(() => resolve({texts, images, fromTooltips, control: window.camwatchXss ?? 0}), 500);
    }, 500);
})""".replace("PAYLOAD", json.dumps(XSS))


def hostile_project(folder: Path) -> Path:
    """The two-township project of the report tests with hostile county, township, site and camera names."""
    write_layer(
        folder / "roads.gpkg",
        [LineString([(-100, 50), (100, 50)]), LineString([(-900, 50), (-700, 50)])],
        category=["key_road", "key_road"],
    )
    write_layer(
        folder / "sites.gpkg",
        [Point(0, 15), Point(-800, 15)],
        category=["school", "school"],
        name=["{% raw %}", "{{7*7}}"],
    )
    write_layer(
        folder / "areas.gpkg",
        [box(-1000, -500, 500, 500), box(-200, -500, 500, 500), box(-1000, -500, -200, 500)],
        name=[COUNTY, "{{7*7}}", MIXED],
        level=["county", "township", "township"],
    )
    names = {"A": ssti(folder / "ssti-ran"), "B": XSS, "C": "{{7*7}}"}
    cameras = []
    for (camera_id, name), x in zip(names.items(), (0.0, 5.0, -800.0), strict=True):
        lon, lat = lonlat(x, 0)
        cameras.append(
            {"id": camera_id, "name": name, "lat": lat, "lon": lon, "direction": 0, "hfov": 90, "range": 100}
        )
    config = folder / "camwatch.yaml"
    coverage = {"roads": "roads.gpkg", "sites": "sites.gpkg", "areas": "areas.gpkg", "max_suggestions": 5}
    config.write_text(yaml.safe_dump({"cameras": cameras, "coverage": coverage}, allow_unicode=True))
    (folder / "probe.json").write_text(
        json.dumps([{"camera": "A", "up": False}, {"camera": "B", "up": True}])
    )
    return config


def table_rows(text: str, heading: str) -> list[str]:
    """The body lines of the first markdown table after the line ``heading`` (a blank line ends it)."""
    lines = text.splitlines()
    start = next(i for i in range(lines.index(heading), len(lines)) if lines[i].startswith("|"))
    rows = []
    for line in lines[start + 2 :]:
        if not line:
            break
        rows.append(line)
    return rows


def cells(line: str) -> int:
    """How many cells a markdown table line has (escaped pipes are text)."""
    return len(re.findall(r"(?<!\\)\|", line)) - 1


def test_hostile_names_are_shown_literally_in_every_coverage_file(tmp_path: Path) -> None:
    config = hostile_project(tmp_path)
    out = tmp_path / "out"
    run_coverage(load_config(config), out, status=tmp_path / "probe.json")  # '{% raw %}' does not crash it
    assert not (tmp_path / "ssti-ran").exists()

    html = (out / "map.html").read_text(encoding="utf-8")
    collections = map_data(html)
    names = {f["properties"]["name"] for c in collections for f in c["features"] if "name" in f["properties"]}
    assert names == {ssti(tmp_path / "ssti-ran"), XSS, "{{7*7}}"}
    areas = {f["properties"]["area"] for c in collections for f in c["features"] if "area" in f["properties"]}
    assert {f"{COUNTY}/{{{{7*7}}}}", f"{COUNTY}/{MIXED}"} <= areas
    assert "<img" not in html  # every '<' of the data is escaped in the page source

    page = load_page((out / "map.html").as_uri(), evaluate={"tooltips": OPEN_TOOLTIPS}, settle_s=0.2)
    # The control's <img src=x> is the one image the page asked for; nothing else failed.
    control = (out / "x").as_uri()
    assert page.requests == [(out / "map.html").as_uri(), control]
    assert [e for e in page.errors if control not in e and "ERR_FILE_NOT_FOUND" not in e] == []
    shown = page.values["tooltips"]
    text = "\n".join(shown["texts"])
    # Each tooltip is a table of label and value cells; its text runs them together.
    assert "Name{{7*7}}Status" in text and f"Area{COUNTY}/{{{{7*7}}}}Level" in text
    assert f"Name{XSS}Status" in text and f"Name{ssti(tmp_path / 'ssti-ran')}Status" in text
    assert f"Area{COUNTY}/{MIXED}Level" in text
    assert shown["images"] == 0 and shown["fromTooltips"] == 0
    assert shown["control"] == 1  # the payload does run when parsed as HTML: the zero above means something

    rows = list(csv.DictReader((out / "by_area.csv").open(encoding="utf-8", newline="")))
    assert {r["area"] for r in rows} == {f"'{COUNTY}", f"'{COUNTY}/{{{{7*7}}}}", f"'{COUNTY}/{MIXED}"}
    assert all(float(r["score"]) >= 0 and r["rank"].isdigit() for r in rows)  # numbers stay numbers

    report = (out / "report.md").read_text(encoding="utf-8")
    assert "<img" not in report and "&lt;img src=x onerror=" in report
    ranking = table_rows(report, "## Ranking by township")
    assert len(ranking) == 2 and all(cells(line) == 5 for line in ranking)
    assert any("{{7\\*7}}" in line for line in ranking)


def test_formula_cells_are_neutralised_and_numbers_kept() -> None:
    for value in ("=1+2", "+1+2", "-2+3", "@SUM(A1)", "\t=1", "\r=1", FORMULA, "-", "+"):
        assert spreadsheet_cell(value) == "'" + value
    for value in ("-3.5", "+7", "-1e-3", ".5", "Nanjing", "a=b", "", " =1"):
        assert spreadsheet_cell(value) == value
    for number in (-3.5, 0, 7, True, None):
        assert spreadsheet_cell(number) is number


def test_markdown_cells_carry_no_html_and_no_table_syntax() -> None:
    assert markdown_cell(XSS) == "&lt;img src=x onerror=window.camwatchXss=(window.camwatchXss\\|\\|0)+1&gt;"
    assert markdown_cell("a|b\nc\r\nd `e` *f* [g](h) & 1_2") == (
        "a\\|b c d \\`e\\` \\*f\\* \\[g\\](h) &amp; 1\\_2"
    )
    assert markdown_cell("东城区") == "东城区"


def test_uptime_reports_keep_hostile_names_as_data(tmp_path: Path) -> None:
    t0, _ = month_bounds("2026-11")
    store = StateStore(tmp_path / "state.db")
    with store._conn:
        store._conn.execute("INSERT INTO runs (started, last_seen) VALUES (?, ?)", (t0, t0 + 100 * 3600.0))
    for camera, up in (("=cmd|' /C calc'!A0", False), ("ok", True)):
        status = "ok" if up else "offline"
        store.stage(
            StoredCamera(camera, up, status, (), t0, t0), Transition(camera, t0, None, status, up, up, ())
        )
    store.flush()
    store.close()
    cameras = (
        make_camera(id="=cmd|' /C calc'!A0", name=MIXED, county="@SUM(1)", township=XSS),
        make_camera(id="ok", name="-3.5", county="@SUM(1)", township="-3.5"),
    )
    config = Config(
        source=tmp_path / "camwatch.yaml",
        cameras=cameras,
        monitor=MonitorSettings(state=tmp_path / "state.db"),
        reports=ReportSettings(),
    )
    areas_csv, cameras_csv, markdown, xlsx, _, _ = write_uptime_report(
        config, "2026-11", tmp_path / "out", lang="en"
    )

    areas = list(csv.DictReader(areas_csv.open(encoding="utf-8-sig", newline="")))
    assert {r["area"] for r in areas} == {"'@SUM(1)", f"'@SUM(1)/{XSS}", "'@SUM(1)/-3.5"}
    assert {r["online_rate"] for r in areas if r["level"] == "county"} == {"0.500000"}
    rows = {r["name"]: r for r in csv.DictReader(cameras_csv.open(encoding="utf-8-sig", newline=""))}
    assert set(rows) == {"'" + MIXED, "-3.5"}  # -3.5 is a number, not a formula
    assert rows["'" + MIXED]["camera"] == "'=cmd|' /C calc'!A0" and rows["'" + MIXED]["county"] == "'@SUM(1)"
    assert rows["-3.5"]["township"] == "-3.5" and rows["-3.5"]["online_rate"] == "1.000000"
    # openpyxl stores text starting with "=" as a formula: the workbook must hold none.
    book = openpyxl.load_workbook(xlsx)
    cells_in_book = [c for sheet in book for row in sheet.iter_rows() for c in row]
    assert not [c.coordinate for c in cells_in_book if c.data_type == "f"]
    assert "'=cmd|' /C calc'!A0" in {c.value for c in cells_in_book}

    text = markdown.read_text(encoding="utf-8")
    assert "<img" not in text
    townships = table_rows(text, "## By township")
    below = table_rows(text, "## Cameras below the online target")
    assert len(below) == 1 and cells(below[0]) == 4
    assert all(cells(line) == 6 for line in townships)


OSM_NODE = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="camwatch tests">
  <node id="201" lat="34.41" lon="115.65" version="1">
    <tag k="man_made" v="surveillance"/><tag k="name" v="NAME"/>
  </node>
</osm>
"""


@pytest.mark.parametrize("name", ["{{7*7}}", "{% raw %}", XSS, FORMULA])
def test_osm_import_keeps_a_hostile_name_literal(tmp_path: Path, name: str) -> None:
    from xml.sax.saxutils import quoteattr

    osm = tmp_path / "cameras.osm"
    osm.write_text(OSM_NODE.replace('"NAME"', quoteattr(name)), encoding="utf-8")
    inventory = tmp_path / "cameras.yaml"
    result = CliRunner().invoke(app, ["import", "osm", str(osm), "--out", str(inventory)])
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(inventory.read_text(encoding="utf-8"))["cameras"][0]["name"] == name
    (tmp_path / "camwatch.yaml").write_text("cameras: cameras.yaml\n")
    assert [c.name for c in load_config(tmp_path / "camwatch.yaml").cameras] == [name]


def test_probe_table_shows_a_camera_id_as_typed(tmp_path: Path, closed_port: int) -> None:
    camera = "[red]x[/red][link=http://127.0.0.1/]y"  # rich markup: would style and link if not escaped
    config = tmp_path / "camwatch.yaml"
    rtsp_url = f"rtsp://127.0.0.1:{closed_port}/x"
    config.write_text(yaml.safe_dump({"cameras": [{"id": camera, "rtsp_url": rtsp_url}]}))
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        result = CliRunner().invoke(app, ["probe", str(config)], env={"COLUMNS": "200"})
    finally:
        root.handlers[:], root.level = handlers, level
    assert result.exit_code == 0, result.output
    assert camera in result.output
