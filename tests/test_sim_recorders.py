"""The simulated fleet's recorders (camwatch/sim/recorders.py): the written config and ledger name them, and
the recording check finds in them what the demo promises — over real sockets, through camwatch's clients."""

from __future__ import annotations

from pathlib import Path

import yaml

from camwatch.config.load import load_config
from camwatch.config.models import RecordingSettings
from camwatch.monitor.probes import recording
from camwatch.monitor.probes.base import ProbeContext
from camwatch.sim.fleet import Fleet
from camwatch.sim.profiles import FleetSpec, load_spec

PASSWORD = "Rec-sim-pw1"
SPEC = {
    "count": 14,
    "seed": 5,
    "rtsp_port": 18654,
    "onvif_port": 18180,
    "onvif": False,
    "profiles": [{"name": "healthy"}, {"name": "offline", "count": 2, "behaviour": "offline"}],
    "recorders": {"onvif": 4, "isapi": 2, "failed_disk": True},
}


async def test_fleet_recorders_hold_the_demo_faults(tmp_path: Path) -> None:
    async with Fleet(FleetSpec.model_validate(SPEC), password=PASSWORD, base_address="127.33.0.1") as fleet:
        path = fleet.write_config(tmp_path / "camwatch.yaml", state="state.db")
        assert PASSWORD not in path.read_text() + (tmp_path / "cameras.yaml").read_text()
        assert [r["kind"] for r in yaml.safe_load(path.read_text())["recorders"]] == ["onvif", "isapi"]
        config = load_config(path, environ={"CAMWATCH_PASSWORD": PASSWORD})
        recorded = [c for c in config.cameras if c.recorder is not None]
        assert len(recorded) == 6
        offline = {c.id for c in fleet.cameras if c.behaviour == "offline"}
        assert not offline & {c.id for c in recorded}  # healthy cameras only
        ctx = ProbeContext(settings=RecordingSettings(timeout=20))
        found = {c.id: await recording.probe(c, ctx) for c in recorded}
    faults = [(c.recorder.id, found[c.id].status, found[c.id].faults) for c in recorded if c.recorder]
    assert faults == [
        ("nvr-g1", "ok", ("recording_stopped",)),
        ("nvr-g1", "ok", ("recording_gaps",)),
        ("nvr-g1", "ok", ("retention_short",)),
        ("nvr-g1", "ok", ()),
        ("nvr-h1", "ok", ("storage_fault",)),
        ("nvr-h1", "ok", ("storage_fault",)),
    ]


def test_the_default_fleet_has_recorders() -> None:
    spec = load_spec(None)
    assert spec.recorders is not None and spec.recorders.onvif >= 3 and spec.recorders.failed_disk
