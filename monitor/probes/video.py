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
import numpy as np

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

log = logging.getLogger(__name__)
CAPTURE_THREAD = "camwatch-video"  # the decoder threads' name, for a stopping service to wait on

NAME = "video"
BASELINE_KEY = "sharpness"
SCENE_KEY = "scene"
_SNAPSHOT_QUALITY = 80
# Sensor life from consecutive frames after a keyframe. The first is left out (an encoder spends it
# refining the keyframe); of the frame pairs that follow, two not alive mean a frozen source (an encoder
# refining a frozen picture changes it only in bursts), four alive with at most one not a live sensor
# (one repeated frame, from a frame-rate converter, is forgiven). Five pairs always decide.
_ALIVE_SKIP, _DEAD_PAIRS, _LIVE_PAIRS = 1, 2, 4
# Sensor life is measured on every n-th pixel of the luma plane, n chosen to bring it near this width:
# subsampling (not averaging) keeps the per-pixel noise that averaging would cancel.
_ALIVE_WIDTH = 640
# Consecutive frames after the first keyframe whose mean luma is taken for ``flicker`` (a swing from frame
# to frame) and whose grey picture is judged for ``jitter`` (a shake seen from frame to frame, not only
# between keyframes a second apart); decoded whatever the keyframes show, at the cost of a few P-frames.
_BURST_FRAMES = 6
_PLANAR_8BIT = frozenset({"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12"})
NO_VIDEO = "no_video"
# Where the transport that last brought a picture is remembered (``ctx.baselines``: memory and the state
# database), as a number: the store keeps numbers and scene references.
TRANSPORT_KEY = "rtp_transport"
_TRANSPORT_CODES = {"tcp": 0.0, "udp": 1.0}
# More than this share of the decoded frames in error and the picture is unusable: ``no_video``.
MAX_DECODE_ERROR_RATIO = 0.5


@dataclass(slots=True)
class Progress:
    """What the decoder made of the stream so far (read by the probe while the capture thread runs)."""

    packets: int = 0
    decoded: int = 0  # frames (and packets the decoder refused) the decoder was given to decode
    corrupt: int = 0  # of those, frames in error or packets refused
    pictures: int = 0

    @property
    def error_ratio(self) -> float:
        return self.corrupt / self.decoded if self.decoded else 0.0


@dataclass(frozen=True, slots=True)
class Capture:
    """Pictures analysed from one window of a stream, the stream's frame rate and what it carried."""

    pictures: tuple[analysis.Picture, ...]
    fps: float
    codec: str
    width: int
    height: int
    alive: float | None = None
    lumas: tuple[float, ...] = ()
    motion: tuple[tuple[float, np.ndarray], ...] = ()
    decoded: int = 0
    corrupt: int = 0
    packets: int = 0


class StreamEnded(Exception):
    """The stream ended before it brought a packet with a time."""


class StreamTimeout(Exception):
    """The stream did not deliver a full window within the probe's time."""


