"""Dashboards: the committed JSON is generated and well formed; every panel query returns data."""

import base64
import json
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import pytest_asyncio
import yaml
from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from camwatch.config.models import Gb28181Settings
from camwatch.dashboards import _links
from camwatch.dashboards.generate import DASHBOARDS, HERE, generated_files, stale_files
from camwatch.dashboards.generate import main as generate_main
from camwatch.monitor.gb28181.metrics import Gb28181Collector
from camwatch.monitor.gb28181.platform import Channel, Device, Platform
from camwatch.sim.gb28181_device import channel_ids
from support.prometheus import Prometheus, running_prometheus, write_config

REPO = HERE.parent
RULES = HERE / "rules" / "camwatch.rules.yml"
GRAFANA = HERE / "grafana"
LANG_GRAFANA = {"en": GRAFANA, "zh": HERE / "zh" / "grafana"}
# What Grafana substitutes for its built-in interval variables.
BUILTINS = {"__range": "1h", "__rate_interval": "1m", "__interval": "15s"}


@dataclass(frozen=True)
class FakeCamera:
    """One camera of the metrics fixture, with what its probes found."""

    id: str
    county: str
    township: str
    village: str
    status: str
    lat: float
    lon: float
    fault: str | None = None
    maintenance: bool = False
    cluster: str | None = None
    priority: bool = False

    @property
    def up(self) -> bool:
        return self.status not in ("offline", "timeout", "auth_failed", "error")


FLEET = (
    FakeCamera("xy-001", "Xiayi", "Chengguan", "Dongguan", "ok", 34.237, 116.131, priority=True),
    FakeCamera("xy-002", "Xiayi", "Chengguan", "Dongguan", "frozen", 34.238, 116.133, fault="frozen"),
    FakeCamera("xy-003", "Xiayi", "Chengguan", "Xiguan", "ok", 34.236, 116.120),
    FakeCamera(
        "xy-004", "Xiayi", "Chengguan", "Xiguan", "offline", 34.235, 116.121, cluster="switch:sw-xg-1"
    ),
    FakeCamera(
        "xy-005", "Xiayi", "Chengguan", "Xiguan", "timeout", 34.235, 116.122, cluster="switch:sw-xg-1"
    ),
    FakeCamera(
        "xy-006", "Xiayi", "Chengguan", "Xiguan", "offline", 34.234, 116.123, cluster="switch:sw-xg-1"
    ),
    FakeCamera("xy-007", "Xiayi", "Kongzhuang", "Liuzhuang", "black", 34.301, 116.050, fault="black"),
    FakeCamera("xy-008", "Xiayi", "Kongzhuang", "Liuzhuang", "offline", 34.302, 116.051, maintenance=True),
    FakeCamera("yc-001", "Yongcheng", "Yanji", "Yanji", "ok", 33.930, 116.450),
    FakeCamera("yc-002", "Yongcheng", "Yanji", "Yanji", "blurred", 33.931, 116.452, fault="blurred"),
    FakeCamera("yc-003", "Yongcheng", "Yanji", "Zhuji", "auth_failed", 33.940, 116.460),
)
FLAPPING = "yc-001"
COVERAGE = {
    ("Chengguan", "school"): (1.0, 0.9),
    ("Chengguan", "key_road"): (0.97, 0.95),
    ("Yanji", "village_road"): (0.93, 0.8),
}
TARGETS = {"school": 1.0, "key_road": 1.0, "village_road": 0.9}
LATENESS_BUCKETS = (0.1, 0.5, 1.0, 5.0)
DAY = 86400.0
# The recording check's findings: camera -> (retention, target, newest footage age, gaps, footage in 24 h,
# fault); and the recorders' disks: (recorder, disk) -> (ok, capacity, free).
RECORDINGS = {
    "xy-001": (40 * DAY, 30 * DAY, 20.0, 0.0, DAY - 20.0, None),
    "xy-003": (40 * DAY, 30 * DAY, 3 * 3600.0, 0.0, DAY - 3 * 3600.0, "recording_stopped"),
    "yc-001": (40 * DAY, 30 * DAY, 10.0, 1.0, DAY - 1200.0, "recording_gaps"),
    "yc-002": (6 * DAY, 90 * DAY, 10.0, 0.0, DAY - 10.0, "retention_short"),
}
DISKS = {
    ("nvr-1", "hdd1"): (1, 4e12, 2e9),
    ("nvr-1", "hdd2"): (0, 4e12, 0.0),
    ("nvr-g", "SD1"): (1, None, None),
}


