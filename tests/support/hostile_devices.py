"""Hostile devices on loopback, real sockets all: an ONVIF device that answers with a gzip bomb or an endless
reply, an RTSP camera that treats camwatch's probe well and its video decoder badly, a listener that
records whatever reaches another address, and a GB/T 28181 device speaking raw SIP (``RawGbDevice``: a
neighbour NVR, a spoofer, a flood source).

Reusable as they are (tests, soak runs)::

    async with hostile_onvif("gzip_bomb") as dev:          # camera: onvif_host=dev.host, onvif_port=dev.port
        ...
    async with recording_listener("127.0.0.77") as trap, hostile_rtsp(
        decoder="redirect", location=trap.url("cam"), auth="basic"
    ) as cam:                                  # camera: rtsp_url=cam.url("cam"), login CAM_USER/CAM_PASSWORD
        ...
    assert trap.received == b""                # nothing (no login) reached the other host
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
import socket
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from camwatch.monitor.rtsp_proto import parse_challenges

LOOPBACK = "127.0.0.1"
CAM_USER = "viewer"
CAM_PASSWORD = "Hostile-s3cret:pw"

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def _serving(handler: Handler, host: str) -> AsyncIterator[tuple[str, int]]:
    """A TCP server on ``host`` running ``handler`` per connection; every connection closes at exit."""
    tasks: set[asyncio.Task[None]] = set()
    writers: set[asyncio.StreamWriter] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        writers.add(writer)
        try:
            await handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.transport.abort()
            writers.discard(writer)
            tasks.discard(task)

    server = await asyncio.start_server(serve, host, 0)
    try:
        yield host, server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for writer in list(writers):  # handlers then end on their own (a cancel would be logged as an error)
            writer.transport.abort()
        if tasks:
            await asyncio.wait(list(tasks), timeout=5)
        await server.wait_closed()


async def _read_http_request(reader: asyncio.StreamReader) -> None:
    """Read one HTTP request (head and Content-Length body)."""
    head = await reader.readuntil(b"\r\n\r\n")
    for line in head.decode("latin-1").split("\r\n"):
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            await reader.readexactly(int(value))


# ------------------------------------------------------------------------------------------------- ONVIF

OnvifMode = Literal["gzip_bomb", "endless"]


@lru_cache(maxsize=4)
def gzip_bomb(inflated_bytes: int) -> bytes:
    """A gzip body of ``inflated_bytes`` zero bytes (1 GiB compresses to about 1 MB, in some seconds)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = bytes(1 << 20)
    whole, rest = divmod(inflated_bytes, len(chunk))
    parts = [packer.compress(chunk) for _ in range(whole)]
    return b"".join([*parts, packer.compress(bytes(rest)), packer.flush()])


@dataclass
class HostileOnvif:
    """Where the device listens; ``requests`` counts requests read, ``sent`` the body bytes written."""

    host: str
    port: int
    mode: OnvifMode
    requests: int = 0
    sent: int = 0


@contextlib.asynccontextmanager
async def hostile_onvif(
    mode: OnvifMode, *, inflated_bytes: int = 64 << 20, host: str = LOOPBACK
) -> AsyncIterator[HostileOnvif]:
    """An ONVIF device (any path, any SOAP request) answering every request with HTTP 200 and

    * ``gzip_bomb``: ``Content-Encoding: gzip`` and a body inflating to ``inflated_bytes`` (whatever
      ``Accept-Encoding`` asked for);
    * ``endless``: a chunked XML body that never ends, written as fast as the client reads.
    """
    device = HostileOnvif(host, 0, mode)
    bomb = gzip_bomb(inflated_bytes) if mode == "gzip_bomb" else b""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await _read_http_request(reader)
            device.requests += 1
            head = "HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml; charset=utf-8\r\n"
            if mode == "gzip_bomb":
                writer.write(f"{head}Content-Encoding: gzip\r\nContent-Length: {len(bomb)}\r\n\r\n".encode())
                writer.write(bomb)
                device.sent += len(bomb)
                await writer.drain()
                continue
            writer.write(f"{head}Transfer-Encoding: chunked\r\n\r\n".encode())
            filler = b"<s:Envelope>" + b"<a>x</a>" * 8192
            chunk = b"%x\r\n%s\r\n" % (len(filler), filler)
            while True:  # ends when the client hangs up
                writer.write(chunk)
                device.sent += len(filler)
                await writer.drain()

    async with _serving(handle, host) as (_, device.port):
        yield device


# -------------------------------------------------------------------------------------------------- RTSP

