"""Benchmark helpers: a simulated fleet in its own process, per-process CPU and memory, percentiles."""

from __future__ import annotations

import asyncio
import json
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from prometheus_client.parser import text_string_to_metric_families

PROFILES = Path(__file__).resolve().parent / "profiles"
PASSWORD_ENV = "CAMWATCH_PASSWORD"
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True, slots=True)
class FleetProcess:
    """A ``camwatch simulate`` process: its pid, the config it wrote and the log it writes."""

    pid: int
    config: Path
    log: Path


@contextmanager
def fleet_process(
    profile: Path,
    out_dir: Path,
    *,
    count: int | None = None,
    onvif: bool = True,
    wildcard: bool = False,
    base_address: str | None = None,
    start_timeout: float = 600.0,
) -> Iterator[FleetProcess]:
    """Run a simulated fleet in its own process group (so its CPU is never counted as the monitor's).

    The fleet password goes into ``$CAMWATCH_PASSWORD`` of this process too, so that the written config
    resolves. The process group is killed on exit.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault(PASSWORD_ENV, secrets.token_urlsafe(12))
    command = [sys.executable, "-m", "camwatch", "simulate", "--profile", str(profile), "--out", str(out_dir)]
    if count is not None:
        command += ["--count", str(count)]
    if not onvif:
        command.append("--no-onvif")
    if wildcard:
        command.append("--wildcard")
    if base_address is not None:
        command += ["--base-address", base_address]
    log = out_dir / "fleet.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    try:
        deadline = time.monotonic() + start_timeout
        # The fleet prints its password origin last, once every camera listens.
        while "password:" not in log.read_text(errors="replace"):
            if proc.poll() is not None:
                raise RuntimeError(f"fleet exited with {proc.returncode}:\n{log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"fleet not ready within {start_timeout:g} s")
            time.sleep(0.2)
        yield FleetProcess(proc.pid, out_dir / "camwatch.yaml", log)
    finally:
        stop_group(proc)


def monitor_config(
    fleet_config: Path, path: Path, *, monitor: Mapping[str, Any], inventory: Path | None = None
) -> Path:
    """A copy of the fleet's config with ``monitor`` settings merged over it, written next to it (so that the
    inventory path still resolves); ``inventory`` replaces the fleet's camera file."""
    doc = yaml.safe_load(fleet_config.read_text())
    doc["monitor"] = {**doc.get("monitor", {}), **monitor}
    if inventory is not None:
        doc["cameras"] = str(inventory)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@dataclass(frozen=True, slots=True)
class MonitorProcess:
    """A ``camwatch run`` process: its pid, base URL and log file."""

    pid: int
    url: str
    log: Path


@contextmanager
def monitor_process(
    config: Path, log: Path, *, start_timeout: float = 120.0, traced: Sequence[str] = ()
) -> Iterator[MonitorProcess]:
    """Run ``camwatch run CONFIG`` in its own process group until ready (``/healthz``); SIGTERM on exit, so
    that it stops as an operator would stop it (state flushed). ``traced``: under tracemalloc or cProfile,
    the arguments of ``_traced_run.py`` before CONFIG (``("tracemalloc", AT, OUT)``, ``("profile", OUT)``)."""
    listen = yaml.safe_load(config.read_text())["monitor"]["listen"]
    url = f"http://{listen}"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "camwatch", "run", str(config)]
            if not traced
            else [sys.executable, str(Path(__file__).with_name("_traced_run.py")), *traced, str(config)],
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        asyncio.run(_wait_healthy(url, proc, start_timeout))
        yield MonitorProcess(proc.pid, url, log)
    finally:
        stop_group(proc)


async def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"camwatch run exited with {proc.returncode}")
            try:
                async with session.get(f"{url}/healthz") as reply:
                    if reply.status == 200:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"camwatch run not healthy within {timeout:g} s")


@dataclass(slots=True)
class Watch:
    """What watching a running monitor recorded: one entry per scrape of ``/metrics``."""

    elapsed: list[float] = field(default_factory=list)  # seconds since the watch began, at each scrape
    scrape_seconds: list[float] = field(default_factory=list)
    rss: list[int] = field(default_factory=list)  # the monitor's resident set, bytes
    rss_high_water: int = (
        0  # the monitor's peak resident set since it started (catches spikes between samples)
    )
    failed_scrapes: int = 0
    body_bytes: int = 0
    warm: str = ""  # the exposition at the end of the warm-up
    last: str = ""
    last_at: float = 0.0  # wall-clock time of the last scrape's request

    def after(self, seconds: float) -> list[float]:
        """Scrape times from ``seconds`` into the watch on."""
        return [s for t, s in zip(self.elapsed, self.scrape_seconds, strict=True) if t >= seconds]


