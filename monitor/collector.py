"""Python's garbage collector set for a monitor that holds tens of thousands of cameras for days.

A full collection traverses every container object alive: at 50,000 cameras the inventory, plans, tracks
and learned references make each one 0.35-0.45 s in which no probe round starts. The inventory is built
once per load and lives until the next, so it is frozen (``gc.freeze``: moved where no collection looks)
right after each load; a full collection then traverses only what was made since. A higher first-generation
threshold makes fewer young collections, so fewer of a round's short-lived objects (a probe in flight, a
result being applied) are caught alive and promoted to be traversed again by the older generations.
"""

from __future__ import annotations

import gc

# Allocations less deallocations of container objects between young collections (CPython's default: 700).
# Each young collection costs little (at most a few thousand objects); their number sets the promotions.
YOUNG_THRESHOLD = 20_000


def tune() -> None:
    """The service's thresholds (older generations' left as CPython's)."""
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)


def settle() -> None:
    """After an inventory (re)load: collect what the previous one left, with anything frozen before (a
    cycle of the old inventory is garbage only a collection can free), then freeze what is alive now."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
