"""The service's garbage-collector settings: the inventory frozen after each load, a cycle of an old one
still collected at the next."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from camwatch.monitor import collector


@pytest.fixture(autouse=True)
def _restore_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def test_tune_raises_only_the_young_threshold() -> None:
    _, middle, old = gc.get_threshold()
    collector.tune()
    assert gc.get_threshold() == (collector.YOUNG_THRESHOLD, middle, old)


def test_settle_freezes_what_lives_and_frees_an_old_frozen_cycle() -> None:
    a, b = _Node(), _Node()
    a.other, b.other = b, a  # a cycle: only a collection frees it
    gone = weakref.ref(a)
    collector.settle()
    assert gc.get_freeze_count() > 0
    del a, b
    gc.collect()
    assert gone() is not None  # frozen: no collection looks at it
    collector.settle()  # the next inventory load
    assert gone() is None
