"""/metrics collection and rendering at fleet scale: prometheus_client's generic path vs the direct one.

A fleet of N cameras (stream, ONVIF and video checks; a fifth with a sub-stream; healthy, down, faulty,
never-probed and under-maintenance cameras) is fed through the real ``Tracker``; then each way of producing
the /metrics body is timed in this process (no HTTP), as the median of ``--repeat`` runs:

- generic: every family built as ``GaugeMetricFamily``, written by ``generate_latest`` (the first exporter);
- cold: the direct renderer with nothing cached (the first scrape after start);
- all: every camera got a new stream-check result since the last scrape (scrapes as far apart as the 60 s
  stream check);
- half: half of them did (the 30 s scrape interval of dashboards/prometheus.yml);
- same: none did;
- followed: half of them did, and each result was reported to the exporter as it was applied
  (``follow_changes``, as the service does): the scrape only joins cached lines. "redo per result" is what
  that reporting costs each probe round instead;
- streamed: as followed, the body made as /metrics writes it (``exposition_blocks``: blocks of lines, no
  whole body);
- longest loop hold: the longest an asyncio loop went without a turn during one scrape (wall time).

Times are wall seconds (median); ``--cpu`` prints CPU seconds (``time.process_time``) instead.

Both bodies hold the service-level families and the process metrics too.

    python3 benchmarks/bench_scrape.py [--cameras 1000 10000 50000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import math
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sized
from functools import partial
from pathlib import Path

from prometheus_client import ProcessCollector, generate_latest
from prometheus_client.registry import CollectorRegistry

from camwatch.config.models import Camera, Debounce, Stream
from camwatch.monitor.exporter import CameraExposition, Exporter
from camwatch.monitor.live import ClusterView, CoverageView, Snapshot
from camwatch.monitor.probes.base import ProbeResult
from camwatch.monitor.tracker import CameraTrack, Tracker

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.exporter_reference import ReferenceCollector

COUNTIES = ("柘城县", "睢县", "宁陵县", "民权县", "虞城县", "夏邑县")
TOWNSHIPS = ("城关镇", "陈青集镇", "起台镇", "胡襄镇", "慈圣镇", "安平镇", "老王集乡")
PICTURE_FAULTS = ("frozen", "black", "blurred", "occluded", "color_cast")
T0 = 1_760_000_000.0


def fleet_camera(i: int, rng: random.Random) -> Camera:
    county, township = rng.choice(COUNTIES), rng.choice(TOWNSHIPS)
    url = f"rtsp://10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}:554/Streaming/Channels/101"
    streams = (
        (Stream(role="main", rtsp_url=url), Stream(role="sub", rtsp_url=url[:-1] + "2")) if i % 5 == 0 else ()
    )
    return Camera(
        id=f"cam-{i:06d}",
        name=f"{township}{rng.choice(('东路口', '西门', '学校北门', '卫生院'))}{i % 97}号",
        rtsp_url=None if streams else url,
        streams=streams,
        onvif_host=url.split("/")[2].split(":")[0],
        vendor=rng.choice(("hikvision", "dahua", "uniview")),
        model=rng.choice(("DS-2CD3T47", "IPC-HFW2431", "IPC2124")),
        lat=34.0 + rng.random(),
        lon=115.0 + rng.random(),
        county=county,
        township=township,
        village=f"{rng.randrange(40)}村",
        site=f"site-{i // 4}",
        switch=f"sw-{i // 24}",
        tier=rng.choice(("default", "default", "key")),
        priority=i % 50 == 0,
    )


def probe_round(camera: Camera, rng: random.Random) -> dict[str, ProbeResult]:
    """One round of results: 88 % healthy, 6 % down, 6 % with a picture fault; clock skew now and then."""
    roll = rng.random()
    streams = {s.role: "ok" for s in camera.all_streams()} if camera.streams else {}
    if roll < 0.06:
        status = rng.choice(("offline", "timeout", "auth_failed"))
        rtsp = ProbeResult("rtsp", False, status, rng.uniform(0.001, 5.0), error=f"{status} reaching camera")
        return {"rtsp": rtsp, "onvif": ProbeResult("onvif", False, status, rng.uniform(0.001, 5.0))}
    if streams and rng.random() < 0.1:
        streams["sub"] = "not_found"
    rtsp = ProbeResult(
        "rtsp",
        True,
        "ok",
        rng.uniform(0.005, 0.2),
        faults=("sub_stream_down",) if streams.get("sub") == "not_found" else (),
        details={"streams": streams} if streams else {},
    )
    fault = rng.choice(PICTURE_FAULTS) if roll > 0.94 else None
    video = ProbeResult(
        "video",
        fault is None,
        fault or "ok",
        rng.uniform(2.0, 4.0),
        faults=(fault,) if fault else (),
        values={
            "fps": rng.choice((25.0, 24.98, 12.5)),
            "luma": rng.uniform(8, 200),
            "sharpness": rng.uniform(30, 900),
        },
    )
    offset = rng.gauss(0, 4) if rng.random() < 0.97 else rng.uniform(30, 3600)
    onvif = ProbeResult(
        "onvif",
        True,
        "ok",
        rng.uniform(0.05, 0.8),
        faults=("clock_skew",) if abs(offset) > 10 else (),
        values={"clock_offset_seconds": offset},
    )
    return {"rtsp": rtsp, "video": video, "onvif": onvif}


def build_fleet(n: int, *, seed: int = 1) -> tuple[Tracker, Callable[[], Snapshot], random.Random]:
    rng = random.Random(seed)
    cameras = {c.id: c for c in (fleet_camera(i, rng) for i in range(n))}
    tracker = Tracker(cameras, Debounce(down_after=1, up_after=1))
    for k, camera in enumerate(cameras.values()):
        if k % 40 != 7:  # 2.5 % never probed yet
            tracker.observe(camera.id, probe_round(camera, rng), T0 + k * 60.0 / n)
    down = [t.camera for t in tracker.tracks.values() if t.up is False]
    clusters = [
        ClusterView(f"switch:{c.switch}", "switch", c.switch, (c.id,), c.county, c.township, T0)
        for c in down[:200]
    ]
    coverage = [CoverageView(c, k, 0.7, 0.65, 0.9) for c in COUNTIES for k in ("school", "road", "market")]
    maintenance = frozenset(c for i, c in enumerate(cameras) if i % 100 == 3)
    probes_total = {("rtsp", "ok"): 50 * n, ("rtsp", "timeout"): n, ("video", "ok"): 10 * n}

    def snapshot() -> Snapshot:
        return Snapshot(
            tracks=tracker.tracks,
            probes_total=probes_total,
            clusters=clusters,
            coverage=coverage,
            maintenance=maintenance,
        )

    return tracker, snapshot, rng


def reobserve(
    tracker: Tracker,
    rng: random.Random,
    share: float,
    clock: Iterator[float],
    changed: Callable[[CameraTrack, bool], None] | None = None,
    maintenance: frozenset[str] = frozenset(),
) -> None:
    """New stream-check results for ``share`` of the cameras, as arrive between two scrapes (each reported
    to ``changed`` as it is applied, as the service does)."""
    now = next(clock)
    tracks = list(tracker.tracks.values())
    for track in rng.sample(tracks, int(share * len(tracks))):
        tracker.observe(track.camera.id, {"rtsp": probe_round(track.camera, rng)["rtsp"]}, now)
        if changed is not None:
            changed(track, track.camera.id in maintenance)


CLOCK = time.perf_counter


def timed(render: Callable[[], Sized], prepare: Callable[[], None], repeat: int) -> tuple[float, int]:
    """Median seconds of ``render`` over ``repeat`` runs, ``prepare`` run untimed before each; body size."""
    times, size = [], 0
    for _ in range(repeat):
        prepare()
        started = CLOCK()
        size = len(render())
        times.append(CLOCK() - started)
    return statistics.median(times), size


def bench(n: int, repeat: int, *, generic_path: bool = True) -> dict[str, float]:
    tracker, snapshot, rng = build_fleet(n)
    generic = CollectorRegistry(auto_describe=False)
    generic.register(ReferenceCollector(snapshot))
    ProcessCollector(registry=generic)
    figures: dict[str, float] = {"cameras": n}
    figures["generic"], size = math.nan, 0
    if generic_path:
        figures["generic"], size = timed(lambda: generate_latest(generic), lambda: None, repeat)
    figures["cold"], _ = timed(lambda: Exporter(snapshot).exposition(), lambda: None, repeat)

    exporter = Exporter(snapshot)
    exporter.exposition()
    clock = itertools.count(T0 + 150.0, 30.0)
    for label, share in (("all", 1.0), ("half", 0.5), ("same", 0.0)):
        figures[label], _ = timed(exporter.exposition, partial(reobserve, tracker, rng, share, clock), repeat)
    body = exporter.exposition()

    followed = Exporter(snapshot, follow_changes=True)
    followed.exposition()
    maintenance = snapshot().maintenance
    report = partial(reobserve, tracker, rng, 0.5, clock, followed.changed, maintenance)
    figures["followed"], _ = timed(followed.exposition, report, repeat)
    loop = asyncio.new_event_loop()

    def streamed() -> range:  # what /metrics does: the blocks, each written (here: counted) and let go
        return range(sum(len(block) for block in loop.run_until_complete(followed.exposition_blocks())[1]))

    figures["streamed"], _ = timed(streamed, report, repeat)
    # The longest the event loop waits for a scrape: the walk at scrape time holds it throughout; the
    # streamed body, and a cold start's walk in slices (``render_async``), give it a turn between blocks.
    report()
    figures["hold_walk"] = loop.run_until_complete(_longest_hold(lambda: _sync(exporter.exposition)))
    report()
    figures["hold_streamed"] = loop.run_until_complete(_longest_hold(followed.exposition_blocks))
    cold = Exporter(snapshot, follow_changes=True)
    figures["hold_cold"] = loop.run_until_complete(_longest_hold(cold.exposition_blocks))
    loop.close()
    joined = followed.exposition()
    assert joined == _without_process(exporter.exposition(), joined), "the followed body differs"
    # What reporting costs the probe rounds: the same half applied with and without it.
    figures["redo"] = max(
        timed(lambda: report() or b"", lambda: None, repeat)[0]
        - timed(lambda: reobserve(tracker, rng, 0.5, clock) or b"", lambda: None, repeat)[0],
        0.0,
    ) / max(int(0.5 * n), 1)
    figures["series"] = sum(1 for line in body.splitlines() if line.startswith(b"camwatch_"))
    figures["mb"] = (size or len(body)) / 1e6
    if not generic_path:
        return figures
    snap = snapshot()
    cameras_only = CollectorRegistry(auto_describe=False)
    cameras_only.register(ReferenceCollector(snapshot, service=False))
    direct = b"".join(CameraExposition().render(snap.tracks.values(), snap.maintenance))
    assert direct == generate_latest(cameras_only), "the direct per-camera text differs from the generic"
    return figures


async def _sync(render: Callable[[], bytes]) -> tuple[int, Iterator[bytes]]:
    body = render()
    return len(body), iter((body,))


async def _longest_hold(scrape: Callable[[], Awaitable[tuple[int, Iterator[bytes]]]]) -> float:
    """The longest the loop went without a turn while ``scrape`` made its body and wrote it (a block a turn,
    as /metrics does)."""
    gaps: list[float] = []
    done = False

    async def ticker() -> None:
        last = time.perf_counter()
        while not done:
            await asyncio.sleep(0)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    tick = asyncio.ensure_future(ticker())
    await asyncio.sleep(0)
    _, body = await scrape()
    for _block in body:
        await asyncio.sleep(0)
    done = True
    await tick
    return max(gaps)


def _without_process(body: bytes, like: bytes) -> bytes:
    """``body`` with the process metrics (which change by the call) taken from ``like``."""
    cut, cut_like = body.index(b"# HELP process_"), like.index(b"# HELP process_")
    return body[:cut] + like[cut_like:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, nargs="+", default=[1000, 10000, 50000])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per figure (median shown)")
    parser.add_argument("--cpu", action="store_true", help="CPU seconds (process_time) instead of wall")
    parser.add_argument("--no-generic", action="store_true", help="skip the slow prometheus_client path")
    args = parser.parse_args()
    global CLOCK
    CLOCK = time.process_time if args.cpu else time.perf_counter
    columns = ("generic", "cold", "all", "half", "same", "followed", "streamed")
    print(f"{'cameras':>8} {'series':>9} {'MB':>5} " + " ".join(f"{c + ' s':>9}" for c in columns), end="")
    print("".join(f"{'x ' + c:>11}" for c in columns[1:]), flush=True)
    for n in args.cameras:
        r = bench(n, args.repeat, generic_path=not args.no_generic)
        print(
            f"{n:>8,} {int(r['series']):>9,} {r['mb']:>5.1f} " + " ".join(f"{r[c]:>9.3f}" for c in columns),
            end="",
        )
        print("".join(f"{r['generic'] / r[c]:>11.1f}" for c in columns[1:]), end="")
        print(f"  redo per result {r['redo'] * 1e6:.0f} µs", end="")
        print(
            f"; longest loop hold (wall): walk at scrape {r['hold_walk'] * 1e3:.0f} ms, streamed "
            f"{r['hold_streamed'] * 1e3:.0f} ms, cold walk in slices {r['hold_cold'] * 1e3:.0f} ms",
            flush=True,
        )


if __name__ == "__main__":
    main()
