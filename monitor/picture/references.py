"""A camera's learned picture references (sharpness baseline, reference scene): a check is judged against
them, and a healthy one refreshes them. Shared by every probe that judges pictures (video, snapshot)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from camwatch.config.models import PictureChecks
from camwatch.monitor.faults import PICTURE_FAULTS
from camwatch.monitor.picture import analysis, scene
from camwatch.monitor.probes.base import OK, BaselineStore, ProbeResult, Transient

# A camera's previous check is compared with while at most this many check intervals old: older, the camera
# may have restarted meanwhile onto another frozen picture.
PREVIOUS_WITHIN_INTERVALS = 3


@dataclass(frozen=True, slots=True)
class PreviousView(Transient):
    """What a camera's check leaves for the next one: when it ended (monotonic seconds) and, when it found
    the picture frozen, that picture's coarse copy (``Picture.coarse``, 14 KB); nothing otherwise."""

    at: float
    frozen: np.ndarray | None


@dataclass(frozen=True, slots=True)
class Streaks(Transient):
    """How many consecutive checks of a camera found each picture fault, up to this one (memory only)."""

    counts: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class Judged:
    """A check's verdict and the references it was judged against (as they were before it)."""

    verdict: analysis.VideoVerdict
    baseline: float | None
    reference: scene.SceneReference | None
    # Whether a still picture differs from the camera's previous check's still picture (compared only
    # when both were still with no sensor life: see ``judge``).
    renewed: bool | None = None

    @property
    def worst(self) -> str | None:
        """The most severe picture fault found, if any: a device fault (``mono_by_day``) leaves the check
        a success."""
        return next((f for f in self.verdict.faults if f in PICTURE_FAULTS), None)

    def result(
        self, probe: str, duration: float, values: Mapping[str, float], details: Mapping[str, Any]
    ) -> ProbeResult:
        """The probe's result: failed with its worst fault as status, or ``ok``; the references it was judged
        against join ``details``."""
        return ProbeResult(
            probe,
            success=self.worst is None,
            status=self.worst or OK,
            duration_seconds=duration,
            faults=self.verdict.faults,
            values=values,
            details={
                **details,
                "baseline_sharpness": self.baseline,
                "scene_reference_checks": self.reference.checks if self.reference is not None else 0,
                **({} if self.renewed is None else {"changed_since_previous_check": self.renewed}),
            },
        )


class Staged:
    """A camera's references for ``judge`` off the event loop: read from the live store on the loop before
    (``staged``), judged in a decoder thread against this copy, and its changes written back on the loop
    (``apply``), so the live store is only ever touched by the loop's thread."""

    __slots__ = ("_camera_id", "_changed", "_values")

    def __init__(self, camera_id: str, values: dict[str, Any]) -> None:
        self._camera_id = camera_id
        self._values = values
        self._changed: dict[str, Any] = {}

    def get(self, camera_id: str, key: str) -> Any:
        if camera_id != self._camera_id or key not in self._values:
            raise KeyError(f"{key!r} of {camera_id!r} was not staged for judging")  # a key judge gained
        return self._values[key]

    def put(self, camera_id: str, key: str, value: Any) -> None:
        if camera_id != self._camera_id or key not in self._values:
            raise KeyError(f"{key!r} of {camera_id!r} was not staged for judging")
        self._values[key] = value
        self._changed[key] = value

    def apply(self, baselines: BaselineStore) -> None:
        """Write what the judgement learned to the live store (on the loop)."""
        for key, value in self._changed.items():
            baselines.put(self._camera_id, key, value)


def staged(baselines: BaselineStore, camera_id: str, keys: tuple[str, str]) -> Staged:
    """The references ``judge`` reads for ``camera_id`` under ``keys``, copied from the live store."""
    baseline_key, scene_key = keys
    read = (baseline_key, scene_key, f"{scene_key}:mono", f"{scene_key}:previous", f"{scene_key}:streaks")
    return Staged(camera_id, {key: baselines.get(camera_id, key) for key in read})


