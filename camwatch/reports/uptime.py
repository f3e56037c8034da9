"""The monthly ranking's files: uptime_*.csv, uptime.md and uptime.xlsx (a county), city_uptime.* (a city).

Every ledger camera shows: in the rates, or in the list of cameras not counted with the reason. In the
workbook, rates are numbers formatted as percentages and durations numbers of hours, so leadership can sort,
average and read them; a first sheet states the county, the period and the hours monitored, and every sheet
prints with them in its page header.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from camwatch.config.models import Camera, Config, ReportSettings
from camwatch.monitor.period import History, Period
from camwatch.monitor.uptime import (
    RANKED_LEVELS,
    AreaUptime,
    CameraUptime,
    MonthUptime,
    NotCounted,
    city_month,
    compute_month,
)
from camwatch.reports.cells import markdown_cell
from camwatch.reports.office import tr, write_csv, write_xlsx

HOURS = "0.00"
PERCENT = "0.00%"

AREA_COLUMNS = (
    "level",
    "area",
    "rank",
    "status",
    "cameras",
    "online_rate",
    "working_rate",
    "monitored_hours",
    "maintenance_hours",
    "online_target",
    "working_target",
)
# Columns are only ever added at the end: programs read these files.
CAMERA_COLUMNS = (
    "camera",
    "name",
    "county",
    "township",
    "village",
    "online_rate",
    "working_rate",
    "monitored_hours",
    "maintenance_hours",
    "offline_hours",
    "main_cause",
    "police_station",
    "contractor",
    "recording_rate",
)
NOT_COUNTED_COLUMNS = ("camera", "name", "county", "township", "village", "police_station", "reason")
# The retention table (each camera whose recorder was checked, against its legal minimum).
RETENTION_COLUMNS = (
    "camera",
    "name",
    "county",
    "township",
    "village",
    "site",
    "retention_target_days",
    "retention_shortest_days",
    "retention_latest_days",
    "retention_met",
)

# How each numeric column is written: as text in CSV (as before), as a formatted number in XLSX.
_TEXT = {
    "online_rate": "{:.6f}",
    "working_rate": "{:.6f}",
    "monitored_hours": "{:.2f}",
    "maintenance_hours": "{:.2f}",
    "offline_hours": "{:.2f}",
    "recording_rate": "{:.6f}",
    "retention_target_days": "{:.2f}",
    "retention_shortest_days": "{:.2f}",
    "retention_latest_days": "{:.2f}",
}
_XLSX = {
    "online_rate": PERCENT,
    "working_rate": PERCENT,
    "monitored_hours": HOURS,
    "maintenance_hours": HOURS,
    "offline_hours": HOURS,
    "recording_rate": PERCENT,
    "online_target": "0%",
    "working_target": "0%",
    "retention_target_days": "0.0",
    "retention_shortest_days": "0.0",
    "retention_latest_days": "0.0",
}

# The words of this report that office.ZH does not hold: causes (status words and faults), reasons, and the
# summary sheet.
ZH_UPTIME = {
    "offline_hours": "离线时长(小时)",
    "main_cause": "主要故障原因",
    "recording_rate": "录像完整率",
    "Retention": "录像保存天数",
    "site": "场所",
    "retention_target_days": "应保存天数",
    "retention_shortest_days": "本期最短保存天数",
    "retention_latest_days": "最近保存天数",
    "retention_met": "是否达标",
    "yes": "是",
    "no": "否",
    "reason": "原因",
    "By police_station": "按派出所",
    "contractor": "运维单位",
    "By contractor": "按运维单位",
    "Not counted": "未计入统计",
    "Summary": "概况",
    "item": "项目",
    "value": "值",
    "County": "区县",
    "Period": "统计周期",
    "to": "至",
    "Hours monitored": "监测时长(小时)",
    "Online target": "在线率目标",
    "Working-order target": "完好率目标",
    "Cameras in the ledger": "台账摄像机",
    "Cameras counted": "计入统计的摄像机",
    "Cameras not counted": "未计入统计的摄像机",
    "Cameras not counted in the rates": "未计入在线率、完好率的摄像机",
    "hours monitored": "小时监测",
    "counted": "计入统计",
    "not counted": "未计入",
    "see the table below": "见下表",
    # causes
    "offline": "离线",
    "timeout": "超时无响应",
    "auth_failed": "登录失败",
    "error": "设备异常",
    "frozen": "画面冻结",
    "black": "黑屏",
    "blurred": "画面模糊",
    "occluded": "遮挡",
    "color_cast": "偏色",
    "moved": "移位",
    "tampered": "画面被破坏",
    "not_found": "码流不存在",
    # VQD picture faults (issue 26), named as Hikvision's and Dahua's VQD servers name them
    "signal_lost": "信号丢失",
    "corrupted": "花屏",
    "too_dark": "亮度异常（过暗）",
    "too_bright": "亮度异常（过亮）",
    "low_contrast": "对比度异常",
    "noise": "噪点",
    "stripes": "条纹",
    "jitter": "画面抖动",
    "flicker": "闪频",
    "mono_by_day": "ICR异常（白天黑白）",
    # reasons for not counting (camwatch.config.scope, camwatch.monitor.uptime)
    "not networked": "未联网（是否联网=否）：仅作规划点位，不巡检",
    "under maintenance for the whole period": "整个统计周期处于维护中",
    "linked by gb_id (国标编码) only, and the config has no gb28181: section": (
        "仅有国标编码，但配置中没有 gb28181 平台，无法获取状态"
    ),
    "no status recorded in the period (added later, or the monitor did not run while it was listed)": (
        "统计周期内无状态记录（后加入台账，或期间监测未运行）"
    ),
    # city
    "City online-rate ranking": "全市在线率排名",
    "camwatch instances": "个 camwatch 实例",
    "City": "全市",
    "online": "在线率",
    "working order": "完好率",
}


def translator(lang: str) -> Callable[[str], str]:
    """The report's words in ``lang``."""
    if lang == "en":
        return str
    return lambda text: ZH_UPTIME.get(text) or tr(lang, text)


