"""RTP over UDP for the decoder relay: receive ports from a configured range, and receivers that pass on only
the camera's own packets.

A camera that refuses interleaved TCP sends RTP to a pair of UDP ports camwatch names in SETUP
(``client_port=P-P+1``: RTP on the even port, RTCP on the next). Those ports come from
``monitor.video.udp_ports`` so that a firewall can be opened for them, and a pair is in use by one session at
a time, which bounds how many UDP sessions run. Anything may arrive there: a receiver passes on a datagram
only when it comes from the camera's address and the server port its SETUP answer named, is plausible RTP
(version 2, a header, at most one datagram's size) and, where the camera announced one, carries its SSRC.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass

# RTP fixed header; RTCP's is 8 bytes. Anything longer than a UDP datagram can carry is not from a camera.
RTP_HEADER = 12
RTCP_HEADER = 8
MAX_DATAGRAM = 65507
# Pairs bound at once when the system picks the ports (no ``udp_ports``): as many as a large video gate uses.
SYSTEM_PAIRS = 512
_SYSTEM_TRIES = 32


class PortsExhausted(Exception):
    """Every UDP port pair of the range is in use: camwatch's side, not the camera's."""


class UdpPorts:
    """Pairs of UDP ports (RTP on an even port, RTCP on the next) from ``span`` (first, last) or, without
    one, from the system; a pair serves one session until released. Thread-safe."""

    def __init__(self, span: tuple[int, int] | None) -> None:
        self.span = span
        self._lock = threading.Lock()
        self._used: set[int] = set()
        self._next = 0

    @property
    def in_use(self) -> int:
        return len(self._used)

    def acquire(self, host: str) -> tuple[socket.socket, socket.socket]:
        """Two bound sockets on ``host`` (the local address the camera reaches camwatch at)."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with self._lock:
            if self.span is None:
                return self._system_pair(host, family)
            first, last = self.span
            evens = list(range(first + first % 2, last, 2))
            for i in range(len(evens)):
                port = evens[(self._next + i) % len(evens)]
                if port in self._used:
                    continue
                pair = _bind_pair(host, family, port)
                if pair is not None:
                    self._next = (self._next + i + 1) % len(evens)
                    self._used.add(port)
                    return pair
        raise PortsExhausted(f"no free UDP port pair in {first}-{last} (monitor.video.udp_ports)")

    def _system_pair(self, host: str, family: int) -> tuple[socket.socket, socket.socket]:
        if len(self._used) >= SYSTEM_PAIRS:
            raise PortsExhausted(f"{SYSTEM_PAIRS} UDP port pairs in use")
        for _ in range(_SYSTEM_TRIES):
            with socket.socket(family, socket.SOCK_DGRAM) as probe:
                probe.bind((host, 0))
                port = probe.getsockname()[1]
            port -= port % 2
            pair = _bind_pair(host, family, port) if port not in self._used else None
            if pair is not None:
                self._used.add(port)
                return pair
        raise PortsExhausted("the system gave no free UDP port pair")

    def release(self, port: int) -> None:
        with self._lock:
            self._used.discard(port)


def _bind_pair(host: str, family: int, port: int) -> tuple[socket.socket, socket.socket] | None:
    bound: list[socket.socket] = []
    try:
        for each in (port, port + 1):
            sock = socket.socket(family, socket.SOCK_DGRAM)
            bound.append(sock)
            sock.bind((host, each))
            sock.setblocking(False)
    except OSError:
        for sock in bound:
            sock.close()
        return None
    return bound[0], bound[1]


_pools: dict[tuple[int, int] | None, UdpPorts] = {}
_pools_lock = threading.Lock()


def ports(span: tuple[int, int] | None) -> UdpPorts:
    """The process's pool for ``span`` (one per configured range, so sessions never share a pair)."""
    with _pools_lock:
        return _pools.setdefault(span, UdpPorts(span))


# ---------------------------------------------------------------------------------------------------------
# Transport headers
# ---------------------------------------------------------------------------------------------------------

_INTERLEAVED = re.compile(r"(?:^|;)\s*interleaved=(\d{1,3})(?:-(\d{1,3}))?", re.IGNORECASE)
_SERVER_PORT = re.compile(r"(?:^|;)\s*server_port=(\d{1,5})(?:-(\d{1,5}))?", re.IGNORECASE)
_SSRC = re.compile(r"(?:^|;)\s*ssrc=([0-9a-fA-F]{1,8})(?:;|$)")


def interleaved_channel(transport: str) -> int:
    """The RTP channel a decoder's ``Transport: RTP/AVP/TCP;…;interleaved=a-b`` asks for (RTCP is a+1)."""
    match = _INTERLEAVED.search(transport)
    return int(match.group(1)) if match and int(match.group(1)) < 255 else 0


def udp_request(client_port: int) -> str:
    return f"RTP/AVP;unicast;client_port={client_port}-{client_port + 1}"


@dataclass(frozen=True, slots=True)
class UdpAnswer:
    """What a camera's SETUP answer says about where its RTP comes from."""

    server_port: int | None
    ssrc: int | None


def parse_udp_answer(transport: str) -> UdpAnswer:
    port = _SERVER_PORT.search(transport)
    ssrc = _SSRC.search(transport)
    server_port = int(port.group(1)) if port and 0 < int(port.group(1)) < 65535 else None
    return UdpAnswer(server_port, int(ssrc.group(1), 16) if ssrc else None)


