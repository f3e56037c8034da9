"""Decoding a camera's stream for the video probe, in a thread of its own: keyframes compared for a still
picture, a burst of consecutive frames for sensor life, flicker and jitter, bounded in time and frames.

The probe (:mod:`camwatch.monitor.probes.video`) runs :func:`capture` against its in-process relay and judges
what it returns; this module knows nothing of cameras, transports or verdicts.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, cast

import av
import av.error
import cv2
import numpy as np

from camwatch.config.models import VideoSettings
from camwatch.monitor.picture import analysis

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
