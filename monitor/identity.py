"""Device identity over time: a camera whose serial number changed was replaced; one whose clock jumped
(typically back to its factory epoch when it lost power without NTP) was rebooted."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from camwatch.monitor.probes.base import ProbeResult
from camwatch.monitor.probes.registry import KINDS

IDENTITY_KINDS = frozenset(s.name for s in KINDS.values() if s.identity)  # ``ProbeSpec.identity``

# A clock that moves this far between two probes was reset, not drifting.
CLOCK_JUMP_SECONDS = 600.0


@dataclass(frozen=True, slots=True)
class Identity:
    serial: str
    firmware: str
    clock_offset: float | None


def identity_of(onvif: ProbeResult) -> Identity | None:
    """What an ONVIF result says about the device, if it got that far."""
    serial = str(onvif.details.get("serial") or "")
    if not onvif.success or not serial:
        return None
    return Identity(
        serial, str(onvif.details.get("firmware") or ""), onvif.values.get("clock_offset_seconds")
    )


def identity_events(before: Identity | None, now: Identity) -> list[tuple[str, dict[str, object]]]:
    """Events between two sightings of a device: ``replaced``, ``firmware_changed``, ``clock_reset``."""
    if before is None:
        return []
    if before.serial != now.serial:
        return [("replaced", {"old_serial": before.serial, "new_serial": now.serial})]
    events: list[tuple[str, dict[str, object]]] = []
    if before.firmware and now.firmware and before.firmware != now.firmware:
        events.append(("firmware_changed", {"old": before.firmware, "new": now.firmware}))
    if (
        before.clock_offset is not None
        and now.clock_offset is not None
        and abs(now.clock_offset - before.clock_offset) > CLOCK_JUMP_SECONDS
    ):
        events.append(
            (
                "clock_reset",
                {"old_offset": round(before.clock_offset, 1), "new_offset": round(now.clock_offset, 1)},
            )
        )
    return events


def track_identity(
    known: dict[str, Identity], camera: str, results: Mapping[str, ProbeResult]
) -> list[tuple[str, dict[str, object]]]:
    """Update ``known`` from this round's result of the kind that reports identities (ONVIF) and return
    the events it implies."""
    found = next((r for name, r in results.items() if name in IDENTITY_KINDS), None)
    now = identity_of(found) if found is not None else None
    if now is None:
        return []
    events = identity_events(known.get(camera), now)
    known[camera] = now
    return events
