"""Wiring for commands that run the service: the monitor↔coverage link and waiting for a stop signal.

``monitor`` and ``coverage`` never import each other; the service gets coverage as a factory from here.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from typing import Any


def coverage_factory() -> Callable[[Any], Any] | None:
    """``CoverageModel.from_config`` when the coverage engine is installed, else None."""
    try:
        from camwatch.coverage.measure import CoverageModel
    except ImportError:
        return None
    return CoverageModel.from_config


async def wait_for_stop(duration: float | None = None, *, on_hup: Callable[[], object] | None = None) -> None:
    """Return on SIGINT/SIGTERM or after ``duration`` seconds; call ``on_hup`` on SIGHUP."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    handled = [signal.SIGINT, signal.SIGTERM]
    for sig in handled:
        loop.add_signal_handler(sig, stop.set)
    if on_hup is not None:
        loop.add_signal_handler(signal.SIGHUP, on_hup)
        handled.append(signal.SIGHUP)
    try:
        async with asyncio.timeout(duration):
            await stop.wait()
    except TimeoutError:
        pass
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)
