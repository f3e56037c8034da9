"""GB/T 28181 upper platform over real UDP and TCP sockets on 127.0.0.1, with simulated devices and NVRs."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from pydantic import SecretStr

from camwatch.config.load import load_config
from camwatch.config.models import (
    Config,
    Debounce,
    Gb28181Device,
    Gb28181Keepalive,
    Gb28181Settings,
    MonitorSettings,
    RtspSettings,
)
from camwatch.monitor.gb28181 import digest, manscdp, sip
from camwatch.monitor.gb28181.platform import Platform
from camwatch.monitor.probes.base import ProbeResult
from camwatch.monitor.service import Service
from camwatch.monitor.tracker import Tracker
from camwatch.sim.gb28181_device import SimGbDevice, channel_ids
from support.cameras import make_camera
from support.gst_rtsp import unused_port
from support.pipeline import sample, scrape

PLATFORM_ID = "34020000002000000001"
DOMAIN = "3402000000"
PASSWORD = "Gb-s3cret!pw"
NVR = "34020000001180000001"
IPC = "34020000001320000009"


def settings(**overrides) -> Gb28181Settings:
    fields = {
        "listen": f"127.0.0.1:{unused_port()}",
        "id": PLATFORM_ID,
        "domain": DOMAIN,
        "keepalive": Gb28181Keepalive(interval=0.3, count=2),
        **overrides,
    }
    return Gb28181Settings(**fields).with_passwords({"": SecretStr(PASSWORD)})


class Results:
    """What the platform handed to the monitor, with the time each arrived."""

    def __init__(self) -> None:
        self.latest: dict[str, ProbeResult] = {}
        self.times: dict[str, float] = {}

    def __call__(self, gb_id: str, result: ProbeResult, now: float) -> None:
        self.latest[gb_id] = result
        self.times[gb_id] = now

    def up(self, gb_id: str) -> bool | None:
        r = self.latest.get(gb_id)
        return None if r is None else r.success


@asynccontextmanager
async def platform(
    owners: dict[str, str] | None = None, **overrides
) -> AsyncIterator[tuple[Platform, Results]]:
    results = Results()
    known = lambda gid: gid != channel_ids(NVR, 9)[-1]  # noqa: E731
    p = Platform(settings(**overrides), on_result=results, known=known, owners=owners)
    await p.start()
    try:
        yield p, results
    finally:
        await p.stop()


def device(p: Platform, device_id: str = IPC, **fields) -> SimGbDevice:
    fields.setdefault("password", PASSWORD)
    fields.setdefault("keepalive_interval", 0.1)
    return SimGbDevice(device_id, p.local, PLATFORM_ID, DOMAIN, **fields)


async def until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


def udp_exchange(address: tuple[str, int], data: bytes, timeout: float = 2.0) -> bytes | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(data, address)
        try:
            return s.recv(65536)
        except TimeoutError:
            return None


def register_bytes(device_id: str, authorization: str = "", expires: int = 3600) -> bytes:
    auth = f"Authorization: {authorization}\r\n" if authorization else ""
    return (
        f"REGISTER sip:{PLATFORM_ID}@{DOMAIN} SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 127.0.0.1:5060;rport;branch=z9hG4bK1\r\n"
        f"From: <sip:{device_id}@{DOMAIN}>;tag=1\r\nTo: <sip:{device_id}@{DOMAIN}>\r\n"
        f"Call-ID: c1\r\nCSeq: 1 REGISTER\r\nContact: <sip:{device_id}@127.0.0.1:5060>\r\n"
        f"{auth}Expires: {expires}\r\nContent-Length: 0\r\n\r\n"
    ).encode()


def _client_response(creds: dict[str, str], password: str) -> str:
    """The device's REGISTER digest (RFC 2617, qop=auth), computed here and not by camwatch's own code."""

    def md5(*parts: str) -> str:
        return hashlib.md5(":".join(parts).encode(), usedforsecurity=False).hexdigest()

    ha2 = md5("REGISTER", creds["uri"])
    ha1 = md5(creds["username"], creds["realm"], password)
    return md5(ha1, creds["nonce"], creds["nc"], creds["cnonce"], creds["qop"], ha2)


async def test_register_with_digest_then_200_with_gb_date_and_expires():
    async with platform(max_expires=600) as (p, _):
        first = await asyncio.to_thread(udp_exchange, p.local, register_bytes(IPC))
        assert first is not None
        challenge = sip.parse(first, max_bytes=65536)
        assert challenge.status == 401
        params = digest.parse_authorization(challenge.header("www-authenticate"))
        assert params["realm"] == DOMAIN and params["qop"] == "auth" and params["algorithm"] == "MD5"
        creds = {"username": IPC, "realm": DOMAIN, "nonce": params["nonce"], "qop": "auth", "nc": "00000001"}
        creds |= {"uri": f"sip:{PLATFORM_ID}@{DOMAIN}", "cnonce": "abc"}
        creds["response"] = _client_response(creds, PASSWORD)
        auth = "Digest " + ", ".join(f'{k}="{v}"' for k, v in creds.items())
        ok = await asyncio.to_thread(udp_exchange, p.local, register_bytes(IPC, auth, expires=7200))
        assert ok is not None
        answer = sip.parse(ok, max_bytes=65536)
        assert answer.status == 200
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}", answer.header("date"))
        assert answer.header("expires") == "600"  # capped at max_expires
        assert p.devices[IPC].online and p.devices[IPC].transport == "UDP"

        # The same response again (seen on the wire, replayed from another host): challenged afresh, and
        # the registration stays where it was.
        registered_at = p.devices[IPC].address
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.3", 0))
            s.settimeout(2.0)
            s.sendto(register_bytes(IPC, auth, expires=7200), p.local)
            replayed = sip.parse(await asyncio.to_thread(s.recv, 65536), max_bytes=65536)
        assert replayed.status == 401 and "stale=true" in replayed.header("www-authenticate")
        assert p.devices[IPC].address == registered_at

        # Expires: 0 unregisters (the nonce's next count): offline at once, and its keepalives get 404.
        creds["nc"] = "00000002"
        creds["response"] = _client_response(creds, PASSWORD)
        auth = "Digest " + ", ".join(f'{k}="{v}"' for k, v in creds.items())
        gone = await asyncio.to_thread(udp_exchange, p.local, register_bytes(IPC, auth, expires=0))
        assert gone is not None and sip.parse(gone, max_bytes=65536).status == 200
        assert not p.devices[IPC].online and not p.devices[IPC].registered


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
async def test_keepalive_expiry_turns_device_offline_within_interval_times_count(transport):
    async with platform() as (p, results):
        ipc = device(p, transport=transport, channels={IPC: "ON"})
        await ipc.start()
        try:
            assert ipc.register_status == 200
            await until(lambda: results.up(IPC) is True)
            ipc.keepalives = False
            await until(lambda: results.up(IPC) is False, timeout=10)
            late = results.times[IPC] - p.devices[IPC].last_keepalive
            ka = p.settings.keepalive
            assert ka.interval * ka.count <= late <= ka.interval * ka.count + 1.0
            assert results.latest[IPC].error == "keepalives missed"
            # Back on the next keepalive (revive: keepalive, the default).
            ipc.send_keepalive()
            await until(lambda: results.up(IPC) is True)
        finally:
            await ipc.stop()


async def test_revive_register_answers_keepalives_404_until_registered_again():
    async with platform(revive="register") as (p, results):
        ipc = device(p, keepalive_interval=0.1)
        await ipc.start()
        try:
            await until(lambda: results.up(IPC) is True)
            ipc.keepalives = False
            await until(lambda: results.up(IPC) is False)
            before = p.messages[("MESSAGE", "404")]
            ipc.send_keepalive()
            await until(lambda: p.messages[("MESSAGE", "404")] > before)
            assert results.up(IPC) is False
            assert await ipc.register() == 200
            await until(lambda: results.up(IPC) is True)
        finally:
            await ipc.stop()


async def test_keepalives_count_only_from_the_host_that_registered():
    async with platform() as (p, results):
        ipc = device(p)
        await ipc.start()
        try:
            await until(lambda: results.up(IPC) is True)
            ipc.keepalives = False
            await until(lambda: results.up(IPC) is False)
            body = f"<Notify><CmdType>Keepalive</CmdType><SN>1</SN><DeviceID>{IPC}</DeviceID></Notify>"
            spoof = (
                f"MESSAGE sip:{PLATFORM_ID}@{DOMAIN} SIP/2.0\r\n"
                "Via: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK2\r\n"
                f'From: "sip:x" <sip:{IPC}@{DOMAIN}>;tag=2\r\nTo: <sip:{PLATFORM_ID}@{DOMAIN}>\r\n'
                f"Call-ID: k2\r\nCSeq: 2 MESSAGE\r\nContent-Length: {len(body)}\r\n\r\n{body}"
            ).encode()
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.bind(("127.0.0.2", 0))
                s.settimeout(2.0)
                s.sendto(spoof, p.local)
                answer = sip.parse(await asyncio.to_thread(s.recv, 65536), max_bytes=65536)
            assert answer.status == 404 and results.up(IPC) is False
            ipc.send_keepalive()  # the registered host still revives it
            await until(lambda: results.up(IPC) is True)
        finally:
            await ipc.stop()


async def test_catalog_in_many_packets_gb2312_and_vendor_status_words_over_tcp():
    ids = channel_ids(NVR, 9)
    words = ["ON", "OFF", "ONLINE", "OFFLINE", "OK", "ON", "ON", "ON", "ON"]
    async with platform() as (p, results):
        nvr = device(p, NVR, transport="TCP", encoding="gb2312", items_per_packet=2, name="县城东路口",
                     channels=dict(zip(ids, words, strict=True)), device_time_offset=42.0)  # fmt: skip
        await nvr.start()
        try:
            await until(lambda: len(results.latest) == 10 and p.devices[NVR].clock_offset is not None)
            dev = p.devices[NVR]
            assert [results.up(c) for c in ids] == [True, False, True, False, True, True, True, True, True]
            assert dev.channels[ids[0]].name == "县城东路口1"  # GB2312 body decoded
            assert results.latest[ids[1]].error == "channel Status OFF in the device's catalog"
            assert dev.unknown == 1  # the ledger (``known``) lacks the last channel; it is kept, not dropped
            assert p.parent_of(ids[4]) == NVR
            assert dev.clock_offset == pytest.approx(42.0, abs=2.0)
            assert dev.device_status["Record"] == "OFF"

            # A channel leaves the catalog: once the next whole catalog has arrived it is gone.
            del nvr.channels[ids[8]]
            nvr.channels[ids[0]] = "OFF"
            p._query(dev, "Catalog")
            await until(lambda: ids[8] not in dev.channels and results.up(ids[0]) is False)
            assert dev.unknown == 0
        finally:
            await nvr.stop()


async def test_catalog_notify_events_switch_and_remove_channels():
    ids = channel_ids(NVR, 3)
    async with platform() as (p, results):
        nvr = device(p, NVR, channels=dict.fromkeys(ids, "ON"), encoding="utf-8")
        await nvr.start()
        try:
            # Catalog NOTIFYs count only within the platform's subscription (its dialog).
            await until(lambda: all(results.up(c) is True for c in ids) and nvr.subscribed)
            nvr.send_catalog_event({ids[0]: "OFF", ids[1]: "DEL"})
            await until(lambda: results.up(ids[0]) is False and ids[1] not in p.devices[NVR].channels)
            assert results.up(ids[1]) is False  # a removed channel that was up is reported gone
            assert results.up(ids[2]) is True
            assert p.messages[("NOTIFY", "Catalog")] == 1
        finally:
            await nvr.stop()


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
async def test_the_platform_subscribes_to_each_catalog_and_a_switched_channel_arrives_at_once(transport):
    ids = channel_ids(NVR, 3)
    # Catalog queries far apart: only the subscription can bring the change in time.
    async with platform(catalog_interval=3600, catalog_subscription=2.0) as (p, results):
        nvr = device(p, NVR, channels=dict.fromkeys(ids, "ON"), transport=transport)
        await nvr.start()
        try:
            await until(lambda: all(results.up(c) is True for c in ids) and nvr.subscribed)
            first_end = nvr.subscribed_until
            nvr.set_channel(ids[1], "OFF")
            await until(lambda: results.up(ids[1]) is False, timeout=2.0)
            assert results.latest[ids[1]].error == "channel Status OFF in the device's catalog"
            nvr.set_channel(ids[1], "ON")
            await until(lambda: results.up(ids[1]) is True, timeout=2.0)
            # Renewed before it runs out (at 90 % of its 2 s).
            await until(lambda: nvr.subscribed_until > first_end, timeout=3.0)
            assert p.messages[("NOTIFY", "Catalog")] == 2
            assert p.messages[("MESSAGE", "Catalog")] == 1  # the one catalog asked at registration
        finally:
            await nvr.stop()


async def test_no_subscription_when_switched_off():
    async with platform(catalog_subscription=0) as (p, results):
        ipc = device(p, channels={IPC: "ON"})
        await ipc.start()
        try:
            await until(lambda: results.up(IPC) is True)
            await asyncio.sleep(0.5)  # several ticks
            assert not ipc.subscribed and ipc.subscribed_until == 0.0
        finally:
            await ipc.stop()


async def test_wrong_password_is_403_rate_limited_and_never_logged(caplog):
    caplog.set_level(logging.DEBUG)
    async with platform(auth_failures_per_minute=2) as (p, results):
        bad = device(p, password="not-the-password", answer_timeout=0.3)
        await bad.start(register=False)
        try:
            assert await bad.register() == 403
            assert await bad.register() == 403
            with pytest.raises(TimeoutError):  # third failure within the minute: dropped unanswered
                await bad.register()
            assert p.dropped["auth_rate"] >= 1
            assert IPC not in p.devices and results.latest == {}
        finally:
            await bad.stop()
    text = caplog.text
    assert "wrong password" in text
    assert PASSWORD not in text and "not-the-password" not in text and "response=" not in text


async def test_malformed_and_oversized_sip_is_dropped_and_the_server_keeps_answering():
    async with platform(max_message_bytes=4096) as (p, results):
        for junk in (b"\x00\xff garbage", b"REGISTER\r\n\r\n", b"INVITE x SIP/2.0\r\nnocolon\r\n\r\n",
                     register_bytes(IPC)[:-4] + b"\r\nX-Pad: " + b"a" * 5000 + b"\r\n\r\n"):  # fmt: skip
            assert await asyncio.to_thread(udp_exchange, p.local, junk, 0.3) is None
        assert p.dropped["malformed"] == 3 and p.dropped["too_large"] == 1
        # TCP: a Content-Length over the bound closes the connection without reading the body.
        reader, writer = await asyncio.open_connection(*p.local)
        writer.write(b"MESSAGE sip:x SIP/2.0\r\nContent-Length: 99999999\r\n\r\n")
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()
        # A header that is not UTF-8 (a GB2312 display name) is no reason to fail.
        named = register_bytes(IPC).replace(b"From: <", 'From: "东门" <'.encode("gb2312"))
        answer = await asyncio.to_thread(udp_exchange, p.local, named)
        assert answer is not None and sip.parse(answer, max_bytes=65536).status == 401
        # An XML bomb in a MESSAGE body is refused by defusedxml.
        with pytest.raises(manscdp.ManscdpError):
            manscdp.parse(b'<!DOCTYPE q [<!ENTITY a "aaaa">]><Query>&a;</Query>', max_items=10)
        ipc = device(p)
        await ipc.start()
        try:
            await until(lambda: results.up(IPC) is True)
        finally:
            await ipc.stop()


async def test_register_flood_is_bounded_by_the_rate():
    async with platform(register_rate=20.0) as (p, _):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.setblocking(False)
            start = time.monotonic()
            for n in range(400):
                s.sendto(register_bytes(f"3402000000132{n:07d}"), p.local)
            await asyncio.sleep(0.5)
            elapsed = time.monotonic() - start
            answers = 0
            while True:
                try:
                    s.recv(65536)
                    answers += 1
                except BlockingIOError:
                    break
        assert answers <= 20 + 20 * elapsed + 1  # one second's burst, then the rate
        # The kernel may drop some of the 400 datagrams itself; every one that arrived is counted.
        assert p.dropped["register_rate"] == p.messages[("REGISTER", "dropped")] > 50
        assert p.messages[("REGISTER", "401")] == answers


async def test_unknown_device_is_404_and_devices_are_bounded():
    listed = ["34020000001320000001", "34020000001320000002"]
    devices = {d: Gb28181Device() for d in listed}
    async with platform(allow_unknown_devices=False, devices=devices, max_devices=1) as (p, _):
        sims = [device(p, d) for d in (IPC, *listed)]
        for sim in sims:
            await sim.start(register=False)
        try:
            assert [await sim.register() for sim in sims] == [404, 200, 503]
            # A device that unregistered makes room for another.
            assert await sims[1].register(expires=0) == 200
            assert await sims[2].register() == 200
            assert list(p.devices) == [listed[1]]
        finally:
            for sim in sims:
                await sim.stop()


async def test_service_links_ledger_cameras_and_a_silent_nvr_is_one_offline_cluster(tmp_path, closed_port):
    a, b = NVR, "34020000001180000002"
    a_ids, b_ids = channel_ids(a, 4), channel_ids(b, 3)
    cameras = [make_camera(id=f"a{n}", gb_id=c) for n, c in enumerate(a_ids)]
    cameras += [make_camera(id=f"b{n}", gb_id=c) for n, c in enumerate(b_ids[:2])]  # b's third: unknown
    # A channel no device reports: offline once a keepalive deadline has passed since start.
    ghost = make_camera(id="ghost", gb_id=channel_ids(a, 5)[4])
    # Both views: the stream probe decides camwatch_camera_up, the GB/T 28181 view is its own probe line.
    both = make_camera(
        id="both", gb_id=b_ids[0].replace("131", "132"), rtsp_url=f"rtsp://127.0.0.1:{closed_port}/x"
    )
    cfg = Config(
        source=tmp_path / "camwatch.yaml",
        cameras=(*cameras, both, ghost),
        monitor=MonitorSettings(
            listen=f"127.0.0.1:{unused_port()}",
            state=tmp_path / "state.db",
            rtsp=RtspSettings(interval=1.0, timeout=1.0, jitter=0.0),
            debounce=Debounce(down_after=1, up_after=1),
        ),
        gb28181=settings(),
    )
    svc = Service(cfg)
    await svc.start()
    assert svc.gb is not None
    sims = [
        device(svc.gb, a, channels=dict.fromkeys(a_ids, "ON"), transport="TCP"),
        device(svc.gb, b, channels={**dict.fromkeys(b_ids, "ON"), both.gb_id: "ON"}, encoding="utf-8"),
    ]
    try:
        for sim in sims:
            await sim.start()

        async def linked_up() -> bool:
            s = await scrape(svc.url)
            ups = [sample(s, "camwatch_camera_up", camera=c.id) for c in cameras]
            probed = sample(s, "camwatch_camera_up", camera="both")
            return ups == [1.0] * 6 and probed == 0.0

        await until_async(linked_up)
        await until_async(lambda: _all_down(svc, ["ghost"]))
        ghost_result = svc.tracker.tracks["ghost"].probes["gb28181"]
        assert ghost_result.error == "no registered device reports this channel"
        s = await scrape(svc.url)
        assert sample(s, "camwatch_probe_success", camera="both", probe="gb28181") == 1.0
        assert sample(s, "camwatch_gb28181_device_up", device=a) == 1.0
        assert sample(s, "camwatch_gb28181_channels", device=b, state="up") == 4.0
        assert sample(s, "camwatch_gb28181_unknown_channels", device=b) == 1.0
        assert sample(s, "camwatch_gb28181_keepalive_age_seconds", device=a) < 5

        sims[0].keepalives = False  # NVR a falls silent
        await until_async(lambda: _all_down(svc, [c.id for c in cameras[:4]]))
        svc.update_clusters()
        assert [(c.key, c.cameras) for c in svc.clusters] == [(f"gb28181:{a}", ("a0", "a1", "a2", "a3"))]
        s = await scrape(svc.url)
        assert sample(s, "camwatch_gb28181_device_up", device=a) == 0.0
        assert sample(s, "camwatch_gb28181_channels", device=a, state="down") == 4.0
        assert [sample(s, "camwatch_camera_up", camera=f"b{n}") for n in range(2)] == [1.0, 1.0]
        assert sample(s, "camwatch_camera_status", camera="a0", status="offline") == 1.0

        # A reload linking b's unknown channel: known (and up) at once, without waiting for a catalog.
        assert svc.reload(
            cfg.model_copy(update={"cameras": (*cfg.cameras, make_camera(id="b2", gb_id=b_ids[2]))})
        )
        assert svc.tracker.tracks["b2"].up is True
        assert svc.gb.devices[b].unknown == 0
    finally:
        for sim in sims:
            await sim.stop()
        await svc.stop()


async def _all_down(svc: Service, ids: list[str]) -> bool:
    return all(svc.tracker.tracks[c].up is False for c in ids)


async def until_async(predicate, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.1)


def test_config_section_and_ledger_column_load(tmp_path):
    (tmp_path / "ledger.csv").write_text(
        "编号,名称,国标编码\ncam-1,东门,34020000001310000001\ncam-2,西门,\n", encoding="utf-8"
    )
    (tmp_path / "nvr.pw").write_text("nvr-only\n")
    (tmp_path / "camwatch.yaml").write_text(
        "cameras: ledger.csv\n"
        "gb28181:\n  listen: 0.0.0.0:5060\n  id: '34020000002000000001'\n  domain: '3402000000'\n"
        "  password_env: GB_PW\n  keepalive: {interval: 30s, count: 4}\n"
        f"  devices:\n    '{NVR}': {{password_file: nvr.pw}}\n"
    )
    cfg = load_config(tmp_path / "camwatch.yaml", environ={"GB_PW": PASSWORD})
    gb = cfg.gb28181
    assert gb is not None and gb.keepalive.interval == 30.0 and gb.keepalive.count == 4
    assert gb.password_for(IPC).get_secret_value() == PASSWORD
    assert gb.password_for(NVR).get_secret_value() == "nvr-only"
    assert PASSWORD not in repr(gb) and "nvr-only" not in repr(gb)
    assert [c.gb_id for c in cfg.cameras] == ["34020000001310000001", None]
    assert tmp_path / "nvr.pw" in cfg.inputs  # a changed password file reloads the config


def test_tracker_takes_gb28181_as_settled_and_never_counts_it_toward_a_probes_debounce():
    both = make_camera(id="both", rtsp_url="rtsp://127.0.0.1:1/x", gb_id=IPC)
    only = make_camera(id="only", gb_id=NVR)
    tracker = Tracker({"both": both, "only": only}, Debounce(down_after=2, up_after=2))
    rtsp_ok, rtsp_bad = ProbeResult("rtsp", True, "ok", 0.1), ProbeResult("rtsp", False, "offline", 0.1)
    gb_up, gb_down = ProbeResult("gb28181", True, "ok", 0.0), ProbeResult("gb28181", False, "offline", 0.0)

    assert tracker.observe("both", {"gb28181": gb_up}, 1.0) is None  # the probe decides: nothing known yet
    assert tracker.tracks["both"].up is None
    assert tracker.observe("both", {"rtsp": rtsp_ok}, 2.0) is not None
    assert tracker.observe("both", {"rtsp": rtsp_bad}, 3.0) is None  # 1 of down_after=2
    assert tracker.observe("both", {"gb28181": gb_down}, 4.0) is None  # no new stream evidence
    assert tracker.tracks["both"].up is True
    assert tracker.observe("both", {"rtsp": rtsp_bad}, 5.0) is not None  # the second stream failure
    assert tracker.tracks["both"].up is False

    tracker.observe("only", {"gb28181": gb_up}, 1.0)
    down = tracker.observe("only", {"gb28181": gb_down}, 2.0)  # the keepalive deadline already debounced it
    assert down is not None and down.up is False and down.status == "offline"


def test_a_digest_response_counts_once_per_nonce_count_and_the_memory_is_bounded(monkeypatch):
    clock = [1_000_000.0]
    nonces = digest.Nonces(clock=lambda: clock[0])
    nonce = nonces.issue()
    used = {"nonce": nonce, "qop": "auth", "nc": "00000001"}
    assert nonces.first_use(used)
    assert not nonces.first_use(used)  # replayed
    assert nonces.first_use(used | {"nc": "00000003"})
    assert not nonces.first_use(used | {"nc": "00000002"})  # counts only rise
    assert not nonces.first_use(used | {"nc": "zz"})
    bare = {"nonce": nonces.issue() + "x"}  # no qop: a nonce serves once
    assert nonces.first_use(bare) and not nonces.first_use(bare)
    # Bounded: old entries go first, so the newest registrations are still guarded.
    monkeypatch.setattr(digest, "USED_NONCES_MAX", 4)
    for n in range(10):
        clock[0] += 1
        assert nonces.first_use({"nonce": f"n{n}"})
    assert len(nonces._used) == 4 and not nonces.first_use({"nonce": "n9"})


def test_a_gb_only_camera_that_is_down_gives_the_platform_s_reason():
    from camwatch.config.models import Camera
    from camwatch.monitor.outcome import combine, reason
    from camwatch.monitor.probes.base import OFFLINE

    camera = Camera(id="gb-1", gb_id="34020000001310000001")
    silent = ProbeResult("gb28181", False, OFFLINE, 0.0, error="no registered device reports this channel")
    result = combine(camera, {"gb28181": silent}, timestamp=0.0)
    assert (result.up, result.status) == (False, "offline")
    # Not the generic "connection refused": nothing was connected to; the platform says what it knows.
    assert reason(camera, result) == "no registered device reports this channel"
