"""The probe registry and the fault vocabulary are the one place a probe kind or a fault is described: every
reader agrees with them."""

from __future__ import annotations

from camwatch.config.models import MonitorSettings, TierSettings
from camwatch.dashboards._promql import ALERTING_PICTURE_FAULTS
from camwatch.monitor import faults, outcome
from camwatch.monitor.exporter import VALUE_METRICS
from camwatch.monitor.probes.registry import SPECS, VALUES, applicable, liveness_probe
from camwatch.monitor.web import PROBE_MODULES
from support.cameras import make_camera


def test_every_kind_has_settings_a_tier_override_and_a_gate_size():
    for spec in SPECS:
        assert MonitorSettings.model_fields[spec.name].annotation is spec.settings
        assert TierSettings.model_fields[spec.name].annotation == spec.settings | None
        assert isinstance(MonitorSettings().schedule("default", spec.name), spec.settings)
        if spec.gate is not None:
            assert MonitorSettings.model_fields[spec.gate].annotation is int
    override = MonitorSettings(tiers={"key": {"snapshot": {"interval": "1m"}}})
    assert override.schedule("key", "snapshot").interval == 60.0
    assert override.schedule("other", "snapshot").interval == 300.0


def test_readers_take_kinds_faults_and_values_from_one_place():
    assert ("all", *(s.name for s in SPECS)) == PROBE_MODULES
    assert set(outcome.STATUSES) >= {"ok", "frozen", "black", "blurred", "occluded", "color_cast"}
    assert {"moved", "tampered", "clock_skew"}.isdisjoint(outcome.STATUSES)
    assert ALERTING_PICTURE_FAULTS == (
        "frozen",
        "black",
        "signal_lost",
        "corrupted",
        "occluded",
        "tampered",
        "moved",
        "too_dark",
        "too_bright",
        "low_contrast",
        "noise",
        "stripes",
        "jitter",
        "blurred",
    )
    assert list(VALUE_METRICS) == list(VALUES) == list(outcome.VALUE_NAMES)
    raised = {f for s in SPECS for f in s.faults}
    assert raised == {f.name for f in faults.FAULTS}  # every fault has a probe that raises it


def test_applicable_kinds_and_liveness():
    both = make_camera(rtsp_url="rtsp://10.0.0.1/x", onvif_host="10.0.0.1", snapshot_url="onvif")
    assert applicable(both) == ("rtsp", "onvif", "snapshot", "video")
    assert liveness_probe(both) == "rtsp"
    nvr_channel = make_camera(snapshot_url="http://10.0.0.2/cgi-bin/snapshot.cgi")
    assert applicable(nvr_channel) == ("snapshot",) and liveness_probe(nvr_channel) == "snapshot"
    onvif_only = make_camera(onvif_host="10.0.0.3")
    assert applicable(onvif_only) == ("onvif",) and liveness_probe(onvif_only) == "onvif"


# A threshold (non-schedule) field of each kind, set for the fleet, that a tier override naming only the
# interval must keep.
_FLEET_FIELDS = {
    "rtsp": ("timeout", 7.0),
    "onvif": ("clock_skew_threshold", 42.0),
    "snapshot": ("blur_floor", 55.0),
    "video": ("black_luma", 30.0),
    "recording": ("stopped_after", 1800.0),
}


def test_tier_override_keeps_the_fleet_settings_of_every_kind():
    assert set(_FLEET_FIELDS) == {s.name for s in SPECS}
    for spec in SPECS:
        name, value = _FLEET_FIELDS[spec.name]
        settings = MonitorSettings(
            **{spec.name: {name: value, "jitter": 0.3}},
            tiers={"key": {spec.name: {"interval": "1m", "jitter": 0.0}}},
        )
        key = settings.schedule("key", spec.name)
        assert isinstance(key, spec.settings)
        assert (key.interval, key.jitter, getattr(key, name)) == (60.0, 0.0, value), spec.name
        default = settings.schedule("default", spec.name)
        assert (getattr(default, name), default.jitter) == (value, 0.3)
        assert default.interval == spec.settings().interval