class _Watch:
    """Decodes one window of packets as they arrive and keeps the pictures worth analysing.

    Keyframes are decoded alone: every other frame is kept from the decoder (and skipped by it without
    reconstruction when handed over with frames that were wanted). When the last keyframe lies more than
    ``frozen_seconds`` back (a long GOP), the frames since it are decoded in full from then on, one picture
    every quarter of ``frozen_seconds``. The window ends after ``duration`` seconds, or earlier once the
    frozen verdict is settled either way.
    """

    def __init__(self, stream: Any, settings: VideoSettings, progress: Progress | None = None) -> None:
        self.stream = stream
        self.settings = settings
        self.progress = progress or Progress()
        self.pictures: list[analysis.Picture] = []
        self.stamps: list[float] = []
        self.tracker = analysis.StillTracker(settings.frozen_tolerance)
        self._gop: list[Any] = []  # packets since the last keyframe, kept to decode them in full if need be
        self._start: float | None = None
        self._full = False
        self._tainted = False  # the last keyframe was in error: the frames predicted from it are too
        self._next_sample = 0.0
        self._codec = stream.codec_context
        self._codec.skip_frame = "NONKEY"
        self._skipped = 0
        self._last_luma: Any = None
        self._pairs: list[float] = []  # sensor life of consecutive frame pairs
        self._lit = False  # whether the newest picture is above black, measured once per picture
        self.alive: float | None = None
        self.lumas: list[float] = []  # mean luma of the frames that follow the first keyframe
        self.motion: list[tuple[float, np.ndarray]] = []  # and their grey pictures, with their PTS
        # A float once: Fraction arithmetic on every packet costs more than the rest of the bookkeeping.
        self._time_base = float(stream.time_base)

    def _seconds(self, pts: int) -> float:
        return pts * self._time_base

    def add(self, packet: Any) -> bool:
        """Take one packet; return whether the window is complete."""
        t = self._seconds(packet.pts)
        self.stamps.append(t)
        self.progress.packets += 1
        if packet.is_keyframe:
            self._gop = []
            self._start = t if self._start is None else self._start
        if self._start is None:
            return False  # nothing before the first keyframe can be decoded
        self._gop.append(packet)
        # A frame nobody needs is not even handed to the decoder (its slices would only be parsed to be
        # skipped); the GOP keeps it in case the frames since the keyframe must be decoded in full.
        wanted = packet.is_keyframe or self._full or self._measuring or self._bursting
        feed = [packet] if wanted else []
        if not self._full and t - self._seconds(self._gop[0].pts) > self.settings.frozen_seconds:
            self._full, feed = True, self._gop
            self._codec.skip_frame = "DEFAULT"
        if self._measuring or self._bursting:
            self._codec.skip_frame = "DEFAULT"
        for each in feed:
            self._take(self._decode(each))
        if not self._measuring and not self._full and not self._bursting:
            self._codec.skip_frame = "NONKEY"
        return t - self._start >= self.settings.duration or self._settled()

    @property
    def _bursting(self) -> bool:
        """Whether consecutive frames are still wanted for ``flicker``."""
        return len(self.lumas) < _BURST_FRAMES

    @property
    def _measuring(self) -> bool:
        """Whether consecutive frames are wanted for sensor life: once, when the keyframes alone found the
        picture still (a moving scene never pays for it), or while a long GOP is decoded in full."""
        if self.alive is not None:
            return False
        if not self._lit:
            return False  # nothing to measure yet, or a black picture, which is never judged frozen
        return self._full or (len(self.pictures) >= 2 and self.tracker.longest > 0)

    def finish(self) -> None:
        """Drain frames the decoder still holds; ``StreamEnded`` when the stream ended before its first
        packet (the relay hung up: no RTP, a refused SETUP)."""
        if self._start is None:
            raise StreamEnded("the stream ended before its first picture")
        self._take(self._decode(None))

    def _decode(self, packet: Any) -> Any:
        """The packet's frames; a packet the decoder refuses counts as a frame in error (花屏, garbage)."""
        try:
            return self._codec.decode(packet)
        except av.error.InvalidDataError:
            self.progress.decoded += 1
            self.progress.corrupt += 1
            self._tainted = self._tainted or bool(getattr(packet, "is_keyframe", False))
            return ()

    def _settled(self) -> bool:
        if self.alive is not None and self.alive >= analysis.ALIVE_SHARE:
            return True  # a live sensor is never frozen
        if self._measuring:
            return False
        seconds = self.settings.frozen_seconds
        return self.tracker.longest >= seconds or not self.tracker.can_reach(seconds, self.settings.duration)

    def _follow_sensor(self, frame: Any) -> None:
        """Measure sensor life between consecutive frames while wanted, until the pairs decide."""
        if frame.key_frame or not self._measuring:
            return
        if self._skipped < _ALIVE_SKIP:
            self._skipped += 1
            return
        luma = _sensor_luma(frame)
        if self._last_luma is not None:
            self._pairs.append(analysis.sensor_alive(self._last_luma, luma))
        self._last_luma = luma
        live = sum(pair >= analysis.ALIVE_SHARE for pair in self._pairs)
        if len(self._pairs) - live >= _DEAD_PAIRS or live >= _LIVE_PAIRS:
            # The second-least alive pair: below ALIVE_SHARE exactly when two pairs were not alive.
            self.alive = sorted(self._pairs)[1]

    def _take(self, frames: Any) -> None:
        assert self._start is not None
        for frame in frames:
            if frame.pts is None:
                continue
            self.progress.decoded += 1
            if frame.key_frame:
                self._tainted = bool(frame.is_corrupt)
            if frame.is_corrupt or self._tainted:
                # Judged on the frames that decoded whole; how many did not is the decode error ratio. A frame
                # predicted from a keyframe in error carries the error on (the decoder does not flag it).
                self.progress.corrupt += 1
                continue
            self._follow_sensor(frame)
            t = self._seconds(frame.pts) - self._start
            if self._bursting:
                self.lumas.append(float(_sensor_luma(frame).mean()))
                self.motion.append((t, _motion_view(frame)))
            newest = self.pictures[-1].pts if self.pictures else -1.0
            if t <= newest or (not frame.key_frame and t < self._next_sample):
                continue
            self._next_sample = t + self.settings.frozen_seconds / 4
            small = frame.reformat(
                width=analysis.ANALYSIS_WIDTH,
                height=analysis.ANALYSIS_HEIGHT,
                format="bgr24",
                interpolation="AREA",
            )
            pic = analysis.picture(small.to_ndarray(), t)
            self.pictures.append(pic)
            self.progress.pictures += 1
            self._lit = analysis.luma(pic) >= self.settings.black_luma
            self.tracker.add(pic)

    @property
    def fps(self) -> float:
        """Frames over the PTS span of every packet seen, those before the first keyframe included."""
        span = max(self.stamps) - min(self.stamps) if self.stamps else 0.0
        return (len(self.stamps) - 1) / span if span > 0 else 0.0


