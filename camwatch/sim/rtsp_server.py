"""RTSP server for a simulated fleet: one loopback listener per camera, each behaving as its profile says."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import random
import re
import resource
import secrets
import socket
import struct
from dataclasses import dataclass, field
from functools import partial
from typing import Literal, cast, get_args

from camwatch.sim.h264 import PAYLOAD_TYPE, Clip

Behaviour = Literal["ok", "hanging", "slow", "resetting", "garbage", "oversized", "no_video"]
BEHAVIOURS: tuple[str, ...] = get_args(Behaviour)

REALM = "camwatch-sim"
PUBLIC = "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER"
MAX_HEAD_BYTES = 16 * 1024
# An "oversized" camera stops after this much header so that a client without a limit still ends.
OVERSIZED_LIMIT = 64 * 1024 * 1024
_AUTH_PARAM = re.compile(r'(\w+)=(?:"([^"]*)"|([^,\s]*))')
_INTERLEAVED = re.compile(r"interleaved=(\d+)")
_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    455: "Method Not Valid in This State",
    461: "Unsupported Transport",
    501: "Not Implemented",
}
# Deterministic junk with no RTSP status line in it; ends like a header block so line readers get it whole.
_GARBAGE = bytes(b for b in random.Random(5).randbytes(600) if b not in b"\r\nRTSP") + b"\r\n\r\n"


def raise_fd_limit() -> int:
    """Raise the soft open-file limit to the hard one (each camera holds a listening socket); returns it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def check_authorization(
    header: str, *, method: str, username: str, password: str, nonce: str, realm: str = REALM
) -> bool:
    """Whether an ``Authorization`` value carries this login: Basic, or Digest (MD5) on ``nonce``."""
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "basic":
        expected = base64.b64encode(f"{username}:{password}".encode()).decode()
        return hmac.compare_digest(credentials.strip(), expected)
    if scheme.lower() != "digest":
        return False
    p = {k: a or b for k, a, b in _AUTH_PARAM.findall(credentials)}
    if p.get("username") != username or p.get("nonce") != nonce:
        return False
    ha1 = _md5(f"{username}:{realm}:{password}")
    ha2 = _md5(f"{method}:{p.get('uri', '')}")
    if p.get("qop"):
        expected = _md5(f"{ha1}:{p['nonce']}:{p.get('nc', '')}:{p.get('cnonce', '')}:{p['qop']}:{ha2}")
    else:
        expected = _md5(f"{ha1}:{p['nonce']}:{ha2}")
    return hmac.compare_digest(expected, p.get("response", ""))


@dataclass(slots=True)
class RtspCamera:
    """What the RTSP side of one simulated camera needs; ``password`` is the one the camera *expects*."""

    id: str
    address: str
    port: int
    username: str
    password: str = field(repr=False)
    clip: Clip
    behaviour: str = "ok"
    auth: Literal["digest", "basic"] = "digest"
    path: str = "/stream1"
    sdp: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.behaviour not in BEHAVIOURS:
            raise ValueError(f"unknown RTSP behaviour {self.behaviour!r}")
        c = self.clip
        self.sdp = (
            "v=0\r\n"
            f"o=- {abs(hash(self.id)) % 10**9} 1 IN IP4 {self.address}\r\n"
            f"s={self.id}\r\n"
            "c=IN IP4 0.0.0.0\r\n"
            "t=0 0\r\n"
            "a=control:*\r\n"
            "a=range:npt=0-\r\n"
            f"m=video 0 RTP/AVP {PAYLOAD_TYPE}\r\n"
            f"a=rtpmap:{PAYLOAD_TYPE} H264/90000\r\n"
            f"a=fmtp:{PAYLOAD_TYPE} packetization-mode=1;profile-level-id={c.profile_level_id};"
            f"sprop-parameter-sets={c.sprop_parameter_sets}\r\n"
            f"a=framesize:{PAYLOAD_TYPE} {c.width}-{c.height}\r\n"
            f"a=framerate:{c.fps}\r\n"
            "a=control:trackID=0\r\n"
        ).encode()

    @property
    def url(self) -> str:
        """The stream URL, without credentials."""
        return f"rtsp://{self.address}:{self.port}{self.path}"


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    uri: str
    headers: dict[str, str]


