"""Recordings through GB/T 28181: the ``recording`` kind for a camera whose recorder is the registered device
owning its channel. The NVR is a raw socket (``RawGbDevice``) answering with message bodies written here from
the standard's layouts (GB/T 28181-2016 A.2.6.6 RecordInfo, A.2.6.4 DeviceStatus): no camwatch code on its
side. Real UDP on 127.0.0.1; counts and statuses, no timings."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from test_gb28181 import DOMAIN, NVR, PASSWORD, PLATFORM_ID, platform, until

from camwatch.config.models import Gb28181Keepalive, RecordingSettings
from camwatch.monitor import exporter, footage
from camwatch.monitor.gb28181 import alarms, limits, manscdp, records
from camwatch.monitor.probes import recording, recording_gb
from camwatch.monitor.probes.base import (
    INCOMPLETE,
    OFFLINE,
    OK,
    SKIPPED,
    MemoryBaselines,
    ProbeContext,
    ProbeResult,
)
from camwatch.monitor.probes.recording import NAME
from camwatch.sim.gb28181_device import channel_ids
from support.cameras import make_camera
from support.hostile_devices import RawGbDevice, SipReply

ZONE = ZoneInfo("Asia/Shanghai")  # the NVR speaks local time; the test process runs in UTC or anywhere
CHANNEL = channel_ids(NVR, 1)[0]
CAMERA = make_camera(id="gb-cam", gb_id=CHANNEL, timezone="Asia/Shanghai")
LONG = Gb28181Keepalive(interval=30.0, count=2)  # the raw NVR stays online for a test's length
DAY = 86400.0
Bodies = Callable[[SipReply], Iterable[bytes]]


# -- the NVR's messages, from the standard's layouts -------------------------------------------------------


def local(ts: float) -> str:
    return datetime.fromtimestamp(ts, ZONE).strftime("%Y-%m-%dT%H:%M:%S")


def field(body: bytes, name: str) -> str:
    found = re.search(rf"<{name}>([^<]*)</{name}>".encode(), body)
    return found.group(1).decode() if found else ""


def hourly(start: float, end: float) -> list[tuple[float, float]]:
    """Hour-long files from ``start`` to ``end``, as NVRs cut them."""
    return [(t, min(t + 3600.0, end)) for t in range(int(start), int(end), 3600)]


def record_parts(
    sn: int,
    items: list[tuple[float, float]],
    *,
    per_part: int = 4,
    sum_num: int | None = None,
    encoding: str = "UTF-8",
    channel: str = CHANNEL,
) -> list[bytes]:
    """A RecordInfo Response in parts of ``per_part`` items (A.2.6.6), every part carrying SumNum."""
    total = len(items) if sum_num is None else sum_num
    parts = []
    for first in range(0, max(len(items), 1), per_part):
        chunk = items[first : first + per_part]
        listed = "".join(
            f"<Item><DeviceID>{channel}</DeviceID><Name>东门路口</Name><FilePath>{channel}/{int(a)}</FilePath>"
            f"<Address>东门</Address><StartTime>{local(a)}</StartTime><EndTime>{local(b)}</EndTime>"
            f"<Secrecy>0</Secrecy><Type>time</Type><RecorderID>{NVR}</RecorderID></Item>"
            for a, b in chunk
        )
        xml = (
            f'<?xml version="1.0" encoding="{encoding}"?>\r\n<Response>\r\n<CmdType>RecordInfo</CmdType>\r\n'
            f"<SN>{sn}</SN>\r\n<DeviceID>{channel}</DeviceID>\r\n<Name>东门路口</Name>\r\n"
            f'<SumNum>{total}</SumNum>\r\n<RecordList Num="{len(chunk)}">\r\n{listed}</RecordList>\r\n'
            "</Response>\r\n"
        )
        parts.append(xml.encode(encoding))
    return parts


def status_body(sn: int, target: str, *, record: str = "ON", clock_offset: float = 0.0) -> bytes:
    """A DeviceStatus Response (A.2.6.4) with the device's Record word and its clock, local time."""
    return (
        '<?xml version="1.0" encoding="GB2312"?>\r\n<Response>\r\n<CmdType>DeviceStatus</CmdType>\r\n'
        f"<SN>{sn}</SN>\r\n<DeviceID>{target}</DeviceID>\r\n<Result>OK</Result>\r\n<Online>ONLINE</Online>\r\n"
        f"<Status>OK</Status>\r\n<Encode>ON</Encode>\r\n<Record>{record}</Record>\r\n"
        f"<DeviceTime>{local(time.time() + clock_offset)}</DeviceTime>\r\n</Response>\r\n"
    ).encode("gb2312")


