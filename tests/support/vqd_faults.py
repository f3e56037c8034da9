"""The VQD fault classes (issue 26) added to the labelled corpus of real scenes (``vqd_corpus``), and the
healthy scenes that look like them.

Each fault at two or more strengths over several photographs and noise levels; the look-alikes (a grey
foggy morning, snow, a zebra crossing and a striped fence, wind-shaken trees, a sodium-lit night street, busy
traffic, a bright sky) must stay ``ok``. Pictures are altered in numpy from scikit-image's photographs and
served live by the GStreamer RTSP test server with sensor noise and an OSD, like the rest of the corpus.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import cv2
import numpy as np

from camwatch.monitor.daylight import LocalClock
from camwatch.monitor.faults import VQD_FAULTS
from support.vqd_corpus import (
    DAY_NOISE,
    DUSK_NOISE,
    FPS,
    HEIGHT,
    NIGHT_NOISE,
    OSDS,
    PHOTOS,
    VARIANT_OSDS,
    WIDTH,
    Stream,
    _noisy,
    _osd,
    _still,
    dusk,
    infrared,
    load_photo,
)

# Faults the issue adds, each found on the first or the confirming check (``monitor.video.confirm``).
NEW_FAULTS = VQD_FAULTS
# scikit-image's grey photographs.
GREY = frozenset({"camera", "gravel", "brick", "coins"})
LOOK_ALIKES = (
    "fog", "snow", "zebra", "fence", "trees", "sodium", "traffic", "bright_sky", "ir_night", "mono_dusk",
)  # fmt: skip
# When each kind of view is checked, on the local clock of its camera (no position: civil hours, see
# camwatch.monitor.daylight): a colour camera stuck in black and white at noon, one left in colour at night,
# and the healthy views of day and night. A grey photograph is what an infrared camera sends: the views made
# of one are checked with no clock (day and night not judged), as are the other fault classes'.
ZONE = "Asia/Shanghai"
_SHANGHAI = datetime(2026, 12, 7, tzinfo=ZoneInfo(ZONE))
NOON, AFTERNOON, MIDNIGHT = (_SHANGHAI.replace(hour=h, minute=m) for h, m in ((12, 0), (15, 0), (23, 30)))
JUDGED_AT = {"mono_noon": NOON, "colour_night": MIDNIGHT, "ir_night": MIDNIGHT, "sodium": MIDNIGHT}
# Line noise of an analogue recorder's screen after its encoder, besides none.
SCREEN_NOISE = 0.012


def local_clock(stream: Stream) -> LocalClock | None:
    """The clock ``stream``'s checks are judged by (``JUDGED_AT``; a healthy colour view at noon, a dim grey
    one in the afternoon), ``None`` for a grey photograph's views and the other fault classes."""
    if stream.label not in ("ok", "mono_by_day") or stream.name.endswith(tuple(GREY)):
        return None
    at = JUDGED_AT.get(stream.kind, AFTERNOON if stream.kind == "mono_dusk" else NOON)
    return LocalClock(ZONE, lambda: at.timestamp())


def monochrome(image: np.ndarray) -> np.ndarray:
    """The picture without its chroma, as a camera in its infrared (night) mode sends it."""
    return cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)


