"""The one shared probe signature and the result every probe returns."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from camwatch.config.models import Camera, ProbeSchedule
from camwatch.monitor.daylight import LocalClock, Period
from camwatch.monitor.faults import PICTURE_FAULTS

if TYPE_CHECKING:
    from camwatch.monitor.gb28181.platform import Platform

# Per-probe statuses. Camera-level statuses (docs/design.md) are derived from these in monitor.outcome.
OK = "ok"
OFFLINE = "offline"  # refused / unreachable
TIMEOUT = "timeout"
AUTH_FAILED = "auth_failed"
NOT_FOUND = "not_found"
ERROR = "error"
SKIPPED = "skipped"
# The device's answer could not be read whole (a search cut short, a count that lies): nothing is judged.
INCOMPLETE = "incomplete"
# Not a status: how ``camwatch_probes_total`` counts a probe that failed on camwatch's side (``internal``).
INTERNAL_ERROR = "internal_error"


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What one probe found. Camera faults are results, never exceptions.

    ``values`` holds measured numbers in base units (``fps``, ``luma``, ``sharpness``,
    ``clock_offset_seconds``); ``details`` holds descriptive facts (codec, resolution, stream URI, serial).
    ``error`` is a short human-readable reason and never contains a password. ``internal``: the probe
    failed on camwatch's side (a bug, no UDP port free, a decoder missing from its build), not the camera's:
    counted as ``camwatch_probes_total{result="internal_error"}``, never a camera fault.
    """

    probe: str
    success: bool
    status: str
    duration_seconds: float
    error: str | None = None
    faults: tuple[str, ...] = ()
    values: Mapping[str, float] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)
    internal: bool = False

    @property
    def answered(self) -> bool:
        """Whether the camera answered: the probe succeeded, or found a fault in what it got (a black
        picture is a camera that is up). What liveness goes by."""
        return self.success or self.status in PICTURE_FAULTS


class BaselineStore(Protocol):
    """Per-camera learned references (sharpness baseline, reference frame) that video checks compare with."""

    def get(self, camera_id: str, key: str) -> Any: ...

    def put(self, camera_id: str, key: str, value: Any) -> None: ...


class Transient:
    """A learned value that lasts only while the process runs: a store keeps it in memory, never on disk."""

    __slots__ = ()


class MemoryBaselines:
    """Process-local baseline store."""

    def __init__(self) -> None:
        self._data: dict[tuple[str, str], Any] = {}

    def get(self, camera_id: str, key: str) -> Any:
        return self._data.get((camera_id, key))

    def put(self, camera_id: str, key: str, value: Any) -> None:
        self._data[(camera_id, key)] = value


_T = TypeVar("_T")


class ProbeCaches:
    """What probes keep between runs (a stream's accepted login challenge, parsed URLs, the loaded WSDLs, the
    deadline tick), owned by whoever runs them (the service, a sweep's caller) and handed to every probe in
    its ``ProbeContext``: nothing lives in a module, so two monitors in one process share nothing. A kind's
    module keeps its own under a key of its own, made on first use."""

    __slots__ = ("_kept",)

    def __init__(self) -> None:
        self._kept: dict[str, object] = {}

    def get(self, key: str, make: Callable[[], _T]) -> _T:
        found = self._kept.get(key)
        if found is None:
            found = self._kept[key] = make()
        return cast(_T, found)


@dataclass(slots=True)
class ProbeContext:
    """Everything a probe may use besides the camera: its schedule (timeout), the monitor settings and
    shared per-process resources. ``settings`` is the probe kind's own settings model
    (``RtspSettings``/``OnvifSettings``/``VideoSettings``)."""

    settings: ProbeSchedule
    baselines: BaselineStore = field(default_factory=MemoryBaselines)
    # Results of probes already run for this camera in this round (cheap probes first).
    previous: Mapping[str, ProbeResult] = field(default_factory=dict)
    # Optional sink for analysed frames (fault snapshots); signature (camera_id, jpeg_bytes, fault|None).
    snapshot_sink: Callable[[str, bytes, str | None], None] | None = None
    # The wall clock and fleet zone for what is judged by a camera's local time (day or night:
    # ``mono_by_day``). None: not judged (a check whose caller does not say when and where it runs).
    local_clock: LocalClock | None = None
    # What probes keep between runs, from the owner of this run (default: nothing kept past this probe).
    caches: ProbeCaches = field(default_factory=ProbeCaches)
    # The running GB/T 28181 upper platform (``gb28181:``), set by the service: a channel's recorder is the
    # registered device that owns it (the ``recording`` kind asks it there).
    gb28181: Platform | None = None

    @property
    def timeout(self) -> float:
        return self.settings.timeout

    def period(self, camera: Camera) -> Period | None:
        """Day, night or twilight at ``camera`` now (``camwatch.monitor.daylight``); ``None`` without a
        local clock."""
        return self.local_clock.period(camera) if self.local_clock is not None else None


ProbeFn = Callable[[Camera, ProbeContext], Awaitable[ProbeResult]]
