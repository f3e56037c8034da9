"""Assessment (考核) by hand: a small month of known transitions, every figure, deduction and score computed
on paper, and the rates recomputed from the fault episodes."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from camwatch.config.assessment import AssessmentSettings, parse_condition
from camwatch.monitor.assessment import repair_times, score_group
from camwatch.monitor.episodes import camera_episodes
from camwatch.monitor.state import Transition
from camwatch.monitor.uptime import camera_uptime

H = 3600.0
PERIOD = (0.0, 720 * H)  # a 30-day month
MONITORED = [(0.0, 100 * H), (110 * H, 720 * H)]  # the monitor was stopped for 10 h


def t(
    camera: str, hour: float, status: str, *, up: bool | None = None, working: bool | None = None
) -> Transition:
    up = status not in ("offline", "timeout") if up is None else up
    working = status == "ok" if working is None else working
    return Transition(camera, hour * H, None, status, up, working, () if status == "ok" else (status,))


# Camera A, monitored all month: an outage, a frozen picture, an outage inside maintenance (10 of its 12 h),
# a power cut excused for 20 of its 23 h, and an outage still open at the month's end.
A = [
    t("A", 0, "ok"),
    t("A", 10, "offline"),
    t("A", 20, "ok"),
    t("A", 200, "frozen"),
    t("A", 205, "ok"),
    t("A", 300, "offline"),
    t("A", 312, "ok"),
    t("A", 398, "offline"),
    t("A", 421, "ok"),
    t("A", 700, "offline"),
]
A_MAINTENANCE = [(300 * H, 310 * H)]
A_EXCUSED = [(400 * H, 420 * H)]
# Camera B, added half-way through the month: one 9-hour outage.
B = [t("B", 360, "ok"), t("B", 500, "offline"), t("B", 509, "ok")]


def episodes_a():
    return camera_episodes("A", A, PERIOD, MONITORED, A_MAINTENANCE, A_EXCUSED, clusters=[(10.5 * H, "c1")])


def test_episodes_of_a_known_month():
    rows = [(e.status, e.up, e.start / H, e.end and e.end / H, e.hours, e.maintenance_hours, e.excused_hours)
            for e in episodes_a()]  # fmt: skip
    assert rows == [
        ("offline", False, 10, 20, 10, 0, 0),
        ("frozen", True, 200, 205, 5, 0, 0),
        ("offline", False, 300, 312, 2, 10, 0),
        ("offline", False, 398, 421, 3, 0, 20),
        ("offline", False, 700, None, 20, 0, 0),
    ]
    assert [e.cluster for e in episodes_a()] == ["c1", "", "", "", ""]
    assert [e.repair_hours for e in episodes_a()] == [10, 5, 12, 23, None]


def test_rates_recomputed_from_episodes_agree_with_uptime():
    u = camera_uptime("A", A, MONITORED, A_MAINTENANCE, A_EXCUSED)
    assert u.monitored / H == 680  # 710 h monitored − 10 h maintenance − 20 h excused
    assert (u.maintenance / H, u.excused / H) == (10, 20)
    eps = episodes_a()
    offline = sum(e.hours for e in eps if not e.up)
    fault = sum(e.hours for e in eps)
    assert u.online_rate == pytest.approx(1 - offline / 680) == pytest.approx(645 / 680)
    assert u.working_rate == pytest.approx(1 - fault / 680) == pytest.approx(640 / 680)


def test_consecutive_transitions_of_one_status_are_one_episode():
    # faults changed while the status stayed `offline`: still one run
    history = [
        t("C", 0, "ok"),
        t("C", 5, "offline"),
        t("C", 6, "offline"),
        t("C", 8, "frozen"),
        t("C", 9, "ok"),
    ]
    eps = camera_episodes("C", history, PERIOD, [PERIOD], [])
    assert [(e.status, e.start / H, e.end and e.end / H) for e in eps] == [
        ("offline", 5, 8),
        ("frozen", 8, 9),
    ]


def test_episode_before_the_period_is_left_out_and_one_across_its_start_is_cut():
    history = [t("C", 0, "offline"), t("C", 1, "ok"), t("C", 719, "offline"), t("C", 722, "ok")]
    eps = camera_episodes("C", history, (2 * H, 720 * H), [(2 * H, 720 * H)], [])
    assert [(e.start / H, e.end and e.end / H, e.hours) for e in eps] == [(719, 722, 1)]


def score(rules: AssessmentSettings):
    uptimes = [
        camera_uptime("A", A, MONITORED, A_MAINTENANCE, A_EXCUSED),
        camera_uptime("B", B, MONITORED, []),
    ]
    eps = episodes_a() + camera_episodes("B", B, PERIOD, MONITORED, [])
    return score_group("township", "County/Town", uptimes, eps, rules)


def test_default_scorecard_by_hand():
    s = score(AssessmentSettings())
    assert s is not None
    # A: 680 h counted, 645 up, 640 working; B: 360 h, 351 up, 351 working
    assert s.figures.monitored / H == 1040
    assert s.figures.as_dict()["online_rate"] == pytest.approx(996 / 1040)
    assert s.figures.as_dict()["working_rate"] == pytest.approx(991 / 1040)
    assert s.earned == {"online_rate": 50, "working_rate": 50}  # both above target: full points
    # −1 per channel with more than 8 fault-hours: A (40 h) and B (9 h)
    [line] = s.deductions
    assert (line.count, line.points, line.channels) == (2, 2, ("A", "B"))
    assert (s.score, s.band) == (98, "pass")


def test_configured_scorecard_by_hand():
    rules = AssessmentSettings.model_validate(
        {
            "figures": {
                "online_rate": {"target": 0.98, "weight": 60},
                "video_quality_rate": {"target": 1.0, "weight": 40},
            },
            "deductions": [
                {"per": "channel", "when": "fault_hours > 8", "points": 3, "max_points": 4},
                {"per": "area", "when": "online_rate < 96%", "points": 5},
                {"per": "channel", "when": "episodes >= 5", "points": 1},
            ],
            "bands": {"pass": 95, "fair": 85},
        }
    )
    s = score(rules)
    assert s is not None
    # online 996/1040 = 0.957692 of 0.98 → 60 × 0.977237 = 58.6342; video quality 991/996 → 40 × 0.994980
    assert s.earned["online_rate"] == pytest.approx(60 * (996 / 1040) / 0.98)
    assert s.earned["video_quality_rate"] == pytest.approx(40 * 991 / 996)
    assert [(d.count, d.points) for d in s.deductions] == [(2, 4), (1, 5), (1, 1)]  # 2×3 capped at 4; A had 5
    expected = 60 * (996 / 1040) / 0.98 + 40 * 991 / 996 - 10
    assert s.score == pytest.approx(expected)  # 88.43
    assert s.band == "fair"


def test_a_group_never_monitored_has_no_score():
    assert (
        score_group("township", "X", [camera_uptime("Z", [], MONITORED, [])], [], AssessmentSettings())
        is None
    )


def test_repair_times_by_hand():
    r = repair_times(episodes_a(), PERIOD[1])
    # closed: 10, 5, 12, 23 h → median 11, 90th percentile (nearest rank 4 of 4) 23; one open for 20 h
    assert (r.episodes, r.median_hours, r.p90_hours, r.open_at_end, r.longest_open_hours) == (
        5,
        11,
        23,
        1,
        20,
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fault_hours >> 8", "FIGURE OP NUMBER"),
        ("__import__('os') > 1", "FIGURE OP NUMBER"),
        ("uptime > 1", "not one of"),
        ("fault_hours > 8%", "not a rate"),
        ("online_rate < 95", "between 0 and 1"),
    ],
)
def test_when_grammar_refuses_anything_else(text, message):
    with pytest.raises(ValueError, match=message):
        parse_condition(text, ("fault_hours", "online_rate"))


def test_when_reads_percentages_and_rates_alike():
    assert parse_condition("online_rate < 95%", ("online_rate",)) == parse_condition(
        "online_rate < 0.95", ("online_rate",)
    )


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"figures": {"online_rate": {"target": 0.95, "weight": 60}}}, "add up to 60"),
        ({"figures": {"uptime": {"target": 0.95, "weight": 100}}}, "online_rate"),
        ({"deductions": [{"per": "channel", "when": "cameras > 3", "points": 1}]}, "not one of"),
        ({"bands": {"pass": 70, "fair": 80}}, "must not be above pass"),
        ({"deductions": [{"per": "camera", "when": "fault_hours > 8", "points": 1}]}, "channel"),
    ],
)
def test_bad_settings_are_refused_with_a_reason(settings, message):
    with pytest.raises(ValidationError, match=message):
        AssessmentSettings.model_validate(settings)