def footage_answer(items: list[tuple[float, float]], **fields) -> Bodies:
    return lambda query: record_parts(RawGbDevice.sn_of(query), items, **fields)


def status_answer(**fields) -> Bodies:
    return lambda query: [status_body(RawGbDevice.sn_of(query), field(query.body, "DeviceID"), **fields)]


class RawNvr:
    """Serves a registered raw device from a thread: every platform request is answered 200, RecordInfo
    and DeviceStatus queries with the bodies ``records``/``status`` give (sent as they are produced, so an
    endless generator is an endless stream of parts until the test ends)."""

    def __init__(self, dev: RawGbDevice, records: Bodies, status: Bodies):
        self.dev, self.records, self.status = dev, records, status
        self.queries: list[SipReply] = []
        self.sent = 0
        self.stop = threading.Event()

    def serve(self) -> None:
        while not self.stop.is_set():
            got = self.dev.recv(timeout=0.05)
            if got is None or got.status:
                continue
            self.dev.answer(got)
            self.queries.append(got)
            cmd = field(got.body, "CmdType")
            bodies = (
                self.records(got)
                if cmd == "RecordInfo"
                else self.status(got)
                if cmd == "DeviceStatus"
                else ()
            )
            for body in bodies:
                if self.stop.is_set():
                    break
                self.dev.send(self.dev.request("MESSAGE", body))
                self.sent += 1
                time.sleep(0.001)  # paced like a device: a burst would overrun the kernel's UDP buffer

    def asked(self, cmd: str) -> list[SipReply]:
        return [q for q in self.queries if field(q.body, "CmdType") == cmd]


@asynccontextmanager
async def nvr(
    records: Bodies,
    status: Bodies | None = None,
    *,
    register: bool = True,
    owners: dict[str, str] | None = None,
) -> AsyncIterator[tuple[object, RawNvr]]:
    async with platform(owners=owners or {CHANNEL: NVR}, keepalive=LONG) as (p, _):
        dev = RawGbDevice(NVR, p.local, PLATFORM_ID, DOMAIN, password=PASSWORD)
        server = RawNvr(dev, records, status or status_answer())
        thread = threading.Thread(target=server.serve, daemon=True)
        try:
            if register:
                assert await asyncio.to_thread(dev.register) == 200
            thread.start()
            yield p, server
        finally:
            server.stop.set()
            if thread.is_alive():
                await asyncio.to_thread(thread.join, 5)
            dev.close()


async def probe(p, camera=CAMERA, baselines=None, **settings) -> ProbeResult:
    settings.setdefault("timeout", 10.0)  # a whole answer ends the check at once; only silence waits
    ctx = ProbeContext(
        settings=RecordingSettings(**settings), gb28181=p, baselines=baselines or MemoryBaselines()
    )
    return await recording.probe(camera, ctx)


# -- verdicts ------------------------------------------------------------------------------------------------


async def test_whole_footage_is_judged_on_the_devices_clock_with_the_query_in_its_local_time():
    now = time.time()
    items = hourly(now - 35 * DAY, now - 5)
    async with nvr(footage_answer(items, encoding="GB2312")) as (p, server):
        result = await probe(p)
    assert result.status == OK and result.success, result.error
    assert result.faults == ()
    values = result.values
    assert values["recording_retention_seconds"] == pytest.approx(35 * DAY, abs=3600)
    assert values["recording_seconds_24h"] == pytest.approx(DAY, abs=60)
    assert values["recording_gaps_24h"] == 0 and values["recording_last_age_seconds"] < 60
    assert result.details == {"device": NVR, "clock": "device", "record": "ON", "window_seconds": 60 * DAY}
    (status,) = server.asked("DeviceStatus")[-1:]
    assert field(status.body, "DeviceID") == CHANNEL
    (query,) = server.asked("RecordInfo")
    assert field(query.body, "DeviceID") == CHANNEL
    assert (field(query.body, "Type"), field(query.body, "Secrecy")) == ("all", "0")
    # StartTime/EndTime in the camera's local time (Asia/Shanghai), no zone: twice the 30-day target back.
    end = datetime.fromisoformat(field(query.body, "EndTime")).replace(tzinfo=ZONE).timestamp()
    start = datetime.fromisoformat(field(query.body, "StartTime")).replace(tzinfo=ZONE).timestamp()
    assert end == pytest.approx(now, abs=5) and end - start == pytest.approx(60 * DAY, abs=2)
    assert len(items) > 800  # in parts of four: some 210 MESSAGEs sharing one SN


