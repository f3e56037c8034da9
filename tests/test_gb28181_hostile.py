"""GB/T 28181, hostile round: peers over raw sockets (``RawGbDevice``, no camwatch code on their side) try to
speak for another device, forge answers, grow the metric series and exhaust the platform. Counts, not timings
(those are in benchmarks/bench_gb28181_hostile.py)."""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import time

import pytest
from test_gb28181 import DOMAIN, NVR, PASSWORD, PLATFORM_ID, device, platform, settings, until

from camwatch.config.models import Gb28181Keepalive
from camwatch.monitor.gb28181 import manscdp, ownership, vocab
from camwatch.monitor.gb28181.metrics import Gb28181Collector
from camwatch.sim.gb28181_device import channel_ids
from support.hostile_devices import RawGbDevice

NVR_B = "34020000001180000002"
# Raw devices send keepalives only when a test says so: they stay online for the test's length.
LONG = Gb28181Keepalive(interval=5.0, count=2)


def raw(p, device_id: str = NVR_B, **fields) -> RawGbDevice:
    fields.setdefault("password", PASSWORD)
    return RawGbDevice(device_id, p.local, PLATFORM_ID, DOMAIN, **fields)


async def answer_catalog(dev: RawGbDevice, channels: dict[str, str], **fields) -> int:
    """Wait for the platform's Catalog query and answer it with ``channels``; returns its SN."""
    query = await asyncio.to_thread(dev.query, "Catalog")
    assert query is not None, "no Catalog query came"
    sn = dev.sn_of(query)
    await asyncio.to_thread(dev.reply, dev.catalog(channels, sn=sn, **fields))
    return sn


def series(p) -> int:
    return sum(len(family.samples) for family in Gb28181Collector(p).collect())


# -- 1. a device speaks only for itself ------------------------------------------------------------------


async def test_a_neighbour_nvr_can_neither_hide_nor_fake_another_nvrs_outage(caplog):
    caplog.set_level(logging.WARNING)
    a_ids = channel_ids(NVR, 3)
    notes: list[tuple[str, str, dict[str, object]]] = []
    async with platform() as (p, results):
        p.on_note = lambda cid, kind, detail, now: notes.append((cid, kind, detail))
        a = device(p, NVR, channels=dict.fromkeys(a_ids, "ON"))
        await a.start()
        b = raw(p)
        try:
            await until(lambda: all(results.up(c) is True for c in a_ids))
            assert await asyncio.to_thread(b.register) == 200
            # B (its own valid password) lists A's channels OFF, and one of its own.
            own = channel_ids(NVR_B, 1)[0]
            await answer_catalog(b, {**dict.fromkeys(a_ids, "OFF"), own: "ON"})
            await until(lambda: own in p.devices[NVR_B].channels)
            assert all(results.up(c) is True for c in a_ids)  # A's cameras stay up: not hidden
            assert p.dropped["not_owner"] == 3 and p.parent_of(a_ids[0]) == NVR
            assert not set(a_ids) & set(p.devices[NVR_B].channels)
            warned = [r for r in caplog.records if "lists channels of device" in r.getMessage()]
            assert len(warned) == 1 and NVR in warned[0].getMessage() and NVR_B in warned[0].getMessage()
            assert [(c, k) for c, k, _ in notes] == [(c, ownership.NOTE) for c in a_ids]
            assert notes[0][2] == {"device": NVR_B, "owner": NVR}

            # A falls silent while B says its channels are ON: the outage shows, it is not faked away.
            a.keepalives = False
            await until(lambda: all(results.up(c) is False for c in a_ids))
            p._query(p.devices[NVR_B], "Catalog")
            await answer_catalog(b, {**dict.fromkeys(a_ids, "ON"), own: "ON"})
            await asyncio.sleep(0.2)
            assert all(results.up(c) is False for c in a_ids)
            assert p.dropped["not_owner"] == 6 and len(notes) == 3  # noted once per (device, channel)
        finally:
            b.close()
            await a.stop()


async def test_the_ledger_owner_wins_even_when_another_device_reports_first():
    channel = channel_ids(NVR, 1)[0]
    async with platform(owners={channel: NVR}, keepalive=LONG) as (p, results):
        b = raw(p)
        try:
            assert await asyncio.to_thread(b.register) == 200
            await answer_catalog(b, {channel: "ON"})
            await until(lambda: p.dropped["not_owner"] == 1)
            assert results.up(channel) is None and p.parent_of(channel) is None
            # B's catalog counted the refused item towards SumNum: it was complete, and B holds nothing.
            assert p.devices[NVR_B].channels == {}
        finally:
            b.close()


