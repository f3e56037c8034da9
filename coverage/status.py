"""Load a camera status snapshot from `camwatch probe --json` or the monitor's state db.

Effective coverage counts cameras in working order (完好): up, with a usable picture. A camera that answers
but is covered, blurred, frozen or without picture sees nothing; one that was turned or sprayed (``moved``,
``tampered``) looks somewhere else than its ledger says, so its sector is unverified.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterable, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from camwatch.config.errors import ConfigError, Problem

SQLITE_MAGIC = b"SQLite format 3\x00"
# The monitor's first schema version (PRAGMA user_version) with camera_state(camera, up). Any file that has
# that table is read, whatever its version (coverage does not import monitor).
OLDEST_STATE_VERSION = 1
# Faults after which a camera's field of view is no longer where the ledger puts it (picture faults of
# camwatch.monitor.faults, named here as data: coverage and monitor never import each other).
LOOKS_ELSEWHERE = ("moved", "tampered")
NO_VIDEO = "no_video"


@dataclass(frozen=True, slots=True)
class CameraState:
    """One camera in a status snapshot: ``up``, ``working`` (up with a usable picture) and its faults."""

    up: bool
    working: bool
    faults: tuple[str, ...] = ()

    @property
    def unverified(self) -> bool:
        """Its sector is not where the ledger draws it (turned or sprayed)."""
        return any(f in LOOKS_ELSEWHERE for f in self.faults)

    @property
    def left_out(self) -> str | None:
        """Why it does not count in effective coverage, or None when it does."""
        if not self.up:
            return "down"
        if self.working:
            return None
        if self.unverified:
            return "looks elsewhere (moved, tampered)"
        if NO_VIDEO in self.faults:
            return "no picture"
        return "picture fault"


@dataclass(frozen=True)
class FleetStatus:
    """A status snapshot read once and lined up with the placed cameras (one flag per camera, in their order):
    all that the coverage report asks of it. Without a snapshot (``given`` False) every camera is up and
    working."""

    given: bool
    up: NDArray[np.bool_]
    working: NDArray[np.bool_]
    unverified: NDArray[np.bool_]
    listed: int = 0
    """Cameras the snapshot names, placed or not."""
    named: int = 0
    """Placed cameras the snapshot names."""
    left_out: Counter[str] = field(default_factory=Counter)
    """Placed cameras effective coverage leaves out, by reason (:attr:`CameraState.left_out`, and those the
    snapshot does not name)."""

    @classmethod
    def of(cls, states: Mapping[str, CameraState] | None, cameras: Iterable[str]) -> FleetStatus:
        """``states`` lined up with the camera ids ``cameras``; a camera missing from it counts as down
        (effective coverage counts only cameras known to work)."""
        ids = list(cameras)
        if states is None:
            every = np.ones(len(ids), bool)
            return cls(False, every, every, np.zeros(len(ids), bool))
        found = [states.get(camera) for camera in ids]
        placed = set(ids)
        named = placed & states.keys()
        reasons = left_out({camera: states[camera] for camera in named})
        missing = len(placed - named)
        reasons.update({"not in the status snapshot": missing} if missing else {})
        return cls(
            True,
            up=np.array([s is not None and s.up for s in found], bool),
            working=np.array([s is not None and s.working for s in found], bool),
            unverified=np.array([s is not None and s.unverified for s in found], bool),
            listed=len(states),
            named=len(named),
            left_out=reasons,
        )


def load_states(path: Path) -> dict[str, CameraState]:
    """``{camera id: state}`` from either snapshot format, told apart by content, not by name.

    JSON: the list ``camwatch probe --json`` prints (objects with ``camera``, ``up`` and, since no_video,
    ``working``; without it a camera that is up counts as working). SQLite: the monitor's state database,
    table ``camera_state`` (``camera``, ``up``, ``faults``) and the ``working`` flag of each camera's latest
    transition; the rest of its schema may change freely.
    """
    if not path.is_file():
        raise ConfigError([Problem(str(path), None, None, "status file not found")])
    with path.open("rb") as handle:
        head = handle.read(len(SQLITE_MAGIC))
    if head == SQLITE_MAGIC:
        return _from_state_db(path)
    return _from_probe_json(path)


def load_status(path: Path) -> dict[str, bool]:
    """``{camera id: counts in effective coverage}``: in working order (see ``load_states``)."""
    return effective(load_states(path))


def effective(states: Mapping[str, CameraState]) -> dict[str, bool]:
    return {camera: state.working for camera, state in states.items()}


def left_out(states: Mapping[str, CameraState]) -> Counter[str]:
    """How many cameras effective coverage leaves out, by reason."""
    return Counter(reason for state in states.values() if (reason := state.left_out) is not None)


def _from_probe_json(path: Path) -> dict[str, CameraState]:
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        reason = f"neither a SQLite state database nor probe JSON: {exc}"
        raise ConfigError([Problem(str(path), None, None, reason)]) from exc
    if not isinstance(records, list):
        raise ConfigError(
            [Problem(str(path), None, None, "expected a JSON list as written by `camwatch probe --json`")]
        )
    status: dict[str, CameraState] = {}
    for i, record in enumerate(records):
        where = f"item {i + 1}"
        if not isinstance(record, dict) or not isinstance(record.get("camera"), str):
            raise ConfigError(
                [Problem(str(path), where, "camera", "expected an object with a string 'camera'")]
            )
        up = record.get("up")
        if not isinstance(up, bool):
            raise ConfigError([Problem(str(path), where, "up", "expected true or false")])
        working = record.get("working", up)
        if not isinstance(working, bool):
            raise ConfigError([Problem(str(path), where, "working", "expected true or false")])
        faults = record.get("faults", [])
        if not isinstance(faults, list) or not all(isinstance(f, str) for f in faults):
            raise ConfigError([Problem(str(path), where, "faults", "expected a list of fault names")])
        status[record["camera"]] = CameraState(up, up and working, tuple(faults))
    return status


def _from_state_db(path: Path) -> dict[str, CameraState]:
    uri = f"{path.resolve().as_uri()}?mode=ro"
    version = None
    try:
        with closing(sqlite3.connect(uri, uri=True)) as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            columns = {row[1] for row in db.execute("PRAGMA table_info(camera_state)")}
            faults = "faults" if "faults" in columns else "'[]'"
            rows = db.execute(f"SELECT camera, up, {faults} FROM camera_state").fetchall()
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            latest = {}
            if "transitions" in tables:
                # SQLite takes the bare column from the row holding the max(): each camera's latest one.
                query = "SELECT camera, working, max(ts) FROM transitions GROUP BY camera"
                latest = {camera: working for camera, working, _ in db.execute(query)}
    except sqlite3.Error as exc:
        reason = f"cannot read tables camera_state(camera, up, faults) and transitions: {exc}"
        if version is not None and version < OLDEST_STATE_VERSION:
            reason += f" (schema version {version}; run `camwatch run` once to upgrade it in place)"
        raise ConfigError([Problem(str(path), None, "camera_state", reason)]) from exc
    states = {}
    for camera, up, faults in rows:
        if up is None:
            continue
        found = _faults(faults)
        working = bool(up) and bool(latest.get(camera, up))
        states[str(camera)] = CameraState(bool(up), working, found)
    return states


def _faults(text: object) -> tuple[str, ...]:
    try:
        value = json.loads(text) if isinstance(text, str) else []
    except json.JSONDecodeError:
        return ()
    return tuple(f for f in value if isinstance(f, str)) if isinstance(value, list) else ()