async def test_a_gap_is_a_gap_and_the_channel_answer_in_utf8_is_read_too():
    now = time.time()
    items = [(now - 40 * DAY, now - 3 * 3600), (now - 3 * 3600 + 600, now - 5)]  # ten minutes missing
    async with nvr(footage_answer(items, encoding="UTF-8")) as (p, _):
        result = await probe(p)
    assert result.status == OK and result.faults == (footage.GAPS,)
    assert result.values["recording_gaps_24h"] == 1
    assert result.values["recording_seconds_24h"] == pytest.approx(DAY - 600, abs=30)


async def test_stopped_footage_and_short_retention():
    now = time.time()
    async with nvr(footage_answer(hourly(now - 6 * DAY, now - 2 * 3600))) as (p, _):
        result = await probe(p)
    assert result.status == OK
    assert set(result.faults) == {footage.STOPPED, footage.RETENTION_SHORT}
    assert result.values["recording_retention_seconds"] == pytest.approx(6 * DAY, abs=3600)
    assert result.values["recording_last_age_seconds"] == pytest.approx(2 * 3600, abs=60)


async def test_record_off_is_a_stopped_recording_with_that_reason_even_with_fresh_footage():
    now = time.time()
    async with nvr(footage_answer(hourly(now - 31 * DAY, now - 5)), status_answer(record="OFF")) as (p, _):
        result = await probe(p)
    assert result.status == OK and result.faults == (footage.STOPPED,)
    assert result.details["record"] == "OFF" and "Record OFF" in result.details["reason"]


async def test_a_skewed_device_clock_does_not_look_stopped():
    # The NVR's clock runs 2 h behind: its newest footage ends at its now, two hours before ours.
    skew = -2 * 3600.0
    now = time.time() + skew
    async with nvr(footage_answer(hourly(now - 31 * DAY, now)), status_answer(clock_offset=skew)) as (
        p,
        server,
    ):
        result = await probe(p)
    assert result.status == OK and result.faults == (), result.faults
    assert result.details["clock"] == "device" and result.values["recording_last_age_seconds"] < 60
    (query,) = server.asked("RecordInfo")
    end = datetime.fromisoformat(field(query.body, "EndTime")).replace(tzinfo=ZONE).timestamp()
    assert end == pytest.approx(time.time() + skew, abs=10)  # the window is on the device's clock


async def test_an_nvr_answering_devicestatus_about_itself_gives_its_clock_not_a_record_word():
    skew = -3600.0
    now = time.time() + skew
    about_itself = lambda q: [status_body(RawGbDevice.sn_of(q), NVR, record="OFF", clock_offset=skew)]  # noqa: E731
    async with nvr(footage_answer(hourly(now - 31 * DAY, now)), about_itself) as (p, _):
        result = await probe(p)
    assert result.status == OK and result.faults == ()  # the NVR's own Record OFF is not the channel's
    assert result.details["clock"] == "device" and result.details["record"] == ""


async def test_with_no_device_status_a_recent_keepalive_date_is_the_recorders_clock():
    skew = -2 * 3600.0
    now = time.time() + skew
    async with nvr(footage_answer(hourly(now - 31 * DAY, now)), status=lambda q: ()) as (p, server):
        keepalive = (
            f'<?xml version="1.0" encoding="GB2312"?>\r\n<Notify>\r\n<CmdType>Keepalive</CmdType>\r\n'
            f"<SN>5</SN>\r\n<DeviceID>{NVR}</DeviceID>\r\n<Status>OK</Status>\r\n</Notify>\r\n"
        ).encode()
        date = f"Date: {local(time.time() + skew)}.000"  # the GB/T 28181 form: local time, milliseconds
        server.dev.send(server.dev.request("MESSAGE", keepalive, extra=(date,)))
        await until(lambda: p.devices[NVR].keepalive_date is not None)
        result = await probe(p, timeout=8.0)
    assert result.status == OK and result.faults == (), result.faults
    assert result.details["clock"] == "keepalive" and result.values["recording_last_age_seconds"] < 60
    assert records.header_instant("Sat, 13 Nov 2010 23:29:00 GMT", ZONE) == 1289690940.0


