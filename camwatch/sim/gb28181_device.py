"""GB/T 28181 device simulator: an IPC or an NVR-like lower platform that registers with an upper platform
(digest), keeps alive, and answers Catalog (in several packets), DeviceStatus (Record ON/OFF, DeviceTime)
and RecordInfo queries (footage in several packets) — with faults: keepalives stop, a wrong password,
channels OFF, GB2312 bodies, vendor status words (ONLINE/OFFLINE), a gap in the footage, Record OFF, a
channel whose RecordInfo is never answered, a skewed clock."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from camwatch.monitor.gb28181 import sip

MAX_BYTES = 1 << 20
CATALOG_PACING = 0.005  # seconds between Catalog packets


def channel_ids(device_id: str, count: int) -> list[str]:
    """``count`` channel ids under a device: its first 10 digits, type 131 (camera), a running number."""
    return [f"{device_id[:10]}131{device_id[-2:]}{n:05d}" for n in range(1, count + 1)]


@dataclass
class SimGbDevice:
    """One simulated device. ``channels`` maps channel id → status word ("ON", "OFF", "ONLINE", ...)."""

    device_id: str
    platform: tuple[str, int]
    platform_id: str
    domain: str
    password: str = field(default="12345678", repr=False)
    channels: dict[str, str] = field(default_factory=dict)
    transport: Literal["UDP", "TCP"] = "UDP"
    encoding: Literal["utf-8", "gb2312"] = "gb2312"
    keepalive_interval: float = 60.0
    expires: int = 3600
    items_per_packet: int = 4
    name: str = "模拟设备"
    keepalives: bool = True  # fault: set False and the device falls silent
    device_time_offset: float = 0.0  # seconds its clock runs ahead of ours
    register_status: int = 0  # the last REGISTER's final answer (200, 403, ...)
    subscribed_until: float = 0.0  # loop time the platform's Catalog subscription lasts to
    subscription_call_id: str = ""  # the subscription's dialog: its NOTIFYs carry this Call-ID
    answer_timeout: float = 2.0  # per transmission; a request is sent three times
    local_host: str = "127.0.0.1"  # the address it sends from (UDP)
    # Recording (its own clock, ``timezone`` local time in RecordInfo): footage per channel as epoch ranges
    # (default: ``retention_days`` of hour-long files up to its now), its DeviceStatus Record word (default
    # ON for a channel, OFF for the device itself), channels whose RecordInfo gets no answer (silent).
    timezone: str | None = None  # None: this process's local time, as a device set from our clock
    footage: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    record_words: dict[str, str] = field(default_factory=dict)
    record_silent: set[str] = field(default_factory=set)
    retention_days: float = 30.0
    records_per_packet: int = 4
    _send: Callable[[bytes], None] | None = field(default=None, init=False, repr=False)
    _waiting: dict[str, asyncio.Future[sip.SipMessage]] = field(default_factory=dict, init=False, repr=False)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list, init=False, repr=False)
    _closers: list[Callable[[], None]] = field(default_factory=list, init=False, repr=False)
    _cseq: itertools.count[int] = field(default_factory=lambda: itertools.count(1), init=False, repr=False)
    _sn: itertools.count[int] = field(default_factory=lambda: itertools.count(1), init=False, repr=False)
    _lost: asyncio.Event | None = field(default=None, init=False, repr=False)

    # -- lifecycle ------------------------------------------------------------------------------------

    async def start(self, *, register: bool = True) -> None:
        """Open the transport, REGISTER, and keep alive in the background (when registered)."""
        loop = asyncio.get_running_loop()
        if self.transport == "UDP":
            udp, _ = await loop.create_datagram_endpoint(
                lambda: _DeviceDatagrams(self), local_addr=(self.local_host, 0), remote_addr=self.platform
            )
            self._send = udp.sendto
            self._closers.append(udp.close)
        else:
            reader, writer = await asyncio.open_connection(*self.platform)
            self._send = writer.write
            self._closers.append(writer.close)
            self._tasks.append(asyncio.create_task(self._read_tcp(reader)))
        if register:
            await self.register()

    async def register(self, expires: int | None = None) -> int:
        """REGISTER with digest; returns the final status (200, 403, ...)."""
        expires = self.expires if expires is None else expires
        call_id = secrets.token_hex(8)
        first = await self._request("REGISTER", call_id, [("Expires", str(expires))])
        answer = first
        if first.status == 401:
            params = _challenge(first.header("www-authenticate"))
            uri = f"sip:{self.platform_id}@{self.domain}"
            creds = {
                "username": self.device_id,
                "realm": params.get("realm", ""),
                "nonce": params.get("nonce", ""),
                "uri": uri,
                "qop": "auth",
                "nc": "00000001",
                "cnonce": secrets.token_hex(4),
            }
            creds["response"] = _register_response(creds, self.password)
            auth = "Digest " + ",".join(
                f'{k}="{v}"' if k not in ("qop", "nc") else f"{k}={v}" for k, v in creds.items()
            )
            answer = await self._request(
                "REGISTER", call_id, [("Expires", str(expires)), ("Authorization", auth)]
            )
        self.register_status = answer.status
        if answer.status == 200 and expires and not self._tasks_running("keepalive"):
            task = asyncio.create_task(self._keepalive_forever(), name="keepalive")
            self._tasks.append(task)
        return answer.status

    async def stay_registered(self, *, retry: float = 30.0) -> None:
        """Register, and again before the registration ends, when the platform forgets the device (its
        keepalives get 404) or after ``retry`` seconds while it cannot (not listening yet, a wrong
        password): what a device does until it is switched off. Runs until cancelled."""
        lost = self._lost = asyncio.Event()
        while True:
            lost.clear()
            try:
                status = await self.register()
            except (TimeoutError, OSError):
                status = 0
            wait = max(1.0, 0.9 * self.expires) if status == 200 else retry
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lost.wait(), wait)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for close in self._closers:
            close()
        self._tasks.clear()
        self._closers.clear()

    def _tasks_running(self, name: str) -> bool:
        return any(t.get_name() == name and not t.done() for t in self._tasks)

    # -- sending --------------------------------------------------------------------------------------

    def _message(self, method: str, call_id: str, extra: list[tuple[str, str]], body: bytes = b"") -> bytes:
        host, port = self.platform
        headers = [
            ("Via", f"SIP/2.0/{self.transport} 127.0.0.1:5060;rport;branch=z9hG4bK{secrets.token_hex(6)}"),
            ("From", f"<sip:{self.device_id}@{self.domain}>;tag={secrets.token_hex(4)}"),
            ("To", f"<sip:{self.device_id if method == 'REGISTER' else self.platform_id}@{self.domain}>"),
            ("Call-ID", call_id),
            ("CSeq", f"{next(self._cseq)} {method}"),
            ("Contact", f"<sip:{self.device_id}@127.0.0.1:5060>"),
            ("Max-Forwards", "70"),
            ("User-Agent", "camwatch-sim"),
            *extra,
        ]
        if body:
            headers.append(("Content-Type", "Application/MANSCDP+xml"))
        lines = [f"{method} sip:{self.platform_id}@{host}:{port} SIP/2.0"]
        lines += [f"{k}: {v}" for k, v in headers] + [f"Content-Length: {len(body)}", "", ""]
        return "\r\n".join(lines).encode() + body

    async def _request(
        self, method: str, call_id: str, extra: list[tuple[str, str]], body: bytes = b""
    ) -> sip.SipMessage:
        assert self._send is not None, "start() first"
        future = asyncio.get_running_loop().create_future()
        self._waiting[call_id] = future
        try:
            for _ in range(3):  # UDP may lose a datagram: retransmit like a SIP client
                self._send(self._message(method, call_id, extra, body))
                with contextlib.suppress(TimeoutError):
                    return await asyncio.wait_for(asyncio.shield(future), self.answer_timeout)
            raise TimeoutError(f"no answer to {method}")
        finally:
            self._waiting.pop(call_id, None)

    def _notify(self, body: str, method: str = "MESSAGE") -> None:
        """Send a MESSAGE (or NOTIFY) without waiting for its 200 (keepalives, query answers, events)."""
        if self._send is not None:
            extra = [("Event", "Catalog")] if method == "NOTIFY" else []
            # A NOTIFY belongs to the subscription's dialog (RFC 6665): the platform takes it only there.
            call_id = self.subscription_call_id if method == "NOTIFY" else ""
            self._send(self._message(method, call_id or secrets.token_hex(8), extra, self._encode(body)))

    def send_catalog_event(self, events: dict[str, str]) -> None:
        """A Catalog NOTIFY: channel id → event (ON, OFF, ADD, DEL, UPDATE), as subscribed devices send."""
        items = "".join(f"<Item><DeviceID>{c}</DeviceID><Event>{e}</Event></Item>" for c, e in events.items())
        self._notify(
            f"<Notify><CmdType>Catalog</CmdType><SN>{next(self._sn)}</SN><DeviceID>{self.device_id}</DeviceID>"
            f'<SumNum>{len(events)}</SumNum><DeviceList Num="{len(events)}">{items}</DeviceList></Notify>',
            "NOTIFY",
        )

    @property
    def subscribed(self) -> bool:
        """Whether the platform's Catalog subscription is running."""
        return asyncio.get_running_loop().time() < self.subscribed_until

    def set_channel(self, channel_id: str, status: str) -> None:
        """A channel switches (``ON``/``OFF``): its next Catalog lists it so, and a subscribed platform is
        told at once, as a device's Catalog NOTIFY does."""
        self.channels[channel_id] = status
        if self.subscribed:
            self.send_catalog_event({channel_id: "ON" if status.upper() in ("ON", "ONLINE") else "OFF"})

    def _encode(self, xml: str) -> bytes:
        label = "GB2312" if self.encoding == "gb2312" else "UTF-8"
        return f'<?xml version="1.0" encoding="{label}"?>\r\n{xml}'.encode(self.encoding)

    async def _keepalive_forever(self) -> None:
        while True:
            await asyncio.sleep(self.keepalive_interval)
            if self.keepalives:
                self.send_keepalive()

    def send_keepalive(self) -> None:
        self._notify(
            f"<Notify><CmdType>Keepalive</CmdType><SN>{next(self._sn)}</SN>"
            f"<DeviceID>{self.device_id}</DeviceID><Status>OK</Status></Notify>"
        )

    # -- receiving ------------------------------------------------------------------------------------

    async def _read_tcp(self, reader: asyncio.StreamReader) -> None:
        framer = sip.StreamFramer(MAX_BYTES)
        while data := await reader.read(65536):
            for message in framer.feed(data):
                self.received(message)

    def received(self, data: bytes) -> None:
        try:
            msg = sip.parse(data, max_bytes=MAX_BYTES)
        except sip.SipError:
            return
        if msg.status:
            future = self._waiting.get(msg.header("call-id"))
            if future is not None and not future.done() and msg.status >= 200:
                future.set_result(msg)
            elif msg.status == 404 and self._lost is not None:
                self._lost.set()  # a keepalive the platform does not know: register again
            return
        if self._send is None:
            return
        if msg.method == "SUBSCRIBE":
            expires = sip.number(msg.header("expires"), 3600)
            self._send(sip.response(msg, 200, "OK", [("Expires", str(expires))]))
            if msg.header("event").split(";")[0].strip().lower() == "catalog":
                self.subscribed_until = asyncio.get_running_loop().time() + expires
                self.subscription_call_id = msg.header("call-id")
            return
        self._send(sip.response(msg, 200, "OK"))
        body = msg.body.decode("utf-8", "replace")
        sn = body.split("<SN>", 1)[1].split("</SN>", 1)[0] if "<SN>" in body else "0"
        if "<CmdType>Catalog</CmdType>" in body:
            self._tasks = [t for t in self._tasks if not t.done()]
            self._tasks.append(asyncio.create_task(self._answer_catalog(sn)))
        elif "<CmdType>DeviceStatus</CmdType>" in body:
            target = _field(body, "DeviceID") or self.device_id
            if target != self.device_id and target not in self.channels:
                return
            word = self.record_words.get(target, "ON" if target in self.channels else "OFF")
            self._notify(
                f"<Response><CmdType>DeviceStatus</CmdType><SN>{sn}</SN><DeviceID>{target}</DeviceID>"
                "<Result>OK</Result><Online>ONLINE</Online><Status>OK</Status><Encode>ON</Encode>"
                f"<Record>{word}</Record><DeviceTime>{self._local(self.now())}</DeviceTime></Response>"
            )
        elif "<CmdType>RecordInfo</CmdType>" in body:
            target = _field(body, "DeviceID")
            if target in self.channels and target not in self.record_silent:
                self._tasks = [t for t in self._tasks if not t.done()]
                self._tasks.append(asyncio.create_task(self._answer_records(sn, target, body)))

    async def _answer_catalog(self, sn: str) -> None:
        items = list(self.channels.items())
        total = len(items)
        for start in range(0, max(total, 1), self.items_per_packet):
            chunk = items[start : start + self.items_per_packet]
            listed = "".join(
                f"<Item><DeviceID>{cid}</DeviceID><Name>{escape(self.name)}{n}</Name>"
                f"<Manufacturer>camwatch</Manufacturer><ParentID>{self.device_id}</ParentID>"
                f"<Status>{status}</Status></Item>"
                for n, (cid, status) in enumerate(chunk, start + 1)
            )
            self._notify(
                f"<Response><CmdType>Catalog</CmdType><SN>{sn}</SN><DeviceID>{self.device_id}</DeviceID>"
                f'<SumNum>{total}</SumNum><DeviceList Num="{len(chunk)}">{listed}</DeviceList></Response>'
            )
            # Paced like real devices: a burst of hundreds of datagrams would overrun a UDP receive buffer.
            await asyncio.sleep(CATALOG_PACING)

    # -- recording ------------------------------------------------------------------------------------

    def now(self) -> float:
        """The device's clock (``device_time_offset`` ahead of ours)."""
        return time.time() + self.device_time_offset

    def _zone(self) -> ZoneInfo | None:
        return ZoneInfo(self.timezone) if self.timezone else None

    def _local(self, ts: float) -> str:
        return datetime.fromtimestamp(ts, self._zone()).strftime("%Y-%m-%dT%H:%M:%S")

    def footage_of(self, channel: str) -> list[tuple[float, float]]:
        """The channel's footage: as set, else hour-long files over ``retention_days`` up to the device's
        now (the last one still being written)."""
        if channel in self.footage:
            return self.footage[channel]
        now = self.now()
        start = now - self.retention_days * 86400.0
        return [(t, min(t + 3600.0, now)) for t in _hours(start, now)]

    async def _answer_records(self, sn: str, channel: str, query: str) -> None:
        zone = self._zone()

        def instant(name: str) -> float:
            text = _field(query, name)
            return datetime.fromisoformat(text).replace(tzinfo=zone).timestamp() if text else 0.0

        start, end = instant("StartTime"), instant("EndTime")
        items = [(a, b) for a, b in self.footage_of(channel) if b > start and a < end]
        total = len(items)
        for first in range(0, max(total, 1), self.records_per_packet):
            chunk = items[first : first + self.records_per_packet]
            listed = "".join(
                f"<Item><DeviceID>{channel}</DeviceID><Name>{escape(self.name)}</Name>"
                f"<FilePath>/record/{channel}/{int(a)}.mp4</FilePath><Address>{escape(self.name)}</Address>"
                f"<StartTime>{self._local(a)}</StartTime><EndTime>{self._local(b)}</EndTime>"
                "<Secrecy>0</Secrecy><Type>time</Type></Item>"
                for a, b in chunk
            )
            self._notify(
                f"<Response><CmdType>RecordInfo</CmdType><SN>{sn}</SN><DeviceID>{channel}</DeviceID>"
                f"<Name>{escape(self.name)}</Name><SumNum>{total}</SumNum>"
                f'<RecordList Num="{len(chunk)}">{listed}</RecordList></Response>'
            )
            await asyncio.sleep(CATALOG_PACING)


