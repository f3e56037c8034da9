"""Picture-quality measures and fault decisions on decoded frames (pure numpy/OpenCV, no I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from camwatch.config.models import PictureChecks
from camwatch.monitor import scene
from camwatch.monitor.faults import PICTURE_FAULTS

# Every measure is taken at one fixed size so that values compare across cameras and resolutions.
ANALYSIS_WIDTH, ANALYSIS_HEIGHT = 320, 180
# 16 x 9 blocks of 20 x 20 analysis pixels.
GRID_COLUMNS, GRID_ROWS = 16, 9
_BLOCK = ANALYSIS_WIDTH // GRID_COLUMNS
# Change is measured on a 4x coarser copy: averaging 4 x 4 analysis pixels cuts uncorrelated sensor and
# compression noise by 4 while the strokes of an on-screen clock keep most of their contrast.
_CHANGE_WIDTH, _CHANGE_HEIGHT = ANALYSIS_WIDTH // 4, ANALYSIS_HEIGHT // 4
# A block whose grey levels spread less than this (standard deviation) shows no texture.
UNIFORM_BLOCK_STD = 4.0
# Uniform blocks whose mean grey levels differ by less than this belong to the same region.
UNIFORM_LEVEL_BAND = 12.0
# Weight of a new healthy check in the sharpness baseline (exponentially weighted mean).
BASELINE_WEIGHT = 0.2

# Most severe first (the fault vocabulary's order).
FAULT_ORDER = PICTURE_FAULTS


@dataclass(frozen=True, slots=True)
class Picture:
    """One analysed frame: ``pts`` in seconds, ``grey`` at the analysis size, ``coarse`` its 4x smaller
    float copy for change detection, ``bgr`` the colour frame at the analysis size."""

    pts: float
    bgr: np.ndarray
    grey: np.ndarray
    coarse: np.ndarray


@dataclass(frozen=True, slots=True)
class VideoVerdict:
    """What one video check found: measured values and faults, most severe first; ``view`` is the current
    view's scene signature and ``scene_comparison`` how it compares with the camera's reference, if any."""

    fps: float
    luma: float
    sharpness: float
    faults: tuple[str, ...]
    view: scene.SceneSignature | None = None
    scene_comparison: scene.SceneComparison | None = None

    @property
    def healthy(self) -> bool:
        return not self.faults


def picture(frame_bgr: np.ndarray, pts: float) -> Picture:
    """Bring a BGR frame of any size to the analysis size."""
    if frame_bgr.shape[:2] != (ANALYSIS_HEIGHT, ANALYSIS_WIDTH):
        frame_bgr = cv2.resize(frame_bgr, (ANALYSIS_WIDTH, ANALYSIS_HEIGHT), interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY)
    coarse = cv2.resize(
        grey.astype(np.float32), (_CHANGE_WIDTH, _CHANGE_HEIGHT), interpolation=cv2.INTER_AREA
    )
    return Picture(pts=pts, bgr=frame_bgr, grey=grey, coarse=coarse)


def luma(pic: Picture) -> float:
    """Mean grey level, 0-255."""
    return float(pic.grey.mean())


def sharpness(pic: Picture) -> float:
    """Variance of the Laplacian at the analysis size: high for crisp edges, near 0 for a blurred picture."""
    return float(cv2.Laplacian(pic.grey, cv2.CV_32F).var())


def _blocks(image: np.ndarray) -> np.ndarray:
    """``image`` (H x W) as a (rows, columns, block pixels) array over the grid."""
    height, width = image.shape
    bh, bw = height // GRID_ROWS, width // GRID_COLUMNS
    return (
        image[: bh * GRID_ROWS, : bw * GRID_COLUMNS]
        .reshape(GRID_ROWS, bh, GRID_COLUMNS, bw)
        .transpose(0, 2, 1, 3)
        .reshape(GRID_ROWS, GRID_COLUMNS, bh * bw)
    )


def block_change(before: Picture, after: Picture) -> np.ndarray:
    """Mean absolute grey-level difference per grid block (rows x columns) between two pictures."""
    return _blocks(np.abs(after.coarse - before.coarse)).mean(axis=2)


def changed(before: Picture, after: Picture, tolerance: float) -> bool:
    """Whether any block changed by more than ``tolerance`` grey levels."""
    return bool((block_change(before, after) > tolerance).any())


class StillTracker:
    """Follows pictures in PTS order and the spans over which nothing changed.

    Each picture is compared with the picture that opened the current span, not with its predecessor, so a
    slow drift that is small from frame to frame still ends the span once it adds up.
    """

    def __init__(self, tolerance: float) -> None:
        self.tolerance = tolerance
        self.longest = 0.0
        self._anchor: Picture | None = None

    def add(self, pic: Picture) -> None:
        if self._anchor is None or changed(self._anchor, pic, self.tolerance):
            self._anchor = pic
        else:
            self.longest = max(self.longest, pic.pts - self._anchor.pts)

    def can_reach(self, seconds: float, end_pts: float) -> bool:
        """Whether a still span of ``seconds`` is found or could still be by ``end_pts``."""
        return self.longest >= seconds or self._anchor is None or end_pts - self._anchor.pts >= seconds


def longest_still_seconds(pictures: Sequence[Picture], tolerance: float) -> float:
    """The longest PTS span over which no picture changed from the one that opened the span."""
    tracker = StillTracker(tolerance)
    for pic in pictures:
        tracker.add(pic)
    return tracker.longest


def uniform_fraction(pic: Picture) -> float:
    """Fraction of the grid covered by the largest region of texture-less blocks of about one grey level."""
    blocks = _blocks(pic.grey.astype(np.float32))
    flat_levels = blocks.mean(axis=2)[blocks.std(axis=2) < UNIFORM_BLOCK_STD]
    if flat_levels.size == 0:
        return 0.0
    # Count flat blocks per level band; a region may straddle two neighbouring bands.
    bands = np.bincount(
        (flat_levels // UNIFORM_LEVEL_BAND).astype(int), minlength=int(256 // UNIFORM_LEVEL_BAND) + 2
    )
    largest = int((bands[:-1] + bands[1:]).max())
    return largest / (GRID_ROWS * GRID_COLUMNS)


def dominant_channel_share(pic: Picture) -> float:
    """Share of the strongest colour channel in the summed channel means (1/3 for a neutral picture)."""
    means = pic.bgr.reshape(-1, 3).mean(axis=0)
    total = float(means.sum())
    return float(means.max()) / total if total > 0 else 1 / 3


def is_blurred(value: float, baseline: float | None, settings: PictureChecks) -> bool:
    """Sharpness below ``blur_ratio`` of the camera's own baseline, or below ``blur_floor`` without one."""
    return value < (settings.blur_ratio * baseline if baseline is not None else settings.blur_floor)


