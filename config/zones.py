"""Time zones in the config: IANA names, checked at load (reports, recorders' clocks)."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator


def iana_zone(name: str) -> str:
    """``name`` when it is a time zone this machine knows, else ValueError saying what to write."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}; use an IANA name such as Asia/Shanghai") from None
    return name


TimeZoneName = Annotated[str, AfterValidator(iana_zone)]
