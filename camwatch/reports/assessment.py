"""The assessment pack (考核): fault episodes, scores per area and per contractor with every deduction, repair
timeliness and the trend against the previous period — ``fault_episodes.csv``, ``assessment.csv|md|xlsx``.

Every number is traceable: the rates recompute from ``fault_episodes.csv`` and the monitored hours, the
score from the figures and the rules printed at the top.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from camwatch.config.areas import LEVELS, area_path
from camwatch.config.assessment import AssessmentSettings, Deduction
from camwatch.config.models import Camera, Config
from camwatch.config.scope import monitored
from camwatch.monitor.assessment import GroupScore, RepairTimes, repair_times, score_group
from camwatch.monitor.episodes import FaultEpisode, camera_episodes
from camwatch.monitor.period import History, Period, previous, read_history
from camwatch.monitor.uptime import (
    CONTRACTOR,
    RANKED_LEVELS,
    CameraUptime,
    NoHistory,
    camera_uptimes,
)
from camwatch.reports.cells import markdown_cell
from camwatch.reports.office import tr, write_csv, write_xlsx

GROUPS = RANKED_LEVELS
EPISODE_COLUMNS = (
    "camera",
    "name",
    "area",
    "contractor",
    "status",
    "up",
    "start",
    "end",
    "hours",
    "reason",
    "cluster",
    "maintenance_hours",
    "excused_hours",
    "repair_hours",
)

_ZH = {
    "online_rate": "在线率",
    "working_rate": "完好率",
    "video_quality_rate": "视频质量合格率",
    "recording_rate": "录像完整率",
    "fault_hours": "故障时长(小时)",
    "offline_hours": "离线时长(小时)",
    "episodes": "故障次数",
    "cameras": "路数",
    "pass": "合格",
    "fair": "基本合格",
    "fail": "不合格",
    "contractor": "维保单位",
    "channel": "每路",
    "area": "区域",
    "(none)": "（未填写）",
    "group": "分组",
    "unit": "考核单位",
    "monitored_hours": "监测时长(小时)",
    "earned_points": "得分项合计",
    "deducted_points": "扣分合计",
    "score": "得分",
    "band": "等级",
    "deductions": "扣分明细",
    "rule": "规则",
    "count": "数量",
    "points": "扣分",
    "channels": "通道",
    "median_repair_hours": "修复时长中位数(小时)",
    "p90_repair_hours": "修复时长90分位(小时)",
    "open_at_end": "期末未修复",
    "longest_open_hours": "最长未修复(小时)",
    "up": "在线",
    "start": "开始",
    "end": "结束",
    "hours": "计入时长(小时)",
    "reason": "原因",
    "cluster": "集中故障",
    "maintenance_hours": "维护时长(小时)",
    "excused_hours": "免责时长(小时)",
    "repair_hours": "修复时长(小时)",
}
HOURS = "0.00"
PERCENT = "0.00%"


def _t(lang: str) -> Callable[[str], str]:
    def zh(text: str) -> str:
        for suffix, words in (("_previous", "上期{}"), ("_change", "{}变化")):
            if text.endswith(suffix):
                return words.format(zh(text.removesuffix(suffix)))
        return _ZH.get(text, tr("zh", text))

    return zh if lang == "zh" else (lambda text: text)


def _formats(header: Sequence[str], t: Callable[[str], str]) -> dict[str, str]:
    """Excel number formats by (translated) column: rates as percentages, hours and points with two places."""
    out: dict[str, str] = {}
    for h in header:
        base = h.removesuffix("_previous").removesuffix("_change")
        if base in ("online_rate", "working_rate", "video_quality_rate", "recording_rate"):
            out[t(h)] = PERCENT
        elif base.endswith("hours") or base in ("score", "earned_points", "deducted_points", "points"):
            out[t(h)] = HOURS
    return out


@dataclass(slots=True)
class Assessment:
    period: Period
    cameras: list[Camera]
    uptimes: dict[str, CameraUptime]
    episodes: list[FaultEpisode]
    scores: list[GroupScore]
    previous: dict[tuple[str, str], GroupScore] = field(default_factory=dict)
    repairs: dict[str, RepairTimes] = field(default_factory=dict)


def unit_of(camera: Camera, group: str) -> str:
    if group == CONTRACTOR:
        return camera.contractor or "(none)"
    return area_path(camera, group)


def assess(config: Config, period: Period, history: History | None = None) -> Assessment:
    """Score ``period`` (and the one before it, for the trend) from ``config``'s state database;
    ``history``: the period's, when the caller read it already."""
    cameras = list(monitored(config.cameras))
    rules = config.reports.assessment
    uptimes, episodes = _camera_figures(cameras, history or read_history(config.state_path, period))
    scores = _score_all(cameras, uptimes, episodes, rules)
    result = Assessment(period, cameras, uptimes, episodes, scores)
    try:
        before = previous(period)
        prev_uptimes, prev_episodes = _camera_figures(cameras, read_history(config.state_path, before))
        result.previous = {
            (s.group, s.unit): s for s in _score_all(cameras, prev_uptimes, prev_episodes, rules)
        }
    except NoHistory:
        pass  # the monitor did not run then: no trend, rather than a made-up one
    by_contractor: dict[str, list[FaultEpisode]] = defaultdict(list)
    owner = {c.id: unit_of(c, CONTRACTOR) for c in cameras}
    for e in episodes:
        by_contractor[owner[e.camera]].append(e)
    result.repairs = {
        unit: repair_times(by_contractor.get(unit, []), period.end)
        for unit in sorted({owner[c.id] for c in cameras})
    }
    return result