INFO_LABELS = (
    *("camera", "name", "site", "county", "township", "village", "switch", "fibre", "power"),
    *("lat", "lon", "tier", "priority", "vendor", "model", "police_station"),
)
# The 派出所 of each township's cameras; Yongcheng's ledger names none.
POLICE_STATIONS = {"Chengguan": "Chengguan PS", "Kongzhuang": "Kongzhuang PS"}


def gauge(name: str, *labels: str) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, name.removeprefix("camwatch_").replace("_", " "), labels=list(labels))


class FleetCollector:
    """Builds camwatch's metrics for FLEET afresh at each scrape; counters grow with the scrape count."""

    def __init__(self) -> None:
        self.scrapes = 0
        self.started = time.time() - 600

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Iterator[Any]:
        self.scrapes += 1
        now = time.time()
        info = gauge("camwatch_camera_info", *INFO_LABELS)
        up = gauge("camwatch_camera_up", "camera")
        status = gauge("camwatch_camera_status", "camera", "status")
        maintenance = gauge("camwatch_camera_maintenance", "camera")
        changed = gauge("camwatch_camera_last_change_timestamp_seconds", "camera")
        fault = gauge("camwatch_video_fault", "camera", "fault")
        video = {
            name: gauge(f"camwatch_video_{name}", "camera")
            for name in ("fps", "luma", "sharpness", "decode_error_ratio")
        }
        stills = {n: gauge(f"camwatch_snapshot_{n}", "camera") for n in ("luma", "sharpness", "scene_match")}
        clock = gauge("camwatch_onvif_clock_offset_seconds", "camera")
        event = gauge("camwatch_camera_event", "camera", "event")  # what the camera's own analytics say
        success = gauge("camwatch_probe_success", "camera", "probe")
        duration = gauge("camwatch_probe_duration_seconds", "camera", "probe")
        last = gauge("camwatch_probe_last_timestamp_seconds", "camera", "probe")
        flaps = CounterMetricFamily("camwatch_camera_flaps", "flaps", labels=["camera"])
        in_cluster = gauge("camwatch_camera_cluster", "camera", "cluster")
        for number, cam in enumerate(FLEET):
            switch = "sw-xg-1" if cam.cluster else f"sw-{cam.village.lower()}"
            ledger = [f"camera {cam.id}", f"{cam.village} square", cam.county, cam.township, cam.village]
            place = [switch, "f-1", "p-1", str(cam.lat), str(cam.lon), "township", str(cam.priority).lower()]
            station = POLICE_STATIONS.get(cam.township, "")
            info.add_metric([cam.id, *ledger, *place, "hikvision", "DS-2CD", station], 1)
            up.add_metric([cam.id], float(cam.up))
            status.add_metric([cam.id, cam.status], 1)
            maintenance.add_metric([cam.id], float(cam.maintenance))
            changed.add_metric([cam.id], self.started + 60 * number)
            if cam.fault:  # as camwatch exports them: only faults present
                fault.add_metric([cam.id, cam.fault], 1)
            if cam.up:
                video["fps"].add_metric([cam.id], 25.0)
                video["luma"].add_metric([cam.id], 4.0 if cam.fault == "black" else 118.0)
                video["sharpness"].add_metric([cam.id], 12.0 if cam.fault == "blurred" else 340.0)
                video["decode_error_ratio"].add_metric([cam.id], 0.0)
                clock.add_metric([cam.id], 1.5)
                event.add_metric([cam.id, "tamper"], 0.0)
                event.add_metric([cam.id, "too_blurry"], float(cam.fault == "blurred"))
                stills["luma"].add_metric([cam.id], 4.0 if cam.fault == "black" else 120.0)
                stills["sharpness"].add_metric([cam.id], 12.0 if cam.fault == "blurred" else 360.0)
                stills["scene_match"].add_metric([cam.id], 0.9)
            for probe in ("rtsp", "onvif"):
                success.add_metric([cam.id, probe], float(cam.up))
                duration.add_metric([cam.id, probe], 0.05 + 0.01 * number)
                last.add_metric([cam.id, probe], now - number)
            flaps.add_metric([cam.id], float(self.scrapes if cam.id == FLAPPING else 0))
            if cam.cluster:
                in_cluster.add_metric([cam.id, cam.cluster], 1)
            if (recording_fault := RECORDINGS.get(cam.id, (None,))[-1]) is not None:
                fault.add_metric([cam.id, recording_fault], 1)
        yield from (
            info,
            up,
            status,
            maintenance,
            changed,
            fault,
            *video.values(),
            *stills.values(),
            clock,
            event,
            success,
            duration,
            last,
        )
        yield from (flaps, in_cluster)
        yield from self._recordings()
        yield from self._service()

    def _recordings(self) -> Iterator[Any]:
        names = (
            "retention_seconds",
            "retention_target_seconds",
            "last_age_seconds",
            "gaps_24h",
            "seconds_24h",
        )
        values = {n: gauge(f"camwatch_recording_{n}", "camera") for n in names}
        for camera, (*found, _) in RECORDINGS.items():
            for name, value in zip(names, found, strict=True):
                values[name].add_metric([camera], value)
        ok = gauge("camwatch_recorder_disk_ok", "recorder", "disk")
        size = gauge("camwatch_recorder_disk_bytes", "recorder", "disk", "kind")
        for (recorder, disk), (state, capacity, free) in DISKS.items():
            ok.add_metric([recorder, disk], state)
            for kind, value in (("capacity", capacity), ("free", free)):
                if value is not None:
                    size.add_metric([recorder, disk, kind], value)
        yield from (*values.values(), ok, size)

    def _service(self) -> Iterator[Any]:
        down = [cam for cam in FLEET if cam.cluster]
        clusters = gauge("camwatch_offline_cluster_cameras", "cluster")
        clusters.add_metric(["switch:sw-xg-1"], len(down))
        yield clusters
        cluster_info = gauge("camwatch_offline_cluster_info", "cluster", "kind", "key", "county", "township")
        cluster_info.add_metric(["switch:sw-xg-1", "switch", "sw-xg-1", "Xiayi", "Chengguan"], 1)
        yield cluster_info
        probes = CounterMetricFamily("camwatch_probes", "probes", labels=["probe", "result"])
        for probe in ("rtsp", "onvif"):
            probes.add_metric([probe, "success"], 8.0 * self.scrapes)
            probes.add_metric([probe, "failure"], 3.0 * self.scrapes)
        yield probes
        lateness = HistogramMetricFamily("camwatch_scheduler_lateness_seconds", "lateness")
        cumulative = [(str(bound), float(self.scrapes * (i + 2))) for i, bound in enumerate(LATENESS_BUCKETS)]
        total = float(self.scrapes * (len(LATENESS_BUCKETS) + 2))
        lateness.add_metric([], [*cumulative, ("+Inf", total)], sum_value=0.3 * total)
        yield lateness
        reload = gauge("camwatch_config_last_reload_successful")
        reload.add_metric([], 1)
        yield reload
        online_target = gauge("camwatch_online_target")
        online_target.add_metric([], 0.95)
        yield online_target
        ratio = gauge("camwatch_coverage_ratio", "area", "category")
        effective = gauge("camwatch_coverage_effective_ratio", "area", "category")
        for (area, category), (design, up) in COVERAGE.items():
            ratio.add_metric([area, category], design)
            effective.add_metric([area, category], up)
        target = gauge("camwatch_coverage_target_ratio", "category")
        for category, value in TARGETS.items():
            target.add_metric([category], value)
        yield from (ratio, effective, target)


