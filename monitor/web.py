"""HTTP endpoints: /metrics, /healthz and blackbox-style /probe?target=ID, on 127.0.0.1 by default.

Bounded against hostile clients: a request head must arrive within ``request_timeout``, at most
``max_connections`` are open at once, and bad requests are answered 400 and logged in a throttled line.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import math
import resource
import ssl
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol, cast

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Middleware
from aiohttp.web_protocol import RequestHandler
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from camwatch.config.models import Camera, MonitorSettings, WebSettings
from camwatch.monitor.exporter import Exporter
from camwatch.monitor.probes.base import ProbeResult
from camwatch.monitor.probes.registry import SPEC, Plan
from camwatch.monitor.scheduler import ProbeSlotsFull
from camwatch.monitor.snapshots import SnapshotStore

if TYPE_CHECKING:
    from camwatch.monitor.gb28181.platform import Platform

log = logging.getLogger(__name__)

PROBE_MODULES = ("all", *SPEC)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ERROR_LOG_INTERVAL = 60.0  # seconds: at most one log line per kind of bad request in this time
SCRAPE_TIMEOUT_HEADER = "X-Prometheus-Scrape-Timeout-Seconds"
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\nRetry-After: 1\r\n\r\n"
)


class MonitorApp(Protocol):
    """What the web layer needs from the running service."""

    settings: MonitorSettings
    exporter: Exporter

    snapshots: SnapshotStore | None

    # The GB/T 28181 platform when ``gb28181:`` is configured: ``/recordings`` asks a channel's device there.
    gb: Platform | None

    def camera(self, camera_id: str) -> Camera | None: ...

    def plan(self, camera_id: str) -> Plan | None: ...

    def health(self) -> Mapping[str, object]: ...

    async def probe_now(
        self, camera: Camera, kinds: tuple[str, ...], timeout: float
    ) -> dict[str, ProbeResult]:
        """Probe within the scheduler's bounds; raises ``ProbeSlotsFull`` when they are reached."""
        ...


def check_password(stored: str, given: str) -> bool:
    """Verify ``given`` against a stored hash: ``bcrypt`` (``$2b$…``, as Prometheus' web config) when the
    bcrypt module is installed, else ``sha256:<hex>``."""
    if stored.startswith("$2"):
        import bcrypt  # optional: only deployments that use bcrypt hashes need it

        return bool(bcrypt.checkpw(given.encode(), stored.encode()))
    if stored.startswith("sha256:"):
        digest = hashlib.sha256(given.encode()).hexdigest()
        return hmac.compare_digest(digest, stored.removeprefix("sha256:"))
    return False


