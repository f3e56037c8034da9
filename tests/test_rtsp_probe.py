"""The RTSP probe against the real GStreamer RTSP server and misbehaving loopback servers."""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

import pytest

from camwatch.config.models import RtspSettings, Stream
from camwatch.monitor import rtsp_proto
from camwatch.monitor.probes import rtsp
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
from camwatch.monitor.probes.registry import ProbeKinds
from camwatch.monitor.probes.rtsp import ChallengeCache, Remembered, StreamMemory, probe
from camwatch.monitor.rtsp_proto import Challenge
from camwatch.monitor.sweep import run_probe
from camwatch.sim.h264 import clip
from camwatch.sim.rtsp_server import RtspCamera, RtspFleetServer
from support.cameras import make_camera
from support.gst_rtsp import GstRtsp, unused_port
from support.rtsp_relay import media_held, recording_relay

TIMEOUT_S = 5.0


# What the probes of this module remember between them, as a service's would (``ProbeContext.caches``).
KEPT = StreamMemory()
challenges = KEPT.challenges


async def probe_url(url: str, **kwargs: Any) -> ProbeResult:
    return await rtsp.probe_url(url, memory=KEPT, **kwargs)


@pytest.fixture(autouse=True)
def no_remembered_challenges() -> Iterator[None]:
    """Each test starts with no remembered challenge (a port may be reused by a later test)."""
    challenges.clear()
    yield
    challenges.clear()


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


# --------------------------------------------------------------------------------- 503 Service Unavailable

BUSY = b"RTSP/1.0 503 Service Unavailable\r\nCSeq: %s\r\n\r\n"