GB_NVR = "34020000001180000001"
GB_SILENT = "34020000002000000002"


def gb28181_platform() -> Platform:
    """GB/T 28181 devices as camwatch's platform holds them, exported by its own collector: an NVR keeping
    alive with one channel OFF, two channels no ledger camera links and a clock 1.2 s fast, and a lower
    platform silent past its keepalive deadline (all its channels down)."""
    platform = Platform(Gb28181Settings(id="34020000002000000001", domain="3402000000"))
    now = time.time()
    nvr = Device(GB_NVR, registered=True, online=True, last_keepalive=now - 20, unknown=2, clock_offset=1.2)
    silent = Device(GB_SILENT, registered=True, online=False, last_keepalive=now - 400)
    for device, count in ((nvr, 8), (silent, 4)):
        for n, cid in enumerate(channel_ids(device.id, count), 1):
            device.channels[cid] = Channel(cid, status=n != 3)
    platform.devices = {nvr.id: nvr, silent.id: silent}
    return platform


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def prometheus(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Prometheus]:
    """A real Prometheus scraping the fleet fixture every second with camwatch's rules loaded."""
    registry = CollectorRegistry()
    registry.register(FleetCollector())
    registry.register(Gb28181Collector(gb28181_platform()))

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(registry), content_type="text/plain")

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    workdir = tmp_path_factory.mktemp("prometheus")
    config = write_config(workdir / "prometheus.yml", targets=[f"{host}:{port}"], rule_files=[RULES])
    try:
        async with running_prometheus(workdir, config) as server:
            # Range functions need a few samples, and recording rules a few evaluations.
            await server.wait_for('count_over_time(up{job="camwatch"}[1m]) >= 4')
            await server.wait_for("count_over_time(fleet:camwatch_camera_online:ratio[1m]) >= 3")
            yield server
    finally:
        await runner.cleanup()