DecoderMode = Literal["redirect", "stall"]
SDP = (
    b"v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=cam\r\nt=0 0\r\n"
    b"m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=framesize:96 640-360\r\na=control:track1\r\n"
)


@dataclass(frozen=True)
class RtspRequest:
    """One request as the camera read it: on which connection, and whether a 401 had been sent on that
    connection before it arrived (``challenged``)."""

    connection: int
    method: str
    uri: str
    user_agent: str
    authorization: str | None
    challenged: bool

    @property
    def scheme(self) -> str | None:
        return self.authorization.split(" ", 1)[0].lower() if self.authorization else None

    @property
    def from_probe(self) -> bool:
        return self.user_agent == "camwatch"


@dataclass
class HostileRtsp:
    """Where the camera listens and every request it read, in order."""

    host: str
    port: int
    requests: list[RtspRequest] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"rtsp://{self.host}:{self.port}/{path.lstrip('/')}"

    @property
    def connections(self) -> int:
        return len({r.connection for r in self.requests})


def _login_valid(authorization: str | None, method: str) -> bool:
    """Whether ``authorization`` carries CAM_USER/CAM_PASSWORD, as Basic or as a correct Digest answer."""
    if not authorization:
        return False
    if authorization.lower().startswith("basic "):
        expected = base64.b64encode(f"{CAM_USER}:{CAM_PASSWORD}".encode()).decode()
        return authorization[6:].strip() == expected
    (answer,) = parse_challenges([authorization])
    p = answer.params

    def md5(text: str) -> str:
        return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()

    ha1 = md5(f"{p.get('username')}:{p.get('realm')}:{CAM_PASSWORD}")
    ha2 = md5(f"{method}:{p.get('uri')}")
    if "qop" in p:
        expected = md5(f"{ha1}:{p.get('nonce')}:{p.get('nc')}:{p.get('cnonce')}:{p['qop']}:{ha2}")
    else:
        expected = md5(f"{ha1}:{p.get('nonce')}:{ha2}")
    return answer.scheme == "digest" and p.get("username") == CAM_USER and p.get("response") == expected


@contextlib.asynccontextmanager
async def hostile_rtsp(
    *,
    decoder: DecoderMode = "redirect",
    location: str | None = None,
    auth: str | None = None,
    host: str = LOOPBACK,
) -> AsyncIterator[HostileRtsp]:
    """An RTSP camera answering camwatch's own probe (User-Agent ``camwatch``) like a healthy H.264 camera,
    and the video decoder (any other client) as ``decoder`` says, once OPTIONS is done:

    * ``redirect``: DESCRIBE answered ``302`` to ``location`` (default: the camera's own URL, a loop);
    * ``stall``: DESCRIBE never answered (the decode hangs until its deadline).

    ``auth`` (``"basic"``, ``"digest"`` or ``"basic,digest"``) makes every request without a valid
    CAM_USER/CAM_PASSWORD login get a 401 offering those schemes; the login is checked, never just its form.
    """
    camera = HostileRtsp(host, 0)
    nonce = os.urandom(8).hex()
    connections = 0
    challenge_values = []
    for scheme in (auth or "").split(","):
        if scheme == "basic":
            challenge_values.append('Basic realm="cam"')
        elif scheme == "digest":
            challenge_values.append(f'Digest realm="cam", nonce="{nonce}"')

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        connection, challenged = connections, False
        while True:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            lines = head.split("\r\n")
            method, uri, _ = lines[0].split(" ", 2)
            headers = {
                k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])
            }
            request = RtspRequest(
                connection,
                method,
                uri,
                headers.get("user-agent", ""),
                headers.get("authorization"),
                challenged,
            )
            camera.requests.append(request)
            reply = f"RTSP/1.0 %s\r\nCSeq: {headers.get('cseq', '0')}\r\n"
            if challenge_values and not _login_valid(request.authorization, method):
                challenged = True
                offers = "".join(f"WWW-Authenticate: {v}\r\n" for v in challenge_values)
                writer.write((reply % "401 Unauthorized" + offers + "\r\n").encode())
            elif method == "OPTIONS":
                writer.write((reply % "200 OK" + "Public: OPTIONS, DESCRIBE, SETUP, PLAY\r\n\r\n").encode())
            elif method != "DESCRIBE":
                writer.write((reply % "455 Method Not Valid in This State" + "\r\n").encode())
            elif request.from_probe:
                length = f"Content-Type: application/sdp\r\nContent-Length: {len(SDP)}\r\n\r\n"
                writer.write((reply % "200 OK" + length).encode() + SDP)
            elif decoder == "redirect":
                target = location or camera.url(uri.split("/", 3)[-1])
                writer.write((reply % "302 Moved Temporarily" + f"Location: {target}\r\n\r\n").encode())
            else:
                await reader.read()  # stall: never answer, until the client hangs up
                return
            await writer.drain()

    async with _serving(handle, host) as (_, camera.port):
        yield camera


