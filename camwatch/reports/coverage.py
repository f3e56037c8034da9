"""Coverage report files: summary.json, by_area.csv, gaps.geojson and report.md from measured rows."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from camwatch.config.areas import LEVELS
from camwatch.config.coords import from_wgs84
from camwatch.config.models import RankThresholds
from camwatch.coverage.measure import ALL
from camwatch.reports.cells import markdown_cell
from camwatch.reports.office import tr, write_csv
from camwatch.reports.ranking import competition_ranks

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
    scores["rank"] = 0
    for _, rows in scores.groupby("level"):
        scores.loc[rows.index, "rank"] = competition_ranks(rows["score"].tolist())
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
    """The ``summary.json`` document (docs/design.md): ``crs``, ``categories`` (whole report) and ``areas``.

    ``meets_target`` compares the design ``ratio`` (every camera) with the target: whether the network as
    built reaches it; ``effective_ratio`` says how much of that the cameras up right now deliver.
    """
    rows = rows.assign(meets_target=_meets(rows["ratio"], rows["target"]))
    whole = rows[rows["level"] == ALL]
    categories = {r["category"]: _category_entry(r) for r in whole.to_dict("records")}
    # One pass over the rows instead of a scan (or a frame) per area: a city has thousands of villages.
    per_area: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows.to_dict("records"):
        per_area.setdefault((r["level"], r["area"]), []).append(r)
    areas = []
    for area in scores.sort_values(["level", "rank", "area"], key=_level_key).to_dict("records"):
        mine = per_area[(area["level"], area["area"])]
        areas.append(
            {
                "area": area["area"],
                "level": area["level"],
                "status": area["status"],
                "rank": int(area["rank"]),
                "categories": {r["category"]: _category_entry(r) for r in mine},
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


def by_area(rows: pd.DataFrame, scores: pd.DataFrame, needed: Mapping[str, int] | None) -> pd.DataFrame:
    """``by_area.csv``: one line per area and category, with the area's rank, status, score and the number
    of suggested cameras that would serve it (that column left out when ``needed`` is None, as is
    ``redundant_ratio`` when ``rows`` lacks it)."""
    table = rows[rows["level"] != ALL].merge(scores, on=["level", "area"], how="left")
    table["meets_target"] = _meets(table["ratio"], table["target"])
    if needed is not None:
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
    return table[[c for c in columns if c in table]].round(
        {"score": 4, "total": 1, "covered": 1, "ratio": 4, "effective_ratio": 4, "redundant_ratio": 4}
    )


def suggestion_table(
    suggestions: gpd.GeoDataFrame, *, ledger_crs: str, kinds: Mapping[str, str]
) -> gpd.GeoDataFrame:
    """``suggestions.csv`` / ``suggestions.geojson``: one row per suggested camera, best first, in EPSG:4326.

    ``lon``/``lat`` are WGS-84; ``ledger_lon``/``ledger_lat`` the same point in the ledger's system
    (``ledger_crs``: wgs84, gcj02 or bd09), ready to paste into the 台账. ``covers`` says what the camera
    would newly cover by category (``key_road 85 m; school 1``; ``kinds`` gives each category's kind).
    """
    wgs = suggestions.to_crs(4326)
    lon, lat = wgs.geometry.x.to_numpy(), wgs.geometry.y.to_numpy()
    ledger_lat, ledger_lon = from_wgs84(lat, lon, ledger_crs)

    def covers(amounts: Mapping[str, float]) -> str:
        return "; ".join(
            f"{c} {v:.0f} m" if kinds.get(c) == "road" else f"{c} {round(v)}" for c, v in amounts.items()
        )

    table = pd.DataFrame(
        {
            "id": [f"S{i + 1:04d}" for i in range(len(wgs))],
            "lon": np.round(lon, 7),
            "lat": np.round(lat, 7),
            "ledger_crs": ledger_crs,
            "ledger_lon": np.round(ledger_lon, 7),
            "ledger_lat": np.round(ledger_lat, 7),
            "direction": wgs["direction"].to_numpy(float).round(1),
            "hfov": wgs["hfov"].to_numpy(float).round(1),
            "range": wgs["range"].to_numpy(float).round(1),
            "gain": wgs["gain"].to_numpy(float).round(4),
            "area": wgs["area"].to_numpy(),
            "covers": [covers(c) for c in wgs["covers"]],
        }
    )
    return gpd.GeoDataFrame(table, geometry=wgs.geometry.to_numpy(), crs=4326)


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


def _table_head(lang: str, *columns: str) -> list[str]:
    return ["| " + " | ".join(tr(lang, c) for c in columns) + " |", "|" + "---|" * len(columns)]


def category_section(rows: pd.DataFrame, lang: str = "en") -> list[str]:
    """``report.md``'s "Coverage by category" lines from the whole-report rows of ``rows`` (the redundant
    column only where ``rows`` has ``redundant_ratio``)."""
    redundant = "redundant_ratio" in rows
    columns = ["category", "kind", "target", "total", "covered", "ratio", "effective"]
    columns += ["redundant", "meets target"] if redundant else ["meets target"]
    lines = ["", f"## {tr(lang, 'Coverage by category')}", "", *_table_head(lang, *columns)]
    for r in rows[rows["level"] == ALL].to_dict("records"):
        meets = tr(lang, "yes") if r["ratio"] >= r["target"] - TARGET_TOLERANCE else f"**{tr(lang, 'no')}**"
        cells = [
            tr(lang, r["category"]),
            tr(lang, r["kind"]),
            _percent(r["target"]),
            _amount(r["total"], r["kind"]),
            _amount(r["covered"], r["kind"]),
            _percent(r["ratio"]),
            _percent(r["effective_ratio"]),
            *([_percent(r["redundant_ratio"])] if redundant else []),
            meets,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    note = (
        "*effective*: seen by a camera in working order (up, with a usable picture); *redundant*: seen by "
        "two cameras or more, so it survives one camera failing."
        if redundant
        else "*effective*: seen by a camera in working order (up, with a usable picture)."
    )
    return [*lines, "", tr(lang, note)]


def ranking_sections(scores: pd.DataFrame, needed: Mapping[str, int] | None, lang: str = "en") -> list[str]:
    """``report.md``'s "Ranking by <level>" sections (area names as data), with the suggested cameras each
    area needs unless ``needed`` is None."""
    lines: list[str] = []
    for level in LEVELS:
        part = scores[scores["level"] == level].sort_values(["rank", "area"])
        if part.empty:
            continue
        columns = ["rank", "area", "status", "score", *(["cameras needed"] if needed is not None else [])]
        lines += ["", f"## {tr(lang, f'Ranking by {level}')}", "", *_table_head(lang, *columns)]
        for r in part.to_dict("records"):
            cells = [str(r["rank"]), markdown_cell(r["area"]), tr(lang, r["status"]), _percent(r["score"])]
            cells += [str(needed.get(r["area"], 0))] if needed is not None else []
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def markdown(
    rows: pd.DataFrame,
    scores: pd.DataFrame,
    *,
    facts: Iterable[tuple[str, str]],
    gaps: gpd.GeoDataFrame,
    suggestions: gpd.GeoDataFrame,
    needed: Mapping[str, int],
    warnings: Iterable[str] = (),
    lang: str = "en",
) -> str:
    """``report.md``: warnings, the figures a planner reads first, then rankings per level, gaps and
    suggestions (with whether they would meet the targets)."""
    warnings = list(warnings)

    def t(text: str) -> str:
        return tr(lang, text)

    lines = [f"# {t('Coverage report')}", ""]
    if warnings:
        lines += [f"> **{t('Warning')}**: {w}" for w in warnings] + [""]
    lines += [f"- {t(label)}: {value}" for label, value in facts]
    lines += category_section(rows, lang) + ranking_sections(scores, needed, lang)
    lines += ["", f"## {t('Gaps')}", ""]
    if gaps.empty:
        lines.append(t("No gaps."))
    else:
        lines += _table_head(lang, "kind", "category", "gaps", "length")
        grouped = (
            gaps.groupby(["kind", "category"], sort=True)["length_m"].agg(["count", "sum"]).reset_index()
        )
        lines += [
            f"| {t(g['kind'])} | {t(g['category'])} | {g['count']} | "
            f"{_amount(g['sum'], 'road') if g['kind'] == 'road' else '-'} |"
            for g in grouped.to_dict("records")
        ]
    lines += ["", f"## {t('Suggested cameras')}", "", suggestions_outcome(suggestions, lang)]
    return "\n".join(lines) + "\n"


def suggestions_outcome(suggestions: gpd.GeoDataFrame, lang: str = "en") -> str:
    """How many cameras are suggested, whether the targets would then be met, and whether the cap stopped
    the search (from :func:`~camwatch.coverage.placement.suggest_cameras`' ``attrs``)."""
    count = len(suggestions)
    met = bool(suggestions.attrs.get("targets_met"))
    capped = bool(suggestions.attrs.get("cap_reached"))
    if lang == "zh":
        text = (
            f"建议新增 {count} 个点位（suggestions.csv、suggestions.geojson，地图见 map.html）；"
            "每次选取能最多弥补各区域目标差距的点位。"
        )
        text += "全部建成后各区域可达到目标。" if met else "全部建成后仍有区域未达到目标。"
        if capped:
            text += f"已达到建议数量上限（coverage.max_suggestions = {count}），还可继续增加点位。"
        return text
    text = (
        f"{count} new cameras suggested (suggestions.csv, suggestions.geojson; on map.html); each closes "
        "the largest remaining share of the areas' targets when picked. "
    )
    text += (
        "With all of them built, every area would meet its targets."
        if met
        else "Even with all of them built, some areas would still miss a target."
    )
    if capped:
        text += (
            f" The cap on suggestions was reached (coverage.max_suggestions = {count}): more cameras would "
            "still help."
        )
    return text


def write_files(
    out: Path,
    *,
    document: Mapping[str, Any],
    area_table: pd.DataFrame,
    suggestions: gpd.GeoDataFrame,
    text: str,
    lang: str = "en",
) -> None:
    """Write ``summary.json``, ``by_area.csv`` (in ``lang``), ``suggestions.csv`` (in ``lang``) and
    ``suggestions.geojson`` (EPSG:4326; ``suggestions`` from :func:`suggestion_table`) and ``report.md`` to
    ``out``; the gaps' files are :func:`write_gap_files`."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(
        json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    table = localised(area_table, lang)
    write_csv(out / "by_area.csv", list(table.columns), table.itertuples(index=False, name=None))
    rows = localised(pd.DataFrame(suggestions.drop(columns="geometry")), lang)
    write_csv(out / "suggestions.csv", list(rows.columns), rows.itertuples(index=False, name=None))
    _write_geojson(suggestions, out / "suggestions.geojson")
    (out / "report.md").write_text(text, encoding="utf-8")


GAP_FORMATS = ("geojson", "fgb")


def write_gap_files(out: Path, gaps: gpd.GeoDataFrame, *, formats: Sequence[str] = GAP_FORMATS) -> None:
    """Write ``gaps.geojson`` (EPSG:4326) and ``gaps.fgb`` to ``out`` (those of ``formats``): apart from
    :func:`write_files`, so that a county's (seconds of GDAL) can be written on the other core while the
    cameras are suggested, each file by its own process."""
    out.mkdir(parents=True, exist_ok=True)
    gaps = gaps.to_crs(4326)
    if "geojson" in formats:
        _write_geojson(gaps, out / "gaps.geojson")
    if "fgb" in formats:
        # The gaps again for GIS users in FlatGeobuf: full precision, a spatial index.
        pyogrio.write_dataframe(gaps, out / "gaps.fgb", driver="FlatGeobuf", geometry_type="Unknown")


def _write_geojson(frame: gpd.GeoDataFrame, path: Path) -> None:
    # 6 decimals of a degree is ~0.1 m: more only bloats a county's file (RFC 7946 recommends 6).
    pyogrio.write_dataframe(
        frame, path, driver="GeoJSON", geometry_type="Unknown", layer_options={"COORDINATE_PRECISION": 6}
    )
