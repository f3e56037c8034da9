"""A labelled corpus of real scenes served as live cameras, for video-quality tests and benchmarks.

Real photographs shipped in scikit-image's wheel (``skimage/data``) are cropped to 640x360, altered in numpy
for what happens to the picture itself (dusk, infrared night, defocus, cover, cast, spray, a turned camera)
and written as PNG files; the GStreamer RTSP test server (``gst_rtsp_server.py``) then makes each a live
camera with what happens at the sensor and after it: temporal sensor noise (a ``snow`` source mixed in), a
ticking OSD clock and a camera-name line, a passing object, an exposure step. Nothing is committed but this
script.

Every stream carries its label: ``ok`` or the one fault a correct check names. A fault stream names the
mount with the same camera's healthy view, which it showed before the fault: ``moved`` and ``tampered`` can
only be told against a reference learned there; the other faults are also checked after a baseline learned
there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from camwatch.config.models import Camera, VideoSettings
from camwatch.monitor.probes.base import OK, ProbeContext
from camwatch.monitor.probes.video import probe

WIDTH, HEIGHT, FPS = 640, 360, 15
_LIVE = "is-live=true"
# Faults told only against the camera's reference scene.
SCENE_FAULTS = frozenset({"moved", "tampered"})


@dataclass(frozen=True, slots=True)
class Stream:
    """One corpus camera: its mount, the status a correct check gives it, the kind of scene it shows, the
    gst-launch fragment that serves it and, for a scene fault, the mount that shows its healthy view."""

    name: str
    label: str
    kind: str
    fragment: str
    reference: str | None = None

    @property
    def needs_reference(self) -> bool:
        return self.label in SCENE_FAULTS


@dataclass(frozen=True, slots=True)
class Osd:
    """An on-screen display: clock and camera-name line, with Pango font size and placement."""

    size: int = 14
    clock_at: tuple[str, str] = ("left", "top")
    name_at: tuple[str, str] = ("right", "bottom")
    shaded: bool = False
    color: int = 0xFFFFFFFF


# Placements and sizes cameras use: small and large, each corner, shaded boxes, dark text on light scenes.
OSDS = (
    Osd(),
    Osd(size=10, clock_at=("right", "top"), name_at=("left", "top")),
    Osd(size=22, clock_at=("left", "bottom"), name_at=("left", "top"), shaded=True),
    Osd(size=16, clock_at=("right", "bottom"), name_at=("left", "bottom"), color=0xFF101010),
    Osd(size=30, clock_at=("center", "top"), name_at=("right", "bottom")),
)
# Other placements, for the held-out variants: shaded lines at the top and bottom left; a dark clock at mid
# height on the right; a large shaded clock at the bottom centre.
VARIANT_OSDS = (
    Osd(size=18, clock_at=("left", "top"), name_at=("left", "bottom"), shaded=True),
    Osd(size=14, clock_at=("right", "center"), name_at=("left", "top"), color=0xFF101010),
    Osd(size=26, clock_at=("center", "bottom"), name_at=("right", "top"), shaded=True),
)
# Photos of scenes (not micrographs or charts), with each one's crop centre (x, y as a share of the photo).
PHOTOS = {
    "astronaut": 0.5,
    "camera": 0.45,
    "coffee": 0.5,
    "chelsea": 0.5,
    "motorcycle_left": 0.5,
    "motorcycle_right": 0.5,
    "rocket": 0.6,
    "gravel": 0.5,
    "coins": 0.5,
    "brick": 0.5,
}


def photo_dir() -> Path:
    """Where scikit-image's wheel keeps its photos (scikit-image is a test dependency)."""
    import skimage

    return Path(skimage.__file__).parent / "data"


def load_photo(name: str, *, shift: float = 0.0) -> np.ndarray:
    """``name`` cropped and scaled to fill 640x360 (BGR); ``shift`` moves the crop by that share of the
    photo's width or height, as a camera turned away from its view would."""
    path = next(photo_dir().glob(f"{name}.*"))
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(path)
    height, width = image.shape[:2]
    # Crop 70 % of the photo so that a shifted crop still lies inside it.
    scale = min(0.7 * width / WIDTH, 0.7 * height / HEIGHT)
    crop_w, crop_h = round(WIDTH * scale), round(HEIGHT * scale)
    centre = PHOTOS.get(name, 0.5)
    x = round((width - crop_w) * min(max(centre + shift, 0.0), 1.0))
    y = round((height - crop_h) * min(max(0.5 + shift / 2, 0.0), 1.0))
    return cv2.resize(image[y : y + crop_h, x : x + crop_w], (WIDTH, HEIGHT), interpolation=cv2.INTER_CUBIC)


