"""End to end: a real Prometheus scrapes camwatch monitoring a simulated fleet (with simulated GB/T 28181
devices registered); every dashboard query returns data, the rules load, taking a switch down makes the
OfflineCluster alert active, and silencing an NVR raises Gb28181DeviceDown keyed as its channels' cluster."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
import yaml
from test_dashboards import (
    DASHBOARDS,
    load,
    queries_without_data,
    resolve_variables,
    without_station_rankings,
)

from camwatch.config.load import load_config
from camwatch.coverage.command import sample_area
from camwatch.glue import coverage_factory
from camwatch.monitor.service import Service
from camwatch.sim.demo import add_gb28181
from camwatch.sim.fleet import Fleet
from camwatch.sim.gb28181_device import SimGbDevice
from camwatch.sim.profiles import load_spec
from support.gst_rtsp import unused_port
from support.prometheus import Prometheus, running_prometheus, write_config

RULES = Path(__file__).parents[1] / "dashboards" / "rules" / "camwatch.rules.yml"
PASSWORD = "e2e-Fleet-pw"

FLEET = {
    "count": 40,
    "seed": 7,
    "username": "admin",
    "rtsp_port": 8554,
    "onvif_port": 8080,
    "onvif": True,
    "video": {"width": 320, "height": 180, "fps": 12, "seconds": 4},
    "area": {"bbox": [60.16, 24.93, 60.18, 24.96], "county": "Sample County"},
    "topology": {"site": 2, "switch": 4, "fibre": 8, "power": 4},
    "profiles": [
        {"name": "healthy"},
        {"name": "frozen", "count": 2, "picture": "frozen"},
        {"name": "black", "count": 2, "picture": "black"},
        {"name": "offline", "count": 2, "behaviour": "offline"},
        {"name": "flapping", "count": 2, "behaviour": "flapping", "period": "6s"},
        {"name": "wrong-clock", "count": 2, "clock_offset": "1h"},
        {"name": "still", "count": 2, "snapshot": "isapi"},
        # Their own tamper detector reports them covered (ONVIF event), apart from what camwatch measures.
        {"name": "tampered", "count": 1, "camera_events": ["tamper"]},
    ],
    "outages": [],
    # An ONVIF Profile G recorder (stopped, gap, short retention) and an ISAPI NVR with a failed disk.
    "recorders": {"onvif": 4, "isapi": 2, "failed_disk": True},
}
MONITOR = {
    "rtsp": {"interval": "2s", "timeout": "1s"},
    "onvif": {"interval": "4s", "timeout": "2s"},
    "video": {"interval": "6s", "timeout": "8s", "duration": "3s"},
    "snapshot": {"interval": "6s", "timeout": "4s"},
    "recording": {"interval": "10s", "timeout": "8s"},
    "debounce": {"down_after": 1, "up_after": 1},
    "backoff": {"max_interval": "2s"},
    "clusters": {"window": "30s", "min_cameras": 3},
    "onvif_events": {"interval": "2s", "wait": "0.5s", "timeout": "3s"},
}


class Stack:
    def __init__(self, fleet: Fleet, service: Service, prometheus: Prometheus, gb_devices: list[SimGbDevice]):
        self.fleet, self.service, self.prometheus = fleet, service, prometheus
        self.gb_devices = gb_devices


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    work = tmp_path_factory.mktemp("e2e")
    profile = work / "fleet.yaml"
    profile.write_text(yaml.safe_dump(FLEET))
    os.environ["CAMWATCH_PASSWORD"] = PASSWORD
    fleet = Fleet(load_spec(profile), password=PASSWORD, base_address="127.60.0.1")
    async with fleet:
        listen = f"127.0.0.1:{unused_port()}"
        config_path = fleet.write_config(
            work / "camwatch.yaml",
            listen=listen,
            state=work / "camwatch.db",
            monitor=MONITOR,
            coverage=sample_area().model_dump(mode="json", exclude_defaults=True),
        )
        # The demo's GB/T 28181 devices: two NVRs (UDP with GB2312 bodies and a channel OFF; TCP) and an IPC
        # with a wrong password; their channels are ledger cameras seen through GB/T 28181 alone.
        gb_devices = add_gb28181(config_path, PASSWORD)
        service = Service(load_config(config_path), coverage_factory=coverage_factory())
        await service.start()
        try:
            for device in gb_devices:
                await device.start()
            prom_config = write_config(work / "prometheus.yml", targets=[listen], rule_files=[RULES])
            async with running_prometheus(work, prom_config) as prometheus:
                # Everything the dashboards show must exist before they are queried.
                await prometheus.wait_for('camwatch_video_fault{fault="frozen"} == 1', timeout_s=60)
                await prometheus.wait_for("camwatch_coverage_effective_ratio", timeout_s=60)
                await prometheus.wait_for("camwatch_onvif_clock_offset_seconds > 3000", timeout_s=60)
                await prometheus.wait_for("changes(camwatch_camera_up[1m]) > 0", timeout_s=60)
                await prometheus.wait_for("camwatch_snapshot_scene_match", timeout_s=60)
                await prometheus.wait_for("camwatch_gb28181_clock_offset_seconds", timeout_s=60)
                await prometheus.wait_for("camwatch_recorder_disk_ok == 0", timeout_s=60)
                await prometheus.wait_for('camwatch_video_fault{fault="recording_stopped"}', timeout_s=60)
                await prometheus.wait_for('camwatch_camera_event{event="tamper"} == 1', timeout_s=60)
                yield Stack(fleet, service, prometheus, gb_devices)
        finally:
            for device in gb_devices:
                await device.stop()
            await service.stop()


# Runs first: the outage it causes stays, so the dashboards' cluster panels have data too.
@pytest.mark.asyncio(loop_scope="module")
async def test_switch_outage_becomes_one_cluster_alert(stack: Stack) -> None:
    switches = sorted({c.switch for c in stack.fleet.cameras if c.behaviour == "ok" and c.switch})
    # Not the switch of the camera whose recording stopped: the dashboards show it, and only while it is up.
    assert stack.fleet.recorders is not None
    stopped = next(c for c in stack.fleet.cameras if c.id in stack.fleet.recorders.channels)
    victim = next(s for s in switches if s != stopped.switch)
    members = stack.fleet.select(switch=victim)
    taken = await stack.fleet.set_down(switch=victim)
    assert sorted(taken) == sorted(members) and len(members) >= 3
    cluster = f"switch:{victim}"
    deadline = time.monotonic() + 60
    alerts: list[dict] = []
    while time.monotonic() < deadline:
        alerts = [
            a
            for a in (await stack.prometheus.api("alerts"))["alerts"]
            if a["labels"]["alertname"] == "OfflineCluster"
        ]
        if any(a["labels"].get("cluster") == cluster for a in alerts):
            break
        await asyncio.sleep(1)
    mine = [a for a in alerts if a["labels"].get("cluster") == cluster]
    assert len(mine) == 1, json.dumps(alerts, indent=1)
    assert mine[0]["state"] in ("pending", "firing")
    assert mine[0]["labels"]["kind"] == "switch"
    size = await stack.prometheus.query(f'camwatch_offline_cluster_cameras{{cluster="{cluster}"}}')
    assert float(size[0]["value"][1]) >= 3


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("name", list(DASHBOARDS))
async def test_every_dashboard_query_returns_data_from_real_camwatch(stack: Stack, name: str) -> None:
    dashboard = load(name)
    values = await resolve_variables(dashboard, stack.prometheus, pick_all=True)
    choices = [values]
    if "camera" in values:
        # The camera page shows one camera; its panels for each probe kind show data for a camera of that
        # kind: one that is up with its video checked, and one whose still picture is checked.
        checked = {r["metric"]["camera"] for r in await stack.prometheus.query("camwatch_video_fps")}
        video = next(
            c.id
            for c in stack.fleet.cameras
            if c.behaviour == "ok" and c.picture == "live" and stack.fleet.is_up(c.id) and c.id in checked
        )
        # Of those still up: a camera the switch outage took down loses its series at the next scrape.
        steady = {c.id for c in stack.fleet.cameras if c.behaviour == "ok" and stack.fleet.is_up(c.id)}
        matched = await stack.prometheus.query("camwatch_snapshot_scene_match")
        stills = [r for r in matched if r["metric"]["camera"] in steady]
        choices = [{**values, "camera": video}]
        choices += [{**values, "camera": r["metric"]["camera"]} for r in stills[:1]]
        # and one whose footage its recorder reports
        recorded = await stack.prometheus.query("camwatch_recording_retention_seconds")
        choices += [{**values, "camera": r["metric"]["camera"]} for r in recorded[:1]]

    empty = await queries_without_data(dashboard, choices, stack.prometheus)
    empty = await without_station_rankings(empty, stack.prometheus)
    assert empty == [], f"{name}: queries without data"


@pytest.mark.asyncio(loop_scope="module")
async def test_rules_load_and_evaluate(stack: Stack) -> None:
    groups = await stack.prometheus.rule_groups()
    assert {g["name"] for g in groups} == {"camwatch.records", "camwatch.alerts"}
    broken = [(r["name"], r.get("lastError")) for g in groups for r in g["rules"] if r["health"] != "ok"]
    assert broken == []
    (online,) = await stack.prometheus.query("fleet:camwatch_camera_online:ratio")
    assert 0.5 < float(online["value"][1]) < 1.0


@pytest.mark.asyncio(loop_scope="module")
async def test_the_frame_judged_frozen_is_served(stack: Stack) -> None:
    """A duty officer follows the alert's snapshot link and sees the frame that was judged frozen."""
    import aiohttp
    import cv2
    import numpy as np

    judged = await stack.prometheus.wait_for('camwatch_video_fault{fault="frozen"} == 1')
    frozen = judged[0]["metric"]["camera"]
    url = f"{stack.service.url}/snapshot/{frozen}"
    async with aiohttp.ClientSession() as session, session.get(url, params={"fault": "frozen"}) as resp:
        assert resp.status == 200 and resp.content_type == "image/jpeg"
        body = await resp.read()
    image = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and image.shape[1] <= 320 and image.std() > 5  # a real picture, not a blank


