"""The fault vocabulary: every fault a probe may raise, most severe first, with what it means.

Picture analysis orders its findings by it, ``outcome`` picks the status word and 完好 from it, the exporter
flags it, the alerting rules and the docs read it. A new fault is one entry here (and the probe that raises
it names it in its registry spec).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FaultKind = Literal["picture", "device", "stream"]
Severity = Literal["warning", "info"]


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault.

    ``kind``: a ``picture`` fault makes the picture unusable (the camera is not 完好); a ``device`` fault is a
    flaw of a working camera (flagged in metrics, not counted against 完好); a ``stream`` fault qualifies a
    stream check's result and shows in ``faults`` only. ``severity`` is the severity its alert carries
    (``info``: recorded and shown, ``warning``: pages). ``status``: it may be the camera's status word
    (README contract); the others show in ``faults`` only.
    """

    name: str
    kind: FaultKind
    severity: Severity
    status: bool
    description: str
    # What Hikvision's and Dahua's video-quality diagnosis (VQD) call it, for the README's table and the
    # Chinese report labels.
    vendor_names: tuple[str, ...] = ()


# Most severe first: no picture at all leaves nothing to judge; a frozen picture makes every other
# measure stale; black hides the rest; a covered lens looks uniform and unsharp; a turned camera shows a
# sound picture of the wrong place; a colour cast is the mildest.
FAULTS: tuple[Fault, ...] = (
    Fault(
        "no_video",
        "picture",
        "warning",
        True,
        "the camera answers but no decodable picture arrives: SETUP/PLAY refused, no RTP, undecodable",
        ("取流异常",),
    ),
    Fault(
        "frozen",
        "picture",
        "warning",
        True,
        "the picture does not change: the encoder or sensor hangs",
        ("冻结",),
    ),
    Fault("black", "picture", "warning", True, "the picture is (nearly) black", ("黑屏",)),
    # A recorder's own screen replaces the picture: nothing of the view is left to judge (VQD's faults, up
    # to `flicker`, sit between `black` and `blurred`).
    Fault(
        "signal_lost",
        "picture",
        "warning",
        True,
        "a recorder's own 'no video' screen (flat blue or black, with text) instead of the picture",
        ("信号丢失", "视频丢失"),
    ),
    Fault("corrupted", "picture", "warning", True, "blocky decode damage: frames in error", ("花屏",)),
    Fault(
        "occluded",
        "picture",
        "warning",
        True,
        "most of the picture is one flat region: lens covered",
        ("遮挡",),
    ),
    Fault(
        "tampered", "picture", "warning", False, "the reference scene lost its texture: sprayed", ("遮挡",)
    ),
    Fault(
        "moved",
        "picture",
        "warning",
        False,
        "the view no longer matches the reference: turned",
        ("场景变化", "场景突变"),
    ),
    Fault("too_dark", "picture", "warning", True, "under-exposed, not black", ("亮度异常", "亮度")),
    Fault("too_bright", "picture", "warning", True, "over-exposed, washed out", ("亮度异常", "亮度")),
    Fault(
        "low_contrast", "picture", "warning", True, "a veil over the view: fogged lens", ("对比度", "雾化")
    ),
    Fault(
        "noise", "picture", "warning", True, "heavy sensor or line noise", ("噪点", "雪花", "噪声", "雪花屏")
    ),
    Fault("stripes", "picture", "warning", True, "rolling or fixed interference bands", ("条纹",)),
    Fault("jitter", "picture", "warning", True, "the whole view shakes between frames", ("抖动",)),
    Fault("flicker", "picture", "info", True, "the brightness swings from frame to frame", ("闪频",)),
    Fault(
        "blurred",
        "picture",
        "warning",
        True,
        "the picture is out of focus, dirty or fogged",
        ("模糊", "清晰度异常"),
    ),
    Fault(
        "color_cast",
        "picture",
        "info",
        True,
        "one colour dominates: a failed IR filter or white balance",
        ("偏色",),
    ),
    # The camera's day/night switch (ICR) stuck: a usable picture (完好), in the wrong mode for the hour.
    Fault(
        "mono_by_day",
        "device",
        "info",
        False,
        "black and white in daylight, or colour with heavy noise at night: the day/night switch is stuck",
        ("ICR异常", "黑白"),
    ),
    # Recording faults (录像完整性): the camera still works (完好); its footage is not being kept. A failed
    # disk loses every channel's footage, a stopped recording this camera's, short retention the oldest
    # days, a gap minutes.
    Fault(
        "storage_fault",
        "device",
        "warning",
        False,
        "a disk of the camera's recorder failed, is unformatted, read-only or full",
    ),
    Fault("recording_stopped", "device", "warning", False, "the newest footage is older than stopped_after"),
    Fault("retention_short", "device", "warning", False, "the recorder keeps less footage than its target"),
    Fault("recording_gaps", "device", "warning", False, "the footage of the last 24 h has gaps"),
    Fault("clock_skew", "device", "info", False, "the camera clock is off: recorded video times are wrong"),
    Fault("not_found", "stream", "info", False, "the stream path does not exist on the camera (404)"),
    Fault("main_stream_down", "stream", "info", False, "the main stream fails while another stream answers"),
    # Named after the failing stream's role: ``sub_stream_down``, ``third_stream_down``, ...
    Fault("sub_stream_down", "stream", "info", False, "a stream other than the main one fails"),
)
BY_NAME = {f.name: f for f in FAULTS}
PICTURE_FAULTS = tuple(f.name for f in FAULTS if f.kind == "picture")
# Faults exported as ``camwatch_video_fault`` flags (stream faults qualify ``camwatch_stream_up`` instead).
FLAGGED_FAULTS = tuple(f.name for f in FAULTS if f.kind != "stream")
STATUS_FAULTS = tuple(f.name for f in FAULTS if f.status)
# Faults judged on a picture (video and snapshot checks): the picture faults and the day/night switch's.
JUDGED_ON_PICTURE = (*PICTURE_FAULTS, "mono_by_day")
# Subtle faults, which one odd picture can show: raised by default only when found on two checks in a row
# (``monitor.video.confirm``, ``config.models.DEFAULT_CONFIRM``), as the VQD servers confirm them.
CONFIRMED_TWICE = (
    "corrupted", "too_dark", "too_bright", "low_contrast", "noise", "stripes", "jitter", "flicker",
    "mono_by_day",
)  # fmt: skip
# The classes of the video-quality-diagnosis (VQD) servers judged beside the first picture checks (issue 26).
VQD_FAULTS = ("signal_lost", *CONFIRMED_TWICE)
if unknown := [f for f in VQD_FAULTS if f not in JUDGED_ON_PICTURE]:
    raise ValueError(f"VQD faults not judged on a picture: {unknown}")


def ordered(found: set[str] | frozenset[str]) -> tuple[str, ...]:
    """``found`` most severe first (the order of ``FAULTS``)."""
    return tuple(f.name for f in FAULTS if f.name in found)
