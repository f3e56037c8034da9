"""Report files for office tools: CSV that Excel opens as UTF-8, XLSX with coloured status cells, and the
report language (中文 or English)."""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from camwatch.config.models import ReportSettings
from camwatch.reports.cells import spreadsheet_cell

LANGS = ("zh", "en")

# IANA zones of mainland China (Asia/Shanghai and its aliases and historical splits).
_CHINA_ZONES = frozenset(
    {"Asia/Shanghai", "Asia/Chongqing", "Asia/Chungking", "Asia/Harbin", "Asia/Urumqi", "Asia/Kashgar", "PRC"}
)


def report_lang(settings: ReportSettings, requested: str | None = None) -> str:
    """The report language: ``requested`` (``--lang``), else ``reports.lang``, else Chinese where
    ``reports.timezone`` is in China and English elsewhere. Raises ValueError for an unknown language."""
    lang = requested or settings.lang or ("zh" if settings.timezone in _CHINA_ZONES else "en")
    if lang not in LANGS:
        raise ValueError(f"--lang must be one of {', '.join(LANGS)}, got {lang!r}")
    return lang


def host_lang() -> str:
    """The report language this machine's timezone suggests (``TZ``, else /etc/localtime), for commands
    that have no config to take ``reports`` from."""
    zone = os.environ.get("TZ", "").lstrip(":")
    if not zone:
        target = os.path.realpath("/etc/localtime")
        zone = target.partition("zoneinfo/")[2]
    return "zh" if zone in _CHINA_ZONES else "en"


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Write one CSV table, UTF-8 *with* a byte-order mark: without one Excel reads 梁园区 as GBK mojibake.

    Every CSV camwatch writes goes through here. None and NaN cells are written empty; text that a
    spreadsheet would run as a formula is neutralised (:func:`camwatch.reports.cells.spreadsheet_cell`).
    """
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows([_cell(v) for v in row] for row in rows)


def _cell(value: Any) -> Any:
    """A ledger value as a CSV/XLSX cell: data, never a formula (openpyxl writes ``=…`` text as one)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return spreadsheet_cell(value)


# Fills of the status colours (Excel's own "good/neutral/bad" tints, plus an orange between them).
_FILLS = {"red": "FFC7CE", "orange": "F8CBAD", "yellow": "FFEB9C", "green": "C6EFCE"}


