"""Scene shift and tamper: one street seen turned, covered or at night, in frames and in real streams."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from camwatch.config.models import VideoSettings
from camwatch.monitor.picture import analysis as va
from camwatch.monitor.picture import scene
from camwatch.monitor.probes.base import ProbeContext, ProbeResult
from camwatch.monitor.probes.video import SCENE_KEY, probe
from support.cameras import make_camera
from support.gst_rtsp import GstRtsp
from support.osd_frames import with_osd

SETTINGS = VideoSettings()
HEIGHT, WIDTH = 360, 640
# The street is wider than the view: a camera turned by PAN pixels (a quarter of its view) sees its right end.
PAN = WIDTH // 4


@functools.cache
def _street() -> np.ndarray:
    """A colourful BGR street (sky, road, buildings with windows, cables, signs), PAN wider than a view."""
    rng = np.random.default_rng(0)
    width = WIDTH + PAN
    image = np.zeros((HEIGHT, width, 3), np.uint8)
    image[: HEIGHT // 2] = (200, 170, 140)
    image[HEIGHT // 2 :] = (90, 100, 100)

    def colour(low: int = 30, high: int = 230) -> tuple[int, int, int]:
        b, g, r = rng.integers(low, high, 3)
        return int(b), int(g), int(r)

    for _ in range(40):
        x, y = int(rng.integers(0, width)), int(rng.integers(20, HEIGHT // 2 + 40))
        w, h = int(rng.integers(20, 110)), int(rng.integers(30, 160))
        cv2.rectangle(image, (x, y), (x + w, y + h), colour(), -1)
        for wy in range(y + 6, y + h - 8, 14):
            for wx in range(x + 5, x + w - 8, 12):
                if rng.random() < 0.5:
                    lit = (220, 230, 240) if rng.random() < 0.5 else (40, 40, 40)
                    cv2.rectangle(image, (wx, wy), (wx + 5, wy + 7), lit, -1)
    for _ in range(12):
        start = (int(rng.integers(0, width)), int(rng.integers(0, HEIGHT)))
        end = (int(rng.integers(0, width)), int(rng.integers(0, HEIGHT)))
        cv2.line(image, start, end, colour(0, 255), int(rng.integers(2, 6)))
    for _ in range(15):
        centre = (int(rng.integers(0, width)), int(rng.integers(0, HEIGHT)))
        cv2.circle(image, centre, int(rng.integers(6, 40)), colour(0, 255), -1)
    return image


def view(offset: int = 0) -> np.ndarray:
    """The camera's view of the street, turned right by ``offset`` pixels."""
    return _street()[:, offset : offset + WIDTH].copy()


def noisy(frame: np.ndarray, seed: int, sigma: float = 4.0) -> np.ndarray:
    """``frame`` with fresh sensor-like Gaussian noise."""
    noise = np.random.default_rng(seed).normal(0, sigma, frame.shape)
    return np.clip(frame + noise, 0, 255).astype(np.uint8)


def night(frame: np.ndarray, *, gain: float = 0.6, offset: float = -30, sigma: float = 8.0) -> np.ndarray:
    """The infrared night picture of ``frame``: grey, darker, flatter and noisier."""
    grey = cv2.cvtColor(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR).astype(np.float32)
    return noisy(np.clip(grey * gain + offset, 0, 255), seed=7, sigma=sigma)


def covered(level: int = 90, sigma: float = 3.0) -> np.ndarray:
    """A lens under a brownish cover: one colour and some noise."""
    return noisy(
        np.full((HEIGHT, WIDTH, 3), (level - 30, level, level + 30), np.float32), seed=9, sigma=sigma
    )


def sprayed(frame: np.ndarray) -> np.ndarray:
    """``frame`` through paint on the lens: smeared, and mostly the paint's colour."""
    paint = np.full(frame.shape, (40, 60, 160), np.float32)
    return noisy(0.2 * cv2.GaussianBlur(frame, (0, 0), 12) + 0.8 * paint, 31, sigma=2)


