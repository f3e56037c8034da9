"""Status kinds by name, each described once: adding a protocol = one new module + one entry here.

Two sorts of kind: probes the monitor polls (``SPECS``: scheduled, one module each under ``probes/``) and
sources that report in (``SOURCES``: GB/T 28181 registrations, keepalives and catalogs; their results arrive
when the device speaks). ``KINDS`` holds both. The scheduler, one-shot sweeps, ``/probe?module=``, config
tiers (``MonitorSettings.schedule``), the camera outcome, the tracker, the service and the exporter all read
them; none of them names a kind. A camera's ``Plan`` (which kinds apply, which decides whether it is up) is
derived from them once per inventory. A kind's module is imported when it first runs, so reading the specs
(reports, rules) does not load decoders.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from camwatch.config.models import (
    Camera,
    Config,
    OnvifSettings,
    ProbeSchedule,
    RecordingSettings,
    RtspSettings,
    SnapshotSettings,
    VideoSettings,
)
from camwatch.monitor.faults import BY_NAME, JUDGED_ON_PICTURE
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


# Result details the exporter writes as families of their own (``ProbeSpec.exports``).
EXPORTS = {
    "streams": "details['streams']: stream role -> status, as camwatch_stream_up",
    "disks": "details['recorder'] and details['disks']: the recorder's disks, as camwatch_recorder_disk_*",
}


@dataclass(frozen=True, slots=True)
class ProbeSpec:
    """Everything the monitor knows about one status kind (a polled probe or a source that reports in).

    ``settings``: its settings model, configured as ``monitor.<name>`` and ``monitor.tiers.<tier>.<name>``.
    ``applies``: whether a camera has what the probe needs. ``liveness``: it may decide whether a camera
    is up; the first applicable such kind (in ``SPECS`` then ``SOURCES`` order) does. ``gate``: the
    ``MonitorSettings`` field bounding how many run at once; a gated kind runs after the round's liveness
    is recorded, never holding it up. ``needs_up``: it runs only when this round's liveness probe passed.
    ``faults``: what it may raise (names from ``camwatch.monitor.faults``). ``values``: keys of
    ``VALUES`` it reports. ``reports_in``: a source whose results arrive when the device speaks (no
    schedule, no probe function); ``configured`` says whether a config runs it. ``debounced_at_source``:
    its results are already debounced (offline only after missed keepalives), so the tracker takes them
    as they come. ``exports``: keys of ``EXPORTS``, the result details the exporter turns into series of
    their own. ``identity``: its details carry the device's identity (serial, firmware, clock) that
    ``monitor.identity`` follows.
    """

    name: str
    settings: type[ProbeSchedule] | None
    applies: Callable[[Camera], bool]
    liveness: bool = False
    gate: str | None = None
    needs_up: bool = False
    faults: tuple[str, ...] = ()
    values: tuple[str, ...] = ()
    reports_in: bool = False
    configured: Callable[[Config], bool] | None = None
    debounced_at_source: bool = False
    exports: tuple[str, ...] = ()
    identity: bool = False

    def __post_init__(self) -> None:
        unknown = [f for f in self.faults if f not in BY_NAME] + [v for v in self.values if v not in VALUES]
        unknown += [e for e in self.exports if e not in EXPORTS]
        if unknown:
            raise ValueError(f"probe {self.name}: not in the fault, value or export vocabulary: {unknown}")
        if self.reports_in != (self.settings is None) or self.reports_in != (self.configured is not None):
            raise ValueError(f"{self.name}: a source that reports in has no settings and says when it runs")

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
        lambda c: "streams" in c.addresses,
        liveness=True,
        faults=("not_found", "main_stream_down", "sub_stream_down"),
        exports=("streams",),
    ),
    ProbeSpec(
        "onvif",
        OnvifSettings,
        lambda c: "onvif_host" in c.addresses,
        liveness=True,
        faults=("clock_skew",),
        values=("clock_offset_seconds",),
        identity=True,
    ),
    ProbeSpec(
        "snapshot",
        SnapshotSettings,
        lambda c: "snapshot_url" in c.addresses,
        liveness=True,
        gate="snapshot_concurrency",
        needs_up=True,
        faults=JUDGED_ON_PICTURE,
        values=("snapshot_luma", "snapshot_sharpness", "snapshot_scene_match", "snapshot_bytes"),
    ),
    ProbeSpec(
        "video",
        VideoSettings,
        lambda c: "streams" in c.addresses,
        gate="video_concurrency",
        needs_up=True,
        faults=JUDGED_ON_PICTURE,
        values=("fps", "luma", "sharpness", "scene_match", "decode_error_ratio"),
    ),
    ProbeSpec(
        "recording",
        RecordingSettings,
        # A GB/T 28181 channel's recorder is the device owning it (skipped while no platform runs).
        lambda c: c.recorder is not None or "gb_id" in c.addresses,
        gate="recording_concurrency",
        faults=("storage_fault", "recording_stopped", "retention_short", "recording_gaps"),
        values=(
            "recording_retention_seconds",
            "recording_seconds_24h",
            "recording_last_age_seconds",
            "recording_gaps_24h",
            "recording_retention_target_seconds",
        ),
        exports=("disks",),
    ),
)
# Sources that report in, after the polled kinds: one decides a camera's liveness only when no probe can.
SOURCES: tuple[ProbeSpec, ...] = (
    ProbeSpec(
        "gb28181",
        None,
        lambda c: "gb_id" in c.addresses,
        liveness=True,
        reports_in=True,
        configured=lambda config: config.gb28181 is not None,
        debounced_at_source=True,
    ),
    # The camera's own analytics (ONVIF events, monitor/onvif_events): its subscription's health, and the
    # storage failure it reports.
    ProbeSpec(
        "onvif_events",
        None,
        lambda c: "onvif_host" in c.addresses,
        reports_in=True,
        configured=lambda config: config.monitor.onvif_events.enabled,
        faults=("storage_fault",),
    ),
)
SPEC = {s.name: s for s in SPECS}
KINDS = {s.name: s for s in (*SPECS, *SOURCES)}


class ProbeKinds:
    """Polled kinds by name, each with its probe function: a ``SPECS`` kind's module, or one a test adds.

    Built by whoever runs probes (a sweep, the scheduler); ``with_kind`` gives a copy with one more kind,
    the supported way for a test to add one, with nothing shared between runs."""

    __slots__ = ("_probes",)

    def __init__(self, probes: dict[str, ProbeFn] | None = None) -> None:
        self._probes = dict(probes) if probes is not None else {s.name: s.probe for s in SPECS}

    def __getitem__(self, name: str) -> ProbeFn:
        return self._probes[name]

    def __contains__(self, name: object) -> bool:
        return name in self._probes

    def with_kind(self, name: str, probe: ProbeFn) -> ProbeKinds:
        return ProbeKinds({**self._probes, name: probe})


@dataclass(frozen=True, slots=True)
class Plan:
    """One camera's plan, derived from the specs once per inventory and reused every round.

    ``kinds``: the polled kinds that apply, in the order a round runs them. ``live``: the polled kind that
    says whether it answers (it runs first, the others follow it). ``deciding``: the kind whose result
    decides ``up``: ``live``, else a source that reports in. ``sources``: the sources that report on it.
    """

    kinds: tuple[str, ...]
    live: str | None
    deciding: str | None
    sources: tuple[str, ...] = ()

    @property
    def reported(self) -> bool:
        """Whether a source that reports in decides its liveness (nothing polls it)."""
        return self.deciding is not None and KINDS[self.deciding].reports_in

    def unconfigured(self, config: Config) -> bool:
        """Whether the source that decides its liveness is one ``config`` does not run."""
        spec = KINDS[self.deciding] if self.deciding is not None else None
        return spec is not None and spec.configured is not None and not spec.configured(config)


def plan(camera: Camera) -> Plan:
    """Which kinds apply to ``camera`` and which decides its liveness (see ``Plan``)."""
    kinds = tuple(s.name for s in SPECS if s.applies(camera))
    live = next((s.name for s in SPECS if s.liveness and s.name in kinds), None)
    sources = tuple(s.name for s in SOURCES if s.applies(camera))
    deciding = live or next((n for n in sources if KINDS[n].liveness), None)
    return Plan(kinds, live, deciding, sources)


def plans_of(cameras: Iterable[Camera]) -> dict[str, Plan]:
    """Every camera's plan, by camera id: what an inventory's owner computes once when it loads."""
    return {c.id: plan(c) for c in cameras}


def applicable(camera: Camera) -> tuple[str, ...]:
    """Probe kinds that make sense for this camera, in the order they run."""
    return plan(camera).kinds


def liveness_probe(camera: Camera) -> str | None:
    """The kind that decides whether a camera is up: its stream if it has one, else its ONVIF service, else
    its still picture."""
    return plan(camera).live