def no_video_screen(field: tuple[int, int, int], message: str, scale: float, rise: int = 0) -> np.ndarray:
    """A recorder's own screen: one flat colour (BGR) with its message centred (``rise`` pixels above)."""
    screen = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    screen[:] = field
    (w, h), _ = cv2.getTextSize(message, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
    at = ((WIDTH - w) // 2, (HEIGHT + h) // 2 - rise)
    cv2.putText(screen, message, at, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 2, cv2.LINE_AA)
    return screen


def lost_slices(image: np.ndarray, share: float, *, seed: int) -> np.ndarray:
    """花屏: runs of 16x16 macroblocks the decoder had no data for (all-zero YUV: green) and smeared ones
    (a neighbouring block's content copied), over ``share`` of the picture."""
    rng = np.random.default_rng(seed)
    out = image.copy()
    blocks = (HEIGHT // 16) * (WIDTH // 16)
    for _ in range(int(blocks * share / 6)):
        row, col = int(rng.integers(0, HEIGHT // 16)), int(rng.integers(0, WIDTH // 16 - 6))
        y, x = row * 16, col * 16
        out[y : y + 16, x : x + 96] = (0, 135, 0)
        smear = min(HEIGHT - 16, y + 16)
        out[smear : smear + 16, x : x + 96] = out[max(0, y - 16) : max(0, y - 16) + 16, x : x + 96]
    return out


def exposure(image: np.ndarray, gain: float, lift: float = 0.0) -> np.ndarray:
    """Scaled (and lifted) exposure: under-exposed below 1, over-exposed and clipped above."""
    return np.clip(image.astype(np.float32) * gain + lift, 0, 255).astype(np.uint8)


def veil(image: np.ndarray, share: float, level: float = 140.0) -> np.ndarray:
    """A uniform veil of ``share``: a fogged or condensed lens."""
    return np.clip(image.astype(np.float32) * (1 - share) + level * share, 0, 255).astype(np.uint8)


def fog(image: np.ndarray, share: float) -> np.ndarray:
    """Morning fog: thicker with distance (up the picture), the near ground keeps its contrast."""
    depth = np.linspace(share, share * 0.35, HEIGHT, dtype=np.float32)[:, None, None]
    return np.clip(image * (1 - depth) + 190 * depth, 0, 255).astype(np.uint8)


def bands(image: np.ndarray, amplitude: float, period: float, *, across: bool = True) -> np.ndarray:
    """Interference bands of ``amplitude`` grey levels over the whole picture (rows, or columns)."""
    axis = np.arange(HEIGHT if across else WIDTH, dtype=np.float32)
    wave = amplitude * np.sin(2 * np.pi * axis / period)
    wave = wave[:, None, None] if across else wave[None, :, None]
    return np.clip(image.astype(np.float32) + wave, 0, 255).astype(np.uint8)


def snow_scene(image: np.ndarray) -> np.ndarray:
    """Snow on the ground: the lower part whitened, its texture and dark objects kept."""
    out = image.astype(np.float32)
    ground = slice(HEIGHT // 2, HEIGHT)
    out[ground] = 0.35 * out[ground] + 0.65 * 235
    return np.clip(out, 0, 255).astype(np.uint8)


def zebra(image: np.ndarray, vertical: bool = False) -> np.ndarray:
    """A zebra crossing in the lower part of the view, in perspective (or a fence: bars on the left)."""
    out = image.copy()
    if vertical:
        for x in range(0, WIDTH // 2, 24):
            out[HEIGHT // 3 :, x : x + 10] = (30, 30, 30)
        return out
    for i, y in enumerate(range(HEIGHT * 2 // 3, HEIGHT, 14)):
        inset = (HEIGHT - y) // 2
        if i % 2 == 0:
            out[y : y + 7, 80 + inset : WIDTH - 80 - inset] = (235, 235, 235)
    return out


def sodium_street(image: np.ndarray) -> np.ndarray:
    """A night street under sodium lamps: dark, orange, with the lamps' glow."""
    dim = (image.astype(np.float32) / 255) ** 1.3 * 255 * 0.5 * np.array([0.5, 0.8, 1.05], np.float32)
    rows, cols = np.mgrid[0:HEIGHT, 0:WIDTH]
    for x in (110, 320, 530):
        glow = np.exp(-(((cols - x) / 38.0) ** 2 + ((rows - 70) / 38.0) ** 2))
        dim += glow[..., None] * np.array([90, 190, 250], np.float32)
    return np.clip(dim + 4, 0, 255).astype(np.uint8)


def bright_sky(image: np.ndarray) -> np.ndarray:
    """An overcast sky over the top third of the view, clipped near white, the ground as it is."""
    out = image.copy()
    ramp = np.linspace(250, 215, HEIGHT // 3, dtype=np.float32)[:, None, None]
    out[: HEIGHT // 3] = np.clip(ramp + np.zeros((1, WIDTH, 3), np.float32), 0, 255).astype(np.uint8)
    return out


def _sequence(directory: Path, tag: str, images: list[np.ndarray], frames_each: int = 1) -> str:
    """``images`` looped at the corpus frame rate, each shown for ``frames_each`` frames (written that many
    times: a slower file rate brought up to the frame rate by ``videorate`` stalls in the test server)."""
    index = 0
    for image in images:
        for _ in range(frames_each):
            cv2.imwrite(str(directory / f"{tag}_{index}.png"), image)
            index += 1
    return (
        f"multifilesrc location={directory / tag}_%d.png index=0 stop-index={index - 1} loop=true "
        f"caps=image/png,framerate={FPS}/1 ! pngdec ! videoconvert "
        f"! video/x-raw,format=AYUV,framerate={FPS}/1"
    )


def _traffic(picture: str) -> str:
    """``picture`` with two vehicles crossing it at once, in opposite directions and colours."""
    cars = ""
    for pad, (colour, motion) in enumerate((("0xff202830", "sweep"), ("0xffc0c8d0", "wavy")), start=1):
        cars += (
            f" videotestsrc is-live=true pattern=ball motion={motion} foreground-color={colour} "
            f"background-color=0x00000000 ! video/x-raw,format=AYUV,width={WIDTH},height={HEIGHT},"
            f"framerate={FPS}/1 ! traffic.sink_{pad}"
        )
    return f"{picture} ! traffic.sink_0{cars} compositor name=traffic latency=300000000 ! videoconvert"


def shaken(image: np.ndarray, dx: int, dy: int) -> np.ndarray:
    return np.roll(image, (dy, dx), axis=(0, 1))


def wind(image: np.ndarray, step: int) -> np.ndarray:
    """Trees in the wind: the upper left part of a fixed view moves, the rest stays."""
    out = image.copy()
    part = (slice(0, HEIGHT // 2), slice(0, WIDTH * 2 // 5))
    out[part] = np.roll(image, (step // 2, step), axis=(0, 1))[part]
    return out


def build(directory: Path) -> list[Stream]:
    """Write the pictures into ``directory`` and return the new classes' streams and their look-alikes."""
    directory.mkdir(parents=True, exist_ok=True)
    streams: list[Stream] = []
    photos = list(PHOTOS)
    noises = (DAY_NOISE, DUSK_NOISE)

    def save(tag: str, image: np.ndarray) -> Path:
        path = directory / f"{tag}.png"
        cv2.imwrite(str(path), image)
        return path

    def add(name: str, label: str, kind: str, chain: str, index: int, *, osd: bool = True) -> None:
        title = name.upper().replace("_", " ")
        streams.append(
            Stream(name, label, kind, chain + (_osd(OSDS[index % len(OSDS)], title) if osd else ""))
        )

    # Recorders' screens: blues and blacks, messages of several sizes a little above or below the middle,
    # the channel name line in every corner, without noise or with an analogue line's.
    screens = (
        ((200, 40, 0), "NO VIDEO", 1.4, 0),
        ((160, 60, 20), "VIDEO LOSS", 1.0, 30),
        ((255, 0, 0), "NO SIGNAL", 1.1, -25),
        ((0, 0, 0), "NO SIGNAL", 1.2, 0),
        ((8, 8, 8), "NO VIDEO", 0.9, -30),
        ((180, 30, 10), "VIDEO LOST", 1.6, 20),
        ((16, 16, 16), "NO CAMERA", 1.0, 25),
        ((220, 90, 30), "NO VIDEO INPUT", 0.9, -15),
        ((4, 4, 4), "VIDEO LOSS", 1.3, -10),
        ((140, 20, 0), "CH 3 NO SIGNAL", 0.8, 10),
    )
    for i, (field, message, scale, rise) in enumerate(screens):
        for j, noise in enumerate((0.0, SCREEN_NOISE)):
            # Drawn by the recorder: no sensor noise; its channel name line stays over it.
            still = _still(save(f"lost_{i}", no_video_screen(field, message, scale, rise)))
            chain = _noisy(still, noise) if noise else still
            k = i + j * len(screens)
            streams.append(
                Stream(
                    f"signal_lost_{k}",
                    "signal_lost",
                    "signal_lost",
                    chain + _osd((*OSDS, *VARIANT_OSDS)[k % 8], "CAMERA " + str(k), clock=bool(j)),
                )
            )

    for i, photo in enumerate(photos):
        for strength, share in (("light", 0.06), ("heavy", 0.2)):
            image = lost_slices(load_photo(photo), share, seed=i)
            chain = _noisy(_still(save(f"corrupt_{strength}_{photo}", image)), noises[i % 2])
            add(f"corrupted_{strength}_{photo}", "corrupted", "corrupted", chain, i)
        # Grey photographs look like an infrared night view when dark: colour ones only, at four strengths.
        for strength, gain in (
            (("dim", 0.16), ("dimmer", 0.14), ("darker", 0.12), ("dark", 0.1)) if photo not in GREY else ()
        ):
            image = exposure(load_photo(photo), gain, 12)
            chain = _noisy(_still(save(f"dark_{strength}_{photo}", image)), noises[i % 2])
            add(f"too_dark_{strength}_{photo}", "too_dark", "too_dark", chain, i)
        for strength, (gain, lift) in (("washed", (0.45, 165)), ("blown", (0.3, 190))):
            image = exposure(load_photo(photo), gain, lift)
            chain = _noisy(_still(save(f"bright_{strength}_{photo}", image)), noises[i % 2])
            add(f"too_bright_{strength}_{photo}", "too_bright", "too_bright", chain, i)
        # Grey photographs look like an infrared view, which is flat by nature: colour ones only.
        for strength, share in (
            (("hazy", 0.82), ("foggy", 0.84), ("fogged", 0.86), ("misted", 0.88)) if photo not in GREY else ()
        ):
            chain = _noisy(
                _still(save(f"veil_{strength}_{photo}", veil(load_photo(photo), share))), noises[i % 2]
            )
            add(f"low_contrast_{strength}_{photo}", "low_contrast", "low_contrast", chain, i)
        for strength, snow in (("grainy", 0.3), ("snowy", 0.45)):
            chain = _noisy(_still(save(f"{photo}_base", load_photo(photo))), snow)
            add(f"noise_{strength}_{photo}", "noise", "noise", chain, i)
        for strength, (amplitude, period, across) in (("faint", (18, 24, True)), ("strong", (20, 40, False))):
            image = bands(load_photo(photo), amplitude, period, across=across)
            chain = _noisy(_still(save(f"bands_{strength}_{photo}", image)), noises[i % 2])
            add(f"stripes_{strength}_{photo}", "stripes", "stripes", chain, i)
        for strength, step in (("shaky", 6), ("shaking", 12)):
            base = load_photo(photo)
            frames = [shaken(base, dx * step, dy * step) for dx, dy in ((0, 0), (1, 0), (1, 1), (0, 1))]
            chain = _noisy(_sequence(directory, f"jitter_{strength}_{photo}", frames, 3), noises[i % 2])
            add(f"jitter_{strength}_{photo}", "jitter", "jitter", chain, i)
        for strength, gain in (("flutter", 0.85), ("flashing", 0.7)):
            base = load_photo(photo)
            chain = _noisy(
                _sequence(directory, f"flicker_{strength}_{photo}", [base, exposure(base, gain)]),
                noises[i % 2],
            )
            add(f"flicker_{strength}_{photo}", "flicker", "flicker", chain, i)

    # ICR异常: colour photographs sent without chroma at noon, and dark ones left in colour, gaining up into
    # heavy noise, at midnight.
    for i, photo in enumerate(p for p in photos if p not in GREY):
        base = load_photo(photo)
        for j, noise in enumerate(noises):
            chain = _noisy(_still(save(f"mono_{photo}", monochrome(base))), noise)
            add(f"mono_by_day_noon_{j}_{photo}", "mono_by_day", "mono_noon", chain, i + j)
        for strength, (gain, noise) in (("gaining", (0.3, 0.2)), ("grainy", (0.22, 0.3))):
            chain = _noisy(_still(save(f"night_{strength}_{photo}", dusk(base, gain))), noise)
            add(f"mono_by_day_night_{strength}_{photo}", "mono_by_day", "colour_night", chain, i)

    # Healthy look-alikes, each over several photographs and noise levels.
    for i, photo in enumerate(photos):
        base = load_photo(photo)
        for j, noise in enumerate((DAY_NOISE, DUSK_NOISE)):
            looks = {
                "fog": _still(save(f"fog_{photo}", fog(base, 0.45))),
                "snow": _still(save(f"snowscene_{photo}", snow_scene(base))),
                "zebra": _still(save(f"zebra_{photo}", zebra(base))),
                "fence": _still(save(f"fence_{photo}", zebra(base, vertical=True))),
                "trees": _sequence(directory, f"trees_{photo}", [wind(base, s) for s in (0, 4, 8, 4)], 3),
                "sodium": _still(save(f"sodium_{photo}", sodium_street(base))),
                "traffic": _traffic(_still(save(f"traffic_{photo}", base))),
                "bright_sky": _still(save(f"sky_{photo}", bright_sky(base))),
                # The right modes: infrared by night, and black and white in a dim place by day.
                "ir_night": _still(save(f"ir_{photo}", infrared(base))),
                "mono_dusk": _still(save(f"mono_dusk_{photo}", monochrome(dusk(base, 0.5)))),
            }
            for kind, chain in looks.items():
                level = NIGHT_NOISE if kind in ("sodium", "ir_night") and j else noise
                add(f"ok_{kind}_{j}_{photo}", "ok", kind, _noisy(chain, level), i + j)
    return streams


def ci_subset(streams: list[Stream]) -> list[Stream]:
    """A fixed small subset: two streams per fault class and one per look-alike kind."""
    chosen: list[Stream] = []
    for label in NEW_FAULTS:
        of_label = [s for s in streams if s.label == label]
        chosen += [of_label[0], of_label[len(of_label) // 2 + 1]]
    for kind in LOOK_ALIKES:
        chosen += [s for s in streams if s.label == "ok" and s.kind == kind][3:4]
    return chosen
