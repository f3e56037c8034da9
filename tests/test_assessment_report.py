"""The assessment pack end to end: a state database with a known month, `camwatch excuse`, then `camwatch
report uptime` — every rate recomputed from fault_episodes.csv, the scores as computed by hand."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from camwatch.cli import app
from camwatch.monitor.state import Event, StateStore, StoredCamera, Transition
from camwatch.monitor.uptime import month_bounds

H = 3600.0
T0 = month_bounds("2026-11")[0]
HISTORY = {
    # as in test_assessment.py: A monitored all month, B added half-way through
    "A": [
        (0, "ok"),
        (10, "offline"),
        (20, "ok"),
        (200, "frozen"),
        (205, "ok"),
        (300, "offline"),
        (312, "ok"),
        (398, "offline"),
        (421, "ok"),
        (700, "offline"),
    ],
    "B": [(360, "ok"), (500, "offline"), (509, "ok")],
    # D was taken out of the ledger: its history is not assessed
    "D": [(0, "offline")],
    # October, for the trend: A down 100 h of the 744 h month
    "A-oct": [],
}
LEDGER = (
    "cameras:\n"
    "  - {id: A, name: 东门, host: 10.0.0.1, county: 梁园区, township: 谢集镇, police_station: 谢集派出所}\n"
    "  - {id: B, name: '=HYPERLINK(\"http://x\")', host: 10.0.0.2, county: 梁园区, township: 谢集镇}\n"
)


def _month(tmp_path, lang_line: str = "") -> str:
    db = tmp_path / "state.db"
    store = StateStore(db)
    oct0 = month_bounds("2026-10")[0]
    with store._conn:
        for a, b in ((oct0, T0), (T0, T0 + 100 * H), (T0 + 110 * H, T0 + 720 * H)):
            store._conn.execute("INSERT INTO runs (started, last_seen) VALUES (?, ?)", (a, b))
    for cam, status, ts in [("A", "ok", oct0), ("A", "offline", oct0 + 10 * H), ("A", "ok", oct0 + 110 * H)]:
        store.stage(StoredCamera(cam, status == "ok", status, (), ts, ts), _transition(cam, ts, status))
    for cam in ("A", "B", "D"):
        for h, status in HISTORY[cam]:
            ts = T0 + h * H
            store.stage(StoredCamera(cam, status == "ok", status, (), ts, ts), _transition(cam, ts, status))
    store.stage_event(Event("A", T0 + 10.5 * H, "cluster", {"cluster": "switch:sw-1"}))
    store.flush()
    store.start_maintenance(["A"], until=T0 + 310 * H, reason="pole replaced", now=T0 + 300 * H)
    store.close()
    config = tmp_path / "camwatch.yaml"
    config.write_text(
        f"monitor: {{state: state.db}}\nreports: {{timezone: UTC{lang_line}}}\n" + LEDGER, "utf-8"
    )
    return str(config)


def _transition(cam: str, ts: float, status: str) -> Transition:
    up = status != "offline"
    return Transition(cam, ts, None, status, up, status == "ok", () if status == "ok" else (status,))


def _excuse(config: str) -> None:
    result = CliRunner().invoke(
        app,
        [
            *("excuse", "add", config, "A", "--from", "2026-11-17T16:00", "--to", "2026-11-18T12:00"),
            *("--reason", "供电公司计划停电 2026-118号", "--by", "王科长"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "1 camera(s) excused" in result.output


def _csv(path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.open(encoding="utf-8-sig")))


def test_month_pack_recomputes_from_episodes(tmp_path):
    config = _month(tmp_path)
    _excuse(config)  # hours 400-420 of the month
    listed = CliRunner().invoke(app, ["excuse", "list", config])
    assert "供电公司计划停电" in listed.output and "王科长" in listed.output
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["report", "uptime", config, "--month", "2026-11", "--out", str(out)])
    assert result.exit_code == 0, result.output

    episodes = _csv(out / "fault_episodes.csv")
    assert list(episodes[0]) == [
        "camera", "name", "area", "contractor", "status", "up", "start", "end", "hours", "reason",
        "cluster", "maintenance_hours", "excused_hours", "repair_hours",
    ]  # fmt: skip
    assert {e["camera"] for e in episodes} == {"A", "B"}  # D is no longer in the ledger
    a = [
        (e["status"], e["start"], e["end"], float(e["hours"]), e["cluster"])
        for e in episodes
        if e["camera"] == "A"
    ]
    assert a == [
        ("offline", "2026-11-01 10:00:00", "2026-11-01 20:00:00", 10, "switch:sw-1"),
        ("frozen", "2026-11-09 08:00:00", "2026-11-09 13:00:00", 5, ""),
        ("offline", "2026-11-13 12:00:00", "2026-11-14 00:00:00", 2, ""),
        ("offline", "2026-11-17 14:00:00", "2026-11-18 13:00:00", 3, ""),
        ("offline", "2026-11-30 04:00:00", "", 20, ""),
    ]
    assert [float(e["excused_hours"]) for e in episodes if e["camera"] == "A"] == [0, 0, 0, 20, 0]
    assert (
        next(e for e in episodes if e["camera"] == "B")["name"] == '\'=HYPERLINK("http://x")'
    )  # a ledger value is data, not a formula

    # every rate in uptime_cameras.csv recomputes from the episodes and the monitored hours
    for cam in _csv(out / "uptime_cameras.csv"):
        mine = [e for e in episodes if e["camera"] == cam["camera"]]
        monitored = float(cam["monitored_hours"])
        offline = sum(float(e["hours"]) for e in mine if e["up"] == "0")
        fault = sum(float(e["hours"]) for e in mine)
        assert float(cam["online_rate"]) == pytest.approx(1 - offline / monitored, abs=1e-5)
        assert float(cam["working_rate"]) == pytest.approx(1 - fault / monitored, abs=1e-5)
    assert {c["camera"]: float(c["monitored_hours"]) for c in _csv(out / "uptime_cameras.csv")} == {
        "A": 680,
        "B": 360,
    }

    scores = {(r["group"], r["unit"]): r for r in _csv(out / "assessment.csv")}
    town = scores[("township", "梁园区/谢集镇")]
    assert (town["cameras"], float(town["score"]), town["band"]) == ("2", 98, "pass")
    assert float(town["online_rate"]) == pytest.approx(996 / 1040, abs=1e-6)
    assert "fault_hours > 8: 2 → −2" in town["deductions"]
    station = scores[("police_station", "梁园区/谢集派出所")]
    assert float(station["score"]) == pytest.approx(50 * (645 / 680) / 0.95 + 50 - 1, abs=0.01)
    # October: A alone, 644/744 online → the trend column is A's change since then
    assert float(station["online_rate_previous"]) == pytest.approx(644 / 744, abs=1e-6)
    assert float(station["online_rate_change"]) == pytest.approx(645 / 680 - 644 / 744, abs=1e-6)
    md = (out / "assessment.md").read_text("utf-8")
    assert "Score = 50 × min(1, online_rate ÷ 95 %) + 50 × min(1, working_rate ÷ 90 %)" in md
    assert "1 point(s) per channel with fault_hours > 8" in md
    assert (out / "assessment.xlsx").exists()


def test_any_period_in_chinese(tmp_path):
    config = _month(tmp_path, ", lang: zh")
    out = tmp_path / "out"
    args = ["report", "uptime", config, "--from", "2026-11-01", "--to", "2026-11-02", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    # 48 h: A down 10 h (hours 10-20), B not yet in service
    header, *rows = csv.reader((out / "uptime_cameras.csv").open(encoding="utf-8-sig"))
    assert header[5] == "在线率"
    rates = {row[0]: row[5] for row in rows}
    assert rates == {"A": f"{38 / 48:.6f}", "B": ""}  # B was not yet in service
    episodes = _csv(out / "fault_episodes.csv")
    assert [(e["camera"], float(e["hours"])) for e in episodes] == [("A", 10)]
    md = (out / "assessment.md").read_text("utf-8")
    assert md.startswith("# 考核报告 2026-11-01 – 2026-11-02")
    assert "得分 = 50 × min(1, 在线率 ÷ 95 %) + 50 × min(1, 完好率 ÷ 90 %) − 扣分" in md
    assert "每路故障时长(小时) > 8 扣 1 分" in md
    assert "Score" not in md and "Deductions" not in md
    from openpyxl import load_workbook

    sheet = load_workbook(out / "assessment.xlsx")["考核得分"]
    header = [c.value for c in sheet[1]]
    online = sheet.cell(row=2, column=header.index("在线率") + 1)
    assert isinstance(online.value, float) and online.number_format == "0.00%"  # a number, shown as 79.17 %
    assert {"考核单位", "得分", "等级", "上期在线率", "得分变化"} <= set(header)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-11-01"], "--from and --to"),
        (["--month", "2026-11", "--from", "2026-11-01", "--to", "2026-11-02"], "--from and --to"),
        (["--from", "2026-11-05", "--to", "2026-11-01"], "before --from"),
        (["--from", "1 Nov", "--to", "2026-11-02"], "dates such as"),
    ],
)
def test_period_options_refused_with_a_reason(tmp_path, args, message):
    config = _month(tmp_path)
    result = CliRunner().invoke(app, ["report", "uptime", config, *args, "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert message in result.output


def test_excuse_needs_a_reason_and_a_forward_span(tmp_path):
    config = _month(tmp_path)
    base = ["excuse", "add", config, "A", "--from", "2026-11-17T16:00"]
    assert (
        "end after it starts"
        in CliRunner().invoke(app, [*base, "--to", "2026-11-17T10:00", "--reason", "x"]).output
    )
    assert (
        "needs a reason"
        in CliRunner().invoke(app, [*base, "--to", "2026-11-18T10:00", "--reason", " "]).output
    )
    unknown = ["excuse", "add", config, "Z", "--from", "2026-11-17", "--to", "2026-11-18", "--reason", "x"]
    assert "no camera or area" in CliRunner().invoke(app, unknown).output


def test_recording_integrity_from_the_days_the_checks_kept(tmp_path):
    """录像完整率: each recording check's footage in its 24 hours adds to its day (state schema 5); the
    month's rate is the footage found ÷ the footage due over those checks, per camera and in the
    assessment."""
    config = _month(tmp_path)
    store = StateStore(tmp_path / "state.db")
    for day, footage in (("2026-11-03", 86_400.0), ("2026-11-03", 43_200.0), ("2026-11-04", 64_800.0)):
        store.stage_recorded("A", day, footage)
    store.stage_recorded("A", "2026-10-31", 0.0)  # another month: not counted
    store.flush()
    store.close()
    path = Path(config)
    text = path.read_text(encoding="utf-8").replace(
        "reports: {timezone: UTC}",
        "reports:\n  timezone: UTC\n  assessment:\n    figures:\n"
        "      online_rate: {target: 0.95, weight: 40}\n      working_rate: {target: 0.90, weight: 40}\n"
        "      recording_rate: {target: 0.90, weight: 20}\n"
        "    deductions: [{per: channel, when: 'recording_rate < 80%', points: 3}]",
    )
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["report", "uptime", config, "--month", "2026-11", "--out", str(out)])
    assert result.exit_code == 0, result.output
    cameras = {c["camera"]: c for c in _csv(out / "uptime_cameras.csv")}
    assert cameras["A"]["recording_rate"] == f"{(86_400 + 43_200 + 64_800) / (3 * 86_400):.6f}"  # 0.75
    assert cameras["B"]["recording_rate"] == ""  # no recorder checked
    station = {(r["group"], r["unit"]): r for r in _csv(out / "assessment.csv")}[
        ("police_station", "梁园区/谢集派出所")
    ]
    assert float(station["recording_rate"]) == pytest.approx(0.75)
    # No excuse here: A counted 700 h, 645 up, 640 working.
    # 40 × (645/700 ÷ 0.95) + 40 × 1 + 20 × (0.75 ÷ 0.90) − 3 (its only deduction rule: recording under 80 %)
    expected = 40 * (645 / 700) / 0.95 + 40 + 20 * 0.75 / 0.90 - 3
    assert float(station["score"]) == pytest.approx(expected, abs=0.01)


def test_the_retention_table_holds_each_checked_camera_against_its_target(tmp_path):
    """uptime_retention.csv (state schema 7): each day keeps the shortest retention its checks found; the
    month shows the shortest and the last day's, against the camera's target, met only when the shortest
    reached it. Hand-computed: A kept 31 d, then 29.5 d, then 30.5 d against 30 d → shortest 29.5, latest
    30.5, not met; B (a hotel, 90 d) kept 91 d → met; D was never checked → no row."""
    config = _month(tmp_path)
    store = StateStore(tmp_path / "state.db")
    day = 86_400.0
    store.stage_recorded("A", "2026-11-03", 86_400.0, 31 * day)
    store.stage_recorded("A", "2026-11-03", 86_400.0, 29.5 * day)
    store.stage_recorded("A", "2026-11-04", 86_400.0, 30.5 * day)
    store.stage_recorded("A", "2026-11-05", 86_400.0)  # a check that could not say: no retention figure
    store.stage_recorded("A", "2026-10-30", 86_400.0, 1 * day)  # another month: not counted
    store.stage_recorded("B", "2026-11-10", 86_400.0, 91 * day)
    store.flush()
    store.close()
    path = Path(config)
    text = path.read_text(encoding="utf-8").replace("host: 10.0.0.2,", "host: 10.0.0.2, site: hotel,")
    text = text.replace(
        "monitor: {state: state.db}",
        "monitor:\n  state: state.db\n  recording:\n    retention: {default: 30d, by_category: {hotel: 90d}}",
    )
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["report", "uptime", config, "--month", "2026-11", "--out", str(out), "--lang", "en"]
    )
    assert result.exit_code == 0, result.output
    rows = {r["camera"]: r for r in _csv(out / "uptime_retention.csv")}
    assert set(rows) == {"A", "B"}
    a, b = rows["A"], rows["B"]
    assert (a["retention_target_days"], a["retention_shortest_days"], a["retention_latest_days"]) == (
        "30.00",
        "29.50",
        "30.50",
    )
    assert a["retention_met"] == "no"
    assert (b["site"], b["retention_target_days"], b["retention_shortest_days"]) == (
        "hotel",
        "90.00",
        "91.00",
    )
    assert b["retention_met"] == "yes"
    assert b["name"] == '\'=HYPERLINK("http://x")'  # a ledger value is data, never a spreadsheet formula
