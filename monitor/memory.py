"""glibc's allocator tuned for a long-running monitor, so that its RSS follows what it holds.

Every scrape builds a /metrics body of ~1 KB per camera and drops it; probes run in threads (decoders,
offloads). glibc's defaults keep much of that: one arena per thread that ever allocated, and an mmap
threshold that rises to the largest block freed, after which each scrape body is carved from the heap and
its space kept. Other C libraries: nothing is changed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

# mallopt parameters (malloc.h)
_M_MMAP_THRESHOLD, _M_ARENA_MAX = -3, -8
# Blocks this large are mapped and unmapped on their own (a scrape body, a decoded frame), never kept.
MMAP_THRESHOLD = 1 << 20
# Threads share this many arenas instead of one each.
ARENA_MAX = 2


def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.gnu_get_libc_version  # noqa: B018 -- only glibc has it
        libc.mallopt  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _glibc()


def tune_allocator() -> None:
    """At most ``ARENA_MAX`` arenas and a fixed ``MMAP_THRESHOLD``, unless the environment sets them
    (``MALLOC_ARENA_MAX``, ``MALLOC_MMAP_THRESHOLD_``: glibc applied those at start). Call before threads
    start."""
    if _LIBC is None:
        return
    if "MALLOC_ARENA_MAX" not in os.environ:
        _LIBC.mallopt(_M_ARENA_MAX, ARENA_MAX)
    if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
        _LIBC.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
