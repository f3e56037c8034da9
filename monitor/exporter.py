"""What /metrics serves, from the monitor's in-memory snapshot: no probing and no I/O at scrape time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence, Sized
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from typing import Any

from prometheus_client import ProcessCollector, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry

from camwatch.config.models import Camera
from camwatch.monitor.exposition import escape_label_value, family_header, format_value, label_pairs
from camwatch.monitor.faults import FLAGGED_FAULTS
from camwatch.monitor.live import Snapshot
from camwatch.monitor.outcome import CameraResult
from camwatch.monitor.probes.base import ProbeResult
from camwatch.monitor.probes.registry import KINDS
from camwatch.monitor.probes.registry import VALUES as PROBE_VALUES
from camwatch.monitor.tracker import CameraTrack

INFO_LABELS = (
    "camera",
    "name",
    "site",
    "county",
    "township",
    "village",
    "police_station",
    "vendor",
    "model",
    "tier",
    "switch",
    "fibre",
    "power",
    "lat",
    "lon",
    "priority",
)
VALUE_METRICS = {key: (value.metric, value.doc) for key, value in PROBE_VALUES.items()}
# The kinds whose results carry what these families show (``ProbeSpec.exports``).
STREAM_KINDS = frozenset(s.name for s in KINDS.values() if "streams" in s.exports)
DISK_KINDS = tuple(s.name for s in KINDS.values() if "disks" in s.exports)


@dataclass(frozen=True, slots=True, eq=False)  # identity hash: families key each camera's lines
class Family:
    """A per-camera metric family: its exposed name (a counter's ends in ``_total``), type and help."""

    name: str
    kind: str
    doc: str


INFO = Family("camwatch_camera_info", "gauge", "Camera metadata; join on `camera`.")
UP = Family("camwatch_camera_up", "gauge", "1 if the camera's stream (or ONVIF service) answers.")
STATUS = Family("camwatch_camera_status", "gauge", "Current camera status, one-hot.")
WORKING = Family("camwatch_camera_working", "gauge", "1 if online with a usable picture (完好).")
MAINTENANCE = Family("camwatch_camera_maintenance", "gauge", "1 while the camera is under maintenance.")
CHANGED = Family("camwatch_camera_last_change_timestamp_seconds", "gauge", "When the status last changed.")
FLAPS = Family("camwatch_camera_flaps_total", "counter", "Up/down transitions since the state began.")
SUCCESS = Family("camwatch_probe_success", "gauge", "1 if the probe succeeded.")
DURATION = Family("camwatch_probe_duration_seconds", "gauge", "How long the probe took.")
LAST = Family("camwatch_probe_last_timestamp_seconds", "gauge", "When the probe last ran.")
FAULT = Family("camwatch_video_fault", "gauge", "1 while the fault is present; absent otherwise.")
STREAM_UP = Family("camwatch_stream_up", "gauge", "1 if this stream of the camera answers DESCRIBE.")
VALUES = {key: Family(name, "gauge", doc) for key, (name, doc) in VALUE_METRICS.items()}
CAMERA_FAMILIES = (
    INFO,
    UP,
    STATUS,
    WORKING,
    MAINTENANCE,
    CHANGED,
    FLAPS,
    SUCCESS,
    DURATION,
    LAST,
    FAULT,
    STREAM_UP,
    *VALUES.values(),
)
Steps = Generator[None, None, None]  # a walk in slices: each yield is a chance for the loop to run
_HEADERS = tuple(family_header(f.name, f.kind, f.doc).encode() for f in CAMERA_FAMILIES)
_HEADERS_SIZE = sum(map(len, _HEADERS))


@lru_cache(maxsize=4096)
def _label_end(name: str, value: str) -> str:
    """``,name="value"} `` for the few distinct probe names, statuses, faults and stream roles."""
    return f',{name}="{escape_label_value(value)}"}} '


@lru_cache(maxsize=64)
def _flagged(probes: frozenset[str]) -> tuple[str, ...]:
    """The fault flags the checks that ran can raise, in vocabulary order."""
    raised = {f for name in probes if name in KINDS for f in KINDS[name].faults}
    return tuple(f for f in FLAGGED_FAULTS if f in raised)


def _flag(on: bool) -> str:
    return "1.0" if on else "0.0"


# A camera never probed has no made-up values: nothing from CHANGED on.
_NOT_PROBED = (b"",) * (len(CAMERA_FAMILIES) - CAMERA_FAMILIES.index(CHANGED))


class _CameraText:
    """One camera's exposition lines, and what they were rendered from, to redo only what changed.

    Lines are kept as bytes and the chunks built in ``CAMERA_FAMILIES`` order, so a camera redone because
    one probe ran does not re-encode the other probes' lines (a scrape at 50,000 cameras redoes half)."""

    __slots__ = ("camera", "chunks", "info", "label", "probes", "result", "state", "track", "verdict")

    def __init__(self, camera: Camera):
        self.camera = camera
        self.label = f'camera="{escape_label_value(camera.id)}"'  # the pair that opens every label set
        metadata = label_pairs([("camera", camera.id), *camera.info_labels().items()])
        self.info = f"{INFO.name}{{{metadata}}} 1.0\n".encode()
        self.result: CameraResult | None = None
        self.state: tuple[object, ...] | None = None
        self.chunks: tuple[bytes, ...] = ()  # one per CAMERA_FAMILIES entry
        # per probe: its result and time, and its success, duration, time and stream lines
        self.probes: dict[str, tuple[ProbeResult, float, tuple[bytes, bytes, bytes, bytes]]] = {}
        self.verdict: tuple[tuple[object, ...], tuple[bytes, ...]] | None = None
        self.track: CameraTrack | None = None  # the track last rendered (a maintenance flip redoes it)

    def refresh(self, track: CameraTrack, maintained: bool) -> bool:
        """Redo the lines if the track changed since they were made; whether it had."""
        # A track changes by observe(), which always sets a new result (and with it probes and probe times),
        # by a restore or debounce step (the state fields), or by a reload swapping its camera.
        state = (track.up, track.status, track.faults, track.since, track.flaps, track.last_probe, maintained)
        self.track = track
        if track.result is self.result and state == self.state:
            return False
        one = f"{{{self.label}}} "
        maintenance = f"{MAINTENANCE.name}{one}{_flag(maintained)}\n".encode()
        if track.up is None:
            self.chunks = (self.info, b"", b"", b"", maintenance, *_NOT_PROBED)
        else:
            fault, *values = self._verdict_lines(track)
            success, duration, last, streams = self._probe_lines(track)
            self.chunks = (
                self.info,
                f"{UP.name}{one}{_flag(track.up)}\n".encode(),
                f"{STATUS.name}{{{self.label}{_label_end('status', track.status)}1.0\n".encode(),
                f"{WORKING.name}{one}{_flag(track.working)}\n".encode(),
                maintenance,
                f"{CHANGED.name}{one}{format_value(track.since)}\n".encode(),
                f"{FLAPS.name}{one}{format_value(track.flaps)}\n".encode(),
                success,
                duration,
                last,
                fault,
                streams,
                *values,
            )
        self.result, self.state = track.result, state
        return True

    def _probe_lines(self, track: CameraTrack) -> tuple[bytes, bytes, bytes, bytes]:
        """Success, duration and time of each probe, and the stream roles the stream check saw."""
        probes = {}
        for name, result in track.probes.items():
            at = track.probe_times.get(name, 0.0)
            done = self.probes.get(name)
            if done is None or done[0] is not result or done[1] != at:  # most rounds run only some probes
                labels = f"{{{self.label}{_label_end('probe', name)}"
                streams = result.details.get("streams", {}) if name in STREAM_KINDS else {}
                lines = (
                    f"{SUCCESS.name}{labels}{_flag(result.success)}\n".encode(),
                    f"{DURATION.name}{labels}{format_value(result.duration_seconds)}\n".encode(),
                    f"{LAST.name}{labels}{format_value(at)}\n".encode(),
                    "".join(
                        f"{STREAM_UP.name}{{{self.label}{_label_end('stream', role)}{_flag(status == 'ok')}\n"
                        for role, status in streams.items()
                    ).encode(),
                )
                done = (result, at, lines)
            probes[name] = done
        self.probes = probes
        rows = [lines for _, _, lines in probes.values()]
        if len(rows) == 1:
            return rows[0]
        success, duration, last, streams = (b"".join(row[i] for row in rows) for i in range(4))
        return success, duration, last, streams

    def _verdict_lines(self, track: CameraTrack) -> tuple[bytes, ...]:
        """Fault flags (while up, for the checks that ran), then each measured value in ``VALUES`` order.

        Only faults present get a series: a 0 for each absent kind was over a quarter of all series and no
        rule or dashboard reads it (they select ``== 1``)."""
        kinds: tuple[str, ...] = ()
        if track.up:
            kinds = _flagged(frozenset(track.probes))
        values = track.result.values if track.result is not None else {}
        key = (kinds, track.faults, values)
        if self.verdict is None or self.verdict[0] != key:
            one = f"{{{self.label}}} "
            fault = "".join(
                f"{FAULT.name}{{{self.label}{_label_end('fault', kind)}{_flag(True)}\n"
                for kind in kinds
                if kind in track.faults
            )
            lines = [fault.encode()]
            for name, family in VALUES.items():
                value = values.get(name)
                lines.append(b"" if value is None else f"{family.name}{one}{format_value(value)}\n".encode())
            self.verdict = (key, tuple(lines))
        return self.verdict[1]

    def describes(self, camera: Camera) -> bool:
        """Whether these lines are still ``camera``'s: a reload brings new but mostly equal Camera objects."""
        if camera is not self.camera:
            if camera != self.camera:
                return False
            self.camera = camera
        return True


class CameraExposition:
    """The per-camera families as exposition text; a camera's lines are redone only when its track changed.

    Each family's lines are kept in a list with one slot per camera, in inventory order, so a body is the
    families' lists joined. By default every render walks the tracks to find what changed (any caller, any
    change). An owner that calls ``changed`` wherever it applies a result (``follow_changes=True``: the
    service) gets renders that walk nothing: the changed camera's lines were redone at once, so a scrape
    only joins bytes. A walk still happens at the first render, after ``invalidate`` (an inventory swap), when
    the inventory's size differs, and for cameras whose maintenance flag flipped."""

    # A walk yields to the event loop this often (``render_async``), so a scrape never holds it for long.
    SLICE_SECONDS = 0.01

    def __init__(self, *, follow_changes: bool = False) -> None:
        self._follow = follow_changes
        self._cameras: dict[str, _CameraText] = {}  # in inventory order
        self._slot: dict[str, int] = {}
        self._parts: list[list[bytes]] = [[] for _ in CAMERA_FAMILIES]
        self._size = 0  # bytes in all slots: a streamed body's length without adding up a million lines
        self._maintenance: frozenset[str] = frozenset()
        self._stale = True  # the next render walks every track
        self._walking: dict[str, tuple[CameraTrack, bool]] | None = None  # changes seen while a walk yields
        self._lock: asyncio.Lock | None = None
        self._walks = 0

    def invalidate(self) -> None:
        """The inventory changed (cameras added, removed, reordered or edited): the next render walks."""
        self._stale = True

    def changed(self, track: CameraTrack, maintained: bool) -> None:
        """Redo one camera's lines now, from its track as it is (the owner calls this after applying a
        result: about 20 µs, where a scrape at 50,000 cameras would otherwise redo half of them at once)."""
        cid = track.camera.id
        if self._walking is not None:  # a walk is building the slots: it takes this one when it ends
            self._walking[cid] = (track, maintained)
            return
        slot = self._slot.get(cid)
        text = self._cameras.get(cid)
        if slot is None or text is None or not text.describes(track.camera):
            self._stale = True  # not laid out (or edited): the next render walks
            return
        if text.refresh(track, maintained):
            self._place(slot, text)

    def render(self, tracks: Iterable[CameraTrack], maintenance: frozenset[str] = frozenset()) -> list[bytes]:
        """The families' lines, in parts to join (the body is large: joined once, with what follows it)."""
        for _ in self._update(tracks, maintenance):
            pass
        return self._body()

    async def render_async(
        self, tracks: Iterable[CameraTrack], maintenance: frozenset[str] = frozenset()
    ) -> list[bytes]:
        """As ``render``, yielding to the event loop every ``SLICE_SECONDS`` of a walk, so that probes and
        the scheduler go on while a cold or changed inventory is rendered. Each camera's lines come from one
        state of its track (a camera is redone in one step); renders run one at a time."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        return list(chain.from_iterable((await self.families_async(tracks, maintenance))[1]))

    async def families_async(
        self, tracks: Iterable[CameraTrack], maintenance: frozenset[str] = frozenset()
    ) -> tuple[int, list[list[bytes]]]:
        """As ``render_async``, as each family's header and lines: copies of the slots (a pointer each), so
        results applied while the body is written go to the next scrape, not into the middle of this one."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            steps = self._update(tracks, maintenance)
            try:
                for _ in steps:
                    await asyncio.sleep(0)
            finally:
                steps.close()  # now, not when collected: a cancelled walk must not outlive the lock
            families = [[header, *part] for header, part in zip(_HEADERS, self._parts, strict=True)]
            return self._size + _HEADERS_SIZE, families

    def _update(self, tracks: Iterable[CameraTrack], maintenance: frozenset[str]) -> Steps:
        """Bring every camera's lines up to date; yields between slices of a walk."""
        sized = len(tracks) if isinstance(tracks, Sized) else -1
        if not self._follow or self._stale or sized != len(self._slot):
            yield from self._walk(tracks, maintenance)
            return
        flipped = maintenance ^ self._maintenance
        self._maintenance = maintenance
        for cid in flipped:
            text, slot = self._cameras.get(cid), self._slot.get(cid)
            track = text.track if text is not None else None
            if (
                slot is not None
                and text is not None
                and track is not None
                and text.refresh(track, cid in maintenance)
            ):
                self._place(slot, text)

    def _walk(self, tracks: Iterable[CameraTrack], maintenance: frozenset[str]) -> Steps:
        self._stale = False  # a change during the walk sets it again
        self._walking = {}
        self._walks += 1
        walk = self._walks
        try:
            cached = self._cameras
            cameras: dict[str, _CameraText] = {}
            parts: list[list[bytes]] = [[] for _ in CAMERA_FAMILIES]
            appends = [p.append for p in parts]
            clock = time.perf_counter
            since = clock()
            for n, track in enumerate(tracks):
                cid = track.camera.id
                text = cached.get(cid)
                if text is None or not text.describes(track.camera):
                    text = _CameraText(track.camera)
                text.refresh(track, cid in maintenance)
                cameras[cid] = text
                for append, chunk in zip(appends, text.chunks, strict=True):
                    append(chunk)
                if n % 128 == 127 and clock() - since > self.SLICE_SECONDS:
                    yield
                    since = clock()
            self._cameras, self._parts, self._maintenance = cameras, parts, maintenance
            self._slot = {cid: i for i, cid in enumerate(cameras)}
            self._size = sum(sum(map(len, part)) for part in parts)
        except BaseException:  # cancelled mid-walk (the scraper left): what it saw is still to be done
            self._stale = True
            raise
        finally:
            walked, self._walking = self._walking or {}, None
        if walk != self._walks:  # a sync render walked while this one yielded: its slots may be older
            self._stale = True
        for track, maintained in walked.values():  # results applied while the walk yielded
            self.changed(track, maintained)

    def _place(self, slot: int, text: _CameraText) -> None:
        for part, chunk in zip(self._parts, text.chunks, strict=True):
            self._size += len(chunk) - len(part[slot])
            part[slot] = chunk

    def _body(self) -> list[bytes]:
        return list(
            chain.from_iterable(chain((h,), part) for h, part in zip(_HEADERS, self._parts, strict=True))
        )


# A streamed body is written in blocks of this many lines (≈ 0.3 MB): small enough that the allocator reuses
# one block's memory for the next (no 80 MB body at 50,000 cameras), large enough to keep writes few.
BLOCK_LINES = 4096


def blocks(families: list[list[bytes]], tail: bytes) -> Iterator[bytes]:
    """The body in blocks to write one after another."""
    for family in families:
        for start in range(0, len(family), BLOCK_LINES):
            yield b"".join(family[start : start + BLOCK_LINES])
    yield tail


class ServiceCollector(Collector):
    """The service-level families (probe counts, lateness, clusters, coverage, state, reloads)."""

    def __init__(self, snapshot: Callable[[], Snapshot]):
        self._snapshot = snapshot

    def describe(self) -> Iterable[Metric]:
        return []  # keeps the registry from calling collect() at registration

    def collect(self) -> Iterable[Metric]:
        yield from service_metrics(self._snapshot())


class Exporter:
    """The /metrics body: the per-camera families (about 20 series a camera with every check), written
    directly and kept per camera until its track changes, then the registry's few service-level families and
    the process metrics."""

    def __init__(self, snapshot: Callable[[], Snapshot], *, follow_changes: bool = False):
        self._snapshot = snapshot
        self._cameras = CameraExposition(follow_changes=follow_changes)
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(ServiceCollector(snapshot))
        ProcessCollector(registry=self.registry)

    def changed(self, track: CameraTrack, maintained: bool) -> None:
        """A result was applied to ``track`` (with ``follow_changes``: the owner reports every change)."""
        self._cameras.changed(track, maintained)

    def invalidate(self) -> None:
        """The inventory was swapped: the next scrape walks every camera."""
        self._cameras.invalidate()

    def exposition(self) -> bytes:
        snap = self._snapshot()
        parts = self._cameras.render(snap.tracks.values(), snap.maintenance)
        parts.append(generate_latest(self.registry))
        return b"".join(parts)

    async def prepare(self) -> None:
        """Lay out every camera's lines ahead of the first scrape (a walk, in slices)."""
        snap = self._snapshot()
        await self._cameras.render_async(snap.tracks.values(), snap.maintenance)

    async def exposition_blocks(self) -> tuple[int, Iterator[bytes]]:
        """The body's length and the body in blocks (``blocks``), for the event loop: the cameras' lines as
        they were when the scrape began, written without building one 80 MB body at 50,000 cameras."""
        snap = self._snapshot()
        size, families = await self._cameras.families_async(snap.tracks.values(), snap.maintenance)
        await asyncio.sleep(0)  # the copy of the slots was one step, the service families are the next
        tail = generate_latest(self.registry)
        return size + len(tail), blocks(families, tail)


def _gauge(name: str, doc: str, labels: Sequence[str] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=list(labels))


def recorder_disks(tracks: Iterable[CameraTrack]) -> list[Metric]:
    """``camwatch_recorder_disk_bytes`` and ``_disk_ok`` per recorder disk: from the newest recording check of
    any of the recorder's channels (each channel's check reads the same disks)."""
    newest: dict[str, tuple[float, Sequence[Mapping[str, Any]]]] = {}
    for track in tracks:
        for kind in DISK_KINDS:
            result = track.probes.get(kind)
            recorder = result.details.get("recorder") if result is not None else None
            if result is None or not isinstance(recorder, str):
                continue
            at = track.probe_times.get(kind, 0.0)
            if recorder not in newest or at > newest[recorder][0]:
                newest[recorder] = (at, result.details.get("disks", ()))
    size = _gauge(
        "camwatch_recorder_disk_bytes",
        "Recorder disk size: capacity or free space.",
        ["recorder", "disk", "kind"],
    )
    ok = _gauge(
        "camwatch_recorder_disk_ok",
        "1 while the recorder disk records (not failed or read-only).",
        ["recorder", "disk"],
    )
    for recorder, (_, disks) in sorted(newest.items()):
        for disk in disks:
            name = str(disk.get("disk", "?"))
            ok.add_metric([recorder, name], 1 if disk.get("ok") else 0)
            for kind, key in (("capacity", "capacity_bytes"), ("free", "free_bytes")):
                if (value := disk.get(key)) is not None:
                    size.add_metric([recorder, name, kind], float(value))
    return [size, ok]


def service_metrics(snap: Snapshot) -> list[Metric]:
    """The service-level families, in exposition order."""
    return [
        *_probe_families(snap),
        *_cluster_families(snap),
        *_coverage_families(snap),
        *_service_families(snap),
        *recorder_disks(
            snap.tracks.values()
            if snap.recorded is None
            else (t for c in snap.recorded if (t := snap.tracks.get(c)) is not None)
        ),
    ]


def _probe_families(snap: Snapshot) -> list[Metric]:
    """Probes run by result, and how late rounds start."""
    probes_total = CounterMetricFamily(
        "camwatch_probes", "Probes run, by probe and result status.", labels=["probe", "result"]
    )
    for (probe, result), n in sorted(snap.probes_total.items()):
        probes_total.add_metric([probe, result], n)

    lat = snap.lateness
    cumulative, buckets = 0, []
    for bound, count in zip((*lat.buckets, float("inf")), lat.counts, strict=True):
        cumulative += count
        buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
    lateness = HistogramMetricFamily(
        "camwatch_scheduler_lateness_seconds",
        "How late probe rounds start after their due time.",
        buckets=buckets,
        sum_value=lat.total,
    )
    return [probes_total, lateness]


def _cluster_families(snap: Snapshot) -> list[Metric]:
    """Offline clusters: size, metadata, onset, share, and their members."""
    cluster_size = _gauge(
        "camwatch_offline_cluster_cameras", "Cameras down together in an offline cluster.", ["cluster"]
    )
    cluster_info = _gauge(
        "camwatch_offline_cluster_info",
        "Offline cluster metadata.",
        ["cluster", "kind", "key", "county", "township", "onset"],
    )
    cluster_share = _gauge(
        "camwatch_offline_cluster_share",
        "Share of the cluster's label (or place) monitored cameras that are unreachable.",
        ["cluster"],
    )
    cluster_since = _gauge(
        "camwatch_offline_cluster_since_timestamp_seconds", "When the cluster formed.", ["cluster"]
    )
    member = _gauge(
        "camwatch_camera_cluster", "1 for each down camera in an offline cluster.", ["camera", "cluster"]
    )
    for c in snap.clusters:
        cluster_size.add_metric([c.cluster], len(c.cameras))
        cluster_info.add_metric([c.cluster, c.kind, c.key, c.county, c.township, c.onset], 1)
        cluster_share.add_metric([c.cluster], c.share)
        cluster_since.add_metric([c.cluster], c.since)
        for cam in c.cameras:
            member.add_metric([cam, c.cluster], 1)
    return [cluster_size, cluster_info, cluster_since, cluster_share, member]


def _coverage_families(snap: Snapshot) -> list[Metric]:
    """Coverage by area and category, and each category's target."""
    ratio = _gauge(
        "camwatch_coverage_ratio", "Share of the category covered by any camera.", ["area", "category"]
    )
    effective = _gauge(
        "camwatch_coverage_effective_ratio", "Share covered by cameras that are up.", ["area", "category"]
    )
    target = _gauge("camwatch_coverage_target_ratio", "Provincial target for the category.", ["category"])
    targets: dict[str, float] = {}
    for row in snap.coverage:
        ratio.add_metric([row.area, row.category], row.ratio)
        effective.add_metric([row.area, row.category], row.effective_ratio)
        targets[row.category] = row.target
    for category, value in sorted(targets.items()):
        target.add_metric([category], value)
    return [ratio, effective, target]


def _service_families(snap: Snapshot) -> list[Metric]:
    """Device events, the state database, config reloads and the areas' targets."""
    events = CounterMetricFamily(
        "camwatch_device_events",
        "Device events: replaced, firmware_changed, clock_reset.",
        labels=["camera", "event"],
    )
    for (camera, kind), n in sorted(snap.events_total.items()):
        events.add_metric([camera, kind], n)
    healthy = _gauge(
        "camwatch_state_healthy",
        "1 while the state database accepts writes and its last check found it sound.",
    )
    healthy.add_metric([], 1 if snap.state_healthy else 0)
    write_errors = CounterMetricFamily("camwatch_state_write_errors", "Failed state database flushes.")
    write_errors.add_metric([], snap.state_write_errors)
    reload_ok = _gauge("camwatch_config_last_reload_successful", "1 if the last config (re)load succeeded.")
    reload_ok.add_metric([], 1 if snap.config_reload_ok else 0)
    reload_ts = _gauge(
        "camwatch_config_last_reload_success_timestamp_seconds", "When the config last loaded."
    )
    reload_ts.add_metric([], snap.config_reload_timestamp)
    online_target = _gauge(
        "camwatch_online_target", "Online-rate target of the areas (reports.online_target, 在线率目标)."
    )
    online_target.add_metric([], snap.online_target)
    working_target = _gauge(
        "camwatch_working_target", "Working-order-rate target (reports.working_target, 完好率目标)."
    )
    working_target.add_metric([], snap.working_target)
    return [events, healthy, write_errors, reload_ok, reload_ts, online_target, working_target]
