"""Online but no picture (在线不出图): RTP over UDP when a camera refuses interleaved TCP (and the reverse),
and ``no_video`` for a camera whose picture never comes.

Real parts: the GStreamer RTSP server restricted to UDP or to TCP (``set_protocols``), and loopback RTSP
cameras written here on raw sockets that refuse SETUP/PLAY, send no RTP or garbage, and a hostile UDP
sender that floods the receive port.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import pytest

from camwatch.config.models import VideoSettings
from camwatch.monitor import rtp_udp
from camwatch.monitor.outcome import combine
from camwatch.monitor.probes.base import ERROR, OK, ProbeContext, ProbeResult
from camwatch.monitor.probes.video import TRANSPORT_KEY, probe, remembered_transport
from support.cameras import make_camera
from support.gst_rtsp import GstRtsp, start_gst_rtsp

LOOPBACK = "127.0.0.1"


@pytest.fixture(scope="module")
def udp_only() -> Iterator[GstRtsp]:
    """GStreamer serving RTP over UDP only: ``SETUP … RTP/AVP/TCP;interleaved`` answers 461."""
    server = start_gst_rtsp(("live", "frozen"), protocols="udp")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def tcp_and_udp() -> Iterator[GstRtsp]:
    server = start_gst_rtsp(("live",))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def tcp_only() -> Iterator[GstRtsp]:
    server = start_gst_rtsp(("live", "frozen"), protocols="tcp")
    yield server
    server.stop()


def context(**settings: object) -> ProbeContext:
    return ProbeContext(settings=VideoSettings(**settings))  # type: ignore[arg-type]


async def check(url: str, ctx: ProbeContext, camera_id: str = "cam", **fields: object) -> ProbeResult:
    return await probe(make_camera(id=camera_id, rtsp_url=url, **fields), ctx)


# ------------------------------------------------------------------------------------- GStreamer, UDP/TCP


async def test_udp_only_server_is_judged_over_udp_exactly_as_over_tcp(
    udp_only: GstRtsp, tcp_only: GstRtsp
) -> None:
    """The issue's case: a server that answers 461 to interleaved TCP. A live stream is ``ok`` with a video
    check that ran, a frozen one ``frozen``, as over TCP; the transport is remembered."""
    ctx = context()
    over_udp = {m: await check(udp_only.url(m), ctx, camera_id=f"udp-{m}") for m in ("live", "frozen")}
    over_tcp = {m: await check(tcp_only.url(m), ctx, camera_id=f"tcp-{m}") for m in ("live", "frozen")}
    for mount, expected in (("live", OK), ("frozen", "frozen")):
        udp, tcp = over_udp[mount], over_tcp[mount]
        assert (udp.status, tcp.status) == (expected, expected), (udp.error, tcp.error)
        assert (udp.details["transport"], tcp.details["transport"]) == ("udp", "tcp")
        assert udp.values["fps"] == pytest.approx(15, abs=0.5)
        assert udp.values["luma"] == pytest.approx(tcp.values["luma"], abs=3)
        assert udp.values["decode_error_ratio"] == 0.0
    assert remembered_transport("udp-live", ctx.baselines) == "udp"
    assert remembered_transport("tcp-live", ctx.baselines) == "tcp"
    # Remembered: the next check asks for UDP straight away, and pays no fallback.
    again = await check(udp_only.url("live"), ctx, camera_id="udp-live")
    assert (again.status, again.details["transport"]) == (OK, "udp")


async def test_remembered_udp_falls_back_to_tcp_and_pinned_transport_is_kept(tcp_only: GstRtsp) -> None:
    ctx = context(timeout=10.0)
    ctx.baselines.put("cam", TRANSPORT_KEY, 1.0)  # UDP worked last time
    moved = await check(tcp_only.url("live"), ctx)
    assert (moved.status, moved.details["transport"]) == (OK, "tcp")
    assert remembered_transport("cam", ctx.baselines) == "tcp"
    pinned = await check(tcp_only.url("live"), ctx, camera_id="pinned", transport="udp")
    assert (pinned.status, pinned.faults, pinned.error) == (
        "no_video",
        ("no_video",),
        "SETUP refused (461) over UDP",
    )
    assert remembered_transport("pinned", ctx.baselines) is None


@contextlib.asynccontextmanager
async def rtp_firewall(server: GstRtsp) -> AsyncIterator[str]:
    """A TCP proxy in front of ``server`` that lets RTSP through but points every UDP SETUP's client ports
    at a closed pair, as a firewall dropping RTP would: the camera answers, its packets never arrive."""
    blackhole = _free_pair()
    closed = b"client_port=%d-%d" % (blackhole, blackhole + 1)

    async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, requests: bool) -> None:
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            while data := await reader.read(65536):
                if requests:
                    data = re.sub(rb"client_port=\d+-\d+", closed, data)
                writer.write(data)
                await writer.drain()
        writer.close()

    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection(server.host, server.port)
        await asyncio.gather(
            pump(client_r, server_w, requests=True), pump(server_r, client_w, requests=False)
        )

    proxy = await asyncio.start_server(handle, LOOPBACK, 0)
    try:
        yield f"rtsp://{LOOPBACK}:{proxy.sockets[0].getsockname()[1]}"
    finally:
        proxy.close()


async def test_udp_that_never_arrives_falls_back_to_tcp(tcp_and_udp: GstRtsp) -> None:
    """UDP worked last time; now a firewall drops RTP: no packet within ``rtp_wait``, so the check goes on
    over interleaved TCP, which works, and remembers it."""
    ctx = context(rtp_wait=1.0, timeout=10.0)
    ctx.baselines.put("cam", TRANSPORT_KEY, 1.0)
    async with rtp_firewall(tcp_and_udp) as origin:
        result = await check(f"{origin}/live", ctx)
        pinned = await check(f"{origin}/live", ctx, camera_id="udp", transport="udp")
    assert (result.status, result.details["transport"]) == (OK, "tcp")
    assert remembered_transport("cam", ctx.baselines) == "tcp"
    assert (pinned.status, pinned.error) == ("no_video", "no RTP in 1 s over UDP")


async def test_udp_ports_come_from_the_range_and_bound_the_sessions(udp_only: GstRtsp) -> None:
    """A one-pair range: a check receives on it; a second check at the same time finds no pair free, which
    is camwatch's side (an internal error), not the camera's."""
    first = _free_pair()
    ctx = context(udp_ports=f"{first}-{first + 1}", timeout=8.0)
    camera = {"transport": "udp"}
    with hostile_flood(first, seconds=4.0) as flood:
        one, two = await asyncio.gather(
            check(udp_only.url("live"), ctx, camera_id="a", **camera),
            check(udp_only.url("live"), ctx, camera_id="b", **camera),
        )
    by_status = sorted([one, two], key=lambda r: r.status)
    busy, served = by_status
    assert (served.status, served.details["transport"]) == (OK, "udp")
    assert (busy.status, busy.internal, busy.faults) == (ERROR, True, ())
    assert busy.error is not None and "udp_ports" in busy.error
    assert flood.sent > 1000  # the flood from another source reached the port and changed nothing
    assert rtp_udp.ports((first, first + 1)).in_use == 0


# A camera whose encoder output is damaged on its way (花屏 on every picture): GStreamer's breakmydata between
# the encoder and the payloader.
BROKEN = (
    "videotestsrc is-live=true pattern=pinwheel ! video/x-raw,width=640,height=360,framerate=15/1 "
    "! videoconvert ! video/x-raw,format=I420 "
    "! x264enc speed-preset=ultrafast tune=zerolatency key-int-max=15 threads=1 "
    "! video/x-h264,stream-format=byte-stream ! breakmydata probability=0.001 skip=2000 "
    "! h264parse ! rtph264pay name=pay0 pt=96 config-interval=1"
)


async def test_every_picture_in_error_is_no_video(gst_rtsp_server_factory) -> None:
    server = gst_rtsp_server_factory({"broken": BROKEN})
    result = await check(server.url("broken"), context())
    assert (result.status, result.faults) == ("no_video", ("no_video",))
    assert result.error is not None and re.fullmatch(
        r"undecodable video: (\d+) of \1 frames in error", result.error
    )
    assert result.values["decode_error_ratio"] == 1.0


# ------------------------------------------------------------------------------------------ raw cameras

SDP = (
    b"v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=cam\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\n"
    b"a=rtpmap:96 H264/90000\r\na=control:trackID=0\r\n"
)
SSRC = 0x1234ABCD


@dataclass
class RawCamera:
    """A camera on raw sockets: its SETUP answer per transport, its PLAY answer, and what it sends after
    PLAY (``none`` or ``garbage`` RTP). ``seen``: the methods and transports asked of it."""

    setup: dict[str, int] = field(default_factory=lambda: {"tcp": 200, "udp": 200})
    play: int = 200
    sends: str = "none"
    flood: bool = False  # a hostile sender floods the UDP port the SETUP named
    seen: list[str] = field(default_factory=list)
    floods: list[Flood] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sender: asyncio.Task[None] | None = None
        udp_to: tuple[socket.socket, int] | None = None
        try:
            while head := (await reader.readuntil(b"\r\n\r\n")).decode("latin-1"):
                method = head.split(" ", 1)[0]
                cseq = re.search(r"CSeq: *(\d+)", head, re.IGNORECASE)
                lines = [f"CSeq: {cseq[1] if cseq else 0}"]
                status, body = 200, b""
                if method == "DESCRIBE":
                    body = SDP
                    lines += ["Content-Type: application/sdp", f"Content-Length: {len(SDP)}"]
                elif method == "SETUP":
                    asked = re.search(r"Transport: *(\S+)", head, re.IGNORECASE)
                    transport = asked[1] if asked else ""
                    kind = "tcp" if "TCP" in transport.upper() else "udp"
                    self.seen.append(f"SETUP {kind}")
                    status = self.setup[kind]
                    if status == 200 and kind == "tcp":
                        lines += ["Transport: RTP/AVP/TCP;unicast;interleaved=0-1", "Session: 1"]
                    elif status == 200:
                        client = int(re.search(r"client_port=(\d+)", transport)[1])  # type: ignore[index]
                        server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                        server.bind((LOOPBACK, 0))
                        udp_to = (server, client)
                        port = server.getsockname()[1]
                        lines += [
                            f"Transport: RTP/AVP;unicast;client_port={client}-{client + 1};"
                            f"server_port={port}-{port + 1};ssrc={SSRC:08X}",
                            "Session: 1",
                        ]
                        if self.flood:
                            self.floods.append(start_flood(client, server_port=port))
                elif method == "PLAY":
                    self.seen.append("PLAY")
                    status = self.play
                    if status == 200 and self.sends == "garbage":
                        sender = asyncio.ensure_future(send_garbage(writer, udp_to))
                reason = {200: "OK", 454: "Session Not Found", 461: "Unsupported transport"}.get(status, "No")
                out = f"RTSP/1.0 {status} {reason}\r\n" + "".join(f"{h}\r\n" for h in lines) + "\r\n"
                writer.write(out.encode() + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            if sender is not None:
                sender.cancel()
            if udp_to is not None:
                udp_to[0].close()
            for flood in self.floods:
                flood.stop()
            writer.close()


async def send_garbage(writer: asyncio.StreamWriter, udp_to: tuple[socket.socket, int] | None) -> None:
    """RTP with the camera's SSRC and random payload (an IDR NAL header, then noise), 30 per second."""
    seq = 0
    while True:
        seq += 1
        header = bytes((0x80, 0xE0)) + (seq & 0xFFFF).to_bytes(2, "big")
        header += (seq * 3000 & 0xFFFFFFFF).to_bytes(4, "big") + SSRC.to_bytes(4, "big")
        packet = header + b"\x65" + os.urandom(1000)
        if udp_to is None:
            writer.write(b"$\x00" + len(packet).to_bytes(2, "big") + packet)
        else:
            udp_to[0].sendto(packet, (LOOPBACK, udp_to[1]))
        await asyncio.sleep(1 / 30)


