"""Picture measures and fault decisions on synthetic frames."""

from __future__ import annotations

import functools

import cv2
import numpy as np
import pytest

from camwatch.config.models import VideoSettings
from camwatch.monitor.picture import analysis as va
from support.osd_frames import with_osd

SETTINGS = VideoSettings()
HEIGHT, WIDTH = 360, 640


def scene() -> np.ndarray:
    """A fresh copy of the test scene."""
    return _scene().copy()


@functools.cache
def _scene() -> np.ndarray:
    """A neutral 640x360 BGR scene: large shapes in many grey levels plus fine detail, like a street."""
    rng = np.random.default_rng(0)
    shapes = cv2.GaussianBlur(rng.normal(0, 1, (HEIGHT, WIDTH)), (0, 0), 30)
    detail = cv2.GaussianBlur(rng.normal(0, 1, (HEIGHT, WIDTH)), (0, 0), 0.7)
    grey = stretch(stretch(shapes, 0, 1) + stretch(detail, 0, 0.5), 20, 235).astype(np.uint8)
    return cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)


def stretch(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """``values`` scaled linearly onto ``low``..``high``."""
    return low + (values - values.min()) * (high - low) / np.ptp(values)


def noisy(frame: np.ndarray, seed: int, sigma: float = 4.0) -> np.ndarray:
    """``frame`` with fresh sensor-like Gaussian noise."""
    noise = np.random.default_rng(seed).normal(0, sigma, frame.shape)
    return np.clip(frame + noise, 0, 255).astype(np.uint8)


def with_clock(frame: np.ndarray, second: int) -> np.ndarray:
    """``frame`` with an on-screen clock in its top-left corner."""
    out = frame.copy()
    cv2.rectangle(out, (10, 10), (250, 60), (0, 0, 0), -1)
    cv2.putText(out, f"12:00:{second:02d}", (16, 50), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (255, 255, 255), 2)
    return out


def pictures(frames: list[np.ndarray], fps: float = 5.0) -> list[va.Picture]:
    return [va.picture(f, i / fps) for i, f in enumerate(frames)]


def verdict(frames: list[np.ndarray], baseline: float | None = None, **settings: float) -> va.VideoVerdict:
    return va.assess(
        pictures(frames), fps=5.0, baseline=baseline, settings=SETTINGS.model_copy(update=settings)
    )


def test_picture_is_at_analysis_size() -> None:
    pic = va.picture(scene(), 0.0)
    assert pic.grey.shape == (va.ANALYSIS_HEIGHT, va.ANALYSIS_WIDTH)
    assert pic.bgr.shape == (va.ANALYSIS_HEIGHT, va.ANALYSIS_WIDTH, 3)


def test_luma_is_mean_grey_level() -> None:
    frame = np.full((HEIGHT, WIDTH, 3), 100, np.uint8)
    assert va.luma(va.picture(frame, 0.0)) == pytest.approx(100.0)


def test_sensor_noise_is_not_change() -> None:
    base = scene()
    before, after = va.picture(noisy(base, 1), 0.0), va.picture(noisy(base, 2), 0.2)
    assert va.block_change(before, after).max() < SETTINGS.frozen_tolerance
    assert not va.changed(before, after, SETTINGS.frozen_tolerance)


def test_ticking_clock_is_change_in_its_blocks_only() -> None:
    base = scene()
    before, after = va.picture(with_clock(base, 1), 0.0), va.picture(with_clock(base, 2), 1.0)
    moved = va.block_change(before, after) > SETTINGS.frozen_tolerance
    assert moved.any()
    # The clock sits in the top-left corner: the bottom half of the grid is untouched.
    assert not moved[va.GRID_ROWS // 2 :].any()


def test_noisy_still_scene_is_frozen() -> None:
    base = scene()
    found = verdict([noisy(base, seed) for seed in range(15)])  # 2.8 s at 5 fps
    assert found.faults == ("frozen",)


def test_picture_whose_only_change_is_the_osd_clock_is_frozen() -> None:
    base = scene()
    frames = [noisy(with_clock(base, i // 5), i) for i in range(15)]
    # An ISP hang: the encoder still burns in a ticking clock over a picture that no longer changes.
    assert va.longest_still_seconds(pictures(frames), SETTINGS.frozen_tolerance) == pytest.approx(2.8)
    assert verdict(frames).faults == ("frozen",)


def test_live_sensor_is_never_frozen() -> None:
    base = scene()
    frames = [with_clock(base, i // 5) for i in range(15)]
    grey = cv2.cvtColor(base, cv2.COLOR_BGR2GRAY)
    # Consecutive frames of a live static scene: faint noise (sigma 1.5 grey levels) everywhere.
    alive = va.sensor_alive(noisy(grey, 1, sigma=1.5), noisy(grey, 2, sigma=1.5))
    assert alive == pytest.approx(1.0)
    assert va.sensor_alive(grey, grey) == 0.0
    # Only the clock changed between two frames: its compact box is not a live sensor.
    assert (
        va.sensor_alive(
            cv2.cvtColor(with_clock(base, 1), cv2.COLOR_BGR2GRAY),
            cv2.cvtColor(with_clock(base, 2), cv2.COLOR_BGR2GRAY),
        )
        == 0.0
    )
    found = va.assess(pictures(frames), fps=5.0, baseline=None, settings=SETTINGS, alive=alive)
    assert found.faults == () and found.sensor_alive == alive


def test_slow_drift_ends_a_still_span() -> None:
    base = scene().astype(np.float32)
    # 0.4 grey levels per frame: below tolerance between neighbours, above it after a few frames.
    frames = [np.clip(base + 0.4 * i, 0, 255).astype(np.uint8) for i in range(15)]
    assert va.longest_still_seconds(pictures(frames), SETTINGS.frozen_tolerance) < SETTINGS.frozen_seconds


def test_still_span_needs_advancing_pts() -> None:
    pics = [va.picture(scene(), 0.0) for _ in range(10)]
    assert va.longest_still_seconds(pics, SETTINGS.frozen_tolerance) == 0.0


def test_black_picture_is_black_not_frozen() -> None:
    frames = [noisy(np.full((HEIGHT, WIDTH, 3), 5, np.uint8), seed, sigma=2) for seed in range(15)]
    found = verdict(frames)
    assert found.faults == ("black",)
    assert found.luma == pytest.approx(5, abs=0.5)


def test_uniform_cover_is_occluded() -> None:
    frame = scene()
    frame[:, : WIDTH * 3 // 4] = (90, 90, 90)  # three quarters of the view covered
    assert va.uniform_fraction(va.picture(frame, 0.0)) == pytest.approx(0.75, abs=0.07)
    assert verdict([frame]).faults[0] == "occluded"


def test_occluded_holds_on_every_picture() -> None:
    """A view near the threshold that reads covered on one frame only is not occluded: a cover stays."""
    frame = scene()
    frame[:, : WIDTH * 3 // 4] = (90, 90, 90)
    assert verdict([scene(), frame]).faults == ()
    assert verdict([frame, frame]).faults[0] == "occluded"


def test_two_tone_scene_is_not_occluded() -> None:
    frame = scene()
    frame[:, : WIDTH // 2] = (0, 0, 0)  # half black, a quarter white: two uniform regions
    frame[:, WIDTH // 2 : WIDTH * 3 // 4] = (255, 255, 255)
    assert va.uniform_fraction(va.picture(frame, 0.0)) == pytest.approx(0.5, abs=0.07)
    assert "occluded" not in verdict([frame]).faults


def test_textured_scene_has_no_uniform_region() -> None:
    assert va.uniform_fraction(va.picture(scene(), 0.0)) == 0.0


def test_cover_is_judged_under_its_osd() -> None:
    covered = noisy(scene(), 1, sigma=1.5)
    covered[:, : WIDTH * 3 // 4] = noisy(np.full((HEIGHT, WIDTH * 3 // 4, 3), 90.0), 2, sigma=1.5)
    pic = va.picture(with_osd(covered), 0.0)
    # The OSD lines lie over the cover: their blocks show the cover's level, or only the box.
    surface = va.osd.surfaces(va.picture_faults.blocks(pic.grey))
    assert surface.overlaid[-2:, :3].any() and surface.overlaid[:2, :3].any()
    assert not surface.overlaid[2:-2].any()
    assert va.uniform_fraction(pic) == pytest.approx(0.75, abs=0.07)
    assert verdict([with_osd(covered)]).faults[0] == "occluded"


def test_wall_of_strokes_is_scene_not_osd() -> None:
    """Brick courses over the whole view: strokes on a flat surface, but no band an OSD would fill."""
    wall = np.full((HEIGHT, WIDTH, 3), 150, np.uint8)
    for y in range(0, HEIGHT, 24):
        cv2.line(wall, (0, y), (WIDTH, y), (40, 40, 40), 3)
        for x in range((y // 24) % 2 * 30, WIDTH, 60):
            cv2.line(wall, (x, y), (x, y + 24), (40, 40, 40), 3)
    pic = va.picture(with_osd(noisy(wall, 3, sigma=1.5)), 0.0)
    surface = va.osd.surfaces(va.picture_faults.blocks(pic.grey))
    assert not surface.overlaid[2:-2].any()
    assert va.uniform_fraction(pic) < SETTINGS.occluded_fraction


def test_colour_cast() -> None:
    tinted = scene().astype(np.float32) * np.array([0.3, 0.4, 1.0], np.float32)  # BGR: red dominates
    pic = va.picture(tinted.astype(np.uint8), 0.0)
    assert va.dominant_channel_share(pic) == pytest.approx(1.0 / 1.7, abs=0.01)
    # A tinted picture also loses contrast: judge the cast alone, below any blur floor or contrast minimum.
    judged = verdict([tinted.astype(np.uint8)], color_cast_ratio=0.55, blur_floor=0.0, contrast_min=0.0)
    assert judged.faults == ("color_cast",)
    assert va.dominant_channel_share(va.picture(scene(), 0.0)) == pytest.approx(1 / 3)
    # A green tint (a failed colour channel) reaches even the greyest parts; a warm one passes for daylight.
    green = scene().astype(np.float32) * np.array([0.4, 1.0, 0.4], np.float32)
    assert va.cast_chroma(va.picture(green.astype(np.uint8), 0.0)) >= SETTINGS.color_cast_chroma
    warm = scene().astype(np.float32) * np.array([0.5, 0.8, 1.0], np.float32)
    assert va.cast_chroma(va.picture(warm.astype(np.uint8), 0.0)) == 0.0
    assert va.cast_chroma(va.picture(scene(), 0.0)) < SETTINGS.color_cast_chroma


def test_blur_against_floor_and_baseline() -> None:
    sharp, soft = scene(), cv2.GaussianBlur(scene(), (0, 0), 6)
    sharp_value = va.sharpness(va.picture(sharp, 0.0))
    soft_value = va.sharpness(va.picture(soft, 0.0))
    assert soft_value < SETTINGS.blur_floor < sharp_value
    assert verdict([soft]).faults == ("blurred",)
    assert verdict([sharp]).faults == ()
    # Against a baseline: a quarter of the camera's usual sharpness is blurred even above the floor.
    assert va.is_blurred(sharp_value, sharp_value * 4, SETTINGS)
    assert not va.is_blurred(sharp_value, sharp_value * 1.5, SETTINGS)
    # A baseline never lifts the floor away: one learned from an already blurred picture still fails.
    assert va.is_blurred(soft_value, soft_value, SETTINGS)


def test_baseline_learns_only_from_healthy_checks() -> None:
    healthy = va.VideoVerdict(fps=15, luma=120, sharpness=1000, faults=())
    assert va.next_baseline(None, healthy) == 1000
    assert va.next_baseline(500, healthy) == pytest.approx(500 + va.BASELINE_WEIGHT * 500)
    faulty = va.VideoVerdict(fps=15, luma=120, sharpness=50, faults=("blurred",))
    assert va.next_baseline(1000, faulty) == 1000
    assert va.next_baseline(None, faulty) is None


def test_faults_are_ordered_by_severity() -> None:
    base = cv2.GaussianBlur(scene(), (0, 0), 3).astype(np.float32) * np.array([0.45, 0.55, 1.0], np.float32)
    frames = [base.astype(np.uint8)] * 15
    assert verdict(frames, color_cast_ratio=0.48).faults == ("frozen", "blurred", "color_cast")


def test_assess_needs_a_picture() -> None:
    with pytest.raises(ValueError, match="at least one picture"):
        va.assess([], fps=0, baseline=None, settings=SETTINGS)