async def test_the_whole_window_is_asked_once_a_day_and_the_last_24_hours_in_between():
    now = time.time()
    footage_now = {"items": hourly(now - 35 * DAY, now - 5)}
    memory = MemoryBaselines()
    answer = lambda q: record_parts(RawGbDevice.sn_of(q), footage_now["items"])  # noqa: E731
    async with nvr(answer) as (p, server):
        first = await probe(p, baselines=memory)
        second = await probe(p, baselines=memory)
        # The disk was replaced an hour ago: the last 24 h do not reach back, so the next check asks it all.
        footage_now["items"] = [(now - 3600, now - 5)]
        wiped = await probe(p, baselines=memory)
        again = await probe(p, baselines=memory)
        windows = [field(q.body, "StartTime") for q in server.asked("RecordInfo")]
    assert [r.details["window_seconds"] for r in (first, second, wiped, again)] == [
        60 * DAY,
        DAY,
        DAY,
        60 * DAY,
    ]
    assert len(windows) == 4 and first.faults == second.faults == ()
    # Between whole asks the retention measured is carried on the recorder's clock, not grown.
    assert second.values["recording_retention_seconds"] == pytest.approx(
        first.values["recording_retention_seconds"], abs=5
    )
    assert second.values["recording_seconds_24h"] == pytest.approx(DAY, abs=60)
    assert footage.GAPS in wiped.faults  # 23 h missing from the last 24 h
    assert footage.RETENTION_SHORT in again.faults
    assert again.values["recording_retention_seconds"] == pytest.approx(3600, abs=60)
    # After a start's first round, each camera's next whole ask comes at its own phase of the day: a fleet's
    # whole asks spread over the hourly rounds instead of all falling in one.
    phases = sorted(recording_gb._phase(f"cam-{n}") / DAY for n in range(1000))
    assert phases[0] < 0.01 and phases[-1] > 0.99 and 0.4 < phases[500] < 0.6
    assert recording_gb._phase(CAMERA.id) > 600  # this test's second check is not yet due for a whole ask


# -- incomplete, never a gap ---------------------------------------------------------------------------------


async def test_an_answer_short_of_sumnum_is_incomplete_never_a_gap():
    now = time.time()
    items = hourly(now - 31 * DAY, now - 5)
    short = lambda q: record_parts(RawGbDevice.sn_of(q), items, sum_num=len(items) + 8)  # noqa: E731
    async with nvr(short) as (p, _):
        result = await probe(p, timeout=3.0)
    assert result.status == INCOMPLETE and not result.success and result.faults == ()
    assert f"{len(items)} of {len(items) + 8} items within 3 s" in (result.error or "")
    assert result.values == {}


async def test_a_silent_device_is_incomplete_and_a_missing_device_status_leaves_our_clock():
    now = time.time()
    async with nvr(lambda q: (), status=lambda q: ()) as (p, _):
        silent = await probe(p, timeout=2.0)
    assert silent.status == INCOMPLETE and "no answer within 2 s" in (silent.error or "")
    async with nvr(footage_answer(hourly(now - 31 * DAY, now)), status=lambda q: ()) as (p, _):
        result = await probe(p, timeout=8.0)
    assert result.status == OK and result.details["clock"] == "camwatch" and result.details["record"] == ""


async def test_a_million_items_endless_parts_and_a_lying_sumnum_are_bounded():
    now = time.time()
    few = hourly(now - 2 * 3600, now)

    def endless(query: SipReply):
        sn = RawGbDevice.sn_of(query)
        while True:  # empty parts claiming 50 items, for ever
            yield record_parts(sn, [], sum_num=50)[0]
            time.sleep(0.001)

    cases = {
        "million": (
            lambda q: record_parts(RawGbDevice.sn_of(q), few, sum_num=1_000_000),
            "more than one answer may hold (20000)",
        ),
        "endless": (endless, "more parts (51) than the 50 items announced"),
        "lying": (lambda q: record_parts(RawGbDevice.sn_of(q), few * 3, sum_num=2), "more items than SumNum"),
    }
    for name, (bodies, why) in cases.items():
        async with nvr(bodies) as (p, server):
            started = time.monotonic()
            result = await probe(p, timeout=20.0)
            took = time.monotonic() - started
            sent = server.sent
        assert result.status == INCOMPLETE, name
        assert why in (result.error or ""), (name, result.error)
        assert took < 10.0, name  # ended by the bound, not by the 20 s timeout
        assert p.queries.answers == {}, name
        assert not [c for d in p.devices.values() for c, _ in d.pending.values() if c == "RecordInfo"], name
        if name == "endless":
            assert sent >= 51


