"""Recording integrity against ONVIF Profile G recorders: the recording probe and `camwatch recordings` over
real sockets against a simulated Profile G device (camwatch/sim/onvif_recorder.py: its own SOAP layouts
from search.wsdl/recording.wsdl and its own WS-Security check): stopped, a gap, short retention, a failed
storage, an incomplete answer, hostile answers, and credentials kept to the recorder's own host."""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from camwatch.config.models import RecordingSettings
from camwatch.config.recorders import Recorder
from camwatch.monitor.probes import recording
from camwatch.monitor.probes.base import ProbeContext, ProbeResult
from camwatch.sim.onvif_recorder import OnvifRecorder, Recording, Storage
from support.cameras import make_camera

H, DAY = 3600.0, 86400.0


@pytest.fixture
async def device() -> AsyncIterator[OnvifRecorder]:
    box = OnvifRecorder(skew=-120.0)  # its clock is 2 minutes behind ours: judged by its own
    now = box.now()
    box.recordings = {
        "REC_SOUND": Recording([(now - 40 * DAY, math.inf)]),
        "REC_STOPPED": Recording([(now - 40 * DAY, now - 3 * H)]),
        "REC_GAP": Recording([(now - 40 * DAY, now - 5 * H), (now - 5 * H + 900.0, math.inf)]),
        "REC_SHORT": Recording([(now - 6 * DAY + H * k, now - 6 * DAY + H * (k + 1)) for k in range(6 * 24)]),
        "REC_NO_EVENTS": Recording([(now - 40 * DAY, now - 5 * H), (now - 4 * H, math.inf)], "no_events"),
        "REC_ENDLESS": Recording([(now - 40 * DAY, math.inf)], "endless"),
        "REC_PARTIAL": Recording([(now - 40 * DAY, math.inf)], "partial"),
        "REC_UNKNOWN": Recording([(now - 40 * DAY, math.inf)], "unknown"),
        "REC_HUGE": Recording([(now - 40 * DAY, math.inf)], "huge"),
        "REC_BOMB": Recording([(now - 40 * DAY, math.inf)], "bomb"),
    }
    runner = await box.serve()
    yield box
    await runner.cleanup()


def _camera(box: OnvifRecorder, token: str | None, password: str = "onvif-rec-1", **fields):
    recorder = Recorder(
        id="nvr-g", kind="onvif", host=box.host, port=box.port, username="admin", timezone="Asia/Shanghai"
    ).with_password(SecretStr(password))
    return make_camera(id=f"cam-{token}", recorder=recorder, recorder_channel=token, **fields)


async def _probe(camera, **settings) -> ProbeResult:
    return await recording.probe(camera, ProbeContext(settings=RecordingSettings(timeout=20, **settings)))


async def test_sound_recording_values_storage_and_event_history(device):
    result = await _probe(_camera(device, "REC_SOUND"))
    assert (result.status, result.success, result.faults) == ("ok", True, ())
    values = result.values
    assert values["recording_retention_seconds"] == pytest.approx(40 * DAY, abs=3)
    assert values["recording_last_age_seconds"] == pytest.approx(0.0, abs=3)  # the recorder's clock
    assert values["recording_seconds_24h"] == pytest.approx(DAY, abs=3)
    assert values["recording_gaps_24h"] == 0.0
    assert result.details["gaps_from"] == "events" and result.details["recording_token"] == "REC_SOUND"
    assert result.details["disks"] == [
        {"disk": "SD1", "status": "OK", "ok": True, "capacity_bytes": None, "free_bytes": None}
    ]
    assert "FindEvents" in device.calls and "GetEventSearchResults" in device.calls


@pytest.mark.parametrize(
    ("token", "faults"),
    [
        ("REC_STOPPED", ("recording_stopped",)),
        ("REC_GAP", ("recording_gaps",)),
        ("REC_SHORT", ("retention_short",)),
    ],
)
async def test_stopped_gap_and_short_retention(device, token, faults):
    result = await _probe(_camera(device, token))
    assert (result.status, result.faults) == ("ok", faults)


async def test_the_gap_comes_from_the_recording_history_paged(device):
    result = await _probe(_camera(device, "REC_SHORT"))
    assert result.values["recording_retention_seconds"] == pytest.approx(6 * DAY, abs=3)
    assert result.values["recording_gaps_24h"] == 0.0  # hourly files that touch are one piece
    assert device.calls.count("GetEventSearchResults") >= 1
    gap = await _probe(_camera(device, "REC_GAP"))
    assert gap.values["recording_gaps_24h"] == 1.0
    assert gap.values["recording_seconds_24h"] == pytest.approx(DAY - 900.0, abs=3)