@pytest.mark.asyncio(loop_scope="module")
async def test_report_rates_agree_with_prometheus(stack: Stack) -> None:
    """The rates `report uptime` computes from the state database (read_history → camera_uptime) and PromQL's
    avg_over_time of camwatch_camera_up / camwatch_camera_working over the same span agree: each state change
    can move Prometheus' sampled share by one scrape interval, and the first answer by one probe interval."""
    from datetime import date, timedelta

    from camwatch.monitor.period import days_period, read_history, subtract
    from camwatch.monitor.uptime import camera_uptime

    now = time.time()
    stack.service.store.flush(now)  # the run lasts until now; every transition is written
    series = await stack.prometheus.query_range("camwatch_camera_up", seconds=600, step=1)
    first_sample = max(float(s["values"][0][0]) for s in series)  # Prometheus' first scrape
    span = int(now - first_sample) - 1
    start = now - span
    today = date.today()
    config = stack.service.config
    period = days_period(
        str(today - timedelta(days=1)), str(today + timedelta(days=1)), config.reports.timezone
    )
    history = read_history(config.state_path, period)
    window = subtract(history.runs, [(float("-inf"), start), (now, float("inf"))])
    assert abs(sum(b - a for a, b in window) - span) < 2  # the service ran throughout

    probe_interval, scrape_interval = 2.0, 1.0  # MONITOR's rtsp interval, write_config's default
    compared = partial = 0
    for metric, attr in (("camwatch_camera_up", "online_rate"), ("camwatch_camera_working", "working_rate")):
        answer = await stack.prometheus.api("query", query=f"avg_over_time({metric}[{span}s])", time=str(now))
        for row in answer["result"]:
            camera = row["metric"]["camera"]
            transitions = history.transitions.get(camera, [])
            if not transitions or transitions[0].ts > start:
                continue  # first seen after Prometheus' first scrape: the two spans differ
            rate = getattr(camera_uptime(camera, transitions, window, []), attr)
            changes = sum(1 for t in transitions if start <= t.ts < now)
            tolerance = (probe_interval + (changes + 1) * scrape_interval) / span
            assert rate == pytest.approx(float(row["value"][1]), abs=tolerance), (camera, attr, changes)
            compared += 1
            partial += 0 < float(row["value"][1]) < 1
    assert compared >= 60 and partial >= 3  # not only cameras that were always up or always down


