"""The service tunes glibc's allocator so that large blocks freed (scrape bodies) leave the process."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from camwatch.monitor import memory

# In a child: its allocator settings and RSS are its own. A scrape-sized block is freed, its size made
# once more from the heap (where glibc's self-raising mmap threshold puts it by default) and freed under a
# small block that stays: the space below that block is kept, unless such blocks are mapped on their own.
_CHILD = """
import sys
from camwatch.monitor import memory

def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) * 1024

if sys.argv[1] == "tuned":
    memory.tune_allocator()
body = bytearray(24 << 20)
del body
before = rss()
body = bytearray(24 << 20)
pin = bytearray(64)
del body
print(rss() - before)
"""


def _kept(mode: str) -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, mode], capture_output=True, text=True, check=True, env=env
    )
    return int(done.stdout)


@pytest.mark.skipif(memory._LIBC is None, reason="glibc only")
def test_a_freed_scrape_body_leaves_the_process_once_tuned() -> None:
    assert _kept("default") > 20 << 20  # glibc's defaults keep it
    assert _kept("tuned") < 4 << 20


def test_the_environment_decides_when_it_sets_them(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, int]] = []

    class Recorder:
        def mallopt(self, param: int, value: int) -> None:
            calls.append((param, value))

    monkeypatch.setattr(memory, "_LIBC", Recorder())
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    memory.tune_allocator()
    assert calls == [(memory._M_MMAP_THRESHOLD, memory.MMAP_THRESHOLD)]
    monkeypatch.setattr(memory, "_LIBC", None)
    memory.tune_allocator()  # other C libraries: nothing happens