@contextlib.asynccontextmanager
async def raw_camera(camera: RawCamera) -> AsyncIterator[str]:
    server = await asyncio.start_server(camera.handle, LOOPBACK, 0)
    try:
        yield f"rtsp://{LOOPBACK}:{server.sockets[0].getsockname()[1]}/cam"
    finally:
        server.close()
        await server.wait_closed()


async def test_describe_then_no_rtp_on_either_transport_is_no_video() -> None:
    camera = RawCamera()
    ctx = context(rtp_wait=1.0, timeout=8.0)
    async with raw_camera(camera) as url:
        result = await check(url, ctx)
    assert (result.status, result.faults) == ("no_video", ("no_video",))
    assert result.error == "no RTP in 2 s over TCP or UDP"
    assert camera.seen == ["SETUP tcp", "PLAY", "SETUP udp", "PLAY"]
    assert result.duration_seconds < 8.0
    # A camera that answers and shows nothing is up, not working (完好), with no_video as its status word.
    state = combine(
        make_camera(id="cam", rtsp_url=url),
        {"rtsp": ProbeResult("rtsp", True, OK, 0.1), "video": result},
        timestamp=0.0,
    )
    assert (state.up, state.working, state.status, state.faults) == (True, False, "no_video", ("no_video",))


@pytest.mark.parametrize(
    ("setup", "play", "error", "seen"),
    [
        ({"tcp": 454, "udp": 200}, 200, "SETUP refused (454)", ["SETUP tcp"]),
        ({"tcp": 461, "udp": 461}, 200, "SETUP refused (461) over TCP; SETUP refused (461) over UDP", None),
        ({"tcp": 200, "udp": 200}, 403, "PLAY refused (403)", ["SETUP tcp", "PLAY"]),
        ({"tcp": 401, "udp": 200}, 200, None, ["SETUP tcp"]),  # a login refused is auth_failed
    ],
)
async def test_refused_setup_or_play_is_no_video(
    setup: dict[str, int], play: int, error: str | None, seen: list[str] | None
) -> None:
    camera = RawCamera(setup=setup, play=play)
    async with raw_camera(camera) as url:
        result = await check(url, context(rtp_wait=1.0, timeout=8.0))
    if error is None:
        assert (result.status, result.faults) == ("auth_failed", ())
    else:
        assert (result.status, result.error, result.internal) == ("no_video", error, False)
    assert seen is None or camera.seen[: len(seen)] == seen


