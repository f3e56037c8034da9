"""Embedded SQLite state: current status per camera and every transition, surviving restarts.

The rest of camwatch imports from here. One module per job:

- ``schema``: versioned, forward-only migrations; opening a file to write (upgrading it) or only to read.
- ``rows``: the stored values (``StoredCamera``, ``Transition``, ``Event``) and their columns.
- ``database``: the writer's connection, kept usable through disk trouble, and the run it records.
- ``writes``: the batched write path (one transaction per flush, bounded while the disk refuses writes).
- ``recovery``: the file deleted, replaced, read-only or corrupt under a running service.
- ``maintenance``: maintenance windows. ``identity``: device identity. ``references``: video references.
- ``store``: ``StateStore``, the service's handle on all of them; ``readers``: read-only readers.
"""

from __future__ import annotations

from camwatch.monitor.state.readers import StateReader, read_events, read_transitions
from camwatch.monitor.state.recovery import QUICK_CHECK_INTERVAL
from camwatch.monitor.state.references import StoredBaselines
from camwatch.monitor.state.rows import Event, StoredCamera, Transition
from camwatch.monitor.state.schema import (
    SCHEMA_VERSION,
    CorruptState,
    StateError,
    UnreadableVersion,
    connect,
    open_readonly,
)
from camwatch.monitor.state.store import StateStore
from camwatch.monitor.state.writes import MAX_PENDING_TRANSITIONS

__all__ = [
    "MAX_PENDING_TRANSITIONS",
    "QUICK_CHECK_INTERVAL",
    "SCHEMA_VERSION",
    "CorruptState",
    "Event",
    "StateError",
    "StateReader",
    "StateStore",
    "StoredBaselines",
    "StoredCamera",
    "Transition",
    "UnreadableVersion",
    "connect",
    "open_readonly",
    "read_events",
    "read_transitions",
]
