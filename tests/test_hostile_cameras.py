"""Hostile cameras: every byte read is bounded, no login leaves the camera's host, no redirect is followed,
and a stalled decode never holds back a camera's liveness. Real sockets on loopback throughout."""

from __future__ import annotations

import asyncio
import base64
import logging
import resource
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from camwatch.config.models import MonitorSettings, OnvifSettings, RtspSettings, VideoSettings
from camwatch.monitor import rtsp_proto
from camwatch.monitor.picture.decoder_relay import DecoderRelay
from camwatch.monitor.probes import onvif as onvif_probe
from camwatch.monitor.probes import rtsp
from camwatch.monitor.probes.base import ERROR, OFFLINE, OK, ProbeContext, ProbeResult
from camwatch.monitor.probes.rtsp import StreamMemory
from camwatch.monitor.probes.video import probe as video_probe
from camwatch.monitor.rtsp_proto import MAX_BODY_BYTES, MAX_HEADER_BYTES
from camwatch.monitor.scheduler import Scheduler
from support.cameras import make_camera
from support.hostile_devices import (
    CAM_PASSWORD,
    CAM_USER,
    RtspRequest,
    hostile_onvif,
    hostile_rtsp,
    recording_listener,
)

TIMEOUT_S = 5.0
BASIC_TOKEN = base64.b64encode(f"{CAM_USER}:{CAM_PASSWORD}".encode()).decode()


# What the probes of this module remember between them, as a service's would (``ProbeContext.caches``).
KEPT = StreamMemory()
challenges = KEPT.challenges


async def probe_url(url: str, **kwargs: Any) -> ProbeResult:
    return await rtsp.probe_url(url, memory=KEPT, **kwargs)


@pytest.fixture(autouse=True)
def no_remembered_challenges() -> Iterator[None]:
    challenges.clear()
    yield
    challenges.clear()


def assert_no_login(result: ProbeResult) -> None:
    for form in (CAM_PASSWORD, BASIC_TOKEN, BASIC_TOKEN.rstrip("=")):
        assert form not in repr(result)


def logins_before_a_challenge(requests: list[RtspRequest]) -> list[RtspRequest]:
    return [r for r in requests if r.authorization is not None and not r.challenged]


# ------------------------------------------------------------------------------------------------- ONVIF


async def probe_onvif(port: int, **settings: float) -> tuple[ProbeResult, float]:
    camera = make_camera(onvif_host="127.0.0.1", onvif_port=port, username="operator", password=CAM_PASSWORD)
    ctx = ProbeContext(settings=OnvifSettings(timeout=TIMEOUT_S, **settings))
    await onvif_probe.load_wsdl(onvif_probe.memory(ctx.caches))  # a once-per-process cost, not the camera's
    started = time.monotonic()
    result = await onvif_probe.probe(camera, ctx)
    return result, time.monotonic() - started


async def test_onvif_gzip_bomb_is_refused_at_the_cap() -> None:
    async with hostile_onvif("gzip_bomb", inflated_bytes=64 << 20) as device:
        peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        result, took = await probe_onvif(device.port)
    assert (result.status, result.error) == (ERROR, "GetSystemDateAndTime: reply larger than 1 MiB")
    assert took < TIMEOUT_S
    # Inflating the 64 MiB would lift the peak by at least that much (ru_maxrss is in KiB).
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before < 32 * 1024
    assert_no_login(result)


async def test_onvif_endless_reply_stops_at_the_configured_cap() -> None:
    async with hostile_onvif("endless") as device:
        result, took = await probe_onvif(device.port, max_reply_bytes=256 * 1024)
    assert (result.status, result.error) == (ERROR, "GetSystemDateAndTime: reply larger than 256 KiB")
    assert took < TIMEOUT_S
    # What the device got written before the probe hung up: the cap plus what socket buffers hold.
    assert device.sent < 16 << 20


