"""City coverage: one roll-up of several counties' coverage reports, read from their ``summary.json``."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from camwatch.config.models import RankThresholds
from camwatch.coverage.measure import ALL
from camwatch.reports import coverage as report
from camwatch.reports.cells import markdown_cell
from camwatch.reports.office import tr, write_csv

ROW_COLUMNS = ["level", "area", "category", "kind", "target", "total", "covered", "ratio", "effective_ratio"]


class CityReportError(ValueError):
    """A county report that cannot be rolled up: the message names the folder and what to do."""


def read_summaries(folders: Sequence[Path]) -> list[dict[str, Any]]:
    """Each folder's ``summary.json`` (written by ``camwatch coverage``), in the given order."""
    documents = []
    for folder in folders:
        path = folder / "summary.json"
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CityReportError(
                f"{path}: no such file; give folders written by `camwatch coverage`"
            ) from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CityReportError(
                f"{path}: not a coverage summary ({exc}); run `camwatch coverage` again"
            ) from None
        if not isinstance(document, dict) or not {"categories", "areas"} <= set(document):
            raise CityReportError(
                f"{path}: no 'categories' and 'areas'; is it a `camwatch coverage` summary?"
            )
        documents.append(document)
    return documents


def city_rows(documents: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Measured rows (``level``, ``area``, ``category``, ``kind``, ``target``, ``total``, ``covered``,
    ``ratio``, ``effective_ratio``) of the whole city and of every county's areas.

    Lengths and counts add up, so the city's ratio of a category is the sum of the counties' ``covered``
    over the sum of their ``total``; its effective ratio weighs each county's ``effective_ratio`` by its
    ``total`` (the summaries carry it to 4 decimals). Where counties set different targets for a
    category, the city takes the strictest. Two reports with the same area (a county given twice) are
    refused.
    """
    parts = []
    seen: set[tuple[str, str]] = set()
    for document in documents:
        for area in document["areas"]:
            key = (area["level"], area["area"])
            if key in seen:
                raise CityReportError(
                    f"{area['level']} {area['area']!r} is in two of the reports: give each county once"
                )
            seen.add(key)
            parts += [
                {"level": area["level"], "area": area["area"], "category": name, **entry}
                for name, entry in area["categories"].items()
            ]
    whole = pd.DataFrame(
        [
            {"category": name, **entry}
            for document in documents
            for name, entry in document["categories"].items()
        ],
        columns=["category", "kind", "target", "total", "covered", "effective_ratio"],
    )
    whole["effective"] = whole["effective_ratio"] * whole["total"]
    city = whole.groupby("category", sort=False).agg(
        kind=("kind", "first"),
        target=("target", "max"),
        total=("total", "sum"),
        covered=("covered", "sum"),
        effective=("effective", "sum"),
    )
    city = city[city["total"] > 0].reset_index()
    city["ratio"] = (city["covered"] / city["total"]).clip(upper=1.0)
    city["effective_ratio"] = (city["effective"] / city["total"]).clip(upper=1.0)
    city = city.assign(level=ALL, area=ALL)
    areas = pd.DataFrame(parts, columns=ROW_COLUMNS)
    return pd.concat([city[ROW_COLUMNS], areas[ROW_COLUMNS]], ignore_index=True)


def write_city_report(
    folders: Sequence[Path],
    out: Path,
    *,
    thresholds: RankThresholds | None = None,
    lang: str = "en",
) -> dict[str, Any]:
    """Write the city's ``summary.json``, ``by_area.csv`` and ``report.md`` into ``out`` from the county
    reports in ``folders``; return the summary.

    The summary has the shape of a county's (``categories``, ``areas``) plus ``reports`` (the folders);
    areas are ranked across the whole city (every township of every county against each other) with
    ``thresholds`` (default: the default rank thresholds). ``crs`` is the counties' projected CRS, or
    ``mixed`` when they differ.
    """
    documents = read_summaries(folders)
    rows = city_rows(documents)
    scores = report.area_scores(rows, thresholds or RankThresholds())
    systems = {d.get("crs") for d in documents}
    crs = str(systems.pop()) if len(systems) == 1 else "mixed"
    document = {**report.summary(rows, scores, crs=crs), "reports": [str(f) for f in folders]}
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(
        json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    table = report.localised(report.by_area(rows, scores, None), lang)
    write_csv(out / "by_area.csv", list(table.columns), table.itertuples(index=False, name=None))
    counties = scores[scores["level"] == "county"]
    lines = [f"# {tr(lang, 'City coverage report')}", ""]
    lines += [
        f"- {tr(lang, 'County reports')}: {len(folders)}",
        f"- {tr(lang, 'Counties ranked')}: {len(counties)}",
    ]
    lines += [f"- {markdown_cell(f)}" for f in folders]
    lines += report.category_section(rows, lang) + report.ranking_sections(scores, None, lang)
    (out / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return document
