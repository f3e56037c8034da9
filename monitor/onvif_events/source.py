"""The cameras' own analytics as a status source: a PullPoint subscription per camera with an ``onvif_host``,
pulled every ``monitor.onvif_events.interval``, and the ``camwatch_camera_event`` families.

It runs beside the probe scheduler, never in it: each camera has one task that sleeps, takes a slot of the
source's own concurrency gate, and makes one bounded exchange (subscribe, renew or pull, each under
``timeout``). A camera that hangs, floods or refuses costs its own task that time and nothing else; what it
did is counted. The exporter reads plain dicts (``flags``, the counters) at scrape time.

What the camera says reports in as an ``onvif_events`` result (``report``), only when it changes: its
success is the subscription's health, and a storage failure the camera reports raises ``storage_fault``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from camwatch.config.models import Camera, OnvifEventSettings
from camwatch.monitor.onvif_events.pullpoint import EventsWsdl, PullPoint, ReplyTooLarge
from camwatch.monitor.onvif_events.vocab import EMPTY, EVENT_NAMES, EventState, fold
from camwatch.monitor.probes.base import INTERNAL_ERROR, OK, TIMEOUT, ProbeResult
from camwatch.monitor.probes.onvif import OnvifFailed

log = logging.getLogger(__name__)

NAME = "onvif_events"
# What a subscription does, counted (``camwatch_onvif_event_subscriptions_total{result}``).
SUBSCRIPTION_RESULTS = ("created", "renewed", "failed", "renew_failed", "lost")
# What was dropped (``camwatch_onvif_event_dropped_total{reason}``): messages beyond the limit, replies over
# the size cap, pulls that did not return in time.
DROP_REASONS = ("over_limit", "too_large", "timeout")
Report = Callable[[Camera, ProbeResult, float], None]


@dataclass(slots=True)
class _Watch:
    """One camera's subscription and what it said."""

    camera: Camera
    task: asyncio.Task[None] | None = None
    pullpoint: PullPoint | None = None
    state: EventState = EMPTY
    reported: tuple[str, tuple[str, ...]] | None = None
    failures: int = 0  # rounds failed in a row: the pause before the next doubles with each


def _login(camera: Camera) -> tuple[object, ...]:
    return camera.onvif_host, camera.onvif_port, camera.username, camera.password