def _as_text(columns: Sequence[str], row: Sequence[object]) -> list[object]:
    """A row with its numbers written as the CSV files always had them (6 decimals for rates, 2 for hours)."""
    return [
        _TEXT[c].format(v) if c in _TEXT and isinstance(v, float) else v
        for c, v in zip(columns, row, strict=True)
    ]


def _area_cells(a: AreaUptime, targets: ReportSettings, t: Callable[[str], str]) -> list[object]:
    """One area's row of ``AREA_COLUMNS``: numbers as numbers, words through ``t`` (the report language)."""
    return [
        t(a.level),
        a.area,
        a.rank,
        t(a.status),
        a.cameras,
        a.online_rate,
        a.working_rate,
        a.monitored / 3600,
        a.maintenance / 3600,
        targets.online_target,
        targets.working_target,
    ]


def _camera_cells(u: CameraUptime, cam: Camera, t: Callable[[str], str]) -> list[object]:
    return [
        u.camera,
        cam.name,
        cam.county,
        cam.township,
        cam.village,
        u.online_rate,
        u.working_rate,
        u.monitored / 3600,
        u.maintenance / 3600,
        u.offline / 3600,
        t(u.main_cause) if u.main_cause else "",
        cam.police_station,
        cam.contractor,
        u.recording_rate,
    ]


def _retention_cells(u: CameraUptime, cam: Camera, target: float, t: Callable[[str], str]) -> list[object]:
    """A retention row: the target and the shortest and latest retention the recorder reported, in days;
    met only when even the shortest reached the target (a legal minimum holds every day, not on average)."""
    shortest = u.retention_shortest if u.retention_shortest is not None else 0.0
    latest = u.retention_latest if u.retention_latest is not None else 0.0
    met = t("yes") if shortest >= target else t("no")
    day = 86400.0
    where = [u.camera, cam.name, cam.county, cam.township, cam.village, cam.site]
    return [*where, target / day, shortest / day, latest / day, met]


def _not_counted_cells(n: NotCounted, t: Callable[[str], str]) -> list[object]:
    c = n.camera
    return [c.id, c.name, c.county, c.township, c.village, c.police_station, t(n.reason)]


