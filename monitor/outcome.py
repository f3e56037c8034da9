"""Combine one camera's probe results into its status: up/down, status word, faults, measured values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from camwatch.config.models import Camera
from camwatch.monitor.faults import PICTURE_FAULTS, STATUS_FAULTS
from camwatch.monitor.probes.base import NOT_FOUND, OK, ProbeResult
from camwatch.monitor.probes.registry import VALUES, Plan
from camwatch.monitor.probes.registry import plan as plan_of

# Camera-level statuses from docs/design.md; picture faults most severe first (camwatch.monitor.faults).
DOWN_STATUSES = ("offline", "timeout", "auth_failed", "error")
STATUSES = ("ok", *DOWN_STATUSES, *STATUS_FAULTS)
# What a stored status means, for histories (the probe's own words go to the log when it happens).
STATUS_MEANINGS = {
    "ok": "stream answers",
    "offline": "unreachable: connection refused or no route",
    "timeout": "no answer within the probe timeout",
    "auth_failed": "login refused",
    "error": "the stream or device answered with an error",
}
VALUE_NAMES = tuple(VALUES)


@dataclass(frozen=True, slots=True)
class CameraResult:
    """One camera's state after a round of probes (the `probe --json` object)."""

    camera: str
    up: bool
    status: str
    faults: tuple[str, ...]
    probes: Mapping[str, ProbeResult]
    timestamp: float
    values: Mapping[str, float] = field(default_factory=dict)

    @property
    def working(self) -> bool:
        """In working order (完好): online with a usable picture."""
        return self.up and not any(f in PICTURE_FAULTS for f in self.faults)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "camera": self.camera,
            "up": self.up,
            "working": self.working,
            "status": self.status,
            "faults": list(self.faults),
            "probes": {
                name: {
                    "success": r.success,
                    "status": r.status,
                    "duration_seconds": round(r.duration_seconds, 4),
                    "error": r.error,
                }
                for name, r in self.probes.items()
            },
            "timestamp": self.timestamp,
        }
        out.update({k: round(v, 4) for k, v in self.values.items()})
        return out


def reason(camera: Camera, result: CameraResult, planned: Plan | None = None) -> str:
    """Why the camera has its status, in a few words: the liveness probe's error while down, else the
    faults found (probe errors never hold a password)."""
    if not result.up:
        deciding = (planned or plan_of(camera)).deciding
        live = result.probes.get(deciding or "")
        return (live.error if live else None) or stored_reason(result.status, result.faults)
    return stored_reason(result.status, result.faults)


def stored_reason(status: str, faults: tuple[str, ...]) -> str:
    """Why a camera had a stored status: its faults, else what the status means."""
    return ", ".join(faults) or STATUS_MEANINGS.get(status, status)


def combine(
    camera: Camera, probes: Mapping[str, ProbeResult], *, timestamp: float, plan: Plan | None = None
) -> CameraResult:
    """Camera status from the latest result of each probe kind; ``plan`` is the camera's (derived when not
    given).

    Liveness decides ``up``; while down, stale video findings are ignored. A 404 on the stream is a
    camera-level ``error`` with the ``not_found`` fault, keeping the status vocabulary of docs/design.md.
    """
    live_name = (plan or plan_of(camera)).deciding
    live = probes.get(live_name) if live_name else None
    up = bool(live and live.answered)

    faults: list[str] = list(live.faults) if live else []
    if not up:
        status = live.status if live else "error"
        if status == NOT_FOUND:
            faults.append(NOT_FOUND)
        if status not in DOWN_STATUSES:
            status = "error"
    else:
        for name, result in probes.items():
            if name != live_name:
                faults.extend(f for f in result.faults if f not in faults)
        # moved/tampered are faults outside the contract's status words: they show in `faults` only.
        status = next((f for f in PICTURE_FAULTS if f in faults and f in STATUSES), OK)

    values: dict[str, float] = {}
    for name, result in probes.items():
        if up or name == live_name:
            values.update({k: v for k, v in result.values.items() if k in VALUE_NAMES})
    return CameraResult(
        camera=camera.id,
        up=up,
        status=status,
        faults=tuple(faults),
        probes=dict(probes),
        timestamp=timestamp,
        values=values,
    )