def parse_request(head: bytes) -> Request | None:
    """A request from its header block (without the blank line); ``None`` if it is not one."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("RTSP/"):
        return None
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return Request(parts[0], parts[1], headers)


def response(code: int, cseq: str, headers: str = "", body: bytes = b"") -> bytes:
    """An RTSP response; ``headers`` is zero or more complete ``Name: value\\r\\n`` lines."""
    length = f"Content-Length: {len(body)}\r\n" if body else ""
    head = (
        f"RTSP/1.0 {code} {_REASONS[code]}\r\nCSeq: {cseq}\r\n{headers}{length}Server: camwatch-sim\r\n\r\n"
    )
    return head.encode() + body


class RtspConnection(asyncio.Protocol):
    """One client connection to a healthy camera: RTSP with auth, and H.264 over RTP interleaved on PLAY."""

    def __init__(self, server: RtspFleetServer, camera: RtspCamera):
        self.server = server
        self.camera = camera
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._writable = asyncio.Event()
        self._writable.set()
        self._session: str | None = None
        self._track_url = ""
        self._channel = 0
        self._seq = random.randrange(1 << 16)
        self._ssrc = random.randrange(1 << 32)
        self._frame = 0
        self._task: asyncio.Task[None] | None = None

    # -- transport events
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport, but provide its methods.
        self.transport = cast(asyncio.Transport, transport)
        self.server.connections.setdefault(self.camera.id, set()).add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.get(self.camera.id, set()).discard(self)
        self._stop_task()

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    def data_received(self, data: bytes) -> None:
        buf = self._buffer
        buf += data
        while buf:
            if buf[0] == 0x24:  # "$": an interleaved packet from the client (RTCP receiver report); skip it
                if len(buf) < 4 or len(buf) < 4 + struct.unpack_from("!H", buf, 2)[0]:
                    return
                del buf[: 4 + struct.unpack_from("!H", buf, 2)[0]]
                continue
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > MAX_HEAD_BYTES:
                    self.abort()
                return
            request = parse_request(bytes(buf[:end]))
            length = int(request.headers.get("content-length", "0") or 0) if request else 0
            if len(buf) < end + 4 + length:
                return
            del buf[: end + 4 + length]
            self.reply(self.answer(request) if request else response(400, "0"))

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    # -- RTSP
    def reply(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)

    def answer(self, request: Request) -> bytes:
        cseq = request.headers.get("cseq", "0")
        method = request.method
        if method == "OPTIONS":
            return response(200, cseq, f"Public: {PUBLIC}\r\n")
        if method not in ("DESCRIBE", "SETUP", "PLAY", "PAUSE", "TEARDOWN", "GET_PARAMETER", "SET_PARAMETER"):
            return response(501, cseq)
        if not self.authorised(request):
            return response(401, cseq, f"WWW-Authenticate: {self.challenge()}\r\n")
        if method == "DESCRIBE":
            base = request.uri.rstrip("/") + "/"
            headers = f"Content-Base: {base}\r\nContent-Type: application/sdp\r\n"
            return response(200, cseq, headers, self.camera.sdp)
        if method == "SETUP":
            return self.setup(request, cseq)
        if self._session is None:
            return response(455, cseq)
        session = f"Session: {self._session};timeout=60\r\n"
        if method == "PLAY":
            return self.play(cseq, session)
        if method in ("PAUSE", "TEARDOWN"):
            self._stop_task()
        return response(200, cseq, session)

    def challenge(self) -> str:
        if self.camera.auth == "basic":
            return f'Basic realm="{REALM}"'
        return f'Digest realm="{REALM}", nonce="{self.server.nonce}"'

    def authorised(self, request: Request) -> bool:
        cam = self.camera
        return check_authorization(
            request.headers.get("authorization", ""),
            method=request.method,
            username=cam.username,
            password=cam.password,
            nonce=self.server.nonce,
        )

    def setup(self, request: Request, cseq: str) -> bytes:
        transport = request.headers.get("transport", "")
        if "TCP" not in transport.upper():
            return response(461, cseq)
        match = _INTERLEAVED.search(transport)
        self._channel = int(match.group(1)) if match else 0
        self._session = self._session or secrets.token_hex(8)
        self._track_url = request.uri
        reply_transport = (
            f"RTP/AVP/TCP;unicast;interleaved={self._channel}-{self._channel + 1};ssrc={self._ssrc:08X}"
        )
        return response(200, cseq, f"Transport: {reply_transport}\r\nSession: {self._session};timeout=60\r\n")

    def play(self, cseq: str, session: str) -> bytes:
        clip = self.camera.clip
        if self._task is None:
            # Start (or resume) on a keyframe; timestamps follow the frame count, so they never go back.
            self._frame = -(-self._frame // clip.fps) * clip.fps
            self._task = asyncio.get_running_loop().create_task(self.stream())
        rtptime = (self._frame * clip.ticks_per_frame) & 0xFFFFFFFF
        info = f"RTP-Info: url={self._track_url};seq={self._seq};rtptime={rtptime}\r\nRange: npt=0.000-\r\n"
        return response(200, cseq, session + info)

    async def stream(self) -> None:
        """Send the clip in real time, looping, until PAUSE/TEARDOWN or the connection ends."""
        loop = asyncio.get_running_loop()
        clip = self.camera.clip
        step = 1 / clip.fps
        deadline = loop.time()
        while self.transport is not None and not self.transport.is_closing():
            if not self._writable.is_set():
                # A slow reader: wait, then go on from now rather than bursting to catch up.
                await self._writable.wait()
                deadline = loop.time()
            data, self._seq = clip.interleaved(
                self._frame, seq=self._seq, ssrc=self._ssrc, channel=self._channel
            )
            self.transport.write(data)
            self._frame += 1
            deadline += step
            await asyncio.sleep(max(0.0, deadline - loop.time()))

    def _stop_task(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None


class NoVideoConnection(RtspConnection):
    """Online, no picture (在线不出图): answers every request like a healthy camera, PLAY included, and never
    sends a packet (a hung encoder, or RTP blocked on its way)."""

    async def stream(self) -> None:
        return


class HangingConnection(RtspConnection):
    """Accepts and reads, never answers."""

    def data_received(self, data: bytes) -> None:
        pass


class ResettingConnection(RtspConnection):
    """Accepts, then resets the connection (RST, not FIN)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        sock = transport.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        cast(asyncio.Transport, transport).abort()


