"""When each camera is probed: per-tier intervals with jitter, backoff for dead cameras, bounded concurrency.

APScheduler's AsyncIOScheduler drives one dispatch job per tier; each camera keeps its own due time per
probe kind in a heap, so 10^4–10^5 cameras cost one heap pop each when due, not one scheduler job each.
A camera is never probed twice at once, and each camera's round is its own task, so a hanging camera
delays nobody else.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import random
import time
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from camwatch.config.models import Camera, MonitorSettings
from camwatch.monitor.daylight import LocalClock
from camwatch.monitor.live import Lateness
from camwatch.monitor.probes.base import TIMEOUT, BaselineStore, MemoryBaselines, ProbeCaches, ProbeResult
from camwatch.monitor.probes.registry import SPEC, SPECS, Plan, ProbeKinds
from camwatch.monitor.probes.registry import plan as plan_of
from camwatch.monitor.sweep import SnapshotSink, probe_camera

if TYPE_CHECKING:
    from camwatch.monitor.gb28181.platform import Platform

log = logging.getLogger(__name__)

OnProbed = Callable[[Camera, Mapping[str, ProbeResult], float], None]
LIVENESS_SPREAD = 10.0  # seconds over which a new fleet's first probes are spread
VIDEO_RETRY = 15.0  # a gated check (video, snapshot) that found its gate full is retried this much later


class ProbeSlotsFull(RuntimeError):
    """Every probe slot is in use: an on-demand probe now would exceed ``concurrency``."""


@dataclass(slots=True)
class _Plan:
    camera: Camera
    plan: Plan  # which kinds apply and which runs liveness, from the inventory
    due: dict[str, float] = field(default_factory=dict)  # probe kind -> next due (monotonic seconds)
    down_rounds: int = 0  # consecutive failed liveness rounds, for backoff
    busy: bool = False
    decoding: bool = False  # its gated checks run (video, snapshot: past the liveness part of a round)
    only: frozenset[str] | None = None  # run_once(kinds=...): the next round runs only these


class Scheduler:
    """Probes cameras when due and hands each round's results to ``on_probed``."""

    def __init__(
        self,
        settings: MonitorSettings,
        cameras: Iterable[Camera],
        on_probed: OnProbed,
        *,
        baselines: BaselineStore | None = None,
        snapshot_sink: SnapshotSink | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        local_clock: LocalClock | None = None,
        plans: Mapping[str, Plan] | None = None,
        probes: ProbeKinds | None = None,
        caches: ProbeCaches | None = None,
    ):
        self.settings = settings
        self.on_probed = on_probed
        self.baselines = baselines if baselines is not None else MemoryBaselines()
        self.snapshot_sink = snapshot_sink
        # The GB/T 28181 platform, handed to probes (a channel's recorder is its owning device); set by the
        # service once the platform exists.
        self.gb28181: Platform | None = None
        self.clock = clock
        # Day and night at each camera (``mono_by_day``): wall time and the fleet's zone; None: not judged.
        self.local_clock = local_clock
        self.rng = rng or random.Random()
        self.probes = probes  # the kinds it runs (default: the registry's)
        # What its probes keep between rounds (remembered challenges...): its owner's, else its own.
        self.caches = caches if caches is not None else ProbeCaches()
        self.lateness = Lateness()
        self.in_flight: set[asyncio.Task[Any]] = set()  # rounds and on-demand probes: each holds a slot
        self._plans: dict[str, _Plan] = {}
        self._heaps: dict[str, list[tuple[float, str]]] = {}
        # One gate per gated kind (``ProbeSpec.gate``), sized by its MonitorSettings field.
        self._gates = {
            s.name: asyncio.Semaphore(getattr(settings, s.gate)) for s in SPEC.values() if s.gate is not None
        }
        self._aps: AsyncIOScheduler | None = None
        self.set_cameras(cameras, plans=plans)

    # -- inventory ------------------------------------------------------------------------------------

    def set_cameras(
        self,
        cameras: Iterable[Camera],
        *,
        settings: MonitorSettings | None = None,
        plans: Mapping[str, Plan] | None = None,
    ) -> None:
        """Adopt a (new) inventory; cameras that stay keep their due times. ``plans``: each camera's plan as
        the inventory's owner computed it (derived here when not given)."""
        if settings is not None:
            self.settings = settings
        now = self.clock()
        kept: dict[str, _Plan] = {}
        for camera in cameras:
            planned = plans[camera.id] if plans is not None else plan_of(camera)
            plan = self._plans.get(camera.id)
            if plan is None:
                plan = _Plan(camera, planned)
                plan.due = self._first_due(plan, now)
            else:
                plan.camera, plan.plan = camera, planned
                plan.due = {k: plan.due.get(k, now) for k in planned.kinds}
            kept[camera.id] = plan
        self._plans = kept
        heaps: dict[str, list[tuple[float, str]]] = {}
        for plan in kept.values():
            if plan.due:
                heaps.setdefault(plan.camera.tier, []).append((min(plan.due.values()), plan.camera.id))
        for heap in heaps.values():
            heapq.heapify(heap)
        self._heaps = heaps
        if self._aps is not None:
            self._sync_jobs()

    def _first_due(self, plan: _Plan, now: float) -> dict[str, float]:
        """When a new camera is first probed: within the first seconds (people want to see the fleet soon),
        spread by a hash of the id so a big fleet does not start in one burst and restarts keep the pattern.
        Costly kinds need no spreading of their own: their gates spread them (see ``_round``)."""
        camera = plan.camera
        share = (zlib.crc32(camera.id.encode()) % 1000) / 1000.0
        # Without a liveness kind: spread over the first kind's interval.
        live = plan.plan.live or SPECS[0].name
        spread = min(self.settings.schedule(camera.tier, live).interval, LIVENESS_SPREAD)
        return dict.fromkeys(plan.plan.kinds, now + share * spread)

    @property
    def cameras(self) -> dict[str, Camera]:
        return {cid: p.camera for cid, p in self._plans.items()}

    # -- running --------------------------------------------------------------------------------------

    def start(self) -> None:
        self._aps = AsyncIOScheduler(event_loop=asyncio.get_running_loop())
        self._sync_jobs()
        self._aps.start()

    def _sync_jobs(self) -> None:
        assert self._aps is not None
        wanted = {f"dispatch:{tier}" for tier in self._heaps}
        for job in self._aps.get_jobs():
            if job.id.startswith("dispatch:") and job.id not in wanted:
                job.remove()
        for tier in self._heaps:
            shortest = min(self.settings.schedule(tier, k).interval for k in SPEC)
            tick = min(max(shortest / 20.0, 0.05), 1.0)
            self._aps.add_job(
                self.dispatch,
                IntervalTrigger(seconds=tick),
                args=[tier],
                id=f"dispatch:{tier}",
                replace_existing=True,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
            )

    async def stop(self) -> None:
        if self._aps is not None:
            self._aps.shutdown(wait=False)
            self._aps = None
        for task in list(self.in_flight):
            task.cancel()
        if self.in_flight:
            await asyncio.gather(*self.in_flight, return_exceptions=True)

    async def dispatch(self, tier: str) -> int:
        """The APScheduler job: start what is due (rounds ending also start the next ones at once)."""
        return self._start_due(tier)

    def _start_due(self, tier: str) -> int:
        """Start a round for every camera of ``tier`` that is due and idle, up to the concurrency bound.

        Cameras beyond the bound stay in the heap rather than as tasks parked on a semaphore: no memory
        per waiting camera, and lateness is measured honestly.
        """
        heap = self._heaps.get(tier)
        if not heap:
            return 0
        now = self.clock()
        started = 0
        while heap and heap[0][0] <= now and len(self.in_flight) < self.settings.concurrency:
            due, cid = heapq.heappop(heap)
            plan = self._plans.get(cid)
            if plan is None or plan.busy or min(plan.due.values(), default=due) > due:
                continue  # removed, running (re-queued when done) or a stale heap entry
            self._start(plan, due)
            started += 1
        return started

    def _start(self, plan: _Plan, due: float) -> asyncio.Task[None]:
        plan.busy = True
        task = asyncio.create_task(self._round(plan, due))
        self.in_flight.add(task)
        task.add_done_callback(self._round_done)
        return task

    def _round_done(self, task: asyncio.Task[Any]) -> None:
        self.in_flight.discard(task)
        if self._aps is None:
            return  # not scheduling (only run_once): nothing else is due
        # A slot is free: fill it now rather than at the next tick.
        for tier, heap in self._heaps.items():
            if heap and heap[0][0] <= self.clock():
                self._start_due(tier)
                if len(self.in_flight) >= self.settings.concurrency:
                    break

    async def run_once(
        self, camera_ids: Iterable[str] | None = None, *, kinds: Iterable[str] | None = None
    ) -> None:
        """Probe the given cameras (default: all) now — all their probe kinds, or only ``kinds`` — through
        the same rounds as scheduled probing, at most ``concurrency`` at a time; return when all are done."""
        now = self.clock()
        only = frozenset(kinds) if kinds is not None else None
        ids = camera_ids if camera_ids is not None else list(self._plans)
        queue = [p for cid in ids if (p := self._plans[cid]).due and not p.busy]
        queue.reverse()  # popped from the end: keep the callers' order
        left = len(queue)
        all_done = asyncio.Event()

        def settle() -> None:
            nonlocal left
            left -= 1
            if left == 0:
                all_done.set()

        def done(_: asyncio.Task[None]) -> None:
            settle()
            fill()

        def fill() -> None:
            while queue and len(self.in_flight) < self.settings.concurrency:
                plan = queue.pop()
                if plan.busy:  # a scheduled round got there first: it counts
                    settle()
                    continue
                for kind in plan.due:
                    if only is None or kind in only:
                        plan.due[kind] = now
                plan.only = only
                self._start(plan, now).add_done_callback(done)

        fill()
        if left > 0:
            await all_done.wait()

    async def probe_now(self, camera: Camera, kinds: Iterable[str], timeout: float) -> dict[str, ProbeResult]:
        """Probe ``camera`` now for a caller (``/probe``) within the bounds of scheduled rounds: it takes one
        of the ``concurrency`` slots (``ProbeSlotsFull`` when none is free) and decodes only through the
        video gate, waiting for a decoder within ``timeout`` (capped by the probes' own timeouts)."""
        if len(self.in_flight) >= self.settings.concurrency:
            raise ProbeSlotsFull(f"all {self.settings.concurrency} probe slots are in use")
        known = self._plans.get(camera.id)
        planned = known.plan if known is not None and known.camera is camera else plan_of(camera)
        task = asyncio.create_task(self._on_demand(camera, planned, tuple(kinds), timeout))
        self.in_flight.add(task)
        task.add_done_callback(self._round_done)
        return await task

    async def _on_demand(
        self, camera: Camera, planned: Plan, kinds: tuple[str, ...], timeout: float
    ) -> dict[str, ProbeResult]:
        live = planned.live
        gated = [k for k in kinds if k in self._gates and k != live]
        first = [k for k in kinds if k not in gated]
        if gated and live and live not in first:
            first.append(live)  # a gated check only follows a camera that answers, as in a round
        # Never longer than the probes' own deadlines together (plus a second), whatever the caller allows.
        own = sum(self.settings.schedule(camera.tier, k).timeout for k in {*first, *kinds})
        timeout = min(timeout, own + 1.0)
        try:
            async with asyncio.timeout(timeout):
                results = await probe_camera(
                    camera,
                    self.settings,
                    kinds=first,
                    baselines=self.baselines,
                    plan=planned,
                    probes=self.probes,
                    caches=self.caches,
                    gb28181=self.gb28181,
                    local_clock=self.local_clock,
                )
                alive = results.get(live) if live else None
                for kind in gated if live is None or (alive is not None and alive.answered) else ():
                    results.update(await self._gated(kind, camera, planned, results))
                return results
        except TimeoutError:
            return {k: ProbeResult(k, False, TIMEOUT, timeout, error="scrape timeout reached") for k in kinds}

    async def _gated(
        self,
        kind: str,
        camera: Camera,
        planned: Plan,
        previous: Mapping[str, ProbeResult],
        snapshot_sink: SnapshotSink | None = None,
    ) -> dict[str, ProbeResult]:
        """A gated probe (video, snapshot), holding one of its gate's places (``video_concurrency``...)."""
        async with self._gates[kind]:
            return await probe_camera(
                camera,
                self.settings,
                kinds=[kind],
                previous=previous,
                baselines=self.baselines,
                snapshot_sink=snapshot_sink,
                local_clock=self.local_clock,
                plan=planned,
                probes=self.probes,
                caches=self.caches,
                gb28181=self.gb28181,
            )

    async def _round(self, plan: _Plan, due: float) -> None:
        camera, planned = plan.camera, plan.plan
        live = planned.live
        only, plan.only = plan.only, None
        later: list[str] = []
        try:
            start = self.clock()
            self.lateness.observe(start - due)
            kinds = [k for k, t in plan.due.items() if t <= start + 0.001 and (only is None or k in only)]
            gated = [k for k in kinds if k in self._gates and k != live]
            for kind in gated:
                if plan.decoding or self._gates[kind].locked():
                    # Never hold a camera (and its liveness) waiting for its gate: try again shortly.
                    kinds.remove(kind)
                    plan.due[kind] = start + self.rng.uniform(1.0, VIDEO_RETRY)
            if live and kinds and live not in kinds:
                kinds.append(live)  # the other probes only make sense on a camera that answers
            results = await probe_camera(
                camera,
                self.settings,
                kinds=[k for k in kinds if k not in gated],
                baselines=self.baselines,
                local_clock=self.local_clock,
                plan=planned,
                probes=self.probes,
                caches=self.caches,
                gb28181=self.gb28181,
            )
            alive = results.get(live) if live is not None else None
            # A camera with no scheduled liveness (GB/T 28181 alone: its devices report in) still gets its
            # gated checks that do not need a picture (recording).
            if (alive is not None and alive.answered) or live is None:
                later = [k for k in gated if k in kinds]
            self._reschedule(plan, start, kinds, results)
            # Liveness is recorded now, not after a decode that may take its whole timeout.
            self._report(camera, results)
            plan.decoding = bool(later)
        finally:
            plan.busy = False
            if self._plans.get(camera.id) is plan and plan.due:
                heapq.heappush(self._heaps.setdefault(camera.tier, []), (min(plan.due.values()), camera.id))
        if not later:
            return
        # The camera's next liveness rounds go on while its gated checks run (``plan.decoding`` keeps a second
        # one out); this task stays in flight, so they still count against ``concurrency``.
        try:
            for kind in later:
                # A gated check holds a slot for seconds: it waits on its own gate, never on liveness's.
                self._report(camera, await self._gated(kind, camera, planned, results, self.snapshot_sink))
        finally:
            plan.decoding = False

    def _report(self, camera: Camera, results: Mapping[str, ProbeResult]) -> None:
        if not results:
            return
        try:
            self.on_probed(camera, results, time.time())
        except Exception:  # a bookkeeping bug must not stop probing
            log.exception("handling results of camera %s failed", camera.id)

    def _reschedule(
        self, plan: _Plan, start: float, kinds: list[str], results: Mapping[str, ProbeResult]
    ) -> None:
        camera = plan.camera
        live = plan.plan.live
        if live in kinds:
            plan.down_rounds = 0 if results.get(live) and results[live].answered else plan.down_rounds + 1
        for kind in kinds:
            sched = self.settings.schedule(camera.tier, kind)
            interval = sched.interval
            if kind == live and plan.down_rounds > 1:
                # Back off from a dead camera, but never beyond the down-interval (nor below the interval).
                cap = max(self.settings.backoff.max_interval, interval)
                interval = min(interval * self.settings.backoff.factor ** (plan.down_rounds - 1), cap)
            jitter = interval * sched.jitter * (self.rng.random() - 0.5)
            plan.due[kind] = start + interval + jitter
        if live and plan.down_rounds:
            # While down only liveness is worth probing; the others wait until it is back.
            for kind in plan.due:
                if kind != live:
                    plan.due[kind] = max(plan.due[kind], plan.due[live])