def interleaved_answer(channel: int, answer: UdpAnswer) -> str:
    """The ``Transport`` the decoder, which asked for interleaved TCP, is answered with."""
    ssrc = f";ssrc={answer.ssrc:08X}" if answer.ssrc is not None else ""
    return f"RTP/AVP/TCP;unicast;interleaved={channel}-{channel + 1}{ssrc}"


# ---------------------------------------------------------------------------------------------------------
# Receiving
# ---------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Counts:
    """Datagrams of one session: passed on as the camera's, and refused (another source, not RTP, another
    SSRC)."""

    rtp: int = 0
    rtcp: int = 0
    refused: int = 0


# Each time a socket is readable it is drained (at most _BATCH datagrams, so a flood cannot hold the event
# loop; the kernel drops what overflows the socket's buffer). RTP reaches the decoder a whole frame at a time
# (its last packet carries the marker bit; a new timestamp also ends the frame before, for a camera that
# never marks; at most _HOLD bytes are held): one write, and one wake-up of the decoder thread, per frame,
# as over interleaved TCP. Per packet, that made UDP cost 1.13-1.27x TCP's CPU per check.
_BATCH = 64
_HOLD = 64 * 1024
_RECEIVE = 65536
_FRAME = 0x24  # "$": an interleaved frame


def _receiver(track: UdpTrack, sock: socket.socket, *, rtcp: int) -> Callable[[], None]:
    """The socket's reader: drains what is queued (up to ``_BATCH``) into interleaved frames (``$``,
    channel, length, packet) holding only the camera's own plausible packets, and hands them on a frame at a
    time (RTCP at once)."""
    channel = track.channel + rtcp
    counts = track.counts
    port = track.answer.server_port
    source_ip, source_port = track.camera_ip, (port + rtcp if port is not None else None)
    ssrc = track.answer.ssrc.to_bytes(4, "big") if track.answer.ssrc is not None and not rtcp else None
    shortest = RTCP_HEADER if rtcp else RTP_HEADER
    buffer = bytearray(_RECEIVE)
    view = memoryview(buffer)
    head = bytearray((_FRAME, channel, 0, 0))
    held = bytearray()  # frames of the current picture, not yet handed on
    stamp = bytearray(4)  # its RTP timestamp

    def ready() -> None:
        nonlocal held
        refused = taken = 0
        complete = bool(rtcp)
        for _ in range(_BATCH):
            try:
                size, addr = sock.recvfrom_into(buffer)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break  # an ICMP error for our RTCP: the camera's business, the session goes on
            if (
                addr[0] != source_ip
                or (source_port is not None and addr[1] != source_port)
                or not shortest <= size <= MAX_DATAGRAM
                or buffer[0] >> 6 != 2
                or (ssrc is not None and view[8:12] != ssrc)
            ):
                refused += 1
                continue
            if not rtcp:
                complete = complete or (bool(held) and view[4:8] != stamp)  # a new picture began
                stamp[:] = view[4:8]
                complete = complete or bool(buffer[1] & 0x80)  # marker: the picture's last packet
            head[2:4] = size.to_bytes(2, "big")
            held += head
            held += view[:size]
            taken += 1
        counts.refused += refused
        if rtcp:
            counts.rtcp += taken
        else:
            counts.rtp += taken
        if held and (complete or len(held) > _HOLD):
            track.deliver(held)
            held = bytearray()

    return ready


@dataclass(slots=True, eq=False)
class UdpTrack:
    """One SETUP's port pair: receives the camera's RTP/RTCP and hands it to ``deliver(frames)`` as
    interleaved frames; ``send_rtcp`` passes the decoder's receiver reports back to the camera."""

    pool: UdpPorts
    sockets: tuple[socket.socket, socket.socket]
    channel: int
    camera_ip: str
    deliver: Callable[[bytearray], None]
    counts: Counts
    answer: UdpAnswer = UdpAnswer(None, None)
    _loop: asyncio.AbstractEventLoop | None = None
    client_port: int = 0  # the even port of the pair, named in SETUP
    _closed: bool = False

    def __post_init__(self) -> None:
        self.client_port = int(self.sockets[0].getsockname()[1])

    async def start(self, answer: UdpAnswer) -> None:
        """Receive from the camera, now that its SETUP answer said from where. With a server port the
        sockets are connected to it, so the kernel itself drops other sources' datagrams."""
        self.answer = answer
        self._loop = asyncio.get_running_loop()
        for sock, rtcp in zip(self.sockets, (0, 1), strict=True):
            if answer.server_port is not None:
                with contextlib.suppress(OSError):
                    sock.connect((self.camera_ip, answer.server_port + rtcp))
            # A reader of our own rather than a datagram endpoint: one callback drains what is queued.
            self._loop.add_reader(sock.fileno(), _receiver(self, sock, rtcp=rtcp))

    def send_rtcp(self, data: bytes) -> None:
        if self._loop is not None and self.answer.server_port is not None:
            with contextlib.suppress(OSError):  # connected in ``start``; a full buffer drops a report
                self.sockets[1].send(data)

    def close(self) -> None:
        """Stop receiving and give the pair back (again: nothing)."""
        if self._closed:
            return
        self._closed = True
        for sock in self.sockets:
            if sock.fileno() != -1 and self._loop is not None and not self._loop.is_closed():
                self._loop.remove_reader(sock.fileno())
            sock.close()
        self.pool.release(self.client_port)
