"""Run one job in a forked child while the caller goes on: GDAL's writers hold the GIL, so a thread would not
overlap them, and a county's gap files take seconds that the map can use on the second core."""

from __future__ import annotations

import gc
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")

# Children running (forked by this thread, the main one): the collector's objects stay frozen meanwhile.
_running = 0


@contextmanager
def aside(job: Callable[[], T]) -> Iterator[Callable[[], T]]:
    """Run ``job`` in a forked child for the duration of the ``with`` block; on leaving it, wait for the child
    and raise what ``job`` raised. The block is given a function that waits for the child and returns what
    ``job`` returned (pickled back, so it should be plain data). Where fork is not available, or when called
    off the main thread (the demo runs its report in a worker thread of a service whose other threads a fork
    would copy mid-work), ``job`` runs first, in this process.

    The child starts from a copy of this process, so ``job`` sees every object as it is now without pickling;
    only its result or exception comes back (pickled)."""
    on_main = threading.current_thread() is threading.main_thread()
    if not on_main or "fork" not in multiprocessing.get_all_start_methods():
        value = job()
        yield lambda: value
        return
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)

    def run() -> None:
        # Fresh text streams over the same descriptors: a parent thread (the progress bar) may have held the
        # old ones' locks at the fork, which would hang the child's first warning or print for ever.
        sys.stdout = open(os.dup(1), "w", encoding="utf-8", errors="replace")  # noqa: SIM115
        sys.stderr = open(os.dup(2), "w", encoding="utf-8", errors="replace")  # noqa: SIM115
        try:
            value = job()
        except BaseException as exc:  # handed to the parent, which raises it
            send.send((False, exc))
        else:
            send.send((True, value))

    child = context.Process(target=run, name="camwatch-aside", daemon=True)
    # Objects made so far are left out of collections until the last child is done: a collection visits
    # (writes to) every object, which makes each process copy the pages it shares with the other.
    global _running
    gc.freeze()
    _running += 1
    try:
        child.start()
    except BaseException:
        _leave()
        raise
    send.close()
    outcome: list[tuple[bool, Any]] = []

    def wait() -> tuple[bool, Any]:
        if not outcome:
            try:
                outcome.append(receive.recv())
            except EOFError:
                child.join()
                outcome.append((False, RuntimeError(f"the background job died (exit code {child.exitcode})")))
            child.join()
            receive.close()
        return outcome[0]

    def result() -> T:
        done, value = wait()
        if not done:
            raise value
        return value

    try:
        yield result
    finally:
        try:
            done, value = wait()
        finally:
            _leave()
    if not done:
        raise value


def _leave() -> None:
    global _running
    _running -= 1
    if not _running:
        gc.unfreeze()
