"""The long-running monitor: scheduler + debounced state + SQLite history + exporter, with safe reloads."""

from __future__ import annotations

import asyncio
import logging
import math
import ssl
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from camwatch.config.errors import ConfigError
from camwatch.config.models import Camera, Config, MonitorSettings
from camwatch.config.scope import monitored
from camwatch.monitor import collector
from camwatch.monitor.clusters import CLUSTER_EVENT, ClusterChange, ClusterTracker, DownCamera
from camwatch.monitor.daylight import LocalClock
from camwatch.monitor.exporter import DISK_KINDS, Exporter
from camwatch.monitor.gb28181.metrics import Gb28181Collector
from camwatch.monitor.gb28181.platform import PROBE as GB28181
from camwatch.monitor.gb28181.platform import Platform
from camwatch.monitor.housekeeping import Housekeeping
from camwatch.monitor.identity import IDENTITY_KINDS, Identity, track_identity
from camwatch.monitor.live import ClusterView, CoverageView, Snapshot
from camwatch.monitor.onvif_events.source import NAME as CAMERA_EVENTS
from camwatch.monitor.onvif_events.source import CameraEventCollector, CameraEventSource
from camwatch.monitor.outcome import reason
from camwatch.monitor.probes.base import INTERNAL_ERROR, OFFLINE, ProbeCaches, ProbeResult
from camwatch.monitor.probes.registry import Plan, plans_of
from camwatch.monitor.scheduler import Scheduler
from camwatch.monitor.snapshots import SnapshotStore
from camwatch.monitor.state import Event, StateStore, StoredBaselines
from camwatch.monitor.state.recordings import DAY_SECONDS
from camwatch.monitor.tracker import CameraTrack, Tracker
from camwatch.monitor.web import Listener, make_app, serve, ssl_context

log = logging.getLogger(__name__)

FLUSH_INTERVAL = 1.0
# The recording check's value whose daily sums make 录像完整率 (monitor/state/recordings.py).
RECORDED_24H = "recording_seconds_24h"
RETENTION = "recording_retention_seconds"
STATE_CHECK_INTERVAL = 30.0  # seconds: how soon a deleted, replaced or read-only state file is found
WATCH_INTERVAL = 5.0
CLUSTER_INTERVAL = 5.0
DISK_KINDS_SET = frozenset(DISK_KINDS)
MAINTENANCE_INTERVAL = 15.0
CAPTURE_JOIN_BUDGET = 3.0  # seconds a stop waits for video captures to leave native code
# Recompute effective coverage soon after this share of cameras changed state, not only on its schedule.
COVERAGE_CHANGE_SHARE = 0.02


class CoverageMeasure(Protocol):
    """A coverage model built for one inventory (``camwatch.coverage.measure.CoverageModel``): re-weighs
    coverage by camera status, one row per area and category (``area``, ``category``, ``ratio``,
    ``effective_ratio``, ``target``)."""

    def measure(self, status: Mapping[str, bool] | None = None) -> list[dict[str, Any]]: ...


class CoverageLink(Protocol):
    """Builds the coverage model of a config (``CoverageModel.from_config``); ``monitor`` and ``coverage``
    never import each other, so the commands hand it over (``camwatch.glue``)."""

    def __call__(self, config: Config, /) -> CoverageMeasure: ...


