"""A channel's footage asked of its recorder, the registered device that owns it: the device's clock and
``Record`` word (DeviceStatus about the channel), then its footage (RecordInfo) over a window of that clock.

Both are bounded by the caller's time; a DeviceStatus that does not come within a quarter of it (at most
``STATUS_WAIT``) leaves ``Record`` unknown and the clock to the last keepalive's ``Date`` header (when
recent), else camwatch's; the footage query has the rest.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import TYPE_CHECKING

from camwatch.monitor.gb28181.devices import Device
from camwatch.monitor.gb28181.queries import QueryFailed
from camwatch.monitor.gb28181.records import (
    RecordAnswer,
    StatusAnswer,
    header_instant,
    item_bound,
    local_text,
)

if TYPE_CHECKING:
    from camwatch.monitor.gb28181.platform import Platform

STATUS_WAIT = 10.0  # seconds
KEEPALIVE_DATE_AGE = 600.0  # a keepalive's Date older than this (seconds) no longer tells the clock


class NotRegistered(LookupError):
    """No registered, online device owns the channel: nothing to ask (not a recording fault)."""


@dataclass(frozen=True, slots=True)
class Footage:
    """What the recorder said: footage over ``window`` (recorder's clock), complete or why not."""

    device: str
    now: float  # the recorder's clock when asked
    clock: str  # "device" (its DeviceTime), "keepalive" (its keepalive's Date) or "camwatch"
    record: str  # the DeviceStatus Record word (ON/OFF), "" when unknown
    window: tuple[float, float]
    ranges: list[tuple[float, float]] = field(default_factory=list)
    reason: str = ""  # why the answer is incomplete; empty when whole

    @property
    def complete(self) -> bool:
        return not self.reason


def _recorder(platform: Platform, channel: str) -> Device:
    found = platform.recorder_of(channel)
    if isinstance(found, str):
        raise NotRegistered(found)
    return found


async def _status(platform: Platform, device: Device, channel: str, wait: float) -> StatusAnswer:
    status = StatusAnswer(channel, device.id)
    try:
        async with asyncio.timeout(wait):
            await platform.ask(device, "DeviceStatus", status, channel)
    except (TimeoutError, QueryFailed) as exc:
        status.fail(str(exc) or "no DeviceStatus answer")
    return status


async def ask_footage(
    platform: Platform,
    channel: str,
    zone: tzinfo,
    window: Callable[[float], tuple[float, float]],
    *,
    max_items: int,
    timeout: float,
) -> Footage:
    """The channel's footage over ``window(recorder's now)``, asked of its owner within ``timeout``.

    Raises NotRegistered when no registered device owns the channel."""
    started = time.monotonic()
    device = _recorder(platform, channel)
    status = await _status(platform, device, channel, min(STATUS_WAIT, timeout / 4))
    offset, clock, record = 0.0, "camwatch", ""
    if status.doc is not None:
        record = status.record
        told = status.doc.device_time
        if told is not None:  # local time without a zone, mostly: the camera's zone
            instant = (told if told.tzinfo is not None else told.replace(tzinfo=zone)).timestamp()
            offset, clock = instant - status.received_at, "device"
    if clock == "camwatch" and device.keepalive_date is not None:
        text, received = device.keepalive_date
        said = header_instant(text, zone)
        if said is not None and time.time() - received < KEEPALIVE_DATE_AGE:
            offset, clock = said - received, "keepalive"
    now = time.time() + offset
    start, end = window(now)
    answer = RecordAnswer(channel, zone, item_bound(max_items))
    fields = (
        ("StartTime", local_text(start, zone)),
        ("EndTime", local_text(end, zone)),
        ("Secrecy", "0"),
        ("Type", "all"),
    )
    left = max(0.0, timeout - (time.monotonic() - started))
    try:
        async with asyncio.timeout(left):
            await platform.ask(device, "RecordInfo", answer, channel, fields)
    except QueryFailed as exc:
        answer.fail(str(exc))
    except TimeoutError:
        answer.fail(answer.short(timeout))
    return Footage(device.id, now, clock, record, (start, end), answer.ranges, answer.reason)
