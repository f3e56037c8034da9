"""Reboot and replacement detection from ONVIF device identity, end to end with the ONVIF simulator."""

from __future__ import annotations

import sqlite3

from camwatch.config.models import Config, MonitorSettings
from camwatch.monitor.identity import Identity, identity_events, track_identity
from camwatch.monitor.probes.base import ProbeResult
from camwatch.monitor.service import Service
from support.cameras import make_camera
from support.gst_rtsp import unused_port


def onvif(serial: str, offset: float, firmware: str = "V5.7") -> dict[str, ProbeResult]:
    return {
        "onvif": ProbeResult(
            "onvif",
            True,
            "ok",
            0.01,
            values={"clock_offset_seconds": offset},
            details={"serial": serial, "firmware": firmware},
        )
    }


def test_events_between_sightings():
    known: dict[str, Identity] = {}
    assert track_identity(known, "c", onvif("SN1", 0.4)) == []
    assert track_identity(known, "c", onvif("SN1", 1.0)) == []  # drift, not a reset
    assert [k for k, _ in track_identity(known, "c", onvif("SN1", -1.7e9))] == ["clock_reset"]
    assert [k for k, _ in track_identity(known, "c", onvif("SN1", -1.7e9, "V5.8"))] == ["firmware_changed"]
    replaced = track_identity(known, "c", onvif("SN2", 0.0))
    assert replaced == [("replaced", {"old_serial": "SN1", "new_serial": "SN2"})]
    failed = {"onvif": ProbeResult("onvif", False, "timeout", 5.0)}
    assert track_identity(known, "c", failed) == [] and known["c"].serial == "SN2"
    assert identity_events(None, Identity("x", "", None)) == []


async def test_replacement_survives_restart_and_is_recorded(tmp_path):
    from camwatch.sim.onvif_device import OnvifDevice, serve_devices

    port = unused_port()
    device = OnvifDevice(host="127.0.0.1", port=port, username="admin", password="pw", serial="SN-OLD")
    cam = make_camera(id="c1", onvif_host="127.0.0.1", onvif_port=port, username="admin", password="pw")
    cfg = Config(
        source=tmp_path / "camwatch.yaml",
        cameras=(cam,),
        monitor=MonitorSettings(listen=f"127.0.0.1:{unused_port()}", state=tmp_path / "s.db"),
    )
    async with serve_devices([device]):
        svc = Service(cfg)
        await svc.start()
        await svc.scheduler.run_once()
        await svc.stop()
    assert svc.identities["c1"].serial == "SN-OLD"

    device2 = OnvifDevice(host="127.0.0.1", port=port, username="admin", password="pw", serial="SN-NEW")
    async with serve_devices([device2]):
        again = Service(cfg)
        assert again.identities["c1"].serial == "SN-OLD"  # restored from the state database
        await again.start()
        await again.scheduler.run_once()
        assert (
            again.registry.get_sample_value(
                "camwatch_device_events_total", {"camera": "c1", "event": "replaced"}
            )
            == 1
        )
        await again.stop()
    with sqlite3.connect(tmp_path / "s.db") as conn:
        rows = conn.execute("SELECT camera, kind FROM events").fetchall()
    assert rows == [("c1", "replaced")]