def dusk(image: np.ndarray, gain: float = 0.3) -> np.ndarray:
    """A dim evening exposure: darker and lower in contrast, a little warmer."""
    dim = (image.astype(np.float32) / 255) ** 1.3 * 255 * gain + 6
    return np.clip(dim * np.array([0.85, 0.95, 1.1]), 0, 255).astype(np.uint8)


def infrared(image: np.ndarray, gain: float = 0.55) -> np.ndarray:
    """Infrared night view: grey, flat, brighter in the middle where the illuminator points."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    rows, cols = np.mgrid[0:HEIGHT, 0:WIDTH]
    falloff = 1 - 0.5 * (((cols - WIDTH / 2) / WIDTH) ** 2 + ((rows - HEIGHT / 2) / HEIGHT) ** 2) * 2
    out = np.clip((grey * 0.6 + 40) * gain * falloff, 0, 255).astype(np.uint8)
    return cv2.cvtColor(out, cv2.COLOR_GRAY2BGR)


def defocus(image: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(image, (0, 0), sigma)


def cover(image: np.ndarray, share: float, *, level: int = 40, side: str = "left") -> np.ndarray:
    """A uniform object (a hand, a bag, a sign) over ``share`` of the view from one side, its edge slightly
    soft; ``share=1`` covers the lens."""
    out = image.copy()
    if side == "left":
        out[:, : round(WIDTH * share)] = level
    elif side == "bottom":
        out[round(HEIGHT * (1 - share)) :, :] = level
    else:
        # Centre: a box over the middle with the same area.
        w, h = round(WIDTH * share**0.5), round(HEIGHT * share**0.5)
        x, y = (WIDTH - w) // 2, (HEIGHT - h) // 2
        out[y : y + h, x : x + w] = level
    soft = cv2.GaussianBlur(out, (0, 0), 2)
    return soft


def color_cast(image: np.ndarray, gains: tuple[float, float, float]) -> np.ndarray:
    """Channel gains (B, G, R): a failed IR-cut filter, a dead colour channel, a wrong white balance."""
    return np.clip(image.astype(np.float32) * np.array(gains, np.float32), 0, 255).astype(np.uint8)


def spray(image: np.ndarray, share: float, *, seed: int = 0) -> np.ndarray:
    """Paint sprayed over ``share`` of the lens: a hazy blotch that wipes texture but is not one level."""
    rng = np.random.default_rng(seed)
    mask = np.zeros((HEIGHT, WIDTH), np.float32)
    w, h = round(WIDTH * share**0.5 * 1.05), round(HEIGHT * share**0.5 * 1.05)
    # Aimed at the middle of the view, give or take a little.
    x = (WIDTH - w) // 2 + int(rng.integers(-(WIDTH - w) // 4, (WIDTH - w) // 4 + 1))
    y = (HEIGHT - h) // 2 + int(rng.integers(-(HEIGHT - h) // 4, (HEIGHT - h) // 4 + 1))
    mask[y : y + h, x : x + w] = 1
    mask = cv2.GaussianBlur(mask, (0, 0), 8)[..., None]
    # The paint: a smooth, uneven film (a coarse random field blown up), dark blue-grey.
    film = cv2.resize(rng.uniform(75, 95, (3, 4)).astype(np.float32), (WIDTH, HEIGHT))[..., None]
    paint = film * np.array([1.1, 1.0, 0.9], np.float32)
    hazy = cv2.GaussianBlur(image, (0, 0), 12).astype(np.float32)
    mixed = image * (1 - mask) + (0.05 * hazy + 0.95 * paint) * mask
    return np.clip(mixed, 0, 255).astype(np.uint8)


def _osd(osd: Osd, camera: str, *, clock: bool = True) -> str:
    def place(at: tuple[str, str]) -> str:
        return f"halignment={at[0]} valignment={at[1]}"

    style = f'font-desc="Sans {osd.size}" shaded-background={str(osd.shaded).lower()} color={osd.color}'
    name = f'textoverlay text="{camera}" {place(osd.name_at)} {style}'
    if not clock:
        return f" ! {name}"
    ticking = f'clockoverlay time-format="%Y-%m-%d %H:%M:%S" {place(osd.clock_at)} {style}'
    return f" ! {ticking} ! {name}"


def _still(path: Path) -> str:
    return (
        f"filesrc location={path} ! pngdec ! videoconvert ! imagefreeze {_LIVE} "
        f"! video/x-raw,format=AYUV,framerate={FPS}/1"
    )


def _noisy(picture: str, noise: float) -> str:
    """``picture`` (a chain giving raw video) with temporal sensor noise of strength ``noise`` mixed in."""
    snow = (
        f"videotestsrc {_LIVE} pattern=snow ! video/x-raw,format=AYUV,width={WIDTH},height={HEIGHT},"
        f"framerate={FPS}/1 ! mix.sink_1"
    )
    mix = f"compositor name=mix latency=300000000 sink_1::alpha={noise}"
    return f"{picture} ! mix.sink_0 {snow} {mix} ! videoconvert"


def _passer(picture: str) -> str:
    """``picture`` with a dark object crossing the view (the test source's ball on a transparent ground)."""
    ball = (
        f"videotestsrc {_LIVE} pattern=ball motion=sweep foreground-color=0xff202830 "
        f"background-color=0x00000000 ! video/x-raw,format=AYUV,width={WIDTH},height={HEIGHT},"
        f"framerate={FPS}/1 ! pass.sink_1"
    )
    return f"{picture} ! pass.sink_0 {ball} compositor name=pass latency=300000000 ! videoconvert"


def _exposure_steps(first: Path, second: Path) -> str:
    """Two exposures of one view alternating every second (auto-exposure stepping, a light switched)."""
    sequence = first.with_name(first.stem + "_%d.png")
    for index, source in enumerate((first, second)):
        Path(str(sequence) % index).write_bytes(source.read_bytes())
    return (
        f"multifilesrc location={sequence} index=0 stop-index=1 loop=true caps=image/png,framerate=1/1 "
        f"! pngdec ! videoconvert ! videorate ! video/x-raw,format=AYUV,framerate={FPS}/1"
    )


# What an H.265 camera sends (most cameras sold in China default to it): the same picture, size and GOP as
# the server's H.264 mounts, encoded by x265 on one thread.
H265_ENCODE = (
    f"videoconvert ! videoscale ! video/x-raw,width={WIDTH},height={HEIGHT},pixel-aspect-ratio=1/1 "
    f"! videorate ! video/x-raw,framerate={FPS}/1 ! videoconvert ! video/x-raw,format=I420 "
    f"! x265enc speed-preset=ultrafast tune=zerolatency key-int-max={FPS} "
    "option-string=pools=1:frame-threads=1 "
    "! rtph265pay name=pay0 pt=96 config-interval=1"
)


def as_h265(stream: Stream) -> Stream:
    """``stream`` sent as H.265 (mount and reference named ``…_h265``)."""
    reference = f"{stream.reference}_h265" if stream.reference else None
    return Stream(
        f"{stream.name}_h265", stream.label, stream.kind, f"{stream.fragment} ! {H265_ENCODE}", reference
    )


# Sensor noise strengths (share of the snow source mixed in): a good day sensor, dusk, a night sensor.
DAY_NOISE, DUSK_NOISE, NIGHT_NOISE = 0.025, 0.04, 0.12


def build(directory: Path) -> list[Stream]:
    """Write the corpus's pictures into ``directory`` and return its streams."""
    directory.mkdir(parents=True, exist_ok=True)
    streams: list[Stream] = []

    def save(tag: str, image: np.ndarray) -> Path:
        path = directory / f"{tag}.png"
        cv2.imwrite(str(path), image)
        return path

    def add(
        name: str,
        label: str,
        kind: str,
        chain: str,
        osd: Osd | None,
        *,
        reference: str | None = None,
        clock: bool = True,
    ) -> None:
        # A camera keeps its name line whatever happens to its view.
        title = (reference or name).upper().replace("_", " ")
        fragment = chain + (_osd(osd, title, clock=clock) if osd else "")
        streams.append(Stream(name, label, kind, fragment, reference))

    names = list(PHOTOS)

    def osd_of(photo: str) -> Osd:
        return OSDS[names.index(photo) % len(OSDS)]

    for photo in names:
        base = load_photo(photo)
        path = save(photo, base)
        add(f"ok_{photo}", "ok", "static", _noisy(_still(path), DAY_NOISE), osd_of(photo))

    for photo in names[:3]:
        add(
            f"ok_dusk_{photo}",
            "ok",
            "dusk",
            _noisy(_still(save(f"dusk_{photo}", dusk(load_photo(photo)))), DUSK_NOISE),
            OSDS[1],
        )
    for photo in names[3:5]:
        ir = save(f"ir_{photo}", infrared(load_photo(photo)))
        add(f"ok_ir_{photo}", "ok", "ir_night", _noisy(_still(ir), DUSK_NOISE), OSDS[0])
    for photo in names[5:7]:
        night = save(f"night_{photo}", infrared(load_photo(photo), gain=0.35))
        add(f"ok_night_{photo}", "ok", "night_noise", _noisy(_still(night), NIGHT_NOISE), OSDS[2])
    for photo in names[7:9]:
        add(
            f"ok_passing_{photo}",
            "ok",
            "passing_object",
            _noisy(_passer(_still(directory / f"{photo}.png")), DAY_NOISE),
            OSDS[3],
        )
    for photo in names[:2]:
        bright = directory / f"{photo}.png"
        dim = save(f"dim_{photo}", dusk(load_photo(photo), gain=0.6))
        add(
            f"ok_exposure_{photo}",
            "ok",
            "exposure_step",
            _noisy(_exposure_steps(bright, dim), DAY_NOISE),
            OSDS[4],
        )

    for index, (photo, sigma) in enumerate(zip(names, (2.5, 3.5, 5, 7, 10, 4), strict=False)):
        blurred = save(f"blur{sigma:g}_{photo}", defocus(load_photo(photo), sigma))
        add(
            f"blurred_s{sigma:g}_{photo}",
            "blurred",
            "defocus",
            _noisy(_still(blurred), DAY_NOISE),
            OSDS[index % len(OSDS)],
            reference=f"ok_{photo}",
        )

    for photo, level in (("astronaut", 30), ("coffee", 55)):
        lens = save(f"covered_{photo}", cover(load_photo(photo), 1.0, level=level))
        add(
            f"occluded_lens_{photo}",
            "occluded",
            "lens_covered",
            _noisy(_still(lens), DAY_NOISE),
            osd_of(photo),
            reference=f"ok_{photo}",
        )
    for photo, share, side in (
        ("camera", 0.65, "left"),
        ("chelsea", 0.8, "bottom"),
        ("rocket", 0.9, "centre"),
        ("gravel", 0.75, "left"),
    ):
        blocked = save(f"occluded_{photo}", cover(load_photo(photo), share, level=90, side=side))
        add(
            f"occluded_{round(share * 100)}_{photo}",
            "occluded",
            "occluded",
            _noisy(_still(blocked), DAY_NOISE),
            osd_of(photo),
            reference=f"ok_{photo}",
        )

    for photo, gains in (
        ("astronaut", (0.35, 1.0, 0.4)),
        ("motorcycle_left", (1.0, 0.45, 1.0)),
        ("coins", (1.0, 0.5, 0.3)),
    ):
        cast = save(f"cast_{photo}", color_cast(load_photo(photo), gains))
        add(
            f"color_cast_{photo}",
            "color_cast",
            "color_cast",
            _noisy(_still(cast), DAY_NOISE),
            osd_of(photo),
            reference=f"ok_{photo}",
        )

    for photo in names[:3]:
        add(
            f"frozen_{photo}",
            "frozen",
            "frozen",
            _still(directory / f"{photo}.png"),
            osd_of(photo),
            clock=False,
            reference=f"ok_{photo}",
        )
    for photo in names[3:7]:
        add(
            f"frozen_osd_{photo}",
            "frozen",
            "frozen_osd_ticking",
            _still(directory / f"{photo}.png"),
            osd_of(photo),
            reference=f"ok_{photo}",
        )

    for photo, shift in (("motorcycle_left", 0.35), ("camera", -0.3), ("coffee", 0.4)):
        turned = save(f"moved_{photo}", load_photo(photo, shift=shift))
        add(
            f"moved_{photo}",
            "moved",
            "moved",
            _noisy(_still(turned), DAY_NOISE),
            osd_of(photo),
            reference=f"ok_{photo}",
        )
    for seed, (photo, share) in enumerate((("rocket", 0.75), ("gravel", 0.8), ("brick", 0.85))):
        sprayed = save(f"sprayed_{photo}", spray(load_photo(photo), share, seed=seed))
        add(
            f"tampered_{photo}",
            "tampered",
            "tampered",
            _noisy(_still(sprayed), DAY_NOISE),
            osd_of(photo),
            reference=f"ok_{photo}",
        )

    # Held-out variants: other photos, cover shapes and levels, spray spots and OSD placements than the
    # streams above, which the thresholds were first looked at on.
    for photo, share, side, level, osd in (
        ("coins", 0.7, "bottom", 200, VARIANT_OSDS[0]),
        ("motorcycle_right", 0.85, "left", 25, VARIANT_OSDS[1]),
        ("astronaut", 0.75, "centre", 120, VARIANT_OSDS[2]),
    ):
        blocked = save(f"occluded_v_{photo}", cover(load_photo(photo), share, level=level, side=side))
        add(
            f"occluded_v{round(share * 100)}_{photo}",
            "occluded",
            "occluded",
            _noisy(_still(blocked), DAY_NOISE),
            osd,
            reference=f"ok_{photo}",
        )
    for seed, (photo, share, osd) in enumerate(
        (
            ("camera", 0.8, VARIANT_OSDS[1]),
            ("coffee", 0.75, VARIANT_OSDS[0]),
            ("chelsea", 0.9, VARIANT_OSDS[2]),
        ),
        start=3,
    ):
        sprayed = save(f"sprayed_v_{photo}", spray(load_photo(photo), share, seed=seed))
        add(
            f"tampered_v_{photo}",
            "tampered",
            "tampered",
            _noisy(_still(sprayed), DAY_NOISE),
            osd,
            reference=f"ok_{photo}",
        )
    # Healthy scenes with large flat parts or a wall of strokes under shaded and dark OSD lines.
    for photo, osd in (("brick", VARIANT_OSDS[1]), ("rocket", VARIANT_OSDS[2]), ("coins", VARIANT_OSDS[1])):
        add(
            f"ok_osd_{photo}",
            "ok",
            "static",
            _noisy(_still(directory / f"{photo}.png"), DAY_NOISE),
            osd,
        )
    return streams


@dataclass(frozen=True, slots=True)
class Outcome:
    """One labelled check: the stream, whether the camera had learned from its healthy view first
    (``learned``), the faults found (``None``: the check itself failed, with ``status``)."""

    stream: Stream
    learned: bool
    faults: tuple[str, ...] | None
    status: str

    @property
    def correct(self) -> bool:
        if self.faults is None:
            return False
        return not self.faults if self.stream.label == "ok" else self.stream.label in self.faults


async def check_corpus(
    url: Callable[[str], str],
    streams: Sequence[Stream],
    *,
    settings: VideoSettings,
    learned_checks: int = 0,
    concurrency: int = 8,
) -> list[Outcome]:
    """Check every stream once, each as its own camera, ``concurrency`` at a time.

    With ``learned_checks``, the camera first learns from that many checks of its healthy view (the stream
    itself for a healthy stream); without, only ``moved``/``tampered`` streams get one healthy check first,
    the least they can be told by.
    """
    gate = asyncio.Semaphore(concurrency)

    async def one(stream: Stream) -> Outcome:
        ctx = ProbeContext(settings=settings)
        camera = Camera(id=stream.name, rtsp_url=url(stream.name))
        healthy = stream.reference or stream.name
        teach = learned_checks or (1 if stream.needs_reference else 0)
        async with gate:
            for _ in range(teach):
                await probe(camera.model_copy(update={"rtsp_url": url(healthy)}), ctx)
            result = await probe(camera, ctx)
        faults = tuple(result.faults) if result.status in (OK, *result.faults) else None
        return Outcome(stream, learned_checks > 0, faults, result.status)

    return list(await asyncio.gather(*(one(s) for s in streams)))


def checks_made(streams: Sequence[Stream], learned_checks: int) -> int:
    """How many probes ``check_corpus`` runs over ``streams``, the learning ones included."""
    return sum(1 + (learned_checks or (1 if s.needs_reference else 0)) for s in streams)


def accuracy(outcomes: Sequence[Outcome]) -> dict[str, tuple[int, int]]:
    """Per label: (correct checks, checks)."""
    table: dict[str, tuple[int, int]] = {}
    for outcome in outcomes:
        right, total = table.get(outcome.stream.label, (0, 0))
        table[outcome.stream.label] = (right + outcome.correct, total + 1)
    return table


@dataclass(frozen=True, slots=True)
class SecondLook:
    """One camera checked twice, minutes apart in the field: ``first`` and ``later`` are the gst-launch
    fragments it shows at each check (two mounts, as a test cannot wait minutes), ``labels`` what a correct
    check names each time."""

    name: str
    kind: str
    first: str
    later: str
    labels: tuple[str, str]


def second_looks(directory: Path) -> list[SecondLook]:
    """Cameras one check cannot judge, and their controls, written into ``directory``.

    ``quiet``: a static scene whose encoder or denoiser left no sensor noise, its OSD clock ticking; the
    first check sees exactly what a frozen source shows (``frozen``), the next one finds the light changed
    a little since (a few per cent, as over minutes of daylight) and the camera live. ``frozen``: a source
    frozen with its OSD ticking stays ``frozen`` at the next check. ``froze``: a live camera that froze
    between the checks is ``frozen`` at once (the first check was live, there is nothing to take back).
    """
    directory.mkdir(parents=True, exist_ok=True)
    looks = []
    for index, photo in enumerate(("chelsea", "coins", "astronaut")):
        osd = OSDS[index % len(OSDS)]
        title = f"quiet {photo}".upper()
        now = directory / f"quiet_{photo}.png"
        later = directory / f"quiet_later_{photo}.png"
        view = load_photo(photo)
        cv2.imwrite(str(now), view)
        cv2.imwrite(str(later), np.clip(view.astype(np.float32) * 0.96, 0, 255).astype(np.uint8))
        # The picture as it is now and minutes later, each without sensor noise under a ticking OSD.
        still_now, still_later = (_still(path) + _osd(osd, title) for path in (now, later))
        live = _noisy(_still(now), DAY_NOISE) + _osd(osd, title)
        looks += [
            SecondLook(f"quiet_{photo}", "quiet_sensor", still_now, still_later, ("frozen", OK)),
            SecondLook(f"frozen_{photo}", "frozen_osd_ticking", still_now, still_now, ("frozen", "frozen")),
            SecondLook(f"froze_{photo}", "froze_between", live, still_later, (OK, "frozen")),
        ]
    return looks


async def check_twice(
    url: Callable[[str], str], looks: Sequence[SecondLook], *, settings: VideoSettings, concurrency: int = 6
) -> list[tuple[SecondLook, str, str]]:
    """Check each camera at its first view, then again at its later one (served at ``url(name + '_later')``);
    returns each camera with the status of both checks."""
    gate = asyncio.Semaphore(concurrency)

    async def one(look: SecondLook) -> tuple[SecondLook, str, str]:
        ctx = ProbeContext(settings=settings)
        camera = Camera(id=look.name, rtsp_url=url(look.name))
        async with gate:
            first = await probe(camera, ctx)
            later = await probe(camera.model_copy(update={"rtsp_url": url(f"{look.name}_later")}), ctx)
        return look, first.status, later.status

    return list(await asyncio.gather(*(one(look) for look in looks)))


def second_look_mounts(looks: Sequence[SecondLook]) -> dict[str, str]:
    """The RTSP mounts ``check_twice`` reads: each camera's first and later views."""
    return {
        name: fragment
        for look in looks
        for name, fragment in ((look.name, look.first), (f"{look.name}_later", look.later))
    }


def day_and_night(directory: Path, photo: str = "motorcycle_left") -> dict[str, str]:
    """Mounts of one camera's day view and its infrared night views (with an infrared sensor's noise): the
    scene as it is, and turned away (``night_turned``), for references learned by day and by night."""
    directory.mkdir(parents=True, exist_ok=True)
    day, night, turned = (directory / f"{tag}.png" for tag in ("day", "night", "night_turned"))
    cv2.imwrite(str(day), load_photo(photo))
    cv2.imwrite(str(night), infrared(load_photo(photo), gain=0.35))
    cv2.imwrite(str(turned), infrared(load_photo(photo, shift=-0.4), gain=0.35))
    osd, title = OSDS[2], photo.upper().replace("_", " ")
    return {
        "day": _noisy(_still(day), DAY_NOISE) + _osd(osd, title),
        "night": _noisy(_still(night), DUSK_NOISE) + _osd(osd, title),
        "night_turned": _noisy(_still(turned), DUSK_NOISE) + _osd(osd, title),
    }
