"""End to end, a city: three camwatch instances (three counties) on simulated fleets, two county Prometheus
servers and a city Prometheus federating from them, all configured from deploy/city/. The city's dashboards
see every county with the right totals and nothing counted twice; stopping one instance leaves one alert."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import yaml
from test_dashboards import (
    DASHBOARDS,
    load,
    panels,
    queries_without_data,
    resolve_variables,
    substitute,
    without_station_rankings,
)
from test_e2e_prometheus import FLEET, MONITOR, PASSWORD

from camwatch.config.load import load_config
from camwatch.coverage.command import sample_area
from camwatch.glue import coverage_factory
from camwatch.monitor.service import Service
from camwatch.sim.demo import add_gb28181
from camwatch.sim.fleet import Fleet
from camwatch.sim.profiles import load_spec
from support.gst_rtsp import unused_port
from support.prometheus import Prometheus, running_prometheus

REPO = Path(__file__).parents[1]
DEPLOY = REPO / "deploy" / "city"
RULES = REPO / "dashboards" / "rules" / "camwatch.rules.yml"
COVERED = ("Xiayi", "Yongcheng")
# Short enough for a test; the committed rules' own `for:` durations are promtool-tested.
TEST_FOR = "1s"
DEADLINE_S = 60.0


@dataclass(frozen=True)
class County:
    """One county's camwatch: ledger county, fleet, Prometheus and the `instance` label it is scraped as."""

    county: str
    prometheus: str
    instance: str
    base_address: str
    fleet: dict[str, Any]


# Three counties, two county Prometheus servers. Xiayi and Yongcheng run their camwatch at the same address
# on their own networks, and all three number their cameras alike (cam-0001, …): only `instance` and the
# county Prometheus' external label tell their series apart.
RICH = [
    {"name": "healthy"},
    {"name": "frozen", "count": 2, "picture": "frozen"},
    {"name": "black", "count": 1, "picture": "black"},
    {"name": "offline", "count": 1, "behaviour": "offline"},
    {"name": "wrong-clock", "count": 1, "clock_offset": "1h"},
    {"name": "still", "count": 1, "snapshot": "isapi"},
]
PLAIN = [{"name": "healthy"}, {"name": "offline", "count": 1, "behaviour": "offline"}]
COUNTIES = (
    County("Xiayi", "east", "camwatch:9640", "127.61.0.1", {"count": 16, "profiles": RICH}),
    County(
        "Yongcheng", "west", "camwatch:9640", "127.62.0.1", {"count": 8, "onvif": False, "profiles": PLAIN}
    ),
    County(
        "Yucheng", "west", "camwatch-2:9640", "127.63.0.1", {"count": 6, "onvif": False, "profiles": PLAIN}
    ),
)


