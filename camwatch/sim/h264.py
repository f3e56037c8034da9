"""Short looping H.264 clips of each simulated picture kind, encoded once, packetised for RTP (RFC 6184)."""

from __future__ import annotations

import base64
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from typing import Literal, get_args

import av
import cv2
import numpy as np

Picture = Literal["live", "clock", "frozen", "black", "blurred", "occluded", "color_cast"]
PICTURES: tuple[str, ...] = get_args(Picture)

RTP_CLOCK = 90_000
PAYLOAD_TYPE = 96
# Largest RTP payload; keeps packets under a typical Ethernet MTU as a camera would.
MAX_PAYLOAD = 1400
_NAL_SEI, _NAL_SPS, _NAL_PPS, _NAL_FU_A = 6, 7, 8, 28
_START_CODE = re.compile(b"\x00\x00\x01")


@dataclass(frozen=True, slots=True)
class Clip:
    """One encoded loop: per frame, the RTP payloads (single NAL units or FU-A fragments) in send order."""

    picture: str
    width: int
    height: int
    fps: int
    frames: tuple[tuple[bytes, ...], ...]
    sps: bytes
    pps: bytes

    @property
    def ticks_per_frame(self) -> int:
        return RTP_CLOCK // self.fps

    @property
    def sprop_parameter_sets(self) -> str:
        return b",".join(base64.b64encode(n) for n in (self.sps, self.pps)).decode()

    @property
    def profile_level_id(self) -> str:
        return self.sps[1:4].hex().upper()

    def interleaved(self, frame_number: int, *, seq: int, ssrc: int, channel: int = 0) -> tuple[bytes, int]:
        """RTP packets of frame ``frame_number`` (counting on across loops) in RTSP ``$`` framing.

        Returns the bytes and the next sequence number; the RTP timestamp follows ``frame_number``, so it
        keeps advancing when the clip starts over.
        """
        payloads = self.frames[frame_number % len(self.frames)]
        timestamp = (frame_number * self.ticks_per_frame) & 0xFFFFFFFF
        last = len(payloads) - 1
        out = []
        for i, payload in enumerate(payloads):
            marker = 0x80 if i == last else 0
            out.append(
                struct.pack(
                    "!cBHBBHII",
                    b"$",
                    channel,
                    12 + len(payload),
                    0x80,
                    marker | PAYLOAD_TYPE,
                    seq & 0xFFFF,
                    timestamp,
                    ssrc,
                )
            )
            out.append(payload)
            seq += 1
        return b"".join(out), seq


def packetise(nal: bytes, *, max_payload: int = MAX_PAYLOAD) -> list[bytes]:
    """RTP payloads for one NAL unit: the unit itself if it fits, else FU-A fragments (RFC 6184 5.8)."""
    if len(nal) <= max_payload:
        return [nal]
    indicator = (nal[0] & 0xE0) | _NAL_FU_A
    kind = nal[0] & 0x1F
    body = nal[1:]
    step = max_payload - 2
    chunks = [body[i : i + step] for i in range(0, len(body), step)]
    last = len(chunks) - 1
    return [
        bytes((indicator, (0x80 if i == 0 else 0) | (0x40 if i == last else 0) | kind)) + chunk
        for i, chunk in enumerate(chunks)
    ]


def split_annex_b(data: bytes) -> list[bytes]:
    """NAL units of an Annex B byte stream, without start codes."""
    # A NAL unit never ends in a zero byte, so zeros before a start code belong to the (4-byte) start code.
    return [unit.rstrip(b"\x00") for unit in _START_CODE.split(data) if unit.strip(b"\x00")]


# Temporal noise of the simulated static camera's sensor (grey levels, standard deviation).
_SENSOR_NOISE = 6.0


