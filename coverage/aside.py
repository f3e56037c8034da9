"""Run one job in a forked child while the caller goes on: GDAL's writers hold the GIL, so a thread would not
overlap them, and a county's gap files take seconds that the map can use on the second core."""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def aside(job: Callable[[], None]) -> Iterator[None]:
    """Run ``job`` in a forked child for the duration of the ``with`` block; on leaving it, wait for the child
    and raise what ``job`` raised. Where fork is not available, or when called off the main thread (the demo
    runs its report in a worker thread of a service whose other threads a fork would copy mid-work), ``job``
    runs first, in this process.

    The child starts from a copy of this process, so ``job`` sees every object as it is now without pickling;
    only its exception, if any, comes back (pickled)."""
    on_main = threading.current_thread() is threading.main_thread()
    if not on_main or "fork" not in multiprocessing.get_all_start_methods():
        job()
        yield
        return
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)

    def run() -> None:
        # Fresh text streams over the same descriptors: a parent thread (the progress bar) may have held the
        # old ones' locks at the fork, which would hang the child's first warning or print for ever.
        sys.stdout = open(os.dup(1), "w", encoding="utf-8", errors="replace")  # noqa: SIM115
        sys.stderr = open(os.dup(2), "w", encoding="utf-8", errors="replace")  # noqa: SIM115
        try:
            job()
        except BaseException as exc:  # handed to the parent, which raises it
            send.send(exc)
        else:
            send.send(None)

    child = context.Process(target=run, name="camwatch-aside", daemon=True)
    child.start()
    send.close()
    try:
        yield
    finally:
        try:
            outcome = receive.recv()
        except EOFError:
            outcome = RuntimeError(f"the background writer died (exit code {child.exitcode})")
        child.join()
        receive.close()
    if outcome is not None:
        raise outcome
