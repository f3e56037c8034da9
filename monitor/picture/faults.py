"""The picture faults of the video-quality diagnosis (VQD) servers counties compare camwatch with: a
recorder's "no video" screen, decode damage, exposure, contrast, noise, interference stripes, a shaking
view and a flickering one. Each is one measure and one pure decision on ``analysis.Picture`` frames
at the analysis size (320x180), with the physical reason it tells the fault from a healthy scene
that looks alike.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:  # analysis decides with these functions: imported there, not here
    from camwatch.monitor.picture.analysis import Picture

# The analysis grid of analysis.py: 16 x 9 blocks.
GRID_COLUMNS, GRID_ROWS = 16, 9

# --- signal_lost ------------------------------------------------------------------------------------------
# A generated screen is one exact colour: its blocks spread less than this (standard deviation) ...
_SCREEN_FLAT_STD = 1.5
# ... over at least this share of the grid, all within this many grey levels of one another.
_SCREEN_SHARE, _SCREEN_LEVELS = 0.7, 4.0
# Its message sits in the middle of the screen (rows 3-5, columns 4-11 of the 16 x 9 grid), where a camera's
# OSD lines never are (they run along the edges).
_MESSAGE_ROWS, _MESSAGE_COLUMNS = slice(3, 6), slice(4, 12)
# The field is judged away from the message and from the grid's top and bottom rows, where a recorder's
# channel name and clock run: those lines and a large message can cover a third of a screen.
_FIELD_BLOCKS = np.ones((GRID_ROWS, GRID_COLUMNS), bool)
_FIELD_BLOCKS[_MESSAGE_ROWS, _MESSAGE_COLUMNS] = False
_FIELD_BLOCKS[[0, -1], :] = False
# A block holds text when its grey levels spread at least this much.
_TEXT_STD = 20.0
# The field is the recorder's blue (blue channel this far above both others) or black (luma below this).
_BLUE_MARGIN, _BLACK_FIELD = 40.0, 40.0

# --- corrupted (花屏) ---------------------------------------------------------------------------------------
# A slice the decoder lost shows as macroblocks of all-zero YUV: pure green (B and R near 0, G 100-170).
_GREEN_SHARE = 0.03
# Frames in error (frames the decoder flagged or refused) at or above this share of a check: damaged.
DAMAGED_FRAMES = 0.05

# A veiled view keeps structure over ``_VEIL_NOISE`` times its noise in at least ``_VEILED_SHARE`` of the
# grid; under a cover (even one leaving a third of the view) about half of the blocks or fewer do.
_VEIL_NOISE, _VEILED_SHARE = 2.0, 0.65

# --- stripes ----------------------------------------------------------------------------------------------
# Share of the strips' band profiles that all of them have in common (1: identical, 1/4: unrelated).
_BANDS_SHARED = 0.5
# Times the shared profile crosses its trend in each third of the picture: two periods of bands at least.
_BANDS_CROSSINGS = 4
# Periodic bands: at least this many periods over the picture (two in each third) ...
_BANDS_PERIODS = 6
# ... with at least this share of the strips' power at the bands' frequency in common (1: one wave in all
# strips, 1/4: unrelated).
_BANDS_COHERENT = 0.5

# --- jitter -----------------------------------------------------------------------------------------------
# Where the view's shift is measured (rows, columns at 320x180): clear of OSD lines along the edges.
_MIDDLE = (slice(36, 144), slice(40, 280))
# A moved view: at least this share of the middle's pixels changed by more than this many grey levels ...
_MOVED_SHARE, _MOVED_STEP = 0.15, 6.0
# ... or this share of its textured pixels (Sobel gradient magnitude at least ``_TEXTURED_GRADIENT``: an
# edge of 4 grey levels a pixel, which a shift by ``jitter_shift`` changes by ``_MOVED_STEP``). Sensor noise
# at night changes up to a third of them by that much, and no single shift.
_MOVED_TEXTURED, _TEXTURED_GRADIENT = 0.4, 32.0
# A phase-correlation peak below this carries no single shift.
_SHIFT_RESPONSE = 0.1
# Moves whose directions all agree this closely (cosine) are a steady pan, not a shake.
_STEADY_PAN = 0.9

# --- mono_by_day (ICR异常) --------------------------------------------------------------------------------
# A scene lit for colour: a mean grey level at or above this (a camera leaves its colour mode only once its
# light gets low, and an infrared picture by its illuminator alone falls off to dark around its lit middle).
_DAYLIGHT_LUMA = 62.0
# A night view too dark for colour: a mean grey level below this, with noise of at least this share of
# ``noise_max`` (a colour camera gaining up in the dark; one in its infrared mode sees by its illuminator,
# and a lit street by its lamps, with the noise of a lit picture).
_NIGHT_LUMA, _NIGHT_NOISE = 62.0, 0.75

# --- exposure and contrast --------------------------------------------------------------------------------
# Percentiles over the grid's blocks (16 x 9) of each block's median grey level.
_LOW_PCT, _HIGH_PCT = 5, 95


def screen_field(pic: Picture) -> str | None:
    """``"blue"`` or ``"black"`` when the picture is a recorder's or encoder's own "no video" screen, else
    ``None``.

    Physical reason: such a screen is drawn, not filmed. Most of it is one exact colour without any sensor
    noise or illumination gradient (a covered lens or a blank wall keeps both), and its message ("NO VIDEO",
    "无视频信号") is centred, where no camera OSD line is. The field is judged outside the message and the
    top and bottom rows, where the recorder's own channel name and clock lines run. A black field with a
    message is told from a black picture by that message; the field's colour is the recorders' blue or
    black.
    """
    grey = pic.grey.astype(np.float32)
    grid = blocks(grey)
    spread, level = grid.std(axis=2), grid.mean(axis=2)
    flat = spread < _SCREEN_FLAT_STD
    if flat[_FIELD_BLOCKS].mean() < _SCREEN_SHARE:
        return None
    middle = float(np.median(level[flat & _FIELD_BLOCKS]))
    field = flat & (np.abs(level - middle) <= _SCREEN_LEVELS)
    if field[_FIELD_BLOCKS].mean() < _SCREEN_SHARE:
        return None
    if not (spread[_MESSAGE_ROWS, _MESSAGE_COLUMNS] >= _TEXT_STD).any():
        return None
    colour = _blocks_bgr_mean(pic)[field].mean(axis=0)
    blue, green, red = (float(c) for c in colour)
    if blue - max(green, red) >= _BLUE_MARGIN:
        return "blue"
    return "black" if middle < _BLACK_FIELD else None


def blocks(image: np.ndarray) -> np.ndarray:
    """``image`` (H x W) as a (rows, columns, block pixels) array over the grid."""
    height, width = image.shape
    bh, bw = height // GRID_ROWS, width // GRID_COLUMNS
    return (
        image[: bh * GRID_ROWS, : bw * GRID_COLUMNS]
        .reshape(GRID_ROWS, bh, GRID_COLUMNS, bw)
        .transpose(0, 2, 1, 3)
        .reshape(GRID_ROWS, GRID_COLUMNS, bh * bw)
    )


def _blocks_bgr_mean(pic: Picture) -> np.ndarray:
    """Mean B, G, R per grid block (rows x columns x 3)."""
    small = cv2.resize(pic.bgr, (GRID_COLUMNS, GRID_ROWS), interpolation=cv2.INTER_AREA)
    return small.astype(np.float32)


def signal_lost(pic: Picture) -> bool:
    """Whether the picture is a "no video" screen (see ``screen_field``)."""
    return screen_field(pic) is not None


def green_damage(pic: Picture) -> float:
    """Share of the picture in the pure green of macroblocks the decoder had no data for.

    Physical reason: a lost slice leaves its macroblocks at YUV (0, 0, 0), which is RGB (0, 135, 0): a green
    no lens, light or scene shows (foliage and green paint carry red and blue, and noise).
    """
    b, g, r = (pic.bgr[..., i].astype(np.int16) for i in range(3))
    green = (b < 25) & (r < 25) & (g >= 100) & (g <= 170)
    # Whole blocks of it, not stray pixels: opened with a macroblock-sized square at the analysis size.
    blocks = cv2.morphologyEx(green.astype(np.uint8), cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
    return float(blocks.mean())


def is_corrupted(pic: Picture, decode_error_ratio: float) -> bool:
    """花屏: frames in error in the check (the decoder's own count), or lost-slice green blocks in view."""
    return decode_error_ratio >= DAMAGED_FRAMES or green_damage(pic) >= _GREEN_SHARE


def levels(pic: Picture, overlaid: np.ndarray | None = None) -> tuple[float, float]:
    """The levels below which ``_LOW_PCT`` and above which ``100 - _HIGH_PCT`` per cent of the picture's
    blocks lie, each block at its median grey level: an OSD's thin strokes, drawn white or black whatever
    the exposure, fill less than half of any block; blocks marked in ``overlaid`` (rows x columns: an OSD's
    box, ``osd.surfaces``) are left out."""
    medians = np.median(blocks(pic.grey), axis=2)
    if overlaid is not None and not overlaid.all():
        medians = medians[~overlaid]
    low, high = np.percentile(medians, (_LOW_PCT, _HIGH_PCT))
    return float(low), float(high)


def infrared(pic: Picture) -> bool:
    """Whether the picture carries no chroma at all, as a camera's infrared night mode sends it (its ISP
    sets the chroma planes to neutral): in fewer than 2 % of the grid's blocks do the channels' means lie 4
    levels apart. A dim colour picture keeps its chroma, scaled down with its light; a block's mean leaves
    out the noise of single pixels, which a noisy night picture carries in every channel alike."""
    means = _blocks_bgr_mean(pic)
    spread = means.max(axis=2) - means.min(axis=2)
    return float((spread > 4).mean()) < 0.02


def veiled(pic: Picture) -> bool:
    """Whether a flat-looking picture still shows its view under a veil: in most blocks (``_VEILED_SHARE``)
    the grey levels spread over ``_VEIL_NOISE`` times the picture's noise (and at least one level).

    Physical reason: a cover (a hand, a bag, paint) hides the view, and blocks under it carry only the
    sensor's noise; fog, condensation or glare on the lens dims every edge of the view but keeps it, so
    its blocks keep structure above that noise. The first is ``occluded``, the second ``low_contrast``.
    """
    spread = blocks(pic.grey.astype(np.float32)).std(axis=2)
    floor = max(1.0, _VEIL_NOISE * pic.noise)
    return float((spread >= floor).mean()) >= _VEILED_SHARE


def is_too_dark(pic: Picture, dark_high: float, overlaid: np.ndarray | None = None) -> bool:
    """Under-exposed (but not black): even the brightest twentieth of the picture's blocks stays below
    ``dark_high``.

    Physical reason: a dark exposure (iris shut, gain stuck, illuminator dead) scales the whole picture down,
    its lit parts with it. A healthy night or dusk scene is exposed for what light there is: its lamps, lit
    windows or illuminated centre reach well up the scale.
    """
    return levels(pic, overlaid)[1] < dark_high


def is_too_bright(pic: Picture, bright_low: float, overlaid: np.ndarray | None = None) -> bool:
    """Over-exposed: even the darkest twentieth of the picture's blocks lies above ``bright_low``.

    Physical reason: over-exposure (iris stuck open, sun in the lens) lifts every part of the picture and
    clips the rest to white; a bright sky or snow fills part of a healthy view, whose shadows, trees and
    people stay dark.
    """
    return levels(pic, overlaid)[0] > bright_low


def is_low_contrast(pic: Picture, contrast_min: float, overlaid: np.ndarray | None = None) -> bool:
    """Low contrast (对比度, 雾化): the middle nine tenths of the picture's blocks span fewer than
    ``contrast_min`` grey levels.

    Physical reason: a fogged or condensed lens, or a gain stuck flat, spreads one veil over everything. Fog
    outdoors thins with distance: its near parts (the road, the kerb, a post) keep their contrast.
    """
    low, high = levels(pic, overlaid)
    return high - low < contrast_min


def noise_level(pic: Picture) -> float:
    """Grey levels of pixel-to-pixel noise (standard deviation): Immerkær's estimate on the picture's
    smoothest half.

    A 3x3 kernel that cancels smooth gradients leaves noise and edges; edges are left out with the half of
    the pixels of steepest gradient (a scene can be edges all over: a pattern, foliage), and of the rest the
    flattest quarter of the grid's blocks is taken.
    """
    grey = pic.grey.astype(np.float32)
    kernel = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
    residual = np.abs(cv2.filter2D(grey, -1, kernel))
    steep = cv2.magnitude(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
    smooth = (steep <= np.median(steep)).astype(np.float32)
    kept = blocks(smooth).sum(axis=2)
    total = blocks(residual * smooth).sum(axis=2)
    if not (kept > 0).any():
        return 0.0
    per_block = total[kept > 0] / kept[kept > 0] * np.sqrt(np.pi / 2) / 6
    return float(np.percentile(per_block, 25))


def is_noisy(pic: Picture, noise_max: float) -> bool:
    """噪点 / 雪花: noise above ``noise_max`` even on the flattest quarter of the view.

    Physical reason: a failing sensor, a gain run to its top or interference on an analogue line add noise to
    every pixel, flat sky and walls included; a healthy night picture's noise, after the camera's own
    denoiser and the encoder, stays a few grey levels.
    """
    return pic.noise > noise_max


def band_strength(grey: np.ndarray) -> float:
    """Grey levels (standard deviation) of the bands that run the full width of ``grey`` alike: 0 when the
    picture's strips do not agree.

    The picture is cut into four upright strips; each strip's row means, less their smooth trend, is its band
    profile. Bands of interference are one profile across all strips, repeating in every third of the
    picture.
    """
    banded = _band_profiles(grey)
    strength = float("inf")
    # In each third: an edge across the view (a horizon, a snow line) lies in one of them, bands in all.
    for half in np.array_split(banded, 3, axis=1):
        shared = half.mean(axis=0)
        # A scene's own rows differ from strip to strip and average out; bands do not.
        own = float(half.var(axis=1).mean())
        if own <= 1e-6 or float(shared.var()) / own < _BANDS_SHARED:
            return 0.0
        # Bands repeat: an edge across the view (a horizon, a snow line) crosses its trend once or twice.
        swing = np.sign(shared[np.abs(shared) >= 0.5 * shared.std()])  # noise about the trend left out
        if int(np.count_nonzero(np.diff(swing))) < _BANDS_CROSSINGS:
            return 0.0
        strength = min(strength, float(shared.std()))
    return strength


def _band_profiles(grey: np.ndarray) -> np.ndarray:
    """The band profiles of ``grey``'s four upright strips: each strip's row means less their smooth
    trend (strips x rows)."""
    rows = grey.astype(np.float32)
    profiles = np.array([s.mean(axis=1) for s in np.array_split(rows, 4, axis=1)])
    return profiles - cv2.GaussianBlur(profiles, (0, 0), sigmaX=6, sigmaY=0.1)


def periodic_band_strength(grey: np.ndarray) -> float:
    """Grey levels (standard deviation) of one wave that runs the full width of ``grey`` in every strip and
    through each third of its height: 0 when the strips share no wave.

    Interference is one frequency: at the strongest frequency the strips' band profiles share (at least
    ``_BANDS_PERIODS`` periods over the picture) most of their power must be that one wave in all of them
    (``_BANDS_COHERENT``); the scene's own rows spread over every frequency and differ between strips. The
    wave's amplitude is then fitted in each third of the picture, the strips' median (an OSD box over one or
    two strips does not take it away), and the weakest third's counts.
    """
    banded = _band_profiles(grey).astype(np.float64)
    length = banded.shape[1]
    spectra = np.fft.rfft(banded * np.hanning(length), axis=1)
    # Power within a bin either side: a wave between two bins spreads over both.
    near = np.ones(3)
    shared = np.convolve(np.abs(spectra.mean(axis=0)) ** 2, near, "same")
    own = np.convolve((np.abs(spectra) ** 2).mean(axis=0), near, "same")
    shared[:_BANDS_PERIODS] = 0
    peak = int(shared.argmax())
    if own[peak] <= 1e-9 or shared[peak] / own[peak] < _BANDS_COHERENT:
        return 0.0
    t = np.arange(length)
    wave = 2 * np.pi * peak / length * t
    basis = np.stack([np.cos(wave), np.sin(wave)], axis=1)
    amplitudes = []
    for third in np.array_split(t, 3):
        fitted, *_ = np.linalg.lstsq(basis[third], banded[:, third].T, rcond=None)
        amplitudes.append(float(np.hypot(*np.median(fitted, axis=1))))
    return min(amplitudes) / np.sqrt(2)


def is_striped(pic: Picture, stripe_min: float) -> bool:
    """条纹: bands of at least ``stripe_min`` grey levels across the whole picture, across or down: a band
    profile all strips share and that repeats in every third (``band_strength``), or one wave all strips
    share (``periodic_band_strength``: a scene with strong structure of its own along the bands, a brick
    wall, a motorcycle's spokes, hides the first but not the second).

    Physical reason: interference on a video line or a power supply adds the same band to every column (or
    row) of the picture, top to bottom, at one frequency. A zebra crossing, a fence or blinds fill part of a
    view only, in perspective, and the scene beside and above them does not share their bands.
    """
    grey = pic.grey
    strongest = max(
        band_strength(grey),
        band_strength(grey.T),
        periodic_band_strength(grey),
        periodic_band_strength(grey.T),
    )
    return strongest >= stripe_min


def view_motion(before: np.ndarray, after: np.ndarray) -> tuple[float, float]:
    """The whole view's move (dx, dy in analysis pixels) between two grey pictures at the analysis size,
    (0, 0) when no single shift holds.

    Phase correlation: a shift of the whole view is one sharp peak; a scene's own motion (traffic, leaves) is
    no shift of the whole and leaves the peak at zero. Measured on the middle of the picture (``_MIDDLE``):
    the OSD lines run along its edges and stay put while the view shakes under them.
    """
    rows, columns = _MIDDLE
    first = before[rows, columns].astype(np.float32)
    second = after[rows, columns].astype(np.float32)
    window = cv2.createHanningWindow((first.shape[1], first.shape[0]), cv2.CV_32F)
    # A moved view changes everywhere it has texture; passing traffic over a regular pattern (a brick wall)
    # can fake a peak, but changes a few places only. A view with little texture (a rocket against the sky,
    # a mast) changes only where it has some: judged on its textured pixels.
    moved = np.abs(second - first) > _MOVED_STEP
    if float(moved.mean()) < _MOVED_SHARE:
        gradient = cv2.magnitude(cv2.Sobel(first, cv2.CV_32F, 1, 0), cv2.Sobel(first, cv2.CV_32F, 0, 1))
        textured = gradient >= _TEXTURED_GRADIENT
        if not textured.any() or float(moved[textured].mean()) < _MOVED_TEXTURED:
            return 0.0, 0.0
    (dx, dy), response = cv2.phaseCorrelate(first, second, window)
    return (float(dx), float(dy)) if response >= _SHIFT_RESPONSE else (0.0, 0.0)


def is_jittering(views: Sequence[np.ndarray], shift_min: float) -> bool:
    """抖动: the whole view moved by ``shift_min`` analysis pixels or more between two of the check's
    grey pictures that follow one another (``views``, in time order: its keyframes and the run of
    consecutive frames it decodes), and back or on again.

    Physical reason: a camera shaking on its pole or bracket moves the whole picture; wind in trees or
    passing traffic moves parts of a fixed view. Two moves are asked for: a camera turned once moved once.
    And not all of them the same way: a PTZ camera panning on its tour moves the whole view steadily in one
    direction, a shaking one back and across. Consecutive frames see the shake whatever the keyframes
    happen to show: a camera (or a starved server) that drops or repeats frames leaves pairs without a move
    and merges others, but a view that keeps shaking still moves between some of them, and the keyframes
    a second apart land on the shake's positions by chance only.
    """
    moves = [m for a, b in itertools.pairwise(views) if np.hypot(*(m := view_motion(a, b))) >= shift_min]
    if len(moves) < 2:
        return False
    units = [np.asarray(m) / np.hypot(*m) for m in moves]
    return any(float(u @ v) < _STEADY_PAN for u, v in itertools.combinations(units, 2))


def flicker_depth(lumas: Sequence[float]) -> float:
    """Relative swing of the mean luma over consecutive frames that goes both ways: the smaller of the
    largest rise and the largest fall from one frame to the next, over the mean; 0 with fewer than three
    frames."""
    if len(lumas) < 3:
        return 0.0
    values = np.asarray(lumas, np.float64)
    mean = float(values.mean())
    if mean <= 0:
        return 0.0
    steps = np.diff(values)
    return max(0.0, min(float(steps.max()), float(-steps.min()))) / mean


def is_flickering(lumas: Sequence[float], depth_min: float) -> bool:
    """闪频: the mean luma of consecutive frames rises by ``depth_min`` of itself from one frame to the next
    and falls as much from another to its next, within a fraction of a second.

    Physical reason: a shutter out of step with mains-powered light (50 Hz) or an exposure loop hunting
    changes the brightness of frames up and down again; a scene's light (a cloud, a switched lamp,
    auto-exposure settling) changes once, one way, over seconds, and consecutive frames agree. One rise and
    one fall are asked for, not a swing at every frame: a camera (or a starved server) that repeats or
    drops frames shows the same oscillation with some steps of nothing between.
    """
    return flicker_depth(lumas) >= depth_min


def is_mono_by_day(pic: Picture, period: str, noise_max: float) -> bool:
    """ICR异常 / 黑白: in daylight (``period`` ``day``) a lit picture without any chroma (``infrared``); at
    night a dark colour picture with heavy noise. ``twilight`` is never judged.

    Physical reason: a camera's day/night switch swings its IR-cut filter out and drops the chroma once its
    scene gets too dark for colour, and back at daybreak. A picture in that mode at noon with the scene well
    lit is a switch stuck (ICR, 日夜切换) or a light sensor fooled; a dim grey picture in daytime may be a
    dark place (an underpass, a stairwell) where the camera rightly went to its night mode, so light is
    asked for as well. The other way round, a camera that never switches stays in colour through the night
    and runs its gain up: a dark colour picture full of noise, where its infrared mode would show the view
    by its illuminator.
    """
    level = float(pic.grey.mean())
    if period == "day":
        return level >= _DAYLIGHT_LUMA and infrared(pic)
    if period == "night":
        return level < _NIGHT_LUMA and not infrared(pic) and pic.noise >= _NIGHT_NOISE * noise_max
    return False
