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
rate. Without ffmpeg installed (``apt-get install ffmpeg``) the ffmpeg
columns are left out and camwatch's side runs alone.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from camwatch.config.models import Camera, VideoSettings
from camwatch.monitor.probes.base import OK, ProbeContext
from camwatch.monitor.probes.video import probe

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support import vqd_corpus, vqd_faults
from support.gst_rtsp import start_gst_rtsp

LABELS = ("ok", "frozen", "black", "occluded", "tampered", "moved", "blurred", "color_cast")
FFMPEG_MISSING = "ffmpeg is not installed (apt-get install ffmpeg): its columns are left out"
_BLUR_MEAN = re.compile(r"blur mean: ([0-9.]+)")


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
    parser.add_argument("--part", choices=("all", "issue14", "vqd"), default="all")
    args = parser.parse_args()
    settings = VideoSettings()
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
    on the confirming one (``monitor.video.confirm``), and the look-alikes without a fault."""
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
        finally:
            server.stop()
    print(
        f"\nVQD classes (issue 26), {len(streams)} streams, {checks} checks: {cpu:.3f} CPU s per check, "
        f"{time.monotonic() - started:.0f} s wall"
    )
    print(f"{'class':<14}{'streams':>8}{'raw 1st':>11}{'confirmed':>11}  (look-alikes: without a fault)")
    for label in (*vqd_faults.NEW_FAULTS, "ok"):
        rows = [faults for stream, faults in outcomes if stream.label == label]
        if label == OK:
            first = sum(not f[0] for f in rows) / len(rows)
            last = sum(not f[-1] for f in rows) / len(rows)
        else:
            first = sum(label in f[0] for f in rows) / len(rows)
            last = sum(label in f[-1] for f in rows) / len(rows)
        print(f"{label:<14}{len(rows):>8}{first:>11.0%}{last:>11.0%}")
    for stream, faults in outcomes:
        right = not faults[-1] if stream.label == OK else stream.label in faults[-1]
        if not right:
            print(f"  missed: {stream.name} ({stream.kind}) -> {', '.join(faults[-1]) or OK}")


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
