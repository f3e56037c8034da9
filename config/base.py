"""What every config model builds on: durations with units, the immutable base model, HOST:PORT."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(value: Any) -> float:
    """Seconds from ``5``, ``2.5``, ``"500ms"``, ``"60s"``, ``"15m"``, ``"1h"``."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 5s, 500ms or 15m")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.match(value)):
        seconds = float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
    else:
        raise ValueError(f"expected a duration such as 5s, 500ms or 15m, got {value!r}")
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]
"""Seconds; accepts numbers or strings with a unit (ms, s, m, h, d)."""


def _duration_or_off(value: Any) -> float:
    return 0.0 if value in (0, "0", False) else parse_duration(value)


DurationOrOff = Annotated[float, BeforeValidator(_duration_or_off)]
"""A ``Duration``, or 0 (also ``false``) for "never"."""


class Frozen(BaseModel):
    """Base for every config model: immutable, unknown fields refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def host_port(v: str) -> str:
    _host, sep, port = v.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected HOST:PORT such as 127.0.0.1:9640, got {v!r}")
    return v
