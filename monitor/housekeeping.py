"""The service's upkeep on the event loop, apart from probing: state flush and checks, clusters, maintenance
windows, config watch, coverage. Each job is a task of its own, kept here until stopped, so that neither a
slow job nor the probe scheduler holds up the other; one-off background work is kept here too."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)


class Housekeeping:
    """Periodic jobs and one-off background tasks, all referenced until they end or ``stop``."""

    def __init__(self) -> None:
        self._jobs: dict[str, asyncio.Task[None]] = {}
        self._once: set[asyncio.Task[Any]] = set()

    def add_job(self, func: Callable[[], object], seconds: float, job_id: str) -> None:
        """Run ``func`` (plain or async) every ``seconds`` on the loop, one run at a time; a job of the same
        id is replaced. A run that fails is logged and the job goes on."""
        old = self._jobs.pop(job_id, None)
        if old is not None:
            old.cancel()
        self._jobs[job_id] = asyncio.create_task(
            self._every(func, seconds, job_id), name=f"camwatch-{job_id}"
        )

    def spawn(self, work: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Run ``work`` in the background, kept until it ends (the loop holds only weak references)."""
        task = asyncio.create_task(work, name=f"camwatch-{name}")
        self._once.add(task)
        task.add_done_callback(self._once.discard)
        return task

    async def stop(self) -> None:
        tasks = [*self._jobs.values(), *self._once]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._jobs.clear()

    @staticmethod
    async def _every(func: Callable[[], object], seconds: float, job_id: str) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                outcome = func()
                if inspect.isawaitable(outcome):
                    await outcome
            except Exception:  # upkeep must go on: the next run may succeed
                log.exception("job %s failed", job_id)
