"""Video probe: decode a few seconds of a camera's stream and judge the picture (frozen, black, blurred, ...).

Decoding every frame of every camera costs too much CPU for a fleet. The probe receives the stream but
decodes only keyframes (one per GOP, typically every 1-2 s), which it compares with each other for
``frozen``; only a GOP longer than ``frozen_seconds`` makes it decode the frames in between, sparsely.
When two keyframes show a still picture with content, it decodes a few consecutive frames once to tell a
live sensor (its noise changes every frame) from a frozen source. It stops receiving as soon as the verdict
cannot change any more.

RTP comes over interleaved TCP first (it crosses NAT and firewalls), over UDP when the camera refuses TCP
or sends nothing over it, or the other way round from what worked last time (``transport``); a camera pins
one with its ``transport`` field. A camera whose picture never comes over any of them (SETUP or PLAY
refused, no RTP, nothing decodable) has ``no_video``; a failure on camwatch's own side (no free UDP port, a
decoder missing from its build) is a probe ``error`` marked ``internal``, never a camera fault.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import av
import av.error
import cv2

from camwatch.config.models import Camera, VideoSettings
from camwatch.config.redact import scrub
from camwatch.monitor import rtp_udp
from camwatch.monitor.picture import analysis, references
from camwatch.monitor.picture.decoder_relay import DecoderRelay
from camwatch.monitor.probes.base import (
    AUTH_FAILED,
    ERROR,
    NOT_FOUND,
    OFFLINE,
    SKIPPED,
    TIMEOUT,
    BaselineStore,
    ProbeContext,
    ProbeResult,
)
from camwatch.monitor.probes.video_capture import Capture, Progress, StreamEnded, StreamTimeout, capture

log = logging.getLogger(__name__)
CAPTURE_THREAD = "camwatch-video"  # the decoder threads' name, for a stopping service to wait on

NAME = "video"
BASELINE_KEY = "sharpness"
SCENE_KEY = "scene"
_SNAPSHOT_QUALITY = 80
NO_VIDEO = "no_video"
# Where the transport that last brought a picture is remembered (``ctx.baselines``: memory and the state
# database), as a number: the store keeps numbers and scene references.
TRANSPORT_KEY = "rtp_transport"
_TRANSPORT_CODES = {"tcp": 0.0, "udp": 1.0}
# More than this share of the decoded frames in error and the picture is unusable: ``no_video``.
MAX_DECODE_ERROR_RATIO = 0.5

_PROTOCOL_ERRORS = (av.error.FFmpegError, StreamTimeout, StreamEnded, OSError)


def _status_of(exc: BaseException, elapsed: float, io_timeout: float) -> str:
    if isinstance(exc, av.error.HTTPUnauthorizedError | av.error.HTTPForbiddenError):
        return AUTH_FAILED
    if isinstance(exc, av.error.HTTPNotFoundError):
        return NOT_FOUND
    if isinstance(exc, StreamTimeout | TimeoutError | av.error.ExitError):
        return TIMEOUT
    code = getattr(exc, "errno", None)
    if code in (errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ECONNRESET):
        return OFFLINE
    # FFmpeg reports a silent peer as invalid data once its I/O timeout has run out.
    return TIMEOUT if elapsed >= io_timeout * 0.9 else ERROR


def _snapshot(pic: analysis.Picture) -> bytes:
    ok, jpeg = cv2.imencode(".jpg", pic.bgr, [cv2.IMWRITE_JPEG_QUALITY, _SNAPSHOT_QUALITY])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return jpeg.tobytes()


async def _in_thread(fn: Any, timeout: float) -> Any:
    """Run blocking ``fn`` in its own daemon thread and wait at most ``timeout`` seconds for it.

    A dedicated thread rather than the loop's executor: a busy shared pool must not eat a camera's time, and
    a thread stuck in a read cannot be killed, so it must never keep the process alive.
    """
    loop = asyncio.get_running_loop()
    done: asyncio.Future[Any] = loop.create_future()

    def settle(outcome: Any, failure: BaseException | None) -> None:
        if done.cancelled():
            return
        if failure is None:
            done.set_result(outcome)
        else:
            done.set_exception(failure)

    def run() -> None:
        try:
            outcome, failure = fn(), None
        except BaseException as exc:
            outcome, failure = None, exc
        # The caller may have given up and closed its loop meanwhile; nobody is left to tell.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, outcome, failure)

    threading.Thread(target=run, name=CAPTURE_THREAD, daemon=True).start()
    return await asyncio.wait_for(done, timeout)


def join_captures(budget: float) -> int:
    """Wait at most ``budget`` seconds in all for the capture threads still running; how many are left.

    For a stopping service, after its probes were cancelled (each capture then stops at its next frame, and
    its relay is closed): a daemon thread still inside OpenCV's or FFmpeg's native code while the interpreter
    exits aborts the process ("terminate called without an active exception", exit status -6), which would
    turn a clean stop into a crash.
    """
    end = time.monotonic() + budget
    left = 0
    for thread in threading.enumerate():
        if thread.name == CAPTURE_THREAD:
            thread.join(max(0.0, end - time.monotonic()))
            left += thread.is_alive()
    return left


def transports(camera: Camera, baselines: BaselineStore) -> tuple[str, ...]:
    """The transports to try, in order: the camera's pinned one, else the one that last brought a picture
    first (interleaved TCP when none did yet), then the other."""
    if camera.transport != "auto":
        return (camera.transport,)
    return ("udp", "tcp") if remembered_transport(camera.id, baselines) == "udp" else ("tcp", "udp")


def remembered_transport(camera_id: str, baselines: BaselineStore) -> str | None:
    code = baselines.get(camera_id, TRANSPORT_KEY)
    return next((name for name, value in _TRANSPORT_CODES.items() if value == code), None)


@dataclass(frozen=True, slots=True)
class _Judging:
    """A capture judged in its decoder thread (``judge`` takes ≈ 13 ms of CPU a check, which on the event
    loop delays every round due meanwhile): the verdict, the references it learned (written back on the
    loop), and the last picture as JPEG when the service keeps snapshots."""

    judged: references.Judged
    learned: references.Staged
    jpeg: bytes | None


@dataclass(slots=True)
class _Attempt:
    """One transport's try: a capture, a final result, or why no picture came over it (``missed``, with
    ``waited`` seconds for RTP that never came): the next transport may do better."""

    transport: str
    got: Capture | None = None
    judging: _Judging | None = None
    result: ProbeResult | None = None
    missed: str | None = None
    waited: float = 0.0


async def _attempt(
    camera: Camera,
    password: str | None,
    settings: VideoSettings,
    transport: str,
    deadline: float,
    finish: Callable[[Capture], _Judging | None],
) -> _Attempt:
    started = time.monotonic()
    assert camera.rtsp_url is not None
    relay = DecoderRelay(
        camera.rtsp_url,
        camera.username,
        password,
        transport=transport,
        udp_ports=rtp_udp.ports(settings.udp_ports),
        rtp_wait=settings.rtp_wait,
        deadline=deadline,
    )
    cancel = threading.Event()
    progress = Progress()
    failure: BaseException | None = None
    try:
        async with relay:

            def decode_and_judge() -> tuple[Capture, _Judging | None]:
                got = capture(
                    relay.url, settings=settings, deadline=deadline, cancel=cancel, progress=progress
                )
                return got, finish(got)

            got, judging = await _in_thread(decode_and_judge, max(0.0, deadline - time.monotonic()))
        return _Attempt(transport, got=got, judging=judging)
    except TimeoutError:
        failure = None
    except _PROTOCOL_ERRORS as exc:  # anything else is camwatch's bug: run_probe logs it, internal
        failure = exc
    finally:
        cancel.set()

    def elapsed() -> float:
        return time.monotonic() - started

    def result(status: str, error: str, **more: Any) -> _Attempt:
        found = (NO_VIDEO,) if status == NO_VIDEO else ()
        error = scrub(error, [password])
        return _Attempt(
            transport, result=ProbeResult(NAME, False, status, elapsed(), error=error, faults=found, **more)
        )

    if relay.exhausted is not None:
        log.warning("camera %s: video check could not run: %s", camera.id, relay.exhausted)
        return result(ERROR, f"internal error: {relay.exhausted}", internal=True)
    if relay.transport_refused is not None:
        return _Attempt(transport, missed=relay.transport_refused)
    if relay.no_rtp:
        return _Attempt(transport, missed="no RTP", waited=settings.rtp_wait)
    if relay.refused is not None:
        return result(NO_VIDEO, relay.refused)
    if relay.redirect is not None:
        # Said in the log too: a camera sending its decoder elsewhere is worth a look (hijacked, or
        # re-addressed), and the probe's error alone shows only in `camwatch_probe_success`.
        log.warning("camera %s: video check refused a redirect (%s)", camera.id, relay.redirect)
        return result(ERROR, relay.redirect)
    if isinstance(failure, av.error.DecoderNotFoundError):
        log.warning("camera %s: video check could not decode: %s", camera.id, failure)
        return result(ERROR, f"internal error: no decoder in camwatch's build ({failure})", internal=True)
    if relay.counts.rtp and not progress.pictures and (failure is None or relay.played_at is not None):
        # RTP came, the decoder made nothing of it: garbage, or every frame in error.
        return result(NO_VIDEO, _undecodable(progress, relay.counts.rtp, elapsed()))
    if failure is None:
        return result(TIMEOUT, f"no verdict within {deadline - started:g} s")
    # A camera the relay could not reach: the decoder only saw the relay hang up.
    failed: BaseException = relay.unreachable or failure
    status = _status_of(failed, elapsed(), deadline - started)
    return result(status, relay.as_camera(str(failed)) or type(failed).__name__)


def _undecodable(progress: Progress, packets: int, seconds: float) -> str:
    if progress.decoded:
        return f"undecodable video: {progress.corrupt} of {progress.decoded} frames in error"
    return f"undecodable video: no picture decoded from {packets} RTP packets in {seconds:.0f} s"


def _missed(attempts: list[_Attempt]) -> str:
    """Why no transport brought a picture: ``no RTP in 8 s over TCP or UDP``, ``SETUP refused (461) over
    TCP; no RTP in 4 s over UDP``."""
    if all(a.missed == "no RTP" for a in attempts):
        names = " or ".join(a.transport.upper() for a in attempts)
        return f"no RTP in {sum(a.waited for a in attempts):g} s over {names}"
    return "; ".join(
        f"{a.missed} in {a.waited:g} s over {a.transport.upper()}"
        if a.missed == "no RTP"
        else f"{a.missed} over {a.transport.upper()}"
        for a in attempts
    )


async def probe(camera: Camera, ctx: ProbeContext) -> ProbeResult:
    """Decode ``duration`` seconds of the camera's main stream and report picture faults."""
    settings = cast(VideoSettings, ctx.settings)
    started = time.monotonic()
    if not camera.rtsp_url:
        return ProbeResult(NAME, False, SKIPPED, 0.0, error="camera has no rtsp_url")
    password = camera.password.get_secret_value() if camera.password else None
    deadline = started + ctx.timeout

    def elapsed() -> float:
        return time.monotonic() - started

    # The decoder talks to the camera only through the relay, which holds the login (see decoder_relay).
    try:
        DecoderRelay(camera.rtsp_url, camera.username, password)
    except ValueError as exc:
        return ProbeResult(NAME, False, ERROR, elapsed(), error=f"invalid RTSP URL: {exc}")
    keys = (BASELINE_KEY, SCENE_KEY)
    # When the pictures were taken, at the camera: judged on its local day and night (mono_by_day).
    period = ctx.period(camera)
    # The camera's references, copied on the loop: the decoder thread judges against the copy, and what it
    # learned is written back here. Only this check reads or writes these keys meanwhile (one video check
    # of a camera at a time; the snapshot kind keeps its own keys).
    learned = references.staged(ctx.baselines, camera.id, keys)
    keep_jpeg = ctx.snapshot_sink is not None

    def finish(got: Capture) -> _Judging | None:
        ratio = got.corrupt / got.decoded if got.decoded else 0.0
        if not got.pictures or ratio > MAX_DECODE_ERROR_RATIO:
            return None
        judged = references.judge(
            got.pictures,
            fps=got.fps,
            settings=settings,
            baselines=learned,
            camera_id=camera.id,
            keys=keys,
            alive=got.alive,
            interval=settings.interval,
            decode_error_ratio=ratio,
            lumas=got.lumas,
            period=period,
            motion=got.motion,
        )
        return _Judging(judged, learned, _snapshot(got.pictures[-1]) if keep_jpeg else None)

    missed: list[_Attempt] = []
    attempt: _Attempt | None = None
    for transport in transports(camera, ctx.baselines):
        if missed and time.monotonic() >= deadline:
            break
        attempt = await _attempt(camera, password, settings, transport, deadline, finish)
        if attempt.missed is None:
            break
        missed.append(attempt)
    if attempt is None or attempt.got is None:
        if attempt is not None and attempt.result is not None:
            return dataclasses.replace(attempt.result, duration_seconds=elapsed())
        return ProbeResult(NAME, False, NO_VIDEO, elapsed(), error=_missed(missed), faults=(NO_VIDEO,))
    got = attempt.got
    if camera.transport == "auto" and remembered_transport(camera.id, ctx.baselines) != attempt.transport:
        ctx.baselines.put(camera.id, TRANSPORT_KEY, _TRANSPORT_CODES[attempt.transport])
    ratio = got.corrupt / got.decoded if got.decoded else 0.0
    judging = attempt.judging
    if judging is None:  # nothing to judge: no picture, or too many frames in error
        error = f"undecodable video: {got.corrupt} of {got.decoded} frames in error"
        if not got.decoded:
            error = f"undecodable video: no picture decoded from {got.packets} packets"
        return ProbeResult(
            NAME,
            False,
            NO_VIDEO,
            elapsed(),
            error=error,
            faults=(NO_VIDEO,),
            values={"decode_error_ratio": ratio},
            details={"transport": attempt.transport},
        )

    judging.learned.apply(ctx.baselines)
    judged = judging.judged
    verdict = judged.verdict
    if ctx.snapshot_sink is not None and judging.jpeg is not None:
        ctx.snapshot_sink(camera.id, judging.jpeg, judged.worst)
    values = {
        "fps": verdict.fps,
        "luma": verdict.luma,
        "sharpness": verdict.sharpness,
        "decode_error_ratio": ratio,
    }
    if verdict.sensor_alive is not None:
        values["sensor_alive"] = verdict.sensor_alive
    details: dict[str, Any] = {
        "transport": attempt.transport,
        "codec": got.codec,
        "width": got.width,
        "height": got.height,
        "pictures": len(got.pictures),
    }
    if period is not None:
        details["period"] = period
    compared = verdict.scene_comparison
    if compared is not None:
        details["scene_texture_lost"] = compared.texture_lost
        if compared.match is not None:
            values["scene_match"] = compared.match
    return judged.result(NAME, elapsed(), values, details)