async def test_padding_past_the_byte_bound_ends_the_answer():
    answer = records.RecordAnswer(CHANNEL, ZONE, max_items=100)
    doc = manscdp.Manscdp("Response", "RecordInfo", 7, CHANNEL, sum_num=2)
    answer.feed(doc, 3 * records.ITEM_BYTES)
    assert answer.done.is_set() and "bytes for 2 items" in answer.reason


# -- only the owner's registered contact, only for an SN we sent --------------------------------------------


async def test_answers_from_another_port_or_a_neighbour_nvr_do_not_complete_the_query():
    now = time.time()
    items = hourly(now - 31 * DAY, now)
    fakes: list[RawGbDevice] = []
    async with nvr(lambda q: ()) as (p, server):
        # A registered neighbour NVR, its own password and contact: it may answer only its own queries.
        neighbour = RawGbDevice("34020000001180000002", p.local, PLATFORM_ID, DOMAIN, password=PASSWORD)
        fakes.append(neighbour)
        assert await asyncio.to_thread(neighbour.register) == 200

        def forged(query: SipReply) -> list[bytes]:
            # Forgers that even know the SN answer "all is well"; the NVR itself stays silent.
            fake = RawGbDevice(NVR, server.dev.platform, PLATFORM_ID, DOMAIN)  # as the NVR, another port
            fakes.append(fake)
            for body in record_parts(RawGbDevice.sn_of(query), items):
                fake.send(fake.request("MESSAGE", body))
                neighbour.send(neighbour.request("MESSAGE", body))
            return []

        server.records = forged
        result = await probe(p, timeout=2.0)
        assert p.dropped["wrong_contact"] >= 1 and p.dropped["unsolicited_response"] >= 1
    for fake in fakes:
        fake.close()
    assert result.status == INCOMPLETE and "no answer" in (result.error or "")


async def test_a_device_that_is_not_registered_says_so_without_a_recording_fault():
    async with nvr(lambda q: (), register=False) as (p, _):
        result = await probe(p)
    assert result.status == OFFLINE and result.faults == ()
    assert f"GB/T 28181 device {NVR} (owner of channel {CHANNEL}) is not registered" == result.error
    other = make_camera(id="lost", gb_id=channel_ids("34020000001180000077", 1)[0])
    async with nvr(lambda q: ()) as (p, _):
        lost = await probe(p, other)
    assert lost.status == OFFLINE and "no registered GB/T 28181 device lists channel" in (lost.error or "")
    no_platform = await recording.probe(CAMERA, ProbeContext(settings=RecordingSettings()))
    assert no_platform.status == SKIPPED


# -- a failed disk: the device's Alarm notification -------------------------------------------------------

NEIGHBOUR = "34020000001180000002"
CHANNEL_B = channel_ids(NVR, 2)[1]
CAMERA_B = make_camera(id="gb-cam-b", gb_id=CHANNEL_B, timezone="Asia/Shanghai")
BOTH = {CHANNEL: NVR, CHANNEL_B: NVR}


FAILURE, FULL = ("6", "1"), ("2", "3")  # (AlarmMethod, AlarmType): 存储设备磁盘故障报警, 存储设备磁盘满报警


def alarm(
    dev: RawGbDevice, about: str, kind: tuple[str, str], *, sn: int = 7, encoding: str = "GB2312"
) -> bytes:
    """A device's Alarm Notify (GB/T 28181-2016 A.2.5, 报警通知) of ``kind`` (AlarmMethod, Info/AlarmType)."""
    method, alarm_type = kind
    xml = (
        f'<?xml version="1.0" encoding="{encoding}"?>\r\n<Notify>\r\n<CmdType>Alarm</CmdType>\r\n'
        f"<SN>{sn}</SN>\r\n<DeviceID>{about}</DeviceID>\r\n<AlarmPriority>1</AlarmPriority>\r\n<AlarmMethod>{method}</AlarmMethod>"
        f"\r\n<AlarmTime>{local(time.time())}</AlarmTime>\r\n<AlarmDescription>硬盘异常</AlarmDescription>\r\n"
        f"<Info>\r\n<AlarmType>{alarm_type}</AlarmType>\r\n</Info>\r\n</Notify>\r\n"
    )
    return dev.request("MESSAGE", xml.encode(encoding))