def _scene(width: int, height: int) -> np.ndarray:
    """A static, sharp street-like scene (RGB): sky, facades with windows, road with lane marks."""
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    img = np.broadcast_to(np.array([150, 190, 235], np.float32) * (1.1 - 0.4 * y), (height, width, 3)).copy()
    rng = np.random.default_rng(7)
    horizon = int(height * 0.62)
    x = 0
    while x < width:
        w = int(rng.integers(width // 10, width // 5))
        top = int(rng.integers(height // 8, horizon - height // 6))
        colour = rng.integers(60, 200, 3)
        img[top:horizon, x : x + w] = colour
        for wy in range(top + 4, horizon - 6, 9):
            for wx in range(x + 3, min(x + w, width) - 4, 8):
                img[wy : wy + 5, wx : wx + 4] = (30, 40, 60) if rng.random() < 0.6 else (240, 230, 150)
        x += w + 2
    img[horizon:] = (70, 70, 75)
    lane = horizon + (height - horizon) // 2
    for lx in range(0, width, 24):
        img[lane : lane + 2, lx : lx + 12] = 235
    return img.clip(0, 255).astype(np.uint8)


def render(picture: str, *, width: int, height: int, fps: int, count: int) -> Iterator[np.ndarray]:
    """The raw RGB frames of a picture kind (what the simulated camera "sees")."""
    scene = _scene(width, height)
    for i in range(count):
        t = i / fps
        if picture in ("frozen", "clock"):
            frame = scene.copy()
        else:
            # Whole-frame motion (a slow pan) plus a car crossing: never judged frozen.
            frame = np.roll(scene, int(t * width / 4), axis=1)
            car_x = int((t * width / 2) % width)
            top = int(height * 0.8)
            cv2.rectangle(frame, (car_x, top), (car_x + width // 8, top + height // 10), (200, 30, 30), -1)
        if picture == "clock":
            # A static scene whose on-screen clock ticks once a second over a live sensor's noise: live, must
            # not be judged frozen (a picture whose only change is the clock is a hung ISP: ``frozen``).
            noise = np.random.default_rng(i).normal(0, _SENSOR_NOISE, frame.shape)
            frame = (frame + noise).clip(0, 255).astype(np.uint8)
            stamp = f"2026-01-01 12:{int(t) // 60:02d}:{int(t) % 60:02d}"
            cv2.rectangle(frame, (4, 4), (4 + width // 2, 4 + height // 9), (0, 0, 0), -1)
            cv2.putText(
                frame, stamp, (8, 2 + height // 9), cv2.FONT_HERSHEY_SIMPLEX, height / 500, (255,) * 3
            )
        elif picture == "black":
            frame = (frame * 0.04).astype(np.uint8)
        elif picture == "blurred":
            frame = cv2.GaussianBlur(frame, (0, 0), sigmaX=width / 40)
        elif picture == "occluded":
            # Something over the lens: most of the picture one flat colour, a sliver of scene below.
            frame[: int(height * 0.8)] = (96, 84, 70)
        elif picture == "color_cast":
            frame = (
                (frame * np.array([1.0, 0.3, 0.25], np.float32) + (70, 0, 0)).clip(0, 255).astype(np.uint8)
            )
        yield frame


@cache
def clip(picture: str, *, width: int = 320, height: int = 180, fps: int = 12, seconds: int = 6) -> Clip:
    """Encode (once per argument set) a looping clip of ``picture``, with a keyframe every second."""
    if picture not in PICTURES:
        raise ValueError(f"unknown picture {picture!r}; expected one of {', '.join(PICTURES)}")
    if RTP_CLOCK % fps:
        raise ValueError(f"fps must divide {RTP_CLOCK}, got {fps}")
    codec = av.CodecContext.create("libx264", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
    codec.time_base, codec.framerate = Fraction(1, fps), Fraction(fps, 1)
    codec.gop_size = fps
    # Keyframes at QP ~26 (ipratio lowers the keyframe QP). A frozen camera repeats one picture exactly: its
    # P-frames at the top QP code nothing (all skip), so every decoded frame is identical to the keyframe.
    qp, ipratio = (51, 17.9) if picture == "frozen" else (26, 1.4)
    codec.options = {
        "preset": "ultrafast",
        "tune": "zerolatency",
        "qp": str(qp),
        "x264-params": f"repeat-headers=1:threads=1:keyint-min={fps}:ipratio={ipratio}",
    }
    packets: list[av.Packet] = []
    for i, rgb in enumerate(render(picture, width=width, height=height, fps=fps, count=fps * seconds)):
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
        frame.pts = i
        packets.extend(codec.encode(frame))
    packets.extend(codec.encode(None))
    frames: list[tuple[bytes, ...]] = []
    params: dict[int, bytes] = {}
    for packet in packets:
        nals = [n for n in split_annex_b(bytes(packet)) if n[0] & 0x1F != _NAL_SEI]
        for nal in nals:
            params.setdefault(nal[0] & 0x1F, nal)
        frames.append(tuple(p for nal in nals for p in packetise(nal)))
    return Clip(picture, width, height, fps, tuple(frames), params[_NAL_SPS], params[_NAL_PPS])


@cache
def stills(picture: str, *, width: int = 640, height: int = 360, count: int = 29) -> tuple[bytes, ...]:
    """JPEG still pictures (once per argument set) of ``picture``, a quarter of a second apart (looping after
    ``count``: 7.25 s by default), as a camera's snapshot URL serves them: a live view changes between two of
    them, a frozen one does not."""
    if picture not in PICTURES:
        raise ValueError(f"unknown picture {picture!r}; expected one of {', '.join(PICTURES)}")
    out = []
    for rgb in render(picture, width=width, height=height, fps=4, count=count):
        ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
        if not ok:
            raise ValueError("JPEG encoding failed")
        out.append(jpeg.tobytes())
    return tuple(out)
