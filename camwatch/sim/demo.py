"""`camwatch demo`: a simulated fleet on loopback, monitored and exported, and a sample coverage report."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from pathlib import Path
from typing import Any

import yaml

from camwatch.config.load import load_config
from camwatch.glue import build_service, wait_for_stop
from camwatch.monitor.service import Service
from camwatch.sim.fleet import PASSWORD_ENV, Fleet, fleet_password
from camwatch.sim.gb28181_device import (
    DEMO_DOMAIN,
    DEMO_PLATFORM_ID,
    SimGbDevice,
    demo_devices,
    demo_ledger,
)
from camwatch.sim.profiles import AreaSpec, load_spec
from camwatch.sim.recorders import ISAPI_ID, ONVIF_ID

log = logging.getLogger(__name__)

# Faster than production defaults so a person watching sees changes within a minute.
DEMO_MONITOR: dict[str, Any] = {
    "rtsp": {"interval": "10s", "timeout": "3s"},
    "onvif": {"interval": "30s", "timeout": "4s"},
    "video": {"interval": "30s", "timeout": "10s", "duration": "2.5s"},
    "recording": {"interval": "60s", "timeout": "20s"},
    "debounce": {"down_after": 2, "up_after": 1},
    "backoff": {"max_interval": "30s"},
    "clusters": {"window": "60s"},
}
GB_SILENCE_AFTER = 90.0  # seconds until one simulated NVR stops its keepalives
COVERAGE_AFTER = 20.0  # seconds: let the first sweep finish so the report counts cameras that are down
# `camwatch demo --lang zh`: a county seat in China (夏邑县城) on a street grid, with Chinese townships,
# villages, police stations and camera names, and Chinese reports.
ZH_AREA = AreaSpec(bbox=(34.225, 116.115, 34.250, 116.150), county="夏邑县", lang="zh")
ZH_REPORTS = {"timezone": "Asia/Shanghai", "lang": "zh"}
# What the demo prints, per language.
MESSAGES = {
    "en": {
        "fleet": "simulated fleet: {count} cameras on loopback ({origin})",
        "config": "config:   {path}",
        "metrics": "metrics:  {url}/metrics",
        "health": "health:   {url}/healthz",
        "probe": "probe:    {url}/probe?target={camera}",
        "coverage": "coverage: {path} (written in ~{after:.0f} s)",
        "gb": "GB/T 28181: {count} simulated devices register at {listen} (one password wrong)",
        "no_picture": "{count} cameras answer but send no picture: status no_video (在线不出图)",
        "recordings": "recorders: {onvif} (ONVIF Profile G: a recording stopped, one with a gap, one "
        "keeping 6 days) and {isapi} (ISAPI NVR, one failed disk)",
        "events": "a switch outage starts a minute in, an NVR falls silent at 90 s; Ctrl-C stops",
        "report": "coverage report written: {path} ({met}/{of} categories meet their target)",
    },
    "zh": {
        "fleet": "模拟摄像机：{count} 台，位于本机回环地址（{origin}）",
        "config": "配置文件：{path}",
        "metrics": "监测指标：{url}/metrics",
        "health": "健康检查：{url}/healthz",
        "probe": "单台探测：{url}/probe?target={camera}",
        "coverage": "覆盖率报告：{path}（约 {after:.0f} 秒后生成）",
        "gb": "GB/T 28181：{count} 台模拟设备向 {listen} 注册（其中一台密码错误）",
        "no_picture": "{count} 台摄像机在线但不出图：状态 no_video（在线不出图）",
        "recordings": "录像机：{onvif}（ONVIF Profile G：一路录像已停止、一路录像有缺失、"
        "一路只存 6 天）和 {isapi}（ISAPI 硬盘录像机，一块硬盘故障）",
        "events": "一分钟后一台交换机断开，90 秒时一台 NVR 停止心跳；按 Ctrl-C 退出",
        "report": "覆盖率报告已生成：{path}（{of} 个类别中 {met} 个达标）",
    },
}


async def run_demo(
    *,
    count: int | None,
    listen: str,
    out_dir: Path,
    duration: float | None,
    base_address: str = "127.20.0.1",
    lang: str = "en",
) -> None:
    """Serve the fleet and monitor it until Ctrl-C (or ``duration`` seconds); print where to look.
    ``lang`` zh: the Chinese demo, a county seat in China (:data:`ZH_AREA`) with Chinese names."""
    from camwatch.coverage.command import run_coverage, sample_area

    out_dir = Path(out_dir).absolute()
    spec = load_spec(None)
    if lang == "zh":
        spec = spec.model_copy(update={"area": ZH_AREA})
    say = MESSAGES[lang]
    password, origin = fleet_password(out_dir)
    fleet = Fleet(spec, password=password, count=count, base_address=base_address)
    async with fleet:
        coverage = _zh_coverage(spec.area, out_dir) if lang == "zh" else sample_area()
        config_path = fleet.write_config(
            out_dir / "camwatch.yaml",
            listen=listen,
            state=out_dir / "camwatch.db",
            monitor=DEMO_MONITOR,
            coverage=coverage.model_dump(mode="json", exclude_defaults=True),
        )
        if lang == "zh":
            _add_section(config_path, "reports", ZH_REPORTS)
        gb_devices = add_gb28181(config_path, password)
        config = load_config(config_path)
        service = build_service(config)
        await service.start()
        for device in gb_devices:
            await device.start(register=False)
        gb_register = asyncio.gather(*(d.register() for d in gb_devices), return_exceptions=True)
        report_dir = out_dir / "coverage"
        print(say["fleet"].format(count=len(fleet.cameras), origin=origin))
        print(say["config"].format(path=config_path))
        print(say["metrics"].format(url=service.url))
        print(say["health"].format(url=service.url))
        print(say["probe"].format(url=service.url, camera=fleet.cameras[0].id))
        print(say["coverage"].format(path=report_dir / "map.html", after=COVERAGE_AFTER))
        gb_listen = config.gb28181.listen if config.gb28181 else "?"
        print(say["gb"].format(count=len(gb_devices), listen=gb_listen))
        no_picture = sum(c.profile == "no-picture" for c in fleet.cameras)
        if no_picture:
            print(say["no_picture"].format(count=no_picture))
        if fleet.recorders is not None and fleet.recorders.onvif and fleet.recorders.isapi:
            print(say["recordings"].format(onvif=ONVIF_ID, isapi=ISAPI_ID))
        print(say["events"], flush=True)
        silence = asyncio.get_running_loop().call_later(GB_SILENCE_AFTER, _silence, gb_devices[1])
        report = asyncio.create_task(_coverage_report(service, config_path, report_dir, run_coverage, lang))
        try:
            await wait_for_stop(duration)
        finally:
            silence.cancel()
            await gb_register
            for device in gb_devices:
                await device.stop()
            report.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await report
            await service.stop()


def _zh_coverage(area: AreaSpec, out_dir: Path) -> Any:
    """Coverage settings over the Chinese demo's own layers (Chinese columns, road classes and levels)."""
    from camwatch.config.models import CoverageSettings
    from camwatch.sim.zh_layers import write_zh_layers

    roads, areas = write_zh_layers(area, out_dir / "layers")
    return CoverageSettings(roads=roads, areas=areas)