@pytest.mark.parametrize("transport", ["tcp", "udp"])
async def test_garbage_rtp_payload_is_undecodable_no_video(transport: str) -> None:
    camera = RawCamera(sends="garbage")
    async with raw_camera(camera) as url:
        result = await check(url, context(rtp_wait=1.0, timeout=5.0), transport=transport)
    assert result.status == "no_video", result.error
    assert result.error is not None and result.error.startswith("undecodable video: ")
    assert result.duration_seconds < 5.0 + 1.0


async def test_udp_flood_from_elsewhere_is_never_the_cameras_picture() -> None:
    """A camera that sends nothing while another source floods its receive port with RTP carrying the
    camera's SSRC, and its own server port sends RTP with another SSRC and absurd datagrams: all refused,
    the check ends in its time with no RTP."""
    camera = RawCamera(flood=True)
    async with raw_camera(camera) as url:
        result = await check(url, context(rtp_wait=1.5, timeout=6.0), transport="udp")
    assert (result.status, result.error) == ("no_video", "no RTP in 1.5 s over UDP")
    assert camera.floods and all(f.sent > 100 for f in camera.floods)


# ---------------------------------------------------------------------------------------------- helpers


def _free_pair() -> int:
    """An even port whose pair is free on loopback now (for a one-pair ``udp_ports`` range)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe_sock:
            probe_sock.bind((LOOPBACK, 0))
            port = probe_sock.getsockname()[1] & ~1
        if port < 1024:
            continue
        with contextlib.ExitStack() as stack:
            try:
                for each in (port, port + 1):
                    sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
                    sock.bind((LOOPBACK, each))
            except OSError:
                continue
            return port
    raise RuntimeError("no free UDP port pair")


@dataclass
class Flood:
    """A hostile UDP sender (its own sockets, not camwatch's): RTP with the camera's SSRC from a foreign
    port, RTP with a wrong SSRC from the camera's own server port, and datagrams that are no RTP."""

    sent: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self, port: int, server_port: int | None, seconds: float) -> None:
        until = time.monotonic() + seconds
        foreign = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        own: socket.socket | None = None
        if server_port is not None:
            own = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            own.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            with contextlib.suppress(OSError):
                own.bind((LOOPBACK, server_port + 2))  # next to the camera's: still not its port
        header = bytes((0x80, 0x60, 0, 1, 0, 0, 0, 1))
        packets = [
            (foreign, header + SSRC.to_bytes(4, "big") + b"\x65" + os.urandom(1200)),
            (foreign, b"\x00" * 5),  # too short for RTP
            (foreign, b"\x40" + os.urandom(60000)),  # RTP version 1, near-datagram size
            (own or foreign, header + (SSRC ^ 1).to_bytes(4, "big") + os.urandom(500)),  # another SSRC
        ]
        try:
            while not self._stop.is_set() and time.monotonic() < until:
                for sock, data in packets:
                    with contextlib.suppress(OSError):
                        sock.sendto(data, (LOOPBACK, port))
                        self.sent += 1
                time.sleep(0.001)
        finally:
            foreign.close()
            if own is not None:
                own.close()

    def stop(self) -> None:
        self._stop.set()


