"""The cameras' own analytics (ONVIF events): topic mapping and the property/plain fold (pure), then the
PullPoint source against the simulator's event service (camwatch/sim/onvif_events.py, its own XML) over real
HTTP on loopback: raised and cleared within a pull interval, renewal, re-subscription, Unsubscribe at
shutdown, and floods, huge messages and pulls that never return bounded and counted."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest

import camwatch.sim
from camwatch.config.models import (
    Camera,
    Config,
    Debounce,
    MonitorSettings,
    OnvifEventSettings,
    OnvifSettings,
)
from camwatch.monitor.onvif_events.source import CameraEventCollector, CameraEventSource
from camwatch.monitor.onvif_events.vocab import EMPTY, EVENTS, OTHER, Notice, event_of, fold, notice
from camwatch.monitor.probes.base import ProbeResult
from camwatch.monitor.service import Service
from camwatch.sim.fleet import Fleet
from camwatch.sim.onvif_device import OnvifDevice, serve_devices
from camwatch.sim.onvif_events import AXIS_TAMPERING, TOPICS, EventBoard
from camwatch.sim.profiles import load_spec
from support.cameras import make_camera
from support.gst_rtsp import unused_port

PASSWORD = "Ev3nts-pw:S3cret@9"
FAST = OnvifEventSettings(interval=0.3, wait=0.1, timeout=2.0, hold=1.0)


# -- pure: topics and the fold ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("topic", "event"),
    [
        *((TOPICS[e][0], e) for e in EVENTS),
        ("tns1:VideoSource/ImageTooBlurry/ImagingService", "too_blurry"),
        ("tns1:VideoSource/ImageTooBlurry/RecordingService", "too_blurry"),
        ("tns1:VideoSource/ImageTooDark/AnalyticsService", "too_dark"),
        ("tns1:VideoSource/ImageTooBright/ImagingService", "too_bright"),
        ("ns1:RuleEngine/TamperDetector/Tamper", "tamper"),  # another prefix, same namespace
        (AXIS_TAMPERING, "tamper"),
        (" tns1:VideoSource/SignalLoss ", "signal_loss"),
        (TOPICS["motion"][0], OTHER),
        (TOPICS["vendor"][0], OTHER),
        ("tns1:VideoSource", OTHER),
        ("", OTHER),
        ("tns1:Device/HardwareFailure/FanFailure", OTHER),
    ],
)
def test_each_topic_maps_to_one_event_of_the_closed_set(topic: str, event: str) -> None:
    assert event_of(topic) == event


def test_property_events_hold_while_true_and_plain_ones_for_the_hold() -> None:
    raised = notice("tns1:RuleEngine/TamperDetector/Tamper", "Changed", {"IsTampered": "true"}, "rule=1")
    initial = notice(TOPICS["tamper"][0], "Initialized", {"IsTampered": "false"}, "rule=1")
    state = fold(EMPTY, [initial], 0, 60)
    assert state.flags(0) == {"tamper": False}
    state = fold(state, [raised], 1, 60)
    assert state.flags(1000) == {"tamper": True}  # a property holds until the camera says otherwise
    cleared = notice(TOPICS["tamper"][0], "Changed", {"IsTampered": "false"}, "rule=1")
    assert fold(state, [cleared], 2, 60).flags(2) == {"tamper": False}
    # Two sources of one camera: the condition holds while either says so; Deleted forgets a source.
    other_source = notice(TOPICS["tamper"][0], "Changed", {"IsTampered": "true"}, "rule=2")
    both = fold(state, [other_source, cleared], 3, 60)
    assert both.flags(3) == {"tamper": True}
    gone = fold(both, [Notice("tamper", "Deleted", None, "rule=2")], 4, 60)
    assert gone.flags(4) == {"tamper": False}
    # A plain event (Axis's pulse) holds for `hold` seconds after the last one.
    pulse = notice(AXIS_TAMPERING, None, {"tampering": "1"}, "Channel=1")
    pulsed = fold(EMPTY, [pulse], 100, 60)
    assert pulsed.flags(159) == {"tamper": True} and pulsed.flags(161) == {"tamper": False}
    # Unknown topics and unreadable data never make a label or a state.
    junk = [notice("tns1:Whatever/Else", "Changed", {"State": "true"})]
    junk.append(notice(TOPICS["too_dark"][0], "Changed", {}))
    assert fold(EMPTY, junk, 0, 60).flags(0) == {}


def test_a_device_inventing_sources_cannot_grow_the_state() -> None:
    topic = TOPICS["signal_loss"][0]
    many = [notice(topic, "Changed", {"State": "true"}, f"src{i}") for i in range(10_000)]
    state = fold(EMPTY, many, 0, 60)
    assert len(state.held["signal_loss"]) <= 16 and state.flags(0) == {"signal_loss": True}


# -- the source against the simulator's event service -------------------------------------------------


class Run:
    def __init__(self, source: CameraEventSource, devices: list[OnvifDevice], reports: list[ProbeResult]):
        self.source, self.devices, self.reports = source, devices, reports
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(CameraEventCollector(source))

    @property
    def board(self) -> EventBoard:
        return self.devices[0].events

    def metrics(self) -> str:
        return generate_latest(self.registry).decode()

    async def until(self, check: Callable[[], Any], timeout: float = 5.0) -> float:
        """Seconds until ``check()`` holds (fails the test after ``timeout``)."""
        started = time.monotonic()
        while not check():
            if time.monotonic() - started > timeout:
                raise AssertionError(f"not within {timeout}s: {self.source.flags()} {self.source.dropped}")
            await asyncio.sleep(0.02)
        return time.monotonic() - started


@asynccontextmanager
async def watching(
    *devices: OnvifDevice, settings: OnvifEventSettings = FAST, password: str = PASSWORD
) -> AsyncIterator[Run]:
    async with serve_devices(list(devices)) as served:
        cameras: list[Camera] = [
            make_camera(
                id=f"cam{i}", onvif_host=d.host, onvif_port=d.port, username=d.username, password=password
            )
            for i, d in enumerate(served)
        ]
        reports: list[ProbeResult] = []
        source = CameraEventSource(settings, cameras, lambda camera, result, now: reports.append(result))
        source.start()
        try:
            yield Run(source, served, reports)
        finally:
            await source.stop()


def device(**board: Any) -> OnvifDevice:
    return OnvifDevice(password=PASSWORD, events=EventBoard(**board))


async def test_tamper_raised_and_cleared_shows_within_one_pull_interval() -> None:
    async with watching(device()) as run:
        await run.until(lambda: run.source.flags().get("cam0", {}).get("tamper") is False)
        # Initialized messages: every property the camera has is known (0), so the dashboard has a series.
        assert set(run.source.flags()["cam0"]) == set(EVENTS)
        run.board.raise_("tamper")
        took = await run.until(lambda: run.source.flags()["cam0"]["tamper"])
        assert took < FAST.interval * 1.1 + FAST.wait + 0.5
        assert 'camwatch_camera_event{camera="cam0",event="tamper"} 1.0' in run.metrics()
        run.board.clear("tamper")
        took = await run.until(lambda: not run.source.flags()["cam0"]["tamper"])
        assert took < FAST.interval * 1.1 + FAST.wait + 0.5
        assert 'camwatch_camera_event{camera="cam0",event="tamper"} 0.0' in run.metrics()


async def test_every_event_and_unknown_topics_counted_as_other() -> None:
    async with watching(device()) as run:
        await run.until(lambda: "cam0" in run.source.flags())
        for event in EVENTS:
            run.board.raise_(event)
        run.board.other("motion")
        run.board.other("vendor")
        await run.until(lambda: all(run.source.flags()["cam0"].values()))
        await run.until(lambda: run.source.messages[OTHER] == 2)
        text = run.metrics()
        assert 'camwatch_onvif_event_messages_total{event="other"} 2.0' in text
        labels = {line.split('event="')[1].split('"')[0] for line in text.splitlines() if "event=" in line}
        assert labels <= {*EVENTS, OTHER}


async def test_storage_failure_reports_the_storage_fault() -> None:
    async with watching(device()) as run:
        await run.until(lambda: run.reports and run.reports[-1].success)
        assert run.reports[-1].faults == ()
        run.board.raise_("storage_failure")
        await run.until(lambda: run.reports[-1].faults == ("storage_fault",))
        run.board.clear("storage_failure")
        await run.until(lambda: run.reports[-1].faults == ())
        assert all(r.probe == "onvif_events" for r in run.reports)


async def test_renewed_before_termination_and_unsubscribed_at_shutdown() -> None:
    board = EventBoard(max_lifetime=3.0)  # the device grants 3 s whatever is asked
    async with watching(OnvifDevice(password=PASSWORD, events=board)) as run:
        await run.until(lambda: board.renewed >= 2, timeout=8.0)
        assert board.created == 1 and run.source.subscriptions["renewed"] >= 2
        run.board.raise_("tamper")
        await run.until(lambda: run.source.flags()["cam0"]["tamper"])
    assert board.unsubscribed == 1 and board.subscriptions == 0


async def test_resubscribes_after_the_device_drops_the_subscription() -> None:
    async with watching(device()) as run:
        await run.until(lambda: run.board.created == 1 and run.board.pulls >= 1)
        run.board.drop_subscriptions()  # a reboot
        run.board.state["tamper"] = True  # it came back tampered: its Initialized message says so
        await run.until(lambda: run.board.created == 2)
        await run.until(lambda: run.source.flags()["cam0"]["tamper"])
        assert run.source.subscriptions["lost"] >= 1


async def test_a_refused_renewal_is_counted_and_subscribed_anew() -> None:
    board = EventBoard(max_lifetime=3.0, mode="refuse_renew")
    async with watching(OnvifDevice(password=PASSWORD, events=board)) as run:
        await run.until(lambda: board.created >= 2, timeout=8.0)
        assert run.source.subscriptions["renew_failed"] >= 1


async def test_a_flood_is_capped_in_items_and_bytes() -> None:
    big = FAST.model_copy(update={"max_reply_bytes": 16 * 1024 * 1024, "message_limit": 50})
    async with watching(device(mode="flood"), settings=big) as run:
        # 5,000 messages in a pull that asked for 50: 50 read, the rest counted.
        await run.until(lambda: run.source.dropped["over_limit"] >= 4_950, timeout=10.0)
        assert run.source.messages[OTHER] % 50 == 0
    async with watching(device(mode="flood")) as run:  # 1 MiB: the same flood is refused unread
        await run.until(lambda: run.source.dropped["too_large"] >= 1, timeout=10.0)
        assert run.source.messages[OTHER] == 0


async def test_a_huge_message_and_a_pull_that_never_returns_stall_nothing() -> None:
    healthy = device()
    settings = OnvifEventSettings(interval=0.3, wait=0.1, timeout=1.0, hold=1.0, concurrency=4)
    async with watching(device(mode="huge"), device(mode="hang"), healthy, settings=settings) as run:
        await run.until(lambda: "cam2" in run.source.flags())
        started = time.monotonic()
        healthy.events.raise_("tamper")
        await run.until(lambda: run.source.flags()["cam2"]["tamper"])
        assert time.monotonic() - started < 1.5  # the others hold no one up
        await run.until(lambda: run.source.dropped["too_large"] >= 1 and run.source.dropped["timeout"] >= 1)
        assert "cam1" not in {c for c, f in run.source.flags().items() if f.get("tamper")}


async def test_shutdown_is_bounded_when_cameras_hang() -> None:
    settings = OnvifEventSettings(interval=0.3, wait=0.1, timeout=1.0, hold=1.0)
    async with serve_devices([device(mode="hang") for _ in range(3)]) as served:
        login = {"username": "admin", "password": PASSWORD}
        cameras = [
            make_camera(id=f"c{d.port}", onvif_host=d.host, onvif_port=d.port, **login)  # one per device
            for d in served
        ]
        source = CameraEventSource(settings, cameras, lambda *_: None)
        source.start()
        await Run(source, served, []).until(lambda: all(d.events.pulls for d in served))
        started = time.monotonic()
        await source.stop()  # each pull and Unsubscribe hangs: one timeout for them all
        assert time.monotonic() - started < settings.timeout + 1.0
        assert source.active == 0


async def test_the_password_never_appears_in_logs_metrics_or_results(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with watching(device(), password="wrong-" + PASSWORD) as run:  # a login refused
        await run.until(lambda: run.reports and run.reports[-1].status == "auth_failed")
        text = run.metrics() + repr(run.reports) + caplog.text
        assert run.source.subscriptions["failed"] >= 1
    async with watching(device()) as run:
        run.board.raise_("tamper")
        await run.until(lambda: run.source.flags().get("cam0", {}).get("tamper"))
        text += run.metrics() + repr(run.reports) + caplog.text
    assert PASSWORD not in text


async def test_a_reload_keeps_a_subscription_unless_the_address_or_login_changed() -> None:
    async with watching(device()) as run:
        await run.until(lambda: run.board.created == 1 and "cam0" in run.source.flags())
        (camera,) = run.source._cameras
        run.source.set_cameras([camera.model_copy(update={"name": "renamed"})], FAST)
        await asyncio.sleep(3 * FAST.interval)
        assert run.board.created == 1 and run.board.unsubscribed == 0
        other = camera.model_copy(update={"username": "someone-else"})
        run.source.set_cameras([other], FAST)
        await run.until(lambda: run.board.unsubscribed == 1)


async def test_a_bug_on_camwatchs_side_is_internal_and_the_subscription_made_anew(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from camwatch.monitor.onvif_events import source as source_module

    real, failures = source_module.fold, [1]

    def buggy(*args: Any) -> Any:
        if failures:
            failures.pop()
            raise RuntimeError("a bug")
        return real(*args)

    monkeypatch.setattr(source_module, "fold", buggy)
    async with watching(device()) as run:
        await run.until(lambda: run.reports and run.reports[0].status == "internal_error")
        await run.until(lambda: run.board.created == 2 and run.reports[-1].status == "ok")
        assert "cam0" in run.source.flags()


# -- in the service, and in the demo ------------------------------------------------------------------


async def test_the_service_exports_events_and_raises_storage_fault_and_a_reload_switches_off(
    tmp_path: Path,
) -> None:
    async with serve_devices([device()]) as [served]:
        camera = make_camera(
            id="nvr-cam", onvif_host=served.host, onvif_port=served.port, username="admin", password=PASSWORD
        )
        settings = MonitorSettings(
            listen=f"127.0.0.1:{unused_port()}",
            state=tmp_path / "state.db",
            onvif=OnvifSettings(interval=1.0, timeout=2.0),
            onvif_events=FAST,
            debounce=Debounce(down_after=1, up_after=1),
        )
        config = Config(source=tmp_path / "camwatch.yaml", cameras=(camera,), monitor=settings)
        service = Service(config)
        await service.start()
        try:
            track = service.tracker.tracks["nvr-cam"]
            run = Run(service.camera_events, [served], [])
            await run.until(lambda: track.up and "onvif_events" in track.probes)
            served.events.raise_("storage_failure")
            await run.until(lambda: "storage_fault" in track.faults)
            text = service.exporter.exposition().decode()
            assert 'camwatch_camera_event{camera="nvr-cam",event="storage_failure"} 1.0' in text
            assert 'camwatch_probe_success{camera="nvr-cam",probe="onvif_events"} 1.0' in text
            # The recordings' device fault, from the camera's own report (the source's spec entry).
            assert 'camwatch_video_fault{camera="nvr-cam",fault="storage_fault"} 1.0' in text
            assert track.status == "ok"  # a device fault: the camera stays in working order
            off = settings.model_copy(update={"onvif_events": FAST.model_copy(update={"enabled": False})})
            assert service.reload(config.model_copy(update={"monitor": off}))
            await run.until(lambda: served.events.unsubscribed == 1)
        finally:
            await service.stop()


def test_the_demo_covered_cameras_report_tamper_themselves() -> None:
    spec = load_spec(Path(camwatch.sim.__file__).parent / "default_fleet.yaml")
    fleet = Fleet(spec, password="demo")
    occluded = [c for c in fleet.cameras if c.picture == "occluded"]
    assert occluded
    for cam in occluded:
        board = fleet.events(cam.id)
        assert board is not None and board.state["tamper"] is True
    healthy = next(c for c in fleet.cameras if c.profile == "healthy")
    assert fleet.events(healthy.id).state == dict.fromkeys(board.state, False)  # type: ignore[union-attr]
