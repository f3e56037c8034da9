"""Scene shift and tamper: compare a camera's picture with a reference of its own healthy scene."""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass

import cv2
import numpy as np

from camwatch.config.models import PictureChecks

# The structure is measured at half the analysis size (160 x 90): averaging 2 x 2 pixels halves sensor noise,
# while edges that tell one view from another keep their direction.
_WIDTH, _HEIGHT = 160, 90
# 16 x 9 blocks of 10 x 10 pixels: a block spans about 6 % of the view, so a re-aimed camera puts different
# structure into most blocks while a shake of a few pixels does not.
SCENE_COLUMNS, SCENE_ROWS = 16, 9
_BLOCK = _WIDTH // SCENE_COLUMNS
# Edge directions modulo 180 degrees, so that a contrast reversal (infrared lighting) keeps a block's
# structure.
ORIENTATION_BINS = 8
# Edge strength and grey-level spread are divided by the block's mean grey level plus this, so that a darker
# exposure of the same scene keeps its values, without letting noise in near-black blocks count.
_LUMA_OFFSET = 20.0
# Grey-level spread is measured after this smoothing (pixels at the structure size), which takes most of the
# sensor noise out of a covered lens but little from the scene.
_SPREAD_SMOOTHING = 1.0
# A block with less edge strength than this has no structure worth comparing (flat sky, a wall).
EDGES_MIN = 0.1
# A block with less grey-level spread than this shows no picture a cover could take away.
SPREAD_MIN = 0.05
# A block of the reference that keeps less than this share of its spread has lost its picture ...
SPREAD_KEPT_MIN = 0.25
# ... and so has one left with no more spread than a live sensor's noise gives a flat surface (a block of a
# low-contrast scene, painted over, keeps more than a quarter of its spread in noise alone).
SPREAD_NOISE_MAX = 0.03
# Blocks whose edge-direction histograms have at least this cosine similarity show the same structure.
BLOCK_MATCH = 0.8
# Below this share of blocks with structure the reference has too little to judge the view by.
TEXTURED_SHARE_MIN = 0.15


@dataclass(frozen=True, slots=True, eq=False)
class SceneSignature:
    """One picture's scene, per block (rows x columns), blind to its brightness and colour.

    ``orientation`` (rows x columns x bins): the block's edge-direction histogram weighted by edge strength,
    scaled to unit length; ``edges``: its edge strength, ``spread``: its grey-level standard deviation, both
    over its mean grey level. Blur weakens edges but keeps most of the spread; a cover takes away both.
    """

    orientation: np.ndarray
    edges: np.ndarray
    spread: np.ndarray


@dataclass(frozen=True, slots=True, eq=False)
class SceneReference:
    """A camera's healthy scene: the mean signature of the ``checks`` healthy checks it was learned from,
    then refreshed slowly."""

    signature: SceneSignature
    checks: int


@dataclass(frozen=True, slots=True)
class SceneComparison:
    """How a picture compares with its camera's reference.

    ``textured_share``: share of the grid with structure in the reference; ``texture_lost``: share of the
    reference's blocks with a grey-level spread that lost it (one colour now); ``match``: share of the blocks
    with structure in both whose edge directions still match (``None`` when no block has structure in both).
    """

    textured_share: float
    texture_lost: float
    match: float | None