def _field(body: str, name: str) -> str:
    """The text of the first ``<name>`` element of a query we were sent (our own tiny reader)."""
    match = re.search(f"<{name}>([^<]*)</{name}>", body)
    return match.group(1).strip() if match else ""


def _hours(start: float, end: float) -> list[float]:
    first = start - start % 3600.0
    return [first + 3600.0 * n for n in range(int((end - first) // 3600.0) + 1) if first + 3600.0 * n < end]


class _DeviceDatagrams(asyncio.DatagramProtocol):
    def __init__(self, device: SimGbDevice):
        self.device = device

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.device.received(data)


DEMO_PLATFORM_ID = "34020000002000000001"
DEMO_DOMAIN = "3402000000"


def demo_devices(
    platform: tuple[str, int], password: str, *, channels: int = 8, timezone: str | None = None
) -> list[SimGbDevice]:
    """A small county: an NVR over UDP with GB2312 bodies and one channel OFF (and, on its recorder, a
    channel with a two-hour gap in today's footage and one whose recording stopped an hour ago, Record
    OFF), an NVR over TCP that speaks ONLINE/OFFLINE (the one to silence), and an IPC whose password
    someone changed (it never registers)."""

    def make(device_id: str, **fields: Any) -> SimGbDevice:
        return SimGbDevice(
            device_id,
            platform,
            DEMO_PLATFORM_ID,
            DEMO_DOMAIN,
            keepalive_interval=10.0,
            timezone=timezone,
            **fields,
        )

    nvr1, nvr2, ipc = "34020000001180000001", "34020000001180000002", "34020000001320000003"
    first = dict.fromkeys(channel_ids(nvr1, channels), "ON")
    first[next(iter(first))] = "OFF"
    gap, stopped = list(first)[1:3]
    now = time.time()
    recorder = {
        gap: [(now - 30 * 86400.0, now - 5 * 3600.0), (now - 3 * 3600.0, now)],
        stopped: [(now - 30 * 86400.0, now - 3600.0)],
    }
    return [
        make(
            nvr1,
            password=password,
            channels=first,
            name="东门路口",
            footage=recorder,
            record_words={stopped: "OFF"},
        ),
        make(
            nvr2,
            password=password,
            channels=dict.fromkeys(channel_ids(nvr2, channels), "ONLINE"),
            transport="TCP",
            encoding="utf-8",
            name="西街",
        ),
        make(ipc, password=password + "-changed", channels={ipc: "ON"}, name="南门"),
    ]


def demo_ledger(devices: list[SimGbDevice]) -> list[dict[str, str]]:
    """Ledger rows linking every simulated channel by ``gb_id`` (no stream address: GB/T 28181 alone)."""
    return [
        {"id": f"gb-{cid[-7:]}", "name": f"{device.name}{n}", "gb_id": cid, "township": "国标镇"}
        for device in devices
        for n, cid in enumerate(device.channels, 1)
    ]


# The device's side of SIP digest, written apart from the platform's (camwatch.monitor.digest), so that a
# mistake in one shows up as a refused registration in the tests instead of passing on both sides.
def _challenge(header: str) -> dict[str, str]:
    """The parameters of a ``Digest realm="…", nonce="…", …`` challenge."""
    _, _, rest = header.partition(" ")
    params = {}
    for key, value in re.findall(r'([A-Za-z]+)="?([^",]*)"?', rest):
        params[key.lower()] = value
    return params


def _register_response(creds: dict[str, str], password: str) -> str:
    """RFC 2617 §3.2.2.1 with qop=auth, as an IPC's SIP stack computes it for REGISTER."""

    def md5(*parts: str) -> str:
        return hashlib.md5(":".join(parts).encode(), usedforsecurity=False).hexdigest()

    ha1 = md5(creds["username"], creds["realm"], password)
    ha2 = md5("REGISTER", creds["uri"])
    return md5(ha1, creds["nonce"], creds["nc"], creds["cnonce"], creds["qop"], ha2)
