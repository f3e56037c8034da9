"""Wiring for commands that run the service: building it with the monitor↔coverage link, and waiting for a
stop signal.

``monitor`` and ``coverage`` never import each other; the service gets coverage as a factory from here.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import signal
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from camwatch.config.models import Config
    from camwatch.monitor.service import CoverageLink, CoverageMeasure, Service


def build_service(config: Config, *, require_address: bool = False) -> Service:
    """The monitor service as ``run`` and ``demo`` start it: a reload checks what the first load checked
    (``require_address``), and coverage is measured when the coverage engine is installed."""
    from camwatch.config.load import load_config
    from camwatch.monitor.service import Service

    loader = functools.partial(load_config, require_address=require_address)
    return Service(config, loader=loader, coverage_factory=coverage_factory())


# What the coverage engine imports: with them GDAL, GEOS and PROJ (≈ 60 MB resident), which a service
# without a coverage section never needs.
_COVERAGE_NEEDS = ("geopandas", "shapely", "pandas", "pyproj")


def coverage_factory() -> CoverageLink | None:
    """``CoverageModel.from_config`` when the coverage engine is installed, else None. The engine is imported
    at the first call (the service calls it only when the config has a coverage section)."""
    if any(importlib.util.find_spec(name) is None for name in _COVERAGE_NEEDS):
        return None

    def from_config(config: Config, /) -> CoverageMeasure:
        from camwatch.coverage.measure import CoverageModel

        return CoverageModel.from_config(config)

    return from_config


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
