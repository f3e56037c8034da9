"""Fault soak: the monitor service against a hostile simulated fleet, checked against the reliability bounds.

The fleet (benchmarks/profiles/soak.yaml: blackholed, slowloris, resetting, garbage and oversized replies,
flapping every 30 s, malformed ONVIF XML) runs in its own process and ``camwatch run`` in another, so the
fleet's load does not show up as the monitor's lateness. This process scrapes ``/metrics`` every second.

Beside the fleet, a third process runs the hostile parts of the hostile-input issue (tests/support/
hostile_devices.py): an ONVIF device answering with a gzip bomb, one with an endless reply, a camera that
redirects the video decoder to a listener on another loopback address (with a Basic login to steal), and a
bounded slow-client load on the exporter (half-sent requests kept open and renewed for the whole run).

Bounds (reliability issue, point 1): scheduler lateness p99 under 10 % of the RTSP interval, ``/metrics``
p99 under 1 s and no scrape failed, RSS growth bounded, no ERROR or traceback in the monitor's log,
flapping debounced (a flapping camera never changes state more often than it really flapped; a steadily
healthy or faulty camera never). Hostile-input bounds: the RSS peak never rises by half the bomb's inflated
size, both hostile ONVIF cameras are ``error`` with "reply larger than", nothing reaches the redirect
target, ``camwatch probe`` reports the redirect as an error naming the target host, no login in the log.

    python3 benchmarks/soak.py --duration 600 [--cameras 1000] [--interval 10s]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1] / "tests"))  # support.hostile_devices
from _harness import (
    PROFILES,
    Watch,
    error_lines,
    fleet_process,
    histogram,
    machine,
    monitor_config,
    monitor_process,
    percentile,
    quantile,
    since,
    watch_monitor,
)

from camwatch.config.models import parse_duration
from camwatch.sim.profiles import SimCamera, load_spec, plan
from support.hostile_devices import (
    CAM_PASSWORD,
    CAM_USER,
    hostile_onvif,
    hostile_rtsp,
    recording_listener,
)

SOAK_PROFILE = PROFILES / "soak.yaml"
LATENESS = "camwatch_scheduler_lateness_seconds"
LATENESS_SHARE = 0.10  # of the RTSP interval, at p99
SCRAPE_P99 = 1.0
# RSS may grow this much from the end of the warm-up to the end (caches fill, SQLite pages, histories).
RSS_GROWTH_BYTES = 64 * 1024 * 1024

# The hostile parts. The bomb inflates to 256 MiB (about 260 kB sent; compressing it takes ~2 s): inflating it
# would lift the monitor's RSS peak by that much, far beyond anything else in the run.
BOMB_BYTES = 256 << 20
TRAP_HOST = "127.0.0.77"  # where the redirecting camera sends the decoder: another host, as far as it knows
HOSTILE_PASSWORD_ENV = "CAMWATCH_HOSTILE_PASSWORD"
REDIRECT_ID, BOMB_ID, ENDLESS_ID = "hostile-redirect", "hostile-onvif-bomb", "hostile-onvif-endless"
SLOW_CLIENTS = 200  # above the exporter's default connection cap (128), so the cap is exercised
SLOW_DRIP = 2.0  # seconds between the header lines a slow client trickles
SLOW_RENEW = 1.0  # seconds a slow client waits after the exporter closed it, before it opens again


@dataclass(slots=True)
class SlowLoad:
    """What the slow clients saw: connections opened, closed (or answered) by the exporter, refused."""

    clients: int = 0
    opened: int = 0
    closed_by_server: int = 0
    refused: int = 0
    answers: dict[str, int] = field(default_factory=dict)  # status code of any reply -> count
    open_now: int = 0
    most_open: int = 0


@dataclass(frozen=True, slots=True)
class HostileFigures:
    """What the hostile parts saw and how the monitor reported them."""

    bomb_bytes: int
    rss_high_water: int  # the monitor's RSS peak over the whole run
    onvif: dict[str, tuple[str, str]]  # camera -> (status in /metrics, reason of its log line)
    onvif_requests: dict[str, int]  # camera -> requests its device read
    redirect_decodes: int  # DESCRIBEs the redirecting camera answered with a redirect (the monitor's decodes)
    redirect_probe: str  # the video error ``camwatch probe`` gives the redirecting camera
    trap_connections: int
    trap_bytes: int
    logins_leaked: tuple[str, ...]  # files (log, exposition) holding the hostile camera's login
    slow: SlowLoad

    def violations(self, rss_warm: int) -> list[str]:
        found = []
        jump = self.rss_high_water - rss_warm
        if jump >= self.bomb_bytes // 2:
            found.append(
                f"RSS peak {self.rss_high_water / 1e6:.0f} MB, {jump / 1e6:.0f} MB above the warm RSS: "
                f"the bomb inflates to {self.bomb_bytes / 1e6:.0f} MB"
            )
        for camera, (status, reason) in self.onvif.items():
            if status != "error" or "reply larger than" not in reason:
                found.append(f"{camera} is {status or 'missing'} ({reason or 'no log line'})")
        if self.trap_connections or self.trap_bytes:
            found.append(
                f"the redirect target got {self.trap_connections} connections, {self.trap_bytes} bytes"
            )
        if f"redirected (302) to {TRAP_HOST}" not in self.redirect_probe:
            found.append(f"camwatch probe gave the redirecting camera: {self.redirect_probe!r}")
        if self.logins_leaked:
            found.append(f"the hostile camera's login is in {', '.join(self.logins_leaked)}")
        if self.slow.clients and not self.slow.closed_by_server:
            found.append("the exporter never closed a slow client")
        return found

    def lines(self, rss_warm: int) -> list[str]:
        slow = self.slow
        onvif = "; ".join(
            f"{c} {status} ({reason}; {self.onvif_requests.get(c, 0)} requests)"
            for c, (status, reason) in self.onvif.items()
        )
        jump = self.rss_high_water - rss_warm
        return [
            f"hostile ONVIF: {onvif}",
            f"RSS peak {self.rss_high_water / 1e6:.0f} MB ({jump / 1e6:+.0f} MB on the warm RSS; the bomb "
            f"inflates to {self.bomb_bytes / 1e6:.0f} MB, bound half of it)",
            f"redirecting camera: {self.redirect_decodes} decodes redirected; to {TRAP_HOST}: "
            f"{self.trap_connections} connections, {self.trap_bytes} bytes",
            f"camwatch probe of the redirecting camera: video {self.redirect_probe}",
            f"slow clients: {slow.clients} at a time (at most {slow.most_open} open), {slow.opened} opened, "
            f"{slow.closed_by_server} closed by the exporter, {slow.refused} refused, replies "
            + (", ".join(f"{k} {v}" for k, v in sorted(slow.answers.items())) or "none"),
            f"hostile login found in: {', '.join(self.logins_leaked) or 'nothing'}",
        ]


@dataclass(frozen=True, slots=True)
class SoakReport:
    """Figures of one soak run; ``violations`` lists every bound it broke."""

    cameras: int
    duration: float
    interval: float
    warmup: float
    lateness_p99: float  # after the warm-up
    lateness_p99_all: float
    lateness_p50: float
    scrapes: int
    failed_scrapes: int
    scrape_p50: float
    scrape_p99: float
    scrape_max: float
    rss_warm: int
    rss_peak: int
    rss_end: int
    errors: tuple[str, ...]
    flapping_cameras: int
    flaps_seen: int
    flaps_max: int  # most state changes of one flapping camera
    flaps_allowed: int  # real up/down changes of a flapping camera over the run, at most
    steady_flapped: tuple[str, ...]  # steadily healthy or faulty cameras that changed up/down after the first
    results: dict[str, int]  # probe:result -> count, from camwatch_probes_total
    hostile: HostileFigures

    @property
    def violations(self) -> list[str]:
        found = []
        if not self.lateness_p99 < LATENESS_SHARE * self.interval:
            found.append(
                f"lateness p99 {self.lateness_p99:.3f} s >= {LATENESS_SHARE:.0%} of {self.interval:g} s"
            )
        if not self.scrape_p99 < SCRAPE_P99:
            found.append(f"/metrics p99 {self.scrape_p99:.3f} s >= {SCRAPE_P99:g} s")
        if self.failed_scrapes:
            found.append(f"{self.failed_scrapes} scrapes failed")
        if self.rss_end - self.rss_warm > RSS_GROWTH_BYTES:
            found.append(f"RSS grew {(self.rss_end - self.rss_warm) / 1e6:.0f} MB after the warm-up")
        if self.errors:
            found.append(f"{len(self.errors)} ERROR/traceback lines, first: {self.errors[0][:160]}")
        if self.flaps_max > self.flaps_allowed:
            found.append(
                f"a flapping camera changed {self.flaps_max} times, it flapped at most {self.flaps_allowed}"
            )
        if self.flapping_cameras and not self.flaps_seen:
            found.append("no flap of the flapping cameras was seen")
        if self.steady_flapped:
            found.append(f"steady cameras changed state: {', '.join(self.steady_flapped[:5])}")
        return found + self.hostile.violations(self.rss_warm)

    def lines(self) -> list[str]:
        mb = 1e6
        return [
            f"{self.cameras:,} cameras, RTSP interval {self.interval:g} s, {self.duration:g} s "
            f"(warm-up {self.warmup:g} s)",
            f"scheduler lateness: p50 {self.lateness_p50:.3f} s, p99 {self.lateness_p99:.3f} s "
            f"after the warm-up (bound < {LATENESS_SHARE * self.interval:g} s); "
            f"p99 {self.lateness_p99_all:.3f} s whole run",
            f"/metrics: {self.scrapes} scrapes, p50 {self.scrape_p50:.3f} s, p99 {self.scrape_p99:.3f} s, "
            f"max {self.scrape_max:.3f} s, failed {self.failed_scrapes} (bound p99 < {SCRAPE_P99:g} s)",
            f"RSS: {self.rss_warm / mb:.0f} MB after warm-up, peak {self.rss_peak / mb:.0f} MB, "
            f"end {self.rss_end / mb:.0f} MB (growth bound {RSS_GROWTH_BYTES / mb:.0f} MB)",
            f"flapping: {self.flapping_cameras} cameras, {self.flaps_seen} state changes seen, at most "
            f"{self.flaps_max} per camera (real flaps <= {self.flaps_allowed}); steady cameras that changed: "
            f"{len(self.steady_flapped)}",
            "probe results: " + ", ".join(f"{k} {v}" for k, v in sorted(self.results.items())),
            f"ERROR/traceback lines in the monitor log: {len(self.errors)}",
            *self.hostile.lines(self.rss_warm),
        ]


def _labelled(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Samples of ``name`` by their label pairs, read from exposition ``text``."""
    from prometheus_client.parser import text_string_to_metric_families

    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                out[tuple(sorted(sample.labels.items()))] = sample.value
    return out