def _basic_auth(settings: Callable[[], WebSettings]) -> Middleware:
    """Basic auth against the users of the settings in force (re-read per request, so a reload applies)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        users = settings().basic_auth_users
        if not users:
            return await handler(request)
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                user, password = "", ""
            stored = users.get(user)
            if stored is not None and check_password(stored, password):
                return await handler(request)
        return web.Response(
            status=401, text="unauthorized\n", headers={"WWW-Authenticate": 'Basic realm="camwatch"'}
        )

    return middleware


class _ProbeResults(Collector):
    """One /probe answer as metrics (blackbox style)."""

    def __init__(self, camera: str, results: Mapping[str, ProbeResult], elapsed: float):
        self.camera, self.results, self.elapsed = camera, results, elapsed

    def collect(self) -> Iterator[Metric]:
        success = GaugeMetricFamily(
            "camwatch_probe_success", "1 if the probe succeeded.", labels=["camera", "probe"]
        )
        duration = GaugeMetricFamily(
            "camwatch_probe_duration_seconds", "Probe duration.", labels=["camera", "probe"]
        )
        for name, r in self.results.items():
            success.add_metric([self.camera, name], 1 if r.success else 0)
            duration.add_metric([self.camera, name], r.duration_seconds)
        overall = GaugeMetricFamily("probe_success", "1 if every probe succeeded.")
        overall.add_metric([], 1 if self.results and all(r.success for r in self.results.values()) else 0)
        took = GaugeMetricFamily("probe_duration_seconds", "Time the whole /probe took.")
        took.add_metric([], self.elapsed)
        yield from (success, duration, overall, took)


def scrape_budget(header: str | None) -> float:
    """Seconds a /probe may take: Prometheus' scrape timeout less a margin (at least 0.5 s); unbounded
    without the header (the scheduler caps it by the probes' own timeouts). Raises ``ValueError`` with the
    reason for a value that is not a positive, finite number of seconds."""
    if header is None:
        return math.inf
    try:
        seconds = float(header)
    except ValueError:
        raise ValueError(
            f"{SCRAPE_TIMEOUT_HEADER} must be a number of seconds, got {header[:40]!r}"
        ) from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"{SCRAPE_TIMEOUT_HEADER} must be a positive, finite number of seconds")
    return max(seconds - 0.5, 0.5)


def make_app(service: MonitorApp) -> web.Application:
    """The endpoints; every web setting is read from ``service.settings.web`` per request, so a reload that
    changes users or the /probe rate limit applies at once."""

    def web_settings() -> WebSettings:
        return service.settings.web

    app = web.Application(middlewares=[_basic_auth(web_settings)])
    last_probe: dict[str, float] = {}
    last_asked: dict[str, float] = {}  # /recordings: camera -> when its device was last asked

    async def metrics(request: web.Request) -> web.StreamResponse:
        # Written in blocks, each awaited: probes go on while a slow scraper reads; no whole body is built.
        size, body = await service.exporter.exposition_blocks()
        response = web.StreamResponse(headers={"Content-Type": CONTENT_TYPE_LATEST})
        response.content_length = size
        await response.prepare(request)
        for block in body:
            await response.write(block)
            await asyncio.sleep(0)  # write() awaits only a full buffer: a fast reader would hold the loop
        await response.write_eof()
        return response

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response(dict(service.health()))

    async def probe(request: web.Request) -> web.Response:
        target = request.query.get("target", "")
        module = request.query.get("module", "all")
        camera = service.camera(target)
        if camera is None:
            return web.Response(status=400, text=f"unknown target {target[:200]!r}\n")
        if module not in PROBE_MODULES:
            return web.Response(
                status=400, text=f"unknown module {module[:40]!r}; one of {', '.join(PROBE_MODULES)}\n"
            )
        applicable = planned.kinds if (planned := service.plan(camera.id)) is not None else ()
        kinds = applicable if module == "all" else (module,)
        if module != "all" and module not in applicable:
            return web.Response(status=400, text=f"camera {target!r} has no {module} endpoint\n")
        try:
            budget = scrape_budget(request.headers.get(SCRAPE_TIMEOUT_HEADER))
        except ValueError as exc:
            return web.Response(status=400, text=f"{exc}\n")
        settings = web_settings()
        now = time.monotonic()
        # A scraper hammering /probe must not hammer the camera: one probe per camera per interval.
        if now - last_probe.get(camera.id, -1e9) < settings.probe_min_interval:
            return web.Response(
                status=429,
                text="probed too recently; retry later\n",
                headers={"Retry-After": str(int(settings.probe_min_interval) + 1)},
            )
        last_probe[camera.id] = now
        started = time.perf_counter()
        try:
            results = await service.probe_now(camera, tuple(kinds), budget)
        except ProbeSlotsFull as exc:
            del last_probe[camera.id]  # not probed: a retry may come at once
            return web.Response(status=503, text=f"{exc}; retry later\n", headers={"Retry-After": "1"})
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_ProbeResults(camera.id, results, time.perf_counter() - started))
        return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def snapshot(request: web.Request) -> web.Response:
        camera = service.camera(request.match_info["camera"])
        if camera is None:
            return web.Response(status=404, text="unknown camera\n")
        fault = request.query.get("fault")
        jpeg = service.snapshots.get(camera.id, fault) if service.snapshots is not None else None
        if jpeg is None:
            what = f"a {fault[:40]} frame" if fault else "an analysed frame"
            return web.Response(status=404, text=f"no {what} stored for camera {camera.id!r} yet\n")
        return web.Response(body=jpeg, content_type="image/jpeg", headers={"Cache-Control": "no-store"})

    app.router.add_get("/metrics", metrics)
    app.router.add_get("/snapshot/{camera}", snapshot)
    app.router.add_get("/healthz", healthz)

    async def recordings(request: web.Request) -> web.Response:
        """A GB/T 28181 camera's footage on one day (``?day=YYYY-MM-DD``, default the device's today), asked
        of the device owning its channel now: what ``camwatch recordings`` prints for such a camera."""
        from camwatch.monitor.gb28181.recorder import NotRegistered
        from camwatch.monitor.recordings import AnswerIncomplete, as_json_entry, gb_day_footage

        camera = service.camera(request.match_info["camera"])
        if camera is None:
            return _problem(404, "unknown camera")
        if camera.gb_id is None or service.gb is None:
            why = "no gb_id" if camera.gb_id is None else "no gb28181: platform"
            return _problem(400, f"camera {camera.id!r} is not asked through GB/T 28181 ({why})")
        try:
            day = date.fromisoformat(request.query["day"]) if "day" in request.query else None
        except ValueError:
            return _problem(400, "day must look like 2026-12-01")
        now = time.monotonic()
        # One question to a device per camera per probe_min_interval, whoever asks.
        if now - last_asked.get(camera.id, -1e9) < web_settings().probe_min_interval:
            return _problem(429, "asked too recently; retry later")
        last_asked[camera.id] = now
        try:
            found, asked = await gb_day_footage(service.gb, camera, service.settings.recording, day)
        except NotRegistered as exc:
            return _problem(503, str(exc))
        except AnswerIncomplete as exc:
            return _problem(502, str(exc))
        body = {**as_json_entry(camera.id, found), "device": asked.device, "clock": asked.clock}
        return web.json_response({**body, "record": asked.record}, dumps=_json)

    app.router.add_get("/probe", probe)
    app.router.add_get("/recordings/{camera}", recordings)
    return app


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _problem(status: int, text: str) -> web.Response:
    return web.json_response({"error": text}, status=status, dumps=_json)


def ssl_context(settings: WebSettings) -> ssl.SSLContext | None:
    if settings.tls_cert_file is None or settings.tls_key_file is None:
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(settings.tls_cert_file, settings.tls_key_file)
    return ctx


class ThrottledLog(logging.LoggerAdapter):
    """A log that writes at most one line per kind of trouble per ``interval``, with the count of lines held
    back since; a client's malformed request is one short warning line, never a traceback."""

    def __init__(self, logger: logging.Logger, interval: float = ERROR_LOG_INTERVAL):
        super().__init__(logger, {})
        self.interval = interval
        self._last: dict[str, float] = {}
        self._held: Counter[str] = Counter()

    def limited(
        self, level: int, kind: str, msg: str, *args: object, exc_info: BaseException | None = None
    ) -> None:
        now = time.monotonic()
        if now - self._last.get(kind, -math.inf) < self.interval:
            self._held[kind] += 1
            return
        self._last[kind] = now
        if held := self._held.pop(kind, 0):
            msg += f" ({held} more not logged in the last {self.interval:.0f} s)"
        self.logger.log(level, msg, *args, exc_info=exc_info)

    def log(self, level: int, msg: object, *args: object, exc_info: Any = None, **kwargs: Any) -> None:
        """aiohttp's server reports each failed request here (``exception`` and ``debug`` come through)."""
        exc = exc_info if isinstance(exc_info, BaseException) else sys.exc_info()[1] if exc_info else None
        if exc is None:
            self.logger.log(level, msg, *args, **kwargs)
        elif isinstance(exc, HttpProcessingError):
            # The client's fault (bad request line, header too long, bad header value): answered 400. Only
            # the reason, never the bytes aiohttp quotes after it (they may hold a header's credentials).
            reason = str(exc.message).partition(":")[0].strip()[:120] or type(exc).__name__
            peer = args[0] if args else "?"
            level = min(level, logging.WARNING)
            self.limited(
                level, type(exc).__name__, "bad HTTP request from %s (%s): %s", peer, exc.code, reason
            )
        else:
            self.limited(level, type(exc).__name__, str(msg), *args, exc_info=exc)


