"""The upper-platform server: SIP over UDP and TCP, the device registry with keepalive deadlines, Catalog and
DeviceStatus queries, and per-channel liveness handed to the monitor as ``gb28181`` probe results.

Every input is bounded (message size, devices, channels per device, TCP connections, REGISTER rate, wrong
passwords per source) and a bad message costs one parse; nothing here blocks probes or ``/metrics``.
Logs name devices and addresses, never a password, a digest response or a message body.

MESSAGE and NOTIFY carry no credentials, so they are bound to the registration: a device's messages count
only from its registered contact (transport, address and port), which is checked on the headers before the
body is parsed. A query Response counts only for an SN sent to that device and still awaited, a Catalog
NOTIFY only within the live subscription's dialog, and a channel only from the device that owns it
(``ownership``): a forged datagram or a neighbour's catalog changes nothing. Sending queries and awaiting
their answers is ``queries``; a channel's footage asked for a probe is ``recorder``.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

from camwatch.config.models import Gb28181Settings
from camwatch.monitor.gb28181 import alarms, digest, manscdp, ownership, sip, vocab
from camwatch.monitor.gb28181.devices import PROBE as PROBE
from camwatch.monitor.gb28181.devices import Channel, Device, Send, gb_date, is_gb_id, probe_result
from camwatch.monitor.gb28181.limits import Limits
from camwatch.monitor.gb28181.ownership import Owners
from camwatch.monitor.gb28181.queries import Answer, Queries
from camwatch.monitor.gb28181.transport import READ_CHUNK, Datagrams, TcpGate, read_messages
from camwatch.monitor.probes.base import ProbeResult

log = logging.getLogger(__name__)

DEFAULT_EXPIRES = 3600
# Catalog items that are organisation nodes, not video channels: business groups and virtual organisations.
_GROUP_TYPES = ("215", "216")
# Catalog answers still being joined per device (by SN); older ones are dropped.
_MAX_ASSEMBLIES = 4
UDP_RECEIVE_BUFFER = 4 << 20  # the kernel caps it at net.core.rmem_max

ResultSink = Callable[[str, ProbeResult, float], None]
# (channel id, event kind, detail, time): a note for the linked camera's history.
NoteSink = Callable[[str, str, dict[str, object], float], None]


class Platform:
    """Accepts registrations as an upper platform and reports device and channel liveness.

    ``on_result(gb_id, result, now)`` receives a ``gb28181`` :class:`ProbeResult` for a device or channel id
    whenever its effective status changes (a channel is up while its device is online and its Catalog status
    is not OFF). ``known(gb_id)`` tells whether the ledger links that id; other channels are counted and
    warned about once per device. ``owners`` maps channel ids to the device the ledger names (``gb_device``);
    ``on_note`` receives a refused claim on a channel for that camera's history.
    """

    def __init__(
        self,
        settings: Gb28181Settings,
        *,
        on_result: ResultSink | None = None,
        known: Callable[[str], bool] = lambda _: False,
        clock: Callable[[], float] = time.time,
        owners: Mapping[str, str] | None = None,
        on_note: NoteSink | None = None,
    ):
        self.settings = settings
        self.on_result = on_result
        self.on_note = on_note
        self.known = known
        self.clock = clock
        self.devices: dict[str, Device] = {}
        self.owners = Owners(owners)
        self.parents = self.owners.holders  # channel id -> device id holding it
        self.messages: Counter[tuple[str, str]] = Counter()  # (method or kind, outcome)
        self.dropped: Counter[str] = Counter()  # reason (vocab.DROP_REASONS)
        self.alarms: Counter[str] = Counter()  # kind (alarms.KINDS)
        self.nonces = digest.Nonces(clock=clock)
        self.limits = Limits(
            settings.register_rate, settings.register_rate_per_source, settings.auth_failures_per_minute
        )
        self.tcp = TcpGate(settings.max_tcp_connections, settings.max_tcp_unauthenticated_per_source)
        self.queries = Queries(clock, self.dropped)
        # Devices' local time zone for a camera with no ``timezone`` (the service sets reports.timezone).
        self.timezone = "UTC"
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
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
                lambda: Datagrams(self.handle), local_addr=(host, int(port))
            )
            sock = self._udp.get_extra_info("socket")
            # Many devices answering a Catalog at once overrun the default buffer (~200 datagrams).
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_RECEIVE_BUFFER)
            bound = self._udp.get_extra_info("sockname")
            try:
                # TCP on the same port as UDP, as devices expect.
                self._tcp = await asyncio.start_server(self._serve_tcp, host, bound[1], limit=READ_CHUNK)
                break
            except OSError:
                self._udp.close()
                if int(port) or attempt == 19:
                    raise
        self.local = (host, bound[1])
        self._ticker = asyncio.create_task(self._tick_forever())
        log.info("GB/T 28181 platform %s listening on %s:%d (UDP and TCP)", self.settings.id, *self.local)
        self.tcp.budget(self.settings.max_tcp_connections, self.settings.max_tcp_unauthenticated_per_source)

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
        for writer in list(self.tcp.connections):
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
        refused = self.tcp.admit(writer, peer[0], self.clock())
        if refused is not None:
            self._drop(refused)
            writer.transport.abort()
            return
        s = self.settings
        deadline = s.keepalive.interval * s.keepalive.count
        conn = self.tcp.connections[writer]

        def idle() -> float:
            # A stranger gets the header deadline between messages; a device two keepalive deadlines.
            return 2 * deadline if conn.authenticated else s.tcp_header_timeout

        try:
            await read_messages(
                reader,
                (peer[0], peer[1]),
                writer.write,
                self.handle,
                max_bytes=s.max_message_bytes,
                header_timeout=s.tcp_header_timeout,
                idle_timeout=idle,
            )
        except sip.SipError as exc:
            self._drop("too_large" if exc.too_large else "malformed")
            if exc.request is not None:
                writer.write(sip.response(exc.request, 400, "Bad Request"))
            log.debug("GB/T 28181: closing TCP connection from %s: %s", peer[0], exc)
        except TimeoutError:
            self._drop("tcp_timeout")
        except ConnectionError:
            pass
        except Exception:  # a bug handling one device must not take the server down
            log.exception("GB/T 28181: handling a message from %s failed", peer[0])
        finally:
            self.tcp.close(writer)
            writer.close()
            for device in self.devices.values():
                if device.send == writer.write:  # queries wait for the device's next connection
                    device.send = None

    # -- messages -------------------------------------------------------------------------------------

    def _drop(self, reason: str) -> None:
        self.dropped[vocab.reason(reason)] += 1

    def _refuse(
        self, msg: sip.SipMessage, size: int, send: Send, status: int, reason: str, now: float
    ) -> None:
        """A refusal to a stranger: rate-limited, and never larger than the request (no amplification)."""
        reply = sip.response(msg, status, reason)
        if len(reply) > size:
            return
        if not self.limits.refusal_allowed(now):
            self._drop("rate")
            return
        send(reply)

    def handle(self, data: bytes, source: tuple[str, int], transport: str, send: Send) -> None:
        """Handle one whole message from ``source``; replies go through ``send``."""
        try:
            msg = sip.parse(data, max_bytes=self.settings.max_message_bytes)
        except sip.SipError as exc:
            self._drop("too_large" if exc.too_large else "malformed")
            if exc.request is not None:
                self._refuse(exc.request, len(data), send, 400, "Bad Request", self.clock())
            return
        if msg.status:  # answers to our queries: the data comes in the device's own MESSAGE
            self.messages[("response", vocab.status_label(msg.status))] += 1
            return
        now = self.clock()
        if msg.method == "REGISTER":
            outcome = self._register(msg, len(data), source, transport, send, now)
        elif msg.method in ("MESSAGE", "NOTIFY"):
            outcome = self._message(msg, len(data), source, transport, send, now)
        else:
            self._refuse(msg, len(data), send, 405, "Method Not Allowed", now)
            outcome = "405"
        method = msg.method if msg.method in ("REGISTER", "MESSAGE", "NOTIFY") else "other"
        self.messages[(method, outcome)] += 1

    def _register(
        self, msg: sip.SipMessage, size: int, source: tuple[str, int], transport: str, send: Send, now: float
    ) -> str:
        device_id = sip.user_of(msg.header("from"))
        device = self.devices.get(device_id)
        contact = (transport, source[0], source[1])
        # A device re-registering from where it registered is never throttled by strangers' floods.
        known = device is not None and device.registered and device.contact == contact
        if not known and not self.limits.register_allowed(source[0], now):
            self._drop("register_rate")
            return "dropped"
        s = self.settings
        if not is_gb_id(device_id):
            self._refuse(msg, size, send, 400, "Bad Request", now)
            return "400"
        if not s.allow_unknown_devices and device_id not in s.devices:
            self._refuse(msg, size, send, 404, "Not Found", now)
            return "404"
        params = digest.parse_authorization(msg.header("authorization"))
        if not params or not self.nonces.fresh(params.get("nonce", "")):
            self._challenge(msg, size, send, stale=bool(params))
            return "401"
        password = s.password_for(device_id)
        ok = password is not None and digest.verify(
            params, method="REGISTER", password=password.get_secret_value(), realm=s.domain
        )
        if not ok:
            if not known and not self.limits.failure_allowed(source[0], device_id, now):
                self._drop("auth_rate")
                return "dropped"
            log.warning("GB/T 28181 device %s at %s: wrong password (403)", device_id, source[0])
            send(sip.response(msg, 403, "Forbidden"))
            return "403"
        if not self.nonces.first_use(params):
            # A response seen before: a replay, or a retransmission whose 200 was lost. Either way a fresh
            # challenge; a real device answers it with its password. Counted with wrong passwords.
            if not known and not self.limits.failure_allowed(source[0], device_id, now):
                self._drop("auth_rate")
                return "dropped"
            log.warning(
                "GB/T 28181 device %s at %s: digest response reused, challenged again", device_id, source[0]
            )
            self._challenge(msg, size, send, stale=True)
            return "401"
        expires = self._expires(msg)
        if expires == 0:
            send(sip.response(msg, 200, "OK", [("Date", gb_date(datetime.now())), ("Expires", "0")]))
            if device is not None:
                device.registered = False
                device.pending.clear()
                self._set_online(device, False, now, "unregistered")
                log.info("GB/T 28181 device %s unregistered", device_id)
            return "200"
        if device is None:
            if not self._make_room(now):  # checked only now: no stranger without the password evicts anyone
                send(sip.response(msg, 503, "Service Unavailable"))
                return "503"
            device = self.devices[device_id] = Device(device_id)
            log.info("GB/T 28181 device %s registered from %s:%d over %s", device_id, *source, transport)
        if not known:  # a new contact: a new subscription dialog, and no answer to older queries counts
            device.subscription_call_id = secrets.token_hex(12)
            device.subscribed_until = 0.0
            device.pending.clear()
        device.transport, device.address, device.send, device.contact = transport, source, send, contact
        if transport == "TCP":
            self.tcp.authenticate(send)
        device.registered = True
        device.expires_at = now + expires
        contact_header = [("Contact", c) for c in msg.all("contact")[:1]]
        extra = [*contact_header, ("Expires", str(expires)), ("Date", gb_date(datetime.now()))]
        send(sip.response(msg, 200, "OK", extra))
        self._keepalive(device, now)
        device.catalog_due = now  # a fresh registration is asked for its catalog at once
        device.subscription_due = now  # and subscribed to its catalog's changes
        self._query(device, "DeviceStatus")
        return "200"

    def _challenge(self, msg: sip.SipMessage, size: int, send: Send, *, stale: bool) -> None:
        """A 401 with a fresh nonce; at most twice the REGISTER's size (a device's REGISTER is bigger than
        that needs), so that a spoofed source cannot use us to amplify."""
        challenge = digest.challenge(self.settings.domain, self.nonces.issue()) + (
            ",stale=true" if stale else ""
        )
        reply = sip.response(msg, 401, "Unauthorized", [("WWW-Authenticate", challenge)])
        if len(reply) <= 2 * size:
            send(reply)

    def _make_room(self, now: float) -> bool:
        """Whether a new device fits under ``max_devices`` (forgetting one whose registration ended)."""
        if len(self.devices) < self.settings.max_devices:
            return True
        gone = next((d for d in self.devices.values() if not d.registered or d.expires_at < now), None)
        if gone is None:
            return False
        for channel in gone.channels:
            self.owners.release(channel, gone.id)
        del self.devices[gone.id]
        return True

    def _expires(self, msg: sip.SipMessage) -> int:
        value = msg.header("expires") or sip.param(msg.header("contact"), "expires")
        seconds = sip.number(value, DEFAULT_EXPIRES)
        return min(seconds, int(self.settings.max_expires))

    def _message(
        self, msg: sip.SipMessage, size: int, source: tuple[str, int], transport: str, send: Send, now: float
    ) -> str:
        # Headers first: a message that is not the registered device's own is never parsed further.
        device = self.devices.get(sip.user_of(msg.header("from")))
        s = self.settings
        if device is None or not device.registered or device.expires_at <= now:
            refused = "not_registered"
        elif device.contact != (transport, source[0], source[1]):
            refused = "wrong_contact"  # MESSAGEs carry no credentials: only the registered contact counts
        elif not device.online and s.revive == "register":
            refused = "not_registered"
        else:
            refused = ""
        if refused or device is None:
            self._drop(refused or "not_registered")
            # 404 makes a device that lost its registration (e.g. our restart, a new address) register again.
            self._refuse(msg, size, send, 404, "Not Found", now)
            return "404"
        try:
            doc = manscdp.parse(msg.body, msg.header("content-type"), max_items=s.max_channels)
        except manscdp.ManscdpError:
            self._drop("bad_body")
            send(sip.response(msg, 400, "Bad Request"))
            return "400"
        send(sip.response(msg, 200, "OK"))
        if doc.cmd == "Keepalive":
            self._keepalive(device, now)
            if date := msg.header("date"):
                device.keepalive_date = (date[:64], now)
        elif doc.cmd == "Catalog" and doc.root == "Response":
            if self.queries.awaited(device, doc.sn, "Catalog", now):
                self._catalog(device, doc, now)
            else:
                self._drop("unsolicited_response")
        elif doc.cmd == "Catalog":
            # Changes come as NOTIFY in the subscription's dialog (its Call-ID) while it lasts.
            dialog = msg.method == "NOTIFY" and msg.header("call-id") == device.subscription_call_id
            if dialog and now < device.subscribed_until:
                self._catalog(device, doc, now)
            else:
                self._drop("no_subscription")
        elif doc.cmd in ("DeviceStatus", "RecordInfo"):
            if not self.queries.awaited(device, doc.sn, doc.cmd, now):
                self._drop("unsolicited_response")
            elif not self.queries.deliver(device, doc, size) and doc.cmd == "DeviceStatus":
                del device.pending[doc.sn]  # the platform's own query, sent at registration
                self._device_status(device, doc)
        elif doc.cmd == "Alarm" and doc.root == "Notify":
            self._alarm(device, doc, now)
        return vocab.cmd_label(doc.cmd) if doc.cmd else "200"

    def _alarm(self, device: Device, doc: manscdp.Manscdp, now: float) -> None:
        """A device's own alarm (``alarms``): counted, a storage alarm kept, answered within its rate."""
        # Its own: the device itself or a channel it owns (the ledger's gb_device, else its catalog's).
        if self.owners.owner(doc.device_id, self.devices.__contains__) != device.id:
            self._drop("not_owner")
            return
        kind = alarms.kind(doc)
        self.alarms[kind] += 1
        if kind != "other":
            device.storage_alarms[kind] = now
        if device.send is None:
            return
        if not device.alarm_answers.take(now):
            self._drop("alarm_rate")
            return
        try:
            device.send(alarms.response(device, doc, self.settings, self.local))
        except (OSError, RuntimeError):  # a closed TCP connection: the device reconnects
            self._drop("send_failed")

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
        """Apply a Catalog answer (awaited) or NOTIFY (subscribed): only channels ``device`` owns."""
        answer = doc.root == "Response"
        received = device.assemblies.setdefault(doc.sn, set()) if answer else set()
        touched = []
        while len(device.assemblies) > _MAX_ASSEMBLIES:
            del device.assemblies[next(iter(device.assemblies))]
        for item in doc.items:
            cid = item.device_id
            if not is_gb_id(cid) or cid[10:13] in _GROUP_TYPES:
                continue
            received.add(cid)  # counts towards SumNum even when refused
            owner = self.owners.refuse(device.id, cid, self.devices.__contains__)
            if owner is not None:
                self._drop("not_owner")
                if self.on_note is not None and self.owners.first_refusal(device.id, cid):
                    self.on_note(cid, ownership.NOTE, {"device": device.id, "owner": owner}, now)
                continue
            if item.event == "DEL":
                self._remove_channel(device, cid, now)
                continue
            channel = device.channels.get(cid)
            if channel is None:
                if len(device.channels) >= self.settings.max_channels:
                    self._drop("channels")
                    continue
                channel = device.channels[cid] = Channel(cid)
                self.owners.hold(cid, device.id)
                if not self.known(cid):
                    device.unknown += 1
            channel.name = item.name or channel.name
            channel.status = item.status
            touched.append(channel)
        complete = doc.sum_num and len(received) >= min(doc.sum_num, self.settings.max_channels)
        if answer and complete:
            # The whole catalog arrived from its owner: channels it no longer lists have left the device.
            for gone in [c for c in device.channels if c not in received]:
                self._remove_channel(device, gone, now)
            del device.assemblies[doc.sn]
            device.pending.pop(doc.sn, None)
        if device.unknown and not device.warned_unknown:
            device.warned_unknown = True
            log.warning(
                "GB/T 28181 device %s lists channels the ledger does not know (no camera has their gb_id); "
                "they are counted in camwatch_gb28181_unknown_channels",
                device.id,
            )
        # Only this packet's channels: an NVR's catalog comes in hundreds of packets.
        self._emit(device, now, "", touched)

    def _remove_channel(self, device: Device, channel_id: str, now: float, *, report: bool = True) -> None:
        channel = device.channels.pop(channel_id, None)
        if channel is None:
            return
        self.owners.release(channel_id, device.id)
        if not self.known(channel_id):
            device.unknown -= 1
        if report and channel.reported and self.on_result is not None:
            gone = probe_result(False, "no longer in the device's catalog", device.id)
            self.on_result(channel_id, gone, now)

    def _device_status(self, device: Device, doc: manscdp.Manscdp) -> None:
        device.device_status = {"Online": doc.online, "Status": doc.status, **doc.extra}
        if doc.device_time is not None:
            device.clock_offset = manscdp.clock_offset(doc.device_time)

    def _emit(self, device: Device, now: float, why: str, channels: Iterable[Channel] | None = None) -> None:
        """Hand the monitor every id of this device (or of ``channels``) whose effective status changed."""
        if self.on_result is None:
            return
        if device.reported != device.online:
            device.reported = device.online
            self.on_result(device.id, probe_result(device.online, why, device.id), now)
        for channel in device.channels.values() if channels is None else channels:
            up = device.effective(channel)
            if channel.reported != up:
                channel.reported = up
                reason = why if not device.online else "channel Status OFF in the device's catalog"
                self.on_result(channel.id, probe_result(up, reason, device.id), now)

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
        self.queries.send(device, cmd, settings=self.settings, local=self.local, subscribe=subscribe)

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
        self.limits.update(
            settings.register_rate, settings.register_rate_per_source, settings.auth_failures_per_minute
        )
        if self.local[1]:
            self.tcp.budget(
                self.settings.max_tcp_connections, self.settings.max_tcp_unauthenticated_per_source
            )

    def relink(self, known: Callable[[str], bool], owners: Mapping[str, str] | None = None) -> None:
        """Adopt a new ledger: channels the ledger now gives to another device leave the one holding them,
        unknown channels are recounted and every status is handed over again."""
        self.known = known
        if owners is not None:
            self.owners.ledger = dict(owners)
        now = self.clock()
        for device in self.devices.values():
            for cid in [c for c in device.channels if self.owners.ledger.get(c, device.id) != device.id]:
                self._remove_channel(device, cid, now, report=False)
            device.unknown = sum(1 for c in device.channels if not known(c))
        self.replay()

    def recorder_of(self, channel: str) -> Device | str:
        """The registered, online device that owns ``channel`` (its recorder), or why there is none."""
        owner = self.owners.owner(channel, self.devices.__contains__)
        device = self.devices.get(owner) if owner else None
        if device is None or not device.registered or device.expires_at <= self.clock():
            if owner is None:
                return f"no registered GB/T 28181 device lists channel {channel}"
            return f"GB/T 28181 device {owner} (owner of channel {channel}) is not registered"
        if not device.online:
            return f"GB/T 28181 device {owner} (owner of channel {channel}) is offline"
        return device

    async def ask(
        self, device: Device, cmd: str, answer: Answer, target: str, fields: Iterable[tuple[str, str]] = ()
    ) -> None:
        """Query ``device`` about ``target``; wait until ``answer`` is done (the caller bounds the time)."""
        await self.queries.ask(
            device, cmd, answer, settings=self.settings, local=self.local, target=target, fields=fields
        )

    def parent_of(self, gb_id: str) -> str | None:
        """The device (NVR, lower platform) a channel belongs to; a device is its own parent."""
        return self.parents.get(gb_id) or (gb_id if gb_id in self.devices else None)
