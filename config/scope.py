"""Which ledger cameras the monitor watches, and why the others are left out of the rates.

A camera the ledger marks not networked (是否联网 = 否) is a position for planning: it is never probed, never
alerted on, and counts in no 在线率 or 完好率; the reports list it apart, with this reason.
"""

from __future__ import annotations

from collections.abc import Iterable

from camwatch.config.models import Camera

NOT_NETWORKED = "not networked"
"""The reason key of a camera marked 是否联网 = 否 (reports translate it)."""


def monitored(cameras: Iterable[Camera]) -> tuple[Camera, ...]:
    """The cameras the monitor probes, tracks and exports: every networked one."""
    return tuple(c for c in cameras if c.networked)