class _Refused(asyncio.Protocol):
    """A connection over the cap: told 503 and closed at once, so it holds no descriptor."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        cast(asyncio.Transport, transport).write(_BUSY)
        transport.close()


class _Gate:
    """Protocol factory over aiohttp's server that keeps at most ``cap`` connections. At the cap, the
    connection idle longest (no request in progress: a slow client's half-sent head, or keep-alive) is closed
    to make room, so slow clients cannot starve a scraper that asks at once; when every connection is busy
    with a request, the new one gets 503."""

    server: web.Server | None = None  # aiohttp's, once the runner is set up

    def __init__(self, cap: int, errors: ThrottledLog):
        self.cap, self.errors = cap, errors
        self._idle: dict[RequestHandler, None] = {}  # insertion order: idle longest first

    def __call__(self) -> asyncio.BaseProtocol:
        assert self.server is not None
        if len(self._idle) > 2 * self.cap:  # forget connections that closed by themselves
            self._idle = {h: None for h in self._idle if h.transport is not None}
        if len(self.server.connections) >= self.cap:
            oldest = next((h for h in self._idle if h.transport is not None), None)
            if oldest is None:
                self.errors.limited(
                    logging.WARNING, "cap", "web connection cap (%d) reached, all busy", self.cap
                )
                return _Refused()
            del self._idle[oldest]
            oldest.force_close()
            self.errors.limited(
                logging.WARNING,
                "evict",
                "web connection cap (%d) reached; closing idle connections",
                self.cap,
            )
        handler = self.server()
        self._idle[handler] = None
        return handler

    @web.middleware
    async def track(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Between request head and response a connection is busy: never closed to make room."""
        self._idle.pop(request.protocol, None)
        try:
            return await handler(request)
        finally:
            self._idle[request.protocol] = None


def connection_cap(configured: int) -> int:
    """``configured``, lowered to a quarter of the process's open-file limit so probes keep descriptors."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return configured
    return max(1, min(configured, soft // 4))


@dataclass
class Listener:
    """The running endpoint: an asyncio server feeding aiohttp's, which ``close`` stops."""

    runner: web.AppRunner
    server: asyncio.Server
    tls: ssl.SSLContext | None

    @property
    def url(self) -> str:
        """Where it listens (a reload that changes ``monitor.listen`` does not move it)."""
        host, port = self.server.sockets[0].getsockname()[:2]
        host = f"[{host}]" if ":" in host else host
        return f"{'https' if self.tls else 'http'}://{host}:{port}"

    async def close(self) -> None:
        self.server.close()
        await self.runner.cleanup()  # closes the open connections
        await self.server.wait_closed()


async def serve(app: web.Application, listen: str, settings: WebSettings) -> Listener:
    host, _, port = listen.rpartition(":")
    errors = ThrottledLog(logging.getLogger("aiohttp.server"))
    runner = web.AppRunner(
        app,
        access_log=None,
        handle_signals=False,
        handler_cancellation=True,  # a client that went away stops its /probe
        # aiohttp closes a connection with no complete request head after keepalive_timeout (since it
        # opened or since its last response): the header-read deadline. lingering_time bounds reading an
        # unread request body after the response.
        keepalive_timeout=settings.request_timeout,
        lingering_time=settings.request_timeout,
        logger=cast(logging.Logger, errors),
    )
    cap = connection_cap(settings.max_connections)
    if cap < settings.max_connections:
        log.warning(
            "monitor.web.max_connections lowered from %d to %d: a quarter of the open-file limit",
            settings.max_connections,
            cap,
        )
    gate = _Gate(cap, errors)
    app.middlewares.insert(0, gate.track)
    await runner.setup()
    gate.server = runner.server
    tls = ssl_context(settings)
    listening = await asyncio.get_running_loop().create_server(
        gate,
        host.strip("[]") or "127.0.0.1",
        int(port),
        ssl=tls,
        ssl_handshake_timeout=settings.request_timeout if tls else None,
        reuse_address=True,
    )
    return Listener(runner, listening, tls)