@functools.cache
def _block_index() -> np.ndarray:
    """The block number (row-major) of every pixel at the structure size."""
    rows, columns = np.mgrid[0:_HEIGHT, 0:_WIDTH]
    return (rows // _BLOCK) * SCENE_COLUMNS + columns // _BLOCK


def _blocks(image: np.ndarray) -> np.ndarray:
    """``image`` at the structure size as (rows, columns, block pixels)."""
    return (
        image.reshape(SCENE_ROWS, _BLOCK, SCENE_COLUMNS, _BLOCK)
        .transpose(0, 2, 1, 3)
        .reshape(SCENE_ROWS, SCENE_COLUMNS, _BLOCK * _BLOCK)
    )


def signature(grey: np.ndarray) -> SceneSignature:
    """The scene signature of a grey picture of any size."""
    small = cv2.resize(grey, (_WIDTH, _HEIGHT), interpolation=cv2.INTER_AREA).astype(np.float32)
    magnitude, angle = cv2.cartToPolar(cv2.Sobel(small, cv2.CV_32F, 1, 0), cv2.Sobel(small, cv2.CV_32F, 0, 1))
    # Most pixels of a scene lie off its edges, so the median strength stands for the picture's noise;
    # taking it off keeps the grain of a night picture from counting as structure.
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
    blocks = _blocks(cv2.GaussianBlur(small, (0, 0), _SPREAD_SMOOTHING))
    level = blocks.mean(axis=2) + _LUMA_OFFSET
    return SceneSignature(
        orientation=_unit(histogram),
        edges=(histogram.sum(axis=2) / (_BLOCK * _BLOCK) / level).astype(np.float32),
        spread=(blocks.std(axis=2) / level).astype(np.float32),
    )


def _unit(histogram: np.ndarray) -> np.ndarray:
    length = np.linalg.norm(histogram, axis=2, keepdims=True)
    return (histogram / np.maximum(length, 1e-9)).astype(np.float32)


def compare(
    reference: SceneSignature, current: SceneSignature, *, overlay: np.ndarray | None = None
) -> SceneComparison:
    """Compare ``current`` with ``reference`` block by block. Blocks marked in ``overlay`` (rows x columns:
    an OSD drawn over the current view, see ``osd.surfaces``) tell nothing of the texture under them: lost
    texture and matching structure are counted over the other blocks."""
    pictured = reference.spread >= SPREAD_MIN
    if overlay is not None:
        pictured &= ~overlay
    lost = pictured & (
        (current.spread < SPREAD_KEPT_MIN * reference.spread) | (current.spread < SPREAD_NOISE_MAX)
    )
    structured = reference.edges >= EDGES_MIN
    both = structured & (current.edges >= EDGES_MIN)
    if overlay is not None:
        both &= ~overlay  # the same OSD over any view would always match
    similarity = (reference.orientation * current.orientation).sum(axis=2)
    return SceneComparison(
        textured_share=float(structured.mean()),
        texture_lost=float(lost.sum() / pictured.sum()) if pictured.any() else 0.0,
        match=float((similarity[both] >= BLOCK_MATCH).mean()) if both.any() else None,
    )


def scene_faults(comparison: SceneComparison, settings: PictureChecks, *, sound: bool) -> tuple[str, ...]:
    """``tampered`` when most of the reference's blocks turned one colour (covered or sprayed lens); else
    ``moved`` when the structure that is still there no longer matches the reference (turned, re-aimed).
    A reference with too little structure judges neither.

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
    reference follows slow changes of the scene (seasons, a new building) while no single check moves it far.
    """
    if not healthy:
        return reference
    if reference is None:
        return SceneReference(signature=current, checks=1)
    weight = max(1 / (reference.checks + 1), refresh)
    old = reference.signature
    mixed = SceneSignature(
        orientation=_unit((1 - weight) * old.orientation + weight * current.orientation),
        edges=((1 - weight) * old.edges + weight * current.edges).astype(np.float32),
        spread=((1 - weight) * old.spread + weight * current.spread).astype(np.float32),
    )
    return SceneReference(signature=mixed, checks=reference.checks + 1)


def reference_bytes(reference: SceneReference) -> bytes:
    """``reference`` as bytes to store (NumPy's ``.npz``: arrays only, nothing executable)."""
    buffer = io.BytesIO()
    signature = reference.signature
    np.savez(
        buffer,
        orientation=signature.orientation,
        edges=signature.edges,
        spread=signature.spread,
        checks=np.array(reference.checks),
    )
    return buffer.getvalue()


def reference_from_bytes(data: bytes) -> SceneReference:
    """The reference stored by ``reference_bytes``."""
    with np.load(io.BytesIO(data), allow_pickle=False) as stored:
        signature = SceneSignature(
            orientation=stored["orientation"], edges=stored["edges"], spread=stored["spread"]
        )
        return SceneReference(signature=signature, checks=int(stored["checks"]))
