"""The demo's planned switch outage is its only offline cluster in its first three minutes.

The demo's own fleet (``default_fleet.yaml``: every fault profile, flapping cameras, the planned outage) runs
on the real simulator and is watched by the real service with the demo's settings, on a clock compressed
by ``SCALE``: every interval, period, outage time and the cluster window shrink alike, so three demo
minutes take 18 s. Timeouts stay as in the demo (a hanging camera still hangs), ONVIF and video checks are
left out: they never decide whether a camera with a stream is reachable, and cost CPU the test lacks.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import pytest

from camwatch.config.load import load_config
from camwatch.config.models import parse_duration
from camwatch.monitor.service import Service
from camwatch.sim.demo import DEMO_MONITOR
from camwatch.sim.fleet import PASSWORD_ENV, Fleet
from camwatch.sim.profiles import FleetSpec, load_spec, outage_groups
from support.gst_rtsp import unused_port

SCALE = 0.1
DEMO_MINUTES = 3
PASSWORD = "Demo-pw:7@x"


def compressed(spec: FleetSpec) -> FleetSpec:
    return spec.model_copy(
        update={
            "profiles": tuple(p.model_copy(update={"period": p.period * SCALE}) for p in spec.profiles),
            "outages": tuple(
                o.model_copy(update={"at": o.at * SCALE, "duration": o.duration * SCALE})
                for o in spec.outages
            ),
        }
    )


def compressed_monitor() -> dict[str, Any]:
    def seconds(section: str, key: str) -> float:
        return parse_duration(DEMO_MONITOR[section][key]) * SCALE

    return {
        **DEMO_MONITOR,
        "rtsp": {**DEMO_MONITOR["rtsp"], "interval": seconds("rtsp", "interval")},
        "onvif": {**DEMO_MONITOR["onvif"], "interval": 3600},
        "video": {**DEMO_MONITOR["video"], "interval": 3600},
        "backoff": {"max_interval": seconds("backoff", "max_interval")},
        "clusters": {**DEMO_MONITOR["clusters"], "window": seconds("clusters", "window")},
    }


async def test_demo_outage_is_the_only_cluster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    caplog.set_level(logging.INFO, logger="camwatch.monitor.service")
    spec = compressed(load_spec(None))
    fleet = Fleet(spec, password=PASSWORD, base_address="127.47.0.1", onvif=False)
    ((outage, switch),) = outage_groups(spec, fleet.cameras)
    assert outage.label == "switch"
    seen: dict[str, set[str]] = {}
    async with fleet:
        started = time.monotonic()
        config = load_config(
            fleet.write_config(
                tmp_path / "camwatch.yaml",
                listen=f"127.0.0.1:{unused_port()}",
                state=tmp_path / "camwatch.db",
                monitor=compressed_monitor(),
            )
        )
        service = Service(config)
        await service.start()
        try:
            end = started + DEMO_MINUTES * 60 * SCALE
            while time.monotonic() < end:
                service.update_clusters()
                for c in service.clusters:
                    seen.setdefault(c.cluster, set()).update(c.cameras)
                await asyncio.sleep(0.25)
            # The switch is back: its cameras answer again and the cluster ends.
            group = {c.id for c in fleet.cameras if c.switch == switch}
            steady = {c.id for c in fleet.cameras if c.id in group and c.behaviour == "ok"}
            deadline = time.monotonic() + 20

            def back() -> bool:
                service.update_clusters()
                return not service.clusters and all(service.tracker.tracks[c].up for c in steady)

            while not back():
                assert time.monotonic() < deadline, service.clusters
                await asyncio.sleep(0.25)
        finally:
            await service.stop()

    assert set(seen) == {f"switch:{switch}"}, seen
    # Cameras of the switch that answer unless the outage holds them down are all in it, and no other.
    assert steady <= seen[f"switch:{switch}"] <= group

    lines = [r.getMessage() for r in caplog.records]
    starts_and_ends = [x for x in lines if x.startswith("offline cluster ") and " joined " not in x]
    assert len(starts_and_ends) == 2, starts_and_ends
    assert starts_and_ends[0].startswith(f"offline cluster switch:{switch} started: ")
    assert starts_and_ends[1].startswith(f"offline cluster switch:{switch} ended: ")
    # The first camera back is still a member when it changes: its line names the cluster.
    assert any(x.endswith(f"-> ok: stream answers; cluster switch:{switch}") for x in lines)
