"""Prometheus rules and the Alertmanager example: promtool and amtool checks, a real inhibition."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from camwatch.dashboards.generate import HERE

RULES = HERE / "rules" / "camwatch.rules.yml"
RULE_TESTS = sorted((HERE / "rules" / "tests").glob("*.test.yml"))
ALERTMANAGER_CONFIG = HERE / "alertmanager.yml"
ZH = HERE / "zh"
RULES_ZH = ZH / "rules" / "camwatch.rules.yml"
RULE_TESTS_ZH = sorted((ZH / "rules" / "tests").glob("*.test.yml"))
ALERTMANAGER_ZH = ZH / "alertmanager.yml"


def tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} is missing: install Debian's prometheus / prometheus-alertmanager"
    return path


def alerting_rules(rules: Path = RULES) -> list[dict[str, Any]]:
    groups = yaml.safe_load(rules.read_text(encoding="utf-8"))["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


@pytest.mark.parametrize("rules", [RULES, RULES_ZH], ids=["en", "zh"])
def test_promtool_checks_the_rules(rules: Path) -> None:
    result = subprocess.run([tool("promtool"), "check", "rules", str(rules)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize(
    "unit_tests", RULE_TESTS + RULE_TESTS_ZH, ids=[p.name for p in RULE_TESTS + RULE_TESTS_ZH]
)
def test_promtool_unit_tests_pass(unit_tests: Path) -> None:
    result = subprocess.run(
        [tool("promtool"), "test", "rules", unit_tests.name],
        cwd=unit_tests.parent,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("unit_tests", RULE_TESTS, ids=[p.name for p in RULE_TESTS])
def test_the_english_unit_tests_pass_on_the_chinese_rules_but_for_the_text(
    unit_tests: Path, tmp_path: Path
) -> None:
    """The Chinese rules file records and alerts exactly as the English one: the same tests, annotations
    aside (dashboards/zh/rules/tests checks the Chinese text)."""
    rules = yaml.safe_load(RULES_ZH.read_text(encoding="utf-8"))
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules, allow_unicode=True), encoding="utf-8")
    doc = yaml.safe_load(unit_tests.read_text(encoding="utf-8"))
    doc["rule_files"] = ["rules.yml"]
    for test in doc["tests"]:
        for case in test.get("alert_rule_test", []):
            for expected in case.get("exp_alerts") or []:
                expected.pop("exp_annotations", None)
    (tmp_path / unit_tests.name).write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    result = subprocess.run(
        [tool("promtool"), "test", "rules", unit_tests.name], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_chinese_alerts_differ_from_the_english_in_text_only() -> None:
    english, chinese = alerting_rules(RULES), alerting_rules(RULES_ZH)
    assert [(r["alert"], r["expr"], r["for"], r["labels"]) for r in chinese] == [
        (r["alert"], r["expr"], r["for"], r["labels"]) for r in english
    ]
    for en, zh in zip(english, chinese, strict=True):
        for key in ("summary", "description"):
            text = re.sub(r"\{\{.*?\}\}", "", zh["annotations"][key])
            assert re.search(r"[\u4e00-\u9fff]", text), (zh["alert"], key)
            # No English sentence left: only names (camwatch, GB/T 28181, PromQL and tool names) may be Latin.
            assert not re.search(r"\b(the|is|are|of|has|have|for|cameras?)\b", text), (zh["alert"], text)
        # Chinese alerts link to the Chinese dashboards.
        assert zh["annotations"]["dashboard_url"] == re.sub(
            r"^/d/([\w-]+)", r"/d/\1-zh", en["annotations"]["dashboard_url"]
        )


def test_every_alert_is_complete_and_unit_tested_firing() -> None:
    firing_in_tests = {
        case["alertname"]
        for path in RULE_TESTS
        for test in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    names = {rule["alert"] for rule in alerting_rules()}
    assert {"CameraDown", "CameraVideoFault", "CameraClockSkew", "OfflineCluster", "AreaOnlineRateLow",
            "CoverageBelowTarget", "CamwatchProbesStale"} <= names  # fmt: skip
    assert names <= firing_in_tests
    for rule in alerting_rules():
        assert rule["for"], rule["alert"]
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, rule["alert"]
        assert {"summary", "description", "dashboard_url"} <= set(rule["annotations"]), rule["alert"]


def test_amtool_accepts_the_alertmanager_example() -> None:
    result = subprocess.run(
        [tool("amtool"), "check-config", str(ALERTMANAGER_CONFIG)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_amtool_accepts_the_chinese_example_with_its_templates(tmp_path: Path) -> None:
    """WeCom and DingTalk receivers; amtool loads and parses the Chinese templates (a broken one fails)."""
    result = subprocess.run(
        [tool("amtool"), "check-config", str(ALERTMANAGER_ZH)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 templates" in result.stdout
    config = yaml.safe_load(ALERTMANAGER_ZH.read_text(encoding="utf-8"))
    assert all(r.get("wechat_configs") for r in config["receivers"])
    assert any("dingtalk" in w["url"] for r in config["receivers"] for w in r.get("webhook_configs", []))
    # Routes and inhibitions are the English example's: only receivers and templates differ.
    english = yaml.safe_load(ALERTMANAGER_CONFIG.read_text(encoding="utf-8"))
    assert config["route"] == english["route"] and config["inhibit_rules"] == english["inhibit_rules"]
    assert {r["name"] for r in config["receivers"]} == {r["name"] for r in english["receivers"]}
    shutil.copy(ALERTMANAGER_ZH, tmp_path / "alertmanager.yml")
    (tmp_path / "templates").mkdir()
    template = (ZH / "templates" / "camwatch.tmpl").read_text(encoding="utf-8")
    (tmp_path / "templates" / "camwatch.tmpl").write_text(template.replace("{{ end }}", "", 1), "utf-8")
    broken = subprocess.run(
        [tool("amtool"), "check-config", str(tmp_path / "alertmanager.yml")], capture_output=True, text=True
    )
    assert broken.returncode != 0


def test_the_chinese_template_renders_an_alert_group(tmp_path: Path) -> None:
    (rule,) = [r for r in alerting_rules(RULES_ZH) if r["alert"] == "CameraDown"]
    alert = {
        "status": "firing",
        "labels": {"alertname": "CameraDown", "severity": "critical", "camera": "c1"},
        "annotations": {
            "summary": "摄像机 c1 离线",
            "description": "摄像机 c1（谢集路口）已连续 5 分钟探测失败。",
        },
        "startsAt": "2026-12-07T06:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
    }
    data = {
        "receiver": "duty-officer",
        "status": "firing",
        "alerts": [alert] * 10,
        "groupLabels": {"alertname": "CameraDown"},
        "commonLabels": {"alertname": "CameraDown", "severity": "critical"},
        "commonAnnotations": {},
        "externalURL": "http://127.0.0.1:9093",
    }
    (tmp_path / "data.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    result = subprocess.run(
        [
            tool("amtool"),
            "template",
            "render",
            f"--template.glob={ZH / 'templates' / '*.tmpl'}",
            '--template.text={{ template "camwatch.zh.message" . }}',
            f"--template.data={tmp_path / 'data.json'}",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.startswith("【告警】紧急 摄像机离线（10 条）")
    # Bounded for WeCom's 2048-byte messages: eight alerts, then how many there are.
    assert text.count("摄像机 c1 离线") == 8 and "共 10 条，只列出前 8 条" in text
    assert len(text.encode()) < 2048
    assert rule["annotations"]["summary"] == "摄像机 {{ $labels.camera }} 离线"


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["alertname=OfflineCluster", "cluster=switch:sw-1", "county=Xiayi"], "duty-officer"),
        (["alertname=CameraDown", "county=Xiayi", "township=Chengguan"], "duty-officer"),
        (["alertname=CoverageBelowTarget", "area=Chengguan"], "planners"),
        (["alertname=CamwatchProbesStale", "instance=camwatch:9640"], "monitoring-admin"),
        (["alertname=Gb28181DeviceDown", "device=34020000001180000001"], "duty-officer"),
        (["alertname=NoVideoCluster", "cluster=switch:sw-9"], "duty-officer"),
        (["alertname=CameraNoVideo", "camera=c1", "county=Xiayi"], "duty-officer"),
    ],
)
def test_alerts_route_to_their_receivers(labels: list[str], receiver: str) -> None:
    result = subprocess.run(
        [tool("amtool"), "config", "routes", "test", f"--config.file={ALERTMANAGER_CONFIG}", *labels],
        capture_output=True,
        text=True,
    )
    assert result.stdout.strip() == receiver, result.stderr


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


@pytest.fixture
def alertmanager(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """Debian's Alertmanager on a free loopback port, with the example config (or the config given as an
    indirect parameter); its base URL."""
    config = getattr(request, "param", ALERTMANAGER_CONFIG)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = (tmp_path / "alertmanager.log").open("wb")
    process = subprocess.Popen(
        [
            tool("prometheus-alertmanager"),
            f"--config.file={config}",
            f"--storage.path={tmp_path}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            assert process.poll() is None, (tmp_path / "alertmanager.log").read_text()
            try:
                _get_json(f"{url}/api/v2/status")
                break
            except OSError:
                assert time.monotonic() < deadline, "alertmanager did not start"
                time.sleep(0.2)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(10)
        log.close()


def test_offline_cluster_inhibits_only_its_members_camera_down(alertmanager: str) -> None:
    area = {"county": "Xiayi", "township": "Chengguan", "severity": "critical"}
    cluster = {**area, "cluster": "switch:sw-1"}
    alerts = [
        {"alertname": "OfflineCluster", **cluster},
        {"alertname": "CameraDown", "camera": "s1", "priority": "false", **cluster},
        {"alertname": "CameraDown", "camera": "s4", "priority": "true", **cluster},
        {"alertname": "CameraDown", "camera": "x1", "priority": "false", **area},
        {"alertname": "CameraDown", "camera": "o1", "priority": "false", **area, "cluster": "switch:sw-2"},
        # A member's picture alert and its area's online rate are not the cluster's to mute.
        {"alertname": "CameraVideoFault", "camera": "s2", "fault": "frozen", **area, "severity": "warning"},
        {"alertname": "AreaOnlineRateLow", "level": "township", **area},
    ]
    post_alerts(alertmanager, alerts)
    expected = {
        "CameraDown s1": "suppressed",
        "CameraDown s4": "active",
        "CameraDown x1": "active",
        "CameraDown o1": "active",
        "CameraVideoFault s2": "active",
        "AreaOnlineRateLow ": "active",
    }
    states = alert_states(
        alertmanager,
        expected,
        name=lambda labels: f"{labels['alertname']} {labels.get('camera', '')}",
        alertname="Camera.*|AreaOnlineRateLow",
    )
    assert states == expected


def test_cameras_without_picture_together_page_once(alertmanager: str) -> None:
    """A switch (or site) whose cameras lose their picture together is one NoVideoCluster page: it mutes its
    members' CameraNoVideo (not a priority camera's, not another switch's); a camera that is down does not
    also page for its missing picture."""
    west = {"instance": "camwatch:9640", "job": "camwatch", "county": "Xiayi", "township": "Chengguan"}
    member = {"alertname": "CameraNoVideo", "fault": "no_video", "severity": "warning", **west}
    alerts = {
        "switch cluster": {
            "alertname": "NoVideoCluster",
            "kind": "switch",
            "switch": "sw-9",
            "cluster": "switch:sw-9",
            "severity": "warning",
            **west,
        },
        "site cluster": {
            "alertname": "NoVideoCluster",
            "kind": "site",
            "site": "Park",
            "cluster": "site:Park",
            "severity": "warning",
            **west,
        },
        "member": {**member, "camera": "s1", "switch": "sw-9", "site": "North", "priority": "false"},
        "site member": {**member, "camera": "p2", "switch": "sw-4", "site": "Park", "priority": "false"},
        "priority member": {**member, "camera": "s2", "switch": "sw-9", "site": "East", "priority": "true"},
        "other switch": {**member, "camera": "x1", "switch": "sw-2", "site": "Mall", "priority": "false"},
        "down": {**member, "camera": "d1", "switch": "sw-3", "site": "Lane", "priority": "false"},
        "down itself": {"alertname": "CameraDown", "camera": "d1", "severity": "critical", **west},
    }
    post_alerts(alertmanager, list(alerts.values()))
    names = {frozenset(labels.items()): key for key, labels in alerts.items()}
    muted = ("member", "site member", "down")
    expected = {key: "suppressed" if key in muted else "active" for key in alerts}
    states = alert_states(alertmanager, expected, name=lambda labels: names[frozenset(labels.items())])
    assert states == expected


def test_a_silent_gb28181_device_pages_once(alertmanager: str) -> None:
    """Gb28181DeviceDown mutes the offline cluster its channels form at the same camwatch (not a switch's,
    not another instance's), and the muted cluster still mutes its members' CameraDown."""
    nvr = "34020000001180000001"
    key = f"gb28181:{nvr}"
    west = {"instance": "camwatch:9640", "job": "camwatch", "severity": "critical"}
    east = {**west, "instance": "camwatch-b:9640"}
    area = {"county": "Xiayi", "township": "Chengguan"}
    cluster = {"cluster": f"switch:{key}", "kind": "switch", "key": key, **area}
    member = {"alertname": "CameraDown", "cluster": cluster["cluster"], **area, **west}
    alerts = {
        "device": {"alertname": "Gb28181DeviceDown", "device": nvr, "key": key, **west},
        "cluster": {"alertname": "OfflineCluster", **cluster, **west},
        "member": {**member, "camera": "gb-0000001", "priority": "false"},
        "priority member": {**member, "camera": "gb-0000002", "priority": "true"},
        "cluster at another camwatch": {"alertname": "OfflineCluster", **cluster, **east},
        "switch cluster": {
            "alertname": "OfflineCluster",
            **{**cluster, "cluster": "switch:sw-1", "key": "sw-1"},
            **west,
        },
    }
    post_alerts(alertmanager, list(alerts.values()))
    names = {frozenset(labels.items()): key for key, labels in alerts.items()}
    expected = {key: "suppressed" if key in ("cluster", "member") else "active" for key in alerts}
    states = alert_states(alertmanager, expected, name=lambda labels: names[frozenset(labels.items())])
    assert states == expected


def post_alerts(url: str, alerts: list[dict[str, str]]) -> None:
    """Send alerts (label sets) to Alertmanager's API, as Prometheus does."""
    request = urllib.request.Request(
        f"{url}/api/v2/alerts",
        data=json.dumps([{"labels": labels} for labels in alerts]).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=5).close()


def alert_states(
    url: str, expected: dict[str, str], *, name: Callable[[dict[str, str]], str], alertname: str = ".*"
) -> dict[str, str]:
    """Alertmanager's state (active, suppressed) of each alert matching ``alertname``, keyed by
    ``name(labels)``; polled until it equals ``expected`` or 10 s pass (inhibition is applied lazily)."""
    deadline = time.monotonic() + 10
    while True:
        states = {
            name(alert["labels"]): alert["status"]["state"]
            for alert in _get_json(f"{url}/api/v2/alerts")
            if re.fullmatch(alertname, alert["labels"]["alertname"])
        }
        if states == expected or time.monotonic() > deadline:
            return states
        time.sleep(0.2)
