"""A channel's footage and recording state asked of the device that owns it (GB/T 28181 A.2.4.5, A.2.6.6).

``RecordInfo`` answers come in one or several Response MESSAGEs sharing the query's SN: ``SumNum`` is the
total, each part's ``RecordList`` holds some items. ``RecordAnswer`` collects them, bounded: a ``SumNum``
over ``item_bound`` is refused at once, more items or parts than ``SumNum`` claims end the answer, and so do
``ITEM_BYTES`` per announced item; the caller bounds the time. Whatever stops short of ``SumNum`` is
incomplete (``reason``), never a gap. Times are the device's local time (its camera's ``timezone``) unless
it writes a zone.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from email.utils import parsedate_to_datetime

from camwatch.monitor.gb28181 import manscdp

# A real RecordInfo item (ids, name, path, times, type) is 200-400 bytes: an answer padded beyond this per
# announced item is refused.
ITEM_BYTES = 1024
# Items one RecordInfo answer may hold (monitor.recording.max_items when larger): 180 days of 15-minute
# files, a hotel camera's whole window.
MAX_ITEMS = 20_000


def item_bound(configured: int) -> int:
    """The items one answer may hold: ``MAX_ITEMS``, or the configured ``max_items`` when larger."""
    return max(configured, MAX_ITEMS)


def local_text(ts: float, zone: tzinfo) -> str:
    """An instant as the device's local time, the form RecordInfo's StartTime/EndTime take."""
    return datetime.fromtimestamp(ts, zone).strftime("%Y-%m-%dT%H:%M:%S")


def device_instant(text: str, zone: tzinfo) -> float | None:
    """A device's time (``2026-12-07T08:00:00``, or with a zone) as epoch seconds; None if unreadable."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return (when if when.tzinfo is not None else when.replace(tzinfo=zone)).timestamp()


def header_instant(text: str, zone: tzinfo) -> float | None:
    """A SIP ``Date`` header as epoch seconds: the GB/T 28181 form (local time, as ``device_instant``) or
    RFC 3261's (``Sat, 13 Nov 2010 23:29:00 GMT``); None if unreadable."""
    found = device_instant(text, zone)
    if found is not None:
        return found
    try:
        return parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


@dataclass(eq=False)
class RecordAnswer:
    """The parts of one RecordInfo answer about ``channel``, as they arrive."""

    channel: str
    zone: tzinfo
    max_items: int
    done: asyncio.Event = field(default_factory=asyncio.Event)
    sum_num: int | None = None
    ranges: list[tuple[float, float]] = field(default_factory=list)
    parts: int = 0
    size: int = 0
    reason: str = ""  # why the answer is incomplete; empty while it may still complete

    @property
    def complete(self) -> bool:
        return self.done.is_set() and not self.reason

    def fail(self, reason: str) -> None:
        if not self.done.is_set():
            self.reason = reason
            self.done.set()

    def feed(self, doc: manscdp.Manscdp, size: int) -> None:
        if self.done.is_set():
            return
        if doc.device_id != self.channel:
            self.fail(f"a part of the answer names {doc.device_id[:20]!r}, not the channel asked")
            return
        self.parts += 1
        self.size += size
        if self.sum_num is None:
            self.sum_num = doc.sum_num
            if doc.sum_num > self.max_items:
                bound = f"more than one answer may hold ({self.max_items})"
                self.fail(f"the device announces {doc.sum_num} items, {bound}")
                return
        elif doc.sum_num != self.sum_num:
            self.fail(f"SumNum changed between parts ({self.sum_num}, then {doc.sum_num})")
            return
        total = self.sum_num
        for item in doc.records:
            start, end = device_instant(item.start, self.zone), device_instant(item.end, self.zone)
            if start is None or end is None or end < start:
                times = f"{item.start[:40]!r}–{item.end[:40]!r}"
                self.fail(f"item {len(self.ranges) + 1}: unreadable times {times}")
                return
            self.ranges.append((start, end))
        if len(self.ranges) > total:
            self.fail(f"more items than SumNum ({total}) claims")
        elif self.parts > max(total, 1):
            self.fail(f"more parts ({self.parts}) than the {total} items announced")
        elif self.size > ITEM_BYTES * max(total, 1):
            self.fail(f"{self.size} bytes for {total} items")
        elif len(self.ranges) == total:
            self.done.set()

    def short(self, seconds: float) -> str:
        """Why the answer is incomplete after the caller's ``seconds`` ran out."""
        if self.reason:
            return self.reason
        if self.sum_num is None:
            return f"no answer within {seconds:g} s"
        return f"{len(self.ranges)} of {self.sum_num} items within {seconds:g} s"


@dataclass(eq=False)
class StatusAnswer:
    """A DeviceStatus answer about ``target``: its ``Record`` word and ``DeviceTime``. Many NVRs answer about
    themselves whatever they were asked: an answer naming ``device`` is taken for its clock (``record``
    stays unknown: the NVR's own word says nothing of the channel)."""

    target: str
    device: str = ""
    done: asyncio.Event = field(default_factory=asyncio.Event)
    doc: manscdp.Manscdp | None = None
    received_at: float = 0.0
    reason: str = ""

    def fail(self, reason: str) -> None:
        if not self.done.is_set():
            self.reason = reason
            self.done.set()

    def feed(self, doc: manscdp.Manscdp, size: int) -> None:
        if self.done.is_set():
            return
        if doc.device_id not in (self.target, self.device):
            self.fail(f"the answer names {doc.device_id[:20]!r}, not the channel asked")
            return
        self.doc = doc
        self.received_at = time.time()
        self.done.set()

    @property
    def record(self) -> str:
        """The channel's ``Record`` word (ON/OFF), "" when unknown."""
        if self.doc is None or self.doc.device_id != self.target:
            return ""
        return self.doc.extra.get("Record", "").strip().upper()