def per_channel(items: list[tuple[float, float]], silent: str = "") -> Bodies:
    """Footage of whichever channel is asked (none for ``silent``: that answer never comes)."""

    def answer(query: SipReply) -> list[bytes]:
        asked = field(query.body, "DeviceID")
        return [] if asked == silent else record_parts(RawGbDevice.sn_of(query), items, channel=asked)

    return answer


async def test_a_disk_failure_alarm_is_a_storage_fault_on_every_channel_of_the_device_at_the_next_check():
    now = time.time()
    async with nvr(per_channel(hourly(now - 31 * DAY, now - 5), silent=CHANNEL_B), owners=BOTH) as (
        p,
        server,
    ):
        before = await probe(p)
        assert before.status == OK and before.faults == () and "storage_alarm" not in before.details
        server.dev.send(alarm(server.dev, NVR, FAILURE, sn=4242))  # GB2312, about the NVR itself
        await until(lambda: p.alarms["disk_failure"] == 1)
        after = await probe(p)
        silent = await probe(p, CAMERA_B, timeout=1.0)
        p.devices[NVR].storage_alarms["disk_failure"] -= alarms.HOLD  # a day later, no alarm since
        later = await probe(p)
    assert after.status == OK and after.faults == (recording.STORAGE_FAULT,)
    assert after.details["storage_alarm"] == "disk failure"
    # The device's failed disk, for camwatch_recorder_disk_ok: RecorderStorageFault pages once per device.
    assert after.details["recorder"] == NVR and [d["ok"] for d in after.details["disks"]] == [False]
    # The other channel's answer never came: incomplete, and its recorder's disk failure still says so.
    assert silent.status == INCOMPLETE and silent.faults == (recording.STORAGE_FAULT,)
    assert silent.details["storage_alarm"] == "disk failure"
    # Both channels' checks name one failed disk of one recorder: RecorderStorageFault counts it once.
    tracks = [SimpleNamespace(probes={NAME: r}, probe_times={NAME: 1.0}) for r in (after, silent)]
    _, disk_ok = exporter.recorder_disks(cast(Any, tracks))
    assert [(x.labels, x.value) for x in disk_ok.samples] == [({"recorder": NVR, "disk": "alarm"}, 0.0)]
    assert later.faults == () and "storage_alarm" not in later.details


async def test_a_disk_full_alarm_is_kept_in_details_and_counted_but_no_fault_and_other_alarms_only_counted():
    now = time.time()
    async with nvr(footage_answer(hourly(now - 31 * DAY, now - 5))) as (p, server):
        server.dev.send(alarm(server.dev, CHANNEL, FULL, encoding="UTF-8"))  # about a channel it owns
        server.dev.send(alarm(server.dev, NVR, ("2", "2")))  # 设备防拆报警: a device alarm, not storage
        server.dev.send(alarm(server.dev, CHANNEL, ("5", "1")))  # a video alarm of type 1: not a disk
        server.dev.send(alarm(server.dev, NVR, ("2", "6")))  # not in the standard's table: other
        await until(lambda: sum(p.alarms.values()) == 4 and len(server.asked("Alarm")) == 4)
        result = await probe(p)
    assert dict(p.alarms) == {"disk_full": 1, "other": 3}
    # Each answered with the platform's Response (A.2.6): the alarm's SN and DeviceID, Result OK.
    answers = [
        (field(a.body, "SN"), field(a.body, "DeviceID"), field(a.body, "Result"))
        for a in server.asked("Alarm")
    ]
    assert answers == [("7", CHANNEL, "OK"), ("7", NVR, "OK"), ("7", CHANNEL, "OK"), ("7", NVR, "OK")]
    assert result.status == OK and result.faults == ()
    assert result.details["storage_alarm"] == "disk full" and "disks" not in result.details