async def test_without_event_search_the_track_range_is_used(device):
    """A device that does not do FindEvents: its track range, one piece: no gap seen, the rest judged."""
    result = await _probe(_camera(device, "REC_NO_EVENTS"))
    assert (result.status, result.faults) == ("ok", ())
    assert result.details["gaps_from"] == "track"
    assert result.values["recording_retention_seconds"] == pytest.approx(40 * DAY, abs=3)


async def test_a_failed_storage_is_a_storage_fault(device):
    device.storage = [Storage("SD1"), Storage("HDD2", state="Error")]
    result = await _probe(_camera(device, "REC_STOPPED"))
    assert result.faults == ("storage_fault", "recording_stopped")
    assert [d["ok"] for d in result.details["disks"]] == [True, False]


async def test_the_only_recording_of_a_camera_that_is_its_own_recorder(device):
    device.recordings = {"SD_REC": device.recordings["REC_GAP"]}
    result = await _probe(_camera(device, None))
    assert (result.status, result.faults) == ("ok", ("recording_gaps",))
    assert result.details["recording_token"] == "SD_REC"


async def test_several_recordings_and_no_token_is_a_clear_error(device):
    result = await _probe(_camera(device, None))
    assert result.status == "error" and "name one in the ledger's recorder_channel" in (result.error or "")


@pytest.mark.parametrize(
    ("token", "why"),
    [
        ("REC_ENDLESS", "search still running after 3 pages"),
        ("REC_PARTIAL", "without its time or IsDataPresent"),
        ("REC_UNKNOWN", "search state 'Unknown'"),
        ("REC_HUGE", "larger"),
    ],
)
async def test_hostile_and_incomplete_answers_are_incomplete_never_a_gap(device, token, why):
    result = await _probe(_camera(device, token), max_pages=3, max_reply_bytes=256 * 1024)
    assert result.status == "incomplete" and not result.success
    assert result.faults == () and result.values == {}
    assert why in (result.error or "")


async def test_an_endless_search_is_ended_and_the_storage_still_told(device):
    device.storage = [Storage("SD1", state="Error")]
    result = await _probe(_camera(device, "REC_ENDLESS"), max_pages=3)
    assert device.calls.count("GetEventSearchResults") == 3 and device.calls[-1] == "EndSearch"
    assert result.status == "incomplete" and result.faults == ("storage_fault",)
    assert [d["disk"] for d in result.details["disks"]] == ["SD1"]


async def test_more_items_than_the_bound_is_incomplete(device):
    result = await _probe(_camera(device, "REC_SHORT"), max_items=10)
    assert result.status == "incomplete" and "more than 10 footage events" in (result.error or "")


async def test_an_entity_bomb_is_refused_unexpanded(device):
    result = await _probe(_camera(device, "REC_BOMB"))
    assert result.status == "error" and "EntitiesForbidden" in (result.error or "")


async def test_wrong_password_is_auth_failed_and_never_shown(device):
    result = await _probe(_camera(device, "REC_SOUND", password="wrong-pw-123"))
    assert result.status == "auth_failed"
    assert "wrong-pw-123" not in (result.error or "")
    assert "FindEvents" not in device.calls


async def test_an_xaddr_on_another_host_is_not_followed(device):
    device.foreign_xaddr = "http://127.0.0.9:8080"
    result = await _probe(_camera(device, "REC_SOUND"))
    assert result.status == "error" and "127.0.0.9:8080" in (result.error or "")
    assert "not followed" in (result.error or "")
    assert device.calls == ["GetSystemDateAndTime", "GetServices"]


async def test_a_redirect_is_not_followed_with_the_login(device):
    device.redirect_to = "http://127.0.0.2:9/onvif/device_service"
    result = await _probe(_camera(device, "REC_SOUND"))
    assert result.status == "error" and "redirect" in (result.error or "")


async def test_a_recorder_that_never_answers_is_bounded_by_the_timeout(device, hanging_port):
    camera = _camera(device, "REC_SOUND")
    camera = camera.model_copy(update={"recorder": camera.recorder.model_copy(update={"port": hanging_port})})
    started = time.monotonic()
    result = await recording.probe(camera, ProbeContext(settings=RecordingSettings(timeout=1.0)))
    assert result.status == "timeout"
    assert time.monotonic() - started < 10.0  # the deadline holds (not a speed target)