# ----------------------------------------------------------------------------------------- RTSP probe


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def raw_camera(handle: Handler) -> tuple[asyncio.Server, str]:
    """A loopback server running ``handle`` on each connection (a peer that hangs up ends it quietly); the
    server, and an rtsp:// URL to it."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handle(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.transport.abort()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    return server, f"rtsp://127.0.0.1:{server.sockets[0].getsockname()[1]}/cam"


async def serve_once(reply: bytes) -> tuple[asyncio.Server, str, list[int]]:
    """A server answering OPTIONS 200 then ``reply``; records how many bytes it managed to send."""
    sent: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n")
        await reader.readuntil(b"\r\n\r\n")
        writer.write(reply)
        total = len(reply)
        while True:  # then an endless stream of filler, as fast as the probe reads
            writer.write(b"x" * 65536)
            total += 65536
            sent[:] = [total]
            await writer.drain()

    return *(await raw_camera(handle)), sent


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (b"RTSP/1.0 200 OK\r\nCSeq: 2\r\nX-Filler: ", "head larger than"),
        (b"RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Length: 1000000000\r\n\r\n", "body larger than"),
    ],
    ids=["endless-head", "huge-body"],
)
async def test_rtsp_replies_are_bounded(reply: bytes, reason: str) -> None:
    server, url, sent = await serve_once(reply)
    try:
        result = await probe_url(url, timeout=TIMEOUT_S)
    finally:
        server.close()
    assert result.status == ERROR and reason in (result.error or "")
    assert (sent or [0])[0] < MAX_HEADER_BYTES + MAX_BODY_BYTES + (16 << 20)


async def test_rtsp_probe_reports_a_redirect_by_host_and_follows_none() -> None:
    location = f"rtsp://{CAM_USER}:{CAM_PASSWORD}@127.0.0.77:554/elsewhere"
    async with recording_listener() as trap:
        server, url, _ = await serve_once(
            f"RTSP/1.0 302 Found\r\nCSeq: 2\r\nLocation: {location}\r\n\r\n".encode()
        )
        try:
            result = await probe_url(url, username=CAM_USER, password=CAM_PASSWORD, timeout=TIMEOUT_S)
        finally:
            server.close()
    assert (result.status, result.error) == (
        ERROR,
        "DESCRIBE: redirected (302) to 127.0.0.77; camwatch follows no redirect",
    )
    assert trap.connections == 0
    assert CAM_USER not in (result.error or "")


async def test_rtsp_probe_sends_basic_only_after_a_challenge_on_the_same_connection() -> None:
    async with hostile_rtsp(auth="basic") as camera:
        for _ in range(3):
            result = await probe_url(
                camera.url("cam"), username=CAM_USER, password=CAM_PASSWORD, timeout=TIMEOUT_S
            )
            assert result.status == OK, result.error
    # Every probe: OPTIONS, 401, then the login, each time after the challenge on that connection.
    assert {r.scheme for r in camera.requests if r.authorization} == {"basic"}
    assert camera.connections == 3
    assert logins_before_a_challenge(camera.requests) == []


async def test_rtsp_probe_prefers_digest_when_both_are_offered() -> None:
    async with hostile_rtsp(auth="basic,digest") as camera:
        result = await probe_url(
            camera.url("cam"), username=CAM_USER, password=CAM_PASSWORD, timeout=TIMEOUT_S
        )
    assert result.status == OK, result.error
    assert {r.scheme for r in camera.requests if r.authorization} == {"digest"}


# ------------------------------------------------------------------------------------------ video check


async def decode(url: str, timeout: float = TIMEOUT_S) -> ProbeResult:
    camera = make_camera(rtsp_url=url, username=CAM_USER, password=CAM_PASSWORD)
    return await video_probe(camera, ProbeContext(settings=VideoSettings(timeout=timeout, duration=1.0)))


@pytest.mark.parametrize("auth", ["basic", "digest", "basic,digest"])
async def test_decoder_redirected_elsewhere_sends_nothing_there(
    auth: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="camwatch.monitor.probes.video")
    async with (
        recording_listener("127.0.0.77") as trap,
        hostile_rtsp(decoder="redirect", location=trap.url("stolen"), auth=auth) as camera,
    ):
        probed = await probe_url(
            camera.url("cam"), username=CAM_USER, password=CAM_PASSWORD, timeout=TIMEOUT_S
        )
        result = await decode(camera.url("cam"))
    assert probed.status == OK  # the camera looks healthy to the RTSP probe
    assert (result.status, result.error) == (
        ERROR,
        "redirected (302) to 127.0.0.77; camwatch follows no redirect",
    )
    assert (trap.connections, bytes(trap.received)) == (0, b"")
    # The log says it too, naming the camera and the host it pointed to, and never the login.
    assert "video check refused a redirect (redirected (302) to 127.0.0.77" in caplog.text
    assert CAM_PASSWORD not in caplog.text
    decoder = [r for r in camera.requests if not r.from_probe]
    assert [r.method for r in decoder][-1] == "DESCRIBE"
    assert logins_before_a_challenge(camera.requests) == []
    expected = "digest" if "digest" in auth else "basic"
    assert {r.scheme for r in decoder if r.authorization} == {expected}
    assert_no_login(result)


async def test_decoder_redirected_to_itself_stops_at_once() -> None:
    async with hostile_rtsp(decoder="redirect", auth="digest") as camera:
        result = await decode(camera.url("cam"))
    assert (result.status, result.error) == (
        ERROR,
        "redirected (302) to 127.0.0.1; camwatch follows no redirect",
    )
    assert len(camera.requests) <= 4  # OPTIONS, DESCRIBE, their challenges: then nothing more
    assert camera.connections == 1


# ------------------------------------------------------------------------------------------- scheduling


async def test_stalled_decode_never_holds_back_liveness() -> None:
    """The first round's RTSP result is recorded when the RTSP probe ends, and liveness rounds go on while
    that camera's decode hangs until its deadline."""
    settings = MonitorSettings(
        rtsp=RtspSettings(interval=0.5, timeout=2.0, jitter=0.0),
        video=VideoSettings(interval=3600, timeout=6.0),
    )
    reports: list[tuple[str, ...]] = []
    async with hostile_rtsp(decoder="stall", auth="digest") as camera:
        cam = make_camera(rtsp_url=camera.url("cam"), username=CAM_USER, password=CAM_PASSWORD)
        sched = Scheduler(settings, [cam], lambda _cam, results, _now: reports.append(tuple(results)))
        sched.start()
        try:
            async with asyncio.timeout(30):
                while not any("video" in kinds for kinds in reports):
                    await asyncio.sleep(0.1)
        finally:
            await sched.stop()
    assert reports[0] == ("rtsp",)
    before_video = reports[: next(i for i, kinds in enumerate(reports) if "video" in kinds)]
    assert len(before_video) >= 3 and all(kinds == ("rtsp",) for kinds in before_video), reports