class Service:
    """Monitors ``config.cameras`` until stopped; ``reload`` swaps in a new config without losing state."""

    def __init__(
        self,
        config: Config,
        *,
        loader: Callable[[Path], Config] | None = None,
        coverage_factory: CoverageLink | None = None,
    ):
        self.config = config
        self.settings = config.monitor
        self._loader = loader
        self._coverage_factory = coverage_factory
        self.store = StateStore(config.state_path, recover=True)
        # Not-networked cameras (是否联网 = 否) are planning positions: never probed, tracked or exported.
        watched = monitored(config.cameras)
        # Each camera's plan (kinds, liveness), once per inventory: the tracker and the scheduler share it.
        self.plans: dict[str, Plan] = plans_of(watched)
        self.tracker = Tracker(
            {c.id: c for c in watched}, self.settings.debounce, self.store.load(), plans=self.plans
        )
        self.identities = {cam: Identity(*row) for cam, row in self.store.identities().items()}
        self.events_total: Counter[tuple[str, str]] = Counter()
        self.baselines = StoredBaselines(self.store)
        snap_dir = self.settings.snapshots or self.store.path.parent / "snapshots"
        self.snapshots: SnapshotStore | None = (
            SnapshotStore(snap_dir, max_bytes=self.settings.snapshot_max_bytes)
            if self.settings.snapshot_max_bytes
            else None
        )
        self.scheduler = Scheduler(
            self.settings,
            watched,
            self._on_probed,
            baselines=self.baselines,
            snapshot_sink=self.snapshots.put if self.snapshots else None,
            local_clock=LocalClock(config.reports.timezone),
            plans=self.plans,
            caches=ProbeCaches(),  # what probes keep between rounds: the service's, for its life
        )
        self.probes_total: Counter[tuple[str, str]] = Counter()
        self.cluster_tracker = ClusterTracker(self.settings.clusters)
        self.clusters: list[ClusterView] = []
        self._cluster_of: dict[str, str] = {}  # camera -> the cluster it is in
        self.coverage: list[CoverageView] = []
        self.maintenance: frozenset[str] = frozenset()
        # Camera -> the end of its latest maintenance window begun by now (inf while open): a recording
        # check whose 24 hours touch one is not kept for 录像完整率 (its hours are neither recorded nor due).
        self.maintenance_end: dict[str, float] = {}
        self.reload_ok = True
        self.reload_timestamp = time.time()
        self.changes_since_coverage = 0
        self._coverage_model: CoverageMeasure | None = None
        self._coverage_task: asyncio.Task[None] | None = None
        self.jobs = Housekeeping()
        # The service reports every result it applies (``_on_probed``) and every inventory swap (``reload``),
        # so a scrape joins the cameras' cached lines instead of walking them all.
        self.exporter = Exporter(self.snapshot, follow_changes=True)
        self._recorded = _recorded(self.plans)
        self._cluster_inventory: tuple[object, ...] = ()
        self._cluster_cameras: dict[str, Camera] = {}
        self.registry = self.exporter.registry
        self._listener: Listener | None = None
        # GB/T 28181: ledger cameras by the channel (or device) id they link to.
        self.gb_links = _gb_links(watched)
        self.gb: Platform | None = None
        self._gb_grace_until = 0.0
        if config.gb28181 is not None:
            self.gb = Platform(
                config.gb28181,
                on_result=self._on_gb_result,
                known=self.gb_links.__contains__,
                owners=_gb_owners(config.cameras),
                on_note=self._on_gb_note,
            )
            self.registry.register(Gb28181Collector(self.gb))
            self.gb.timezone = config.reports.timezone
            self.scheduler.gb28181 = self.gb  # the recording kind asks a channel's owning device
        # The cameras' own analytics (ONVIF events): a source beside the scheduler that reports in.
        self.camera_events = CameraEventSource(
            self.settings.onvif_events, self._event_cameras(watched), self._on_camera_events
        )
        self.registry.register(CameraEventCollector(self.camera_events))
        self._input_stamps: dict[Path, tuple[float, int] | None] = {}
        self.started = False

    # -- lifecycle ------------------------------------------------------------------------------------

    async def start(self) -> None:
        # The inventory is loaded: untraversed from now on (see ``collector``).
        collector.tune()
        collector.settle()
        self.store.begin_run()
        self.scheduler.start()
        self.jobs.add_job(self.flush, FLUSH_INTERVAL, "state-flush")
        self.jobs.add_job(self.check_state, STATE_CHECK_INTERVAL, "state-check")
        self.jobs.add_job(self.update_clusters, CLUSTER_INTERVAL, "clusters")
        self.jobs.add_job(self.refresh_maintenance, MAINTENANCE_INTERVAL, "maintenance")
        if self._loader is not None:
            self._input_stamps = self._stamps(self.config)
            self.jobs.add_job(self.watch_inputs, WATCH_INTERVAL, "watch-config")
        await self.refresh_maintenance()
        if self.config.coverage is not None and self._coverage_factory is not None:
            self.jobs.add_job(self.recompute_coverage, self.config.coverage.recompute_interval, "coverage")
            self._coverage_task = self.jobs.spawn(self._build_coverage(), "coverage-build")
        self.jobs.spawn(self.exporter.prepare(), "exporter-prepare")
        self._listener = await serve(make_app(self), self.settings.listen, self.settings.web)
        if self.gb is not None:
            await self.gb.start()
            ka = self.gb.settings.keepalive
            self._gb_grace_until = time.time() + ka.interval * ka.count
            self.jobs.add_job(self._gb_unseen, ka.interval, "gb28181-unseen")
        self.camera_events.start()
        self.started = True
        planning = len(self.config.cameras) - len(self.tracker.tracks)
        log.info(
            "camwatch monitoring %d cameras%s; metrics at %s/metrics",
            len(self.tracker.tracks),
            f" ({planning} not networked (是否联网 = 否): not probed)" if planning else "",
            self.url,
        )

    async def stop(self) -> None:
        if self.gb is not None:
            await self.gb.stop()
        await self.camera_events.stop()
        await self.scheduler.stop()
        # The video probe is loaded on first use (the registry imports lazily): never loaded, no capture ran.
        video = sys.modules.get("camwatch.monitor.probes.video")
        left = await asyncio.to_thread(video.join_captures, CAPTURE_JOIN_BUDGET) if video else 0
        if left:
            log.warning("stopping with %d video capture thread(s) still running", left)
        await self.jobs.stop()
        if self._listener is not None:
            await self._listener.close()
        await asyncio.to_thread(self.store.close)
        self.started = False

    @property
    def url(self) -> str:
        if self._listener is not None:
            return self._listener.url
        scheme = "https" if self.settings.web.tls_cert_file else "http"
        return f"{scheme}://{self.settings.listen}"

    # -- results --------------------------------------------------------------------------------------

    def _on_probed(self, camera: Camera, results: Mapping[str, ProbeResult], now: float) -> None:
        for name, r in results.items():
            self.probes_total[(name, INTERNAL_ERROR if r.internal else r.status)] += 1
        transition = self.tracker.observe(camera.id, results, now)
        track = self.tracker.tracks.get(camera.id)
        if track is None:
            return
        self.exporter.changed(track, camera.id in self.maintenance)
        if transition is not None and track.result is not None:  # kept with it for the fault episodes
            transition = replace(transition, reason=reason(camera, track.result, track.plan))
        self.store.stage(track.stored(), transition)
        if transition is not None and (transition.prev_status is not None or not transition.working):
            self._log_transition(track, transition.prev_status)
        for kind, detail in track_identity(self.identities, camera.id, results):
            log.warning("camera %s: %s %s", camera.id, kind, detail)
            self.events_total[(camera.id, kind)] += 1
            self.store.stage_event(Event(camera.id, now, kind, detail))
        if (ident := self.identities.get(camera.id)) is not None and not IDENTITY_KINDS.isdisjoint(results):
            self.store.stage_identity(camera.id, ident.serial, ident.firmware, ident.clock_offset, now)
        maintained = self.maintenance_end.get(camera.id, -math.inf) > now - DAY_SECONDS
        for r in results.values():
            if (footage := r.values.get(RECORDED_24H)) is not None and not maintained:  # kept for 录像完整率
                day = datetime.fromtimestamp(now, ZoneInfo(self.config.reports.timezone)).date().isoformat()
                self.store.stage_recorded(camera.id, day, footage, r.values.get(RETENTION))
        if transition is not None:
            self.changes_since_coverage += 1
            if self._coverage_model is not None and self.changes_since_coverage >= max(
                1, COVERAGE_CHANGE_SHARE * len(self.tracker.tracks)
            ):
                self.changes_since_coverage = 0
                self.jobs.spawn(self.recompute_coverage(), "coverage-recompute")

    def _on_gb_result(self, gb_id: str, result: ProbeResult, now: float) -> None:
        """A GB/T 28181 device or channel changed state: the linked camera gets it as a ``gb28181`` result."""
        camera_id = self.gb_links.get(gb_id)
        track = self.tracker.tracks.get(camera_id) if camera_id else None
        if track is not None:
            self._on_probed(track.camera, {GB28181: result}, now)

    def _event_cameras(self, cameras: tuple[Camera, ...]) -> list[Camera]:
        """The cameras the ONVIF event source applies to, by their plans."""
        return [c for c in cameras if CAMERA_EVENTS in self.plans[c.id].sources]

    def _on_camera_events(self, camera: Camera, result: ProbeResult, now: float) -> None:
        """What a camera's own analytics say changed (its subscription's health, a storage failure)."""
        track = self.tracker.tracks.get(camera.id)
        if track is not None:
            self._on_probed(track.camera, {CAMERA_EVENTS: result}, now)

    def _on_gb_note(self, gb_id: str, kind: str, detail: dict[str, object], now: float) -> None:
        """Something the platform refused about a channel (another device claiming it): a note in the linked
        camera's history."""
        camera_id = self.gb_links.get(gb_id)
        if camera_id is not None:
            self.store.stage_event(Event(camera_id, now, kind, detail))

    def _gb_unseen(self) -> None:
        """Cameras seen through GB/T 28181 alone whose channel no device has reported within a keepalive
        deadline of start are offline (a restored "up" is not evidence, nor is silence)."""
        now = time.time()
        if self.gb is None or now < self._gb_grace_until:
            return
        result = ProbeResult(GB28181, False, OFFLINE, 0.0, error="no registered device reports this channel")
        for track in list(self.tracker.tracks.values()):
            camera = track.camera
            if camera.gb_id and GB28181 not in track.probes and track.plan.deciding == GB28181:
                self._on_probed(camera, {GB28181: result}, now)

    async def flush(self) -> None:
        await asyncio.to_thread(self.store.flush)

    async def check_state(self) -> None:
        if await asyncio.to_thread(self.store.check):
            # A new database replaced a corrupt one: it gets every camera's current state again.
            for track in self.tracker.tracks.values():
                if track.up is not None:
                    self.store.stage(track.stored())

    def _log_transition(self, track: CameraTrack, old: str | None) -> None:
        """One INFO line per state change (and per camera first seen in trouble): camera, name,
        old -> new status, reason, cluster if any."""
        camera, new, result = track.camera, track.status, track.result
        cluster = self._cluster_of.get(camera.id)
        log.info(
            "camera %s (%s): %s -> %s: %s%s",
            camera.id,
            camera.name or "-",
            old or "new",
            new,
            reason(camera, result, track.plan) if result is not None else new,
            f"; cluster {cluster}" if cluster else "",
        )

    def update_clusters(self, now: float | None = None) -> None:
        cameras = self._cluster_monitored()
        down = [
            DownCamera(camera, t.status, t.down_since)
            for t in self.tracker.tracks.values()
            if t.up is False and (camera := cameras.get(t.camera.id)) is not None
        ]
        now = time.time() if now is None else now
        changes = self.cluster_tracker.update(list(cameras.values()), down, now)
        self.clusters = self.cluster_tracker.clusters
        self._cluster_of = {cam: c.cluster for c in self.clusters for cam in c.cameras}
        for change in changes:
            _log_cluster_change(change)
            if change.change != "ended":  # kept so that reports tie each fault episode to its cluster
                for cam in change.cameras:
                    self.store.stage_event(
                        Event(cam, now, CLUSTER_EVENT, {"cluster": change.cluster.cluster})
                    )

    def _cluster_monitored(self) -> dict[str, Camera]:
        """The monitored cameras (not in maintenance) as the cluster tracker groups them, listed again only
        when the inventory, the maintenance set or a GB/T 28181 channel's parent device changed (at 50,000
        cameras relisting every few seconds was a sixth of the event loop's time)."""
        tracks = self.tracker.tracks
        gb = (
            ()
            if self.gb is None
            else tuple(
                self._cluster_camera(t)
                for t in tracks.values()
                if t.camera.gb_id is not None and t.plan.deciding == GB28181
            )
        )
        key = (tracks, self.maintenance, gb)
        old = self._cluster_inventory
        if len(old) != 3 or old[0] is not tracks or old[1] != self.maintenance or old[2] != gb:
            self._cluster_cameras = {
                cid: self._cluster_camera(t) for cid, t in tracks.items() if cid not in self.maintenance
            }
            self._cluster_inventory = key
        return self._cluster_cameras

    def _cluster_camera(self, track: CameraTrack) -> Camera:
        """A camera seen through GB/T 28181 alone depends on its device (NVR, lower platform) as on a switch:
        its channels going silent together are one cluster, keyed ``gb28181:<device id>``."""
        camera = track.camera
        if self.gb is None or camera.gb_id is None or track.plan.deciding != GB28181:
            return camera
        parent = self.gb.parent_of(camera.gb_id)
        return camera.model_copy(update={"switch": f"gb28181:{parent}"}) if parent else camera

    async def refresh_maintenance(self) -> None:
        now = time.time()
        windows = await asyncio.to_thread(lambda: list(self.store.maintenance_windows()))
        self.maintenance = frozenset(
            c for c, start, end in windows if start <= now and (end is None or end > now)
        )
        ends: dict[str, float] = {}
        for c, start, end in windows:
            if start <= now:
                ends[c] = max(ends.get(c, start), math.inf if end is None else end)
        self.maintenance_end = ends

    async def _build_coverage(self) -> None:
        assert self._coverage_factory is not None
        try:
            # The geometry is built once per inventory; each recompute only re-weighs it by camera status.
            self._coverage_model = await asyncio.to_thread(self._coverage_factory, self.config)
        except Exception:
            log.exception("coverage model could not be built; coverage metrics disabled")
            return
        await self.recompute_coverage()

    async def recompute_coverage(self) -> None:
        model = self._coverage_model
        if model is None:
            return
        # Effective coverage counts cameras in working order (完好): up, with a usable picture.
        status = {cid: t.working for cid, t in self.tracker.tracks.items() if t.up is not None}
        rows = await asyncio.to_thread(model.measure, status)
        self.coverage = [
            CoverageView(r["area"], r["category"], r["ratio"], r["effective_ratio"], r["target"])
            for r in rows
        ]

    # -- for the exporter and web layer ---------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """What a scrape renders: copies of the live maps (a reload swapping the inventory, a result arriving
        while a collector iterates, must not change what it reads underneath it)."""
        return Snapshot(
            tracks=dict(self.tracker.tracks),
            probes_total=dict(self.probes_total),
            lateness=self.scheduler.lateness,
            clusters=self.clusters,
            coverage=self.coverage,
            maintenance=self.maintenance,
            events_total=dict(self.events_total),
            state_healthy=self.store.healthy,
            state_write_errors=self.store.write_errors,
            config_reload_ok=self.reload_ok,
            config_reload_timestamp=self.reload_timestamp,
            online_target=self.config.reports.online_target,
            working_target=self.config.reports.working_target,
            recorded=self._recorded,
        )

    def camera(self, camera_id: str) -> Camera | None:
        track = self.tracker.tracks.get(camera_id)
        return track.camera if track else None

    def plan(self, camera_id: str) -> Plan | None:
        track = self.tracker.tracks.get(camera_id)
        return track.plan if track else None

    def health(self) -> dict[str, object]:
        tracks = self.tracker.tracks.values()
        return {
            "status": "ok",
            "cameras": len(self.tracker.tracks),
            "up": sum(1 for t in tracks if t.up),
            "down": sum(1 for t in tracks if t.up is False),
            "state_healthy": self.store.healthy,
            "config_reload_successful": self.reload_ok,
        }

    async def probe_now(
        self, camera: Camera, kinds: tuple[str, ...], timeout: float
    ) -> dict[str, ProbeResult]:
        """A /probe: through the scheduler's slots and video gate, as scheduled probes."""
        return await self.scheduler.probe_now(camera, kinds, timeout)

    # -- reload ---------------------------------------------------------------------------------------

    @staticmethod
    def _stamps(config: Config) -> dict[Path, tuple[float, int] | None]:
        stamps: dict[Path, tuple[float, int] | None] = {}
        for path in {config.source, *config.inputs}:
            try:
                st = path.stat()
                stamps[path] = (st.st_mtime, st.st_size)
            except OSError:
                stamps[path] = None
        return stamps

    def watch_inputs(self) -> None:
        """Reload when the config or any file it was read from changed (as SIGHUP does)."""
        stamps = self._stamps(self.config)
        if stamps != self._input_stamps:
            self._input_stamps = stamps
            log.info("configuration files changed; reloading")
            self.reload()

    def _apply_web(self, new: MonitorSettings) -> None:
        """Load a changed TLS certificate into the running listener; say which web settings wait for a
        restart. Users and the /probe rate limit need nothing here: they are read per request."""
        old = self.settings.web
        tls = self._listener.tls if self._listener is not None else None
        if tls is not None and new.web.tls_cert_file is not None and new.web.tls_key_file is not None:
            ssl_context(new.web)  # raises on a bad certificate or key before the live one is touched
            tls.load_cert_chain(new.web.tls_cert_file, new.web.tls_key_file)
        fixed = [
            name
            for name, before, after in (
                ("monitor.listen", self.settings.listen, new.listen),
                ("TLS on/off", old.tls_cert_file is None, new.web.tls_cert_file is None),
                ("monitor.web.request_timeout", old.request_timeout, new.web.request_timeout),
                ("monitor.web.max_connections", old.max_connections, new.web.max_connections),
            )
            if before != after
        ]
        if fixed:
            log.warning("%s changed: applies when camwatch restarts (the listener is kept)", ", ".join(fixed))

    def reload(self, new: Config | None = None) -> bool:
        """Apply a new config (or re-read the file); an invalid one is rejected and the running one stays.

        The state database path, listen address, TLS on/off and connection limits are fixed for the life of
        the process; web users, the /probe rate limit and a renewed TLS certificate apply at once.
        """
        try:
            if new is None:
                if self._loader is None:
                    raise RuntimeError("no loader to re-read the configuration with")
                new = self._loader(self.config.source)
        except ConfigError as exc:
            self.reload_ok = False
            log.error("configuration reload rejected, keeping the running one:\n%s", exc)
            return False
        try:
            self._apply_web(new.monitor)
        except (OSError, ssl.SSLError) as exc:
            self.reload_ok = False
            log.error("configuration reload rejected, keeping the running one: TLS certificate: %s", exc)
            return False
        watched = monitored(new.cameras)
        cameras = {c.id: c for c in watched}
        inventory_changed = new.cameras != self.config.cameras or new.coverage != self.config.coverage
        self.plans = plans_of(watched)
        self.tracker.replace_inventory(cameras, plans=self.plans)
        self.exporter.invalidate()
        self._recorded = _recorded(self.plans)
        self.cluster_tracker.settings = new.monitor.clusters
        self.scheduler.set_cameras(watched, settings=new.monitor, plans=self.plans)
        self.scheduler.local_clock = LocalClock(new.reports.timezone)
        self.camera_events.set_cameras(self._event_cameras(watched), new.monitor.onvif_events)
        self.gb_links = _gb_links(watched)
        if self.gb is not None and new.gb28181 is not None:
            # Passwords, limits and intervals change at once; the section's presence and listen address are
            # fixed for the life of the process.
            self.gb.update(new.gb28181)
            self.gb.timezone = new.reports.timezone
            self.gb.relink(self.gb_links.__contains__, _gb_owners(new.cameras))
        self.config = new
        self.settings = new.monitor
        self._input_stamps = self._stamps(new)
        if inventory_changed and self._coverage_factory is not None and new.coverage is not None:
            if self._coverage_task is not None:
                self._coverage_task.cancel()  # a model of the old inventory is of no use any more
            self._coverage_task = self.jobs.spawn(self._build_coverage(), "coverage-build")
        self.reload_ok = True
        self.reload_timestamp = time.time()
        if inventory_changed:
            collector.settle()  # the old inventory collected, the new one frozen
        log.info("configuration reloaded: %d cameras", len(cameras))
        return True


