"""The upper-platform server: SIP over UDP and TCP, the device registry with keepalive deadlines, Catalog and
DeviceStatus queries, and per-channel liveness handed to the monitor as ``gb28181`` probe results.

Every input is bounded (message size, devices, channels per device, TCP connections, REGISTER rate, wrong
passwords per source) and a bad message costs one parse; nothing here blocks probes or ``/metrics``.
Logs name devices and addresses, never a password, a digest response or a message body.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

from camwatch.config.models import Gb28181Settings
from camwatch.monitor.gb28181 import digest, manscdp, sip
from camwatch.monitor.probes.base import OFFLINE, OK, ProbeResult

log = logging.getLogger(__name__)

PROBE = "gb28181"
DEFAULT_EXPIRES = 3600
# Catalog items that are organisation nodes, not video channels: business groups and virtual organisations.
_GROUP_TYPES = ("215", "216")
# Catalog answers still being joined per device (by SN); older ones are dropped.
_MAX_ASSEMBLIES = 4
_MAX_SOURCES = 10_000  # addresses remembered for the wrong-password limit
_READ_CHUNK = 65536
UDP_RECEIVE_BUFFER = 4 << 20  # the kernel caps it at net.core.rmem_max

Send = Callable[[bytes], None]
ResultSink = Callable[[str, ProbeResult, float], None]


def gb_date(when: datetime) -> str:
    """The ``Date`` of a REGISTER 200 in the GB/T 28181 form devices set their clock from (local time)."""
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}"


def _is_gb_id(value: str) -> bool:
    return len(value) == 20 and value.isascii() and value.isdigit()


@dataclass(slots=True)
class Channel:
    id: str
    name: str = ""
    status: bool | None = None  # the Catalog's word; None: not given (follows the device)
    reported: bool | None = None  # what was last handed to the monitor


@dataclass(slots=True)
class Device:
    """A registered device or lower platform and the channels its Catalog listed."""

    id: str
    transport: str = "UDP"
    address: tuple[str, int] = ("", 0)
    send: Send | None = None
    registered: bool = False
    online: bool = False
    reported: bool | None = None
    expires_at: float = 0.0
    last_keepalive: float = 0.0
    deadline: float = 0.0
    catalog_due: float = 0.0
    subscription_due: float = 0.0  # when the Catalog subscription is (re)sent
    channels: dict[str, Channel] = field(default_factory=dict)
    assemblies: dict[int, set[str]] = field(default_factory=dict)  # SN -> channel ids received
    unknown: int = 0  # channels the ledger does not know
    warned_unknown: bool = False
    clock_offset: float | None = None
    device_status: dict[str, str] = field(default_factory=dict)
    cseq: int = 0

    def effective(self, channel: Channel) -> bool:
        return self.online and channel.status is not False


@dataclass(slots=True)
class _Bucket:
    """Token bucket: ``rate`` per second, bursts up to one second's worth (at least 10)."""

    rate: float
    tokens: float = 0.0
    stamp: float = 0.0

    def take(self, now: float) -> bool:
        burst = max(self.rate, 10.0)
        self.tokens = min(burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


class Platform:
    """Accepts registrations as an upper platform and reports device and channel liveness.

    ``on_result(gb_id, result, now)`` receives a ``gb28181`` :class:`ProbeResult` for a device or channel id
    whenever its effective status changes (a channel is up while its device is online and its Catalog status
    is not OFF). ``known(gb_id)`` tells whether the ledger links that id; other channels are counted and
    warned about once per device.
    """

    def __init__(
        self,
        settings: Gb28181Settings,
        *,
        on_result: ResultSink | None = None,
        known: Callable[[str], bool] = lambda _: False,
        clock: Callable[[], float] = time.time,
    ):
        self.settings = settings
        self.on_result = on_result
        self.known = known
        self.clock = clock
        self.devices: dict[str, Device] = {}
        self.parents: dict[str, str] = {}  # channel id -> device id
        self.messages: Counter[tuple[str, str]] = Counter()  # (method or kind, outcome)
        self.dropped: Counter[str] = Counter()  # reason
        self.nonces = digest.Nonces(clock=clock)
        self._registers = _Bucket(settings.register_rate, tokens=max(settings.register_rate, 10.0))
        self._failures: dict[str, tuple[float, int]] = {}
        self._sn = 0
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._connections: set[asyncio.StreamWriter] = set()
        self._ticker: asyncio.Task[None] | None = None
        self.local: tuple[str, int] = ("", 0)

    # -- lifecycle ------------------------------------------------------------------------------------

    async def start(self) -> None:
        host, _, port = self.settings.listen.rpartition(":")
        host = host.strip("[]")
        loop = asyncio.get_running_loop()
        # Port 0: whatever UDP gets, tried again if TCP cannot have the same one (a port free for UDP can be
        # the local end of a TCP connection); a configured port is tried once.
        for attempt in range(1 if int(port) else 20):
            self._udp, _ = await loop.create_datagram_endpoint(
                lambda: _Datagrams(self), local_addr=(host, int(port))
            )
            sock = self._udp.get_extra_info("socket")
            # Many devices answering a Catalog at once overrun the default buffer (~200 datagrams).
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_RECEIVE_BUFFER)
            bound = self._udp.get_extra_info("sockname")
            try:
                # TCP on the same port as UDP, as devices expect.
                self._tcp = await asyncio.start_server(self._serve_tcp, host, bound[1], limit=_READ_CHUNK)
                break
            except OSError:
                self._udp.close()
                if int(port) or attempt == 19:
                    raise
        self.local = (host, bound[1])
        self._ticker = asyncio.create_task(self._tick_forever())
        log.info("GB/T 28181 platform %s listening on %s:%d (UDP and TCP)", self.settings.id, *self.local)

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
        for writer in list(self._connections):
            writer.close()
        if self._tcp is not None:
            await self._tcp.wait_closed()

    def tick_seconds(self) -> float:
        """How often deadlines are checked: a quarter of the shortest offline delay, at most a second."""
        ka = self.settings.keepalive
        return min(1.0, ka.interval * ka.count / 4)

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(self.tick_seconds())
            try:
                self.tick(self.clock())
            except Exception:  # a bookkeeping bug must not stop liveness
                log.exception("GB/T 28181 deadline check failed")

    # -- transports -----------------------------------------------------------------------------------

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        if len(self._connections) >= self.settings.max_tcp_connections:
            self.dropped["tcp_connections"] += 1
            writer.close()
            return
        self._connections.add(writer)
        framer = sip.StreamFramer(self.settings.max_message_bytes)
        idle = self.settings.keepalive.interval * self.settings.keepalive.count + self.settings.max_expires
        try:
            while data := await asyncio.wait_for(reader.read(_READ_CHUNK), idle):
                for message in framer.feed(data):
                    self.handle(message, (peer[0], peer[1]), "TCP", writer.write)
        except sip.SipError as exc:
            self.dropped["malformed"] += 1
            log.debug("GB/T 28181: closing TCP connection from %s: %s", peer[0], exc)
        except (TimeoutError, ConnectionError):
            pass
        except Exception:  # a bug handling one device must not take the server down
            log.exception("GB/T 28181: handling a message from %s failed", peer[0])
        finally:
            self._connections.discard(writer)
            writer.close()
            for device in self.devices.values():
                if device.send == writer.write:  # queries wait for the device's next connection
                    device.send = None

    # -- messages -------------------------------------------------------------------------------------

    def handle(self, data: bytes, source: tuple[str, int], transport: str, send: Send) -> None:
        """Handle one whole message from ``source``; replies go through ``send``."""
        try:
            msg = sip.parse(data, max_bytes=self.settings.max_message_bytes)
        except sip.SipError:
            self.dropped["malformed"] += 1
            return
        if msg.status:  # answers to our queries: the data comes in the device's own MESSAGE
            self.messages[("response", str(msg.status))] += 1
            return
        now = self.clock()
        if msg.method == "REGISTER":
            outcome = self._register(msg, source, transport, send, now)
        elif msg.method in ("MESSAGE", "NOTIFY"):
            outcome = self._message(msg, source, transport, send, now)
        else:
            send(sip.response(msg, 405, "Method Not Allowed", [("Allow", "REGISTER, MESSAGE, NOTIFY")]))
            outcome = "405"
        method = msg.method if msg.method in ("REGISTER", "MESSAGE", "NOTIFY") else "other"
        self.messages[(method, outcome)] += 1

    def _register(
        self, msg: sip.SipMessage, source: tuple[str, int], transport: str, send: Send, now: float
    ) -> str:
        if not self._registers.take(now):
            self.dropped["register_rate"] += 1
            return "dropped"
        device_id = sip.user_of(msg.header("from"))
        s = self.settings
        if not _is_gb_id(device_id):
            send(sip.response(msg, 400, "Bad Request"))
            return "400"
        if not s.allow_unknown_devices and device_id not in s.devices:
            send(sip.response(msg, 404, "Not Found"))
            return "404"
        params = digest.parse_authorization(msg.header("authorization"))
        if not params or not self.nonces.fresh(params.get("nonce", "")):
            stale = ",stale=true" if params else ""
            challenge = digest.challenge(s.domain, self.nonces.issue()) + stale
            send(sip.response(msg, 401, "Unauthorized", [("WWW-Authenticate", challenge)]))
            return "401"
        password = s.password_for(device_id)
        ok = password is not None and digest.verify(
            params, method="REGISTER", password=password.get_secret_value(), realm=s.domain
        )
        if not ok:
            if not self._failure_allowed(source[0], now):
                self.dropped["auth_rate"] += 1
                return "dropped"
            log.warning("GB/T 28181 device %s at %s: wrong password (403)", device_id, source[0])
            send(sip.response(msg, 403, "Forbidden"))
            return "403"
        if not self.nonces.first_use(params):
            # A response seen before: a replay, or a retransmission whose 200 was lost. Either way a fresh
            # challenge; a real device answers it with its password. Counted with wrong passwords.
            if not self._failure_allowed(source[0], now):
                self.dropped["auth_rate"] += 1
                return "dropped"
            log.warning(
                "GB/T 28181 device %s at %s: digest response reused, challenged again", device_id, source[0]
            )
            challenge = digest.challenge(s.domain, self.nonces.issue()) + ",stale=true"
            send(sip.response(msg, 401, "Unauthorized", [("WWW-Authenticate", challenge)]))
            return "401"
        expires = self._expires(msg)
        device = self.devices.get(device_id)
        if expires == 0:
            send(sip.response(msg, 200, "OK", [("Date", gb_date(datetime.now())), ("Expires", "0")]))
            if device is not None:
                device.registered = False
                self._set_online(device, False, now, "unregistered")
                log.info("GB/T 28181 device %s unregistered", device_id)
            return "200"
        if device is None:
            if not self._make_room(now):  # checked only now: no stranger without the password evicts anyone
                send(sip.response(msg, 503, "Service Unavailable"))
                return "503"
            device = self.devices[device_id] = Device(device_id)
            log.info("GB/T 28181 device %s registered from %s:%d over %s", device_id, *source, transport)
        device.transport, device.address, device.send = transport, source, send
        device.registered = True
        device.expires_at = now + expires
        contact = [("Contact", c) for c in msg.all("contact")[:1]]
        extra = [*contact, ("Expires", str(expires)), ("Date", gb_date(datetime.now()))]
        send(sip.response(msg, 200, "OK", extra))
        self._keepalive(device, now)
        device.catalog_due = now  # a fresh registration is asked for its catalog at once
        device.subscription_due = now  # and subscribed to its catalog's changes
        self._query(device, "DeviceStatus")
        return "200"

    def _make_room(self, now: float) -> bool:
        """Whether a new device fits under ``max_devices`` (forgetting one whose registration ended)."""
        if len(self.devices) < self.settings.max_devices:
            return True
        gone = next((d for d in self.devices.values() if not d.registered or d.expires_at < now), None)
        if gone is None:
            return False
        for channel in gone.channels:
            self.parents.pop(channel, None)
        del self.devices[gone.id]
        return True

    def _expires(self, msg: sip.SipMessage) -> int:
        value = msg.header("expires") or sip.param(msg.header("contact"), "expires")
        seconds = sip.number(value, DEFAULT_EXPIRES)
        return min(seconds, int(self.settings.max_expires))

    def _failure_allowed(self, host: str, now: float) -> bool:
        start, count = self._failures.get(host, (now, 0))
        if now - start >= 60.0:
            start, count = now, 0
        if len(self._failures) >= _MAX_SOURCES and host not in self._failures:
            self._failures.clear()  # bounded memory; the limit restarts for everyone
        self._failures[host] = (start, count + 1)
        return count < self.settings.auth_failures_per_minute

    def _message(
        self, msg: sip.SipMessage, source: tuple[str, int], transport: str, send: Send, now: float
    ) -> str:
        try:
            doc = manscdp.parse(msg.body, msg.header("content-type"), max_items=self.settings.max_channels)
        except manscdp.ManscdpError:
            self.dropped["bad_body"] += 1
            send(sip.response(msg, 400, "Bad Request"))
            return "400"
        device_id = sip.user_of(msg.header("from")) or doc.device_id
        device = self.devices.get(device_id)
        s = self.settings
        alive = device is not None and device.registered and device.expires_at > now
        # MESSAGEs carry no credentials: only the host that registered (with the password) may keep it alive.
        moved = device is not None and device.address[0] != source[0]
        if device is None or not alive or moved or (not device.online and s.revive == "register"):
            # 404 makes a device that lost its registration (e.g. our restart, a new address) register again.
            send(sip.response(msg, 404, "Not Found"))
            return "404"
        send(sip.response(msg, 200, "OK"))
        device.transport, device.address, device.send = transport, source, send
        if doc.cmd == "Keepalive":
            self._keepalive(device, now)
        elif doc.cmd == "Catalog":
            self._catalog(device, doc, now)
        elif doc.cmd == "DeviceStatus":
            self._device_status(device, doc)
        return doc.cmd or "200"

    # -- device state ---------------------------------------------------------------------------------

    def _keepalive(self, device: Device, now: float) -> None:
        ka = self.settings.keepalive
        device.last_keepalive = now
        device.deadline = min(device.expires_at, now + ka.interval * ka.count)
        if not device.online:
            self._set_online(device, True, now, "")

    def _set_online(self, device: Device, online: bool, now: float, why: str) -> None:
        if device.online and not online:
            log.warning("GB/T 28181 device %s offline: %s", device.id, why)
        device.online = online
        self._emit(device, now, why)

    def _catalog(self, device: Device, doc: manscdp.Manscdp, now: float) -> None:
        received = device.assemblies.setdefault(doc.sn, set())
        touched = []
        while len(device.assemblies) > _MAX_ASSEMBLIES:
            del device.assemblies[next(iter(device.assemblies))]
        for item in doc.items:
            if not _is_gb_id(item.device_id) or item.device_id[10:13] in _GROUP_TYPES:
                continue
            if item.event == "DEL":
                self._remove_channel(device, item.device_id, now)
                continue
            channel = device.channels.get(item.device_id)
            if channel is None:
                if len(device.channels) >= self.settings.max_channels:
                    self.dropped["channels"] += 1
                    continue
                channel = device.channels[item.device_id] = Channel(item.device_id)
                self.parents[item.device_id] = device.id
                if not self.known(item.device_id):
                    device.unknown += 1
            channel.name = item.name or channel.name
            channel.status = item.status
            received.add(item.device_id)
            touched.append(channel)
        complete = doc.sum_num and len(received) >= min(doc.sum_num, self.settings.max_channels)
        if doc.root == "Response" and complete:
            # The whole catalog arrived: channels it no longer lists have left the device.
            for gone in [c for c in device.channels if c not in received]:
                self._remove_channel(device, gone, now)
            del device.assemblies[doc.sn]
        if device.unknown and not device.warned_unknown:
            device.warned_unknown = True
            log.warning(
                "GB/T 28181 device %s lists channels the ledger does not know (no camera has their gb_id); "
                "they are counted in camwatch_gb28181_unknown_channels",
                device.id,
            )
        # Only this packet's channels: an NVR's catalog comes in hundreds of packets.
        self._emit(device, now, "", touched)

    def _remove_channel(self, device: Device, channel_id: str, now: float) -> None:
        channel = device.channels.pop(channel_id, None)
        if channel is None:
            return
        self.parents.pop(channel_id, None)
        if not self.known(channel_id):
            device.unknown -= 1
        if channel.reported and self.on_result is not None:
            self.on_result(channel_id, _result(False, "no longer in the device's catalog", device.id), now)

    def _device_status(self, device: Device, doc: manscdp.Manscdp) -> None:
        device.device_status = {"Online": doc.online, "Status": doc.status, **doc.extra}
        if doc.device_time is not None:
            # DeviceTime is the device's local time without a zone, compared with ours.
            device.clock_offset = (doc.device_time - datetime.now()).total_seconds()

    def _emit(self, device: Device, now: float, why: str, channels: Iterable[Channel] | None = None) -> None:
        """Hand the monitor every id of this device (or of ``channels``) whose effective status changed."""
        if self.on_result is None:
            return
        if device.reported != device.online:
            device.reported = device.online
            self.on_result(device.id, _result(device.online, why, device.id), now)
        for channel in device.channels.values() if channels is None else channels:
            up = device.effective(channel)
            if channel.reported != up:
                channel.reported = up
                reason = why if not device.online else "channel Status OFF in the device's catalog"
                self.on_result(channel.id, _result(up, reason, device.id), now)

    def tick(self, now: float) -> None:
        """Offline past the deadline; Catalog queries when due."""
        interval = self.settings.catalog_interval
        for device in self.devices.values():
            if device.online and now > device.deadline:
                missed = "registration expired" if now > device.expires_at else "keepalives missed"
                self._set_online(device, False, now, missed)
            if device.online and now >= device.catalog_due:
                device.catalog_due = now + interval
                self._query(device, "Catalog")
            lasting = self.settings.catalog_subscription
            if lasting and device.online and now >= device.subscription_due:
                # Renewed at 90 % of its time, so that no change falls between two subscriptions.
                device.subscription_due = now + 0.9 * lasting
                self._query(device, "Catalog", subscribe=lasting)

    def _query(self, device: Device, cmd: str, *, subscribe: float = 0.0) -> None:
        """Send ``cmd`` as a query MESSAGE, or with ``subscribe`` seconds as a SUBSCRIBE to its events."""
        if device.send is None:
            return
        self._sn += 1
        device.cseq += 1
        host, port = device.address
        s = self.settings
        body = manscdp.query(cmd, self._sn, device.id)
        extra = (
            [
                ("Event", f"{cmd};id={self._sn}"),
                ("Expires", str(int(subscribe))),
                ("Contact", f"<sip:{s.id}@{self.local[0]}:{self.local[1]}>"),
            ]
            if subscribe
            else []
        )
        try:
            device.send(
                sip.request(
                    "SUBSCRIBE" if subscribe else "MESSAGE",
                    uri=f"sip:{device.id}@{host}:{port}",
                    from_uri=f"sip:{s.id}@{s.domain}",
                    to_uri=f"sip:{device.id}@{s.domain}",
                    via=f"{device.transport} {self.local[0]}:{self.local[1]}",
                    cseq=device.cseq,
                    call_id=f"{self._sn}-{s.id}",
                    body=body,
                    extra=extra,
                )
            )
        except (OSError, RuntimeError):  # a closed TCP connection: the device reconnects and re-registers
            self.dropped["send_failed"] += 1

    # -- for the monitor ------------------------------------------------------------------------------

    def replay(self) -> None:
        """Hand over every current status again (after a reload linked new cameras)."""
        now = self.clock()
        for device in self.devices.values():
            device.reported = None
            for channel in device.channels.values():
                channel.reported = None
            self._emit(device, now, "keepalives missed" if not device.online else "")

    def update(self, settings: Gb28181Settings) -> None:
        """Adopt reloaded settings (passwords, limits, intervals); the listen address stays."""
        self.settings = settings
        self._registers.rate = settings.register_rate

    def relink(self, known: Callable[[str], bool]) -> None:
        """Adopt a new ledger: recount unknown channels and hand every status over again."""
        self.known = known
        for device in self.devices.values():
            device.unknown = sum(1 for c in device.channels if not known(c))
        self.replay()

    def parent_of(self, gb_id: str) -> str | None:
        """The device (NVR, lower platform) a channel belongs to; a device is its own parent."""
        return self.parents.get(gb_id) or (gb_id if gb_id in self.devices else None)


def _result(up: bool, why: str, device_id: str) -> ProbeResult:
    return ProbeResult(
        PROBE,
        up,
        OK if up else OFFLINE,
        0.0,
        error=None if up else (why or "offline"),
        details={"device": device_id},
    )


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, platform: Platform):
        self.platform = platform
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        transport = self.transport
        if transport is None:
            return
        if data.strip(b"\r\n") == b"":  # NAT keep-alive pings
            return
        try:
            self.platform.handle(data, addr[:2], "UDP", lambda out: transport.sendto(out, addr))
        except Exception:  # one bad datagram must not stop the endpoint
            log.exception("GB/T 28181: handling a datagram from %s failed", addr[0])