async def test_alarms_from_a_stranger_or_a_neighbour_about_anothers_channel_are_ignored():
    now = time.time()
    async with nvr(footage_answer(hourly(now - 31 * DAY, now - 5))) as (p, server):
        neighbour = RawGbDevice(NEIGHBOUR, p.local, PLATFORM_ID, DOMAIN, password=PASSWORD)
        fake = RawGbDevice(NVR, server.dev.platform, PLATFORM_ID, DOMAIN)  # as the NVR, from another port
        try:
            assert await asyncio.to_thread(neighbour.register) == 200
            neighbour.send(
                alarm(neighbour, CHANNEL, FAILURE)
            )  # the NVR's channel: not the neighbour's to report
            fake.send(alarm(fake, NVR, FAILURE))
            neighbour.send(
                alarm(neighbour, NEIGHBOUR, FAILURE)
            )  # its own disk: counted, its own channels only
            await until(lambda: p.dropped["not_owner"] == 1 and p.dropped["wrong_contact"] >= 1)
            await until(lambda: p.alarms["disk_failure"] == 1)
            result = await probe(p)
        finally:
            neighbour.close()
            fake.close()
    assert result.status == OK and result.faults == () and "storage_alarm" not in result.details
    assert p.devices[NVR].storage_alarms == {} and set(p.devices[NEIGHBOUR].storage_alarms) == {
        "disk_failure"
    }


async def test_an_alarm_flood_is_counted_kept_in_two_stamps_and_answered_within_the_rate():
    now = time.time()
    flood = 300
    async with nvr(footage_answer(hourly(now - 31 * DAY, now - 5))) as (p, server):
        started = time.monotonic()
        for n in range(flood):
            server.dev.send(alarm(server.dev, NVR, (FAILURE, FULL, ("2", "1"))[n % 3], sn=n + 1))
            time.sleep(0.0005)  # paced: the kernel's UDP buffer is not what is tested
        await until(lambda: sum(p.alarms.values()) == flood)
        elapsed = time.monotonic() - started
        result = await probe(p)
    assert dict(p.alarms) == {"disk_failure": 100, "disk_full": 100, "other": 100}
    assert set(p.devices[NVR].storage_alarms) == {"disk_failure", "disk_full"}
    # Our Responses: a burst of 10, then the rate; the rest unsent (the NVR's socket may drop some of those).
    answered = flood - p.dropped["alarm_rate"]
    assert 10 <= answered <= 10 + elapsed * limits.ALARM_ANSWER_RATE + 1
    assert len(server.asked("Alarm")) <= answered
    assert result.faults == (recording.STORAGE_FAULT,) and result.details["storage_alarm"] == "disk failure"


# -- the running service: scheduled checks, metrics, /recordings and the CLI --------------------------------


def _write_config(tmp_path, web_port: int, gb_port: int, cameras: dict[str, str]) -> Path:
    rows = "".join(f"  - {{id: {cid}, gb_id: '{gb}'}}\n" for cid, gb in cameras.items())
    digest = hashlib.sha256(b"ops-pw").hexdigest()
    (tmp_path / "camwatch.yaml").write_text(
        f"cameras:\n{rows}"
        f"monitor:\n  listen: 127.0.0.1:{web_port}\n  state: state.db\n"
        "  recording: {interval: 1h, timeout: 8s, jitter: 0}\n"
        f"  web: {{basic_auth_users: {{ops: 'sha256:{digest}'}}, probe_min_interval: 0.1}}\n"
        f"gb28181:\n  listen: 127.0.0.1:{gb_port}\n  id: '{PLATFORM_ID}'\n  domain: '{DOMAIN}'\n"
        "  password_env: GB_PW\n  keepalive: {interval: 1s, count: 5}\n",
        encoding="utf-8",
    )
    return tmp_path / "camwatch.yaml"


def _cli(*args: str) -> tuple[int, str]:
    from typer.testing import CliRunner

    from camwatch.cli import app

    result = CliRunner().invoke(app, ["recordings", *args])
    return result.exit_code, result.output