def _camera_figures(
    cameras: Sequence[Camera], h: History
) -> tuple[dict[str, CameraUptime], list[FaultEpisode]]:
    p = (h.period.start, h.period.end)
    episodes: list[FaultEpisode] = []
    for c in cameras:
        maint, excused = h.maintenance.get(c.id, []), h.excused.get(c.id, [])
        episodes += camera_episodes(
            c.id, h.transitions.get(c.id, []), p, h.runs, maint, excused, h.clusters.get(c.id, [])
        )
    return camera_uptimes(cameras, h), episodes


def _score_all(
    cameras: Sequence[Camera],
    uptimes: dict[str, CameraUptime],
    episodes: Sequence[FaultEpisode],
    rules: AssessmentSettings,
) -> list[GroupScore]:
    by_camera: dict[str, list[FaultEpisode]] = defaultdict(list)
    for e in episodes:
        by_camera[e.camera].append(e)
    scores: list[GroupScore] = []
    for group in GROUPS:
        members: dict[str, list[str]] = defaultdict(list)
        for c in cameras:
            if unit := unit_of(c, group):
                members[unit].append(c.id)
        for unit, ids in sorted(members.items()):
            mine = [e for i in ids for e in by_camera.get(i, ())]
            if (s := score_group(group, unit, [uptimes[i] for i in ids], mine, rules)) is not None:
                scores.append(s)
    return scores


# ---------------------------------------------------------------------------------------------------------
# Words: the formula and the rules, printed at the top of every report
# ---------------------------------------------------------------------------------------------------------


def formula_lines(rules: AssessmentSettings, lang: str) -> list[str]:
    t = _t(lang)
    parts = [
        f"{fw.weight:g} × min(1, {t(name)} ÷ {100 * fw.target:g} %)" for name, fw in rules.figures.items()
    ]
    b = rules.bands
    if lang == "zh":
        lines = [
            f"得分 = {' + '.join(parts)} − 扣分（最低 0 分）。",
            f"等级：≥ {b.pass_:g} 分合格，{b.fair:g}–{b.pass_:g} 分基本合格，< {b.fair:g} 分不合格。",
            "维护时段及免责停机（如供电部门停电）不计入监测时长。",
            "扣分规则：" + ("；".join(deduction_words(d, lang) for d in rules.deductions) or "无") + "。",
        ]
    else:
        lines = [
            f"Score = {' + '.join(parts)} − deductions (never below 0).",
            f"Bands: ≥ {b.pass_:g} pass, {b.fair:g}–{b.pass_:g} fair, < {b.fair:g} fail.",
            "Maintenance windows and excused outages (e.g. a utility power cut) are not counted as "
            "monitored time.",
            "Deductions: " + ("; ".join(deduction_words(d, lang) for d in rules.deductions) or "none") + ".",
        ]
    return lines


def deduction_words(rule: Deduction, lang: str) -> str:
    t = _t(lang)
    c = rule.when
    value = f"{100 * c.value:g} %" if c.figure.endswith("_rate") else f"{c.value:g}"
    cond = f"{t(c.figure)} {c.op} {value}"
    cap = (
        ""
        if rule.max_points is None
        else (f"（最多 {rule.max_points:g} 分）" if lang == "zh" else f" (at most {rule.max_points:g})")
    )
    if lang == "zh":
        who = "每路" if rule.per == "channel" else "考核单位"
        return f"{who}{cond} 扣 {rule.points:g} 分{cap}"
    who = "per channel with" if rule.per == "channel" else "per area or contractor with"
    return f"{rule.points:g} point(s) {who} {cond}{cap}"