def load(name: str, lang: str = "en") -> dict[str, Any]:
    return dict(json.loads((LANG_GRAFANA[lang] / name).read_text(encoding="utf-8")))


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in dashboard["panels"] if p["type"] != "row"]


def test_committed_files_are_what_the_code_generates() -> None:
    assert stale_files() == []
    check = subprocess.run(
        [sys.executable, "-m", "camwatch.dashboards.generate", "--check"], capture_output=True
    )
    assert check.returncode == 0, check.stderr.decode()


def test_check_reports_a_hand_edited_dashboard(tmp_path: Path) -> None:
    assert generate_main(["--out", str(tmp_path)]) == 0
    assert stale_files(tmp_path) == []
    for edited in (
        tmp_path / "grafana" / "coverage.json",
        tmp_path / "zh" / "grafana" / "camera-detail.json",
    ):
        edited.write_text(edited.read_text(encoding="utf-8").replace("camwatch", "camwatch!"), "utf-8")
    assert stale_files(tmp_path) == [Path("grafana") / "coverage.json", Path("zh/grafana/camera-detail.json")]


def test_generate_writes_one_language_into_the_folder_given(tmp_path: Path) -> None:
    assert generate_main(["--lang", "zh", "--out", str(tmp_path)]) == 0
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert written == sorted(str(p) for p in generated_files(lang="zh"))
    for path, text in generated_files(lang="zh").items():
        assert (tmp_path / path).read_text("utf-8") == text == (HERE / "zh" / path).read_text("utf-8")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_panel_has_the_datasource_and_targets(lang: str) -> None:
    suffix = "-zh" if lang == "zh" else ""
    uids = {load(name, lang)["uid"] for name in DASHBOARDS}
    bases = {_links.FLEET_UID, _links.AREA_UID, _links.CAMERA_UID, _links.COVERAGE_UID}
    assert uids == {uid + suffix for uid in bases}
    for name in DASHBOARDS:
        dashboard = load(name, lang)
        assert dashboard["templating"]["list"][0]["name"] == "datasource"
        ids = [p["id"] for p in dashboard["panels"]]
        assert len(ids) == len(set(ids)), name
        for p in panels(dashboard):
            where = f"{name}: {p['title']}"
            assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, where
            assert p["targets"], where
            assert all(t["expr"].strip() for t in p["targets"]), where
            assert len({t["refId"] for t in p["targets"]}) == len(p["targets"]), where
            assert p["gridPos"]["x"] + p["gridPos"]["w"] <= 24, where


