"""The long-running monitor: scheduler + debounced state + SQLite history + exporter, with safe reloads."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from aiohttp import web

from camwatch.config.errors import ConfigError
from camwatch.config.models import Camera, Config
from camwatch.monitor.clusters import DownCamera, offline_clusters
from camwatch.monitor.exporter import Exporter
from camwatch.monitor.identity import Identity, track_identity
from camwatch.monitor.probes.base import ProbeResult
from camwatch.monitor.scheduler import Scheduler
from camwatch.monitor.snapshot import ClusterView, CoverageView, Snapshot
from camwatch.monitor.snapshots import SnapshotStore
from camwatch.monitor.state import Event, StateStore, StoredBaselines
from camwatch.monitor.sweep import probe_camera
from camwatch.monitor.tracker import Tracker
from camwatch.monitor.web import make_app, serve

log = logging.getLogger(__name__)

FLUSH_INTERVAL = 1.0
WATCH_INTERVAL = 5.0
CLUSTER_INTERVAL = 5.0
MAINTENANCE_INTERVAL = 15.0
# Recompute effective coverage soon after this share of cameras changed state, not only on its schedule.
COVERAGE_CHANGE_SHARE = 0.02


class Service:
    """Monitors ``config.cameras`` until stopped; ``reload`` swaps in a new config without losing state."""

    def __init__(
        self,
        config: Config,
        *,
        loader: Callable[[Path], Config] | None = None,
        coverage_factory: Callable[[Config], Any] | None = None,
    ):
        self.config = config
        self.settings = config.monitor
        self._loader = loader
        self._coverage_factory = coverage_factory
        self.store = StateStore(config.state_path)
        self.tracker = Tracker({c.id: c for c in config.cameras}, self.settings.debounce, self.store.load())
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
            config.cameras,
            self._on_probed,
            baselines=self.baselines,
            snapshot_sink=self.snapshots.put if self.snapshots else None,
        )
        self.probes_total: Counter[tuple[str, str]] = Counter()
        self.clusters: list[ClusterView] = []
        self.coverage: list[CoverageView] = []
        self.maintenance: frozenset[str] = frozenset()
        self.reload_ok = True
        self.reload_timestamp = time.time()
        self.changes_since_coverage = 0
        self._coverage_model: Any = None
        self._coverage_task: asyncio.Task[None] | None = None
        self.exporter = Exporter(self.snapshot)
        self.registry = self.exporter.registry
        self._runner: web.AppRunner | None = None
        self._input_stamps: dict[Path, tuple[float, int] | None] = {}
        self.started = False

    # -- lifecycle ------------------------------------------------------------------------------------

    async def start(self) -> None:
        self.store.begin_run()
        self.scheduler.start()
        self.scheduler.add_job(self.flush, FLUSH_INTERVAL, "state-flush")
        self.scheduler.add_job(self.update_clusters, CLUSTER_INTERVAL, "clusters")
        self.scheduler.add_job(self.refresh_maintenance, MAINTENANCE_INTERVAL, "maintenance")
        if self._loader is not None:
            self._input_stamps = self._stamps(self.config)
            self.scheduler.add_job(self.watch_inputs, WATCH_INTERVAL, "watch-config")
        await self.refresh_maintenance()
        if self.config.coverage is not None and self._coverage_factory is not None:
            self.scheduler.add_job(
                self.recompute_coverage, self.config.coverage.recompute_interval, "coverage"
            )
            self._coverage_task = asyncio.create_task(self._build_coverage())
        self._runner = await serve(make_app(self, self.settings.web), self.settings.listen, self.settings.web)
        self.started = True
        log.info("camwatch monitoring %d cameras; metrics at %s/metrics", len(self.config.cameras), self.url)

    async def stop(self) -> None:
        await self.scheduler.stop()
        if self._coverage_task is not None:
            self._coverage_task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
        await asyncio.to_thread(self.store.close)
        self.started = False

    @property
    def url(self) -> str:
        scheme = "https" if self.settings.web.tls_cert_file else "http"
        return f"{scheme}://{self.settings.listen}"

    # -- results --------------------------------------------------------------------------------------

    def _on_probed(self, camera: Camera, results: Mapping[str, ProbeResult], now: float) -> None:
        for name, r in results.items():
            self.probes_total[(name, r.status)] += 1
        transition = self.tracker.observe(camera.id, results, now)
        track = self.tracker.tracks.get(camera.id)
        if track is None:
            return
        self.store.stage(track.stored(), transition)
        for kind, detail in track_identity(self.identities, camera.id, results):
            log.warning("camera %s: %s %s", camera.id, kind, detail)
            self.events_total[(camera.id, kind)] += 1
            self.store.stage_event(Event(camera.id, now, kind, detail))
        if (ident := self.identities.get(camera.id)) is not None and "onvif" in results:
            self.store.stage_identity(camera.id, ident.serial, ident.firmware, ident.clock_offset, now)
        if transition is not None:
            self.changes_since_coverage += 1
            if self._coverage_model is not None and self.changes_since_coverage >= max(
                1, COVERAGE_CHANGE_SHARE * len(self.tracker.tracks)
            ):
                self.changes_since_coverage = 0
                asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(self.recompute_coverage()))

    async def flush(self) -> None:
        await asyncio.to_thread(self.store.flush)

    def update_clusters(self) -> None:
        down = [
            DownCamera(t.camera, t.since)
            for t in self.tracker.tracks.values()
            if t.up is False and t.camera.id not in self.maintenance
        ]
        self.clusters = offline_clusters(down, self.settings.clusters)

    async def refresh_maintenance(self) -> None:
        now = time.time()
        windows = await asyncio.to_thread(lambda: list(self.store.maintenance_windows()))
        self.maintenance = frozenset(
            c for c, start, end in windows if start <= now and (end is None or end > now)
        )

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
        status = {cid: bool(t.up) for cid, t in self.tracker.tracks.items() if t.up is not None}
        rows = await asyncio.to_thread(model.measure, status)
        self.coverage = [
            CoverageView(r["area"], r["category"], r["ratio"], r["effective_ratio"], r["target"])
            for r in rows
        ]

    # -- for the exporter and web layer ---------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        return Snapshot(
            tracks=self.tracker.tracks,
            probes_total=self.probes_total,
            lateness=self.scheduler.lateness,
            clusters=self.clusters,
            coverage=self.coverage,
            maintenance=self.maintenance,
            events_total=self.events_total,
            state_healthy=self.store.healthy,
            state_write_errors=self.store.write_errors,
            config_reload_ok=self.reload_ok,
            config_reload_timestamp=self.reload_timestamp,
        )

    def camera(self, camera_id: str) -> Camera | None:
        track = self.tracker.tracks.get(camera_id)
        return track.camera if track else None

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
        try:
            async with asyncio.timeout(timeout):
                return await probe_camera(camera, self.settings, kinds=kinds, baselines=self.baselines)
        except TimeoutError:
            return {
                k: ProbeResult(k, False, "timeout", timeout, error="scrape timeout reached") for k in kinds
            }

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

    def reload(self, new: Config | None = None) -> bool:
        """Apply a new config (or re-read the file); an invalid one is rejected and the running one stays.

        The state database path and listen address are fixed for the life of the process.
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
        cameras = {c.id: c for c in new.cameras}
        inventory_changed = new.cameras != self.config.cameras or new.coverage != self.config.coverage
        self.tracker.replace_inventory(cameras)
        self.scheduler.set_cameras(new.cameras, settings=new.monitor)
        self.config = new
        self.settings = new.monitor
        self._input_stamps = self._stamps(new)
        if inventory_changed and self._coverage_factory is not None and new.coverage is not None:
            self._coverage_task = asyncio.create_task(self._build_coverage())
        self.reload_ok = True
        self.reload_timestamp = time.time()
        log.info("configuration reloaded: %d cameras", len(cameras))
        return True