class GarbageConnection(RtspConnection):
    """Answers every request with junk bytes."""

    def answer(self, request: Request) -> bytes:
        return _GARBAGE


class SlowConnection(RtspConnection):
    """Answers correctly, one byte a second (slowloris in reverse)."""

    def __init__(self, server: RtspFleetServer, camera: RtspCamera):
        super().__init__(server, camera)
        self._pending = bytearray()

    def reply(self, data: bytes) -> None:
        self._pending += data
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self.drip())

    async def drip(self) -> None:
        while self._pending and self.transport is not None and not self.transport.is_closing():
            self.transport.write(bytes(self._pending[:1]))
            del self._pending[:1]
            await asyncio.sleep(1.0)
        self._task = None


class OversizedConnection(RtspConnection):
    """Starts a normal answer, then sends header lines without end (up to ``OVERSIZED_LIMIT``)."""

    def reply(self, data: bytes) -> None:
        if self._task is None:
            status_line = data[: data.index(b"\r\n", data.index(b"CSeq")) + 2]
            self._task = asyncio.get_running_loop().create_task(self.endless(status_line))

    async def endless(self, start: bytes) -> None:
        chunk = (b"X-Padding: " + b"a" * 1000 + b"\r\n") * 64
        assert self.transport is not None
        self.transport.write(start)
        sent = len(start)
        while sent < OVERSIZED_LIMIT and not self.transport.is_closing():
            await self._writable.wait()
            self.transport.write(chunk)
            sent += len(chunk)
            await asyncio.sleep(0)
        self.transport.close()


_CONNECTION_KINDS: dict[str, type[RtspConnection]] = {
    "ok": RtspConnection,
    "hanging": HangingConnection,
    "slow": SlowConnection,
    "resetting": ResettingConnection,
    "garbage": GarbageConnection,
    "oversized": OversizedConnection,
    "no_video": NoVideoConnection,
}


def protocol_for(server: RtspFleetServer, camera: RtspCamera) -> RtspConnection:
    """A new connection protocol for ``camera``, behaving as its ``behaviour`` says."""
    return _CONNECTION_KINDS[camera.behaviour](server, camera)


def listening_socket(address: str, port: int, *, backlog: int = 128) -> socket.socket:
    """A non-blocking listening TCP socket on ``address:port`` (numeric, so no resolver call)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class RtspFleetServer:
    """Serves many simulated cameras; each camera's listener can be closed and reopened at run time."""

    def __init__(self) -> None:
        self.nonce = secrets.token_hex(16)
        self.connections: dict[str, set[RtspConnection]] = {}
        self._listeners: dict[str, asyncio.Server] = {}

    async def open(self, camera: RtspCamera) -> None:
        """Start listening for ``camera`` (no-op if it already listens)."""
        if camera.id in self._listeners:
            return
        sock = listening_socket(camera.address, camera.port)
        factory = partial(protocol_for, self, camera)
        self._listeners[camera.id] = await asyncio.get_running_loop().create_server(factory, sock=sock)

    def close(self, camera_id: str) -> None:
        """Stop listening for the camera and drop its open connections (as a dead camera would)."""
        listener = self._listeners.pop(camera_id, None)
        if listener is not None:
            listener.close()
        for conn in list(self.connections.pop(camera_id, ())):
            conn.abort()

    def is_open(self, camera_id: str) -> bool:
        return camera_id in self._listeners

    async def close_all(self) -> None:
        listeners = list(self._listeners.values())
        for camera_id in list(self._listeners) + list(self.connections):
            self.close(camera_id)
        for listener in listeners:
            await listener.wait_closed()