CJK = re.compile(r"[\u4e00-\u9fff]")


def test_chinese_dashboards_query_as_the_english_ones_in_chinese() -> None:
    """Same queries, variables and layout; titles, descriptions, legends, columns and states in Chinese,
    links to the Chinese dashboards, so both languages provision side by side."""
    for name in DASHBOARDS:
        en, zh = load(name), load(name, "zh")
        assert zh["title"] != en["title"] and CJK.search(zh["title"]), name
        assert zh["tags"] == ["camwatch-zh"] and zh["links"][0]["tags"] == ["camwatch-zh"]
        assert [v.get("query") for v in zh["templating"]["list"]] == [
            v.get("query") for v in en["templating"]["list"]
        ]
        assert [p["gridPos"] for p in zh["panels"]] == [p["gridPos"] for p in en["panels"]]
        for en_panel, zh_panel in zip(panels(en), panels(zh), strict=True):
            where = f"{name}: {en_panel['title']}"
            assert [t["expr"] for t in zh_panel["targets"]] == [t["expr"] for t in en_panel["targets"]], where
            assert CJK.search(zh_panel["title"]) or zh_panel["title"] == en_panel["title"] == "GB/T 28181", (
                where
            )
            if en_panel.get("description"):
                assert CJK.search(zh_panel["description"]), where
            for en_target, zh_target in zip(en_panel["targets"], zh_panel["targets"], strict=True):
                legend = re.sub(r"\{\{.*?\}\}", "", en_target.get("legendFormat", ""))
                if re.search(r"[a-z]", legend):
                    assert CJK.search(zh_target["legendFormat"]), where
        if name == "area-drilldown.json":
            links = json.dumps(zh, ensure_ascii=False)
            assert "/d/camwatch-camera?" not in links and "/d/camwatch-camera-zh?" in links


def test_geomap_colours_cameras_by_state_at_their_ledger_position() -> None:
    (geomap,) = [p for p in panels(load("area-drilldown.json")) if p["type"] == "geomap"]
    (layer,) = geomap["options"]["layers"]
    assert layer["location"] == {"mode": "coords", "latitude": "lat", "longitude": "lon"}
    assert layer["config"]["style"]["color"]["field"] == "Value"
    mappings = geomap["fieldConfig"]["defaults"]["mappings"]
    texts = {result["text"] for mapping in mappings for result in mapping["options"].values()}
    assert texts == {"down", "video fault", "ok", "maintenance"}


# Grafana's Geomap base layers that fetch tiles from the internet (default: CARTO or the server's setting).
INTERNET_BASEMAPS = {"default", "carto", "esri-xyz", "osm-standard"}