# Runs last: the NVR stays silent.
@pytest.mark.asyncio(loop_scope="module")
async def test_a_silent_nvr_raises_device_down_keyed_as_its_channels_cluster(stack: Stack) -> None:
    nvr = stack.gb_devices[1]
    nvr.keepalives = False  # offline after the keepalive deadline, interval x count (30 s in the demo)
    key = f"gb28181:{nvr.device_id}"
    deadline = time.monotonic() + 90
    alerts: list[dict] = []
    while time.monotonic() < deadline:
        alerts = [
            a for a in (await stack.prometheus.api("alerts"))["alerts"] if a["labels"].get("key") == key
        ]
        if {a["labels"]["alertname"] for a in alerts} == {"Gb28181DeviceDown", "OfflineCluster"}:
            break
        await asyncio.sleep(1)
    by_name = {a["labels"]["alertname"]: a for a in alerts}
    assert set(by_name) == {"Gb28181DeviceDown", "OfflineCluster"}, json.dumps(alerts, indent=1)
    device, cluster = by_name["Gb28181DeviceDown"], by_name["OfflineCluster"]
    # Alertmanager mutes the cluster on these labels (dashboards/alertmanager.yml).
    assert device["labels"]["instance"] == cluster["labels"]["instance"]
    assert device["labels"]["device"] == nvr.device_id
    assert float(device["value"]) == len(nvr.channels)
    assert float(cluster["value"]) == len(nvr.channels)


@pytest.mark.asyncio(loop_scope="module")
async def test_a_cameras_own_tamper_event_shows_within_a_pull_interval_and_clears(stack: Stack) -> None:
    """The camera's tamper detector, over its ONVIF PullPoint subscription, in Prometheus (interval 2 s,
    scrape 1 s), apart from camwatch's own faults."""
    cam = next(c for c in stack.fleet.cameras if c.profile == "healthy" and stack.fleet.is_up(c.id))
    board = stack.fleet.events(cam.id)
    assert board is not None
    selector = f'camwatch_camera_event{{camera="{cam.id}", event="tamper"}}'
    await stack.prometheus.wait_for(f"{selector} == 0", timeout_s=30)
    board.raise_("tamper")
    await stack.prometheus.wait_for(f"{selector} == 1", timeout_s=10)
    board.clear("tamper")
    await stack.prometheus.wait_for(f"{selector} == 0", timeout_s=10)
    assert not await stack.prometheus.query(f'camwatch_video_fault{{camera="{cam.id}", fault="occluded"}}')
