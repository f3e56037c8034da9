"""The RTSP probe against the real GStreamer RTSP server and misbehaving loopback servers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from urllib.parse import quote

import pytest

from camwatch.config.models import RtspSettings, Stream
from camwatch.monitor.probes.base import (
    AUTH_FAILED,
    ERROR,
    NOT_FOUND,
    OFFLINE,
    OK,
    SKIPPED,
    TIMEOUT,
    ProbeContext,
    ProbeResult,
)
from camwatch.monitor.probes.rtsp import probe, probe_url
from support.cameras import make_camera
from support.gst_rtsp import GstRtsp

TIMEOUT_S = 5.0


def assert_no_secret(result: ProbeResult, password: str) -> None:
    """The password (plain or URL-encoded) appears in no field of the result."""
    for form in {password, quote(password, safe="")}:
        assert form not in repr(result)


def assert_live_h264(result: ProbeResult) -> None:
    assert (result.status, result.success, result.error) == (OK, True, None)
    assert result.details["codec"] == "H264"
    assert (result.details["width"], result.details["height"]) == (640, 360)
    assert result.details["server"] == "GStreamer RTSP server"
    assert result.duration_seconds > 0


# --------------------------------------------------------------------------------------------- GStreamer


async def test_live_stream_is_ok_with_codec_and_size(gst_rtsp: GstRtsp) -> None:
    assert_live_h264(await probe_url(gst_rtsp.url("live"), timeout=TIMEOUT_S))


async def test_secure_stream_with_the_right_password_is_ok(gst_rtsp: GstRtsp) -> None:
    assert gst_rtsp.password
    result = await probe_url(
        gst_rtsp.url("secure"), username=gst_rtsp.username, password=gst_rtsp.password, timeout=TIMEOUT_S
    )
    assert_live_h264(result)
    assert_no_secret(result, gst_rtsp.password)


@pytest.mark.parametrize("scheme", ["basic", "digest"])
async def test_each_auth_scheme_alone_is_answered(
    gst_rtsp_server_factory: Callable[..., GstRtsp], scheme: str
) -> None:
    password = f"only-{scheme}-pw"
    server = gst_rtsp_server_factory(
        {"cam": "videotestsrc is-live=true pattern=black"}, user="viewer", password=password, auth=scheme
    )
    right = await probe_url(server.url("cam"), username="viewer", password=password, timeout=TIMEOUT_S)
    wrong = await probe_url(server.url("cam"), username="viewer", password="nope", timeout=TIMEOUT_S)
    assert (right.status, right.details["codec"], right.details["width"]) == (OK, "H264", 640)
    assert (wrong.status, wrong.error) == (AUTH_FAILED, "credentials rejected")
    assert_no_secret(right, password)


async def test_wrong_password_is_auth_failed(gst_rtsp: GstRtsp) -> None:
    wrong = "Wrong-pw:1@x"
    result = await probe_url(
        gst_rtsp.url("secure"), username=gst_rtsp.username, password=wrong, timeout=TIMEOUT_S
    )
    assert (result.status, result.success, result.error) == (AUTH_FAILED, False, "credentials rejected")
    assert_no_secret(result, wrong)


async def test_secure_stream_without_credentials_is_auth_failed(gst_rtsp: GstRtsp) -> None:
    result = await probe_url(gst_rtsp.url("secure"), timeout=TIMEOUT_S)
    assert result.status == AUTH_FAILED
    assert result.error == "authentication required but no credentials configured"


async def test_credentials_in_the_url_are_used_and_never_shown(gst_rtsp: GstRtsp) -> None:
    assert gst_rtsp.password
    userinfo = f"{gst_rtsp.username}:{quote(gst_rtsp.password, safe='')}@"
    url = gst_rtsp.url("secure").replace("rtsp://", f"rtsp://{userinfo}")
    assert_live_h264(await probe_url(url, timeout=TIMEOUT_S))
    missing = await probe_url(url.replace("/secure", "/missing"), timeout=TIMEOUT_S)
    assert missing.status == NOT_FOUND
    assert_no_secret(missing, gst_rtsp.password)


async def test_unknown_mount_is_not_found(gst_rtsp: GstRtsp) -> None:
    result = await probe_url(gst_rtsp.url("no-such-mount"), timeout=TIMEOUT_S)
    assert (result.status, result.success) == (NOT_FOUND, False)
    assert "404" in (result.error or "")


async def test_camera_probe_uses_the_camera_login(gst_rtsp: GstRtsp) -> None:
    assert gst_rtsp.password
    camera = make_camera(
        rtsp_url=gst_rtsp.url("secure"), username=gst_rtsp.username, password=gst_rtsp.password
    )
    result = await probe(camera, ProbeContext(settings=RtspSettings(timeout=TIMEOUT_S)))
    assert_live_h264(result)
    assert result.probe == "rtsp"
    assert_no_secret(result, gst_rtsp.password)


async def test_sub_stream_failure_is_a_fault_not_an_outage(gst_rtsp: GstRtsp) -> None:
    camera = make_camera(
        streams=(
            Stream(role="main", rtsp_url=gst_rtsp.url("live")),
            Stream(role="sub", rtsp_url=gst_rtsp.url("gone")),
        )
    )
    result = await probe(camera, ProbeContext(settings=RtspSettings(timeout=TIMEOUT_S)))
    assert (result.status, result.success) == (OK, True)
    assert result.faults == ("sub_stream_down",)
    assert (result.error or "").startswith("sub stream: ")
    assert result.details["streams"] == {"main": OK, "sub": NOT_FOUND}


async def test_dead_main_stream_beside_a_live_sub_stream_is_flagged(gst_rtsp: GstRtsp) -> None:
    camera = make_camera(
        streams=(
            Stream(role="main", rtsp_url=gst_rtsp.url("gone")),
            Stream(role="sub", rtsp_url=gst_rtsp.url("live")),
        )
    )
    result = await probe(camera, ProbeContext(settings=RtspSettings(timeout=TIMEOUT_S)))
    assert (result.status, result.success) == (NOT_FOUND, False)
    assert result.faults == ("main_stream_down",)
    assert result.details["streams"] == {"main": NOT_FOUND, "sub": OK}


async def test_camera_without_rtsp_url_is_skipped() -> None:
    result = await probe(make_camera(), ProbeContext(settings=RtspSettings(timeout=TIMEOUT_S)))
    assert (result.status, result.success) == (SKIPPED, False)


# --------------------------------------------------------------------------------------------- network faults


async def test_closed_port_is_offline(closed_port: int) -> None:
    result = await probe_url(f"rtsp://127.0.0.1:{closed_port}/live", timeout=TIMEOUT_S)
    assert (result.status, result.success) == (OFFLINE, False)
    assert result.error


async def test_hanging_camera_times_out_without_delaying_a_live_one(
    gst_rtsp: GstRtsp, hanging_port: int
) -> None:
    timeout = 2.0
    started = time.monotonic()

    async def timed(call: Awaitable[ProbeResult]) -> tuple[ProbeResult, float]:
        result = await call
        return result, time.monotonic() - started

    (hung, hung_after), (live, live_after) = await asyncio.gather(
        timed(probe_url(f"rtsp://127.0.0.1:{hanging_port}/live", timeout=timeout)),
        timed(probe_url(gst_rtsp.url("live"), timeout=timeout)),
    )
    assert hung.status == TIMEOUT
    assert timeout <= hung_after <= timeout + 1
    assert live.status == OK
    assert live_after < timeout


# --------------------------------------------------------------------------------------------- bad servers

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
OPTIONS_OK = b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nPublic: OPTIONS, DESCRIBE\r\n\r\n"
SDP = b"v=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=framesize:96 1920-1080\r\n"
DESCRIBE_OK = b"RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Length: %d\r\n\r\n%s" % (len(SDP), SDP)


@asynccontextmanager
async def loopback_server(handler: Handler) -> AsyncIterator[str]:
    """A loopback TCP server running ``handler`` per connection; yields an rtsp:// URL to it."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield f"rtsp://127.0.0.1:{server.sockets[0].getsockname()[1]}/cam"
    finally:
        server.close()
        await server.wait_closed()