def geomap_bases(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """The base layer of every Geomap panel, plus any tile layer among its data layers."""
    maps = [p for p in panels(dashboard) if p["type"] == "geomap"]
    return [m["options"]["basemap"] for m in maps] + [
        layer for m in maps for layer in m["options"]["layers"] if layer["type"] not in ("markers", "heatmap")
    ]


def test_geomap_base_loads_no_internet_tiles_by_default() -> None:
    bases = [base for name in DASHBOARDS for base in geomap_bases(load(name))]
    assert bases and not {base["type"] for base in bases} & INTERNET_BASEMAPS
    for base in bases:
        assert base["type"] == "xyz"
        url = base["config"]["url"]
        # One tile given inline: no server is asked, and it draws nothing (fully transparent).
        assert url.startswith("data:image/png;base64,") and "{" not in url
        tile = cv2.imdecode(
            np.frombuffer(base64.b64decode(url.split(",", 1)[1]), np.uint8), cv2.IMREAD_UNCHANGED
        )
        assert tile is not None and tile.shape[:2] == (1, 1) and int(tile[..., -1].max()) == 0


def test_generate_writes_a_local_tile_server_as_the_geomap_base(tmp_path: Path) -> None:
    tiles = "http://10.1.2.3/tiles/{z}/{x}/{y}.png"
    args = ["--out", str(tmp_path), "--basemap-tiles", tiles, "--basemap-attribution", "县局测绘"]
    assert generate_main(args) == 0
    (base,) = geomap_bases(json.loads((tmp_path / "grafana" / "area-drilldown.json").read_text("utf-8")))
    assert base == {"type": "xyz", "name": "Basemap", "config": {"url": tiles, "attribution": "县局测绘"}}
    # Only the map's base differs from the committed files; nothing was written into the package.
    for path in generated_files():
        same = (tmp_path / path).read_text("utf-8") == (HERE / path).read_text("utf-8")
        assert same == (path.name != "area-drilldown.json"), path
    assert stale_files() == []
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "camwatch.dashboards.generate",
            "--out",
            str(tmp_path),
            "--basemap-tiles",
            "x/{z}",
        ],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2
    assert bad.stderr.splitlines()[-1].endswith(
        "argument --basemap-tiles: tile URL scheme must be http or https, got 'x/{z}'"
    )


# Variables a fleet may give no values for: a ledger without 所属派出所 has no police_station label.
OPTIONAL_VARIABLES = {"police_station"}


def substitute(expr: str, values: dict[str, str]) -> str:
    """``expr`` with ``$name`` and ``${name}`` replaced as Grafana would."""
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: {**BUILTINS, **values}[m.group(1) or m.group(2)], expr)


async def resolve_variables(
    dashboard: dict[str, Any], server: Prometheus, *, pick_all: bool
) -> dict[str, str]:
    """Each variable's value, in order, the way Grafana fills them: queries through Prometheus' label API."""
    values: dict[str, str] = {}
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "textbox":
            values[variable["name"]] = variable["query"]
        elif variable["type"] == "query":
            match = re.fullmatch(r"label_values\((.+), (\w+)\)", variable["query"])
            assert match, variable["query"]
            options = await server.label_values(match.group(2), match=substitute(match.group(1), values))
            if not options and variable["name"] in OPTIONAL_VARIABLES:
                # Grafana still offers All (first, so picked): every camera, station or none.
                values[variable["name"]] = variable["allValue"]
                continue
            assert options, f"{dashboard['uid']}: no values for ${variable['name']}"
            values[variable["name"]] = (
                variable["allValue"] if pick_all and variable["includeAll"] else options[0]
            )
    return values


async def queries_without_data(
    dashboard: dict[str, Any], choices: Sequence[dict[str, str]], server: Prometheus
) -> list[str]:
    """Every panel query of ``dashboard`` that ``server`` answers empty with its variables set to each of
    ``choices`` (e.g. a camera page shown for a video camera and for a still-picture camera)."""
    empty = []
    for p in panels(dashboard):
        for target in p["targets"]:
            for values in choices:
                expr = substitute(target["expr"], values)
                if target.get("instant"):
                    result = await server.query(expr)
                else:
                    result = await server.query_range(expr, seconds=60, step=5)
                if result:
                    break
            else:
                empty.append(f"{p['title']} [{target['refId']}]: {expr}")
    return empty


