"""The VQD picture measures (monitor/picture/faults.py) on real photographs, and ``monitor.video.confirm``."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from pydantic import ValidationError

from camwatch.config.models import VideoSettings
from camwatch.monitor.picture import analysis, references
from camwatch.monitor.picture import faults as pf
from camwatch.monitor.probes.base import MemoryBaselines
from support import vqd_corpus, vqd_faults


def pic(image: np.ndarray, seed: int = 0) -> analysis.Picture:
    noise = np.random.default_rng(seed).normal(0, 2, image.shape)
    return analysis.picture(np.clip(image + noise, 0, 255).astype(np.uint8), 0.0)


def test_a_recorders_screen_is_signal_lost_and_a_covered_lens_is_not() -> None:
    blue = vqd_faults.no_video_screen((200, 40, 0), "NO VIDEO", 1.4)
    assert pf.screen_field(analysis.picture(blue, 0.0)) == "blue"
    black = vqd_faults.no_video_screen((0, 0, 0), "NO SIGNAL", 1.2)
    assert pf.screen_field(analysis.picture(black, 0.0)) == "black"
    covered = vqd_corpus.cover(vqd_corpus.load_photo("astronaut"), 1.0, level=30)
    assert pf.screen_field(pic(covered)) is None


def test_measures_tell_each_fault_from_the_healthy_view() -> None:
    photo = vqd_corpus.load_photo("chelsea")
    settings = VideoSettings()
    healthy = pic(photo)
    assert not pf.is_corrupted(healthy, 0.0) and pf.is_corrupted(healthy, 0.1)
    assert pf.is_corrupted(pic(vqd_faults.lost_slices(photo, 0.06, seed=1)), 0.0)
    assert pf.is_too_dark(pic(vqd_faults.exposure(photo, 0.16, 12)), settings.dark_high)
    assert not pf.is_too_dark(healthy, settings.dark_high)
    assert pf.is_too_bright(pic(vqd_faults.exposure(photo, 0.3, 190)), settings.bright_low)
    assert not pf.is_too_bright(pic(vqd_faults.bright_sky(photo)), settings.bright_low)
    assert pf.is_low_contrast(pic(vqd_faults.veil(photo, 0.85)), settings.contrast_min)
    assert not pf.is_low_contrast(pic(vqd_faults.fog(photo, 0.45)), settings.contrast_min)
    assert pf.is_striped(pic(vqd_faults.bands(photo, 18, 24)), settings.stripe_min)
    assert not pf.is_striped(pic(vqd_faults.zebra(photo)), settings.stripe_min)
    positions = ((0, 0), (8, 0), (8, 8))
    shaken = [pic(vqd_faults.shaken(photo, dx, dy), i).grey for i, (dx, dy) in enumerate(positions)]
    assert pf.is_jittering(shaken, settings.jitter_shift)
    trees = [pic(vqd_faults.wind(photo, s), i).grey for i, s in enumerate((0, 4, 8))]
    assert not pf.is_jittering(trees, settings.jitter_shift)
    assert pf.is_flickering([100, 80, 100, 80, 100, 80], settings.flicker_depth)
    assert not pf.is_flickering([100, 100, 101, 60, 60, 60], settings.flicker_depth)
    # Frames repeated or dropped (a starved encoder, a frame-rate converter): the swing still goes both ways.
    assert pf.is_flickering([100, 100, 80, 80, 100, 100], settings.flicker_depth)
    assert not pf.is_flickering([100, 97, 94, 91, 88, 85], settings.flicker_depth)


def test_a_subtle_fault_is_raised_on_its_confirming_check_only() -> None:
    settings = VideoSettings()
    store = MemoryBaselines()
    verdict = analysis.VideoVerdict(fps=15, luma=200, sharpness=500, faults=("black", "too_bright"))

    def check(v: analysis.VideoVerdict) -> tuple[str, ...]:
        return references.confirmed(v, store, "c", "scene:streaks", settings).faults

    assert check(verdict) == ("black",)
    assert check(verdict) == ("black", "too_bright")
    healthy = analysis.VideoVerdict(fps=15, luma=100, sharpness=500, faults=())
    assert check(healthy) == ()
    assert check(verdict) == ("black",)


def test_confirm_names_only_known_faults() -> None:
    assert VideoSettings(confirm={"noise": 3}).confirmations("noise") == 3
    assert VideoSettings(confirm={"noise": 3}).confirmations("stripes") == 2
    assert VideoSettings().confirmations("black") == 1
    with pytest.raises(ValidationError, match="nois"):
        VideoSettings(confirm={"nois": 3})
    with pytest.raises(ValidationError, match="whole numbers"):
        VideoSettings(confirm={"noise": 0})


def test_a_steady_pan_is_not_jitter() -> None:
    """A PTZ camera on its tour moves the whole view one way, picture after picture: not 抖动."""
    photo = vqd_corpus.load_photo("chelsea")
    settings = VideoSettings()
    pan = [pic(vqd_faults.shaken(photo, 8 * k, 0), k).grey for k in range(5)]
    assert not pf.is_jittering(pan, settings.jitter_shift)
    back_and_forth = [pic(vqd_faults.shaken(photo, 8 * (k % 2), 0), k).grey for k in range(5)]
    assert pf.is_jittering(back_and_forth, settings.jitter_shift)


def test_mono_by_day_asks_for_the_hour_and_the_light() -> None:
    photo = vqd_corpus.load_photo("astronaut")
    noise_max = VideoSettings().noise_max
    mono = pic(vqd_faults.monochrome(photo))
    # Black and white with the scene well lit: at noon the fault, by night the camera's right mode.
    assert pf.is_mono_by_day(mono, "day", noise_max)
    assert not pf.is_mono_by_day(mono, "night", noise_max)
    assert not pf.is_mono_by_day(mono, "twilight", noise_max)
    # A dim black-and-white picture by day: a dark place where the camera rightly went to its night mode.
    assert not pf.is_mono_by_day(pic(vqd_faults.monochrome(vqd_corpus.dusk(photo, 0.5))), "day", noise_max)
    # An infrared night view is right at night; a colour picture is right by day.
    assert not pf.is_mono_by_day(pic(vqd_corpus.infrared(photo)), "night", noise_max)
    assert not pf.is_mono_by_day(pic(photo), "day", noise_max)
    # Colour at night: a dark picture gaining up into heavy noise is the fault, a lit street (quieter) not.
    dark = cv2.resize(vqd_corpus.dusk(photo, 0.3), (analysis.ANALYSIS_WIDTH, analysis.ANALYSIS_HEIGHT))
    grainy = np.random.default_rng(1).normal(0, 9, dark.shape[:2])[..., None]
    gaining = analysis.picture(np.clip(dark + grainy, 0, 255).astype(np.uint8), 0.0)
    assert pf.is_mono_by_day(gaining, "night", noise_max)
    assert not pf.is_mono_by_day(pic(vqd_faults.sodium_street(photo)), "night", noise_max)


def test_a_shake_seen_between_consecutive_frames_when_the_keyframes_agree() -> None:
    """The keyframes a second apart may land on one position of the shake (or a camera dropping frames
    may bring them there); the run of consecutive frames the probe decodes still sees it move and back."""
    photo = vqd_corpus.load_photo("chelsea")
    settings = VideoSettings()
    keyframes = [pic(photo, 0), analysis.picture(pic(photo, 1).bgr, 1.0)]
    positions = ((0, 0), (0, 0), (6, 0), (6, 0), (6, 6), (6, 6))  # each frame shown twice: frames repeated
    motion = [(k / 15, pic(vqd_faults.shaken(photo, dx, dy), k).grey) for k, (dx, dy) in enumerate(positions)]
    assert "jitter" not in analysis.assess(keyframes, fps=15, baseline=None, settings=settings).faults
    shaken = analysis.assess(keyframes, fps=15, baseline=None, settings=settings, motion=motion)
    assert "jitter" in shaken.faults


def test_a_view_with_little_texture_is_seen_to_move_where_it_has_some() -> None:
    """The rocket on its pad against a flat sky: a move up changes only its few edges, all of them."""
    photo = vqd_corpus.load_photo("rocket")
    still, moved = pic(photo, 0).grey, pic(vqd_faults.shaken(photo, 0, 12), 1).grey
    dx, dy = pf.view_motion(still, moved)
    assert abs(dx) < 1 and dy == pytest.approx(6, abs=1)
    assert pf.view_motion(still, pic(photo, 2).grey) == (0.0, 0.0)


@pytest.mark.parametrize("photo", ["brick", "motorcycle_left"])
def test_bands_down_a_scene_with_strong_columns_of_its_own_are_stripes(photo: str) -> None:
    """A brick wall's joints and a motorcycle's spokes hide the bands' profile, not their one frequency."""
    image = vqd_corpus.load_photo(photo)
    settings = VideoSettings()
    striped = pic(vqd_faults.bands(image, 20, 40, across=False))
    assert pf.is_striped(striped, settings.stripe_min)
    assert pf.periodic_band_strength(striped.grey.T) >= settings.stripe_min
    for healthy in (image, vqd_faults.zebra(image), vqd_faults.zebra(image, vertical=True)):
        assert not pf.is_striped(pic(healthy), settings.stripe_min)