# ---------------------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------------------


def write_assessment(
    config: Config, period: Period, out_dir: Path, *, lang: str, history: History | None = None
) -> list[Path]:
    """Write fault_episodes.csv and assessment.csv|md|xlsx for ``period``; returns the paths."""
    a = assess(config, period, history)
    rules = config.reports.assessment
    t = _t(lang)
    zone = ZoneInfo(config.reports.timezone)
    out_dir.mkdir(parents=True, exist_ok=True)
    by_id = {c.id: c for c in a.cameras}

    def when(ts: float | None) -> str:
        return "" if ts is None else datetime.fromtimestamp(ts, zone).strftime("%Y-%m-%d %H:%M:%S")

    episode_rows = [
        [
            e.camera,
            by_id[e.camera].name,
            _finest_area(by_id[e.camera]),
            by_id[e.camera].contractor,
            e.status,
            int(e.up),
            when(e.start),
            when(e.end),
            round(e.hours, 4),
            e.reason,
            e.cluster,
            round(e.maintenance_hours, 4),
            round(e.excused_hours, 4),
            None if e.repair_hours is None else round(e.repair_hours, 4),
        ]
        for e in sorted(a.episodes, key=lambda e: (e.start, e.camera))
    ]
    episodes_csv = out_dir / "fault_episodes.csv"
    write_csv(episodes_csv, EPISODE_COLUMNS, episode_rows)

    figure_names: list[str] = list(rules.figures)
    header = ["group", "unit", "cameras", "monitored_hours", *figure_names, "fault_hours", "offline_hours"]
    header += ["earned_points", "deducted_points", "score", "band", "deductions"]
    header += [f"{f}_previous" for f in (*figure_names, "score")] + [
        f"{f}_change" for f in (*figure_names, "score")
    ]
    rows = [_score_row(s, a.previous.get((s.group, s.unit)), figure_names, lang) for s in a.scores]
    assessment_csv = out_dir / "assessment.csv"
    write_csv(assessment_csv, header, rows)

    repair_header = [
        "contractor",
        "episodes",
        "median_repair_hours",
        "p90_repair_hours",
        "open_at_end",
        "longest_open_hours",
    ]
    repair_rows = [
        [
            t(u) if u == "(none)" else u,
            r.episodes,
            _r(r.median_hours),
            _r(r.p90_hours),
            r.open_at_end,
            _r(r.longest_open_hours),
        ]
        for u, r in a.repairs.items()
    ]
    deduction_header = ["group", "unit", "rule", "count", "points", "channels"]
    deduction_rows = [
        [t(s.group), s.unit, deduction_words(d.rule, lang), d.count, d.points, " ".join(d.channels)]
        for s in a.scores
        for d in s.deductions
    ]
    xlsx = out_dir / "assessment.xlsx"
    sheets: dict[str, tuple[Sequence[str], Sequence[Sequence[object]]]] = {
        t("Assessment" if lang == "en" else "考核得分"): ([t(h) for h in header], rows),
        t("Deductions" if lang == "en" else "扣分明细"): ([t(h) for h in deduction_header], deduction_rows),
        t("Repair times" if lang == "en" else "维修及时性"): ([t(h) for h in repair_header], repair_rows),
        t("Fault episodes" if lang == "en" else "故障记录"): ([t(h) for h in EPISODE_COLUMNS], episode_rows),
        t("Rules" if lang == "en" else "考核规则"): (
            [t("rule")],
            [[line] for line in formula_lines(rules, lang)],
        ),
    }
    formats: dict[str, str] = {}
    for head in (header, deduction_header, repair_header, EPISODE_COLUMNS):
        formats |= _formats(head, t)
    write_xlsx(xlsx, sheets, lang=lang, formats=formats)

    md = out_dir / "assessment.md"
    md.write_text(_markdown(a, rules, lang, repair_rows), encoding="utf-8")
    return [episodes_csv, assessment_csv, md, xlsx]


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


def _finest_area(c: Camera) -> str:
    return next((p for level in reversed(LEVELS) if (p := area_path(c, level))), "")


