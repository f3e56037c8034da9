"""Picture-quality measures and fault decisions on decoded frames (pure numpy/OpenCV, no I/O)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from camwatch.config.models import PictureChecks
from camwatch.monitor.faults import PICTURE_FAULTS, ordered
from camwatch.monitor.picture import faults as picture_faults
from camwatch.monitor.picture import osd, scene

# Checks run side by side, one per thread, on a few hundred thousand pixels each: OpenCV's own thread pool
# would only add hand-offs and spinning workers to every call (about a seventh of the analysis' CPU).
cv2.setNumThreads(1)

# Every measure is taken at one fixed size so that values compare across cameras and resolutions.
ANALYSIS_WIDTH, ANALYSIS_HEIGHT = 320, 180
# 16 x 9 blocks of 20 x 20 analysis pixels.
GRID_COLUMNS, GRID_ROWS = picture_faults.GRID_COLUMNS, picture_faults.GRID_ROWS
_BLOCK = ANALYSIS_WIDTH // GRID_COLUMNS
# Change is measured on a 4x coarser copy: averaging 4 x 4 analysis pixels cuts uncorrelated sensor and
# compression noise by 4 while the strokes of an on-screen clock keep most of their contrast.
_CHANGE_WIDTH, _CHANGE_HEIGHT = ANALYSIS_WIDTH // 4, ANALYSIS_HEIGHT // 4
# Uniform blocks whose mean grey levels differ by less than this belong to the same region.
UNIFORM_LEVEL_BAND = 12.0
# Flatness is judged at the picture's exposure (``flat_spread``): ``osd.FLAT_STD`` at this median grey
# level, and never under this many times the picture's noise.
_MID_GREY, _NOISE_FLAT = 128.0, 2.0
# A flat picture whose structure lies at least this much inside its flat region shows a featureless scene,
# not a cover (``scene_in_flat``).
_SCENE_INSIDE = 0.5
# Texture for sharpness is judged at the picture's exposure too (``textured_spread``), and never under this
# many times its noise.
_NOISE_TEXTURED = 4.0
# Whatever the exposure and noise, a block spread under one grey level is flat (a black frame, a drawn
# screen: no threshold at zero, and no block of no spread counted as textured).
_ONE_LEVEL = 1.0
# Laplacian energy of white noise per unit of its variance (kernel 0 1 0 / 1 -4 1 / 0 1 0: 16 + 4 x 1).
_LAPLACIAN_NOISE = 20.0
# Weight of a new healthy check in the sharpness baseline (exponentially weighted mean).
BASELINE_WEIGHT = 0.2
# Sharpness is judged on blocks with at least this grey-level spread: flat sky or a wall says nothing of
# focus, and their sensor noise would read as crisp detail.
TEXTURED_BLOCK_STD = 10.0
# Below this share of textured blocks a dark picture (a night scene) tells nothing about focus; a lit one
# without texture is defocused beyond measure.
TEXTURED_SHARE_MIN, DARK_LUMA = 0.05, 40.0
# A change confined to a box of at most this many grid blocks, over at most ``_OSD_ROWS`` rows, is an
# on-screen clock ticking over the picture, not the scene changing (a 20-character date-and-time line in a
# large font spans about 5 x 2 blocks).
_OSD_BOX_BLOCKS, _OSD_ROWS = 12, 3
# Sensor life between consecutive decoded frames: a block is alive when at least ``_ALIVE_PIXELS`` of its
# pixels changed by more than ``_ALIVE_STEP`` grey levels. Measured at (nearly) the decoded resolution: a live
# static scene's frames differ by ~1 grey level, 5-60 % of pixels by more than 2, all over the picture; a
# frozen source's frames not at all, or only where the OSD clock ticks.
_ALIVE_STEP, _ALIVE_PIXELS = 2, 0.02
# At least this share of the grid alive: the sensor is live, whatever the keyframes show.
ALIVE_SHARE = 0.3
# A picture with fewer than this share of pixels whose colour channels lie more than this many levels apart
# is monochrome (``monochrome``): compression leaves an infrared picture's channels within a few levels.
_MONO_SPREAD, _MONO_SHARE = 16, 0.02
_WARM_HUE_DEGREES = (15.0, 105.0)


@dataclass(frozen=True)
class Picture:
    """One analysed frame: ``pts`` in seconds, ``grey`` at the analysis size, ``coarse`` its 4x smaller
    float copy for change detection, ``bgr`` the colour frame at the analysis size."""

    pts: float
    bgr: np.ndarray
    grey: np.ndarray
    coarse: np.ndarray

    @functools.cached_property
    def noise(self) -> float:
        """The picture's noise (``picture_faults.noise_level``), measured once: several measures use it."""
        return picture_faults.noise_level(self)