@dataclass
class Listener:
    """Where the listener accepts, how many connections came and every byte they sent."""

    host: str
    port: int
    connections: int = 0
    received: bytearray = field(default_factory=bytearray)

    def url(self, path: str) -> str:
        return f"rtsp://{self.host}:{self.port}/{path.lstrip('/')}"


@contextlib.asynccontextmanager
async def recording_listener(host: str = "127.0.0.77") -> AsyncIterator[Listener]:
    """A TCP listener on another loopback address recording everything it receives; it answers each
    request head with an RTSP 404, so a client that came here finishes quickly."""
    listener = Listener(host, 0)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        listener.connections += 1
        while data := await reader.read(65536):
            listener.received += data
            if b"\r\n\r\n" in data:
                writer.write(b"RTSP/1.0 404 Not Found\r\nCSeq: 1\r\n\r\n")
                await writer.drain()

    async with _serving(handle, host) as (_, listener.port):
        yield listener


# ------------------------------------------------------------------------------------------- GB/T 28181


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class SipReply:
    """A SIP message as the raw device read it: status (0 for a request), method, headers, body."""

    status: int
    method: str
    headers: dict[str, str]
    body: bytes
    size: int


def _parse_sip(data: bytes) -> SipReply:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("utf-8", "replace").split("\r\n")
    first = lines[0].split(" ", 2)
    status = int(first[1]) if first[0] == "SIP/2.0" else 0
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return SipReply(status, "" if status else first[0], headers, body, len(data))


def _sn(body: bytes) -> int:
    text = body.decode("utf-8", "replace")
    return int(text.split("<SN>", 1)[1].split("</SN>", 1)[0]) if "<SN>" in text else 0