# -- 2. state only from the registration, and only answers to what was asked ------------------------------


async def test_spoofed_keepalive_and_catalog_from_another_port_or_host_change_nothing():
    ids = channel_ids(NVR, 2)
    async with platform(keepalive=Gb28181Keepalive(interval=1.0, count=3)) as (p, results):
        victim = raw(p, NVR)
        spoofers = [raw(p, NVR, host=host) for host in ("127.0.0.1", "127.0.0.2")]  # another port, host
        try:
            assert await asyncio.to_thread(victim.register) == 200
            await answer_catalog(victim, dict.fromkeys(ids, "ON"))
            await until(lambda: all(results.up(c) is True for c in ids))
            for spoofer in spoofers:
                notify = spoofer.catalog(dict.fromkeys(ids, "OFF"), sn=1, root="Notify", method="NOTIFY")
                assert (await asyncio.to_thread(spoofer.reply, notify)).status == 404
                await asyncio.to_thread(spoofer.reply, spoofer.catalog({ids[0]: "ON"}, sn=1, sum_num=1))
            assert all(results.up(c) is True for c in ids) and set(p.devices[NVR].channels) == set(ids)
            # It falls silent (no keepalives): spoofed keepalives do not keep it up, nor revive it.
            for spoofer in spoofers:
                await asyncio.to_thread(spoofer.reply, spoofer.keepalive())
            await until(lambda: results.up(ids[0]) is False, timeout=8)
            for spoofer in spoofers:
                assert (await asyncio.to_thread(spoofer.reply, spoofer.keepalive())).status == 404
            assert results.up(ids[0]) is False and p.dropped["wrong_contact"] == 8
            # The platform's queries still go to the registered contact, not to a spoofer's port.
            assert p.devices[NVR].address == victim.address
        finally:
            victim.close()
            for spoofer in spoofers:
                spoofer.close()


async def test_forged_answers_from_the_devices_own_address_and_port_change_nothing():
    ids = channel_ids(NVR, 3)
    async with platform(keepalive=LONG) as (p, results):
        dev = raw(p, NVR)  # the same socket: the platform cannot tell a forged datagram from the device's
        try:
            assert await asyncio.to_thread(dev.register) == 200
            sn = await answer_catalog(dev, dict.fromkeys(ids, "ON"))
            await until(lambda: all(results.up(c) is True for c in ids))
            # A Response whose SN is no longer awaited (the catalog completed), and one never asked: SumNum=1
            # would have deleted the other channels.
            for forged_sn in (sn, sn + 1):
                await asyncio.to_thread(dev.reply, dev.catalog({ids[0]: "OFF"}, sn=forged_sn, sum_num=1))
            # A Catalog NOTIFY outside the subscription's dialog (its Call-ID), and as a MESSAGE.
            notify = dev.catalog(dict.fromkeys(ids, "OFF"), sn=7, root="Notify", method="NOTIFY")
            await asyncio.to_thread(dev.reply, notify)
            await asyncio.to_thread(dev.reply, dev.catalog(dict.fromkeys(ids, "OFF"), sn=7, root="Notify"))
            status = b"<Response><CmdType>DeviceStatus</CmdType><SN>99</SN><DeviceID>" + NVR.encode()
            await asyncio.to_thread(dev.reply, dev.request("MESSAGE", status + b"</DeviceID></Response>"))
            assert p.dropped["unsolicited_response"] == 3 and p.dropped["no_subscription"] == 2
            assert set(p.devices[NVR].channels) == set(ids) and all(results.up(c) is True for c in ids)
            # The real subscription's NOTIFY (in its dialog) still counts.
            sub = p.devices[NVR].subscription_call_id
            notify = dev.catalog({ids[1]: "OFF"}, sn=8, root="Notify", method="NOTIFY", call_id=sub)
            await asyncio.to_thread(dev.reply, notify)
            await until(lambda: results.up(ids[1]) is False)
        finally:
            dev.close()


async def test_messages_from_strangers_are_never_parsed_beyond_the_headers(monkeypatch):
    parsed = []
    real_parse = manscdp.parse
    monkeypatch.setattr(manscdp, "parse", lambda *a, **k: parsed.append(1) or real_parse(*a, **k))
    async with platform() as (p, _):
        stranger = raw(p, NVR, timeout=0.2)
        items = "".join(f"<Item><DeviceID>{c}</DeviceID></Item>" for c in channel_ids(NVR, 1000))
        body = f"<Response><CmdType>Catalog</CmdType><SN>1</SN><DeviceList>{items}</DeviceList></Response>"
        try:
            for _ in range(20):
                stranger.send(stranger.request("MESSAGE", body.encode()))
            await until(lambda: p.dropped["not_registered"] == 20)
        finally:
            stranger.close()
        assert parsed == []


