"""The upper platform's transports: UDP datagrams, and for TCP the connection budget and each connection's
deadlines.

* A budget of descriptors: at most ``max_tcp_connections``, lowered to a quarter of the process's open-file
  limit (the web server takes another quarter: probes keep the rest). When it is full, the oldest connection
  that has not authenticated is closed to make room; registered devices' connections are never closed for it.
* Per source, at most ``max_tcp_unauthenticated_per_source`` connections that have not carried a successful
  REGISTER: one host cannot hold the budget. A device's own (authenticated) connection, however many channels
  its NVR carries, is not counted.
* Deadlines: a message, once begun (and a new connection's first one), must be whole within
  ``tcp_header_timeout``; between messages a connection may be idle for one keepalive deadline (interval ×
  count), after which its device is offline anyway.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from camwatch.monitor.gb28181 import sip
from camwatch.monitor.web import connection_cap

log = logging.getLogger(__name__)

READ_CHUNK = 65536

Send = Callable[[bytes], None]
Handle = Callable[[bytes, tuple[str, int], str, Send], None]


@dataclass(slots=True)
class Connection:
    writer: asyncio.StreamWriter
    host: str
    opened: float
    authenticated: bool = False


class TcpGate:
    """Admits, tracks and closes the platform's TCP connections."""

    def __init__(self, cap: int, per_source: int):
        self.cap = cap
        self.per_source = per_source
        self.connections: dict[asyncio.StreamWriter, Connection] = {}
        self._unauthenticated: Counter[str] = Counter()

    def budget(self, configured: int, per_source: int) -> None:
        """Adopt the limits: at most ``configured`` connections, within a quarter of the open-file limit
        (the web server has another quarter), logged."""
        self.cap = connection_cap(configured)
        self.per_source = per_source
        log.info(
            "GB/T 28181 TCP: at most %d connections (max_tcp_connections %d, within a quarter of the "
            "open-file limit), %d not yet authenticated per source",
            self.cap,
            configured,
            per_source,
        )

    def admit(self, writer: asyncio.StreamWriter, host: str, now: float) -> str | None:
        """Register a new connection, or say why it is refused (a drop reason)."""
        if self._unauthenticated[host] >= self.per_source:
            return "tcp_per_source"
        if len(self.connections) >= self.cap:
            oldest = next((c for c in self.connections.values() if not c.authenticated), None)
            if oldest is None:
                return "tcp_connections"
            self.close(oldest.writer)
            oldest.writer.transport.abort()
        self.connections[writer] = Connection(writer, host, now)
        self._unauthenticated[host] += 1
        return None

    def authenticate(self, send: Send) -> None:
        """The connection ``send`` writes to carried a successful REGISTER: no longer a stranger's."""
        writer = getattr(send, "__self__", None)
        conn = self.connections.get(writer) if isinstance(writer, asyncio.StreamWriter) else None
        if conn is not None and not conn.authenticated:
            conn.authenticated = True
            self._forget(conn.host)

    def close(self, writer: asyncio.StreamWriter) -> None:
        conn = self.connections.pop(writer, None)
        if conn is not None and not conn.authenticated:
            self._forget(conn.host)

    def _forget(self, host: str) -> None:
        self._unauthenticated[host] -= 1
        if self._unauthenticated[host] <= 0:
            del self._unauthenticated[host]

    def unauthenticated(self, host: str) -> int:
        return self._unauthenticated[host]


async def read_messages(
    reader: asyncio.StreamReader,
    peer: tuple[str, int],
    send: Send,
    handle: Handle,
    *,
    max_bytes: int,
    header_timeout: float,
    idle_timeout: Callable[[], float],
) -> None:
    """Frame and hand over every message until the peer hangs up; raises :class:`sip.SipError` for a
    stream we cannot frame and ``TimeoutError`` past a deadline. ``idle_timeout()`` is asked each time the
    connection waits between messages (it grows once the connection has authenticated)."""
    loop = asyncio.get_running_loop()
    framer = sip.StreamFramer(max_bytes)
    begun: float | None = loop.time()  # the first message is due within the header deadline
    while True:
        if begun is None:
            timeout = idle_timeout()
        else:
            timeout = begun + header_timeout - loop.time()
            if timeout <= 0:
                raise TimeoutError("message not complete within the header deadline")
        data = await asyncio.wait_for(reader.read(READ_CHUNK), timeout)
        if not data:
            return
        whole = False
        for message in framer.feed(data):
            whole = True
            handle(message, peer, "TCP", send)
        if not framer.pending:
            begun = None
        elif whole or begun is None:  # a new message has begun
            begun = loop.time()


class Datagrams(asyncio.DatagramProtocol):
    def __init__(self, handle: Handle):
        self.handle = handle
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
            self.handle(data, addr[:2], "UDP", lambda out: transport.sendto(out, addr))
        except Exception:  # one bad datagram must not stop the endpoint
            log.exception("GB/T 28181: handling a datagram from %s failed", addr[0])