class CameraEventSource:
    """Subscribes to every camera with an ``onvif_host`` and keeps what each says holds."""

    def __init__(self, settings: OnvifEventSettings, cameras: Iterable[Camera], report: Report) -> None:
        self.settings = settings
        self._report = report
        self._watches: dict[str, _Watch] = {}
        self._gate = asyncio.Semaphore(settings.concurrency)
        self._running = False
        self._ending: set[asyncio.Task[None]] = set()
        self._wsdl = EventsWsdl()
        self.messages: Counter[str] = Counter({e: 0 for e in EVENT_NAMES})
        self.dropped: Counter[str] = Counter({r: 0 for r in DROP_REASONS})
        self.subscriptions: Counter[str] = Counter({r: 0 for r in SUBSCRIPTION_RESULTS})
        self._cameras = [c for c in cameras if c.onvif_host]

    # -- lifecycle ------------------------------------------------------------------------------------

    def start(self) -> None:
        self._running = True
        self.set_cameras(self._cameras, self.settings)

    async def stop(self) -> None:
        """Stop every camera's task, then unsubscribe (a courtesy: ``concurrency`` at a time, all within one
        ``timeout``; the cameras drop the rest at their termination time) and close."""
        self._running = False
        watches = list(self._watches.values())
        self._watches = {}
        await asyncio.gather(*(self._cancel(w) for w in watches))
        try:
            async with asyncio.timeout(self.settings.timeout):
                await asyncio.gather(*(self._unsubscribe(w) for w in watches), *self._ending)
        except TimeoutError:
            pass
        finally:
            await asyncio.gather(*(self._close(w) for w in watches))

    def set_cameras(self, cameras: Iterable[Camera], settings: OnvifEventSettings) -> None:
        """A reload: new cameras get a task, removed ones are unsubscribed, those whose address or login
        changed start over; the rest keep their subscription (and take the new ledger fields)."""
        if settings.concurrency != self.settings.concurrency:
            self._gate = asyncio.Semaphore(settings.concurrency)  # rounds holding the old one finish on it
        self.settings = settings
        self._cameras = [c for c in cameras if c.onvif_host] if settings.enabled else []
        if not self._running:
            return
        wanted = {c.id: c for c in self._cameras}
        for cid, watch in list(self._watches.items()):
            camera = wanted.get(cid)
            if camera is None or _login(camera) != _login(watch.camera):
                del self._watches[cid]
                self._spawn_end(watch)
            else:
                watch.camera = camera
        for cid, camera in wanted.items():
            if cid not in self._watches:
                watch = self._watches[cid] = _Watch(camera)
                watch.task = asyncio.get_running_loop().create_task(self._run(watch), name=f"{NAME}-{cid}")

    def _spawn_end(self, watch: _Watch) -> None:
        task = asyncio.get_running_loop().create_task(self._end(watch))
        self._ending.add(task)
        task.add_done_callback(self._ending.discard)

    async def _end(self, watch: _Watch) -> None:
        """One camera gone from the inventory: its task stopped, its subscription ended and closed."""
        await self._cancel(watch)
        try:
            async with asyncio.timeout(self.settings.timeout):
                await self._unsubscribe(watch)
        except TimeoutError:
            pass
        finally:
            await self._close(watch)

    @staticmethod
    async def _cancel(watch: _Watch) -> None:
        if watch.task is not None:
            watch.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch.task

    async def _unsubscribe(self, watch: _Watch) -> None:
        if watch.pullpoint is not None:
            async with self._gate:
                with contextlib.suppress(OnvifFailed):  # the camera drops it at its termination time anyway
                    await watch.pullpoint.unsubscribe()

    @staticmethod
    async def _close(watch: _Watch) -> None:
        if watch.pullpoint is not None:
            pullpoint, watch.pullpoint = watch.pullpoint, None
            await pullpoint.close()

    # -- what the exporter reads ----------------------------------------------------------------------

    def flags(self, now: float | None = None) -> dict[str, dict[str, bool]]:
        """camera → event → whether the camera says it holds, for the events each camera has spoken of."""
        now = time.time() if now is None else now
        out = {}
        for cid, watch in self._watches.items():
            if flags := watch.state.flags(now):
                out[cid] = flags
        return out

    @property
    def active(self) -> int:
        return sum(1 for w in self._watches.values() if w.pullpoint is not None)

    # -- one camera -----------------------------------------------------------------------------------

    async def _run(self, watch: _Watch) -> None:
        # Spread the first subscriptions over an interval.
        await asyncio.sleep(random.uniform(0, min(self.settings.interval, 30.0)))
        while True:
            settings = self.settings
            started = time.monotonic()
            async with self._gate:
                try:
                    status, error = await self._round(watch)
                except Exception as exc:  # a bug must not end the camera's subscription for good
                    what = type(exc).__name__  # not its message: that may quote the camera's reply
                    log.error("camera %s: ONVIF events failed on camwatch's side: %s", watch.camera.id, what)
                    log.debug("the failure's traceback", exc_info=True)
                    await self._drop(watch)
                    status, error = INTERNAL_ERROR, f"camwatch: {what}"
            self._report_if_changed(watch, status, error, time.monotonic() - started)
            # A camera without events, or one that hangs or refuses, is asked less often: up to the lifetime.
            watch.failures = 0 if status == OK else min(watch.failures + 1, 16)
            interval = min(
                settings.interval * 2**watch.failures, max(settings.interval, settings.subscription)
            )
            pause = interval * random.uniform(0.9, 1.1) - (time.monotonic() - started)
            await asyncio.sleep(max(pause, settings.interval / 10))

    async def _round(self, watch: _Watch) -> tuple[str, str | None]:
        """Subscribe if needed, renew if due, then pull once: the subscription's status and error."""
        s = self.settings
        fresh = watch.pullpoint is None
        try:
            if watch.pullpoint is None:
                watch.pullpoint = PullPoint(watch.camera, max_reply_bytes=s.max_reply_bytes, wsdl=self._wsdl)
                try:
                    async with asyncio.timeout(s.timeout):
                        await watch.pullpoint.subscribe(s.subscription)
                except (OnvifFailed, TimeoutError):
                    self.subscriptions["failed"] += 1
                    raise
                self.subscriptions["created"] += 1
            pullpoint = watch.pullpoint
            margin = max(2 * s.interval + s.timeout, pullpoint.lifetime / 5)
            if pullpoint.expires_at - time.monotonic() < margin:
                try:
                    async with asyncio.timeout(s.timeout):
                        await pullpoint.renew(s.subscription)
                except (OnvifFailed, TimeoutError):
                    self.subscriptions["renew_failed"] += 1
                    raise
                self.subscriptions["renewed"] += 1
            try:
                async with asyncio.timeout(s.wait + s.timeout):
                    pulled = await pullpoint.pull(s.wait, s.message_limit)
            except TimeoutError:
                self.dropped["timeout"] += 1
                raise
            except ReplyTooLarge:
                self.dropped["too_large"] += 1
                raise
            except OnvifFailed:  # the camera no longer knows the subscription (rebooted, expired): anew
                self.subscriptions["lost"] += 1
                raise
        except (OnvifFailed, TimeoutError) as exc:
            await self._drop(watch)
            if isinstance(exc, TimeoutError):
                return TIMEOUT, f"no answer within {s.wait + s.timeout:g}s"
            return exc.status, exc.reason
        for notice in pulled.notices:
            self.messages[notice.event] += 1
        self.dropped["over_limit"] += max(0, pulled.received - len(pulled.notices))
        # A new subscription starts from the camera's Initialized messages: the old states are replaced (kept
        # until then, so the camera's series have no gap).
        watch.state = fold(EMPTY if fresh else watch.state, pulled.notices, time.time(), s.hold)
        if pulled.remaining is not None and pulled.remaining > 0:
            pullpoint.expires_at = min(pullpoint.expires_at, time.monotonic() + pulled.remaining)
        return OK, None

    async def _drop(self, watch: _Watch) -> None:
        """Forget a subscription that failed (it is made anew next round); what it said is kept until then."""
        if watch.pullpoint is not None:
            pullpoint, watch.pullpoint = watch.pullpoint, None
            await pullpoint.close()

    def _report_if_changed(self, watch: _Watch, status: str, error: str | None, seconds: float) -> None:
        faults = ("storage_fault",) if watch.state.active("storage_failure", time.time()) else ()
        if (status, faults) == watch.reported:
            return
        watch.reported = (status, faults)
        result = ProbeResult(NAME, status == OK, status, seconds, error=error, faults=faults)
        self._report(watch.camera, result, time.time())


