"""Snapshot probe: a camera's still picture over HTTP, judged like a video check (black, blurred, frozen...).

For cameras whose RTSP sessions are scarce (NVR channels, recording-only streams) or too costly to decode at
scale. The picture comes from the camera's ``snapshot_url`` (Hikvision ``/ISAPI/Streaming/channels/101/
picture``, Dahua ``/cgi-bin/snapshot.cgi``) or, for ``snapshot_url: onvif``, from ONVIF ``GetSnapshotUri``.
Two pictures ``frozen_seconds`` apart tell a frozen picture from a live one.

The login is sent only as the answer to a challenge (Digest preferred, else Basic) from the picture's own
host, on the connection the challenge came on; a redirect is followed only on that same origin.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import urljoin, urlsplit

import aiohttp
import cv2
import numpy as np

from camwatch.config.models import Camera, SnapshotSettings
from camwatch.config.redact import scrub
from camwatch.monitor.picture import analysis, references
from camwatch.monitor.probes import onvif
from camwatch.monitor.probes.base import (
    AUTH_FAILED,
    ERROR,
    NOT_FOUND,
    OFFLINE,
    SKIPPED,
    TIMEOUT,
    ProbeContext,
    ProbeResult,
)
from camwatch.monitor.probes.bounded import BoundedReply, ReplyRefused
from camwatch.monitor.rtsp_proto import (
    NoChallenge,
    RtspProtocolError,
    answer_challenges,
    redirect_message,
)

NAME = "snapshot"
# The camera answers with something that is no picture (an empty body, a login page): its picture never
# comes, like a stream that sends nothing (the fault ``no_video``).
NO_VIDEO = "no_video"
BASELINE_KEY = "snapshot_sharpness"
SCENE_KEY = "snapshot_scene"
_MAX_REDIRECTS = 3


class SnapshotFailed(Exception):
    """The picture could not be had: a probe status and a short reason."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Login:
    username: str
    password: str = field(repr=False)


def _origin(url: str) -> tuple[str, str, int]:
    """Scheme, host and port: where a login may go."""
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


def _authorization(challenges: list[str], login: Login, url: str) -> str:
    """The answer to a reply's ``WWW-Authenticate`` challenges: Digest when offered, else Basic."""
    parts = urlsplit(url)
    uri = parts.path + (f"?{parts.query}" if parts.query else "")
    try:
        return answer_challenges(
            challenges, username=login.username, password=login.password, method="GET", uri=uri or "/"
        )
    except NoChallenge as exc:
        raise SnapshotFailed(AUTH_FAILED, f"login refused: {exc}") from None
    except RtspProtocolError as exc:
        raise SnapshotFailed(ERROR, f"malformed challenge: {exc}") from None


async def fetch(session: aiohttp.ClientSession, url: str, login: Login | None, limit: int) -> bytes:
    """One picture from ``url``: challenged for a login at most once, redirects only within its origin.

    The session has one connection (keep-alive): the answer to a challenge goes out on the connection the
    challenge came on, unless the camera closed it.
    """
    origin = _origin(url)
    authorization: str | None = None
    for _ in range(_MAX_REDIRECTS + 1):
        headers = {"Accept-Encoding": "identity"}
        if authorization is not None:
            headers["Authorization"] = authorization
        response = BoundedReply(
            await session.get(url, headers=headers, allow_redirects=False, auto_decompress=False), limit
        )
        status = response.status
        if status == 401 and authorization is None and login is not None:
            authorization = _authorization(response.headers.getall("WWW-Authenticate", []), login, url)
            await response.read()  # drain, so the connection is reused for the answer
            continue
        if status in (301, 302, 303, 307, 308):
            location = response.headers.get("Location")
            target = urljoin(url, location or "")
            response.close()
            if not location or _origin(target) != origin:
                raise SnapshotFailed(ERROR, redirect_message(status, location))
            url = target
            continue
        if status == 200:
            return await response.read()
        response.close()
        if status in (401, 403):
            raise SnapshotFailed(AUTH_FAILED, f"HTTP {status}: login refused")
        if status == 404:
            raise SnapshotFailed(NOT_FOUND, "HTTP 404: no picture at this path")
        raise SnapshotFailed(ERROR, f"HTTP {status}")
    raise SnapshotFailed(ERROR, f"more than {_MAX_REDIRECTS} redirects")


def decode(jpeg: bytes) -> np.ndarray:
    """A JPEG (or any picture OpenCV reads) as a BGR frame; raises ``SnapshotFailed``."""
    if not jpeg:
        raise SnapshotFailed(NO_VIDEO, "empty picture (0 bytes)")
    frame = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    if frame is None:
        raise SnapshotFailed(NO_VIDEO, f"the reply is not a picture ({len(jpeg)} bytes)")
    return frame


def analyse_pair(jpegs: list[bytes], gap: float) -> tuple[list[analysis.Picture], float | None]:
    """The two stills at the analysis size, and how alive the sensor is between them: a live camera's two
    stills differ by its sensor noise even where the scene stands still; a frozen one's not at all."""
    frames = [decode(jpeg) for jpeg in jpegs]
    pictures = [analysis.picture(frame, pts) for frame, pts in zip(frames, (0.0, gap), strict=True)]
    first, second = (analysis.sensor_sample(cv2.cvtColor(f, cv2.COLOR_BGR2GRAY)) for f in frames)
    alive = analysis.sensor_alive(first, second) if first.shape == second.shape else None
    return pictures, alive