@dataclass(frozen=True, slots=True)
class VideoVerdict:
    """What one video check found: measured values and faults, most severe first; ``sensor_alive`` the share
    of the picture alive between consecutive frames (``None``: not measured); ``view`` is the current
    view's scene signature and ``scene_comparison`` how it compares with the camera's reference, if any."""

    fps: float
    luma: float
    sharpness: float
    faults: tuple[str, ...]
    sensor_alive: float | None = None
    view: scene.SceneSignature | None = None
    scene_comparison: scene.SceneComparison | None = None

    @property
    def healthy(self) -> bool:
        """Whether the picture is sound: a device fault (``mono_by_day``) leaves it so."""
        return not any(f in PICTURE_FAULTS for f in self.faults)


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


def focus(pic: Picture) -> tuple[float, float]:
    """Sharpness and the share of textured blocks it was measured on.

    Sharpness is the median over textured blocks of the block's Laplacian energy per unit of its grey-level
    variance (x 1000), at the analysis size. Per unit of variance: a dim or low-contrast exposure of the same
    scene keeps its value. The median over blocks: OSD text and a few sharp edges fill a few blocks only
    and cannot lift it. Sharp scenes measure 350-7,000, a defocus of 2.5 px (at 640x360) or more under 150.
    Textured blocks are judged at the picture's exposure (``textured_spread``).
    """
    grey = pic.grey.astype(np.float32)
    energy = picture_faults.blocks(cv2.Laplacian(grey, cv2.CV_32F) ** 2).mean(axis=2)
    spread = picture_faults.blocks(grey).std(axis=2)
    noise = pic.noise
    textured = spread >= textured_spread(pic)
    if not textured.all():
        # Flat blocks' energy is sensor noise, which every block carries: take it off, so that noise does
        # not pass for detail in a defocused picture. At most what white noise of the picture's own level
        # carries (the Laplacian's 20 sigma squared): a scene with texture all over leaves only a few
        # "flat" blocks, which carry texture too.
        floor = min(float(np.percentile(energy[~textured], 10)), _LAPLACIAN_NOISE * noise**2)
        energy = np.maximum(energy - floor, 0)
    if not textured.any():
        return 0.0, 0.0
    return float(np.median(energy[textured] / spread[textured] ** 2) * 1000), float(textured.mean())


def textured_spread(pic: Picture) -> float:
    """The grey-level spread from which a block of ``pic`` counts as textured for sharpness:
    ``TEXTURED_BLOCK_STD`` in a picture exposed to mid-grey, less in a dimmer one in proportion to its
    median grey level, but never under ``_NOISE_TEXTURED`` times the picture's noise nor one grey level.

    Physical reason: a dim exposure (a sodium-lit street at night) scales the scene's detail down with its
    light, below a fixed spread, while its lamps' smooth glows keep a wide one: judged at a fixed spread,
    the glows alone would stand for the scene and read as a defocus. Noise is no detail, whatever the
    exposure.
    """
    exposed = TEXTURED_BLOCK_STD * min(1.0, float(np.median(pic.grey)) / _MID_GREY)
    return min(TEXTURED_BLOCK_STD, max(exposed, _NOISE_TEXTURED * pic.noise, _ONE_LEVEL))


def sharpness(pic: Picture) -> float:
    """The picture's sharpness (see ``focus``)."""
    return focus(pic)[0]


