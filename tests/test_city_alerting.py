"""Alerting in a city (docs/city.md): a dead or stalled camwatch is one page that mutes its own cameras',
clusters' and GB/T 28181 devices' alerts, never another county's; the city Alertmanager routes each county
to its own duty; the deploy/city Prometheus configs are valid as committed."""

import subprocess
from pathlib import Path

import pytest
import yaml
from test_rules import ALERTMANAGER_CONFIG, RULES, alert_states, alertmanager, post_alerts, tool

CITY_ALERTMANAGER = Path(__file__).parents[1] / "deploy" / "city" / "alertmanager.yml"
CONFIGS = [ALERTMANAGER_CONFIG, CITY_ALERTMANAGER]

__all__ = ["alertmanager"]  # the fixture, shared with test_rules


@pytest.mark.parametrize("name", ["county-prometheus.yml", "city-prometheus.yml"])
def test_promtool_accepts_the_prometheus_configs_as_committed(tmp_path: Path, name: str) -> None:
    """With the alerting sections the e2e test leaves out; only the rule file's path is this checkout's."""
    config = yaml.safe_load((CITY_ALERTMANAGER.parent / name).read_text(encoding="utf-8"))
    config["rule_files"] = [str(RULES)]
    (tmp_path / name).write_text(yaml.safe_dump(config), encoding="utf-8")
    result = subprocess.run(
        [tool("promtool"), "check", "config", str(tmp_path / name)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_city_alertmanager_mutes_exactly_as_the_example() -> None:
    def inhibit_rules(path: Path) -> object:
        return yaml.safe_load(path.read_text(encoding="utf-8"))["inhibit_rules"]

    assert inhibit_rules(CITY_ALERTMANAGER) == inhibit_rules(ALERTMANAGER_CONFIG)


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["county_prometheus=xiayi", "alertname=CameraDown", "county=Xiayi"], "xiayi-duty-officer"),
        (
            ["county_prometheus=yongcheng", "alertname=OfflineCluster", "cluster=switch:s1"],
            "yongcheng-duty-officer",
        ),
        (["county_prometheus=yongcheng", "alertname=CoverageBelowTarget", "area=Yanji"], "city-planners"),
        (
            ["county_prometheus=xiayi", "alertname=CamwatchDown", "instance=camwatch:9640"],
            "city-monitoring-admin",
        ),
        # The city Prometheus itself pages only when a county Prometheus cannot be federated.
        (["alertname=CamwatchDown", "job=camwatch-federate", "instance=p:9090"], "city-monitoring-admin"),
        (["county_prometheus=tongxu", "alertname=CameraDown"], "city-duty-officer"),
        (
            ["county_prometheus=xiayi", "alertname=Gb28181DeviceDown", "device=34020000001180000001"],
            "xiayi-duty-officer",
        ),
    ],
)
def test_city_alertmanager_routes_each_county_to_its_duty(labels: list[str], receiver: str) -> None:
    result = subprocess.run(
        [tool("amtool"), "config", "routes", "test", f"--config.file={CITY_ALERTMANAGER}", *labels],
        capture_output=True,
        text=True,
    )
    assert result.stdout.strip() == receiver, result.stderr


@pytest.mark.parametrize("alertmanager", CONFIGS, indirect=True, ids=["example", "city"])
@pytest.mark.parametrize("source", ["CamwatchDown", "CamwatchProbesStale"])
def test_a_dead_instance_mutes_only_its_own_alerts(alertmanager: str, source: str) -> None:
    # Two counties' camwatch share an address on their own networks and number their cameras alike.
    west = {
        "county_prometheus": "west",
        "instance": "camwatch:9640",
        "job": "camwatch",
        "severity": "critical",
    }
    east = {**west, "county_prometheus": "east"}
    west_b = {**west, "instance": "camwatch-b:9640"}
    area = {"county": "Yongcheng", "township": "Mangshan"}
    alerts = {
        "source": {"alertname": source, **west},
        "west-c1": {"alertname": "CameraDown", "camera": "c1", "priority": "false", **area, **west},
        "west-c2": {"alertname": "CameraVideoFault", "camera": "c2", "fault": "frozen", **area, **west},
        "west-cluster": {"alertname": "OfflineCluster", "cluster": "switch:s1", **area, **west},
        "west-nvr": {"alertname": "Gb28181DeviceDown", "device": "34020000001180000001", **west},
        "east-c1": {"alertname": "CameraDown", "camera": "c1", "priority": "false", **east},
        "east-cluster": {"alertname": "OfflineCluster", "cluster": "switch:s1", **east},
        "east-nvr": {"alertname": "Gb28181DeviceDown", "device": "34020000001180000001", **east},
        "west-b-c1": {"alertname": "CameraDown", "camera": "c1", "priority": "false", **area, **west_b},
        "area": {"alertname": "AreaOnlineRateLow", "level": "county", "county": "Yongcheng"},
    }
    post_alerts(alertmanager, list(alerts.values()))
    names = {frozenset(labels.items()): key for key, labels in alerts.items()}
    muted = {"west-c1", "west-c2", "west-cluster", "west-nvr"}
    expected = {key: "suppressed" if key in muted else "active" for key in alerts}
    states = alert_states(alertmanager, expected, name=lambda labels: names[frozenset(labels.items())])
    assert states == expected