def answering(*replies: bytes, then_close: bool = True) -> Handler:
    """Read each request head and answer it with the next reply, sent a few bytes at a time."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for reply in replies:
            await reader.readuntil(b"\r\n\r\n")
            for i in range(0, len(reply), 7):
                writer.write(reply[i : i + 7])
                await writer.drain()
                await asyncio.sleep(0)
        if not then_close:
            await reader.read()

    return handler


async def test_answer_trickling_in_small_pieces_is_ok() -> None:
    async with loopback_server(answering(OPTIONS_OK, DESCRIBE_OK, then_close=False)) as url:
        result = await probe_url(url, timeout=TIMEOUT_S)
    assert (result.status, result.details) == (OK, {"codec": "H264", "width": 1920, "height": 1080})


async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 hello there, no RTSP here\n" * 4)
    await writer.drain()
    await reader.read()


async def oversized_head(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\n")
    for _ in range(80):
        writer.write(b"X-Filler: " + b"x" * 1000 + b"\r\n")
        await writer.drain()
    await reader.read()


@pytest.mark.parametrize(
    ("handler", "reason"),
    [
        (garbage, "not an RTSP response"),
        (oversized_head, "head larger than"),
        (answering(b"HTTP/1.1 400 Bad Request\r\n\r\n"), "not an RTSP response"),
        (answering(OPTIONS_OK[:30]), "closed mid-reply"),
        (answering(OPTIONS_OK, b"RTSP/1.0 500 Internal Server Error\r\nCSeq: 2\r\n\r\n"), "500 Internal"),
        (answering(OPTIONS_OK, b"RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Length: 5\r\n\r\nhello"), "SDP"),
        (answering(OPTIONS_OK, b"RTSP/1.0 200 OK\r\nCSeq: 9\r\n\r\n"), "CSeq"),
        (answering(OPTIONS_OK), "closed before a reply"),
    ],
    ids=["garbage", "oversized", "http", "cut", "500", "not-sdp", "cseq", "closed-after-options"],
)
async def test_misbehaving_server_is_error_with_a_reason(handler: Handler, reason: str) -> None:
    async with loopback_server(handler) as url:
        result = await probe_url(url, timeout=TIMEOUT_S)
    assert (result.status, result.success) == (ERROR, False)
    assert reason in (result.error or "")


async def test_connection_closed_before_any_reply_is_offline() -> None:
    async with loopback_server(answering()) as url:
        result = await probe_url(url, timeout=TIMEOUT_S)
    assert result.status == OFFLINE
