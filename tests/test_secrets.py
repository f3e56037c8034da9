"""The whole pipeline with one distinctive password: it must not appear in any output, in any encoding.

A simulated fleet is checked, probed, monitored (metrics, health, /probe), reported on and mapped by real
`camwatch` processes at DEBUG; every byte they print or write is scanned for the password, its URL-encoded
forms and its base64 forms (alone and as Basic ``user:password``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml

from camwatch.config.errors import ConfigError
from camwatch.config.load import load_config
from camwatch.coverage.command import sample_area
from camwatch.monitor.probes.rtsp import probe_url
from camwatch.sim.fleet import PASSWORD_ENV, Fleet
from camwatch.sim.profiles import FleetSpec
from support.gst_rtsp import unused_port
from support.pipeline import Camwatch, fast_monitor, fetch, fleet_spec, run_camwatch, wait_for

PASSWORD = "Pw-Unique-7f3a!@#"
USERNAME = "admin"
SPEC = fleet_spec(
    10,
    rtsp_port=18562,
    profiles=[
        {"name": "bad-password", "count": 1, "behaviour": "auth_failed"},
        {"name": "offline", "count": 1, "behaviour": "offline"},
        {"name": "black", "count": 1, "picture": "black"},
        {"name": "basic", "count": 2, "auth": "basic"},
        {"name": "garbage", "count": 1, "behaviour": "garbage"},
    ],
)


def secret_forms(secret: str) -> set[str]:
    """The secret as it could leak: plain, percent-encoded, base64 (also inside a Basic credential)."""
    b64 = {base64.b64encode(s.encode()).decode() for s in (secret, f"{USERNAME}:{secret}")}
    return {secret, quote(secret, safe=""), quote(secret), *b64, *(b.rstrip("=") for b in b64)}


def leaks(text: str | bytes, secret: str = PASSWORD) -> list[str]:
    data = text if isinstance(text, bytes) else text.encode("utf-8", "replace")
    return [form for form in secret_forms(secret) if form.encode() in data]


@pytest.fixture
async def fleet() -> AsyncIterator[Fleet]:
    async with Fleet(FleetSpec.model_validate(SPEC), password=PASSWORD, base_address="127.42.0.1") as running:
        yield running


def write_inputs(fleet: Fleet, folder: Path, listen: str) -> Path:
    """Config + inventory: most cameras use password_env, two carry the password inside their RTSP URL."""
    config = fleet.write_config(
        folder / "camwatch.yaml",
        monitor=fast_monitor(listen, folder / "state.db", snapshots=str(folder / "snapshots")),
        coverage={
            role: str(path)
            for role, path in sample_area()
            .model_dump(include={"roads", "sites", "buildings", "areas"})
            .items()
            if path
        },
    )
    inventory = yaml.safe_load((folder / "cameras.yaml").read_text())
    for record in inventory["cameras"][:2]:
        record["rtsp_url"] = fleet.rtsp_url(record["id"], with_password=PASSWORD)
        del record["password_env"], record["username"]
    (folder / "cameras.yaml").write_text(yaml.safe_dump(inventory, allow_unicode=True, sort_keys=False))
    return config


def scan_folder(folder: Path, *, skip: set[Path]) -> dict[str, list[str]]:
    """Every file under ``folder`` (state databases also as SQL text) mapped to the secret forms it holds."""
    found: dict[str, list[str]] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p not in skip):
        if hits := leaks(path.read_bytes()):
            found[str(path)] = hits
        if path.suffix == ".db":
            with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
                if hits := leaks("\n".join(conn.iterdump())):
                    found[f"{path} (SQL dump)"] = hits
    return found


async def test_no_output_of_the_whole_pipeline_holds_the_password(fleet: Fleet, tmp_path: Path) -> None:
    listen = f"127.0.0.1:{unused_port()}"
    config = write_inputs(fleet, tmp_path, listen)
    inventory = tmp_path / "cameras.yaml"
    assert leaks(inventory.read_text())  # the input really carries it, URL-encoded

    loaded = load_config(config, environ={PASSWORD_ENV: PASSWORD})
    assert all(c.password and c.password.get_secret_value() == PASSWORD for c in loaded.cameras)
    assert not leaks(repr(loaded)) and not leaks(json.dumps([c.rtsp_url for c in loaded.cameras]))

    outputs: dict[str, str] = {}
    outputs["check-config"] = await run_camwatch(
        ["check-config", str(config)], folder=tmp_path, password=PASSWORD, name="check"
    )
    assert "OK" in outputs["check-config"]
    outputs["probe"] = await run_camwatch(
        ["probe", str(config), "--json"], folder=tmp_path, password=PASSWORD, name="probe"
    )
    results = {r["camera"]: r for r in json.loads((tmp_path / "probe.stdout").read_text())}
    bad = next(c.id for c in fleet.cameras if c.profile == "bad-password")
    url_login = [c.id for c in fleet.cameras[:2] if c.behaviour == "ok"]
    assert results[bad]["status"] == "auth_failed"
    assert url_login and all(results[c]["up"] for c in url_login)  # the password taken from the URL works

    service = Camwatch(["run", str(config), "--verbose"], folder=tmp_path, password=PASSWORD, name="run")
    try:
        base = f"http://{listen}"
        black = next(c.id for c in fleet.cameras if c.profile == "black")

        async def black_seen() -> str | None:
            status, text = await fetch(base + "/metrics")
            return (
                text
                if status == 200 and f'camwatch_video_fault{{camera="{black}",fault="black"}} 1.0' in text
                else None
            )

        outputs["metrics"] = await wait_for(
            black_seen, timeout=30, what="video probes found the black camera"
        )
        outputs["healthz"] = (await fetch(base + "/healthz"))[1]
        # One /probe per camera (the per-camera rate limit), alternating the probe modules.
        for index, camera in enumerate(dict.fromkeys([bad, *url_login, black])):
            module = ("rtsp", "video")[index % 2]
            status, text = await fetch(base + "/probe", target=camera, module=module)
            assert status == 200, text
            outputs[f"/probe {camera} {module}"] = text
        outputs["metrics again"] = (await fetch(base + "/metrics"))[1]
        assert (
            'camwatch_probe_success{camera="' + url_login[0] + '",probe="rtsp"} 1.0'
            in outputs["metrics again"]
        )
    finally:
        assert service.stop() == 0, service.output[-3000:]
    outputs["run"] = service.output
    assert "DEBUG" in outputs["run"]

    month = time.strftime("%Y-%m", time.gmtime())
    outputs["report"] = await run_camwatch(
        ["report", "uptime", str(config), "--month", month, "--out", str(tmp_path / "uptime")],
        folder=tmp_path,
        password=PASSWORD,
        name="report",
    )
    outputs["coverage"] = await run_camwatch(
        [
            "coverage",
            str(config),
            "--out",
            str(tmp_path / "coverage"),
            "--status",
            str(tmp_path / "state.db"),
        ],
        folder=tmp_path,
        password=PASSWORD,
        name="coverage",
        timeout=90,
    )
    assert (tmp_path / "coverage" / "summary.json").is_file() and list((tmp_path / "uptime").iterdir())
    assert list((tmp_path / "snapshots").rglob("*.jp*g")), "a fault snapshot was written"

    assert {name: hits for name, text in outputs.items() if (hits := leaks(text))} == {}
    assert scan_folder(tmp_path, skip={inventory}) == {}


async def test_a_camera_reflecting_basic_credentials_does_not_leak_them() -> None:
    """A hostile camera that asks for Basic auth and echoes the Authorization header back in its answer."""
    sent: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, EOFError):
            for _ in range(2):
                request = await reader.readuntil(b"\r\n\r\n")
                sent.append(request)
                cseq = request.split(b"CSeq: ", 1)[1].split(b"\r\n", 1)[0]
                auth = request.partition(b"Authorization: ")[2].partition(b"\r\n")[0]
                if not auth:
                    writer.write(
                        b"RTSP/1.0 401 Unauthorized\r\nCSeq: "
                        + cseq
                        + b'\r\nWWW-Authenticate: Basic realm="x"\r\n\r\n'
                    )
                else:
                    writer.write(
                        b"RTSP/1.0 500 " + auth + b"\r\nCSeq: " + cseq + b"\r\nServer: " + auth + b"\r\n\r\n"
                    )
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        result = await probe_url(
            f"rtsp://127.0.0.1:{port}/x", username=USERNAME, password=PASSWORD, timeout=2
        )
    finally:
        server.close()
        await server.wait_closed()
    assert any(leaks(r) for r in sent)  # the camera did get the credential
    assert result.status == "error"
    assert leaks(repr(result)) == []


@pytest.mark.parametrize("field", ["password_env", "password_file"])
def test_a_password_written_where_its_reference_belongs_is_not_echoed(tmp_path: Path, field: str) -> None:
    """The common slip: the password itself typed into password_env / password_file."""
    config = tmp_path / "camwatch.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "cameras": [{"id": "a", "rtsp_url": "rtsp://10.0.0.1/x"}],
                "credentials": {"default": {"username": USERNAME, field: PASSWORD}},
            }
        )
    )
    with pytest.raises(ConfigError) as caught:
        load_config(config, environ={})
    text = str(caught.value)
    assert f"credentials.default.{field}" in text
    assert leaks(text) == []
