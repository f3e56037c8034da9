"""A real Prometheus for tests: on a free loopback port with given targets and rules, queried over HTTP."""

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import yaml

READY_TIMEOUT_S = 20.0
REQUEST_TIMEOUT_S = 10.0


class PrometheusError(RuntimeError):
    """Prometheus refused a query or did not become ready."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Prometheus:
    """A running Prometheus process and a small client for its HTTP API."""

    def __init__(self, process: subprocess.Popen[bytes], url: str, log: Path) -> None:
        self.process = process
        self.url = url
        self.log = log
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S))

    async def api(self, path: str, **params: str | list[str]) -> Any:
        """GET ``/api/v1/<path>``: the ``data`` of a successful answer, else PrometheusError."""
        flat = [
            (key, value)
            for key, values in params.items()
            for value in ([values] if isinstance(values, str) else values)
        ]
        async with self._session.get(f"{self.url}/api/v1/{path}", params=flat) as response:
            body = await response.json(content_type=None)
        if body.get("status") != "success":
            raise PrometheusError(f"{path} {params}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    async def query(self, promql: str) -> list[dict[str, Any]]:
        """Instant query now; the result list (vector, or a one-element list for a scalar)."""
        data = await self.api("query", query=promql)
        return data["result"] if data["resultType"] in ("vector", "matrix") else [{"value": data["result"]}]

    async def query_range(self, promql: str, *, seconds: float, step: float = 1.0) -> list[dict[str, Any]]:
        """Range query over the last ``seconds``; the result series."""
        end = time.time()
        data = await self.api(
            "query_range", query=promql, start=str(end - seconds), end=str(end), step=str(step)
        )
        return list(data["result"])

    async def label_values(self, label: str, *, match: str | None = None) -> list[str]:
        """Values of ``label``, optionally only on series matching ``match`` (Grafana's ``label_values``)."""
        return list(await self.api(f"label/{label}/values", **({"match[]": match} if match else {})))

    async def rule_groups(self) -> list[dict[str, Any]]:
        """Loaded rule groups with each rule's health and last error."""
        return list((await self.api("rules"))["groups"])

    async def targets_up(self) -> bool:
        """Whether every active scrape target has been scraped successfully."""
        targets = (await self.api("targets"))["activeTargets"]
        return bool(targets) and all(target["health"] == "up" for target in targets)

    async def wait_for(self, promql: str, *, timeout_s: float = READY_TIMEOUT_S) -> list[dict[str, Any]]:
        """Poll ``promql`` until it returns data; PrometheusError after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            result = await self.query(promql)
            if result:
                return result
            await asyncio.sleep(0.5)
        raise PrometheusError(f"no data for {promql} within {timeout_s} s")

    async def close(self) -> None:
        """Stop the process group and close the client."""
        await self._session.close()
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                await asyncio.to_thread(self.process.wait, 10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                await asyncio.to_thread(self.process.wait, 10)


def write_config(
    path: Path,
    *,
    targets: Sequence[str],
    rule_files: Sequence[Path] = (),
    job: str = "camwatch",
    scrape_interval: str = "1s",
    alertmanager: str | None = None,
) -> Path:
    """A Prometheus config scraping ``targets`` (host:port) as ``job`` and evaluating ``rule_files``."""
    config: dict[str, Any] = {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval},
        "rule_files": [str(rule_file) for rule_file in rule_files],
        "scrape_configs": [{"job_name": job, "static_configs": [{"targets": list(targets)}]}],
    }
    if alertmanager:
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@contextlib.asynccontextmanager
async def running_prometheus(workdir: Path, config: Path) -> AsyncIterator[Prometheus]:
    """Start Debian's ``prometheus`` with ``config`` and storage under ``workdir``; stop it on exit.

    Raises FileNotFoundError when the binary is missing (tests needing it must fail, not skip).
    """
    binary = shutil.which("prometheus")
    if binary is None:
        raise FileNotFoundError("prometheus binary not found; install Debian's prometheus package")
    port = _free_port()
    log = workdir / "prometheus.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={workdir / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--web.enable-lifecycle",
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    server = Prometheus(process, f"http://127.0.0.1:{port}", log)
    try:
        await _wait_ready(server)
        yield server
    finally:
        await server.close()


async def _wait_ready(server: Prometheus) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise PrometheusError(f"prometheus exited: {server.log.read_text(errors='replace')[-2000:]}")
        with contextlib.suppress(aiohttp.ClientError):
            async with server._session.get(f"{server.url}/-/ready") as response:
                if response.status == 200:
                    return
        await asyncio.sleep(0.2)
    raise PrometheusError(
        f"prometheus not ready in {READY_TIMEOUT_S} s: {server.log.read_text(errors='replace')[-2000:]}"
    )