def start_flood(port: int, *, server_port: int | None = None, seconds: float = 10.0) -> Flood:
    flood = Flood()
    threading.Thread(target=flood.run, args=(port, server_port, seconds), daemon=True).start()
    return flood


@contextlib.contextmanager
def hostile_flood(port: int, *, seconds: float) -> Iterator[Flood]:
    flood = start_flood(port, seconds=seconds)
    try:
        yield flood
    finally:
        flood.stop()


# ------------------------------------------------------------------------------------ the UDP receiver


def _rtp(seq: int, stamp: int, *, marker: bool, ssrc: int = SSRC, size: int = 200) -> bytes:
    header = bytes((0x80, 0xE0 if marker else 0x60)) + seq.to_bytes(2, "big")
    return header + stamp.to_bytes(4, "big") + ssrc.to_bytes(4, "big") + b"\x41" + bytes(size)


async def test_receiver_hands_on_whole_pictures_and_only_the_cameras_packets() -> None:
    """Packets reach the decoder a picture at a time: at its marker bit, or, from a camera that never marks,
    when the next picture's timestamp arrives. Another source, another SSRC, a short or non-RTP datagram
    never do."""
    pool = rtp_udp.UdpPorts(None)
    pair = pool.acquire(LOOPBACK)
    delivered: list[bytes] = []
    counts = rtp_udp.Counts()
    track = rtp_udp.UdpTrack(pool, pair, 0, LOOPBACK, lambda frames: delivered.append(bytes(frames)), counts)
    camera = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    camera.bind((LOOPBACK, 0))
    try:
        await track.start(rtp_udp.UdpAnswer(camera.getsockname()[1], SSRC))
        to = (LOOPBACK, track.client_port)

        async def send(*packets: tuple[socket.socket, bytes]) -> None:
            for sock, data in packets:
                sock.sendto(data, to)
            await asyncio.sleep(0.05)

        await send((camera, _rtp(1, 100, marker=False)), (camera, _rtp(2, 100, marker=False)))
        assert delivered == []  # half a picture is held
        await send((camera, _rtp(3, 100, marker=True)))
        assert len(delivered) == 1 and delivered[0].count(b"$\x00") >= 3
        await send((camera, _rtp(4, 200, marker=False)), (camera, _rtp(5, 300, marker=False)))
        assert len(delivered) == 2  # no marker: the new timestamp ended picture 200
        await send(
            (stranger, _rtp(6, 400, marker=True)),  # the camera's SSRC from another port
            (camera, _rtp(7, 400, marker=True, ssrc=SSRC ^ 1)),  # another SSRC
            (camera, b"\x80\x60\x00"),  # too short
            (camera, b"\x00" * 40),  # not RTP version 2
        )
        assert len(delivered) == 2
        # The stranger's datagram never even reaches camwatch: the socket is connected to the camera's port.
        assert (counts.rtp, counts.refused) == (5, 3)
    finally:
        track.close()
        camera.close()
        stranger.close()
    assert pool.in_use == 0