# ------------------------------------------------------------------------------------ the hostile parts


async def _slow_client(port: int, load: SlowLoad, deadline: float, delay: float) -> None:
    """Until ``deadline``: open a connection, send half a request head, trickle a header line every
    ``SLOW_DRIP`` seconds until the exporter closes it (or answers), wait ``SLOW_RENEW`` s, again."""
    await asyncio.sleep(delay)
    while time.monotonic() < deadline:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            load.refused += 1
            await asyncio.sleep(SLOW_RENEW)
            continue
        load.opened += 1
        load.open_now += 1
        load.most_open = max(load.most_open, load.open_now)
        try:
            writer.write(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            while time.monotonic() < deadline:
                try:
                    data = await asyncio.wait_for(reader.read(256), SLOW_DRIP)
                except TimeoutError:
                    writer.write(b"X-Slow: 1\r\n")
                    continue
                if data:
                    code = data.split(b" ", 2)[1].decode("ascii", "replace") if b" " in data else "?"
                    load.answers[code] = load.answers.get(code, 0) + 1
                load.closed_by_server += 1
                break
        except OSError:
            load.closed_by_server += 1
        finally:
            load.open_now -= 1
            writer.transport.abort()
        await asyncio.sleep(SLOW_RENEW)


async def _hostile_main(conn: Connection) -> None:
    """Serve the hostile devices; on ``("slow", port, seconds)`` run the slow clients against the exporter;
    on ``("stop",)`` send back what every part saw."""
    async with (
        recording_listener(TRAP_HOST) as trap,
        hostile_rtsp(decoder="redirect", location=trap.url("stolen"), auth="basic") as camera,
        hostile_onvif("gzip_bomb", inflated_bytes=BOMB_BYTES) as bomb,
        hostile_onvif("endless") as endless,
    ):
        conn.send({"rtsp_url": camera.url("cam"), BOMB_ID: bomb.port, ENDLESS_ID: endless.port})
        load = SlowLoad()
        slow: asyncio.Future[Any] | None = None
        while (command := await asyncio.to_thread(conn.recv))[0] == "slow":
            _, port, seconds = command
            deadline = time.monotonic() + seconds
            load.clients = SLOW_CLIENTS
            # Opened over the first two seconds, not in one burst.
            spread = 2.0 / SLOW_CLIENTS
            slow = asyncio.gather(
                *(_slow_client(port, load, deadline, i * spread) for i in range(SLOW_CLIENTS))
            )
        if slow is not None:
            await slow  # each client stops by its deadline, within SLOW_DRIP
        decodes = [
            r for r in camera.requests if not r.from_probe and r.method == "DESCRIBE" and r.authorization
        ]
        conn.send(
            {
                "onvif_requests": {BOMB_ID: bomb.requests, ENDLESS_ID: endless.requests},
                "redirect_decodes": len(decodes),
                "trap_connections": trap.connections,
                "trap_bytes": len(trap.received),
                "slow": asdict(load),
            }
        )


def _hostile_process(conn: Connection) -> None:
    asyncio.run(_hostile_main(conn))


@dataclass
class Hostile:
    """The hostile parts' process: where its devices listen, and the pipe that drives it."""

    conn: Connection
    addresses: dict[str, Any]

    def start_slow_clients(self, port: int, seconds: float) -> None:
        self.conn.send(("slow", port, seconds))

    def stop(self) -> dict[str, Any]:
        self.conn.send(("stop",))
        if not self.conn.poll(SLOW_DRIP + 30):
            raise RuntimeError("the hostile devices' process did not report")
        result: dict[str, Any] = self.conn.recv()
        return result


@contextmanager
def hostile_process(start_timeout: float = 60.0) -> Iterator[Hostile]:
    """Run the hostile devices (and later the slow clients) in a process of their own, so their work shows
    neither in the monitor's figures nor in the scrape times measured here."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    proc = context.Process(target=_hostile_process, args=(theirs,), daemon=True)
    proc.start()
    try:
        if not ours.poll(start_timeout):
            raise RuntimeError(f"hostile devices not ready within {start_timeout:g} s")
        yield Hostile(ours, ours.recv())
    finally:
        proc.terminate()
        proc.join(10)
        if proc.is_alive():
            proc.kill()
            proc.join()


def _hostile_cameras(addresses: dict[str, Any]) -> list[dict[str, Any]]:
    """Inventory entries of the hostile devices. The ONVIF-only ones are probed every 10 s (tier ``hostile``),
    so the bomb is thrown several times even in a one-minute run."""
    onvif = [
        {
            "id": cid,
            "name": f"Hostile ONVIF ({kind})",
            "onvif_host": "127.0.0.1",
            "onvif_port": addresses[cid],
            "tier": "hostile",
        }
        for cid, kind in ((BOMB_ID, "gzip bomb"), (ENDLESS_ID, "endless reply"))
    ]
    redirect = {
        "id": REDIRECT_ID,
        "name": "Hostile camera (redirects the video decoder)",
        "rtsp_url": addresses["rtsp_url"],
        "username": CAM_USER,
        "password_env": HOSTILE_PASSWORD_ENV,
    }
    return [*onvif, redirect]


def _probe_video_error(config: Path, camera: str) -> str:
    """The video check's status and error for ``camera`` from ``camwatch probe --json``."""
    done = subprocess.run(
        [sys.executable, "-m", "camwatch", "probe", str(config), "--camera", camera, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    if done.returncode != 0:
        return f"camwatch probe exited {done.returncode}: {done.stderr.strip()[-300:]}"
    video = json.loads(done.stdout)[0]["probes"].get("video")
    return f"{video['status']}: {video['error']}" if video else "no video check"


def _logged_reason(log: Path, camera: str) -> str:
    """The reason of the last state-change line the monitor logged for ``camera``."""
    marker = f"camera {camera} ("
    lines = [line for line in log.read_text(errors="replace").splitlines() if marker in line]
    return lines[-1].split(" -> ", 1)[-1] if lines else ""


# ---------------------------------------------------------------------------------------------- the run


def run_soak(
    work: Path, *, cameras: int, duration: float, interval: str = "10s", port: int = 19641
) -> SoakReport:
    """Run the fleet, the hostile parts and the monitor for ``duration`` seconds of watching; measure them."""
    spec = load_spec(SOAK_PROFILE)
    sims = plan(spec, count=cameras)
    seconds = parse_duration(interval)
    warmup = min(3 * seconds, duration / 3)
    os.environ[HOSTILE_PASSWORD_ENV] = CAM_PASSWORD  # the redirecting camera's login, for the monitor
    with hostile_process() as hostile, fleet_process(SOAK_PROFILE, work / "fleet", count=cameras) as fleet:
        fleet_started = time.monotonic()
        inventory = work / "fleet" / "soak-cameras.yaml"
        doc = yaml.safe_load((work / "fleet" / "cameras.yaml").read_text())
        doc["cameras"] += _hostile_cameras(hostile.addresses)
        inventory.write_text(yaml.safe_dump(doc, sort_keys=False))
        config = monitor_config(
            fleet.config,
            work / "fleet" / "soak.yaml",
            monitor={
                "listen": f"127.0.0.1:{port}",
                "state": str(work / "state.db"),
                "rtsp": {"interval": interval, "timeout": "5s"},
                "onvif": {"interval": "60s", "timeout": "5s"},
                "tiers": {"hostile": {"onvif": {"interval": "10s", "timeout": "5s"}}},
            },
            inventory=inventory,
        )
        with monitor_process(config, work / "monitor.log") as monitor:
            hostile.start_slow_clients(port, duration)
            watch = asyncio.run(watch_monitor(monitor, duration=duration, every=1.0, warmup=warmup))
        fleet_seconds = time.monotonic() - fleet_started
        redirect_probe = _probe_video_error(config, REDIRECT_ID)
        seen = hostile.stop()
    errors = tuple(error_lines(monitor.log))
    status = {
        dict(k)["camera"]: dict(k)["status"]
        for k, v in _labelled(watch.last, "camwatch_camera_status").items()
        if v == 1
    }
    log_text = monitor.log.read_text(errors="replace")
    figures = HostileFigures(
        bomb_bytes=BOMB_BYTES,
        rss_high_water=watch.rss_high_water,
        onvif={c: (status.get(c, ""), _logged_reason(monitor.log, c)) for c in (BOMB_ID, ENDLESS_ID)},
        onvif_requests=seen["onvif_requests"],
        redirect_decodes=seen["redirect_decodes"],
        redirect_probe=redirect_probe,
        trap_connections=seen["trap_connections"],
        trap_bytes=seen["trap_bytes"],
        logins_leaked=tuple(
            where
            for where, text in (("monitor log", log_text), ("/metrics", watch.last))
            if CAM_PASSWORD in text
        ),
        slow=SlowLoad(**seen["slow"]),
    )
    return _report(
        watch,
        sims,
        errors,
        figures,
        cameras=cameras,
        duration=duration,
        interval=seconds,
        warmup=warmup,
        fleet_seconds=fleet_seconds,
    )


def _report(
    watch: Watch,
    sims: Sequence[SimCamera],
    errors: tuple[str, ...],
    hostile: HostileFigures,
    *,
    cameras: int,
    duration: float,
    interval: float,
    warmup: float,
    fleet_seconds: float,
) -> SoakReport:
    lateness = histogram(watch.last, LATENESS)
    steady = since(lateness, histogram(watch.warm, LATENESS))
    flaps = {
        dict(k)["camera"]: int(v) for k, v in _labelled(watch.last, "camwatch_camera_flaps_total").items()
    }
    flapping = [c for c in sims if c.behaviour == "flapping"]
    period = min((c.period for c in flapping), default=math.inf)
    results = Counter(
        {
            f"{dict(k)['probe']}:{dict(k)['result']}": int(v)
            for k, v in _labelled(watch.last, "camwatch_probes_total").items()
        }
    )
    after = watch.after(warmup) or watch.scrape_seconds
    warm_index = next((i for i, t in enumerate(watch.elapsed) if t >= warmup), 0)
    return SoakReport(
        cameras=cameras,
        duration=duration,
        interval=interval,
        warmup=warmup,
        lateness_p99=quantile(steady, 0.99),
        lateness_p99_all=quantile(lateness, 0.99),
        lateness_p50=quantile(steady, 0.5),
        scrapes=len(watch.scrape_seconds),
        failed_scrapes=watch.failed_scrapes,
        scrape_p50=percentile(after, 0.5),
        scrape_p99=percentile(after, 0.99),
        scrape_max=max(after),
        rss_warm=watch.rss[warm_index],
        rss_peak=max(watch.rss),
        rss_end=watch.rss[-1],
        errors=errors,
        flapping_cameras=len(flapping),
        flaps_seen=sum(flaps.get(c.id, 0) for c in flapping),
        flaps_max=max((flaps.get(c.id, 0) for c in flapping), default=0),
        flaps_allowed=int(fleet_seconds // period) + 1 if flapping else 0,
        steady_flapped=tuple(c.id for c in sims if c.behaviour != "flapping" and flaps.get(c.id, 0)),
        results=dict(results),
        hostile=hostile,
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cameras", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of watching")
    parser.add_argument("--interval", default="10s", help="RTSP probe interval")
    parser.add_argument("--port", type=int, default=19641, help="exporter port")
    parser.add_argument(
        "--work", type=Path, help="keep config, logs and state here (default: a temporary folder)"
    )
    args = parser.parse_args(argv)
    print(f"machine: {machine()}; {time.strftime('%Y-%m-%d %H:%M')}; load {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="camwatch-soak-") as tmp:
        report = run_soak(
            args.work or Path(tmp),
            cameras=args.cameras,
            duration=args.duration,
            interval=args.interval,
            port=args.port,
        )
    print("\n".join(report.lines()))
    print(f"load at the end: {os.getloadavg()[0]:.1f}")
    problems = report.violations
    print("bounds: all met" if not problems else "bounds NOT met:\n  " + "\n  ".join(problems))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
