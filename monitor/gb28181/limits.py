"""Rate limits of the upper platform: REGISTERs per source and overall, wrong passwords per source and per
device id, and the refusals (404, 400) sent to strangers. All are checked on headers alone, before any body is
parsed, and their memory is bounded: a flood of distinct sources forgets the oldest, never grows a table.

A device already registered from a known contact (transport, address and port) is never throttled by other
sources: ``Platform`` asks none of these for it. Its wrong passwords are not counted either: a guess from its
contact is answered to that contact, so a spoofer sending as it learns nothing and cannot lock it out.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

MAX_SOURCES = 10_000  # sources (and device ids) remembered per limit; the oldest is forgotten first
REFUSAL_RATE = 50.0  # 404 / 400 / 405 answers to strangers per second, all sources together
ALARM_ANSWER_RATE = 1.0  # our Response MESSAGEs to a device's alarms per second (bursts of 10)


@dataclass(slots=True)
class Bucket:
    """Token bucket: ``rate`` per second, bursts up to one second's worth (at least ``floor``)."""

    rate: float
    tokens: float = 0.0
    stamp: float = 0.0
    floor: float = 10.0

    def take(self, now: float) -> bool:
        burst = max(self.rate, self.floor)
        self.tokens = min(burst, self.tokens + max(0.0, now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


class KeyedBuckets:
    """One bucket per key (a source address), at most ``MAX_SOURCES`` of them."""

    def __init__(self, rate: float, floor: float = 10.0):
        self.rate = rate
        self.floor = floor
        self._buckets: OrderedDict[str, Bucket] = OrderedDict()

    def take(self, key: str, now: float) -> bool:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= MAX_SOURCES:
                self._buckets.popitem(last=False)
            burst = max(self.rate, self.floor)
            bucket = self._buckets[key] = Bucket(self.rate, tokens=burst, stamp=now, floor=self.floor)
        else:
            self._buckets.move_to_end(key)
            bucket.rate = self.rate
        return bucket.take(now)


class FailureWindow:
    """Counts failures per key over a minute; ``allowed`` tells whether one more is within ``limit``."""

    def __init__(self) -> None:
        self._seen: OrderedDict[str, tuple[float, int]] = OrderedDict()

    def allowed(self, key: str, limit: int, now: float) -> bool:
        start, count = self._seen.pop(key, (now, 0))
        if now - start >= 60.0:
            start, count = now, 0
        if len(self._seen) >= MAX_SOURCES:
            self._seen.popitem(last=False)
        self._seen[key] = (start, count + 1)
        return count < limit


class Limits:
    """The platform's limits, adopted again on reload (``update``)."""

    def __init__(self, register_rate: float, register_rate_per_source: float, failures_per_minute: int):
        self.registers = Bucket(register_rate, tokens=max(register_rate, 10.0))
        self.registers_by_source = KeyedBuckets(register_rate_per_source)
        self.failures_per_minute = failures_per_minute
        self._by_source = FailureWindow()
        self._by_device = FailureWindow()
        self.refusals = Bucket(REFUSAL_RATE, tokens=REFUSAL_RATE)

    def update(self, register_rate: float, register_rate_per_source: float, failures_per_minute: int) -> None:
        self.registers.rate = register_rate
        self.registers_by_source.rate = register_rate_per_source
        self.failures_per_minute = failures_per_minute

    def register_allowed(self, host: str, now: float) -> bool:
        """A REGISTER from a stranger (not a registered device's contact): its source's bucket, then the
        global one (so one source cannot spend everyone's share)."""
        return self.registers_by_source.take(host, now) and self.registers.take(now)

    def failure_allowed(self, host: str, device_id: str, now: float) -> bool:
        """A wrong password (or reused digest) from ``host`` for ``device_id``, not from the device's
        registered contact: limited per source and per device id (guesses spread over many sources)."""
        limit = self.failures_per_minute
        by_source = self._by_source.allowed(host, limit, now)
        by_device = self._by_device.allowed(device_id, limit, now)
        return by_source and by_device

    def refusal_allowed(self, now: float) -> bool:
        return self.refusals.take(now)
