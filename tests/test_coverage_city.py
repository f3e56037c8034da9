"""The city coverage roll-up: county reports of `camwatch coverage` added up, areas ranked city-wide, CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from shapely import LineString, box
from test_coverage_report import _project
from typer.testing import CliRunner

from camwatch.cli import app
from camwatch.config.load import load_config
from camwatch.coverage.city import city_rows
from camwatch.coverage.command import run_coverage
from camwatch.reports.cells import markdown_cell
from support.coverage_sample import write_layer

# A county name that is a spreadsheet formula, a markdown table break and HTML at once (no "/": it is the
# area path separator).
HOSTILE = '=HYPERLINK("http://127.0.0.1/x")|<img src=x onerror=alert(1)>*'


def _two_counties(tmp_path: Path) -> tuple[Path, Path]:
    """Yucheng (test_coverage_report's project: key_road 105 of 400 m seen, 100 m by a camera up; one of
    two schools seen) and a county named :data:`HOSTILE` with only East's 200 m road (both cameras up, so
    105 m seen and effective) and the same schools."""
    yucheng, hostile = tmp_path / "yucheng", tmp_path / "hostile"
    for folder in (yucheng, hostile):
        folder.mkdir()
    run_coverage(load_config(_project(yucheng)), yucheng / "report", status=yucheng / "probe.json")
    config = _project(hostile)
    write_layer(hostile / "roads.gpkg", [LineString([(-100, 50), (100, 50)])], category=["key_road"])
    write_layer(
        hostile / "areas.gpkg",
        [box(-1000, -500, 500, 500), box(-200, -500, 500, 500), box(-1000, -500, -200, 500)],
        name=[HOSTILE, "East", "West"],
        level=["county", "township", "township"],
    )
    run_coverage(load_config(config), hostile / "report")
    return yucheng / "report", hostile / "report"


def test_city_rollup_adds_totals_and_ranks_areas_city_wide(tmp_path: Path) -> None:
    yucheng, hostile = _two_counties(tmp_path)
    out = tmp_path / "city"
    result = CliRunner().invoke(
        app, ["report", "coverage-city", str(yucheng), str(hostile), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "2 county reports, 0/2 categories meet their target" in result.output

    document = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert document["reports"] == [str(yucheng), str(hostile)] and document["crs"] == "EPSG:32650"
    road, school = document["categories"]["key_road"], document["categories"]["school"]
    # 400 + 200 m of key road, 105 + 105 m seen: 0.35; effective 100 + 105 m: 205 / 600.
    assert (road["total"], road["meets_target"]) == (600.0, False)
    assert road["covered"] == pytest.approx(210.0, abs=0.1)
    assert road["ratio"] == pytest.approx(0.35, abs=1e-4)
    assert road["effective_ratio"] == pytest.approx(205 / 600, abs=1e-4)
    assert (school["total"], school["covered"], school["ratio"]) == (4, 2, 0.5)

    ranks = {(a["level"], a["area"]): (a["rank"], a["status"]) for a in document["areas"]}
    # Scores (mean of effective / target): hostile East (0.525 + 1) / 2, Yucheng East (0.5 + 1) / 2, the
    # Wests 0; counties: hostile (0.525 + 0.5) / 2 over Yucheng (0.25 + 0.5) / 2. Default thresholds.
    assert ranks == {
        ("county", HOSTILE): (1, "red"),
        ("county", "Yucheng"): (2, "red"),
        ("township", f"{HOSTILE}/East"): (1, "red"),
        ("township", "Yucheng/East"): (2, "red"),
        ("township", f"{HOSTILE}/West"): (3, "red"),
        ("township", "Yucheng/West"): (3, "red"),
    }

    with (out / "by_area.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert "cameras_needed" not in rows[0] and "redundant_ratio" not in rows[0]
    # The county's name is data in the sheet: the formula is neutralised by a leading quote.
    assert [r["area"] for r in rows if r["level"] == "county"][:1] == ["'" + HOSTILE]
    east = {r["category"]: r for r in rows if r["area"] == "'" + HOSTILE + "/East"}
    assert (east["key_road"]["total"], east["key_road"]["rank"]) == ("200.0", "1")

    text = (out / "report.md").read_text(encoding="utf-8")
    assert "| key_road | road | 100.0 % | 0.60 km | 0.21 km | 35.0 % | 34.2 % | **no** |" in text
    assert f"| 1 | {markdown_cell(HOSTILE)} | red | 51.2 % |" in text
    assert "<img" not in text and HOSTILE not in text
    assert "*effective*: seen by a camera in working order (up, with a usable picture)." in text
    assert "redundant" not in text

    zh = CliRunner().invoke(
        app, ["report", "coverage-city", str(yucheng), str(hostile), "--out", str(out / "zh"), "--lang", "zh"]
    )
    assert zh.exit_code == 0, zh.output
    header = (out / "zh" / "by_area.csv").read_text(encoding="utf-8-sig").splitlines()[0].split(",")
    assert header[:5] == ["层级", "区域", "排名", "状态", "得分"]
    assert "# 全市视频监控覆盖分析报告" in (out / "zh" / "report.md").read_text(encoding="utf-8")


def test_city_rollup_refuses_a_county_twice_and_a_folder_without_summary(tmp_path: Path) -> None:
    yucheng, _ = _two_counties(tmp_path)
    twice = CliRunner().invoke(
        app, ["report", "coverage-city", str(yucheng), str(yucheng), "--out", str(tmp_path / "c")]
    )
    assert twice.exit_code == 1
    assert "county 'Yucheng' is in two of the reports" in twice.output
    empty = tmp_path / "empty"
    empty.mkdir()
    missing = CliRunner().invoke(app, ["report", "coverage-city", str(empty), "--out", str(tmp_path / "c")])
    assert missing.exit_code == 1 and "summary.json: no such file" in missing.output
    assert not (tmp_path / "c").exists()


def test_city_rows_take_the_strictest_target_and_skip_absent_categories() -> None:
    def entry(kind: str, target: float, total: float, covered: float, effective: float) -> dict[str, object]:
        return {
            "kind": kind,
            "target": target,
            "total": total,
            "covered": covered,
            "effective_ratio": effective,
        }

    documents = [
        {"categories": {"school": entry("site", 0.8, 10, 4, 0.3), "bank": entry("site", 1.0, 0, 0, 0.0)}},
        {"categories": {"school": entry("site", 1.0, 30, 27, 0.9)}},
    ]
    rows = city_rows([{**d, "areas": []} for d in documents])
    assert rows[["level", "category"]].values.tolist() == [["all", "school"]]
    school = rows.iloc[0]
    # (4 + 27) / 40 seen; effective (0.3 * 10 + 0.9 * 30) / 40 = 30 / 40.
    assert (school["target"], school["total"], school["covered"]) == (1.0, 40, 31)
    assert school["ratio"] == pytest.approx(31 / 40) and school["effective_ratio"] == pytest.approx(0.75)