async def test_decoder_relay_lends_the_login_to_one_connection_only() -> None:
    async with (
        hostile_rtsp(decoder="stall", auth="digest") as camera,
        DecoderRelay(camera.url("cam"), CAM_USER, CAM_PASSWORD) as relay,
    ):
        port = urlsplit(relay.url).port
        _, first = await asyncio.open_connection("127.0.0.1", port)
        await asyncio.sleep(0.1)

        async def second_client_hears() -> bytes:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except ConnectionRefusedError:
                return b""
            writer.write(b"OPTIONS rtsp://127.0.0.1/cam RTSP/1.0\r\nCSeq: 1\r\n\r\n")
            try:
                return await reader.read(1)
            except ConnectionError:
                return b""
            finally:
                writer.close()

        assert await second_client_hears() == b""
        first.close()
    assert camera.requests == []


async def test_decoder_relay_bounds_what_the_camera_sends() -> None:
    server, url, sent = await serve_once(b"RTSP/1.0 200 OK\r\nCSeq: 2\r\nX-Filler: ")
    try:
        result = await decode(url)
    finally:
        server.close()
    assert result.status in (ERROR, OFFLINE), result
    assert url in (result.error or "")  # the camera named, not the relay
    assert (sent or [0])[0] < MAX_HEADER_BYTES + (16 << 20)


# ------------------------------------------------------------------------------------- a busy camera (503)

SDP = b"v=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"


async def busy_camera(busy: int, seen: list[float]) -> tuple[asyncio.Server, str]:
    """A camera at its connection cap: answers its first ``busy`` DESCRIBEs 503, then with an SDP; notes
    when each request came."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while head := await reader.readuntil(b"\r\n\r\n"):
            seen.append(time.monotonic())
            cseq = next(
                line.split(b":", 1)[1].strip()
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"cseq:")
            )
            if len(seen) <= busy:
                writer.write(b"RTSP/1.0 503 Service Unavailable\r\nCSeq: " + cseq + b"\r\n\r\n")
            else:
                writer.write(
                    b"RTSP/1.0 200 OK\r\nCSeq: %s\r\nContent-Type: application/sdp\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (cseq, len(SDP), SDP)
                )
            await writer.drain()

    return await raw_camera(handle)


async def relayed_describe(relay: DecoderRelay) -> bytes:
    """What a decoder hears back for its DESCRIBE through ``relay`` (its head)."""
    port = urlsplit(relay.url).port
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"DESCRIBE {relay.url} RTSP/1.0\r\nCSeq: 7\r\n\r\n".encode())
        async with asyncio.timeout(TIMEOUT_S):
            return await reader.readuntil(b"\r\n\r\n")
    finally:
        writer.close()


@pytest.mark.parametrize(("busy", "expected", "asked"), [(1, b"200 OK", 2), (1000, b"503", 2)])
async def test_decoder_relay_asks_a_busy_camera_once_more_within_the_deadline(
    busy: int, expected: bytes, asked: int
) -> None:
    seen: list[float] = []
    server, url = await busy_camera(busy, seen)
    try:
        started = time.monotonic()
        async with DecoderRelay(url, None, None, deadline=started + TIMEOUT_S) as relay:
            head = await relayed_describe(relay)
    finally:
        server.close()
    assert head.startswith(b"RTSP/1.0 " + expected) and b"cseq: 7\r\n" in head.lower()  # the decoder's CSeq
    assert len(seen) == asked  # asked again once, never more
    assert seen[1] - seen[0] >= rtsp_proto.BUSY_PAUSE
    assert time.monotonic() - started < TIMEOUT_S


@pytest.mark.parametrize("left", [None, rtsp_proto.BUSY_PAUSE + rtsp_proto.BUSY_ROOM - 0.2])
async def test_decoder_relay_passes_a_503_on_without_room_to_ask_again(left: float | None) -> None:
    seen: list[float] = []
    server, url = await busy_camera(1, seen)
    try:
        deadline = None if left is None else time.monotonic() + left
        async with DecoderRelay(url, None, None, deadline=deadline) as relay:
            head = await relayed_describe(relay)
    finally:
        server.close()
    assert head.startswith(b"RTSP/1.0 503 Service Unavailable\r\n")
    assert len(seen) == 1