@dataclass
class RawGbDevice:
    """A GB/T 28181 device over a raw socket (UDP, or TCP), with its own SIP text and digest: what an NVR,
    a misconfigured neighbour or an attacker on the network sends, no camwatch code on this side. Blocking:
    call it from a thread (``asyncio.to_thread``) while the platform runs on the event loop."""

    device_id: str
    platform: tuple[str, int]
    platform_id: str
    domain: str
    password: str = ""
    host: str = LOOPBACK
    transport: Literal["UDP", "TCP"] = "UDP"
    timeout: float = 2.0
    sock: socket.socket = field(init=False, repr=False)
    _buf: bytes = field(default=b"", init=False, repr=False)
    _cseq: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        kind = socket.SOCK_DGRAM if self.transport == "UDP" else socket.SOCK_STREAM
        self.sock = socket.socket(socket.AF_INET, kind)
        self.sock.bind((self.host, 0))
        self.sock.settimeout(self.timeout)
        if self.transport == "TCP":
            self.sock.connect(self.platform)

    @property
    def address(self) -> tuple[str, int]:
        return self.sock.getsockname()[:2]

    def close(self) -> None:
        self.sock.close()

    def request(
        self,
        method: str,
        body: bytes = b"",
        *,
        call_id: str | None = None,
        extra: tuple[str, ...] = (),
        from_id: str | None = None,
    ) -> bytes:
        self._cseq += 1
        host, port = self.address
        lines = [
            f"{method} sip:{self.platform_id}@{self.domain} SIP/2.0",
            f"Via: SIP/2.0/{self.transport} {host}:{port};rport;branch=z9hG4bK{os.urandom(6).hex()}",
            f"From: <sip:{from_id or self.device_id}@{self.domain}>;tag={os.urandom(4).hex()}",
            f"To: <sip:{self.device_id if method == 'REGISTER' else self.platform_id}@{self.domain}>",
            f"Call-ID: {call_id or os.urandom(8).hex()}",
            f"CSeq: {self._cseq} {method}",
            f"Contact: <sip:{self.device_id}@{host}:{port}>",
            "Max-Forwards: 70",
            "User-Agent: raw-device",
            *extra,
        ]
        if body:
            lines.append("Content-Type: Application/MANSCDP+xml")
        return ("\r\n".join([*lines, f"Content-Length: {len(body)}", "", ""])).encode() + body

    def send(self, data: bytes) -> None:
        if self.transport == "UDP":
            self.sock.sendto(data, self.platform)
        else:
            self.sock.sendall(data)

    def recv(self, timeout: float | None = None) -> SipReply | None:
        """The next message from the platform, or None when none came in ``timeout`` (or TCP closed)."""
        self.sock.settimeout(self.timeout if timeout is None else timeout)
        try:
            if self.transport == "UDP":
                return _parse_sip(self.sock.recv(65536))
            while True:
                end = self._buf.find(b"\r\n\r\n")
                if end >= 0:
                    length = int(_parse_sip(self._buf[: end + 4]).headers.get("content-length", "0"))
                    if len(self._buf) >= end + 4 + length:
                        data, self._buf = self._buf[: end + 4 + length], self._buf[end + 4 + length :]
                        return _parse_sip(data)
                chunk = self.sock.recv(65536)
                if not chunk:
                    return None
                self._buf += chunk
        except (TimeoutError, ConnectionError):
            return None

    def reply(self, data: bytes, timeout: float | None = None) -> SipReply | None:
        """Send ``data`` and return the first response to it (requests from the platform are answered)."""
        self.send(data)
        while (got := self.recv(timeout)) is not None:
            if got.status:
                return got
            self.answer(got)
        return None

    def answer(self, request: SipReply, status: int = 200) -> None:
        h = request.headers
        lines = [f"SIP/2.0 {status} OK", f"Via: {h.get('via', '')}", f"From: {h.get('from', '')}"]
        lines += [f"To: {h.get('to', '')};tag=raw", f"Call-ID: {h.get('call-id', '')}"]
        lines += [f"CSeq: {h.get('cseq', '')}", "Content-Length: 0", "", ""]
        self.send("\r\n".join(lines).encode())

    def register(self, expires: int = 3600, password: str | None = None) -> int:
        """REGISTER with digest (qop=auth, computed here); the final status, 0 when unanswered."""
        call_id = os.urandom(8).hex()
        first = self.reply(self.request("REGISTER", call_id=call_id, extra=(f"Expires: {expires}",)))
        if first is None or first.status != 401:
            return first.status if first else 0
        challenge = first.headers["www-authenticate"]
        nonce = challenge.split('nonce="', 1)[1].split('"', 1)[0]
        uri, cnonce = f"sip:{self.platform_id}@{self.domain}", os.urandom(4).hex()
        ha1 = _md5(f"{self.device_id}:{self.domain}:{self.password if password is None else password}")
        ha2 = _md5(f"REGISTER:{uri}")
        response = _md5(f"{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}")
        auth = (
            f'Authorization: Digest username="{self.device_id}", realm="{self.domain}", nonce="{nonce}", '
            f'uri="{uri}", response="{response}", algorithm=MD5, qop=auth, nc=00000001, cnonce="{cnonce}"'
        )
        extra = (f"Expires: {expires}", auth)
        answer = self.reply(self.request("REGISTER", call_id=call_id, extra=extra))
        return answer.status if answer else 0

    def query(self, cmd: str, timeout: float | None = None) -> SipReply | None:
        """Wait for the platform's ``cmd`` query (answered 200; other requests are answered too)."""
        while (got := self.recv(timeout)) is not None:
            if got.status:
                continue
            self.answer(got)
            if f"<CmdType>{cmd}</CmdType>".encode() in got.body:
                return got
        return None

    @staticmethod
    def sn_of(request: SipReply) -> int:
        return _sn(request.body)

    def keepalive(self) -> bytes:
        body = f"<Notify><CmdType>Keepalive</CmdType><SN>1</SN><DeviceID>{self.device_id}</DeviceID>"
        return self.request("MESSAGE", (body + "<Status>OK</Status></Notify>").encode())

    def catalog(
        self,
        channels: dict[str, str],
        *,
        sn: int,
        root: str = "Response",
        sum_num: int | None = None,
        method: str = "MESSAGE",
        call_id: str | None = None,
    ) -> bytes:
        """A Catalog ``root`` (Response, or Notify sent as ``method`` NOTIFY) listing ``channels``."""
        tag = "Event" if root == "Notify" else "Status"
        items = "".join(
            f"<Item><DeviceID>{c}</DeviceID><{tag}>{w}</{tag}></Item>" for c, w in channels.items()
        )
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?><{root}><CmdType>Catalog</CmdType><SN>{sn}</SN>'
            f"<DeviceID>{self.device_id}</DeviceID><SumNum>{len(channels) if sum_num is None else sum_num}"
            f'</SumNum><DeviceList Num="{len(channels)}">{items}</DeviceList></{root}>'
        )
        extra = ("Event: Catalog",) if method == "NOTIFY" else ()
        return self.request(method, body.encode(), call_id=call_id, extra=extra)