def _add_section(config_path: Path, name: str, section: dict[str, Any]) -> None:
    config = yaml.safe_load(config_path.read_text())
    config[name] = section
    config_path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))


def add_gb28181(config_path: Path, password: str, *, link: bool = True) -> list[SimGbDevice]:
    """Add a ``gb28181:`` section for a few simulated GB/T 28181 devices to the config, and (``link``) ledger
    rows for their channels; without them every channel is one the ledger does not know."""
    port = free_udp_and_tcp_port("127.0.0.1")
    config = yaml.safe_load(config_path.read_text())
    # The devices speak local time in the zone the reports use (their cameras have no timezone column).
    zone = (config.get("reports") or {}).get("timezone", "UTC")
    devices = demo_devices(("127.0.0.1", port), password, timezone=zone)
    config["gb28181"] = {
        "listen": f"127.0.0.1:{port}",
        "id": DEMO_PLATFORM_ID,
        "domain": DEMO_DOMAIN,
        "password_env": PASSWORD_ENV,
        "keepalive": {"interval": "10s", "count": 3},
        "catalog_interval": "2m",
    }
    config_path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    if not link:
        return devices
    ledger = config_path.parent / config["cameras"]
    rows = yaml.safe_load(ledger.read_text())
    rows["cameras"] += demo_ledger(devices)
    ledger.write_text(yaml.safe_dump(rows, sort_keys=False, allow_unicode=True))
    return devices


def free_udp_and_tcp_port(host: str, attempts: int = 50) -> int:
    """A port free for both UDP and TCP on ``host`` (the platform listens on both): a port free for UDP can
    be the local end of some TCP connection."""
    for _ in range(attempts):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((host, 0))
            port: int = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((host, port))
                except OSError:
                    continue
                return port
    raise OSError(f"no port free for both UDP and TCP on {host} after {attempts} tries")


def _silence(device: SimGbDevice) -> None:
    device.keepalives = False


async def _coverage_report(
    service: Service, config_path: Path, out: Path, run_coverage: Any, lang: str = "en"
) -> None:
    await asyncio.sleep(COVERAGE_AFTER)
    await asyncio.to_thread(service.store.flush)
    state = service.store.path
    summary = await asyncio.to_thread(run_coverage, service.config, out, status=state, lang=lang)
    met = sum(1 for c in summary["categories"].values() if c["meets_target"])
    print(
        MESSAGES[lang]["report"].format(path=out / "map.html", met=met, of=len(summary["categories"])),
        flush=True,
    )
