"""What the store keeps, as Python values, and how each maps to its table's columns (one place per table)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class StoredCamera:
    camera: str
    up: bool | None
    status: str
    faults: tuple[str, ...]
    since: float
    last_probe: float
    flaps: int = 0


@dataclass(frozen=True, slots=True)
class Transition:
    camera: str
    ts: float
    prev_status: str | None
    status: str
    up: bool
    working: bool
    faults: tuple[str, ...]
    # Why, in the words the log gave (e.g. the liveness probe's "Connection refused"); empty in history
    # written before schema version 6, where the reason is read from the status and faults.
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Event:
    camera: str
    ts: float
    kind: str
    detail: dict[str, object]


CAMERA_COLUMNS = "camera, up, status, faults, since, last_probe, flaps"


def camera_values(r: StoredCamera) -> tuple[Any, ...]:
    return (
        r.camera,
        None if r.up is None else int(r.up),
        r.status,
        json.dumps(list(r.faults)),
        r.since,
        r.last_probe,
        r.flaps,
    )


def camera_from(r: tuple[Any, ...]) -> StoredCamera:
    return StoredCamera(
        r[0], None if r[1] is None else bool(r[1]), r[2], tuple(json.loads(r[3])), r[4], r[5], r[6]
    )


TRANSITION_COLUMNS = "camera, ts, prev_status, status, up, working, faults, reason"
# What a reader selects from a file older than the reason column (schema version 6) that it does not upgrade.
TRANSITION_COLUMNS_BEFORE_REASON = "camera, ts, prev_status, status, up, working, faults, '' AS reason"


def transition_values(t: Transition) -> tuple[Any, ...]:
    faults = json.dumps(list(t.faults))
    return (t.camera, t.ts, t.prev_status, t.status, int(t.up), int(t.working), faults, t.reason)


def transition_from(r: tuple[Any, ...]) -> Transition:
    return Transition(r[0], r[1], r[2], r[3], bool(r[4]), bool(r[5]), tuple(json.loads(r[6])), r[7] or "")


def transition_columns(conn: Any) -> str:
    """The select list for ``transitions`` in this file: with the reason column where it has one."""
    names = {row[1] for row in conn.execute("PRAGMA table_info(transitions)")}
    return TRANSITION_COLUMNS if "reason" in names else TRANSITION_COLUMNS_BEFORE_REASON


EVENT_COLUMNS = "camera, ts, kind, detail"


def event_values(e: Event) -> tuple[Any, ...]:
    return (e.camera, e.ts, e.kind, json.dumps(e.detail))


def event_from(r: tuple[Any, ...]) -> Event:
    return Event(r[0], r[1], r[2], json.loads(r[3]))