async def test_a_days_footage_and_its_gaps_as_camwatch_recordings_prints_them(device):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from camwatch.monitor.recordings import day_footage

    middle = device.now() - 5 * H + 450.0
    day = datetime.fromtimestamp(middle, ZoneInfo("Asia/Shanghai")).date()
    found = await day_footage(_camera(device, "REC_GAP"), RecordingSettings(timeout=20), day)
    assert found.day == day and found.zone == "Asia/Shanghai"
    (gap,) = [g for g in found.gaps if g[0] <= middle < g[1]]
    assert gap[1] - gap[0] == pytest.approx(900.0, abs=1)


def test_camwatch_recordings_json_for_an_onvif_recorder(tmp_path):
    """The CLI end to end: config, ledger and password from the environment, JSON out."""
    import asyncio
    import json
    import threading
    from datetime import UTC, datetime

    from typer.testing import CliRunner

    from camwatch.cli import app

    box = OnvifRecorder()
    now = box.now()
    box.recordings = {"R1": Recording([(now - 3 * DAY, now - 2 * H), (now - 2 * H + 600.0, math.inf)])}
    loop = asyncio.new_event_loop()
    runner = loop.run_until_complete(box.serve())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        (tmp_path / "cams.csv").write_text("id,host,recorder,recorder_channel\nc1,10.0.0.1,g1,R1\n")
        (tmp_path / "camwatch.yaml").write_text(
            "cameras: cams.csv\nrecorders:\n"
            f"  - {{id: g1, kind: onvif, host: 127.0.0.1, port: {box.port}, username: admin,"
            " password_env: REC_PW, timezone: UTC}\n"
        )
        middle = now - 2 * H + 300.0  # the 10-minute gap's middle, and its day (UTC)
        day = datetime.fromtimestamp(middle, UTC).date().isoformat()
        args = ["recordings", str(tmp_path / "camwatch.yaml"), "c1", "--json", "--day", day]
        result = CliRunner().invoke(app, args, env={"REC_PW": "onvif-rec-1"})
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.run_until_complete(runner.cleanup())
        loop.close()
    assert result.exit_code == 0, result.output
    entry = json.loads(result.output)
    assert entry["camera"] == "c1" and entry["timezone"] == "UTC" and entry["day"] == day
    (gap,) = [g for g in entry["gaps"] if g["start"] <= middle < g["end"]]
    assert 0 < gap["end"] - gap["start"] <= 601  # the whole gap, or its part in the day
    assert "onvif-rec-1" not in result.output


async def test_the_simulated_recorder_speaks_the_wsdl_layouts_as_onvif_zeep_async_reads_them(device):
    """The peer's replies follow search.wsdl/recording.wsdl/devicemgmt.wsdl: onvif-zeep-async (a client built
    from the WSDLs, not camwatch's) reads them, and its WS-Security login passes the peer's check."""
    from datetime import timedelta
    from pathlib import Path

    import onvif
    from onvif import ONVIFService
    from onvif.definition import SERVICES

    wsdl = Path(onvif.__file__).parent / "wsdl"
    services = {}
    for name, path in (
        ("search", "search_service"),
        ("recording", "recording_service"),
        ("devicemgmt", "device_service"),
    ):
        spec = SERVICES[name]
        service = ONVIFService(
            f"http://127.0.0.1:{device.port}/onvif/{path}", "admin", "onvif-rec-1", str(wsdl / spec["wsdl"]),
            binding_name=f"{{{spec['ns']}}}{spec['binding']}",
        )  # fmt: skip
        await service.setup()
        services[name] = service
    try:
        search = services["search"]
        summary = await search.GetRecordingSummary()
        assert summary.NumberRecordings == len(device.recordings)
        info = await search.GetRecordingInformation({"RecordingToken": "REC_GAP"})
        (track,) = info.Track
        assert track.TrackType == "Video" and track.DataFrom.timestamp() < track.DataTo.timestamp()
        token = await search.FindEvents(
            {
                "StartPoint": track.DataTo - timedelta(days=1),
                "EndPoint": track.DataTo,
                "Scope": {"IncludedRecordings": ["REC_GAP"]},
                "SearchFilter": {},
                "IncludeStartState": True,
                "KeepAliveTime": "PT10S",
            }
        )
        results = await search.GetEventSearchResults({"SearchToken": token, "MaxResults": 100})
        assert results.SearchState == "Completed"
        assert [r.StartStateEvent for r in results.Result] == [True, False, False]  # start, gap opens, closes
        recordings = await services["recording"].GetRecordings()
        assert {r.RecordingToken for r in recordings} == set(device.recordings)
        found = await services["devicemgmt"].GetServices({"IncludeCapability": False})
        assert {s.Namespace.rsplit("/", 2)[-2] for s in found} == {"device", "search", "recording"}
    finally:
        for service in services.values():
            await service.close()