# -- 3. closed label vocabulary --------------------------------------------------------------------------


async def test_random_label_values_never_grow_the_series():
    rng = random.Random(21)

    def word() -> str:
        return "".join(rng.choice("abcdefghijXYZ_") for _ in range(rng.randint(1, 40)))

    async with platform(keepalive=LONG) as (p, _):
        dev = raw(p, NVR, timeout=0.5)
        stranger = raw(p, NVR_B, timeout=0.05)
        try:
            assert await asyncio.to_thread(dev.register) == 200

            def feed(n: int, statuses: range | list[int]) -> None:
                for _ in range(n):  # a burst: more 404s than their rate, so `rate` shows in the first round
                    stranger.send(stranger.request("MESSAGE", b"<Notify/>"))
                for status in statuses:  # responses with any status (from the device: counted by status)
                    dev.send(f"SIP/2.0 {status} {word()}\r\nCall-ID: x\r\nContent-Length: 0\r\n\r\n".encode())
                for _ in range(n):
                    body = f"<Notify><CmdType>{word()}</CmdType><SN>1</SN></Notify>".encode()
                    dev.reply(dev.request("MESSAGE", body))
                    stranger.send(stranger.request("MESSAGE", body))  # never parsed: not_registered
                    stranger.send(stranger.request(word().replace("_", "") or "X"))  # any method

            await asyncio.to_thread(feed, 100, range(100, 700))
            await asyncio.sleep(0.2)
            before = series(p)
            await asyncio.to_thread(feed, 300, [rng.randint(100, 699) for _ in range(300)])
            await asyncio.sleep(0.2)
            assert series(p) == before
            labels = {m for m, _ in p.messages} | {o for _, o in p.messages}
            assert "other" in labels and all(len(v) <= 20 for v in labels)
            assert set(p.dropped) <= set(vocab.DROP_REASONS)
        finally:
            dev.close()
            stranger.close()


# -- 4. TCP: per-source, budget, deadlines ----------------------------------------------------------------


def _connect(address: tuple[str, int], host: str) -> socket.socket:
    s = socket.socket()
    s.bind((host, 0))
    s.settimeout(2.0)
    s.connect(address)
    return s


def _closed(s: socket.socket, timeout: float = 2.0) -> bool:
    s.settimeout(timeout)
    try:
        return s.recv(1) == b""
    except TimeoutError:
        return False
    except ConnectionError:
        return True


async def test_one_host_cannot_hold_the_tcp_connections_and_registered_devices_are_never_evicted():
    async with platform(max_tcp_connections=6, max_tcp_unauthenticated_per_source=3, keepalive=LONG) as (
        p,
        _,
    ):
        held = [await asyncio.to_thread(_connect, p.local, "127.0.0.2") for _ in range(5)]
        try:
            await asyncio.sleep(0.2)
            closed = [await asyncio.to_thread(_closed, s, 0.2) for s in held]
            assert closed == [False, False, False, True, True]  # three per source, the rest refused
            assert p.dropped["tcp_per_source"] == 2
            # An NVR over TCP registers (its connection no longer counts as a stranger's), then strangers
            # from other hosts fill the budget: the oldest stranger is closed for each, never the device.
            nvr = raw(p, NVR, transport="TCP")
            assert await asyncio.to_thread(nvr.register) == 200
            more = [await asyncio.to_thread(_connect, p.local, f"127.0.0.{n}") for n in (3, 3, 4, 4)]
            await asyncio.sleep(0.2)
            assert await asyncio.to_thread(_closed, held[0], 0.2)
            assert (await asyncio.to_thread(nvr.reply, nvr.keepalive())).status == 200
            assert p.tcp.unauthenticated("127.0.0.2") < 3
            for s in more:
                s.close()
            nvr.close()
        finally:
            for s in held:
                s.close()


async def test_tcp_deadlines_close_slow_and_idle_strangers():
    async with platform(tcp_header_timeout=0.3) as (p, _):
        idle = await asyncio.to_thread(_connect, p.local, "127.0.0.2")
        slow = await asyncio.to_thread(_connect, p.local, "127.0.0.2")
        try:
            slow.sendall(b"REGISTER sip:x SIP/2.0\r\nVia: ")  # and never more
            assert await asyncio.to_thread(_closed, idle, 3.0) and await asyncio.to_thread(_closed, slow, 3.0)
            assert p.dropped["tcp_timeout"] == 2 and p.tcp.connections == {}
        finally:
            idle.close()
            slow.close()