def test_a_dim_featureless_scene_is_not_a_cover_but_a_dim_cover_is() -> None:
    """The rocket on its pad at dusk or under sodium lamps: its texture, scaled down with the light, is
    still over its noise; a hand or a dark board over the lens carries the noise and nothing else."""
    rocket = vqd_corpus.load_photo("rocket")
    fraction = VideoSettings().occluded_fraction
    for dim in (vqd_faults.monochrome(vqd_corpus.dusk(rocket, 0.5)), vqd_faults.sodium_street(rocket)):
        view = pic(dim)
        assert analysis.uniform_fraction(view) >= fraction  # flat at a fixed spread ...
        assert analysis.covered_share(view) < fraction  # ... not at its exposure
    hand = vqd_corpus.cover(vqd_corpus.load_photo("astronaut"), 1.0, level=30)
    board = vqd_corpus.cover(vqd_corpus.load_photo("motorcycle_right"), 0.85, level=25)
    for covered in (hand, board):
        assert analysis.covered_share(pic(covered)) >= fraction


def test_a_dim_street_is_judged_sharp_on_its_own_detail_not_its_lamps() -> None:
    settings = VideoSettings()
    for photo in ("gravel", "chelsea"):
        street = pic(vqd_faults.sodium_street(vqd_corpus.load_photo(photo)))
        assert not analysis.is_blurred(analysis.sharpness(street), None, settings)


def test_a_veil_over_a_featureless_scene_is_low_contrast_and_a_cover_over_it_occluded() -> None:
    """The rocket against its sky under a misted lens keeps its mast and rocket inside the flat expanse; a
    board over the middle of the same view leaves the view only beside it."""
    rocket = vqd_corpus.load_photo("rocket")
    settings = VideoSettings()
    for share in (0.82, 0.88):
        misted = pic(vqd_faults.veil(rocket, share))
        assert analysis.scene_in_flat(misted)
        faults = analysis.assess([misted], fps=15, baseline=None, settings=settings).faults
        assert "occluded" not in faults and "low_contrast" in faults
    board = pic(vqd_corpus.cover(rocket, 0.9, level=90, side="centre"))
    assert not analysis.scene_in_flat(board)
    assert "occluded" in analysis.assess([board], fps=15, baseline=None, settings=settings).faults


def test_a_black_frame_has_a_sharpness_of_zero_not_an_undefined_one() -> None:
    black = analysis.picture(np.zeros((360, 640, 3), np.uint8), 0.0)
    assert analysis.focus(black) == (0.0, 0.0)
    assert analysis.flat_spread(black) == 1.0 and analysis.textured_spread(black) == 1.0
