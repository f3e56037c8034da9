"""Exporter exposure: loopback by default, optional TLS and basic auth, /snapshot, config-file reload."""

from __future__ import annotations

import base64
import hashlib
import shutil
import ssl
import subprocess

import aiohttp
import pytest

from camwatch.config.models import Config, MonitorSettings, WebSettings
from camwatch.monitor.service import Service
from support.cameras import make_camera
from support.gst_rtsp import unused_port

PASSWORD = "metrics-Pa55!"


def service(tmp_path, web: WebSettings | None = None, listen: str | None = None) -> Service:
    cams = (make_camera(id="c1", rtsp_url=f"rtsp://127.0.0.1:{unused_port()}/x"),)
    settings = MonitorSettings(
        listen=listen or f"127.0.0.1:{unused_port()}", state=tmp_path / "s.db", web=web or WebSettings()
    )
    return Service(Config(source=tmp_path / "camwatch.yaml", cameras=cams, monitor=settings))


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_default_listen_is_loopback():
    assert MonitorSettings().listen.startswith("127.0.0.1:")


@pytest.fixture
def certificate(tmp_path):
    assert shutil.which("openssl"), "openssl is needed to make a test certificate"
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_tls_and_basic_auth(tmp_path, certificate):
    cert, key = certificate
    users = {"prometheus": "sha256:" + hashlib.sha256(PASSWORD.encode()).hexdigest()}
    svc = service(tmp_path, WebSettings(tls_cert_file=cert, tls_key_file=key, basic_auth_users=users))
    await svc.start()
    try:
        assert svc.url.startswith("https://")
        ctx = ssl.create_default_context(cafile=str(cert))
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx)) as s:
            async with s.get(svc.url + "/metrics") as r:
                assert r.status == 401 and "Basic" in r.headers["WWW-Authenticate"]
            async with s.get(svc.url + "/metrics", headers=basic("prometheus", "wrong")) as r:
                assert r.status == 401
            async with s.get(svc.url + "/metrics", headers=basic("prometheus", PASSWORD)) as r:
                assert r.status == 200 and "camwatch_camera_info" in await r.text()
        # Plain HTTP to the TLS port does not get metrics.
        async with aiohttp.ClientSession() as s:
            with pytest.raises(aiohttp.ClientError):
                async with s.get(svc.url.replace("https", "http") + "/metrics") as r:
                    await r.read()
    finally:
        await svc.stop()


async def test_snapshot_endpoint(tmp_path):
    svc = service(tmp_path)
    await svc.start()
    try:
        assert svc.snapshots is not None
        svc.snapshots.put("c1", b"\xff\xd8jpeg-bytes\xff\xd9", "frozen")
        async with aiohttp.ClientSession() as s:
            async with s.get(svc.url + "/snapshot/c1") as r:
                assert r.status == 200 and r.content_type == "image/jpeg"
                assert await r.read() == b"\xff\xd8jpeg-bytes\xff\xd9"
            async with s.get(svc.url + "/snapshot/c1", params={"fault": "frozen"}) as r:
                assert r.status == 200
            async with s.get(svc.url + "/snapshot/c1", params={"fault": "black"}) as r:
                assert r.status == 404
            async with s.get(svc.url + "/snapshot/..%2F..%2Fetc%2Fpasswd") as r:
                assert r.status == 404
    finally:
        await svc.stop()


def test_snapshot_budget_drops_oldest(tmp_path):
    from camwatch.monitor.snapshots import SnapshotStore

    store = SnapshotStore(tmp_path / "snaps", max_bytes=2500)
    for i in range(5):
        store.put(f"cam/{i}", bytes(1000), None)
    assert store.total_bytes <= 2500
    assert store.get("cam/4") is not None and store.get("cam/0") is None
    assert not list(tmp_path.glob("cam*"))  # ids never escape the snapshot folder


async def test_config_file_change_reloads(tmp_path):
    from camwatch.config.errors import ConfigError, Problem

    source = tmp_path / "camwatch.yaml"
    source.write_text("v1")
    loads = []

    def loader(path):
        loads.append(path.read_text())
        if path.read_text() == "broken":
            raise ConfigError([Problem(str(path), "line 1", None, "not a mapping")])
        cams = (
            make_camera(id="c1", rtsp_url="rtsp://127.0.0.1:9/x"),
            make_camera(id="c2", rtsp_url="rtsp://127.0.0.1:9/y"),
        )
        return Config(source=path, cameras=cams, monitor=svc.settings)

    svc = Service(
        Config(
            source=source,
            cameras=(make_camera(id="c1", rtsp_url="rtsp://127.0.0.1:9/x"),),
            monitor=MonitorSettings(listen=f"127.0.0.1:{unused_port()}", state=tmp_path / "s.db"),
        ),
        loader=loader,
    )
    await svc.start()
    try:
        source.write_text("broken")
        svc.watch_inputs()
        assert not svc.reload_ok and list(svc.tracker.tracks) == ["c1"]
        source.write_text("v2 longer")
        svc.watch_inputs()
        assert svc.reload_ok and sorted(svc.tracker.tracks) == ["c1", "c2"]
        svc.watch_inputs()  # unchanged: no reload
        assert loads == ["broken", "v2 longer"]
    finally:
        await svc.stop()