def write_xlsx(
    path: Path,
    sheets: Mapping[str, tuple[Sequence[str], Sequence[Sequence[Any]]]],
    *,
    lang: str,
    formats: Mapping[str, str] | None = None,
    cell_formats: Mapping[tuple[str, int], str] | None = None,
    page_header: str | None = None,
) -> None:
    """Write ``{sheet name: (header, rows)}`` as one workbook; a column headed with the word for *status*
    gets each cell filled in its colour (the cells hold the status word in ``lang``).

    Numbers stay numbers (sortable, summable); ``formats`` gives the columns under a header an Excel number
    format (``0.00%``: 0.5678 shows as 56.78 %), ``cell_formats`` the value cell of one row of a sheet
    (``(sheet, row)``: a summary sheet's hours). ``page_header`` is printed at the top of every page."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    fills = {tr(lang, colour): PatternFill("solid", fgColor=rgb) for colour, rgb in _FILLS.items()}
    book = Workbook()
    book.remove(book.active)
    for name, (header, rows) in sheets.items():
        sheet = book.create_sheet(name[:31])  # Excel's limit on sheet names
        sheet.append(list(header))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        status = list(header).index(tr(lang, "status")) + 1 if tr(lang, "status") in header else None
        numbered = [(i + 1, (formats or {})[h]) for i, h in enumerate(header) if h in (formats or {})]
        # The row's index counted here: openpyxl's max_row scans every cell, so asking it per row is
        # quadratic (a 10,000-row sheet took minutes).
        for index, row in enumerate(rows, start=2):
            sheet.append([_cell(v) for v in row])
            if status is not None:
                cell = sheet.cell(row=index, column=status)
                if cell.value in fills:
                    cell.fill = fills[cell.value]
            for column, number_format in numbered:
                sheet.cell(row=index, column=column).number_format = number_format
        for (sheet_name, row_index), number_format in (cell_formats or {}).items():
            if sheet_name == name:
                sheet.cell(row=row_index + 1, column=2).number_format = number_format
        if page_header:
            # '&' starts a code in Excel's header language: a county named A&B prints as typed.
            sheet.oddHeader.center.text = page_header.replace("&", "&&")
        sheet.freeze_panes = "A2"
        for column in sheet.columns:
            width = max(len(str(c.value or "")) for c in column)
            sheet.column_dimensions[column[0].column_letter].width = min(40, 4 + 1.6 * width)
    book.save(path)


def tr(lang: str, text: str) -> str:
    """``text`` (an English report word or phrase) in ``lang``; words without a translation stay as they are
    (category ids a deployment added, area names)."""
    return text if lang == "en" else ZH.get(text, text)


ZH: dict[str, str] = {
    # status colours and levels
    "red": "红",
    "orange": "橙",
    "yellow": "黄",
    "green": "绿",
    "status": "状态",
    "county": "区县",
    "township": "乡镇",
    "village": "村",
    "police_station": "派出所",
    # table columns
    "level": "层级",
    "area": "区域",
    "rank": "排名",
    "cameras": "摄像机数",
    "Cameras": "摄像机",
    "camera": "编号",
    "name": "名称",
    "online_rate": "在线率",
    "working_rate": "完好率",
    "monitored_hours": "监测时长(小时)",
    "maintenance_hours": "维护时长(小时)",
    "online_target": "在线率目标",
    "working_target": "完好率目标",
    "score": "得分",
    "cameras_needed": "需新增摄像机",
    "category": "类别",
    "kind": "类型",
    "target": "目标",
    "total": "总量",
    "covered": "已覆盖",
    "ratio": "覆盖率",
    "effective_ratio": "有效覆盖率",
    "redundant_ratio": "冗余覆盖率",
    "meets_target": "是否达标",
    "True": "是",
    "False": "否",
    "road": "道路",
    "intersection": "路口",
    "site": "重点场所",
    # default categories (config/categories.yaml)
    "key_road": "主干道",
    "main_street": "城区街道",
    "township_street": "乡镇街道",
    "industrial_road": "园区道路",
    "highway_exit": "高速出入口",
    "county_entrance": "县域出入口",
    "village_road": "村道",
    "village_entrance": "村口",
    "key_intersection": "重点路口",
    "school": "学校",
    "hospital": "医院",
    "supermarket": "商超",
    "hotel": "宾馆",
    "tourist_site": "景区",
    "entertainment": "娱乐场所",
    "bank": "银行",
    "checkpoint": "卡口",
    # suggestions.csv
    "id": "编号",
    "lon": "经度",
    "lat": "纬度",
    "ledger_crs": "台账坐标系",
    "ledger_lon": "台账经度",
    "ledger_lat": "台账纬度",
    "direction": "方向",
    "hfov": "视场角",
    "range": "监控距离",
    "gain": "增益",
    "covers": "新增覆盖",
    # report.md
    "Warning": "注意",
    "Coverage report": "视频监控覆盖分析报告",
    "City coverage report": "全市视频监控覆盖分析报告",
    "County reports": "区县报告",
    "Counties ranked": "参与排名的区县",
    "Coverage by category": "分类覆盖情况",
    "Ranking by county": "区县排名",
    "Ranking by township": "乡镇排名",
    "Ranking by village": "村排名",
    "Gaps": "覆盖盲区",
    "No gaps.": "无盲区。",
    "gaps": "盲区数",
    "length": "长度",
    "Suggested cameras": "建议新增点位",
    "effective": "有效",
    "redundant": "冗余",
    "meets target": "达标",
    "cameras needed": "需新增摄像机",
    "yes": "是",
    "no": "否",
    "Projected CRS": "投影坐标系",
    "Cameras placed": "参与计算的摄像机",
    "Cameras with default direction or FOV": "采用默认朝向或视场角的摄像机",
    "Cameras up in the status snapshot": "状态快照中在线的摄像机",
    "Road features": "道路要素",
    "Intersection features": "路口要素",
    "Site features": "重点场所要素",
    "*effective*: seen by a camera that is up; *redundant*: seen by two cameras or more, so it survives one "
    "camera failing.": "*有效*：由在线摄像机覆盖；*冗余*：由两台及以上摄像机覆盖，一台故障仍有覆盖。",
    "*effective*: seen by a camera that is up.": "*有效*：由在线摄像机覆盖。",
    "*effective*: seen by a camera in working order (up, with a usable picture); *redundant*: seen by two "
    "cameras or more, so it survives one camera failing.": (
        "*有效*：由完好（在线且图像可用）的摄像机覆盖；*冗余*：由两台及以上摄像机覆盖，一台故障仍有覆盖。"
    ),
    "*effective*: seen by a camera in working order (up, with a usable picture).": (
        "*有效*：由完好（在线且图像可用）的摄像机覆盖。"
    ),
    "Cameras in working order (effective coverage)": "完好的摄像机（计入有效覆盖）",
    "Left out of effective coverage: down": "未计入有效覆盖：离线",
    "Left out of effective coverage: no picture": "未计入有效覆盖：在线不出图",
    "Left out of effective coverage: picture fault": "未计入有效覆盖：图像故障",
    "Left out of effective coverage: looks elsewhere (moved, tampered)": "未计入有效覆盖：视角偏移或遮损",
    "Left out of effective coverage: not in the status snapshot": "未计入有效覆盖：状态快照中无此摄像机",
    # map.html: layers, legend and tooltip labels
    "Coverage": "覆盖",
    "Area": "区域",
    "Areas": "区域",
    "Level": "层级",
    "Status": "状态",
    "Coverage ratio": "覆盖率",
    "Cameras needed": "需新增摄像机",
    "Category": "类别",
    "Covered": "已覆盖",
    "Camera": "摄像机",
    "Name": "名称",
    "Heading (°)": "朝向(°)",
    "Gain": "增益",
    "Gap": "盲区",
    "Length (m)": "长度(米)",
    "Tiles": "瓦片底图",
    "Base map (from the layers)": "底图（由图层绘制）",
    "Building": "建筑",
    "Covered roads": "已覆盖道路",
    "Uncovered roads": "未覆盖道路",
    "Road covered": "道路已覆盖",
    "Road not covered": "道路未覆盖",
    "Fields of view": "监控视场",
    "Fields of view (down)": "监控视场（离线）",
    "Field of view": "监控视场",
    "Field of view (down)": "监控视场（离线）",
    "Fields of view (unverified)": "监控视场（未核实）",
    "Field of view (unverified)": "监控视场（未核实）",
    "Gaps (roads)": "盲区（道路）",
    "Gaps (intersections, sites)": "盲区（路口、场所）",
    "Cameras (down)": "摄像机（离线）",
    "Camera down": "离线摄像机",
    "Suggested camera": "建议新增点位",
    # uptime.md
    "Online-rate ranking": "在线率排名",
    "Targets": "目标",
    "online (在线率)": "在线率",
    "working order (完好率)": "完好率",
    "Maintenance time is excluded.": "维护时间不计入。",
    "By county": "按区县",
    "By township": "按乡镇",
    "By village": "按村",
    "online %": "在线率 %",
    "working %": "完好率 %",
    "Cameras below the online target": "在线率未达标的摄像机",
    "Status: the worse of the online rate and the working rate, each against its own target.": (
        "状态：在线率与完好率分别对照各自目标，取较差者。"
    ),
}