def _metrics(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    from prometheus_client.parser import text_string_to_metric_families

    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_the_service_checks_gb_cameras_recordings_and_answers_recordings(tmp_path, monkeypatch):
    from camwatch.config.load import load_config
    from camwatch.monitor.service import Service
    from camwatch.sim.demo import free_udp_and_tcp_port
    from camwatch.sim.gb28181_device import SimGbDevice
    from support.gst_rtsp import unused_port

    ok, gap, off, silent = channel_ids(NVR, 4)
    cameras = {"gb-ok": ok, "gb-gap": gap, "gb-off": off, "gb-silent": silent}
    lost = {"gb-lost": channel_ids("34020000001180000009", 1)[0]}  # no device lists it
    config = _write_config(tmp_path, unused_port(), free_udp_and_tcp_port("127.0.0.1"), {**cameras, **lost})
    monkeypatch.setenv("GB_PW", PASSWORD)
    monkeypatch.setenv("CAMWATCH_WEB_PASSWORD", "ops-pw")
    code, said = await asyncio.to_thread(_cli, str(config), "gb-gap", "--user", "ops")
    assert code == 1 and "no camwatch service answers at http://127.0.0.1:" in said

    svc = Service(load_config(config))
    await svc.start()
    assert svc.gb is not None
    now = time.time()
    # Yesterday 20:00-21:00 UTC missing (the device speaks reports.timezone, UTC: no timezone column).
    hole = now - now % DAY - 4 * 3600
    sim = SimGbDevice(
        NVR,
        svc.gb.local,
        PLATFORM_ID,
        DOMAIN,
        password=PASSWORD,
        channels=dict.fromkeys(cameras.values(), "ON"),
        keepalive_interval=0.3,
        timezone="UTC",
        footage={gap: [(now - 40 * DAY, hole), (hole + 3600, now)]},
        record_words={off: "OFF"},
        record_silent={silent},
    )
    try:
        await sim.start()
        await until(lambda: all(svc.tracker.tracks[c].up for c in cameras), timeout=15)
        # The first scheduled check ran before the NVR registered ("not registered"); the next is an hour
        # away: run a round now, as the scheduler does.
        await svc.scheduler.run_once(kinds=["recording"])
        probes = {c: svc.tracker.tracks[c].probes["recording"] for c in cameras}
        assert {c: p.status for c, p in probes.items()} == {
            "gb-ok": OK, "gb-gap": OK, "gb-off": OK, "gb-silent": INCOMPLETE
        }, probes  # fmt: skip
        metrics = _metrics(svc.exporter.exposition().decode())

        def fault(camera: str, name: str) -> float:
            return metrics.get(("camwatch_video_fault", (("camera", camera), ("fault", name))), 0.0)

        assert fault("gb-gap", "recording_gaps") == 1.0 and fault("gb-ok", "recording_gaps") == 0.0
        assert fault("gb-off", "recording_stopped") == 1.0 and fault("gb-ok", "recording_stopped") == 0.0
        assert metrics[("camwatch_recording_gaps_24h", (("camera", "gb-gap"),))] == 1.0
        assert svc.tracker.tracks["gb-off"].up is True  # a stopped recording: the camera is still up

        # `camwatch recordings` asks the running service (same basic auth as /probe), which asks the NVR.
        code, said = await asyncio.to_thread(_cli, str(config), "gb-gap", "--json")
        assert code == 1 and "wants a login" in said
        day = datetime.fromtimestamp(hole, ZoneInfo("UTC")).date().isoformat()
        asked = (str(config), "gb-gap", "--user", "ops", "--day", day)
        code, said = await asyncio.to_thread(_cli, *asked, "--json")
        assert code == 0, said
        entry = json.loads(said)
        assert (entry["camera"], entry["day"], entry["timezone"]) == ("gb-gap", day, "UTC")
        assert [(g["from"], g["to"]) for g in entry["gaps"]] == [("20:00:00", "21:00:00")]
        assert entry["recorded_seconds"] == pytest.approx(DAY - 3600, abs=2)
        await asyncio.sleep(0.2)  # web.probe_min_interval: one question per camera per interval
        code, said = await asyncio.to_thread(_cli, *asked)
        assert code == 0 and "1 gap(s)" in said
        code, said = await asyncio.to_thread(_cli, str(config), "gb-silent", "--user", "ops")
        assert code == 1 and "answered 502" in said and "answer incomplete" in said
        code, said = await asyncio.to_thread(_cli, str(config), "gb-lost", "--user", "ops")
        assert code == 1 and "answered 503: no registered GB/T 28181 device lists channel" in said
        assert svc.tracker.tracks["gb-lost"].probes["recording"].status == OFFLINE
    finally:
        await sim.stop()
        await svc.stop()