def judge(frame: np.ndarray, reference: scene.SceneReference | None) -> va.VideoVerdict:
    return va.assess([va.picture(frame, 0.0)], fps=5.0, baseline=None, settings=SETTINGS, reference=reference)


@functools.cache
def learned() -> scene.SceneReference:
    """The reference learned from three healthy day checks of the straight view."""
    reference = None
    for seed in range(3):
        verdict = judge(noisy(view(), seed), reference)
        assert verdict.healthy and verdict.view is not None
        reference = scene.next_reference(
            reference, verdict.view, healthy=True, refresh=SETTINGS.scene_refresh
        )
    assert reference is not None and reference.checks == 3
    return reference


def compared(frame: np.ndarray) -> scene.SceneComparison:
    return scene.compare(learned().signature, scene.signature(va.picture(frame, 0.0).grey))


def with_bus(frame: np.ndarray) -> np.ndarray:
    """``frame`` with a long vehicle of another picture's texture across its lower third."""
    out = frame.copy()
    out[HEIGHT * 2 // 3 :] = cv2.flip(frame, -1)[HEIGHT * 2 // 3 :]
    return out


SAME_SCENE: dict[str, Callable[[], np.ndarray]] = {
    "same view": lambda: noisy(view(), 11),
    "shaken by 4 px": lambda: noisy(view(4), 12),
    "infrared night": lambda: night(view()),
    "darker, noisier night": lambda: night(view(), gain=0.35, offset=0, sigma=12),
    "bus across the lower third": lambda: with_bus(noisy(view(), 13)),
}
TURNED: dict[str, Callable[[], np.ndarray]] = {
    "turned by a quarter": lambda: noisy(view(PAN), 21),
    "turned by a tenth": lambda: noisy(view(WIDTH // 10), 22),
    "mounted upside down": lambda: noisy(cv2.flip(view(), -1), 23),
    "turned, at night": lambda: night(view(PAN)),
}
COVERED: dict[str, Callable[[], np.ndarray]] = {
    "covered": lambda: covered(),
    "covered, with night noise": lambda: covered(level=45, sigma=12),
    "sprayed": lambda: sprayed(view()),
}


@pytest.mark.parametrize("variant", SAME_SCENE)
def test_same_scene_matches(variant: str) -> None:
    picture = SAME_SCENE[variant]()
    comparison = compared(picture)
    assert comparison.match is not None and comparison.match >= 0.8
    assert comparison.texture_lost < 0.1
    assert judge(picture, learned()).faults == ()


@pytest.mark.parametrize("variant", TURNED)
def test_turned_camera_is_moved(variant: str) -> None:
    picture = TURNED[variant]()
    comparison = compared(picture)
    assert comparison.match is not None and comparison.match < SETTINGS.scene_match_min
    assert comparison.texture_lost < SETTINGS.tampered_fraction
    assert judge(picture, learned()).faults == ("moved",)


@pytest.mark.parametrize("variant", COVERED)
def test_covered_or_sprayed_lens_is_tampered(variant: str) -> None:
    picture = COVERED[variant]()
    assert compared(picture).texture_lost >= SETTINGS.tampered_fraction
    faults = judge(picture, learned()).faults
    assert "tampered" in faults and "moved" not in faults


def test_spray_is_judged_under_the_osd() -> None:
    """The OSD's strokes keep their blocks' spread over paint: the loss is counted on the other blocks."""
    picture = noisy(view(), 32)
    picture[60:330, 60:600] = sprayed(view())[60:330, 60:600]
    picture = with_osd(picture)
    pic = va.picture(picture, 0.0)
    overlay = va.osd.surfaces(va.picture_faults.blocks(pic.grey)).overlaid
    current = scene.signature(pic.grey)
    assert scene.compare(learned().signature, current).texture_lost < SETTINGS.tampered_fraction
    assert (
        scene.compare(learned().signature, current, overlay=overlay).texture_lost
        >= SETTINGS.tampered_fraction
    )
    assert "tampered" in judge(picture, learned()).faults


@pytest.mark.parametrize("sigma", [3, 12, 24])
def test_defocus_is_blurred_not_tampered(sigma: float) -> None:
    soft = noisy(cv2.GaussianBlur(view(), (0, 0), sigma), 41)
    # Blur takes the edges but leaves the scene's light and dark areas: no block turns one colour.
    assert compared(soft).texture_lost < SETTINGS.tampered_fraction
    faults = judge(soft, learned()).faults
    assert "tampered" not in faults and "moved" not in faults
    assert "blurred" in faults


def test_half_covered_lens_is_neither() -> None:
    half = noisy(view(), 51)
    half[:, : WIDTH // 2] = covered()[:, : WIDTH // 2]
    comparison = compared(half)
    assert 0.3 < comparison.texture_lost < SETTINGS.tampered_fraction
    assert comparison.match is not None and comparison.match >= 0.8
    assert not {"moved", "tampered"} & set(judge(half, learned()).faults)


def test_nothing_is_judged_without_a_reference() -> None:
    for frame in (noisy(view(PAN), 61), covered()):
        verdict = judge(frame, None)
        assert verdict.scene_comparison is None
        assert not {"moved", "tampered"} & set(verdict.faults)


def test_black_picture_is_only_black() -> None:
    dark = noisy(np.full((HEIGHT, WIDTH, 3), 5, np.float32), 71, sigma=2)
    verdict = judge(dark, learned())
    assert verdict.faults == ("black",) and verdict.scene_comparison is None


def test_frozen_picture_is_not_also_moved() -> None:
    turned = noisy(view(PAN), 81)
    verdict = va.assess(
        [va.picture(turned, t / 5) for t in range(15)],
        fps=5.0,
        baseline=None,
        settings=SETTINGS,
        reference=learned(),
    )
    assert verdict.faults == ("frozen",)


def test_textureless_reference_judges_nothing() -> None:
    wall = scene.signature(va.picture(covered(level=120), 0.0).grey)
    reference = scene.SceneReference(signature=wall, checks=5)
    comparison = scene.compare(wall, scene.signature(va.picture(view(), 0.0).grey))
    assert comparison.textured_share < scene.TEXTURED_SHARE_MIN
    assert judge(view(), reference).faults == ()


def test_reference_learns_from_healthy_checks_only() -> None:
    day = scene.signature(va.picture(noisy(view(), 91), 0.0).grey)
    dusk = scene.signature(va.picture(night(view()), 0.0).grey)
    assert scene.next_reference(None, day, healthy=False, refresh=0.05) is None
    first = scene.next_reference(None, day, healthy=True, refresh=0.05)
    assert first is not None and first.checks == 1 and first.signature is day
    assert scene.next_reference(first, dusk, healthy=False, refresh=0.05) is first

    # The first checks count equally; later ones by the refresh weight.
    second = scene.next_reference(first, dusk, healthy=True, refresh=0.05)
    assert second is not None and second.checks == 2
    np.testing.assert_allclose(second.signature.spread, (day.spread + dusk.spread) / 2, rtol=1e-5)
    settled = scene.SceneReference(signature=day, checks=100)
    later = scene.next_reference(settled, dusk, healthy=True, refresh=0.05)
    assert later is not None and later.checks == 101
    np.testing.assert_allclose(later.signature.edges, 0.95 * day.edges + 0.05 * dusk.edges, rtol=1e-5)
    lengths = np.linalg.norm(later.signature.orientation, axis=2)
    np.testing.assert_allclose(lengths[lengths > 0], 1.0, rtol=1e-5)


# ---- real H.264 streams through the GStreamer RTSP server -------------------------------------------------

_FPS_CAPS = f"video/x-raw,width={WIDTH},height={HEIGHT},framerate=15/1"
_CLOCK = "clockoverlay time-format=%H:%M:%S font-desc=Sans,24"


# Faint sensor noise mixed into a view (the snow source on the compositor's second pad).
_NOISE = "compositor name=mix sink_1::alpha=0.03"


def street_mounts(street_png: Path) -> dict[str, str]:
    """Mounts showing the street as the camera sees it by day, turned, at night, covered and sprayed.

    Each shows a ticking clock over live sensor noise, so no view is frozen."""
    street = f"filesrc location={street_png} ! pngdec ! imagefreeze is-live=true ! videoconvert"
    snow = f"videotestsrc is-live=true pattern=snow ! {_FPS_CAPS} ! mix.sink_1"
    return {
        "day": f"{street} ! videocrop right={PAN} ! {_CLOCK} ! mix.sink_0 {snow} {_NOISE}",
        "turned": f"{street} ! videocrop left={PAN} ! {_CLOCK} ! mix.sink_0 {snow} {_NOISE}",
        # Infrared night: no colour, a quarter of the light, less contrast, and grain mixed in.
        "night": (
            f"{street} ! videocrop right={PAN} ! videobalance saturation=0 brightness=-0.25 contrast=0.7 "
            f"! {_CLOCK} ! mix.sink_0 {snow} compositor name=mix sink_1::alpha=0.12"
        ),
        "covered": (
            f"videotestsrc is-live=true pattern=solid-color foreground-color=0xff5a4a3a ! {_FPS_CAPS} "
            f"! mix.sink_0 {snow} compositor name=mix sink_1::alpha=0.04 ! {_CLOCK}"
        ),
        # Paint on the lens: the scene smeared, and mostly the paint's colour.
        "sprayed": (
            f"{street} ! videocrop right={PAN} ! videoscale ! video/x-raw,width=160,height=90 ! videoconvert "
            f"! gaussianblur sigma=3 ! videoconvert ! videoscale ! {_FPS_CAPS} ! mix.sink_0 "
            f"videotestsrc is-live=true pattern=solid-color foreground-color=0xffa03c28 ! {_FPS_CAPS} "
            f"! mix.sink_1 {snow.replace('mix.sink_1', 'mix.sink_2')} "
            f"compositor name=mix sink_1::alpha=0.8 sink_2::alpha=0.03 ! {_CLOCK}"
        ),
    }


async def test_streams_moved_tampered_and_night(
    tmp_path: Path, gst_rtsp_server_factory: Callable[..., GstRtsp]
) -> None:
    street_png = tmp_path / "street.png"
    assert cv2.imwrite(str(street_png), _street())
    server = gst_rtsp_server_factory(street_mounts(street_png))
    ctx = ProbeContext(settings=VideoSettings())

    async def check(mount: str) -> ProbeResult:
        return await probe(make_camera(id="cam-street", rtsp_url=server.url(mount)), ctx)

    first = await check("day")
    assert first.status == "ok" and "scene_match" not in first.values
    reference = ctx.baselines.get("cam-street", SCENE_KEY)
    assert isinstance(reference, scene.SceneReference) and reference.checks == 1

    turned, cover, spray = await asyncio.gather(check("turned"), check("covered"), check("sprayed"))
    assert turned.faults == ("moved",) and turned.values["scene_match"] < 0.5
    assert "tampered" in cover.faults and "moved" not in cover.faults
    assert "tampered" in spray.faults and "moved" not in spray.faults
    for faulty in (cover, spray):
        assert faulty.details["scene_texture_lost"] >= SETTINGS.tampered_fraction
    # Faulty checks never teach the reference.
    assert ctx.baselines.get("cam-street", SCENE_KEY) is reference

    dark = await check("night")
    assert dark.faults == () and dark.values["luma"] < 60
    assert dark.values["scene_match"] >= 0.8 and dark.details["scene_texture_lost"] < 0.1
    again = await check("day")
    assert again.faults == () and again.values["scene_match"] >= 0.9
    # The grey night view taught a reference of its own (the mode a camera's infrared night shows), and
    # the day reference learned from the two day checks.
    assert ctx.baselines.get("cam-street", SCENE_KEY).checks == 2
    assert ctx.baselines.get("cam-street", f"{SCENE_KEY}:mono").checks == 1

    # Another camera first seen turned has no reference to be judged against: it learns this view instead.
    fresh = await probe(make_camera(id="cam-new", rtsp_url=server.url("turned")), ctx)
    assert fresh.faults == () and ctx.baselines.get("cam-new", SCENE_KEY).checks == 1
