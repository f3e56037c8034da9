"""`camwatch demo`: a simulated fleet on loopback, monitored and exported, and a sample coverage report."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

from camwatch.config.load import load_config
from camwatch.glue import coverage_factory, wait_for_stop
from camwatch.monitor.service import Service
from camwatch.sim.fleet import Fleet, fleet_password
from camwatch.sim.profiles import load_spec

log = logging.getLogger(__name__)

# Faster than production defaults so a person watching sees changes within a minute.
DEMO_MONITOR: dict[str, Any] = {
    "rtsp": {"interval": "10s", "timeout": "3s"},
    "onvif": {"interval": "30s", "timeout": "4s"},
    "video": {"interval": "30s", "timeout": "10s", "duration": "2.5s"},
    "debounce": {"down_after": 2, "up_after": 1},
    "backoff": {"max_interval": "30s"},
    "clusters": {"window": "60s"},
}
COVERAGE_AFTER = 20.0  # seconds: let the first sweep finish so the report counts cameras that are down


async def run_demo(
    *, count: int | None, listen: str, out_dir: Path, duration: float | None, base_address: str = "127.20.0.1"
) -> None:
    """Serve the fleet and monitor it until Ctrl-C (or ``duration`` seconds); print where to look."""
    from camwatch.coverage.command import run_coverage, sample_area

    out_dir = Path(out_dir).absolute()
    spec = load_spec(None)
    password, origin = fleet_password(out_dir)
    fleet = Fleet(spec, password=password, count=count, base_address=base_address)
    async with fleet:
        config_path = fleet.write_config(
            out_dir / "camwatch.yaml",
            listen=listen,
            state=out_dir / "camwatch.db",
            monitor=DEMO_MONITOR,
            coverage=sample_area().model_dump(mode="json", exclude_defaults=True),
        )
        config = load_config(config_path)
        service = Service(config, loader=load_config, coverage_factory=coverage_factory())
        await service.start()
        report_dir = out_dir / "coverage"
        print(f"simulated fleet: {len(fleet.cameras)} cameras on loopback ({origin})")
        print(f"config:   {config_path}")
        print(f"metrics:  {service.url}/metrics")
        print(f"health:   {service.url}/healthz")
        print(f"probe:    {service.url}/probe?target={fleet.cameras[0].id}")
        print(f"coverage: {report_dir / 'map.html'} (written in ~{COVERAGE_AFTER:.0f} s)")
        print("a switch outage starts a minute in; Ctrl-C stops", flush=True)
        report = asyncio.create_task(_coverage_report(service, config_path, report_dir, run_coverage))
        try:
            await wait_for_stop(duration)
        finally:
            report.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await report
            await service.stop()


async def _coverage_report(service: Service, config_path: Path, out: Path, run_coverage: Any) -> None:
    await asyncio.sleep(COVERAGE_AFTER)
    await asyncio.to_thread(service.store.flush)
    state = service.store.path
    summary = await asyncio.to_thread(run_coverage, service.config, out, status=state)
    met = sum(1 for c in summary["categories"].values() if c["meets_target"])
    print(
        f"coverage report written: {out / 'map.html'} ({met}/{len(summary['categories'])} categories "
        "meet their target)",
        flush=True,
    )