async def without_station_rankings(empty: list[str], server: Prometheus) -> list[str]:
    """``empty`` (from :func:`queries_without_data`) less the police-station rankings where no ledger names a
    派出所: they have nothing to rank (the fleet fixture here has stations; simulated fleets have none)."""
    if await server.label_values("police_station"):
        return empty
    return [query for query in empty if "police_station:camwatch_" not in query]


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("pick_all", [False, True], ids=["first-value", "all"])
@pytest.mark.parametrize("name", list(DASHBOARDS))
async def test_every_panel_query_returns_data(prometheus: Prometheus, name: str, pick_all: bool) -> None:
    dashboard = load(name)
    values = await resolve_variables(dashboard, prometheus, pick_all=pick_all)
    empty = await queries_without_data(dashboard, [values], prometheus)
    assert empty == [], f"{name} with {values}: queries without data"


@pytest.mark.asyncio(loop_scope="module")
async def test_rules_evaluate_without_error(prometheus: Prometheus) -> None:
    groups = await prometheus.rule_groups()
    assert {g["name"] for g in groups} == {"camwatch.records", "camwatch.alerts"}
    broken = [(r["name"], r.get("lastError")) for g in groups for r in g["rules"] if r["health"] != "ok"]
    assert broken == []


@pytest.mark.asyncio(loop_scope="module")
async def test_recorded_rates_match_the_fleet(prometheus: Prometheus) -> None:
    monitored = [cam for cam in FLEET if not cam.maintenance]
    online = [cam for cam in monitored if cam.up]
    working = [cam for cam in online if cam.fault is None]
    (fleet_online,) = await prometheus.query("fleet:camwatch_camera_online:ratio")
    (fleet_working,) = await prometheus.query("fleet:camwatch_camera_working:ratio")
    assert float(fleet_online["value"][1]) == pytest.approx(len(online) / len(monitored))
    assert float(fleet_working["value"][1]) == pytest.approx(len(working) / len(monitored))
    townships = await prometheus.query("township:camwatch_cameras_monitored:count")
    counted = {(s["metric"]["county"], s["metric"]["township"]): float(s["value"][1]) for s in townships}
    expected: dict[tuple[str, str], float] = {}
    for cam in monitored:
        expected[(cam.county, cam.township)] = expected.get((cam.county, cam.township), 0) + 1
    assert counted == expected


@pytest.mark.asyncio(loop_scope="module")
async def test_cluster_alert_and_member_camera_alerts_carry_the_cluster(prometheus: Prometheus) -> None:
    alerts = (await prometheus.api("alerts"))["alerts"]
    clusters = [a["labels"] for a in alerts if a["labels"]["alertname"] == "OfflineCluster"]
    assert clusters == [
        {
            "alertname": "OfflineCluster",
            "severity": "critical",
            "cluster": "switch:sw-xg-1",
            "kind": "switch",
            "key": "sw-xg-1",
            "county": "Xiayi",
            "township": "Chengguan",
            "instance": clusters[0]["instance"],
            "job": "camwatch",
        }
    ]
    down = {
        a["labels"]["camera"]: a["labels"].get("cluster")
        for a in alerts
        if a["labels"]["alertname"] == "CameraDown"
    }
    # xy-008 is under maintenance; yc-003 is down alone.
    assert down == {
        "xy-004": "switch:sw-xg-1",
        "xy-005": "switch:sw-xg-1",
        "xy-006": "switch:sw-xg-1",
        "yc-003": None,
    }