def county_prometheus_config(path: Path, name: str, targets: dict[str, str], rules: Path) -> Path:
    """deploy/city/county-prometheus.yml with this test's intervals, external label, targets and rules."""
    config = yaml.safe_load((DEPLOY / "county-prometheus.yml").read_text(encoding="utf-8"))
    config["global"] |= {"scrape_interval": "1s", "evaluation_interval": "1s"}
    config["global"]["external_labels"]["county_prometheus"] = name
    config["rule_files"] = [str(rules)]
    del config["alerting"]  # alerts are read from the Prometheus API here
    (job,) = config["scrape_configs"]
    job["static_configs"] = [
        {"targets": [address], "labels": {"instance": instance}} for instance, address in targets.items()
    ]
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def city_prometheus_config(path: Path, counties: list[str]) -> Path:
    """deploy/city/city-prometheus.yml federating the given county Prometheus servers (host:port)."""
    config = yaml.safe_load((DEPLOY / "city-prometheus.yml").read_text(encoding="utf-8"))
    config["global"] |= {"scrape_interval": "1s", "evaluation_interval": "1s"}
    config["rule_files"] = [str(RULES)]
    del config["alerting"]
    (job,) = config["scrape_configs"]
    job |= {"scrape_interval": "1s", "scrape_timeout": "1s", "static_configs": [{"targets": counties}]}
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def fast_rules(path: Path) -> Path:
    """The project's rules with every alert's `for:` shortened to TEST_FOR."""
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    for group in groups["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                rule["for"] = TEST_FOR
    path.write_text(yaml.safe_dump(groups, allow_unicode=True), encoding="utf-8")
    return path


class City:
    def __init__(self) -> None:
        self.fleets: dict[str, Fleet] = {}
        self.services: dict[str, Service] = {}
        self.county_servers: dict[str, Prometheus] = {}
        self.city: Prometheus


async def poll(check: Any, what: str, *, timeout_s: float = DEADLINE_S) -> Any:
    """Await ``check()`` until it returns something truthy; fail naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = await check()
        if result or time.monotonic() > deadline:
            assert result, f"{what}: not within {timeout_s} s"
            return result
        await asyncio.sleep(1)


def healthy(fleet: Fleet) -> int:
    return sum(fleet.is_up(camera.id) for camera in fleet.cameras)


async def value(server: Prometheus, promql: str) -> float | None:
    result = await server.query(promql)
    return float(result[0]["value"][1]) if result else None


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def city(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[City]:
    work = tmp_path_factory.mktemp("city")
    os.environ["CAMWATCH_PASSWORD"] = PASSWORD
    rules = fast_rules(work / "camwatch.rules.yml")
    built = City()
    async with contextlib.AsyncExitStack() as stack:
        listen: dict[str, str] = {}
        for county in COUNTIES:
            folder = work / county.county
            profile = folder / "fleet.yaml"
            folder.mkdir()
            area = {**FLEET["area"], "county": county.county}
            profile.write_text(yaml.safe_dump({**FLEET, **county.fleet, "area": area}))
            fleet = Fleet(load_spec(profile), password=PASSWORD, base_address=county.base_address)
            await stack.enter_async_context(fleet)
            listen[county.county] = f"127.0.0.1:{unused_port()}"
            # Xiayi and Yongcheng cover the same sample area: the same area names in two counties.
            covered = county.county in COVERED
            config = fleet.write_config(
                folder / "camwatch.yaml",
                listen=listen[county.county],
                state=folder / "camwatch.db",
                monitor=MONITOR,
                coverage=sample_area().model_dump(mode="json", exclude_defaults=True) if covered else None,
            )
            # Yucheng's camwatch is also an upper platform for the demo's GB/T 28181 devices (channels the
            # ledger does not know, so the fleets' camera totals stay those of the fleets).
            gb_devices = add_gb28181(config, PASSWORD, link=False) if county.county == "Yucheng" else []
            service = Service(load_config(config), coverage_factory=coverage_factory() if covered else None)
            await service.start()
            stack.push_async_callback(lambda s=service: s.stop() if s.started else asyncio.sleep(0))
            for device in gb_devices:
                await device.start()
                stack.push_async_callback(device.stop)
            built.fleets[county.county], built.services[county.county] = fleet, service

        for name in dict.fromkeys(c.prometheus for c in COUNTIES):
            folder = work / f"prometheus-{name}"
            folder.mkdir()
            targets = {c.instance: listen[c.county] for c in COUNTIES if c.prometheus == name}
            config = county_prometheus_config(folder / "prometheus.yml", name, targets, rules)
            built.county_servers[name] = await stack.enter_async_context(running_prometheus(folder, config))
        folder = work / "prometheus-city"
        folder.mkdir()
        federated = [s.url.removeprefix("http://") for s in built.county_servers.values()]
        config = city_prometheus_config(folder / "prometheus.yml", federated)
        built.city = await stack.enter_async_context(running_prometheus(folder, config))

        # What the dashboards show must exist: an outage cluster and a flapped camera in Xiayi, video
        # faults, clock offsets and coverage; then every fleet's state settled in the city.
        xiayi = built.fleets["Xiayi"]
        # Cameras first seen down have no known down time and never join an outage: take the switch down
        # only once every camera has been seen.
        tracks = built.services["Xiayi"].tracker.tracks

        async def all_seen() -> bool:
            return all(t.up is not None for t in tracks.values())

        await poll(all_seen, "every Xiayi camera probed once")
        switch = next(c.switch for c in xiayi.cameras if c.behaviour == "ok")
        await xiayi.set_down(switch=switch)
        flapped = next(c.id for c in xiayi.cameras if c.switch != switch and c.behaviour == "ok")
        await xiayi.set_down([flapped])
        await built.city.wait_for(
            f'camwatch_camera_up{{camera="{flapped}", county_prometheus="east"}} == 0', timeout_s=DEADLINE_S
        )
        await xiayi.restore([flapped])
        for promql in (
            "camwatch_offline_cluster_cameras > 0",
            'camwatch_video_fault{fault="frozen"} == 1',
            "count(count by (county_prometheus, instance) (camwatch_coverage_effective_ratio)) == 2",
            "camwatch_onvif_clock_offset_seconds > 3000",
            "increase(camwatch_camera_flaps_total[1m]) > 0",
            'camwatch_snapshot_scene_match{county_prometheus="east"}',
            'camwatch_gb28181_clock_offset_seconds{county_prometheus="west"}',
        ):
            await built.city.wait_for(promql, timeout_s=DEADLINE_S)
        total = sum(healthy(fleet) for fleet in built.fleets.values())
        await poll(
            lambda: value(built.city, f"sum(camwatch_camera_up) == {total}"),
            f"city sum of camwatch_camera_up reaching the fleets' {total} healthy cameras",
        )
        yield built


@pytest.mark.asyncio(loop_scope="module")
async def test_city_totals_match_the_fleets_with_nothing_counted_twice(city: City) -> None:
    fleets = city.fleets
    assert await value(city.city, "sum(camwatch_camera_up)") == sum(healthy(f) for f in fleets.values())
    # Per county, from the city's own recording rules over federated raw series (one evaluation behind).
    expected = {county: (len(fleet.cameras), healthy(fleet)) for county, fleet in fleets.items()}

    async def per_county() -> dict[str, tuple[float | None, float | None]]:
        return {
            county: (
                await value(city.city, f'county:camwatch_cameras_monitored:count{{county="{county}"}}'),
                await value(city.city, f'county:camwatch_cameras_online:sum{{county="{county}"}}'),
            )
            for county in fleets
        }

    deadline = time.monotonic() + DEADLINE_S
    while (counts := await per_county()) != expected and time.monotonic() < deadline:
        await asyncio.sleep(1)
    assert counts == expected
    ranking = await city.city.query("county:camwatch_camera_online:ratio")
    assert sorted(r["metric"]["county"] for r in ranking) == sorted(fleets)
    # One series per camera of each instance, none duplicated; no county-recorded series federated.
    assert (
        await city.city.query("count by (county_prometheus, instance, camera) (camwatch_camera_up) > 1") == []
    )
    assert await value(city.city, "count(camwatch_camera_up)") == sum(len(f.cameras) for f in fleets.values())
    per_camera = "count by (county_prometheus, instance, camera) (camera:camwatch_camera_up:monitored) > 1"
    assert await city.city.query(per_camera) == []
    assert (
        await city.city.query('{__name__=~"(fleet|county|township|village):.+", county_prometheus!=""}') == []
    )
    # Equal camera ids in different counties stay apart.
    clashing = await city.city.query('camwatch_camera_info{camera="cam-0001"}')
    assert sorted(r["metric"]["county"] for r in clashing) == sorted(fleets)
    # So do equal area names: the coverage table has a row per area and category of each county.
    rows = next(
        t["expr"]
        for p in panels(load("coverage.json"))
        if p["title"] == "Coverage by area and category"
        for t in p["targets"]
    )
    rows = substitute(rows, {"area": ".*", "category": ".*"})
    exported = await value(city.city, "count(camwatch_coverage_ratio)")
    assert await value(city.city, f"count({rows})") == exported
    assert await value(city.city, f"max(count by (area, category) ({rows}))") == len(COVERED)


@pytest.mark.asyncio(loop_scope="module")
async def test_city_rules_evaluate_without_error(city: City) -> None:
    for server in (city.city, *city.county_servers.values()):
        groups = await server.rule_groups()
        broken = [(r["name"], r.get("lastError")) for g in groups for r in g["rules"] if r["health"] != "ok"]
        assert broken == [], server.url


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("name", list(DASHBOARDS))
async def test_every_dashboard_query_returns_data_in_the_city(city: City, name: str) -> None:
    dashboard = load(name)
    values = await resolve_variables(dashboard, city.city, pick_all=True)
    choices = [values]
    if "camera" in values:  # cameras of Xiayi: one up with its video checked, one with its still picture
        checked = {
            r["metric"]["camera"]
            for r in await city.city.query('camwatch_video_fps{county_prometheus="east"}')
        }
        xiayi = city.fleets["Xiayi"]
        video = next(
            c.id for c in xiayi.cameras if c.picture == "live" and xiayi.is_up(c.id) and c.id in checked
        )
        stills = await city.city.query('camwatch_snapshot_scene_match{county_prometheus="east"}')
        choices = [{**values, "camera": video}]
        choices += [{**values, "camera": r["metric"]["camera"]} for r in stills[:1]]
    empty = await without_station_rankings(
        await queries_without_data(dashboard, choices, city.city), city.city
    )
    assert empty == [], name


def firing(alerts: list[dict[str, Any]]) -> set[frozenset[tuple[str, str]]]:
    return {frozenset(a["labels"].items()) for a in alerts if a["state"] == "firing"}


# Runs last: it stops an instance.
@pytest.mark.asyncio(loop_scope="module")
async def test_a_stopped_instance_is_one_alert(city: City) -> None:
    victim = COUNTIES[2]
    west = city.county_servers[victim.prometheus]
    mine = ("instance", victim.instance)

    async def camera_down_firing() -> set[frozenset[tuple[str, str]]]:
        alerts = firing((await west.api("alerts"))["alerts"])
        return alerts if any(mine in a and ("alertname", "CameraDown") in a for a in alerts) else set()

    before = await poll(camera_down_firing, f"CameraDown for the offline camera of {victim.instance}")
    await city.services[victim.county].stop()

    async def settled() -> set[frozenset[tuple[str, str]]]:
        alerts = firing((await west.api("alerts"))["alerts"])
        ours = {dict(a)["alertname"] for a in alerts if mine in a}
        return alerts if ours == {"CamwatchDown"} else set()

    after = await poll(settled, f"only CamwatchDown firing for {victim.instance}")
    assert len(after - before) == 1, after - before  # nothing else starts firing; its area rates stop
    (new,) = after - before
    # (Prometheus adds its external label county_prometheus when it sends the alert, not in its API.)
    assert {"alertname": "CamwatchDown", "job": "camwatch"}.items() <= dict(new).items()
    # The city sees that instance unscraped, and its cameras leave the totals.
    assert await value(city.city, f'up{{job="camwatch", instance="{victim.instance}"}}') == 0

    async def gone() -> bool:
        return not await city.city.query(f'camwatch_camera_up{{instance="{victim.instance}"}}')

    await poll(gone, "the stopped instance's series going stale in the city")