async def test_a_nonce_stale_on_every_answer_ends_as_auth_failed() -> None:
    """The relay answers a ``stale=true`` challenge once per request: a camera that calls every answer stale
    gets at most three DESCRIBEs per decoder request (none, the login, the login with the new nonce), then
    the decoder its 401 (the decoder itself asks again once)."""
    describes: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while head := (await reader.readuntil(b"\r\n\r\n")).decode("latin-1"):
                cseq = re.search(r"CSeq: *(\d+)", head)[1]  # type: ignore[index]
                if head.startswith("DESCRIBE"):
                    describes.append(head)
                    stale = ", stale=true" if "Authorization" in head else ""
                    challenge = f'WWW-Authenticate: Digest realm="cam", nonce="n{len(describes)}"{stale}'
                    writer.write(f"RTSP/1.0 401 Unauthorized\r\nCSeq: {cseq}\r\n{challenge}\r\n\r\n".encode())
                else:
                    writer.write(f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nPublic: DESCRIBE\r\n\r\n".encode())
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, LOOPBACK, 0)
    try:
        url = f"rtsp://{LOOPBACK}:{server.sockets[0].getsockname()[1]}/cam"
        result = await check(url, context(timeout=5.0), username="u", password="pw-hidden")
    finally:
        server.close()
    assert result.status == "auth_failed" and "pw-hidden" not in (result.error or "")
    assert len(describes) <= 6


def test_the_transport_that_worked_survives_a_restart(tmp_path) -> None:
    """Remembered in the state database (with the camera's other learned references), so a restarted
    monitor asks a UDP-only camera for UDP first and pays no fallback again."""
    from camwatch.monitor.probes.video import transports
    from camwatch.monitor.state import StateStore, StoredBaselines

    store = StateStore(tmp_path / "state.db")
    StoredBaselines(store).put("cam", TRANSPORT_KEY, 1.0)
    store.close()
    again = StateStore(tmp_path / "state.db")
    try:
        baselines = StoredBaselines(again)
        assert remembered_transport("cam", baselines) == "udp"
        assert transports(make_camera(id="cam", rtsp_url="rtsp://10.0.0.1/x"), baselines) == ("udp", "tcp")
        pinned = make_camera(id="cam", rtsp_url="rtsp://10.0.0.1/x", transport="tcp")
        assert transports(pinned, baselines) == ("tcp",)
        assert transports(make_camera(id="new", rtsp_url="rtsp://10.0.0.1/y"), baselines) == ("tcp", "udp")
    finally:
        again.close()