async def test_tcp_connections_fit_a_quarter_of_the_open_file_limit(monkeypatch, caplog):
    import resource

    caplog.set_level(logging.INFO)
    monkeypatch.setattr(resource, "getrlimit", lambda _: (40, 4096))
    async with platform(max_tcp_connections=2000, max_tcp_unauthenticated_per_source=100) as (p, _):
        assert p.tcp.cap == 10 and "at most 10 connections" in caplog.text
        socks = [await asyncio.to_thread(_connect, p.local, "127.0.0.2") for _ in range(12)]
        try:
            await asyncio.sleep(0.2)
            assert len(p.tcp.connections) == 10  # the two oldest were closed to make room
        finally:
            for s in socks:
                s.close()


# -- 5. floods -------------------------------------------------------------------------------------------


async def test_a_known_device_re_registers_every_time_under_a_register_flood_from_strangers():
    async with platform(register_rate=50.0, register_rate_per_source=5.0, keepalive=LONG) as (p, _):
        dev = raw(p, NVR)
        try:
            assert await asyncio.to_thread(dev.register) == 200
            stop = False

            def flood() -> int:
                sent = 0
                socks = [raw(p, NVR, host=f"127.0.0.{n}") for n in range(2, 12)]
                while not stop:
                    for s in socks:  # strangers, and some claiming to be the device itself
                        who = NVR if sent % 3 == 0 else f"3402000000132{sent:07d}"
                        s.send(s.request("REGISTER", from_id=who))
                        sent += 1
                    time.sleep(0.01)
                for s in socks:
                    s.close()
                return sent

            flooding = asyncio.create_task(asyncio.to_thread(flood))
            await asyncio.sleep(0.3)
            outcomes = [await asyncio.to_thread(dev.register) for _ in range(10)]
            stop = True
            sent = await flooding
            assert outcomes == [200] * 10
            assert sent > 100 and p.dropped["register_rate"] > 50
        finally:
            dev.close()


async def test_password_guesses_spread_over_sources_are_limited_per_device_but_never_lock_it_out():
    async with platform(auth_failures_per_minute=3, keepalive=LONG) as (p, _):
        dev = raw(p, NVR)
        try:
            assert await asyncio.to_thread(dev.register) == 200
            answers = []
            for n in range(2, 22):  # 20 sources, one guess each: per source they would all be answered
                guesser = raw(p, NVR, host=f"127.0.0.{n}", timeout=0.2)
                answers.append(await asyncio.to_thread(guesser.register, 3600, f"guess-{n}"))
                guesser.close()
            assert answers.count(403) == 3 and p.dropped["auth_rate"] == 17
            assert await asyncio.to_thread(dev.register) == 200  # its registered contact is never limited
        finally:
            dev.close()


# -- 6. small ones ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("when", ["2026-12-07T15:00:00", "2026-12-07T15:00:00+08:00"])
async def test_device_time_with_or_without_a_zone_and_the_tcp_connection_stays(when, caplog):
    async with platform(keepalive=LONG) as (p, _):
        dev = raw(p, NVR, transport="TCP")
        try:
            assert await asyncio.to_thread(dev.register) == 200
            query = await asyncio.to_thread(dev.query, "DeviceStatus")
            assert query is not None
            body = (
                f"<Response><CmdType>DeviceStatus</CmdType><SN>{dev.sn_of(query)}</SN><DeviceID>{NVR}</DeviceID>"
                f"<Online>ONLINE</Online><DeviceTime>{when}</DeviceTime></Response>"
            )
            assert (await asyncio.to_thread(dev.reply, dev.request("MESSAGE", body.encode()))).status == 200
            await until(lambda: p.devices[NVR].clock_offset is not None)
            assert (await asyncio.to_thread(dev.reply, dev.keepalive())).status == 200  # still connected
            assert "Traceback" not in caplog.text and not [r for r in caplog.records if r.exc_info]
        finally:
            dev.close()


async def test_duplicate_content_length_is_refused_with_400():
    async with platform() as (p, _):
        for transport in ("UDP", "TCP"):
            dev = raw(p, NVR, transport=transport)
            try:
                smuggled = dev.keepalive().replace(
                    b"Content-Length:", b"Content-Length: 0\r\nContent-Length:"
                )
                answer = await asyncio.to_thread(dev.reply, smuggled)
                assert answer is not None and answer.status == 400
            finally:
                dev.close()
        assert p.dropped["malformed"] == 2


