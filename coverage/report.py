"""Coverage report files: summary.json, by_area.csv, gaps.geojson and report.md from measured rows."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from camwatch.config.models import RankThresholds
from camwatch.coverage.layers import LEVELS
from camwatch.coverage.measure import ALL
from camwatch.office import tr, write_csv

# A ratio this close below its target still meets it (float noise in lengths).
TARGET_TOLERANCE = 1e-9


def _meets(ratio: pd.Series, target: pd.Series) -> pd.Series:
    return ratio >= target - TARGET_TOLERANCE


def area_scores(rows: pd.DataFrame, thresholds: RankThresholds) -> pd.DataFrame:
    """One row per area below the whole report: ``level``, ``area``, ``score``, ``status``, ``rank``.

    ``score`` is the mean over the area's categories of how much of its target the *effective* coverage
    reaches (``min(1, effective_ratio / target)``; a 0 target counts as met), so a township with every road
    covered but its school unseen does not look perfect. ``status`` is the threshold colour of the score;
    ``rank`` is 1 for the best score within its level.
    """
    part = rows[rows["level"] != ALL]
    if part.empty:
        return pd.DataFrame(columns=["level", "area", "score", "status", "rank"])
    target = part["target"].to_numpy(float)
    attained = np.where(
        target > 0, np.minimum(1.0, part["effective_ratio"] / np.where(target > 0, target, 1)), 1.0
    )
    scores = part.assign(score=attained).groupby(["level", "area"], sort=False)["score"].mean().reset_index()
    scores["status"] = scores["score"].map(thresholds.colour)
    scores["rank"] = scores.groupby("level")["score"].rank(method="min", ascending=False).astype(int)
    return scores


def _category_entry(row: Mapping[str, Any]) -> dict[str, Any]:
    def amount(value: float) -> float | int:
        return round(float(value), 1) if row["kind"] == "road" else round(value)

    return {
        "kind": row["kind"],
        "target": float(row["target"]),
        "total": amount(row["total"]),
        "covered": amount(row["covered"]),
        "ratio": round(float(row["ratio"]), 4),
        "effective_ratio": round(float(row["effective_ratio"]), 4),
        "meets_target": bool(row["meets_target"]),
    }


def summary(rows: pd.DataFrame, scores: pd.DataFrame, *, crs: str) -> dict[str, Any]:
    """The ``summary.json`` document (DESIGN.md): ``crs``, ``categories`` (whole report) and ``areas``.

    ``meets_target`` compares the design ``ratio`` (every camera) with the target: whether the network as
    built reaches it; ``effective_ratio`` says how much of that the cameras up right now deliver.
    """
    rows = rows.assign(meets_target=_meets(rows["ratio"], rows["target"]))
    whole = rows[rows["level"] == ALL]
    categories = {r["category"]: _category_entry(r) for r in whole.to_dict("records")}
    areas = []
    for area in scores.sort_values(["level", "rank", "area"], key=_level_key).to_dict("records"):
        mine = rows[(rows["level"] == area["level"]) & (rows["area"] == area["area"])]
        areas.append(
            {
                "area": area["area"],
                "level": area["level"],
                "status": area["status"],
                "rank": int(area["rank"]),
                "categories": {r["category"]: _category_entry(r) for r in mine.to_dict("records")},
            }
        )
    return {"crs": crs, "categories": categories, "areas": areas}


def _level_key(column: pd.Series) -> pd.Series:
    if column.name == "level":
        return column.map({level: i for i, level in enumerate(LEVELS)})
    return column


def cameras_needed(suggestions: gpd.GeoDataFrame) -> Counter[str]:
    """Suggested cameras per area path, counted at the area and at every area above it."""
    needed: Counter[str] = Counter()
    for path in suggestions["area"]:
        if path == ALL:
            continue
        parts = str(path).split("/")
        needed.update("/".join(parts[: i + 1]) for i in range(len(parts)) if parts[i])
    return needed


def by_area(rows: pd.DataFrame, scores: pd.DataFrame, needed: Mapping[str, int]) -> pd.DataFrame:
    """``by_area.csv``: one line per area and category, with the area's rank, status, score and the number
    of suggested cameras that would serve it."""
    table = rows[rows["level"] != ALL].merge(scores, on=["level", "area"], how="left")
    table["meets_target"] = _meets(table["ratio"], table["target"])
    table["cameras_needed"] = table["area"].map(lambda a: needed.get(a, 0))
    columns = [
        "level",
        "area",
        "rank",
        "status",
        "score",
        "cameras_needed",
        "category",
        "kind",
        "target",
        "total",
        "covered",
        "ratio",
        "effective_ratio",
        "redundant_ratio",
        "meets_target",
    ]
    table = table.sort_values(["level", "rank", "area"], key=_level_key)
    return table[columns].round(
        {"score": 4, "total": 1, "covered": 1, "ratio": 4, "effective_ratio": 4, "redundant_ratio": 4}
    )


def _percent(value: float) -> str:
    return f"{100 * value:.1f} %"


def _amount(value: float, kind: str) -> str:
    return f"{value / 1000:.2f} km" if kind == "road" else f"{round(value)}"


def localised(table: pd.DataFrame, lang: str) -> pd.DataFrame:
    """``table`` with its column names and its words (level, status, kind, category, yes/no) in ``lang``."""
    if lang == "en":
        return table
    words = {c: table[c].astype(str).map(lambda v: tr(lang, v)) for c in _WORD_COLUMNS if c in table}
    return table.assign(**words).rename(columns=lambda c: tr(lang, str(c)))


_WORD_COLUMNS = ("level", "status", "kind", "category", "meets_target")


def markdown(
    rows: pd.DataFrame,
    scores: pd.DataFrame,
    *,
    facts: Iterable[tuple[str, str]],
    gaps: gpd.GeoDataFrame,
    suggestions: gpd.GeoDataFrame,
    needed: Mapping[str, int],
    lang: str = "en",
) -> str:
    """``report.md``: the figures a planner reads first, then rankings per level, gaps and suggestions."""

    def t(text: str) -> str:
        return tr(lang, text)

    def head(*columns: str) -> list[str]:
        return ["| " + " | ".join(t(c) for c in columns) + " |", "|" + "---|" * len(columns)]

    lines = [f"# {t('Coverage report')}", ""]
    lines += [f"- {t(label)}: {value}" for label, value in facts]
    lines += ["", f"## {t('Coverage by category')}", ""]
    lines += head(
        "category", "kind", "target", "total", "covered", "ratio", "effective", "redundant", "meets target"
    )
    for r in rows[rows["level"] == ALL].to_dict("records"):
        meets = t("yes") if r["ratio"] >= r["target"] - TARGET_TOLERANCE else f"**{t('no')}**"
        lines.append(
            f"| {t(r['category'])} | {t(r['kind'])} | {_percent(r['target'])} | "
            f"{_amount(r['total'], r['kind'])} | {_amount(r['covered'], r['kind'])} | "
            f"{_percent(r['ratio'])} | "
            f"{_percent(r['effective_ratio'])} | "
            f"{_percent(r['redundant_ratio'])} | {meets} |"
        )
    lines += [
        "",
        t(
            "*effective*: seen by a camera that is up; *redundant*: seen by two cameras or more, so it "
            "survives one camera failing."
        ),
    ]
    for level in LEVELS:
        part = scores[scores["level"] == level].sort_values(["rank", "area"])
        if part.empty:
            continue
        lines += ["", f"## {t(f'Ranking by {level}')}", ""]
        lines += head("rank", "area", "status", "score", "cameras needed")
        lines += [
            f"| {r['rank']} | {r['area']} | {t(r['status'])} | {_percent(r['score'])} | "
            f"{needed.get(r['area'], 0)} |"
            for r in part.to_dict("records")
        ]
    lines += ["", f"## {t('Gaps')}", ""]
    if gaps.empty:
        lines.append(t("No gaps."))
    else:
        lines += head("kind", "category", "gaps", "length")
        grouped = (
            gaps.groupby(["kind", "category"], sort=True)["length_m"].agg(["count", "sum"]).reset_index()
        )
        lines += [
            f"| {t(g['kind'])} | {t(g['category'])} | {g['count']} | "
            f"{_amount(g['sum'], 'road') if g['kind'] == 'road' else '-'} |"
            for g in grouped.to_dict("records")
        ]
    lines += ["", f"## {t('Suggested cameras')}", "", _suggestions_text(len(suggestions), lang)]
    return "\n".join(lines) + "\n"


def _suggestions_text(count: int, lang: str) -> str:
    if lang == "zh":
        return f"建议新增 {count} 个点位（位置与朝向见 map.html）；每次选取能最多弥补各区域目标差距的点位。"
    return (
        f"{count} new cameras suggested (positions and headings in map.html); each closes the "
        "largest remaining share of the areas' targets when picked."
    )


def write_files(
    out: Path,
    *,
    document: Mapping[str, Any],
    area_table: pd.DataFrame,
    gaps: gpd.GeoDataFrame,
    text: str,
    lang: str = "en",
) -> None:
    """Write ``summary.json``, ``by_area.csv`` (in ``lang``), ``gaps.geojson`` (EPSG:4326) and ``report.md``
    to ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(
        json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    table = localised(area_table, lang)
    write_csv(out / "by_area.csv", list(table.columns), table.itertuples(index=False, name=None))
    # 6 decimals of a degree is ~0.1 m: more only bloats a county's file (RFC 7946 recommends 6).
    pyogrio.write_dataframe(
        gaps.to_crs(4326),
        out / "gaps.geojson",
        driver="GeoJSON",
        geometry_type="Unknown",
        layer_options={"COORDINATE_PRECISION": 6},
    )
    (out / "report.md").write_text(text, encoding="utf-8")