def _sensor_luma(frame: Any) -> Any:
    """The frame's luma as sensor life samples it (``analysis.sensor_sample``), read straight from the
    decoder's plane when it is 8-bit planar YUV (no colour conversion of the full frame); a copy, as the
    decoder reuses its buffers."""
    if frame.format.name in _PLANAR_8BIT:
        plane = frame.planes[0]
        luma = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)[:, : plane.width]
    else:
        luma = frame.to_ndarray(format="gray")
    return analysis.sensor_sample(luma, _ALIVE_WIDTH).copy()


def _motion_view(frame: Any) -> np.ndarray:
    """The frame's grey picture at the analysis size, from its luma plane where it is 8-bit planar YUV (no
    colour conversion): all that ``jitter`` compares."""
    if frame.format.name in _PLANAR_8BIT:
        plane = frame.planes[0]
        luma = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)[:, : plane.width]
    else:
        luma = frame.to_ndarray(format="gray")
    size = (analysis.ANALYSIS_WIDTH, analysis.ANALYSIS_HEIGHT)
    return cast(np.ndarray, cv2.resize(luma, size, interpolation=cv2.INTER_AREA))


def capture(
    url: str,
    *,
    settings: VideoSettings,
    deadline: float,
    cancel: threading.Event,
    progress: Progress | None = None,
) -> Capture:
    """Decode one window of ``url`` (blocking). Raises PyAV errors or ``StreamTimeout``."""
    io_timeout = max(0.1, deadline - time.monotonic())
    options = {
        # Always interleaved to the relay, whatever the relay asks the camera for.
        "rtsp_transport": "tcp",
        # Only the picture is wanted: no SETUP (and no UDP ports) for an audio track.
        "allowed_media_types": "video",
        "timeout": str(int(io_timeout * 1_000_000)),
        # The SDP already names the codec; probing would receive and decode seconds of frames only to
        # throw them away.
        "analyzeduration": "0",
        "probesize": "32",
        # Nor decode a frame while probing: the stream's decoder decodes what it needs from the packets,
        # which probing keeps for it (a 720p keyframe decoded only to be dropped is a sixth of a check).
        "skip_frame": "all",
    }
    with av.open(url, options=options, timeout=(io_timeout, io_timeout)) as container:
        stream = container.streams.video[0]
        # Decoder threads would only add overhead for the few frames decoded.
        stream.thread_type = "NONE"
        watch = _Watch(stream, settings, progress)
        for packet in container.demux(stream):
            if cancel.is_set() or time.monotonic() > deadline:
                raise StreamTimeout(f"no {settings.duration:g} s of video within the probe timeout")
            if packet.pts is not None and watch.add(packet):
                break
        watch.finish()
        ctx = stream.codec_context
        done = watch.progress
        return Capture(
            tuple(watch.pictures),
            watch.fps,
            ctx.name,
            ctx.width,
            ctx.height,
            watch.alive,
            tuple(watch.lumas),
            tuple(watch.motion),
            done.decoded,
            done.corrupt,
            done.packets,
        )


# What a capture fails with because of the camera or the network: FFmpeg's errors (refused, unauthorised,
# invalid data), a stream too slow or ended early, sockets'.
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