def assess(
    pictures: Sequence[Picture],
    *,
    fps: float,
    baseline: float | None,
    settings: PictureChecks,
    reference: scene.SceneReference | None = None,
) -> VideoVerdict:
    """Faults of one check from its pictures in PTS order; the last picture stands for the current view.

    ``frozen`` is only judged on a picture with content: a black or covered view has nothing that could
    change, and its own fault says more. ``moved`` and ``tampered`` are judged only against the camera's
    ``reference`` scene, and not on a black picture, which shows no scene at all.
    """
    if not pictures:
        raise ValueError("assess needs at least one picture")
    last = pictures[-1]
    level, crisp = luma(last), sharpness(last)
    found = set()
    if level < settings.black_luma:
        found.add("black")
    elif uniform_fraction(last) >= settings.occluded_fraction:
        found.add("occluded")
    elif longest_still_seconds(pictures, settings.frozen_tolerance) >= settings.frozen_seconds:
        found.add("frozen")
    view = scene.signature(last.grey)
    comparison = None
    if "black" not in found:
        if is_blurred(crisp, baseline, settings):
            found.add("blurred")
        if dominant_channel_share(last) >= settings.color_cast_ratio:
            found.add("color_cast")
        if reference is not None:
            comparison = scene.compare(reference.signature, view)
            # A colour cast leaves the structure intact: a turned camera is still worth telling.
            found.update(scene.scene_faults(comparison, settings, sound=found <= {"color_cast"}))
    faults = tuple(f for f in FAULT_ORDER if f in found)
    return VideoVerdict(
        fps=fps, luma=level, sharpness=crisp, faults=faults, view=view, scene_comparison=comparison
    )


def next_baseline(previous: float | None, verdict: VideoVerdict) -> float | None:
    """The camera's sharpness baseline after this check: learned only from healthy checks."""
    if not verdict.healthy:
        return previous
    if previous is None:
        return verdict.sharpness
    return (1 - BASELINE_WEIGHT) * previous + BASELINE_WEIGHT * verdict.sharpness
