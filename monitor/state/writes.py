"""The batched write path: probe results are staged in memory and flushed in one transaction.

A burst of probe results costs one fsync, and a camera's current row and its transition are always written
together (a ``kill -9`` leaves either both or neither). When the disk refuses writes, the batch stays in
memory (transitions bounded by ``MAX_PENDING_TRANSITIONS``, oldest dropped first) and the next successful
flush catches up.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import deque

from camwatch.monitor.state import identity, recordings
from camwatch.monitor.state.database import Database
from camwatch.monitor.state.rows import (
    CAMERA_COLUMNS,
    EVENT_COLUMNS,
    TRANSITION_COLUMNS,
    Event,
    StoredCamera,
    Transition,
    camera_values,
    event_values,
    transition_values,
)
from camwatch.monitor.state.schema import log

MAX_PENDING_TRANSITIONS = 200_000

_UPSERT_CAMERA = (
    f"INSERT INTO camera_state ({CAMERA_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(camera) DO UPDATE "
    "SET up=excluded.up, status=excluded.status, faults=excluded.faults, since=excluded.since, "
    "last_probe=excluded.last_probe, flaps=excluded.flaps"
)
_INSERT_TRANSITION = f"INSERT INTO transitions ({TRANSITION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
_INSERT_EVENT = f"INSERT INTO events ({EVENT_COLUMNS}) VALUES (?, ?, ?, ?)"


class WriteBatch:
    """What is staged and not yet written; safe to stage from one thread while another flushes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # guards the pending batch
        self._rows: dict[str, StoredCamera] = {}
        self._transitions: deque[Transition] = deque()
        self._events: deque[Event] = deque()
        self._identities: dict[str, identity.Staged] = {}
        self._recorded: deque[recordings.Staged] = deque(maxlen=MAX_PENDING_TRANSITIONS)
        self.dropped_transitions = 0

    def stage(self, row: StoredCamera, transition: Transition | None = None) -> None:
        """Queue a camera's current row (and its transition) for the next flush."""
        with self._lock:
            self._rows[row.camera] = row
            if transition is not None:
                if len(self._transitions) >= MAX_PENDING_TRANSITIONS:
                    self._transitions.popleft()
                    self.dropped_transitions += 1
                self._transitions.append(transition)

    def stage_event(self, event: Event) -> None:
        with self._lock:
            self._events.append(event)

    def stage_identity(self, camera: str, staged: identity.Staged) -> None:
        with self._lock:
            self._identities[camera] = staged

    def stage_recorded(self, staged: recordings.Staged) -> None:
        with self._lock:
            self._recorded.append(staged)

    @property
    def pending(self) -> int:
        return (
            len(self._rows)
            + len(self._transitions)
            + len(self._events)
            + len(self._identities)
            + len(self._recorded)
        )

    def flush(self, db: Database, now: float | None = None) -> bool:
        """Write everything queued in one transaction; on failure keep it queued. Returns success."""
        now = time.time() if now is None else now
        with self._lock:
            rows = list(self._rows.values())
            transitions = list(self._transitions)
            events = list(self._events)
            identities = dict(self._identities)
            recorded = list(self._recorded)
        with db.lock:
            conn = db.attached()
            if conn is None:
                db.failed(sqlite3.OperationalError("unable to open database file"))
                return False
            try:
                with conn:
                    conn.executemany(_UPSERT_CAMERA, [camera_values(r) for r in rows])
                    conn.executemany(_INSERT_TRANSITION, [transition_values(t) for t in transitions])
                    conn.executemany(_INSERT_EVENT, [event_values(e) for e in events])
                    identity.write(conn, identities)
                    recordings.write(conn, recorded)
                    db.stamp_run(conn, now)
            except sqlite3.Error as exc:
                db.failed(exc)
                return False
        self._written(rows, transitions, events, identities)
        with self._lock:
            for _ in range(min(len(recorded), len(self._recorded))):
                self._recorded.popleft()
        if not db.writable:
            log.warning("state database %s is writable again; caught up", db.path)
        db.writable = True
        return True

    def _written(
        self,
        rows: list[StoredCamera],
        transitions: list[Transition],
        events: list[Event],
        identities: dict[str, identity.Staged],
    ) -> None:
        """Drop what was written; what was staged meanwhile stays for the next flush."""
        with self._lock:
            for r in rows:
                if self._rows.get(r.camera) is r:
                    del self._rows[r.camera]
            for _ in range(min(len(transitions), len(self._transitions))):
                self._transitions.popleft()
            for _ in range(min(len(events), len(self._events))):
                self._events.popleft()
            for camera, staged in identities.items():
                if self._identities.get(camera) is staged:
                    del self._identities[camera]
