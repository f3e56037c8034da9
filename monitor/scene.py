"""Scene shift and tamper: compare a camera's picture with a reference of its own healthy scene."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from camwatch.config.models import VideoSettings

# The structure is measured at half the analysis size (160 x 90): averaging 2 x 2 pixels halves sensor noise,
# while edges that tell one view from another keep their direction.
_WIDTH, _HEIGHT = 160, 90
# 16 x 9 blocks of 10 x 10 pixels: a block spans about 6 % of the view, so a re-aimed camera puts different
# structure into most blocks while a shake of a few pixels does not.
SCENE_COLUMNS, SCENE_ROWS = 16, 9
# Edge directions modulo 180 degrees, so that a contrast reversal (infrared lighting) keeps a block's
# structure.
ORIENTATION_BINS = 8
# Gradient magnitude is divided by the block's mean grey level plus this, so that a darker exposure of the
# same scene keeps its contrast, without letting noise in near-black blocks count as texture.
_LUMA_OFFSET = 20.0
NOISE_FLOOR = 2.0
# A block with less contrast than this shows no texture worth comparing (flat sky, a wall, a lens cover).
TEXTURE_MIN = 0.1
# A block of the reference that keeps less than this share of its contrast has lost its texture.
TEXTURE_KEPT_MIN = 0.25
# Blocks whose edge-direction histograms have at least this cosine similarity show the same structure.
BLOCK_MATCH = 0.8
# Below this share of textured blocks the reference has too little structure to judge the view by.
TEXTURED_SHARE_MIN = 0.15


@dataclass(frozen=True, slots=True, eq=False)
class SceneSignature:
    """The structure of one picture per block: ``orientation`` (rows x columns x bins) holds each block's
    edge-direction histogram weighted by edge strength, scaled to unit length; ``contrast`` (rows x columns)
    its mean gradient magnitude over its mean grey level. Both are blind to the picture's brightness and
    colour."""

    orientation: np.ndarray
    contrast: np.ndarray


@dataclass(frozen=True, slots=True, eq=False)
class SceneReference:
    """A camera's healthy scene: the mean signature of the ``checks`` healthy checks it was learned from,
    then refreshed slowly."""

    signature: SceneSignature
    checks: int


@dataclass(frozen=True, slots=True)
class SceneComparison:
    """How a picture compares with its camera's reference.

    ``textured_share``: share of the grid textured in the reference; ``texture_lost``: share of those blocks
    that lost their texture; ``match``: share of blocks textured in both whose structure still matches
    (``None`` when no block is textured in both).
    """

    textured_share: float
    texture_lost: float
    match: float | None


@functools.cache
def _block_index() -> np.ndarray:
    """The block number (row-major) of every pixel at the structure size."""
    rows, columns = np.mgrid[0:_HEIGHT, 0:_WIDTH]
    return (rows // (_HEIGHT // SCENE_ROWS)) * SCENE_COLUMNS + columns // (_WIDTH // SCENE_COLUMNS)


def signature(grey: np.ndarray) -> SceneSignature:
    """The scene signature of a grey picture of any size."""
    small = cv2.resize(grey, (_WIDTH, _HEIGHT), interpolation=cv2.INTER_AREA).astype(np.float32)
    magnitude, angle = cv2.cartToPolar(cv2.Sobel(small, cv2.CV_32F, 1, 0), cv2.Sobel(small, cv2.CV_32F, 0, 1))
    # Most pixels of a scene lie off its edges, so the median strength stands for the picture's noise;
    # taking it off keeps the grain of a night picture, or of a noisy lens cover, from counting as texture.
    magnitude = np.maximum(magnitude - float(np.median(magnitude)), 0)
    # Each pixel's strength is shared between the two nearest direction bins, so that a slight turn of an
    # edge moves weight gradually rather than flipping it into the next bin.
    position = (angle % np.pi) * (ORIENTATION_BINS / np.pi)
    lower = np.floor(position)
    upper_weight = position - lower
    slots = _block_index() * ORIENTATION_BINS
    size = SCENE_ROWS * SCENE_COLUMNS * ORIENTATION_BINS
    lower_bin = lower.astype(np.int64) % ORIENTATION_BINS
    histogram = np.bincount((slots + lower_bin).ravel(), (magnitude * (1 - upper_weight)).ravel(), size)
    histogram += np.bincount(
        (slots + (lower_bin + 1) % ORIENTATION_BINS).ravel(), (magnitude * upper_weight).ravel(), size
    )
    histogram = histogram.reshape(SCENE_ROWS, SCENE_COLUMNS, ORIENTATION_BINS)
    block_pixels = (_HEIGHT // SCENE_ROWS) * (_WIDTH // SCENE_COLUMNS)
    block_luma = cv2.resize(small, (SCENE_COLUMNS, SCENE_ROWS), interpolation=cv2.INTER_AREA)
    contrast = histogram.sum(axis=2) / block_pixels / (block_luma + _LUMA_OFFSET)
    return SceneSignature(orientation=_unit(histogram), contrast=contrast.astype(np.float32))


def _unit(histogram: np.ndarray) -> np.ndarray:
    length = np.linalg.norm(histogram, axis=2, keepdims=True)
    return (histogram / np.maximum(length, 1e-9)).astype(np.float32)


def compare(reference: SceneSignature, current: SceneSignature) -> SceneComparison:
    """Compare ``current`` with ``reference`` block by block."""
    textured = reference.contrast >= TEXTURE_MIN
    count = int(textured.sum())
    lost = textured & (current.contrast < TEXTURE_KEPT_MIN * reference.contrast)
    both = textured & (current.contrast >= TEXTURE_MIN)
    similarity = (reference.orientation * current.orientation).sum(axis=2)
    return SceneComparison(
        textured_share=count / textured.size,
        texture_lost=int(lost.sum()) / count if count else 0.0,
        match=float((similarity[both] >= BLOCK_MATCH).mean()) if both.any() else None,
    )


def scene_faults(
    comparison: SceneComparison, settings: VideoSettings, *, sound: bool
) -> tuple[str, ...]:
    """``tampered`` when most of a textured reference lost its texture (covered, sprayed); else ``moved``
    when the structure that is still there no longer matches the reference (turned, re-aimed).

    ``moved`` is only judged on a ``sound`` picture (no other fault): a frozen, blurred or partly covered
    picture differs from its reference for reasons its own fault already names.
    """
    if comparison.textured_share < TEXTURED_SHARE_MIN:
        return ()
    if comparison.texture_lost >= settings.tampered_fraction:
        return ("tampered",)
    if sound and comparison.match is not None and comparison.match < settings.scene_match_min:
        return ("moved",)
    return ()


def next_reference(
    reference: SceneReference | None, current: SceneSignature, *, healthy: bool, refresh: float
) -> SceneReference | None:
    """The camera's reference after a check: learned and refreshed only from healthy checks.

    The first healthy checks are averaged with equal weight; from then on each adds ``refresh``, so the
    reference follows seasons and new buildings but not a camera that is being turned.
    """
    if not healthy:
        return reference
    if reference is None:
        return SceneReference(signature=current, checks=1)
    weight = max(1 / (reference.checks + 1), refresh)
    old = reference.signature
    mixed = SceneSignature(
        orientation=_unit((1 - weight) * old.orientation + weight * current.orientation),
        contrast=((1 - weight) * old.contrast + weight * current.contrast).astype(np.float32),
    )
    return SceneReference(signature=mixed, checks=reference.checks + 1)
