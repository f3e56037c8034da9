"""The exporter's web endpoint against hostile clients, over real sockets: slow and idle connections, a
connection cap, malformed requests, /probe floods, and web settings changed by a reload."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
import resource
import ssl
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
import yaml

from camwatch.config.models import Config, Debounce, MonitorSettings, RtspSettings, VideoSettings, WebSettings
from camwatch.monitor.service import Service
from camwatch.monitor.web import connection_cap
from camwatch.sim.h264 import clip
from camwatch.sim.rtsp_server import RtspCamera, RtspFleetServer
from support.cameras import make_camera
from support.gst_rtsp import unused_port

WEB_LOGGERS = ("aiohttp.server", "aiohttp.web", "camwatch.monitor.web")


def settings(tmp_path: Path, cameras, **web) -> Config:
    monitor = MonitorSettings(
        listen=f"127.0.0.1:{unused_port()}",
        state=tmp_path / "state.db",
        rtsp=RtspSettings(interval=3600, timeout=2.0, jitter=0.0),
        video=VideoSettings(interval=3600, timeout=10),
        debounce=Debounce(down_after=1, up_after=1),
        web=WebSettings(**web),
    )
    return Config(source=tmp_path / "camwatch.yaml", cameras=tuple(cameras), monitor=monitor)


@contextlib.asynccontextmanager
async def running(config: Config) -> AsyncIterator[Service]:
    svc = Service(config)
    await svc.start()
    try:
        yield svc
    finally:
        await svc.stop()


def address(svc: Service) -> tuple[str, int]:
    host, _, port = svc.url.rpartition("/")[2].rpartition(":")
    return host, int(port)


async def get(url: str, **kwargs) -> tuple[int, str]:
    async with aiohttp.ClientSession() as s, s.get(url, **kwargs) as r:
        return r.status, await r.text()


async def raw(svc: Service, request: bytes) -> bytes:
    """Send ``request`` on a fresh connection; everything the server answers before it closes."""
    reader, writer = await asyncio.open_connection(*address(svc))
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()


@pytest.fixture
def closed_camera():
    return make_camera(id="cam", rtsp_url=f"rtsp://127.0.0.1:{unused_port()}/x")


# ------------------------------------------------------------------------------ slow clients, connection cap


async def test_slow_clients_are_closed_and_metrics_still_answer(tmp_path, closed_camera):
    async with running(settings(tmp_path, [closed_camera], request_timeout="1s", max_connections=100)) as svc:
        slow = []
        for _ in range(60):  # each sends half a request line and then nothing
            reader, writer = await asyncio.open_connection(*address(svc))
            writer.write(b"GET /metr")
            slow.append((reader, writer))
        opened = time.monotonic()
        status, body = await get(svc.url + "/metrics")
        assert status == 200 and "camwatch_state_healthy" in body
        # Every slow one is closed by the server (EOF) once its request head is overdue.
        ends = await asyncio.wait_for(asyncio.gather(*(r.read() for r, _ in slow)), timeout=15)
        assert ends == [b""] * len(slow)
        assert time.monotonic() - opened >= 0.5  # closed for being late, not at once
        for _, writer in slow:
            writer.close()


async def test_at_the_cap_idle_connections_make_room_and_busy_ones_get_503(tmp_path, hanging_port):
    cameras = [make_camera(id=f"h{i}", rtsp_url=f"rtsp://127.0.0.1:{hanging_port}/x") for i in range(8)]
    config = settings(tmp_path, cameras, request_timeout="30s", max_connections=8)
    rtsp = RtspSettings(interval=3600, timeout=20.0, jitter=0.0)
    config = config.model_copy(update={"monitor": config.monitor.model_copy(update={"rtsp": rtsp})})
    async with running(config) as svc:
        # Eight slow clients fill the cap; a scraper still gets its answer: the idle-longest one makes room.
        idle = []
        for _ in range(8):
            reader, writer = await asyncio.open_connection(*address(svc))
            writer.write(b"GET /metr")
            idle.append((reader, writer))
            await asyncio.sleep(0.05)  # accepted in this order
        status, _ = await get(svc.url + "/metrics")
        assert status == 200
        assert await asyncio.wait_for(idle[0][0].read(), 10) == b""  # the oldest was closed
        for _, writer in idle:
            writer.close()

        # Eight requests in progress (probes of hanging cameras) fill it: a new connection gets 503 at once.
        busy = []
        for camera in cameras:
            reader, writer = await asyncio.open_connection(*address(svc))
            writer.write(f"GET /probe?target={camera.id}&module=rtsp HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            busy.append((reader, writer))

        def on_demand() -> int:  # /probe requests in progress (scheduled rounds may run besides them)
            return sum(1 for t in svc.scheduler.in_flight if "_on_demand" in t.get_coro().__qualname__)

        async def all_busy() -> None:
            while on_demand() < 8:
                await asyncio.sleep(0.05)

        await asyncio.wait_for(all_busy(), 15)
        answer = await raw(svc, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 503 ")  # told at once, and closed (raw() read to EOF)
        for _, writer in busy:
            writer.close()  # the clients leave: their probes stop (handler cancellation)

        async def metrics_again() -> int:
            while True:
                with contextlib.suppress(aiohttp.ClientError):
                    status, _ = await get(svc.url + "/metrics")
                    if status == 200:
                        return status
                await asyncio.sleep(0.1)

        assert await asyncio.wait_for(metrics_again(), 10) == 200


def test_connection_cap_stays_under_the_file_limit():
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert connection_cap(10**9) <= soft // 4
    assert connection_cap(5) == min(5, soft // 4)


# ------------------------------------------------------------------------------ malformed requests


MALFORMED = {
    "bad request line": b"GARBAGE\r\n\r\n",
    "bad method": b"G\x01T /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
    "bad version": b"GET /metrics HTTP/9.x\r\nHost: x\r\n\r\n",
    "huge header": b"GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer secret-token"
    + b"b" * 20000
    + b"\r\n\r\n",
    "huge request line": b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "too many headers": b"GET /metrics HTTP/1.1\r\n"
    + b"".join(b"X-%d: 1\r\n" % i for i in range(300))
    + b"\r\n",
    "bad content length": b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    "control byte in header": b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n",
    "header without colon": b"GET /metrics HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
}


async def test_malformed_requests_get_400_and_a_bounded_log_without_traceback(
    tmp_path, closed_camera, caplog
):
    caplog.set_level(logging.DEBUG)
    async with running(settings(tmp_path, [closed_camera])) as svc:
        for _round in range(5):  # a flood: the same bad requests again and again
            for name, request in MALFORMED.items():
                answer = await raw(svc, request)
                assert answer.split(b" ", 2)[1] == b"400", (name, answer[:200])
        status, _ = await get(svc.url + "/metrics")
        assert status == 200
    web_lines = [r for r in caplog.records if r.name in WEB_LOGGERS]
    assert not [r for r in web_lines if r.exc_info or "Traceback" in r.getMessage()]
    assert not [r for r in web_lines if r.levelno >= logging.ERROR]
    # At most one line per kind of bad request in the interval, however many came (5 × 9 here).
    assert 1 <= len(web_lines) <= len(MALFORMED)
    assert all(r.getMessage().startswith("bad HTTP request from 127.0.0.1 (400): ") for r in web_lines)
    assert not [r for r in web_lines if "secret-token" in r.getMessage()]  # request bytes are not echoed


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-1", "0", "1e999", "ten", "", "0x10"])
async def test_probe_rejects_a_bad_scrape_timeout_with_400(tmp_path, closed_camera, caplog, value):
    async with running(settings(tmp_path, [closed_camera])) as svc:
        status, text = await get(
            svc.url + "/probe",
            params={"target": "cam", "module": "rtsp"},
            headers={"X-Prometheus-Scrape-Timeout-Seconds": value},
        )
    assert status == 400 and "X-Prometheus-Scrape-Timeout-Seconds" in text and len(text) < 200
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_probe_with_a_huge_scrape_timeout_is_capped(tmp_path, closed_camera):
    async with running(settings(tmp_path, [closed_camera])) as svc:
        status, text = await get(
            svc.url + "/probe",
            params={"target": "cam", "module": "rtsp"},
            headers={"X-Prometheus-Scrape-Timeout-Seconds": "1e300"},
        )
    assert status == 200 and 'camwatch_probe_success{camera="cam",probe="rtsp"} 0.0' in text


# ------------------------------------------------------------------------------ /probe within the limits


class CountingServer:
    """A loopback TCP server that counts connections open at once, holds each a while, then closes it."""

    def __init__(self, hold: float):
        self.hold, self.open, self.peak, self.total = hold, 0, 0, 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open += 1
        self.total += 1
        self.peak = max(self.peak, self.open)
        try:
            await asyncio.sleep(self.hold)
        finally:
            self.open -= 1
            writer.close()


async def test_probe_requests_never_exceed_the_concurrency_limit(tmp_path):
    counter = CountingServer(hold=0.5)
    listener = await asyncio.start_server(counter.handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    cameras = [make_camera(id=f"cam-{i}", rtsp_url=f"rtsp://127.0.0.1:{port}/{i}") for i in range(40)]
    config = settings(tmp_path, cameras)
    config = config.model_copy(update={"monitor": config.monitor.model_copy(update={"concurrency": 4})})
    try:
        async with running(config) as svc, aiohttp.ClientSession() as s:

            async def probe(camera: str) -> int:
                async with s.get(svc.url + "/probe", params={"target": camera, "module": "rtsp"}) as r:
                    await r.read()
                    return r.status

            statuses = await asyncio.gather(*(probe(c.id) for c in cameras))
    finally:
        listener.close()
        await listener.wait_closed()
    assert set(statuses) <= {200, 503}
    assert statuses.count(200) >= 1 and statuses.count(503) >= 1  # some ran, the rest were told to wait
    assert 1 <= counter.peak <= 4, counter.peak


class PlayCounter:
    """Loopback relays in front of RTSP cameras that count connections playing a stream (decoding) at once,
    across every relay: a connection counts from its first PLAY request until it closes."""

    def __init__(self) -> None:
        self.playing, self.peak, self.plays = 0, 0, 0

    @contextlib.asynccontextmanager
    async def relay(self, host: str, port: int) -> AsyncIterator[int]:
        """A relay to ``host:port``; yields the port it listens on."""

        async def connection(client: asyncio.StreamReader, to_client: asyncio.StreamWriter) -> None:
            server, to_server = await asyncio.open_connection(host, port)
            played = False

            async def pump(
                reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, watch: bool
            ) -> None:
                nonlocal played
                with contextlib.suppress(ConnectionError):
                    while data := await reader.read(65536):
                        if watch and not played and b"PLAY rtsp://" in data:
                            played = True
                            self.plays += 1
                            self.playing += 1
                            self.peak = max(self.peak, self.playing)
                        writer.write(data)
                        await writer.drain()
                writer.close()

            try:
                await asyncio.gather(
                    pump(client, to_server, watch=True), pump(server, to_client, watch=False)
                )
            finally:
                if played:
                    self.playing -= 1

        listener = await asyncio.start_server(connection, "127.0.0.1", 0)
        try:
            yield listener.sockets[0].getsockname()[1]
        finally:
            listener.close()


@pytest.mark.parametrize("module", ["all", "video"])
async def test_probe_decodes_only_through_the_video_gate(tmp_path, module):
    fleet, counter = RtspFleetServer(), PlayCounter()
    live = clip("live", width=64, height=36, fps=10, seconds=1)
    sims = [RtspCamera(f"sim-{i}", "127.0.0.1", unused_port(), "admin", "sim-pw", live) for i in range(4)]
    async with contextlib.AsyncExitStack() as stack:
        for sim in sims:
            await fleet.open(sim)
        stack.push_async_callback(fleet.close_all)
        ports = [await stack.enter_async_context(counter.relay(sim.address, sim.port)) for sim in sims]
        cameras = [
            make_camera(
                id=sim.id, rtsp_url=f"rtsp://127.0.0.1:{port}{sim.path}", username="admin", password="sim-pw"
            )
            for sim, port in zip(sims, ports, strict=True)
        ]
        config = settings(tmp_path, cameras)
        video = VideoSettings(interval=3600, timeout=10, duration=1.0)
        monitor = config.monitor.model_copy(update={"video_concurrency": 1, "video": video})
        svc = await stack.enter_async_context(running(config.model_copy(update={"monitor": monitor})))
        session = await stack.enter_async_context(aiohttp.ClientSession())

        async def probe(camera: str) -> str:
            async with session.get(svc.url + "/probe", params={"target": camera, "module": module}) as r:
                assert r.status == 200
                return await r.text()

        answers = await asyncio.gather(*(probe(c.id) for c in cameras))
    assert all('probe="video"' in a for a in answers)
    assert counter.plays >= 2  # streams were decoded (scheduled and on demand)...
    assert counter.peak == 1, counter.peak  # ...but one decoder: never two played at once


# ------------------------------------------------------------------------------ reload


def sha256(password: str) -> str:
    return "sha256:" + hashlib.sha256(password.encode()).hexdigest()


def login(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


async def test_reload_replaces_web_users_and_rate_limit(tmp_path, closed_camera, caplog):
    before = settings(tmp_path, [closed_camera], basic_auth_users={"alice": sha256("a-pw")})
    async with running(before) as svc:
        alice, bob = login("alice", "a-pw"), login("bob", "b-pw")
        assert (await get(svc.url + "/metrics", headers=alice))[0] == 200
        assert (await get(svc.url + "/metrics", headers=bob))[0] == 401
        web = WebSettings(basic_auth_users={"bob": sha256("b-pw")}, probe_min_interval="1h")
        after = before.model_copy(
            update={"monitor": before.monitor.model_copy(update={"web": web, "listen": "127.0.0.1:1"})}
        )
        assert svc.reload(after)
        assert (await get(svc.url + "/metrics", headers=alice))[0] == 401
        assert (await get(svc.url + "/metrics", headers=bob))[0] == 200
        probe = {"target": "cam", "module": "rtsp"}
        assert (await get(svc.url + "/probe", params=probe, headers=bob))[0] == 200
        status, _ = await get(svc.url + "/probe", params=probe, headers=bob)
        assert status == 429  # the new rate limit (1 h) holds
    assert any("monitor.listen" in r.getMessage() and "restart" in r.getMessage() for r in caplog.records)


@pytest.fixture
def certificates(tmp_path: Path) -> Iterator[dict[str, tuple[Path, Path]]]:
    """Two self-signed certificates for 127.0.0.1 (openssl), as a renewal would bring."""
    made = {}
    for name in ("old", "new"):
        cert, key = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
             f"/CN=camwatch-{name}", "-keyout", str(key), "-out", str(cert)],
            check=True,
            capture_output=True,
        )  # fmt: skip
        made[name] = (cert, key)
    yield made


async def served_certificate(host: str, port: int) -> bytes:
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    _, writer = await asyncio.open_connection(host, port, ssl=ctx)
    try:
        return writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    finally:
        writer.close()


async def test_reload_serves_a_renewed_tls_certificate(tmp_path, closed_camera, certificates):
    (old_cert, old_key), (new_cert, new_key) = certificates["old"], certificates["new"]
    before = settings(tmp_path, [closed_camera], tls_cert_file=old_cert, tls_key_file=old_key)
    async with running(before) as svc:
        first = await served_certificate(*address(svc))
        assert first == ssl.PEM_cert_to_DER_cert(old_cert.read_text())
        web = WebSettings(tls_cert_file=new_cert, tls_key_file=new_key)
        assert svc.reload(
            before.model_copy(update={"monitor": before.monitor.model_copy(update={"web": web})})
        )
        assert await served_certificate(*address(svc)) == ssl.PEM_cert_to_DER_cert(new_cert.read_text())
        broken = WebSettings(tls_cert_file=new_cert, tls_key_file=old_key)  # a key that does not match
        assert not svc.reload(
            before.model_copy(update={"monitor": before.monitor.model_copy(update={"web": broken})})
        )
        assert await served_certificate(*address(svc)) == ssl.PEM_cert_to_DER_cert(new_cert.read_text())


def test_compose_publishes_every_port_on_loopback_only():
    repo = Path(__file__).resolve().parents[1]
    compose = yaml.safe_load((repo / "docker-compose.yml").read_text(encoding="utf-8"))
    published = [port for service in compose["services"].values() for port in service.get("ports", [])]
    assert published and all(str(p).startswith("127.0.0.1:") for p in published), published