async def watch_monitor(
    monitor: MonitorProcess, *, duration: float, every: float, warmup: float, scrape_timeout: float = 10.0
) -> Watch:
    """Scrape ``/metrics`` every ``every`` seconds for ``duration`` seconds, and once more at the end of the
    warm-up and at the end, timing each scrape (request to last byte); sample the monitor's RSS at least
    every 2 s."""
    watch = Watch()
    timeout = aiohttp.ClientTimeout(total=scrape_timeout)
    start = time.monotonic()
    marks = sorted({every * k for k in range(math.ceil(duration / every))} | {warmup, duration})
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for mark in marks:
            while (left := start + mark - time.monotonic()) > 0:
                await asyncio.sleep(min(2.0, left))
                watch.rss.append(rss_bytes(monitor.pid))
            elapsed = time.monotonic() - start
            began = time.perf_counter()
            asked = time.time()
            try:
                async with session.get(f"{monitor.url}/metrics") as reply:
                    text = await reply.text()
                    reply.raise_for_status()
            except (aiohttp.ClientError, TimeoutError):
                watch.failed_scrapes += 1
                text = ""
            took = time.perf_counter() - began
            if text:
                watch.elapsed.append(elapsed)
                watch.scrape_seconds.append(took)
                watch.body_bytes = len(text)
                watch.last = text
                watch.last_at = asked
                if mark <= warmup or not watch.warm:
                    watch.warm = text
            watch.rss.append(rss_bytes(monitor.pid))
            watch.rss_high_water = rss_high_water(monitor.pid)
    return watch


def error_lines(log: Path) -> list[str]:
    """Log lines at ERROR or CRITICAL level, and tracebacks, from a camwatch log."""
    markers = (" ERROR ", " CRITICAL ", "Traceback (most recent call last)")
    return [line for line in log.read_text(errors="replace").splitlines() if any(m in line for m in markers)]


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """Terminate a process started with ``start_new_session=True`` and everything it started."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def cpu_seconds(pid: int | str = "self") -> float:
    """User + system CPU seconds of a process, all its threads (``/proc/PID/stat``)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def rss_bytes(pid: int | str = "self") -> int:
    """Resident set size of a process now (``/proc/PID/statm``)."""
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE


def rss_high_water(pid: int | str = "self") -> int:
    """Peak resident set size of a process since it started (``VmHWM`` of ``/proc/PID/status``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def reset_high_water(pid: int | str) -> bool:
    """Reset a process's peak resident set (``VmHWM``) to its current one (``clear_refs`` 5; needs the
    right to write there, as the process's owner or root); False where that is refused."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q``-quantile (0 < q <= 1) of ``values``; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


Buckets = list[tuple[float, float]]


def histogram(text: str, name: str) -> Buckets:
    """The cumulative ``(le, count)`` buckets of Prometheus histogram ``name`` in exposition ``text``."""
    for family in text_string_to_metric_families(family_lines(text, name)):
        if family.name == name:
            return sorted(
                (float(s.labels["le"]), s.value) for s in family.samples if s.name == name + "_bucket"
            )
    return []


def since(later: Buckets, earlier: Buckets) -> Buckets:
    """The observations ``later`` has that ``earlier`` had not (both cumulative, same buckets)."""
    if not earlier:
        return later
    return [(le, count - before) for (le, count), (_, before) in zip(later, earlier, strict=True)]


def quantile(buckets: Buckets, q: float) -> float:
    """The ``q``-quantile of cumulative histogram buckets, linear inside a bucket as PromQL's
    ``histogram_quantile``; the last finite bound when it falls in ``+Inf``; NaN when empty."""
    if not buckets or buckets[-1][1] == 0:
        return math.nan
    rank = q * buckets[-1][1]
    lower, below = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return lower
            return lower + (bound - lower) * (rank - below) / max(count - below, 1e-12)
        lower, below = bound, count
    return lower


def sample_value(text: str, name: str, labels: dict[str, str] | None = None) -> float:
    """The value of sample ``name`` with exactly ``labels`` in exposition ``text``; NaN when absent."""
    for family in text_string_to_metric_families(family_lines(text, name)):
        for sample in family.samples:
            if sample.name == name and sample.labels == (labels or {}):
                return sample.value
    return math.nan


def machine() -> str:
    """One line naming this machine: CPUs, CPU model and Python."""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "unknown CPU",
    )
    return f"{os.cpu_count()} CPUs ({model}), Python {sys.version.split()[0]}"


# -- a network namespace of the benchmark's own --------------------------------------------------------

NETNS_ENV = "CAMWATCH_BENCH_NETNS"


def in_own_namespace() -> bool:
    """Whether this process runs in the namespace :func:`reexec_in_namespace` made (loopback only)."""
    return os.environ.get(NETNS_ENV) == "1" and [n for _, n in socket.if_nameindex()] == ["lo"]