async def test_replies_to_strangers_are_never_larger_than_their_request():
    async with platform() as (p, _):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.2", 0))
        s.settimeout(0.3)
        minimal = [
            f"REGISTER sip:x SIP/2.0\r\nFrom: <sip:{NVR}@{DOMAIN}>\r\n\r\n".encode(),
            b"OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\nFrom: <sip:a@b>\r\n"
            b"Call-ID: 1\r\nCSeq: 1 OPTIONS\r\n\r\n",
            f"MESSAGE sip:x SIP/2.0\r\nFrom: <sip:{NVR}@{DOMAIN}>\r\nCall-ID: 1\r\n\r\n".encode(),
        ]
        try:
            for request in minimal:
                await asyncio.to_thread(s.sendto, request, p.local)
                try:
                    reply = await asyncio.to_thread(s.recv, 65536)
                except TimeoutError:
                    continue
                assert len(reply) <= len(request), reply
            # A device's ordinary REGISTER still gets its 401, within twice its size.
            dev = raw(p, NVR, host="127.0.0.2")
            first = await asyncio.to_thread(dev.reply, dev.request("REGISTER", extra=("Expires: 3600",)))
            assert first is not None and first.status == 401
            dev.close()
        finally:
            s.close()


def test_history_shows_a_refused_claim_as_a_note(tmp_path):
    import json

    from typer.testing import CliRunner

    from camwatch.cli import app
    from camwatch.monitor.state import Event, StateStore, StoredCamera, Transition

    channel = channel_ids(NVR, 1)[0]
    (tmp_path / "camwatch.yaml").write_text(
        f"monitor: {{state: state.db}}\ncameras:\n  - {{id: gate, gb_id: '{channel}', gb_device: '{NVR}'}}\n"
    )
    now = time.time()
    store = StateStore(tmp_path / "state.db")
    t = Transition("gate", now - 60, None, "ok", True, True, ())
    store.stage(StoredCamera("gate", True, "ok", (), now - 60, now - 60), t)
    store.stage_event(Event("gate", now - 30, ownership.NOTE, {"device": NVR_B, "owner": NVR}))
    assert store.flush()
    store.close()
    runner = CliRunner()
    table = runner.invoke(app, ["history", str(tmp_path / "camwatch.yaml"), "gate"])
    assert table.exit_code == 0, table.output
    assert "note" in table.stdout and NVR_B in table.stdout
    rows = json.loads(
        runner.invoke(app, ["history", str(tmp_path / "camwatch.yaml"), "gate", "--json"]).stdout
    )
    assert rows[0]["notes"][0]["note"] == ownership.note_text({"device": NVR_B, "owner": NVR})


def test_ledger_column_gb_device_loads(tmp_path):
    from camwatch.config.errors import ConfigError
    from camwatch.config.load import load_config

    channel = channel_ids(NVR, 1)[0]
    (tmp_path / "ledger.csv").write_text(
        f"编号,国标编码,设备国标编码\ncam-1,{channel},{NVR}\n", encoding="utf-8"
    )
    (tmp_path / "bad.csv").write_text(f"编号,国标编码,设备国标编码\ncam-1,{channel},1234\n", encoding="utf-8")
    (tmp_path / "camwatch.yaml").write_text("cameras: ledger.csv\n")
    cfg = load_config(tmp_path / "camwatch.yaml", environ={})
    assert cfg.cameras[0].gb_device == NVR
    (tmp_path / "camwatch.yaml").write_text("cameras: bad.csv\n")
    with pytest.raises(ConfigError, match=r"bad\.csv, row 2, field 'gb_device': .*20 digits"):
        load_config(tmp_path / "camwatch.yaml", environ={})


def test_the_service_gives_the_platform_the_ledger_owners_and_stores_its_notes(tmp_path):
    from camwatch.config.models import Config, MonitorSettings
    from camwatch.monitor.service import Service
    from camwatch.monitor.state import read_events
    from support.cameras import make_camera

    channel = channel_ids(NVR, 1)[0]
    cfg = Config(
        source=tmp_path / "camwatch.yaml",
        cameras=(make_camera(id="gate", gb_id=channel, gb_device=NVR),),
        monitor=MonitorSettings(state=tmp_path / "state.db"),
        gb28181=settings(),
    )
    svc = Service(cfg)
    assert svc.gb is not None and svc.gb.owners.ledger == {channel: NVR}
    assert svc.gb.on_note is not None
    svc.gb.on_note(channel, ownership.NOTE, {"device": NVR_B, "owner": NVR}, time.time())
    assert svc.store.flush()
    svc.store.close()
    (event,) = read_events(tmp_path / "state.db", "gate")
    assert (event.kind, event.detail) == (ownership.NOTE, {"device": NVR_B, "owner": NVR})
