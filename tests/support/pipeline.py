"""The whole pipeline for end-to-end tests: a simulated fleet, `camwatch` as a real subprocess, scrapes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from camwatch.sim.fleet import PASSWORD_ENV

T = TypeVar("T")
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def fleet_spec(count: int, *, rtsp_port: int, profiles: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A small RTSP-only fleet description (``FleetSpec`` fields) with short clips."""
    return {
        "count": count,
        "seed": 5,
        "rtsp_port": rtsp_port,
        "onvif": False,
        "video": {"width": 160, "height": 96, "fps": 10, "seconds": 2},
        "topology": {"site": 1, "switch": 4, "fibre": 8, "power": 4},
        "profiles": [{"name": "healthy"}, *profiles],
    }


def fast_monitor(listen: str, state: Path | str, **extra: Any) -> dict[str, Any]:
    """``monitor:`` settings that make things happen within seconds: short intervals, no debounce."""
    return {
        "listen": listen,
        "state": str(state),
        "rtsp": {"interval": "500ms", "timeout": "1s", "jitter": 0},
        "video": {"interval": "1h", "timeout": "5s", "duration": "1s"},
        "onvif": {"interval": "1h", "timeout": "1s"},
        "debounce": {"down_after": 1, "up_after": 1},
        "backoff": {"factor": 1, "max_interval": "1s"},
        **extra,
    }


class Camwatch:
    """``camwatch ARGS`` in its own process group, output captured to files; ``kill`` is a real SIGKILL."""

    def __init__(self, args: Sequence[str], *, folder: Path, password: str, name: str = "camwatch"):
        self.stdout_path = folder / f"{name}.stdout"
        self.stderr_path = folder / f"{name}.stderr"
        env = {**os.environ, PASSWORD_ENV: password, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "camwatch", *args],
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )

    @property
    def output(self) -> str:
        return self.stdout_path.read_text(errors="replace") + self.stderr_path.read_text(errors="replace")

    def signal(self, sig: int) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)

    def kill(self) -> None:
        """SIGKILL the whole group and reap it."""
        self.signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM, then SIGKILL if it does not exit in ``timeout`` seconds; returns the exit status."""
        self.signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"camwatch did not stop on SIGTERM:\n{self.output[-3000:]}") from None


async def run_camwatch(
    args: Sequence[str], *, folder: Path, password: str, name: str, timeout: float = 60
) -> str:
    """Run a short ``camwatch`` command to its end without blocking the event loop (the fleet runs on it)."""
    proc = Camwatch(args, folder=folder, password=password, name=name)
    deadline = time.monotonic() + timeout
    while proc.process.poll() is None:
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"camwatch {' '.join(args)} did not finish in {timeout} s")
        await asyncio.sleep(0.1)
    return proc.output


async def fetch(url: str, **params: str) -> tuple[int, str]:
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url, params=params) as resp:
        return resp.status, await resp.text()


async def scrape(base_url: str) -> Samples:
    """Every sample of ``/metrics`` keyed by (name, sorted labels)."""
    status, text = await fetch(base_url + "/metrics")
    assert status == 200, text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def sample(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


async def wait_for(check: Callable[[], Awaitable[T | None]], *, timeout: float, what: str) -> T:
    """Poll ``check`` until it returns something truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = await check()
        except aiohttp.ClientError:
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout} s: {what}")
        await asyncio.sleep(0.25)
