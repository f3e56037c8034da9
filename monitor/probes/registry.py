"""Probe kinds by name, each described once: adding a protocol = one new module + one entry here.

The scheduler, one-shot sweeps, ``/probe?module=``, config tiers (``MonitorSettings.schedule``), the camera
outcome and the exporter all read ``SPECS``; none of them names a probe kind. A kind's module is imported when
it first runs, so reading the specs (reports, rules) does not load decoders.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from camwatch.config.models import (
    Camera,
    OnvifSettings,
    ProbeSchedule,
    RecordingSettings,
    RtspSettings,
    SnapshotSettings,
    VideoSettings,
)
from camwatch.monitor.faults import BY_NAME, PICTURE_FAULTS
from camwatch.monitor.probes.base import ProbeContext, ProbeFn, ProbeResult


@dataclass(frozen=True, slots=True)
class Value:
    """A measured value a probe reports (``ProbeResult.values``): its metric name and help."""

    metric: str
    doc: str


# Every value any probe exports, in exposition order; a spec names those its probe reports.
VALUES: dict[str, Value] = {
    "fps": Value("camwatch_video_fps", "Frames per second measured on the stream."),
    "luma": Value("camwatch_video_luma", "Mean luma (0-255) of the analysed frames."),
    "sharpness": Value(
        "camwatch_video_sharpness",
        "Median over textured blocks of Laplacian energy per unit of grey-level variance (x1000).",
    ),
    "scene_match": Value(
        "camwatch_video_scene_match", "How well the picture matches the camera's reference view (0-1)."
    ),
    "clock_offset_seconds": Value("camwatch_onvif_clock_offset_seconds", "Camera clock minus monitor clock."),
    "snapshot_luma": Value("camwatch_snapshot_luma", "Mean luma (0-255) of the camera's still picture."),
    "snapshot_sharpness": Value(
        "camwatch_snapshot_sharpness",
        "Still picture: median over textured blocks of Laplacian energy per unit of grey-level variance.",
    ),
    "snapshot_scene_match": Value(
        "camwatch_snapshot_scene_match", "How well the still picture matches the reference view (0-1)."
    ),
    "snapshot_bytes": Value("camwatch_snapshot_bytes", "Size of the camera's last JPEG still picture."),
    "decode_error_ratio": Value(
        "camwatch_video_decode_error_ratio", "Share of the decoded frames that were in error (0-1)."
    ),
    "recording_retention_seconds": Value(
        "camwatch_recording_retention_seconds", "Age of the oldest footage the recorder keeps (its clock)."
    ),
    "recording_seconds_24h": Value(
        "camwatch_recording_seconds_24h", "Seconds of footage recorded in the last 24 hours."
    ),
    "recording_last_age_seconds": Value(
        "camwatch_recording_last_age_seconds", "Age of the end of the newest footage (recorder's clock)."
    ),
    "recording_gaps_24h": Value(
        "camwatch_recording_gaps_24h", "Gaps longer than monitor.recording.gap in the last 24 hours."
    ),
    "recording_retention_target_seconds": Value(
        "camwatch_recording_retention_target_seconds",
        "The camera's retention target (monitor.recording.retention, by site category and area).",
    ),
}


@dataclass(frozen=True, slots=True)
class ProbeSpec:
    """Everything the monitor knows about one probe kind.

    ``settings``: its settings model, configured as ``monitor.<name>`` and ``monitor.tiers.<tier>.<name>``.
    ``applies``: whether a camera has what the probe needs. ``liveness``: it may decide whether a camera is
    up; the first applicable such kind (in ``SPECS`` order) does. ``gate``: the ``MonitorSettings`` field
    bounding how many run at once; a gated kind runs after the round's liveness is recorded, never holding
    it up. ``needs_up``: it runs only when this round's liveness probe passed. ``faults``: what it may raise
    (names from ``camwatch.monitor.faults``). ``values``: keys of ``VALUES`` it reports.
    """

    name: str
    settings: type[ProbeSchedule]
    applies: Callable[[Camera], bool]
    liveness: bool = False
    gate: str | None = None
    needs_up: bool = False
    faults: tuple[str, ...] = ()
    values: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        unknown = [f for f in self.faults if f not in BY_NAME] + [v for v in self.values if v not in VALUES]
        if unknown:
            raise ValueError(f"probe {self.name}: not in the fault or value vocabulary: {unknown}")

    @property
    def probe(self) -> ProbeFn:
        """The kind's ``async def probe(camera, ctx)``: ``camwatch.monitor.probes.<name>.probe``."""
        return _lazy(self.name)


def _lazy(module: str) -> ProbeFn:
    async def probe(camera: Camera, ctx: ProbeContext) -> ProbeResult:
        fn: ProbeFn = importlib.import_module(f"camwatch.monitor.probes.{module}").probe
        return await fn(camera, ctx)

    return probe


# In the order a round runs them: cheap checks first.
SPECS: tuple[ProbeSpec, ...] = (
    ProbeSpec(
        "rtsp",
        RtspSettings,
        lambda c: bool(c.all_streams()),
        liveness=True,
        faults=("not_found", "main_stream_down", "sub_stream_down"),
    ),
    ProbeSpec(
        "onvif",
        OnvifSettings,
        lambda c: bool(c.onvif_host),
        liveness=True,
        faults=("clock_skew",),
        values=("clock_offset_seconds",),
    ),
    ProbeSpec(
        "snapshot",
        SnapshotSettings,
        lambda c: bool(c.snapshot_url),
        liveness=True,
        gate="snapshot_concurrency",
        needs_up=True,
        faults=PICTURE_FAULTS,
        values=("snapshot_luma", "snapshot_sharpness", "snapshot_scene_match", "snapshot_bytes"),
    ),
    ProbeSpec(
        "video",
        VideoSettings,
        lambda c: bool(c.all_streams()),
        gate="video_concurrency",
        needs_up=True,
        faults=PICTURE_FAULTS,
        values=("fps", "luma", "sharpness", "scene_match", "decode_error_ratio"),
    ),
    ProbeSpec(
        "recording",
        RecordingSettings,
        lambda c: c.recorder is not None,
        gate="recording_concurrency",
        faults=("storage_fault", "recording_stopped", "retention_short", "recording_gaps"),
        values=(
            "recording_retention_seconds",
            "recording_seconds_24h",
            "recording_last_age_seconds",
            "recording_gaps_24h",
            "recording_retention_target_seconds",
        ),
    ),
)
SPEC = {s.name: s for s in SPECS}
# name -> probe function; tests may add a kind here.
PROBES: dict[str, ProbeFn] = {s.name: s.probe for s in SPECS}


def applicable(camera: Camera) -> tuple[str, ...]:
    """Probe kinds that make sense for this camera, in the order they run."""
    return tuple(s.name for s in SPECS if s.applies(camera))


def liveness_probe(camera: Camera) -> str | None:
    """The kind that decides whether a camera is up: its stream if it has one, else its ONVIF service, else
    its still picture."""
    return next((s.name for s in SPECS if s.liveness and s.applies(camera)), None)