def test_alert_links_point_at_generated_dashboards() -> None:
    uids = {load(name)["uid"] for name in DASHBOARDS}
    rules = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    for rule in (r for g in rules["groups"] for r in g["rules"] if "alert" in r):
        match = re.match(r"/d/([\w-]+)", rule["annotations"]["dashboard_url"])
        assert match and match.group(1) in uids, rule["alert"]


def _mounts(service: dict[str, Any]) -> dict[str, Path]:
    """Container path → host path of a compose service's bind mounts."""
    mounts = {}
    for volume in service.get("volumes", []):
        host, container, *_ = volume.split(":")
        if host.startswith("."):
            mounts[container] = REPO / host
    return mounts


def _host_path(mounts: dict[str, Path], container_path: str) -> Path:
    for container, host in mounts.items():
        if container_path == container or container_path.startswith(container.rstrip("/") + "/"):
            return host / Path(container_path).relative_to(container)
    raise AssertionError(f"{container_path} is not mounted")


def test_compose_mounts_exist_and_wire_the_services_together() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert set(services) == {"camwatch", "prometheus", "alertmanager", "grafana"}
    assert (REPO / services["camwatch"]["build"] / "Dockerfile").is_file()
    for name, service in services.items():
        for host in _mounts(service).values():
            assert host.exists(), f"{name} mounts missing {host}"
    prometheus_mounts = _mounts(services["prometheus"])
    config = yaml.safe_load(_host_path(prometheus_mounts, "/etc/prometheus/prometheus.yml").read_text())
    assert [_host_path(prometheus_mounts, f).resolve() for f in config["rule_files"]] == [RULES.resolve()]
    scraped = {
        t.split(":")[0]
        for job in config["scrape_configs"]
        for s in job["static_configs"]
        for t in s["targets"]
    }
    alerting = {
        t.split(":")[0]
        for a in config["alerting"]["alertmanagers"]
        for s in a["static_configs"]
        for t in s["targets"]
    }
    assert scraped == {"camwatch"} and alerting == {"alertmanager"}
    grafana_mounts = _mounts(services["grafana"])
    provider_dir = _host_path(grafana_mounts, "/etc/grafana/provisioning/dashboards")
    (provider,) = yaml.safe_load((provider_dir / "camwatch.yml").read_text())["providers"]
    dashboards_dir = _host_path(grafana_mounts, provider["options"]["path"])
    assert sorted(p.name for p in dashboards_dir.glob("*.json")) == sorted(DASHBOARDS)
    datasource_dir = _host_path(grafana_mounts, "/etc/grafana/provisioning/datasources")
    (datasource,) = yaml.safe_load((datasource_dir / "camwatch.yml").read_text())["datasources"]
    assert datasource["type"] == "prometheus" and datasource["url"] == "http://prometheus:9090"


@pytest.mark.asyncio(loop_scope="module")
async def test_gb28181_device_table_shows_each_device_as_the_platform_has_it(prometheus: Prometheus) -> None:
    fleet = panels(load("fleet-overview.json"))
    (device_table,) = [p for p in fleet if p["title"] == "GB/T 28181 devices"]
    (_, organize) = device_table["transformations"]
    columns = {}
    for target in device_table["targets"]:
        name = organize["options"]["renameByName"][f"Value #{target['refId']}"]
        rows = await prometheus.query(target["expr"])
        columns[name] = {r["metric"]["device"]: round(float(r["value"][1]), 1) for r in rows}
    assert columns["State"] == {GB_NVR: 1, GB_SILENT: 0}
    assert columns["Channels up"] == {GB_NVR: 7, GB_SILENT: 0}
    assert columns["Channels down"] == {GB_NVR: 1, GB_SILENT: 4}
    assert columns["Unknown channels"] == {GB_NVR: 2, GB_SILENT: 0}
    assert columns["Clock offset"] == {GB_NVR: 1.2}  # only devices that answered DeviceStatus
    assert 20 <= columns["Since keepalive"][GB_NVR] < columns["Since keepalive"][GB_SILENT]
