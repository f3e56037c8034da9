"""Run one camera's due probes, cheap ones first, and one-shot sweeps over many cameras."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from camwatch.config.models import Camera, MonitorSettings
from camwatch.config.redact import scrub
from camwatch.monitor.daylight import LocalClock
from camwatch.monitor.outcome import CameraResult, combine
from camwatch.monitor.probes.base import (
    ERROR,
    TIMEOUT,
    BaselineStore,
    MemoryBaselines,
    ProbeCaches,
    ProbeContext,
    ProbeResult,
)
from camwatch.monitor.probes.registry import SPEC, SPECS, Plan, ProbeKinds
from camwatch.monitor.probes.registry import plan as plan_of

if TYPE_CHECKING:
    from camwatch.monitor.gb28181.platform import Platform

log = logging.getLogger(__name__)

SnapshotSink = Callable[[str, bytes, str | None], None]


class _SafetyNet:
    """Deadlines of every running probe on one event loop, armed by one shared tick instead of one timer each.

    Nearly every probe ends long before its safety deadline, so a deadline is only armed (a timer on its
    ``asyncio.Timeout``) once a tick finds it due before the next tick; until then it is a dict entry. The
    tick runs only while some deadline waits, and arms each one before it is due, so none fires late.
    """

    TICK = 1.0  # seconds

    def __init__(self) -> None:
        self._waiting: dict[asyncio.Timeout, float] = {}
        self._tick: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def watch(self, timeout: asyncio.Timeout, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        if (
            loop is not self._loop
        ):  # its owner moved to another loop (tests): the old tick is gone with its own
            self._waiting, self._tick, self._loop = {}, None, loop
        if deadline - loop.time() <= self.TICK:
            timeout.reschedule(deadline)
            return
        self._waiting[timeout] = deadline
        if self._tick is None:
            self._tick = loop.call_later(self.TICK, self._arm_due)

    def release(self, timeout: asyncio.Timeout) -> None:
        self._waiting.pop(timeout, None)

    def _arm_due(self) -> None:
        loop = asyncio.get_running_loop()
        horizon = loop.time() + self.TICK
        for timeout in [t for t, deadline in self._waiting.items() if deadline <= horizon]:
            timeout.reschedule(self._waiting.pop(timeout))
        self._tick = loop.call_later(self.TICK, self._arm_due) if self._waiting else None


_KINDS = ProbeKinds()  # immutable: the registry's kinds, for callers that bring none
_NET = "safety-net"  # its key among the owner's ``ProbeCaches``


async def run_probe(
    name: str, camera: Camera, ctx: ProbeContext, kinds: ProbeKinds | None = None
) -> ProbeResult:
    """Run one probe (of ``kinds``, default the registry's) with a safety net: a probe bug or a missed
    deadline becomes a result, never a hang or an exception that crosses into the scheduler."""
    started = time.perf_counter()
    loop = asyncio.get_running_loop()
    net = ctx.caches.get(_NET, _SafetyNet)
    try:
        # Probes enforce ctx.timeout themselves; this outer bound only catches a probe that fails to.
        async with asyncio.timeout(None) as deadline:
            net.watch(deadline, loop.time() + ctx.timeout + 1.0)
            try:
                return await (kinds or _KINDS)[name](camera, ctx)
            finally:
                net.release(deadline)
    except TimeoutError:
        return ProbeResult(
            name, False, TIMEOUT, time.perf_counter() - started, error="probe deadline exceeded"
        )
    except Exception as exc:
        secret = camera.password.get_secret_value() if camera.password else None
        log.exception("probe %s for camera %s failed unexpectedly", name, camera.id)
        return ProbeResult(
            name,
            False,
            ERROR,
            time.perf_counter() - started,
            error=scrub(f"internal error: {type(exc).__name__}: {exc}", [secret]),
            internal=True,
        )


async def probe_camera(
    camera: Camera,
    settings: MonitorSettings,
    *,
    kinds: Iterable[str] | None = None,
    previous: Mapping[str, ProbeResult] | None = None,
    baselines: BaselineStore | None = None,
    snapshot_sink: SnapshotSink | None = None,
    local_clock: LocalClock | None = None,
    plan: Plan | None = None,
    probes: ProbeKinds | None = None,
    caches: ProbeCaches | None = None,
    gb28181: Platform | None = None,
) -> dict[str, ProbeResult]:
    """Run ``kinds`` (default: all applicable) for one camera, in order; returns the results of those run.

    ``plan``: the camera's plan, as its inventory's owner computed it (derived here when not given).
    ``caches``: what the probes keep between runs, the caller's (none kept past this call when not given).

    ``previous`` holds results of this round already taken (by an earlier call). A kind that ``needs_up``
    (video, snapshot) runs only when this round's liveness probe passed, which it brings along when that
    has not run: checking the picture of a dead camera costs a full timeout for nothing. ``local_clock``:
    the wall clock and fleet zone day and night are judged by (``mono_by_day``); ``None``: not judged.
    """
    plan = plan or plan_of(camera)
    caches = caches if caches is not None else ProbeCaches()
    wanted = set(plan.kinds if kinds is None else kinds)
    live = plan.live
    done: dict[str, ProbeResult] = dict(previous or {})
    if live and live not in done and any(SPEC[k].needs_up for k in wanted if k in SPEC):
        wanted.add(live)  # asked for a picture check alone (`/probe?module=video`): liveness comes first
    results: dict[str, ProbeResult] = {}
    for spec in SPECS:
        name = spec.name
        if name not in wanted:
            continue
        if spec.needs_up and name != live and not (live and done.get(live) and done[live].answered):
            continue
        ctx = ProbeContext(
            settings=settings.schedule(camera.tier, name),
            baselines=baselines if baselines is not None else MemoryBaselines(),
            previous=done,
            snapshot_sink=snapshot_sink,
            local_clock=local_clock,
            caches=caches,
            gb28181=gb28181,
        )
        results[name] = done[name] = await run_probe(name, camera, ctx, probes)
    return results


async def sweep(
    cameras: Sequence[Camera],
    settings: MonitorSettings,
    *,
    kinds: Iterable[str] | None = None,
    on_result: Callable[[CameraResult], Awaitable[None] | None] | None = None,
    local_clock: LocalClock | None = None,
    caches: ProbeCaches | None = None,
    plans: Mapping[str, Plan] | None = None,
) -> list[CameraResult]:
    """Probe every camera once, at most ``settings.concurrency`` at a time; results in input order.

    Each camera runs in its own task, so a hanging camera delays nobody else. ``caches``: the caller's, to
    keep what probes learn (a stream's challenge) for its next sweep; this sweep's own otherwise. ``plans``:
    the cameras' plans by id, as the caller computed them (derived here, once per camera, otherwise).
    """
    gate = asyncio.Semaphore(settings.concurrency)
    baselines = MemoryBaselines()
    caches = caches if caches is not None else ProbeCaches()
    kind_list = tuple(kinds) if kinds is not None else None

    async def one(camera: Camera) -> CameraResult:
        planned = plans[camera.id] if plans is not None else plan_of(camera)
        async with gate:
            probes = await probe_camera(
                camera,
                settings,
                kinds=kind_list,
                baselines=baselines,
                plan=planned,
                caches=caches,
                local_clock=local_clock,
            )
        result = combine(camera, probes, timestamp=time.time(), plan=planned)
        if on_result is not None:
            maybe = on_result(result)
            if maybe is not None:
                await maybe
        return result

    return list(await asyncio.gather(*(one(c) for c in cameras)))