async def test_camwatch_requests_follow_the_wsdl_layouts(device):
    """Every request camwatch's client sends reads back through the WSDLs' bindings (zeep, as bundled with
    onvif-zeep-async), with the fields the device needs where the schema puts them."""
    from pathlib import Path

    import onvif
    from lxml import etree
    from onvif import ONVIFService
    from onvif.definition import SERVICES

    sent: list[bytes] = []
    answer = device._handle

    async def spy(request):
        sent.append(await request.read())
        return await answer(request)

    device._handle = spy
    runner = await device.serve()  # a second listener on the same device, its handler spied on
    try:
        result = await _probe(_camera(device, "REC_GAP"))
    finally:
        await runner.cleanup()
    assert result.status == "ok"
    wsdl = Path(onvif.__file__).parent / "wsdl"
    bindings = {}
    for name in ("search", "recording", "devicemgmt"):
        spec = SERVICES[name]
        qname = f"{{{spec['ns']}}}{spec['binding']}"
        service = ONVIFService("http://127.0.0.1/", None, None, str(wsdl / spec["wsdl"]), binding_name=qname)
        await service.setup()
        bindings[spec["ns"]] = service.zeep_client.wsdl.bindings[qname]
        await service.close()
    read: dict[str, object] = {}
    for body in sent:
        envelope = etree.fromstring(body)
        call = envelope.find("{http://www.w3.org/2003/05/soap-envelope}Body")[0]
        namespace, _, operation = call.tag[1:].partition("}")
        if operation == "GetStorageConfigurations":  # newer than the bundled devicemgmt.wsdl
            continue
        read[operation] = bindings[namespace].get(operation).input.deserialize(envelope)
    assert {"GetSystemDateAndTime", "GetServices", "GetRecordingInformation", "FindEvents"} <= set(read)
    find = read["FindEvents"]
    assert find.Scope.IncludedRecordings == ["REC_GAP"] and find.IncludeStartState is True
    (topic,) = find.SearchFilter._value_1  # read as wsnt:TopicExpression, the schema's own element
    assert type(topic).__name__ == "TopicExpressionType" and topic.Dialect.endswith("/ConcreteSet")
    assert topic._value_1 == "tns1:RecordingHistory/Track/State"
    assert (find.EndPoint - find.StartPoint).total_seconds() == pytest.approx(DAY, abs=2)
    assert read["GetEventSearchResults"].MaxResults == 100


async def test_a_day_of_five_minute_files_is_read_over_several_pages(device):
    now = device.now()
    files = [(now - 40 * DAY, now - DAY - 600.0)]
    files += [(now - DAY - 600.0 + 300.0 * k, now - DAY - 600.0 + 300.0 * (k + 1)) for k in range(290)]
    device.recordings["REC_FILES"] = Recording([*files, (files[-1][1], math.inf)])
    result = await _probe(_camera(device, "REC_FILES"))
    assert (result.status, result.faults) == ("ok", ())
    assert result.values["recording_seconds_24h"] == pytest.approx(DAY, abs=3)
    assert device.calls.count("GetEventSearchResults") >= 5  # ~580 state changes at 100 a page


async def test_a_search_given_up_is_ended_briefly_even_when_ending_hangs(device):
    device.end_search_hangs = True
    started = time.monotonic()
    result = await _probe(_camera(device, "REC_ENDLESS"), max_pages=2)
    assert result.status == "incomplete" and "still running after 2 pages" in (result.error or "")
    assert device.calls[-1] == "EndSearch"
    assert time.monotonic() - started < 15.0  # EndSearch waited on for 3 s, not the probe's 20 s


async def test_a_device_that_also_asks_for_http_digest_is_answered(device):
    device.http_digest = True
    result = await _probe(_camera(device, "REC_GAP"))
    assert (result.status, result.faults) == ("ok", ("recording_gaps",))
    wrong = await _probe(_camera(device, "REC_GAP", password="wrong-pw-123"))
    assert wrong.status == "auth_failed" and "wrong-pw-123" not in (wrong.error or "")