async def _picture_url(camera: Camera, settings: SnapshotSettings, kept: onvif.OnvifMemory) -> str:
    url = camera.snapshot_url
    assert url is not None
    if url != "onvif":
        return url
    try:
        found = await onvif.snapshot_uri(camera, max_reply_bytes=settings.max_reply_bytes, kept=kept)
    except onvif.OnvifFailed as exc:
        raise SnapshotFailed(exc.status, f"ONVIF: {exc.reason}") from None
    # A login goes only to the host it belongs to: the device that was asked.
    if _origin(found)[1] != (camera.onvif_host or "").lower() or _origin(found)[0] not in ("http", "https"):
        raise SnapshotFailed(ERROR, f"the snapshot URI points elsewhere ({_origin(found)[1][:100]})")
    return found


async def _two_pictures(
    camera: Camera, settings: SnapshotSettings, login: Login | None, kept: onvif.OnvifMemory
) -> tuple[list[bytes], float]:
    """Two pictures ``frozen_seconds`` apart, over one connection, and the seconds between them."""
    url = await _picture_url(camera, settings, kept)
    connector = aiohttp.TCPConnector(limit=1)
    async with aiohttp.ClientSession(connector=connector) as session:
        first = await fetch(session, url, login, settings.max_reply_bytes)
        started = time.monotonic()
        await asyncio.sleep(settings.frozen_seconds)
        second = await fetch(session, url, login, settings.max_reply_bytes)
    return [first, second], time.monotonic() - started


# What fetching a picture can fail with because of the camera or the network (``ReplyRefused`` and a URL
# the camera sent that does not parse are ``ValueError``s).
_PROTOCOL_ERRORS = (SnapshotFailed, aiohttp.ClientError, OSError, ValueError)


def _status_of(exc: BaseException) -> tuple[str, str]:
    match exc:
        case SnapshotFailed():
            return exc.status, exc.reason
        case ReplyRefused():
            return ERROR, str(exc)
        case aiohttp.ClientConnectorError():
            errno = getattr(exc, "errno", None)
            return OFFLINE, f"cannot connect: {os.strerror(errno) if errno else type(exc).__name__}"
        case aiohttp.ClientError():
            return ERROR, type(exc).__name__
    return ERROR, f"{type(exc).__name__}"


async def probe(camera: Camera, ctx: ProbeContext) -> ProbeResult:
    """Fetch two still pictures ``frozen_seconds`` apart and report picture faults."""
    settings = cast(SnapshotSettings, ctx.settings)
    started = time.monotonic()
    if not camera.snapshot_url:
        return ProbeResult(NAME, False, SKIPPED, 0.0, error="camera has no snapshot_url")
    password = camera.password.get_secret_value() if camera.password else None
    login = Login(camera.username, password or "") if camera.username else None

    def failed(status: str, error: str) -> ProbeResult:
        found = (NO_VIDEO,) if status == NO_VIDEO else ()
        duration = time.monotonic() - started
        return ProbeResult(NAME, False, status, duration, error=scrub(error, [password]), faults=found)

    try:
        async with asyncio.timeout(ctx.timeout):
            jpegs, gap = await _two_pictures(camera, settings, login, onvif.memory(ctx.caches))
    except TimeoutError:
        return failed(TIMEOUT, f"no picture within {ctx.timeout:g} s")
    except _PROTOCOL_ERRORS as exc:  # anything else is camwatch's bug: run_probe logs it, internal
        return failed(*_status_of(exc))
    try:
        # Decoding costs milliseconds of CPU per picture: off the event loop.
        pictures, alive = await asyncio.to_thread(analyse_pair, jpegs, gap)
    except SnapshotFailed as exc:
        return failed(exc.status, exc.reason)

    # No frame rate from two stills.
    keys = (BASELINE_KEY, SCENE_KEY)
    # When the pictures were taken, at the camera: judged on its local day and night (mono_by_day).
    period = ctx.period(camera)
    judged = references.judge(
        pictures,
        fps=0.0,
        settings=settings,
        baselines=ctx.baselines,
        camera_id=camera.id,
        keys=keys,
        alive=alive,
        interval=settings.interval,
        period=period,
    )
    verdict = judged.verdict
    if ctx.snapshot_sink is not None:
        ctx.snapshot_sink(camera.id, jpegs[-1], judged.worst)
    values = {
        "snapshot_luma": verdict.luma,
        "snapshot_sharpness": verdict.sharpness,
        "snapshot_bytes": float(len(jpegs[-1])),
    }
    compared = verdict.scene_comparison
    if compared is not None and compared.match is not None:
        values["snapshot_scene_match"] = compared.match
    source = "onvif" if camera.snapshot_url == "onvif" else "url"
    details: dict[str, object] = {"source": source, "seconds_apart": round(gap, 3)}
    if period is not None:
        details["period"] = period
    return judged.result(NAME, time.monotonic() - started, values, details)
