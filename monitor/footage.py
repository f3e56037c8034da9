"""Recording integrity from footage ranges: a pure judgement, whatever protocol the ranges came over.

The recorder's answer (ISAPI search, GB/T 28181 RecordInfo, ONVIF Profile G) becomes a list of
``(start, end)`` epoch seconds; ``judge`` turns it, with the recorder's own clock, into the values and faults
of the ``recording`` probe kind. Times are judged against the recorder's clock, never camwatch's, so a skewed
recorder does not look stopped.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from camwatch.monitor.period import merge

DAY = 86400.0

STOPPED = "recording_stopped"
GAPS = "recording_gaps"
RETENTION_SHORT = "retention_short"


@dataclass(frozen=True, slots=True)
class Verdict:
    """The values (``recording_*`` probe JSON keys, base units) and faults of one camera's footage."""

    values: Mapping[str, float]
    faults: tuple[str, ...]


def judge(
    ranges: Iterable[tuple[float, float]],
    *,
    now: float,
    gap: float,
    stopped_after: float,
    retention: float,
    oldest: float | None = None,
) -> Verdict:
    """Values and faults of a camera's footage as its recorder reports it.

    ``ranges``: footage in (at least) the last 24 h of the recorder's clock ``now``; ``oldest``: the start of
    the oldest footage the recorder holds, when it was asked apart (else the oldest range given). ``gap``: a
    hole longer than this between two pieces of footage in the last 24 h is a gap (also the hole from the
    window's start, when older footage exists); the hole after the newest footage is not a gap but, longer
    than ``stopped_after``, a stopped recording (with no ``ranges`` but an ``oldest``, its age is at least the
    window's). ``retention``: the target, seconds of footage kept.
    """
    pieces = merge(ranges)  # sorted, overlapping or touching pieces joined
    first = min([p[0] for p in pieces[:1]] + ([oldest] if oldest is not None else []), default=None)
    if first is None:
        # No footage at all: nothing kept, nothing recorded; the recording has stopped (or never ran).
        values = {"recording_retention_seconds": 0.0, "recording_seconds_24h": 0.0, "recording_gaps_24h": 0.0}
        return Verdict(values, (STOPPED, RETENTION_SHORT))

    window = now - DAY
    inside = [(max(s, window), min(e, now)) for s, e in pieces if e > window and s < now]
    recorded = sum(e - s for s, e in inside)
    holes = [b[0] - a[1] for a, b in itertools.pairwise(inside)]
    if inside and first < window:
        holes.append(inside[0][0] - window)  # footage before the window: its start is no beginning
    gaps = sum(1 for h in holes if h > gap)
    # No footage given but older footage known (``oldest``): the newest ends before the window at the latest.
    newest = max((e for _, e in pieces), default=max(first, window))
    kept = max(0.0, now - first)
    last_age = max(0.0, now - newest)
    values = {
        "recording_retention_seconds": kept,
        "recording_seconds_24h": recorded,
        "recording_last_age_seconds": last_age,
        "recording_gaps_24h": float(gaps),
    }
    faults: list[str] = []
    if last_age > stopped_after:
        faults.append(STOPPED)
    if gaps:
        faults.append(GAPS)
    if kept < retention:
        faults.append(RETENTION_SHORT)
    return Verdict(values, tuple(faults))