def _log_cluster_change(change: ClusterChange) -> None:
    c = change.cluster
    what = f"{c.kind} {c.key}" if c.kind != "place" else f"cameras near {c.key}"
    if change.change == "started":
        onset = "down since before monitoring began" if c.onset == "before_monitoring" else "down together"
        log.info(
            "offline cluster %s started: %d cameras of %s in %s %s %s, %.0f%% of its monitored cameras "
            "unreachable: %s",
            *(c.cluster, len(c.cameras), what, c.county or "-", c.township or "-", onset, 100 * c.share),
            ", ".join(change.cameras),
        )
    elif change.change == "joined":
        log.info(
            "offline cluster %s: %s joined (%d cameras)", c.cluster, ", ".join(change.cameras), len(c.cameras)
        )
    else:
        alone = f"; still down, paging alone: {', '.join(change.cameras)}" if change.cameras else ""
        log.info("offline cluster %s ended: most of its cameras are back%s", c.cluster, alone)


def _recorded(plans: Mapping[str, Plan]) -> tuple[str, ...]:
    """The cameras with a kind that reads a recorder's disks (the exporter's ``recorder_disks``)."""
    return tuple(cid for cid, p in plans.items() if not DISK_KINDS_SET.isdisjoint((*p.kinds, *p.sources)))


def _gb_links(cameras: tuple[Camera, ...]) -> dict[str, str]:
    return {c.gb_id: c.id for c in cameras if c.gb_id}


def _gb_owners(cameras: tuple[Camera, ...]) -> dict[str, str]:
    """Channel id -> the device the ledger says owns it (``gb_device``)."""
    return {c.gb_id: c.gb_device for c in cameras if c.gb_id and c.gb_device}