def _local(ts: float, tz: str) -> str:
    return datetime.fromtimestamp(ts, ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def _counties(cameras: Sequence[Camera], lang: str) -> str:
    names = sorted({c.county for c in cameras if c.county})
    return ("、" if lang == "zh" else ", ").join(names) or "-"


def write_uptime_report(
    config: Config, month: str | Period, out_dir: Path, *, lang: str = "en", history: History | None = None
) -> list[Path]:
    """Write uptime_areas.csv, uptime_cameras.csv, uptime.md, uptime.xlsx, uptime_not_counted.csv and
    uptime_retention.csv for ``month`` in ``lang`` (``zh`` or ``en``); returns the paths. ``history``: the
    period's, if read already."""
    result = compute_month(config, month, history)
    out_dir.mkdir(parents=True, exist_ok=True)
    t = translator(lang)
    targets = config.reports
    by_id = {c.id: c for c in config.cameras}
    tz = targets.timezone
    period = f"{_local(result.start, tz)} {t('to')} {_local(result.end, tz)} ({tz})"
    county = _counties(config.cameras, lang)

    area_header = [t(c) for c in AREA_COLUMNS]
    area_rows = [_area_cells(a, targets, t) for a in result.areas]
    camera_header = [t(c) for c in CAMERA_COLUMNS]
    ordered = sorted(result.cameras, key=lambda c: (c.online_rate is None, c.online_rate or 0.0, c.camera))
    camera_rows = [_camera_cells(u, by_id[u.camera], t) for u in ordered]
    left_header = [t(c) for c in NOT_COUNTED_COLUMNS]
    left_rows = [_not_counted_cells(n, t) for n in result.not_counted]

    area_csv = out_dir / "uptime_areas.csv"
    write_csv(area_csv, area_header, (_as_text(AREA_COLUMNS, r) for r in area_rows))
    cam_csv = out_dir / "uptime_cameras.csv"
    write_csv(cam_csv, camera_header, (_as_text(CAMERA_COLUMNS, r) for r in camera_rows))
    left_csv = out_dir / "uptime_not_counted.csv"
    write_csv(left_csv, left_header, left_rows)
    retention_header = [t(c) for c in RETENTION_COLUMNS]
    targets_of = config.monitor.recording.retention
    retention_rows = [
        _retention_cells(u, by_id[u.camera], targets_of.target(by_id[u.camera]), t)
        for u in sorted(result.cameras, key=lambda u: u.camera)
        if u.retention_shortest is not None
    ]
    retention_csv = out_dir / "uptime_retention.csv"
    write_csv(retention_csv, retention_header, (_as_text(RETENTION_COLUMNS, r) for r in retention_rows))

    counted = len(config.cameras) - len(result.not_counted)
    summary: list[list[object]] = [
        [t("County"), county],
        [t("Period"), period],
        [t("Hours monitored"), result.monitored / 3600],
        [t("Online target"), targets.online_target],
        [t("Working-order target"), targets.working_target],
        [t("Cameras in the ledger"), len(config.cameras)],
        [t("Cameras counted"), counted],
        [t("Cameras not counted"), len(result.not_counted)],
    ]
    sheets: dict[str, tuple[list[str], list[list[object]]]] = {
        t("Summary"): ([t("item"), t("value")], summary)
    }
    for level in RANKED_LEVELS:
        rows = [r for r, a in zip(area_rows, result.areas, strict=True) if a.level == level]
        if rows:
            sheets[t(level)] = (area_header, rows)
    sheets[t("Cameras")] = (camera_header, camera_rows)
    sheets[t("Not counted")] = (left_header, left_rows)
    if retention_rows:
        sheets[t("Retention")] = (retention_header, retention_rows)
    formats = {t(c): f for c, f in _XLSX.items()}
    cell_formats = {(t("Summary"), 3): HOURS, (t("Summary"), 4): "0%", (t("Summary"), 5): "0%"}
    xlsx = out_dir / "uptime.xlsx"
    write_xlsx(
        xlsx,
        sheets,
        lang=lang,
        formats=formats,
        cell_formats=cell_formats,
        page_header=f"{county} {t('Online-rate ranking')} {result.month}  {t('Period')}: {period}",
    )

    md = out_dir / "uptime.md"
    md.write_text(_markdown(config, result, t, period, county, zh=lang == "zh"), encoding="utf-8")
    return [area_csv, cam_csv, md, xlsx, retention_csv, left_csv]


def _ranking_tables(areas: Sequence[AreaUptime], t: Callable[[str], str]) -> list[str]:
    """uptime.md's (and city_uptime.md's) ranking, one table per level, in the order of RANKED_LEVELS."""
    lines: list[str] = []
    for level in RANKED_LEVELS:
        rows = [a for a in areas if a.level == level]
        if not rows:
            continue
        lines += [
            f"## {t(f'By {level}')}",
            "",
            f"| {t('rank')} | {t('area')} | {t('status')} | {t('cameras')} | {t('online %')} | "
            f"{t('working %')} |",
            "|---:|---|---|---:|---:|---:|",
        ]
        lines += [
            f"| {a.rank} | {markdown_cell(a.area)} | {t(a.status)} | {a.cameras} | {_pct(a.online_rate)} | "
            f"{_pct(a.working_rate)} |"
            for a in rows
        ]
        lines.append("")
    return lines


def _pct(x: float | None) -> str:
    return "" if x is None else f"{100 * x:.2f}"


def _markdown(
    config: Config, result: MonthUptime, t: Callable[[str], str], period: str, county: str, *, zh: bool
) -> str:
    targets = config.reports
    by_id = {c.id: c for c in config.cameras}
    counted = len(config.cameras) - len(result.not_counted)
    colon, comma, stop = ("：", "，", "。") if zh else (": ", ", ", ". ")
    lines = [
        f"# {t('Online-rate ranking')} {result.month}",
        "",
        f"{t('County')}{colon}{markdown_cell(county)}{stop}{t('Period')}{colon}{period}{comma}"
        f"{result.monitored / 3600:.1f} {t('hours monitored')}{stop}"
        f"{t('Cameras in the ledger')}{colon}{len(config.cameras)}{comma}"
        f"{t('counted')}{colon}{counted}{comma}"
        f"{t('not counted')}{colon}{len(result.not_counted)}{stop.strip()}",
        "",
        f"{t('Targets')}: {t('online (在线率)')} {100 * targets.online_target:.0f} %, "
        f"{t('working order (完好率)')} {100 * targets.working_target:.0f} %. "
        f"{t('Maintenance time is excluded.')}",
        "",
        t("Status: the worse of the online rate and the working rate, each against its own target."),
        "",
    ]
    lines += _ranking_tables(result.areas, t)
    worst = [
        c
        for c in sorted(result.cameras, key=lambda c: c.online_rate if c.online_rate is not None else 2.0)
        if c.online_rate is not None and c.online_rate < targets.online_target
    ][:20]
    if worst:
        lines += [
            f"## {t('Cameras below the online target')}",
            "",
            f"| {t('camera')} | {t('name')} | {t('online %')} | {t('working %')} |",
            "|---|---|---:|---:|",
        ]
        lines += [
            f"| {markdown_cell(c.camera)} | {markdown_cell(by_id[c.camera].name)} | "
            f"{_pct(c.online_rate)} | {_pct(c.working_rate)} |"
            for c in worst
        ]
        lines.append("")
    if result.not_counted:
        lines += [
            f"## {t('Cameras not counted in the rates')}",
            "",
            f"| {t('camera')} | {t('name')} | {t('reason')} |",
            "|---|---|---|",
        ]
        lines += [
            f"| {markdown_cell(n.camera.id)} | {markdown_cell(n.camera.name)} | "
            f"{markdown_cell(t(n.reason))} |"
            for n in result.not_counted
        ]
        lines.append("")
    return "\n".join(lines)


def write_city_report(
    configs: Sequence[Config], month: str, out_dir: Path, *, lang: str = "en"
) -> list[Path]:
    """Write city_uptime.csv and city_uptime.md: the city's county, township, village and police-station
    ranking for ``month`` over every given instance, in ``lang``; the per-camera tables stay with each
    county's own report."""
    areas, left_out = city_month(configs, month)
    t = translator(lang)
    targets = configs[0].reports
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "city_uptime.csv"
    write_csv(
        path,
        [t(c) for c in AREA_COLUMNS],
        (_as_text(AREA_COLUMNS, _area_cells(a, targets, t)) for a in areas),
    )
    total = [a for a in areas if a.level == "county"]
    monitored = sum(a.monitored for a in total)
    lines = [
        f"# {t('City online-rate ranking')} {month}",
        "",
        f"{len(configs)} {t('camwatch instances')}, {sum(a.cameras for a in total)} {t('cameras')}. "
        f"{t('Targets')}: {t('online (在线率)')} {100 * targets.online_target:.0f} %, "
        f"{t('working order (完好率)')} {100 * targets.working_target:.0f} %. "
        f"{t('Maintenance time is excluded.')}",
        "",
    ]
    if monitored:
        online = sum(a.up for a in total) / monitored
        working = sum(a.working for a in total) / monitored
        lines += [
            f"{t('City')}: {t('online')} {100 * online:.2f} %, {t('working order')} {100 * working:.2f} %.",
            "",
        ]
    if left_out:
        reasons = Counter(n.reason for n in left_out)
        lines += [
            f"{t('Cameras not counted in the rates')}: {len(left_out)} "
            + "; ".join(f"{t(r)}: {n}" for r, n in reasons.most_common()),
            "",
        ]
    lines += _ranking_tables(areas, t)
    md = out_dir / "city_uptime.md"
    md.write_text("\n".join(lines), encoding="utf-8")
    return [path, md]
