"""Port ranges in settings, such as ``monitor.video.udp_ports: 40000-40999``."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator

_RANGE = re.compile(r"\s*(\d{1,5})\s*-\s*(\d{1,5})\s*")


def port_range(value: Any) -> tuple[int, int] | None:
    """``(first, last)`` from ``40000-40999`` (or a list of two ports): unprivileged, upwards, and holding at
    least one even/odd pair (RTP on the even port, RTCP on the next)."""
    if value is None:
        return None
    if isinstance(value, list | tuple) and len(value) == 2 and all(type(v) is int for v in value):
        first, last = value
    elif isinstance(value, str) and (match := _RANGE.fullmatch(value)):
        first, last = int(match.group(1)), int(match.group(2))
    else:
        raise ValueError(f"expected a port range such as 40000-40999, got {value!r}")
    if not 1024 <= first < last <= 65535:
        raise ValueError(f"a port range must run upwards within 1024-65535, got {first}-{last}")
    if last - first < 1 + first % 2:
        raise ValueError(f"port range {first}-{last} holds no even/odd pair of ports")
    return first, last


PortRange = Annotated[tuple[int, int] | None, BeforeValidator(port_range)]
"""An optional ``(first, last)`` port range, validated by ``port_range``."""