class CameraEventCollector(Collector):
    """``camwatch_camera_event{camera,event}`` and the source's counters, read from plain data at scrape."""

    def __init__(self, source: CameraEventSource) -> None:
        self._source = source

    def describe(self) -> Iterable[Metric]:
        return []  # keeps the registry from calling collect() at registration

    def collect(self) -> Iterable[Metric]:
        source = self._source
        event = GaugeMetricFamily(
            "camwatch_camera_event",
            "1 while the camera's own analytics say the condition holds (ONVIF event), 0 after it clears.",
            labels=["camera", "event"],
        )
        for camera, flags in sorted(source.flags().items()):
            for name, on in flags.items():
                event.add_metric([camera, name], 1 if on else 0)
        messages = _counters(
            "camwatch_onvif_event_messages",
            "ONVIF event messages read, by event (other: topics not named).",
            "event",
            EVENT_NAMES,
            source.messages,
        )
        dropped = _counters(
            "camwatch_onvif_event_dropped",
            "ONVIF event messages or pulls dropped: over_limit messages, too_large replies, timeout pulls.",
            "reason",
            DROP_REASONS,
            source.dropped,
        )
        subscriptions = _counters(
            "camwatch_onvif_event_subscriptions",
            "ONVIF PullPoint subscriptions: created, renewed, failed, renew_failed, lost.",
            "result",
            SUBSCRIPTION_RESULTS,
            source.subscriptions,
        )
        active = GaugeMetricFamily(
            "camwatch_onvif_event_subscriptions_active", "Live ONVIF PullPoint subscriptions."
        )
        active.add_metric([], source.active)
        return [event, messages, dropped, subscriptions, active]


def _counters(
    name: str, documentation: str, label: str, keys: Iterable[str], counts: Mapping[str, float]
) -> CounterMetricFamily:
    """A counter family of one label: a sample for each of ``keys``, in their fixed order, zeros included."""
    family = CounterMetricFamily(name, documentation, labels=[label])
    for key in keys:
        family.add_metric([key], counts[key])
    return family