def busy_camera(busy: int, seen: list[tuple[str, float]], *, hang_up: bool = False) -> Handler:
    """A camera at its connection cap: answers its first ``busy`` requests 503 (hanging up after the first
    with ``hang_up``), then OPTIONS and DESCRIBE as a camera does; notes each request's method and time."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while head := await reader.readuntil(b"\r\n\r\n"):
            method = head.split(b" ", 1)[0].decode()
            seen.append((method, time.monotonic()))
            cseq = re.search(rb"CSeq: *(\d+)", head, re.IGNORECASE)
            number = cseq.group(1) if cseq else b"0"
            if len(seen) <= busy:
                writer.write(BUSY % number)
                if hang_up:
                    await writer.drain()
                    return
            elif method == "OPTIONS":
                writer.write(OPTIONS_OK.replace(b"CSeq: 1", b"CSeq: " + number))
            else:
                writer.write(DESCRIBE_OK.replace(b"CSeq: 2", b"CSeq: " + number))
            await writer.drain()

    return handler


async def test_a_busy_camera_is_asked_once_more_after_a_pause() -> None:
    seen: list[tuple[str, float]] = []
    async with loopback_server(busy_camera(1, seen)) as url:
        result = await probe_url(url, timeout=TIMEOUT_S)
    assert (result.status, result.details["codec"]) == (OK, "H264")
    assert [method for method, _ in seen] == ["OPTIONS", "OPTIONS", "DESCRIBE"]
    assert seen[1][1] - seen[0][1] >= rtsp_proto.BUSY_PAUSE


async def test_a_camera_busy_for_good_is_its_503_within_the_deadline() -> None:
    seen: list[tuple[str, float]] = []
    started = time.monotonic()
    async with loopback_server(busy_camera(1000, seen)) as url:
        result = await probe_url(url, timeout=TIMEOUT_S)
    assert (result.status, result.error) == (ERROR, "OPTIONS answered 503 Service Unavailable")
    assert [method for method, _ in seen] == ["OPTIONS", "OPTIONS"]  # asked again once, never more
    assert time.monotonic() - started < TIMEOUT_S


async def test_a_busy_answer_near_the_deadline_or_on_a_closed_connection_is_reported_at_once() -> None:
    short = rtsp_proto.BUSY_PAUSE + rtsp_proto.BUSY_ROOM - 0.2  # no room for the pause and an answer
    for timeout, hang_up in ((short, False), (TIMEOUT_S, True)):
        seen: list[tuple[str, float]] = []
        started = time.monotonic()
        async with loopback_server(busy_camera(1000, seen, hang_up=hang_up)) as url:
            result = await probe_url(url, timeout=timeout)
        assert (result.status, result.error) == (ERROR, "OPTIONS answered 503 Service Unavailable")
        assert [method for method, _ in seen] == ["OPTIONS"]
        assert time.monotonic() - started < timeout


# ------------------------------------------------------------------------------------ remembered challenges

NO_AUTH = None
FIRST_PROBE = [("OPTIONS", NO_AUTH), ("DESCRIBE", NO_AUTH)]


async def test_basic_login_is_never_sent_up_front(
    gst_rtsp_server_factory: Callable[..., GstRtsp],
) -> None:
    """Basic carries the password in clear: every probe waits for the camera to ask on its own connection."""
    server = gst_rtsp_server_factory(
        {"cam": "videotestsrc is-live=true pattern=black"}, user="viewer", password="basic-pw", auth="basic"
    )
    held = media_held(
        server.url("cam"), host=server.host, port=server.port, username="viewer", password="basic-pw"
    )
    async with held, recording_relay(server.host, server.port) as relay:
        url = relay.url("cam")

        async def probed(password: str) -> str:
            return (await probe_url(url, username="viewer", password=password, timeout=TIMEOUT_S)).status

        for _ in range(2):
            assert await probed("basic-pw") == OK
            assert relay.take() == [*FIRST_PROBE, ("DESCRIBE", "Basic")]
        assert url not in [*challenges._entries]
        assert await probed("changed") == AUTH_FAILED
        assert relay.take() == [*FIRST_PROBE, ("DESCRIBE", "Basic")]


async def test_credentials_never_go_to_a_camera_that_did_not_ask(gst_rtsp: GstRtsp) -> None:
    assert gst_rtsp.password
    held = media_held(gst_rtsp.url("live"), host=gst_rtsp.host, port=gst_rtsp.port)
    async with held, recording_relay(gst_rtsp.host, gst_rtsp.port) as relay:
        for _ in range(2):
            result = await probe_url(
                relay.url("live"), username=gst_rtsp.username, password=gst_rtsp.password, timeout=TIMEOUT_S
            )
            assert result.status == OK, result.error
        assert relay.take() == FIRST_PROBE * 2
    assert len(challenges) == 0


async def test_gstreamer_single_use_nonce_falls_back_then_is_not_sent_up_front_again(
    gst_rtsp_server_factory: Callable[..., GstRtsp],
) -> None:
    """GStreamer binds a Digest nonce to its connection: a remembered one is refused (without stale=true),
    the probe answers the new challenge, and later probes stop sending a nonce bound to fail."""
    server = gst_rtsp_server_factory(
        {"cam": "videotestsrc is-live=true pattern=black"}, user="viewer", password="digest-pw", auth="digest"
    )
    held = media_held(
        server.url("cam"), host=server.host, port=server.port, username="viewer", password="digest-pw"
    )
    async with held, recording_relay(server.host, server.port) as relay:
        seen = []
        for _ in range(3):
            result = await probe_url(
                relay.url("cam"), username="viewer", password="digest-pw", timeout=TIMEOUT_S
            )
            assert (result.status, result.details["width"]) == (OK, 640)
            seen.append(relay.take())
    assert seen == [
        [*FIRST_PROBE, ("DESCRIBE", "Digest")],
        [("OPTIONS", NO_AUTH), ("DESCRIBE", "Digest"), ("DESCRIBE", "Digest")],
        [*FIRST_PROBE, ("DESCRIBE", "Digest")],
    ]


@pytest.fixture
async def sim_camera() -> AsyncIterator[tuple[RtspFleetServer, RtspCamera]]:
    """One simulated Digest camera whose nonce outlives connections (one nonce per server, as the fleet's)."""
    fleet = RtspFleetServer()
    camera = RtspCamera(
        id="sim-1",
        address="127.0.0.1",
        port=unused_port(),
        username="admin",
        password="sim-pw",
        clip=clip("live", width=64, height=36, fps=10, seconds=1),
    )
    await fleet.open(camera)
    yield fleet, camera
    await fleet.close_all()


async def test_second_probe_of_a_digest_camera_takes_two_exchanges_and_survives_a_new_nonce(
    sim_camera: tuple[RtspFleetServer, RtspCamera],
) -> None:
    fleet, camera = sim_camera
    async with recording_relay(camera.address, camera.port) as relay:

        async def probed() -> list[tuple[str, str | None]]:
            result = await probe_url(
                relay.url(camera.path), username="admin", password="sim-pw", timeout=TIMEOUT_S
            )
            assert (result.status, result.details["width"]) == (OK, 64)
            return relay.take()

        assert await probed() == [*FIRST_PROBE, ("DESCRIBE", "Digest")]
        assert await probed() == [("OPTIONS", NO_AUTH), ("DESCRIBE", "Digest")]
        fleet.nonce = secrets.token_hex(16)  # the camera's nonce expired: one fallback, then up front again
        assert await probed() == [("OPTIONS", NO_AUTH), ("DESCRIBE", "Digest"), ("DESCRIBE", "Digest")]
        assert await probed() == [("OPTIONS", NO_AUTH), ("DESCRIBE", "Digest")]


def stale_nonce_camera(nonces: list[str], seen: list[dict[str, str]]) -> Handler:
    """A camera with qop=auth whose current nonce is ``nonces[-1]``: it accepts an answer to that nonce and
    refuses an older one with ``stale=true`` (it checks nonces only: the Digest maths is tested elsewhere)."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while head := (await reader.readuntil(b"\r\n\r\n")).decode():
            cseq = re.search(r"CSeq: (\d+)", head)[1]  # type: ignore[index]
            params = dict(re.findall(r'(\w+)="?([^",]*)"?', head.partition("Authorization: Digest ")[2]))
            if head.startswith("OPTIONS"):
                writer.write(f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\n\r\n".encode())
            elif params.get("nonce") == nonces[-1]:
                seen.append(params)
                writer.write(
                    b"RTSP/1.0 200 OK\r\nCSeq: %s\r\nContent-Length: %d\r\n\r\n%s"
                    % (cseq.encode(), len(SDP), SDP)
                )
            else:
                stale = ", stale=true" if params else ""
                challenge = f'WWW-Authenticate: Digest realm="cam", nonce="{nonces[-1]}", qop="auth"{stale}'
                writer.write(f"RTSP/1.0 401 Unauthorized\r\nCSeq: {cseq}\r\n{challenge}\r\n\r\n".encode())
            await writer.drain()

    return handler


async def test_stale_nonce_is_answered_again_and_nonce_counts_go_up() -> None:
    """A remembered nonce refused with ``stale=true`` is replaced and still sent up front afterwards, even
    though no up-front answer had worked yet (unlike a nonce refused without it)."""
    nonces, seen = ["n1"], []  # type: tuple[list[str], list[dict[str, str]]]
    async with loopback_server(stale_nonce_camera(nonces, seen)) as url:

        async def probed() -> str:
            return (await probe_url(url, username="u", password="p", timeout=TIMEOUT_S)).status

        statuses = [await probed()]
        nonces.append("n2")
        statuses += [await probed() for _ in range(3)]
    assert statuses == [OK] * 4
    # nc 2 and 3 with the same nonce: answered up front, no new challenge in between.
    assert [(p["nonce"], p["nc"]) for p in seen] == [
        ("n1", "00000001"),
        ("n2", "00000001"),
        ("n2", "00000002"),
        ("n2", "00000003"),
    ]
    assert len({p["cnonce"] for p in seen}) == 4


def nonce_expiring_camera(*, stale_every_time: bool, seen: list[tuple[str, str | None]]) -> Handler:
    """A camera that wants a login for OPTIONS too, and whose nonce expires between OPTIONS and DESCRIBE:
    DESCRIBE with the OPTIONS nonce gets ``401 … stale=true`` and a new nonce (each time, if
    ``stale_every_time``: a camera that never takes an answer)."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        issued = 0
        while head := (await reader.readuntil(b"\r\n\r\n")).decode():
            cseq = re.search(r"CSeq: (\d+)", head)[1]  # type: ignore[index]
            nonce = re.search(r'nonce="([^"]*)"', head)
            method = head.split(" ", 1)[0]
            seen.append((method, nonce[1] if nonce else None))
            current = f"nonce-{issued}"
            fresh = nonce is not None and nonce[1] == current
            if fresh and (method == "OPTIONS" or (issued >= 2 and not stale_every_time)):
                body = b"" if method == "OPTIONS" else SDP
                writer.write(
                    b"RTSP/1.0 200 OK\r\nCSeq: %s\r\nContent-Length: %d\r\n\r\n%s"
                    % (cseq.encode(), len(body), body)
                )
            else:
                issued += 1
                stale = ", stale=true" if nonce else ""
                challenge = f'WWW-Authenticate: Digest realm="cam", nonce="nonce-{issued}"{stale}'
                writer.write(f"RTSP/1.0 401 Unauthorized\r\nCSeq: {cseq}\r\n{challenge}\r\n\r\n".encode())
            await writer.drain()

    return handler


async def test_stale_nonce_after_an_authenticated_options_is_answered_once() -> None:
    """OPTIONS needed the login; DESCRIBE's ``stale=true`` is answered with the new nonce on the same
    connection. A second 401 on the same request stays ``auth_failed``."""
    seen: list[tuple[str, str | None]] = []
    async with loopback_server(nonce_expiring_camera(stale_every_time=False, seen=seen)) as url:
        result = await probe_url(url, username="u", password="p", timeout=TIMEOUT_S)
    assert (result.status, result.error) == (OK, None)
    assert seen == [
        ("OPTIONS", None),
        ("OPTIONS", "nonce-1"),
        ("DESCRIBE", "nonce-1"),
        ("DESCRIBE", "nonce-2"),
    ]
    challenges.clear()
    seen.clear()
    async with loopback_server(nonce_expiring_camera(stale_every_time=True, seen=seen)) as url:
        refused = await probe_url(url, username="u", password="p", timeout=TIMEOUT_S)
    assert (refused.status, refused.error) == (AUTH_FAILED, "credentials rejected")
    assert [m for m, _ in seen] == ["OPTIONS", "OPTIONS", "DESCRIBE", "DESCRIBE"]


def test_challenge_cache_is_a_bounded_lru() -> None:
    cache = ChallengeCache(2)
    a, b, c = (Remembered(Challenge("basic", {"realm": r})) for r in "abc")
    cache.put("rtsp://a/", a)
    cache.put("rtsp://b/", b)
    assert cache.get("rtsp://a/") is a  # now the most recently used
    cache.put("rtsp://c/", c)
    assert (cache.get("rtsp://b/"), cache.get("rtsp://a/"), cache.get("rtsp://c/"), len(cache)) == (
        None,
        a,
        c,
        2,
    )
    cache.discard("rtsp://a/")
    assert (cache.get("rtsp://a/"), len(cache)) == (None, 1)


# --------------------------------------------------------------------------------------------- safety net


async def test_a_probe_that_ignores_its_deadline_becomes_a_timeout_result(
    hanging_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A probe that fails to enforce ``ctx.timeout`` is stopped at timeout + 1 s, armed directly (short
    deadline) or by the shared tick (longer one)."""

    async def ignores_deadline(camera: object, ctx: ProbeContext) -> ProbeResult:
        return await probe_url(f"rtsp://127.0.0.1:{hanging_port}/live", timeout=3600)

    kinds = ProbeKinds().with_kind("stuck", ignores_deadline)
    camera = make_camera()

    async def timed(timeout: float) -> tuple[ProbeResult, float]:
        started = time.monotonic()
        result = await run_probe("stuck", camera, ProbeContext(settings=RtspSettings(timeout=timeout)), kinds)
        return result, time.monotonic() - started

    for (result, took), timeout in zip(await asyncio.gather(timed(0.2), timed(1.6)), (0.2, 1.6), strict=True):
        assert (result.status, result.error) == (TIMEOUT, "probe deadline exceeded")
        assert timeout + 1 <= took <= timeout + 1.5


async def test_cancelling_a_probe_from_outside_still_cancels_it(hanging_port: int) -> None:
    camera = make_camera(rtsp_url=f"rtsp://127.0.0.1:{hanging_port}/live")
    task = asyncio.create_task(run_probe("rtsp", camera, ProbeContext(settings=RtspSettings(timeout=5))))
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