def reexec_in_namespace(argv: Sequence[str]) -> str | None:
    """Run this script again inside a new network namespace whose only interface is loopback (brought up),
    so that the fleet can bind the wildcard address without reaching the host's interfaces; exits with its
    status. Returns why not when namespaces are unavailable (then the caller goes on without one)."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "unshare or ip is not installed"
    probe = subprocess.run(["unshare", "--net", "true"], capture_output=True, timeout=30)
    if probe.returncode != 0:
        return f"`unshare --net` is not permitted here ({probe.stderr.decode(errors='replace').strip()})"
    env = {**os.environ, NETNS_ENV: "1"}
    script = 'ip link set lo up && exec "$@"'
    command = ["unshare", "--net", "sh", "-c", script, "sh", sys.executable, *argv]
    sys.stdout.flush()
    raise SystemExit(subprocess.run(command, env=env).returncode)


# -- a real Prometheus scraping the service ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PrometheusProcess:
    """``/usr/bin/prometheus`` scraping one target: its pid and base URL."""

    pid: int
    url: str


@contextmanager
def prometheus_process(
    work: Path, target: str, *, every: float, port: int = 19690, start_timeout: float = 60.0
) -> Iterator[PrometheusProcess]:
    """Run Prometheus scraping ``target`` (host:port) every ``every`` seconds, storage under ``work``."""
    binary = shutil.which("prometheus") or "/usr/bin/prometheus"
    work.mkdir(parents=True, exist_ok=True)
    config = work / "prometheus.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "global": {"scrape_interval": f"{every:g}s", "scrape_timeout": f"{min(every, 10.0):g}s"},
                "scrape_configs": [{"job_name": "camwatch", "static_configs": [{"targets": [target]}]}],
            }
        )
    )
    log = work / "prometheus.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={work / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"prometheus exited with {proc.returncode}:\n{log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"prometheus not ready within {start_timeout:g} s")
            time.sleep(0.2)
        yield PrometheusProcess(proc.pid, url)
    finally:
        stop_group(proc)


def prometheus_query(url: str, query: str, **params: str) -> list[dict[str, Any]]:
    """The result vector (or matrix, with ``start``/``end``/``step``) of a PromQL query."""
    path = "query_range" if "step" in params else "query"
    qs = urllib.parse.urlencode({"query": query, **params})
    with urllib.request.urlopen(f"{url}/api/v1/{path}?{qs}", timeout=60) as reply:
        body = json.load(reply)
    if body.get("status") != "success":
        raise RuntimeError(f"PromQL {query!r} failed: {body}")
    return list(body["data"]["result"])


# -- a process's resources over a run ------------------------------------------------------------------


@dataclass(slots=True)
class Usage:
    """CPU seconds and peak resident set of one process between :meth:`start` and :meth:`stop`."""

    pid: int
    cpu_start: float = 0.0
    cpu: float = 0.0
    wall_start: float = 0.0
    wall: float = 0.0
    peak_rss: int = 0

    def start(self) -> Usage:
        self.cpu_start, self.wall_start = cpu_seconds(self.pid), time.monotonic()
        return self

    def stop(self) -> Usage:
        self.cpu = cpu_seconds(self.pid) - self.cpu_start
        self.wall = time.monotonic() - self.wall_start
        self.peak_rss = rss_high_water(self.pid)
        return self

    def line(self, name: str) -> str:
        share = self.cpu / self.wall if self.wall else math.nan
        return (
            f"{name}: CPU {self.cpu:.1f} s over {self.wall:.0f} s ({share:.0%} of one core), "
            f"peak RSS {self.peak_rss / 1e6:.0f} MB"
        )


def load_average() -> str:
    """``/proc/loadavg``'s three load averages."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def family_lines(text: str, name: str) -> str:
    """Only the lines of metric family ``name`` (with its ``_bucket``, ``_sum``, ``_count`` and comment
    lines) from an exposition: parsing a 1-million-series body whole takes minutes."""
    keep = []
    for line in text.splitlines():
        bare = line[7:] if line.startswith(("# HELP ", "# TYPE ")) else line
        if bare.startswith(name) and bare[len(name) : len(name) + 1] in ("", " ", "{", "_"):
            keep.append(line)
    return "\n".join(keep) + "\n"


def memory_map(pid: int | str) -> dict[str, int]:
    """A process's resident memory by kind of mapping (``/proc/PID/smaps``): the main heap (glibc's main
    arena), other glibc arenas (64 MiB reservations), Python's object arenas (1 MiB anonymous mappings, or
    256 KiB before 3.10; neighbours merge into "other anonymous"), other anonymous memory (large blocks,
    thread stacks) and files (code, libraries: the three largest by name)."""
    kinds: dict[str, int] = {}
    size = 0
    kind = ""
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split()
        if "-" in head[0] and len(head) >= 5 and not head[0].endswith(":"):
            start, end = (int(x, 16) for x in head[0].split("-"))
            size = end - start
            name = head[5] if len(head) > 5 else ""
            if name == "[heap]":
                kind = "heap"
            elif name.startswith("/"):
                kind = "file " + Path(name).name
            elif name:
                kind = name
            elif size in (1 << 20, 1 << 18):
                kind = "python arenas"
            elif size >= 60 << 20:
                kind = "malloc arenas"
            else:
                kind = "other anonymous"
        elif head[0] == "Rss:":
            kinds[kind] = kinds.get(kind, 0) + int(head[1]) * 1024
    files = {k: v for k, v in kinds.items() if k.startswith("file ")}
    big = sorted(files, key=lambda k: -files[k])[:3]
    out = {k: v for k, v in kinds.items() if k not in files or k in big}
    out["other files"] = sum(v for k, v in files.items() if k not in big)
    return out