def _score_row(s: GroupScore, prev: GroupScore | None, figure_names: list[str], lang: str) -> list[object]:
    t = _t(lang)
    values = s.figures.as_dict()
    prev_values = prev.figures.as_dict() if prev else {}
    current = [*(values[f] for f in figure_names), s.score]
    before = [*(prev_values.get(f) for f in figure_names), prev.score if prev else None]
    change = [None if b is None or c is None else c - b for c, b in zip(current, before, strict=True)]
    return [
        t(s.group),
        t(s.unit) if s.unit == "(none)" else s.unit,
        s.figures.cameras,
        round(s.figures.monitored / 3600, 2),
        *(_rate(values[f]) for f in figure_names),
        round(values["fault_hours"] or 0.0, 2),
        round(values["offline_hours"] or 0.0, 2),
        round(sum(s.earned.values()), 2),
        round(s.deducted, 2),
        round(s.score, 2),
        t(s.band),
        "; ".join(f"{deduction_words(d.rule, lang)}: {d.count} → −{d.points:g}" for d in s.deductions),
        *(_rate(v) if i < len(figure_names) else _r(v) for i, v in enumerate(before)),
        *(_rate(v) if i < len(figure_names) else _r(v) for i, v in enumerate(change)),
    ]


def _rate(x: float | None) -> float | None:
    return None if x is None else round(x, 6)


def _markdown(
    a: Assessment, rules: AssessmentSettings, lang: str, repair_rows: Sequence[Sequence[object]]
) -> str:
    t = _t(lang)
    zh = lang == "zh"
    title = f"# {'考核报告' if zh else 'Assessment'} {a.period.label}"
    span = f"{a.period.first_day} – {a.period.last_day}"
    lines = [title, "", f"{'考核期：' if zh else 'Period: '}{span}", "", *formula_lines(rules, lang), ""]
    figure_names = list(rules.figures)
    for group in GROUPS:
        rows = [s for s in a.scores if s.group == group]
        if not rows:
            continue
        heading = ("按" + t(group)) if zh else f"By {group.replace('_', ' ')}"
        cols = [t("unit" if not zh else "单位"), t("cameras"), *(t(f) + " %" for f in figure_names)]
        cols += [
            t("fault_hours"),
            "得分" if zh else "score",
            "等级" if zh else "band",
            "较上期" if zh else "change",
        ]
        lines += [f"## {heading}", "", "| " + " | ".join(cols) + " |", "|---" * len(cols) + "|"]
        for s in sorted(rows, key=lambda s: (-s.score, s.unit)):
            prev = a.previous.get((s.group, s.unit))
            values = s.figures.as_dict()
            change = "" if prev is None else f"{s.score - prev.score:+.2f}"
            cells = [markdown_cell(t(s.unit) if s.unit == "(none)" else s.unit), str(s.figures.cameras)]
            cells += [f"{100 * (values[f] or 0.0):.2f}" for f in figure_names]
            cells += [f"{values['fault_hours'] or 0.0:.1f}", f"{s.score:.2f}", t(s.band), change]
            lines.append("| " + " | ".join(cells) + " |")
        details = [(s, d) for s in rows for d in s.deductions]
        if details:
            lines += ["", "扣分明细：" if zh else "Deductions:", ""]
            lines += [
                f"- {markdown_cell(t(s.unit) if s.unit == '(none)' else s.unit)}: "
                f"{deduction_words(d.rule, lang)} — {d.count} → −{d.points:g}"
                + (
                    f" ({markdown_cell(' '.join(d.channels[:20]))}{' …' if len(d.channels) > 20 else ''})"
                    if d.channels
                    else ""
                )
                for s, d in details
            ]
        lines.append("")
    if repair_rows:
        head = (
            [
                "维保单位",
                "故障次数",
                "修复时长中位数(小时)",
                "修复时长90分位(小时)",
                "期末未修复",
                "最长未修复(小时)",
            ]
            if zh
            else [
                "contractor",
                "episodes",
                "median repair (h)",
                "90th percentile repair (h)",
                "open at end",
                "longest open (h)",
            ]
        )
        lines += [
            "## " + ("维修及时性" if zh else "Repair timeliness"),
            "",
            "| " + " | ".join(head) + " |",
            "|---" * len(head) + "|",
        ]
        lines += [
            "| " + " | ".join(markdown_cell("" if v is None else v) for v in r) + " |" for r in repair_rows
        ]
        lines.append("")
    return "\n".join(lines) + "\n"
