"""On-screen display (OSD) over a camera's picture: its clock and name line told apart from the surface they
are drawn on, so that a covered or sprayed view is judged on what lies under them."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# A block whose grey levels spread less than this (standard deviation) shows no texture.
FLAT_STD = 4.0
# Interquartile range of normally distributed values, in standard deviations.
IQR_PER_STD = 1.35
# OSD text and its shaded box are drawn to be read over any scene: at least this far (grey levels) from the
# surface under them. A scene's own texture fills the levels in between.
OVERLAY_CONTRAST = 50.0
# An overlay fills at least this share of a block (a stroke, the corner of a box) ...
OVERLAY_SHARE_MIN = 0.05
# ... and leaves at most this share of its pixels between the surface's noise and the overlay's contrast
# (the anti-aliased edges of its strokes).
BETWEEN_SHARE_MAX = 0.25
# The surface under an OSD fills at least this share of a block: a block's corner may lie in a shaded box,
# a stroke run through the rest.
SURFACE_SHARE_MIN = 0.35
# OSD lines are short bands: drawn text spans at most this many grid rows (a clock over a camera-name line in
# a large font). A larger region of strokes over a flat surface is the scene's own (a brick wall, tiles).
OSD_ROWS = 3
# Grey levels beyond the surface's shortest half that are still its noise.
_SURFACE_NOISE = 6.0


@dataclass(frozen=True, slots=True)
class Surfaces:
    """Per block: the grey-level ``spread`` and ``level`` of the surface it shows, and whether an OSD lies
    over it (``overlaid``). ``spread`` is the interquartile range (under an OSD, the narrow range the surface
    fills) over ``IQR_PER_STD``: the standard deviation of normally distributed noise."""

    spread: np.ndarray
    level: np.ndarray
    overlaid: np.ndarray


def _shortest_range(ordered: np.ndarray, share: float) -> tuple[np.ndarray, np.ndarray]:
    """Per block of ``ordered`` (..., pixels sorted by grey level): the width of the narrowest grey-level
    range holding ``share`` of its pixels, and that range's middle level."""
    count = ordered.shape[-1]
    held = max(1, int(np.ceil(share * count)))
    widths = ordered[..., held - 1 :] - ordered[..., : count - held + 1]
    start = widths.argmin(axis=-1)[..., None]
    low = np.take_along_axis(ordered, start, axis=-1)[..., 0]
    high = np.take_along_axis(ordered, start + held - 1, axis=-1)[..., 0]
    return high - low, (low + high) / 2


def surfaces(blocks: np.ndarray) -> Surfaces:
    """The surface each block of ``blocks`` (..., pixels) shows, an OSD drawn over it left out.

    A block is overlaid when the narrowest range of ``SURFACE_SHARE_MIN`` of its pixels is flat, some of
    the rest lies at an OSD's contrast from it and little lies between (strokes or a box over a flat
    surface), and such blocks form a band no taller than a few lines of text: its level and spread are that
    range's. A scene's texture spreads over the levels between, and a wall of strokes is taller than an OSD,
    so every other block keeps the interquartile range and median.
    """
    # One sort serves the quartiles and the shortest range.
    ordered = np.sort(blocks.astype(np.float32), axis=-1)
    low, middle, high = (ordered[..., ordered.shape[-1] * q // 4] for q in (1, 2, 3))
    width, level = _shortest_range(ordered, SURFACE_SHARE_MIN)
    distance = np.abs(ordered - level[..., None])
    far = (distance >= OVERLAY_CONTRAST).mean(axis=-1)
    between = ((distance > width[..., None] / 2 + _SURFACE_NOISE) & (distance < OVERLAY_CONTRAST)).mean(
        axis=-1
    )
    strokes = (width / IQR_PER_STD < FLAT_STD) & (far >= OVERLAY_SHARE_MIN) & (between <= BETWEEN_SHARE_MAX)
    overlaid = _bands(strokes)
    spread = np.where(overlaid, width, high - low) / IQR_PER_STD
    return Surfaces(spread=spread, level=np.where(overlaid, level, middle), overlaid=overlaid)


def _bands(marked: np.ndarray) -> np.ndarray:
    """The blocks of ``marked`` (rows x columns) in connected regions no taller than ``OSD_ROWS``."""
    _, labels, stats, _ = cv2.connectedComponentsWithStats(marked.astype(np.uint8), connectivity=8)
    short = stats[:, cv2.CC_STAT_HEIGHT] <= OSD_ROWS
    short[0] = False  # the background
    return short[labels]
