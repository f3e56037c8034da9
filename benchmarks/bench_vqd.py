"""Video-quality diagnosis over the labelled corpus of real scenes: camwatch against ffmpeg's own filters.

Builds the corpus (tests/support/vqd_corpus.py: real photographs served live by the GStreamer RTSP test
server), checks every stream with camwatch's video probe (first check without a baseline, then after the
camera learned from its healthy view) and with ffmpeg's ``freezedetect``, ``blackdetect`` and ``blurdetect``
over the same seconds, and prints a confusion matrix per method and CPU per check. Then cameras that one
check cannot judge (a static scene without sensor noise) are checked twice, with their controls.

    python benchmarks/bench_vqd.py [--concurrency 6] [--learned 2] [--ffmpeg-blur 6.5] [--part issue14]

``--part`` (``all``, ``issue14``, ``vqd``): ``issue14`` skips the VQD classes of issue 26; ``vqd`` runs
them only (``tests/support/vqd_faults.py``: signal_lost, corrupted, too_dark, too_bright, low_contrast,
noise, stripes, jitter, flicker, and their healthy look-alikes), each camera checked as many times as
``monitor.video.confirm`` asks for its class (look-alikes twice), with per-class recall and false-fault
rate, side by side with ffmpeg's filters over the same seconds (``signalstats``, ``blackdetect``,
``freezedetect``, ``blurdetect``: see ``FFMPEG_MEASURES`` for what each class is judged by, and which
classes no filter judges), then CPU per check against a naive full decode of 720p streams (every frame
decoded and converted to BGR, the same seconds, in the same run), encoded twice: as the test server encodes
(x264 ``ultrafast``, 15 fps: cheap to decode) and as real cameras send (High profile CABAC, 3 Mbit/s,
25 fps). ``--part cpu`` runs that comparison alone (about a minute). Without ffmpeg installed
(``apt-get install ffmpeg``) the ffmpeg columns are left out and camwatch's side runs alone.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import av

from camwatch.config.models import Camera, VideoSettings
from camwatch.monitor.probes.base import OK, ProbeContext
from camwatch.monitor.probes.video import probe

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support import vqd_corpus, vqd_faults
from support.gst_rtsp import start_gst_rtsp

LABELS = ("ok", "frozen", "black", "occluded", "tampered", "moved", "blurred", "color_cast")
# What ffmpeg's filters judge each VQD class by: a ``signalstats`` value over the check's frames (its median,
# or the frame-to-frame swing of YAVG for flicker) and whether the fault lies ``below`` or ``above`` it.
# Each is given the threshold that keeps every healthy look-alike clean (the most extreme look-alike's
# value): ffmpeg at its best on this corpus. ``None``: no filter measures what tells the class.
FFMPEG_MEASURES: dict[str, tuple[str, str] | None] = {
    "signal_lost": None,  # no filter knows a generated screen: a flat field reads as any flat picture
    "corrupted": None,  # lost slices are pixels here, not errors in the bitstream
    "too_dark": ("YHIGH", "below"),  # the 90th percentile of luma
    "too_bright": ("YLOW", "above"),  # the 10th percentile
    "low_contrast": ("YRANGE", "below"),  # YHIGH - YLOW
    "noise": ("TOUT", "above"),  # share of temporal outlier pixels
    "stripes": ("VREP", "above"),  # share of rows repeating the one above
    "jitter": ("YDIF", "above"),  # mean frame-to-frame luma difference: any motion
    "flicker": ("SWING", "above"),  # median |ΔYAVG| / mean YAVG over consecutive frames
    "mono_by_day": ("SATAVG", "below"),  # mean saturation: a chroma-free picture, whatever the hour
}
FFMPEG_MISSING = "ffmpeg is not installed (apt-get install ffmpeg): its columns are left out"
# The corpus' raw video brought to 720p and encoded as the test server encodes (its mounts are 640x360).
_ENCODE_720P = (
    " ! videoscale ! video/x-raw,width=1280,height=720,pixel-aspect-ratio=1/1 ! videoconvert "
    "! video/x-raw,format=I420 ! x264enc speed-preset=ultrafast tune=zerolatency "
    f"key-int-max={vqd_corpus.FPS} threads=1 ! rtph264pay name=pay0 pt=96 config-interval=1"
)
# ... and as real cameras send it: High profile (CABAC, 8x8 transforms, deblocking) at 3 Mbit/s, 25 fps, a
# keyframe every 2 s, no B-frames; every frame carries fresh sensor noise after the frame-rate conversion
# (frames repeated from the 15 fps corpus would encode as nearly empty P-frames and flatter the full decode).
REALISTIC_FPS, REALISTIC_KBITS = 25, 3000
_ENCODE_720P_REALISTIC = (
    f" ! videorate ! video/x-raw,framerate={REALISTIC_FPS}/1 ! videoscale "
    "! video/x-raw,width=1280,height=720,pixel-aspect-ratio=1/1 ! live720.sink_0 "
    "videotestsrc is-live=true pattern=snow "
    f"! video/x-raw,width=1280,height=720,framerate={REALISTIC_FPS}/1 ! live720.sink_1 "
    "compositor name=live720 latency=300000000 sink_1::alpha=0.015 ! videoconvert ! video/x-raw,format=I420 "
    f"! x264enc speed-preset=veryfast tune=zerolatency bitrate={REALISTIC_KBITS} "
    f"key-int-max={2 * REALISTIC_FPS} threads=1 ! video/x-h264,profile=high "
    "! rtph264pay name=pay0 pt=96 config-interval=1"
)
_FFMPEG_FILTERS = (
    "signalstats=stat=tout+vrep,metadata=print,freezedetect=n=-60dB:d=2,blackdetect=d=0.5,blurdetect"
)
_BLUR_MEAN = re.compile(r"blur mean: ([0-9.]+)")
_SIGNALSTATS = re.compile(r"lavfi\.signalstats\.([A-Z]+)=([-0-9.e]+)")


def cpu_seconds(who: int = resource.RUSAGE_SELF) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def ffmpeg_check(url: str, seconds: float, blur_limit: float) -> str:
    """ffmpeg's verdict over ``seconds`` of the stream: frozen, black, blurred (blur mean above
    ``blur_limit``) or ok; ``error`` when it could not read the stream."""
    done = subprocess.run(
        [
            "ffmpeg", "-hide_banner", "-nostats", "-rtsp_transport", "tcp", "-t", f"{seconds:g}", "-i", url,
            "-vf", "freezedetect=n=-60dB:d=2,blackdetect=d=0.5,blurdetect", "-an", "-f", "null", "-",
        ],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    log = done.stderr
    if done.returncode != 0:
        return "error"
    if "freeze_start" in log:
        return "frozen"
    if "black_start" in log:
        return "black"
    blur = _BLUR_MEAN.search(log)
    return "blurred" if blur and float(blur.group(1)) > blur_limit else "ok"


def ffmpeg_stats(url: str, seconds: float) -> dict[str, float] | None:
    """``signalstats`` over ``seconds`` of the stream, each value's median over the frames (and ``SWING``:
    flicker's frame-to-frame swing), with ``black``/``frozen`` (1.0 when ``blackdetect``/``freezedetect``
    fired) and ``BLUR`` (``blurdetect``'s mean); ``None`` when ffmpeg could not read the stream."""
    done = subprocess.run(
        [
            "ffmpeg", "-hide_banner", "-nostats", "-rtsp_transport", "tcp", "-t", f"{seconds:g}", "-i", url,
            "-vf", _FFMPEG_FILTERS,
            "-an", "-f", "null", "-",
        ],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        return None
    frames: dict[str, list[float]] = {}
    for key, value in _SIGNALSTATS.findall(done.stderr):
        frames.setdefault(key, []).append(float(value))
    if not frames.get("YAVG"):
        return None
    stats = {key: statistics.median(values) for key, values in frames.items()}
    stats["YRANGE"] = stats["YHIGH"] - stats["YLOW"]
    lumas = frames["YAVG"]
    swings = [abs(b - a) for a, b in itertools.pairwise(lumas)]
    stats["SWING"] = statistics.median(swings) / max(statistics.fmean(lumas), 1e-6) if swings else 0.0
    blur = _BLUR_MEAN.search(done.stderr)
    stats["BLUR"] = float(blur.group(1)) if blur else 0.0
    stats["black"] = float("black_start" in done.stderr)
    stats["frozen"] = float("freeze_start" in done.stderr)
    return stats


def ffmpeg_thresholds(looks: Sequence[dict[str, float]]) -> dict[str, float]:
    """Per class with a measure, the threshold that keeps every look-alike clean."""
    chosen = {}
    for label, measure in FFMPEG_MEASURES.items():
        if measure is None or not looks:
            continue
        key, side = measure
        values = [stats[key] for stats in looks]
        chosen[label] = min(values) if side == "below" else max(values)
    return chosen


def ffmpeg_finds(label: str, stats: dict[str, float], thresholds: dict[str, float]) -> bool:
    """Whether ffmpeg's measure of ``label`` lies beyond the threshold (strictly: the look-alike that set it
    stays clean)."""
    measure = FFMPEG_MEASURES.get(label)
    if measure is None or label not in thresholds:
        return False
    key, side = measure
    return stats[key] < thresholds[label] if side == "below" else stats[key] > thresholds[label]


def matrix(title: str, pairs: Sequence[tuple[str, str]]) -> None:
    """Rows: the true label; columns: what was reported (the most severe fault, ``ok``, or ``error``)."""
    counts = Counter(pairs)
    columns = [*LABELS, "error"]
    present = [label for label in LABELS if any(t == label for t, _ in pairs)]
    print(f"\n{title}")
    print("true/found".ljust(12) + "".join(f"{c[:8]:>9}" for c in columns) + f"{'right':>9}")
    for truth in present:
        total = sum(n for (t, _), n in counts.items() if t == truth)
        cells = "".join(f"{counts[(truth, c)] or '.':>9}" for c in columns)
        print(f"{truth:<12}{cells}{counts[(truth, truth)] / total:>9.0%}")


def camwatch_pairs(outcomes: Sequence[vqd_corpus.Outcome]) -> list[tuple[str, str]]:
    """(label, found) with ``found`` the label itself when a correct check also named other faults."""
    pairs = []
    for outcome in outcomes:
        label = outcome.stream.label
        if outcome.faults is None:
            pairs.append((label, "error"))
        elif outcome.correct:
            pairs.append((label, label))
        else:
            pairs.append((label, outcome.faults[0] if outcome.faults else "ok"))
    return pairs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=6)
    parser.add_argument("--learned", type=int, default=2, help="healthy checks a camera learns from first")
    parser.add_argument("--ffmpeg-blur", type=float, default=6.5, help="blurdetect mean above which: blurred")
    parser.add_argument("--part", choices=("all", "issue14", "vqd", "cpu"), default="all")
    args = parser.parse_args()
    settings = VideoSettings()
    if args.part == "cpu":
        with tempfile.TemporaryDirectory() as folder:
            print(against_naive(vqd_faults.build(Path(folder)), settings))
        return 0
    if args.part in ("all", "vqd"):
        vqd_classes(args.concurrency, settings)
    if args.part == "vqd":
        return 0
    with tempfile.TemporaryDirectory() as folder:
        streams = vqd_corpus.build(Path(folder))
        looks = vqd_corpus.second_looks(Path(folder) / "looks")
        server = start_gst_rtsp(
            mounts={**{s.name: s.fragment for s in streams}, **vqd_corpus.second_look_mounts(looks)}
        )
        try:
            print(
                f"{len(streams)} streams: "
                + ", ".join(f"{k} {v}" for k, v in Counter(s.label for s in streams).items())
            )
            for learned in (0, args.learned):
                before, started = cpu_seconds(), time.monotonic()
                outcomes = asyncio.run(
                    vqd_corpus.check_corpus(
                        server.url, streams, settings=settings, learned_checks=learned,
                        concurrency=args.concurrency,
                    )
                )  # fmt: skip
                cpu = (cpu_seconds() - before) / vqd_corpus.checks_made(streams, learned)
                title = (
                    "first check, no baseline" if not learned else f"after {learned} healthy checks learned"
                )
                matrix(
                    f"camwatch, {title}: {cpu:.3f} CPU s per check, {time.monotonic() - started:.0f} s wall",
                    camwatch_pairs(outcomes),
                )
                for outcome in outcomes:
                    if not outcome.correct:
                        print(f"  missed: {outcome.stream.name} ({outcome.stream.kind}) -> {outcome.status}")
            if shutil.which("ffmpeg") is None:
                print(f"\n{FFMPEG_MISSING}")
                return 0
            before, started = cpu_seconds(resource.RUSAGE_CHILDREN), time.monotonic()
            with ThreadPoolExecutor(args.concurrency) as pool:
                found = list(
                    pool.map(
                        lambda s: ffmpeg_check(server.url(s.name), settings.duration, args.ffmpeg_blur),
                        streams,
                    )
                )
            cpu = (cpu_seconds(resource.RUSAGE_CHILDREN) - before) / len(streams)
            wall = time.monotonic() - started
            matrix(
                f"ffmpeg freezedetect/blackdetect/blurdetect (blur mean > {args.ffmpeg_blur:g}), "
                f"{settings.duration:g} s: {cpu:.3f} CPU s per check, {wall:.0f} s wall",
                [(s.label, f) for s, f in zip(streams, found, strict=True)],
            )
            second_look(server.url, looks, settings, args.concurrency)
        finally:
            server.stop()
    return 0


def second_look(
    url: Callable[[str], str],
    looks: Sequence[vqd_corpus.SecondLook],
    settings: VideoSettings,
    concurrency: int,
) -> None:
    """Cameras one check cannot judge (a quiet sensor's static scene), checked twice, with their controls;
    ffmpeg's freezedetect on the same two views."""
    before, started = cpu_seconds(), time.monotonic()
    outcomes = asyncio.run(vqd_corpus.check_twice(url, looks, settings=settings, concurrency=concurrency))
    cpu = (cpu_seconds() - before) / (2 * len(looks))
    print(
        f"\nsecond look (the camera's previous check): {cpu:.3f} CPU s per check, "
        f"{time.monotonic() - started:.0f} s wall"
    )
    if shutil.which("ffmpeg") is None:
        print(FFMPEG_MISSING)
        anchor = [("-", "-") for _ in looks]
    else:
        with ThreadPoolExecutor(concurrency) as pool:
            anchor = list(
                pool.map(
                    lambda look: tuple(
                        ffmpeg_check(url(mount), settings.duration, float("inf"))
                        for mount in (look.name, f"{look.name}_later")
                    ),
                    looks,
                )
            )
    print(f"{'camera':<22}{'kind':<20}{'expected':>16}{'camwatch':>18}{'ffmpeg':>18}")
    for (look, first, later), found in zip(outcomes, anchor, strict=True):
        truth, got = " → ".join(look.labels), f"{first} → {later}"
        print(f"{look.name:<22}{look.kind:<20}{truth:>16}{got:>18}{' → '.join(found):>18}")


def vqd_classes(concurrency: int, settings: VideoSettings) -> None:
    """The VQD classes of issue 26 and their look-alikes: per class, the share found on the first check and
    on the confirming one (``monitor.video.confirm``), and the look-alikes without a fault; ffmpeg's
    measures of the same streams beside them; then CPU per check against a naive full decode of 720p."""
    with tempfile.TemporaryDirectory() as folder:
        streams = vqd_faults.build(Path(folder))
        server = start_gst_rtsp(mounts={s.name: s.fragment for s in streams})
        try:
            before, started = cpu_seconds(), time.monotonic()
            outcomes = asyncio.run(_confirming(server.url, streams, settings, concurrency))
            # Each camera's raw first check, then the confirming ones (look-alikes: two).
            checks = sum(
                1 + (2 if stream.label == OK else settings.confirmations(stream.label))
                for stream, _ in outcomes
            )
            cpu = (cpu_seconds() - before) / checks
            wall = time.monotonic() - started
            measured = _ffmpeg_side(server.url, streams, settings, concurrency)
        finally:
            server.stop()
        naive = against_naive(streams, settings)
    print(
        f"\nVQD classes (issue 26), {len(streams)} streams, {checks} checks: {cpu:.3f} CPU s per check, "
        f"{wall:.0f} s wall"
    )
    stats = dict(zip((s.name for s in streams), measured[0], strict=True)) if measured else {}
    looks = [stats[s.name] for s in streams if s.label == OK and stats.get(s.name)]
    thresholds = ffmpeg_thresholds(looks)
    print(
        f"{'class':<14}{'streams':>8}{'raw 1st':>9}{'confirmed':>11}   ffmpeg (signalstats value: threshold, "
        "found)  (look-alikes: without a fault)"
    )
    for label in (*vqd_faults.NEW_FAULTS, OK):
        chosen = [(stream, faults) for stream, faults in outcomes if stream.label == label]
        rows = [faults for _, faults in chosen]
        if label == OK:
            first = sum(not f[0] for f in rows) / len(rows)
            last = sum(not f[-1] for f in rows) / len(rows)
        else:
            first = sum(label in f[0] for f in rows) / len(rows)
            last = sum(label in f[-1] for f in rows) / len(rows)
        ffmpeg = _ffmpeg_cell(label, chosen, stats, thresholds)
        print(f"{label:<14}{len(rows):>8}{first:>9.0%}{last:>11.0%}   {ffmpeg}")
    for stream, faults in outcomes:
        right = not faults[-1] if stream.label == OK else stream.label in faults[-1]
        if not right:
            print(f"  missed: {stream.name} ({stream.kind}) -> {', '.join(faults[-1]) or OK}")
    if measured:
        print(
            f"ffmpeg: {measured[1]:.3f} CPU s per check (its process), over the same {settings.duration:g} s"
        )
    print(naive)


def _ffmpeg_side(
    url: Callable[[str], str], streams: Sequence[vqd_corpus.Stream], settings: VideoSettings, concurrency: int
) -> tuple[list[dict[str, float] | None], float] | None:
    """ffmpeg's statistics of every stream and its CPU per check; ``None`` without ffmpeg."""
    if shutil.which("ffmpeg") is None:
        print(f"\n{FFMPEG_MISSING}")
        return None
    before = cpu_seconds(resource.RUSAGE_CHILDREN)
    with ThreadPoolExecutor(concurrency) as pool:
        found = list(pool.map(lambda s: ffmpeg_stats(url(s.name), settings.duration), streams))
    return found, (cpu_seconds(resource.RUSAGE_CHILDREN) - before) / len(streams)


def _ffmpeg_cell(
    label: str,
    chosen: Sequence[tuple[vqd_corpus.Stream, Sequence[tuple[str, ...]]]],
    stats: dict[str, dict[str, float] | None],
    thresholds: dict[str, float],
) -> str:
    if not stats:
        return "-"
    measured = [stats.get(stream.name) for stream, _ in chosen]
    readable = [m for m in measured if m is not None]
    unread = len(measured) - len(readable)
    tail = f", {unread} unreadable" if unread else ""
    if label == OK:
        fired = [k for k in ("black", "frozen") if any(m[k] for m in readable)]
        return (
            "thresholds keep all clean by construction; "
            + (f"{'/'.join(fired)}detect fired on some" if fired else "black/freezedetect: none")
            + tail
        )
    measure = FFMPEG_MEASURES.get(label)
    if measure is None:
        return "no filter judges it" + tail
    key, side = measure
    if label not in thresholds:
        return "-"
    hits = sum(ffmpeg_finds(label, m, thresholds) for m in readable)
    sign = "<" if side == "below" else ">"
    return f"{key} {sign} {thresholds[label]:.3g}: {hits / len(measured):.0%}{tail}"


def naive_decode(url: str, seconds: float, *, decode: bool = True) -> int:
    """Every frame of ``seconds`` of the stream decoded and converted to BGR (as a naive check would before
    any analysis); the number of frames. ``decode=False``: the packets received only."""
    options = {"rtsp_transport": "tcp", "analyzeduration": "0", "probesize": "32"}
    frames = 0
    with av.open(url, options=options, timeout=10) as container:
        stream = container.streams.video[0]
        first: float | None = None
        for packet in container.demux(stream):
            if not decode and packet.pts is not None:
                t = float(packet.pts * stream.time_base)
                first = t if first is None else first
                if t - first >= seconds:
                    return frames
                frames += 1
                continue
            for frame in packet.decode():
                if frame.pts is None:
                    continue
                t = float(frame.pts * stream.time_base)
                first = t if first is None else first
                frame.to_ndarray(format="bgr24")
                frames += 1
                if t - first >= seconds:
                    return frames
    return frames


def against_naive(streams: Sequence[vqd_corpus.Stream], settings: VideoSettings) -> str:
    """CPU per check of camwatch's video probe against a naive full decode, on the same streams served at
    1280x720 (one per class and one look-alike), one check at a time: encoded as the test server encodes
    (x264 ``ultrafast`` at 15 fps, cheap to decode) and as real cameras send (``_ENCODE_720P_REALISTIC``)."""
    chosen = [next(s for s in streams if s.label == label) for label in (*vqd_faults.NEW_FAULTS, OK)]
    lines = []
    for title, encode in (
        (f"x264 ultrafast (the test server's), {vqd_corpus.FPS} fps", _ENCODE_720P),
        (
            f"High profile CABAC at {REALISTIC_KBITS} kbit/s, {REALISTIC_FPS} fps, 2 s GOP (a camera's)",
            _ENCODE_720P_REALISTIC,
        ),
    ):
        ours, naive, frames, receive = _naive_run({s.name: s.fragment + encode for s in chosen}, settings)
        lines.append(
            f"\n720p {title}, {len(chosen)} streams of the corpus, {settings.duration:g} s each: camwatch "
            f"{ours:.3f} CPU s per check, naive full decode {naive:.3f} ({frames:.0f} frames decoded and "
            f"converted per check); ratio {ours / naive:.3f} (goal <= 0.1); receiving the same seconds alone "
            f"(the floor every method pays) {receive:.3f}, {receive / naive:.3f} of naive"
        )
    return "".join(lines)


def _naive_run(mounts: dict[str, str], settings: VideoSettings) -> tuple[float, float, float, float]:
    """camwatch's and the naive decode's CPU s per check over ``mounts``, frames per naive check, and CPU s
    per check of receiving the packets alone."""
    server = start_gst_rtsp(mounts=mounts)
    try:
        camera_checks = [Camera(id=name, rtsp_url=server.url(name)) for name in mounts]
        for camera in camera_checks[:1]:  # library start-up is not billed to a method
            asyncio.run(probe(camera, ProbeContext(settings=settings)))
            naive_decode(server.url(camera.id), settings.duration)
        before = cpu_seconds()
        for camera in camera_checks:
            asyncio.run(probe(camera, ProbeContext(settings=settings)))
        ours = (cpu_seconds() - before) / len(camera_checks)
        before, frames = cpu_seconds(), 0
        for camera in camera_checks:
            frames += naive_decode(server.url(camera.id), settings.duration)
        naive = (cpu_seconds() - before) / len(camera_checks)
        before = cpu_seconds()
        for camera in camera_checks:
            naive_decode(server.url(camera.id), settings.duration, decode=False)
        receive = (cpu_seconds() - before) / len(camera_checks)
    finally:
        server.stop()
    return ours, naive, frames / len(camera_checks), receive


async def _confirming(
    url: Callable[[str], str], streams: Sequence[vqd_corpus.Stream], settings: VideoSettings, concurrency: int
) -> list[tuple[vqd_corpus.Stream, list[tuple[str, ...]]]]:
    """Each stream checked as often as its class's confirmation asks (look-alikes twice): the faults seen by
    each check, with every fault's confirmation set to 1 for the first check's raw finding."""
    gate = asyncio.Semaphore(concurrency)
    raw = VideoSettings(confirm={f: 1 for f in (*vqd_faults.NEW_FAULTS, "default")})

    async def one(stream: vqd_corpus.Stream) -> tuple[vqd_corpus.Stream, list[tuple[str, ...]]]:
        camera = Camera(id=stream.name, rtsp_url=url(stream.name))
        clock = vqd_faults.local_clock(stream)
        ctx = ProbeContext(settings=settings, local_clock=clock)
        checks = 2 if stream.label == OK else settings.confirmations(stream.label)
        async with gate:
            first = await probe(camera, ProbeContext(settings=raw, local_clock=clock))
            seen = [tuple(first.faults)]
            for _ in range(checks):
                seen.append(tuple((await probe(camera, ctx)).faults))
        return stream, [seen[0], seen[-1]]

    return list(await asyncio.gather(*(one(s) for s in streams)))


if __name__ == "__main__":
    sys.exit(main())