def judge(
    pictures: Sequence[analysis.Picture],
    *,
    fps: float,
    settings: PictureChecks,
    baselines: BaselineStore,
    camera_id: str,
    keys: tuple[str, str],
    alive: float | None = None,
    interval: float | None = None,
    decode_error_ratio: float = 0.0,
    lumas: Sequence[float] = (),
    period: str | None = None,
    motion: Sequence[tuple[float, np.ndarray]] = (),
) -> Judged:
    """Assess ``pictures`` against the camera's baseline and reference scene (stored under ``keys``), then
    learn from the verdict: the baseline from a healthy check, the reference scene with weight
    ``settings.scene_refresh``. ``alive``: the share of the picture whose sensor noise changed between
    consecutive frames, where the probe measured it (a live static scene is not frozen). ``period``: day or
    night at the camera (``camwatch.monitor.daylight``), for ``mono_by_day``; ``None``: not judged.
    ``lumas`` and ``motion``: the mean luma and grey picture of consecutive frames (``analysis.assess``).

    A still picture with no sensor life is all one check can see of a frozen source, and of a static scene
    whose encoder or denoiser wipes the sensor noise. Minutes tell them apart: a frozen source shows the same
    picture at its next check, a live scene has changed a little (light, shadows). So when the camera's
    previous check, at most ``PREVIOUS_WITHIN_INTERVALS`` × ``interval`` seconds ago, also found the
    picture frozen and the picture changed since (``analysis.view_changed``), it is live, not frozen.
    """
    baseline_key, scene_key = keys
    baseline = baselines.get(camera_id, baseline_key)
    # A camera that switches to infrared at dusk shows another picture of the same scene: grey, flatter,
    # noisier. Each mode has its own reference; until the current mode has one, the other's judges only
    # `tampered` (a lost picture), never `moved` (a day reference reads a night view as turned).
    mono = analysis.monochrome(pictures[-1])
    own_key, other_key = (f"{scene_key}:mono", scene_key) if mono else (scene_key, f"{scene_key}:mono")
    own = baselines.get(camera_id, own_key)
    reference = own if own is not None else baselines.get(camera_id, other_key)
    verdict = analysis.assess(
        pictures,
        fps=fps,
        baseline=baseline,
        settings=settings,
        reference=reference,
        alive=alive,
        judge_moved=own is not None,
        decode_error_ratio=decode_error_ratio,
        lumas=lumas,
        period=period,
        motion=motion,
    )
    verdict, renewed = _second_look(
        verdict, pictures[-1], baselines, camera_id, f"{scene_key}:previous", settings, interval
    )
    refresh = settings.scene_refresh
    learned = analysis.next_baseline(baseline, verdict)
    if learned != baseline:
        baselines.put(camera_id, baseline_key, learned)
    if verdict.view is not None:
        refreshed = scene.next_reference(own, verdict.view, healthy=verdict.healthy, refresh=refresh)
        if refreshed is not own:
            baselines.put(camera_id, own_key, refreshed)
    return Judged(
        confirmed(verdict, baselines, camera_id, f"{scene_key}:streaks", settings),
        baseline,
        reference,
        renewed,
    )


def confirmed(
    verdict: analysis.VideoVerdict,
    baselines: BaselineStore,
    camera_id: str,
    key: str,
    settings: PictureChecks,
) -> analysis.VideoVerdict:
    """``verdict`` less the faults found on fewer consecutive checks than ``settings.confirm`` asks for, as
    the VQD servers raise a fault after N detections in a row: one odd picture (a passing truck's shadow, a
    gust) never pages. The streaks are kept in memory (``Streaks``, a transient); a restart starts them
    again."""
    previous = baselines.get(camera_id, key)
    before = previous.counts if isinstance(previous, Streaks) else {}
    counts = {fault: before.get(fault, 0) + 1 for fault in verdict.faults}
    if counts != before:
        baselines.put(camera_id, key, Streaks(counts))
    kept = tuple(f for f in verdict.faults if counts[f] >= settings.confirmations(f))
    return verdict if kept == verdict.faults else dataclasses.replace(verdict, faults=kept)


def _second_look(
    verdict: analysis.VideoVerdict,
    last: analysis.Picture,
    baselines: BaselineStore,
    camera_id: str,
    key: str,
    settings: PictureChecks,
    interval: float | None,
) -> tuple[analysis.VideoVerdict, bool | None]:
    """``verdict`` with ``frozen`` taken back when the previous check's frozen picture differs from this
    one, and whether it did (``None``: not compared). Leaves this check's picture for the next one."""
    now = time.monotonic()
    frozen = "frozen" in verdict.faults
    previous = baselines.get(camera_id, key)
    renewed = None
    if (
        frozen
        and isinstance(previous, PreviousView)
        and previous.frozen is not None
        and interval is not None
        and now - previous.at <= PREVIOUS_WITHIN_INTERVALS * interval
    ):
        renewed = analysis.view_changed(previous.frozen, last.coarse, settings.frozen_tolerance)
        if renewed:
            verdict = dataclasses.replace(verdict, faults=tuple(f for f in verdict.faults if f != "frozen"))
    if frozen or (isinstance(previous, PreviousView) and previous.frozen is not None):
        # Only a frozen picture is kept (14 KB); the check after one leaves a mark that it is gone.
        baselines.put(camera_id, key, PreviousView(now, last.coarse if frozen else None))
    return verdict, renewed