def block_change(before: Picture, after: Picture) -> np.ndarray:
    """Mean absolute grey-level difference per grid block (rows x columns) between two pictures."""
    return _coarse_change(before.coarse, after.coarse)


def _coarse_change(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    return picture_faults.blocks(np.abs(after - before)).mean(axis=2)


def _beyond_osd(moved: np.ndarray) -> bool:
    """Whether the blocks marked in ``moved`` (rows x columns) spread beyond what an OSD clock covers."""
    rows, columns = np.nonzero(moved)
    if rows.size == 0:
        return False
    height, width = int(np.ptp(rows)) + 1, int(np.ptp(columns)) + 1
    return height > _OSD_ROWS or height * width > _OSD_BOX_BLOCKS


def changed(before: Picture, after: Picture, tolerance: float) -> bool:
    """Whether blocks changed by more than ``tolerance`` grey levels beyond one small compact region (an
    on-screen clock ticking over a frozen picture is not a change)."""
    return view_changed(before.coarse, after.coarse, tolerance)


def view_changed(before: np.ndarray, after: np.ndarray, tolerance: float) -> bool:
    """``changed`` on two pictures' coarse copies (``Picture.coarse``), which is all a camera's previous
    check keeps of its picture."""
    return _beyond_osd(_coarse_change(before, after) > tolerance)


def sensor_sample(grey: np.ndarray, width: int = 640) -> np.ndarray:
    """Every n-th pixel of a full-resolution grey frame, n bringing it near ``width``: sensor noise survives
    (no averaging), at a fraction of the pixels."""
    step = max(1, round(grey.shape[1] / width))
    return grey[::step, ::step]


def sensor_alive(before: np.ndarray, after: np.ndarray) -> float:
    """Share of the grid where two consecutive decoded grey frames (same size, any) differ like a live
    sensor's noise; a region confined to an OSD clock's box does not count."""
    step = np.abs(after.astype(np.int16) - before.astype(np.int16)) > _ALIVE_STEP
    alive = picture_faults.blocks(step).mean(axis=2) >= _ALIVE_PIXELS
    return float(alive.mean()) if _beyond_osd(alive) else 0.0


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
    return _uniform_share(_surfaces(pic))


def flat_spread(pic: Picture) -> float:
    """The grey-level spread under which a block of ``pic`` shows no texture: ``osd.FLAT_STD`` in a picture
    exposed to mid-grey, less in a dimmer one in proportion to its median grey level, but never under
    ``_NOISE_FLAT`` times the picture's noise nor one grey level.

    Physical reason: a dim exposure (dusk, a sodium-lit street, an infrared view by its illuminator) scales
    the scene's texture down with its light, so a featureless-looking dark scene still shows its texture
    over its noise; a cover (a hand, a bag) hides it, and its blocks carry the sensor's noise and nothing
    else, however dim.
    """
    exposed = osd.FLAT_STD * min(1.0, float(np.median(pic.grey)) / _MID_GREY)
    return min(osd.FLAT_STD, max(exposed, _NOISE_FLAT * pic.noise, _ONE_LEVEL))


def covered_share(pic: Picture, surface: osd.Surfaces | None = None) -> float:
    """``uniform_fraction`` with flatness judged at the picture's exposure (``flat_spread``)."""
    surface = surface if surface is not None else _surfaces(pic)
    if _uniform_share(surface) == 0.0:
        return 0.0  # nothing is flat even at the widest spread: no need for the picture's noise
    return _uniform_share(surface, flat_spread(pic))


def _surfaces(pic: Picture) -> osd.Surfaces:
    return osd.surfaces(picture_faults.blocks(pic.grey))


def _uniform_share(surface: osd.Surfaces, flat_std: float = osd.FLAT_STD) -> float:
    """``uniform_fraction`` over the surfaces the blocks show (``osd.surfaces``): a covered view stays
    uniform under its clock and name line. A block filled by an OSD's shaded box shows the box, not the view:
    OSD blocks at another level than the region are left out of the grid they are counted against. Blocks
    spread under ``flat_std`` are flat."""
    region = _uniform_region(surface, flat_std)
    if not region.any():
        return 0.0
    counted = region.size - int((surface.overlaid & ~region).sum())
    return int(region.sum()) / counted


def _uniform_region(surface: osd.Surfaces, flat_std: float) -> np.ndarray:
    """The largest region (rows x columns) of flat blocks of about one grey level."""
    flat = surface.spread < flat_std
    if not flat.any():
        return flat
    band = (surface.level // UNIFORM_LEVEL_BAND).astype(int)
    # Count flat blocks per level band; a region may straddle two neighbouring bands.
    counts = np.bincount(band[flat], minlength=int(256 // UNIFORM_LEVEL_BAND) + 2)
    lowest = int((counts[:-1] + counts[1:]).argmax())
    return flat & ((band == lowest) | (band == lowest + 1))


def scene_in_flat(pic: Picture, surface: osd.Surfaces | None = None) -> bool:
    """Whether the flat region of ``pic`` (at its exposure, ``flat_spread``) holds the scene's own
    structure: most of the structure the picture shows (OSD left out) lies between blocks of the region,
    along its row or its column, and spreads beyond an OSD line's box.

    Physical reason: a cover (a hand, a bag, a board, paint) is one object over part of the view: what is
    left of the view lies beside it, outside it. A featureless scene (a sky, a wall) under fog or a veil, or
    at dusk, keeps its own structure (a mast, a rocket, a kerb, a face) inside its flat expanse.
    """
    surface = surface if surface is not None else _surfaces(pic)
    flat_std = flat_spread(pic)
    region = _uniform_region(surface, flat_std)
    structured = (surface.spread >= flat_std) & ~surface.overlaid
    if not structured.any():
        return False
    inside = _between(region, structured)
    return int(inside.sum()) >= _SCENE_INSIDE * int(structured.sum()) and _beyond_osd(inside)


def _between(region: np.ndarray, marked: np.ndarray) -> np.ndarray:
    """The blocks of ``marked`` with blocks of ``region`` on both sides in their row or in their column."""
    inside = np.zeros_like(marked)
    for grid, back in ((region, marked), (region.T, marked.T)):
        before = np.maximum.accumulate(grid, axis=1)
        after = np.maximum.accumulate(grid[:, ::-1], axis=1)[:, ::-1]
        found = back & before & after
        inside |= found if grid is region else found.T
    return inside


def cast_chroma(pic: Picture) -> float:
    """Chroma (CIELAB a*b* distance from grey) that even the greyest tenth of the picture carries, 0 when
    that tint lies in the warm sector healthy scenes show. Near-black and near-white pixels are left out:
    they carry no reliable colour."""
    # A cast tints the whole picture: a 4x smaller copy tells it as well, at a sixteenth of the cost.
    small = cv2.resize(pic.bgr, (_CHANGE_WIDTH, _CHANGE_HEIGHT), interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(small, cv2.COLOR_BGR2LAB).reshape(-1, 3).astype(np.float32)
    lit = lab[(lab[:, 0] > 25) & (lab[:, 0] < 242)]
    if lit.shape[0] == 0:
        return 0.0
    a, b = lit[:, 1] - 128, lit[:, 2] - 128
    chroma = np.hypot(a, b)
    greyest = chroma <= np.percentile(chroma, 10)
    hue = float(np.degrees(np.arctan2(b[greyest].mean(), a[greyest].mean())))
    if _WARM_HUE_DEGREES[0] <= hue <= _WARM_HUE_DEGREES[1]:
        return 0.0
    return float(np.percentile(chroma, 10))


def monochrome(pic: Picture) -> bool:
    """Whether the picture carries no colour: a camera in infrared night mode (its ISP drops the chroma),
    or a grey scene. Fewer than ``_MONO_SHARE`` of pixels have channels ``_MONO_SPREAD`` levels apart."""
    bgr = pic.bgr
    spread = bgr.max(axis=2).astype(np.int16) - bgr.min(axis=2)
    return float((spread > _MONO_SPREAD).mean()) < _MONO_SHARE


def dominant_channel_share(pic: Picture) -> float:
    """Share of the strongest colour channel in the summed channel means (1/3 for a neutral picture)."""
    means = cv2.mean(pic.bgr)[:3]
    total = sum(means)
    return max(means) / total if total > 0 else 1 / 3


def is_blurred(value: float, baseline: float | None, settings: PictureChecks) -> bool:
    """Sharpness below ``blur_floor``, or below ``blur_ratio`` of the camera's own baseline. The floor holds
    with a baseline too: a camera defocused from its first check never learned a sharp baseline."""
    floor = settings.blur_floor
    return value < (max(floor, settings.blur_ratio * baseline) if baseline is not None else floor)


def assess(
    pictures: Sequence[Picture],
    *,
    fps: float,
    baseline: float | None,
    settings: PictureChecks,
    reference: scene.SceneReference | None = None,
    alive: float | None = None,
    judge_moved: bool = True,
    decode_error_ratio: float = 0.0,
    lumas: Sequence[float] = (),
    period: str | None = None,
    motion: Sequence[tuple[float, np.ndarray]] = (),
) -> VideoVerdict:
    """Faults of one check from its pictures in PTS order; the last picture stands for the current view.

    ``frozen`` is only judged on a picture with content: a black or covered view has nothing that could
    change, and its own fault says more. A picture whose sensor is ``alive`` (``sensor_alive`` of two
    consecutive frames, when measured) over ``ALIVE_SHARE`` of the grid is live however still its scene.
    ``occluded`` must hold on every picture of the check. ``moved`` and ``tampered`` are judged only
    against the camera's ``reference`` scene, and not on a black picture, which shows no scene at all.
    A recorder's "no video" screen (``signal_lost``) shows no view either. ``decode_error_ratio``: the share
    of the check's frames in error (``corrupted``); ``lumas``: mean luma of consecutive frames, where the
    probe decoded some (``flicker``); ``motion``: (PTS, grey picture at the analysis size) of those
    consecutive frames, judged for ``jitter`` with the pictures. ``period``: ``day``, ``night`` or
    ``twilight`` at the camera when the pictures were taken (``camwatch.monitor.daylight``), for
    ``mono_by_day``; ``None``: not judged. A picture that shows no sound view (black, a "no video"
    screen, covered, frozen) tells nothing of it.
    """
    if not pictures:
        raise ValueError("assess needs at least one picture")
    last = pictures[-1]
    level, (crisp, textured) = luma(last), focus(last)
    found = set()
    live_sensor = alive is not None and alive >= ALIVE_SHARE
    # The OSD drawn over the view: judged apart from the scene under it.
    surface = _surfaces(last)
    if picture_faults.signal_lost(last):
        found.add("signal_lost")
    elif level < settings.black_luma:
        found.add("black")
    elif (
        (
            # The widest flatness first: it bounds the share at the picture's exposure, at less cost.
            _uniform_share(surface) >= settings.occluded_fraction
            and covered_share(last, surface) >= settings.occluded_fraction
            # A veiled view (fog or condensation on the lens) is flat too, but its structure is still there;
            # a featureless scene's own structure lies inside its flat expanse, not beside it.
            and not picture_faults.veiled(last)
            and not scene_in_flat(last, surface)
        )
        and all(covered_share(pic) >= settings.occluded_fraction for pic in pictures[:-1])
    ):
        # A cover stays; a dim, featureless scene near the threshold crosses it on single frames, as its
        # sensor noise makes blocks flat or not.
        found.add("occluded")
    elif (
        not live_sensor
        and longest_still_seconds(pictures, settings.frozen_tolerance) >= settings.frozen_seconds
    ):
        found.add("frozen")
    view = scene.signature(last.grey)
    comparison = None
    if not found & {"black", "signal_lost"}:
        found.update(
            _vqd_faults(pictures, found, level, settings, decode_error_ratio, lumas, surface.overlaid, motion)
        )
        judged = textured >= TEXTURED_SHARE_MIN or level >= DARK_LUMA
        if judged and is_blurred(crisp, baseline, settings):
            found.add("blurred")
        if (
            dominant_channel_share(last) >= settings.color_cast_ratio
            or cast_chroma(last) >= settings.color_cast_chroma
        ):
            found.add("color_cast")
        if reference is not None:
            comparison = scene.compare(reference.signature, view, overlay=surface.overlaid)
            # A colour cast leaves the structure intact: a turned camera is still worth telling.
            sound = judge_moved and found <= {"color_cast", *_SOUND_VIEW}
            found.update(scene.scene_faults(comparison, settings, sound=sound))
    if (
        period is not None
        and not found & {"black", "signal_lost", "occluded", "frozen"}
        and picture_faults.is_mono_by_day(last, period, settings.noise_max)
    ):
        found.add("mono_by_day")
    faults = ordered(found)  # most severe first
    return VideoVerdict(
        fps=fps,
        luma=level,
        sharpness=crisp,
        faults=faults,
        sensor_alive=alive,
        view=view,
        scene_comparison=comparison,
    )


# Faults that leave the view's structure in place: a turned camera is still worth telling under them.
_SOUND_VIEW = frozenset({"too_dark", "too_bright", "flicker", "noise"})


def _vqd_faults(
    pictures: Sequence[Picture],
    found: set[str],
    level: float,
    settings: PictureChecks,
    decode_error_ratio: float,
    lumas: Sequence[float],
    overlaid: np.ndarray,
    motion: Sequence[tuple[float, np.ndarray]],
) -> set[str]:
    """The VQD picture faults (``picture_faults``) of a picture that shows a view. Darkness and contrast are
    judged on a colour picture only: a camera in the dark switches to its monochrome infrared mode, and a
    dim, flat infrared view (no shadows under the illuminator) is its night. Contrast is judged on a lit
    picture that is neither too dark nor too bright (those are flat already) nor covered; a still picture
    cannot shake. Levels leave the OSD's blocks (``overlaid``) out."""
    last = pictures[-1]
    vqd: set[str] = set()
    if picture_faults.is_corrupted(last, decode_error_ratio):
        vqd.add("corrupted")
    infrared = picture_faults.infrared(last)
    if not infrared and picture_faults.is_too_dark(last, settings.dark_high, overlaid):
        vqd.add("too_dark")
    if picture_faults.is_too_bright(last, settings.bright_low, overlaid):
        vqd.add("too_bright")
    if (
        level >= DARK_LUMA
        and not infrared
        and not vqd & {"too_dark", "too_bright"}
        and "occluded" not in found
        and picture_faults.is_low_contrast(last, settings.contrast_min, overlaid)
    ):
        vqd.add("low_contrast")
    if picture_faults.is_noisy(last, settings.noise_max):
        vqd.add("noise")
    if picture_faults.is_striped(last, settings.stripe_min):
        vqd.add("stripes")
    if "frozen" not in found and picture_faults.is_jittering(_views(pictures, motion), settings.jitter_shift):
        vqd.add("jitter")
    if picture_faults.is_flickering(lumas, settings.flicker_depth):
        vqd.add("flicker")
    return vqd


def _views(pictures: Sequence[Picture], motion: Sequence[tuple[float, np.ndarray]]) -> list[np.ndarray]:
    """The check's grey pictures in PTS order, its keyframes' and its consecutive frames' (``motion``), each
    time once."""
    timed = {pic.pts: pic.grey for pic in pictures}
    for pts, grey in motion:
        timed.setdefault(pts, grey)
    return [timed[pts] for pts in sorted(timed)]


def next_baseline(previous: float | None, verdict: VideoVerdict) -> float | None:
    """The camera's sharpness baseline after this check: learned only from healthy checks."""
    if not verdict.healthy:
        return previous
    if previous is None:
        return verdict.sharpness
    return (1 - BASELINE_WEIGHT) * previous + BASELINE_WEIGHT * verdict.sharpness
