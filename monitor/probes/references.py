"""A camera's learned picture references (sharpness baseline, reference scene): a check is judged against
them, and a healthy one refreshes them. Shared by every probe that judges pictures (video, snapshot)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from camwatch.config.models import PictureChecks
from camwatch.monitor import scene
from camwatch.monitor import video_analysis as analysis
from camwatch.monitor.probes.base import OK, BaselineStore, ProbeResult


@dataclass(frozen=True, slots=True)
class Judged:
    """A check's verdict and the references it was judged against (as they were before it)."""

    verdict: analysis.VideoVerdict
    baseline: float | None
    reference: scene.SceneReference | None

    @property
    def worst(self) -> str | None:
        """The most severe fault found, if any."""
        return self.verdict.faults[0] if self.verdict.faults else None

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
            },
        )


def judge(
    pictures: Sequence[analysis.Picture],
    *,
    fps: float,
    settings: PictureChecks,
    baselines: BaselineStore,
    camera_id: str,
    keys: tuple[str, str],
    alive: float | None = None,
) -> Judged:
    """Assess ``pictures`` against the camera's baseline and reference scene (stored under ``keys``), then
    learn from the verdict: the baseline from a healthy check, the reference scene with weight
    ``settings.scene_refresh``. ``alive``: the share of the picture whose sensor noise changed between
    consecutive frames, where the probe measured it (a live static scene is not frozen)."""
    baseline_key, scene_key = keys
    baseline = baselines.get(camera_id, baseline_key)
    reference = baselines.get(camera_id, scene_key)
    verdict = analysis.assess(
        pictures, fps=fps, baseline=baseline, settings=settings, reference=reference, alive=alive
    )
    refresh = settings.scene_refresh
    learned = analysis.next_baseline(baseline, verdict)
    if learned != baseline:
        baselines.put(camera_id, baseline_key, learned)
    if verdict.view is not None:
        refreshed = scene.next_reference(reference, verdict.view, healthy=verdict.healthy, refresh=refresh)
        if refreshed is not reference:
            baselines.put(camera_id, scene_key, refreshed)
    return Judged(verdict, baseline, reference)
