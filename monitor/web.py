"""HTTP endpoints: /metrics, /healthz and blackbox-style /probe?target=ID, on 127.0.0.1 by default."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ssl
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Protocol

from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from camwatch.config.models import Camera, MonitorSettings, WebSettings
from camwatch.monitor.exporter import Exporter
from camwatch.monitor.probes.base import ProbeResult
from camwatch.monitor.probes.registry import SPEC
from camwatch.monitor.snapshots import SnapshotStore
from camwatch.monitor.sweep import applicable_probes

PROBE_MODULES = ("all", *SPEC)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class MonitorApp(Protocol):
    """What the web layer needs from the running service."""

    settings: MonitorSettings
    exporter: Exporter

    snapshots: SnapshotStore | None

    def camera(self, camera_id: str) -> Camera | None: ...

    def health(self) -> Mapping[str, object]: ...

    async def probe_now(
        self, camera: Camera, kinds: tuple[str, ...], timeout: float
    ) -> dict[str, ProbeResult]: ...


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


def _basic_auth(users: Mapping[str, str]) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
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


def make_app(service: MonitorApp, web_settings: WebSettings) -> web.Application:
    middlewares = [_basic_auth(web_settings.basic_auth_users)] if web_settings.basic_auth_users else []
    app = web.Application(middlewares=middlewares)
    last_probe: dict[str, float] = {}

    async def metrics(_: web.Request) -> web.Response:
        body = service.exporter.exposition()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response(dict(service.health()))

    async def probe(request: web.Request) -> web.Response:
        target = request.query.get("target", "")
        module = request.query.get("module", "all")
        camera = service.camera(target)
        if camera is None:
            return web.Response(status=400, text=f"unknown target {target!r}\n")
        if module not in PROBE_MODULES:
            return web.Response(
                status=400, text=f"unknown module {module!r}; one of {', '.join(PROBE_MODULES)}\n"
            )
        kinds = applicable_probes(camera) if module == "all" else (module,)
        if module != "all" and module not in applicable_probes(camera):
            return web.Response(status=400, text=f"camera {target!r} has no {module} endpoint\n")
        now = time.monotonic()
        # A scraper hammering /probe must not hammer the camera: one probe per camera per interval.
        if now - last_probe.get(camera.id, -1e9) < web_settings.probe_min_interval:
            return web.Response(
                status=429,
                text="probed too recently; retry later\n",
                headers={"Retry-After": str(int(web_settings.probe_min_interval) + 1)},
            )
        last_probe[camera.id] = now
        # Deadline from the scrape timeout (minus a margin), capped by each probe's own timeout.
        scrape = request.headers.get("X-Prometheus-Scrape-Timeout-Seconds")
        try:
            budget = max(float(scrape) - 0.5, 0.5) if scrape else float("inf")
        except ValueError:
            budget = float("inf")
        started = time.perf_counter()
        results = await service.probe_now(camera, tuple(kinds), budget)
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
            what = f"a {fault} frame" if fault else "an analysed frame"
            return web.Response(status=404, text=f"no {what} stored for camera {camera.id!r} yet\n")
        return web.Response(body=jpeg, content_type="image/jpeg", headers={"Cache-Control": "no-store"})

    app.router.add_get("/metrics", metrics)
    app.router.add_get("/snapshot/{camera}", snapshot)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/probe", probe)
    return app


def ssl_context(settings: WebSettings) -> ssl.SSLContext | None:
    if settings.tls_cert_file is None or settings.tls_key_file is None:
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(settings.tls_cert_file, settings.tls_key_file)
    return ctx


async def serve(app: web.Application, listen: str, settings: WebSettings) -> web.AppRunner:
    host, _, port = listen.rpartition(":")
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(
        runner,
        host.strip("[]") or "127.0.0.1",
        int(port),
        ssl_context=ssl_context(settings),
        reuse_address=True,
    )
    await site.start()
    return runner
