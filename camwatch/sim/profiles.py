"""Fault profiles of a simulated fleet (YAML, validated) and the camera plan they expand into."""

from __future__ import annotations

import ipaddress
import itertools
import math
import random
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationError, model_validator

from camwatch.config.errors import ConfigError, Problem
from camwatch.config.models import Duration, Frozen, parse_duration
from camwatch.config.records import validation_reason
from camwatch.config.yamldoc import parse_yaml
from camwatch.sim.h264 import Picture

Behaviour = Literal[
    "ok",
    "offline",
    "hanging",
    "slow",
    "resetting",
    "garbage",
    "oversized",
    "auth_failed",
    "flapping",
    "no_video",
]
OnvifFault = Literal["hang", "slow", "malformed", "xxe", "billion_laughs", "http500"]
# What a camera's own analytics can report (camwatch/sim/onvif_events.py).
CameraEvent = Literal[
    "tamper", "signal_loss", "scene_change", "too_blurry", "too_dark", "too_bright", "storage_failure"
]
GroupLabel = Literal["site", "switch", "fibre", "power"]
DEFAULT_PROFILE = Path(str(resources.files("camwatch.sim") / "default_fleet.yaml"))
# Road classes a camera is put on when reading an OSM-style layer with a ``highway`` column.
_VEHICLE_ROADS = frozenset(
    [
        "motorway",
        "trunk",
        "primary",
        "secondary",
        "tertiary",
        "unclassified",
        "residential",
        "living_street",
        "pedestrian",
        "motorway_link",
        "trunk_link",
        "primary_link",
        "secondary_link",
        "tertiary_link",
    ]
)
_VENDORS = (
    ("Hikvision", "DS-2CD2143G2-I"),
    ("Dahua", "IPC-HFW2431S-S-S2"),
    ("Uniview", "IPC2124LB-SF40KM-G"),
    ("Axis", "P1455-LE"),
)
_LENSES = ((60.0, 80.0), (90.0, 50.0), (110.0, 35.0))  # (hfov degrees, useful range metres)


def _signed_duration(value: Any) -> float:
    """Seconds, possibly negative (a clock that runs behind): ``-90s``, ``1h``, ``-2.5``."""
    if isinstance(value, str) and value.strip().startswith("-"):
        return -parse_duration(value.strip()[1:])
    if isinstance(value, int | float) and not isinstance(value, bool) and value <= 0:
        return float(value)
    return parse_duration(value)


def _offset(value: Any) -> float:
    """Seconds from the fleet's start, zero allowed."""
    return 0.0 if value in (0, "0", "0s") else parse_duration(value)


SignedDuration = Annotated[float, BeforeValidator(_signed_duration)]
Offset = Annotated[float, BeforeValidator(_offset)]


class FaultProfile(Frozen):
    """A group of cameras that behave alike. ``share`` (of the fleet) or ``count``; with neither, the rest."""

    name: str = Field(min_length=1)
    share: float | None = Field(None, ge=0, le=1)
    count: int | None = Field(None, ge=0)
    behaviour: Behaviour = "ok"
    picture: Picture = "live"
    # Flapping cameras are up for ``period`` seconds, then down for ``period`` seconds, and so on.
    period: Duration = 30.0
    clock_offset: SignedDuration = 0.0
    onvif_fault: OnvifFault | None = None
    auth: Literal["digest", "basic"] = "digest"
    # The inventory gives these cameras a snapshot_url (served by their ONVIF device): a Hikvision or Dahua
    # path, or ``onvif`` (GetSnapshotUri).
    snapshot: Literal["isapi", "dahua", "onvif"] | None = None
    # Conditions these cameras' own analytics report over ONVIF events from the start (e.g. tamper).
    camera_events: tuple[CameraEvent, ...] = ()

    @model_validator(mode="after")
    def _one_size(self) -> FaultProfile:
        if self.share is not None and self.count is not None:
            raise ValueError("give share or count, not both")
        return self


class GroupOutage(Frozen):
    """Every camera sharing one ``label`` value goes down at ``at`` (from start) for ``duration``."""

    label: GroupLabel
    # Which group; default: one picked deterministically, a different one per outage.
    value: str | None = None
    at: Offset
    duration: Duration


class VideoSpec(Frozen):
    width: int = Field(320, ge=16, le=1920, multiple_of=2)
    height: int = Field(180, ge=16, le=1080, multiple_of=2)
    fps: int = Field(12, ge=1, le=30)
    seconds: int = Field(6, ge=1, le=60)

    @model_validator(mode="after")
    def _rtp_clock(self) -> VideoSpec:
        if 90_000 % self.fps:
            raise ValueError("fps must divide the 90 kHz RTP clock (e.g. 10, 12, 15, 25, 30)")
        return self


class AreaSpec(Frozen):
    # south, west, north, east in WGS-84 degrees.
    bbox: tuple[float, float, float, float] = (60.16, 24.93, 60.18, 24.96)
    # A road layer (any file pyogrio reads, e.g. .gpkg, .geojson, .osm.pbf); default: the bundled sample
    # area's roads where they lie inside ``bbox``, else a street grid over ``bbox`` (e.g. a bbox in China).
    roads: Path | None = None
    county: str = "Sample County"
    # Language of the planned names: zh gives Chinese townships (乡镇/街道) with their villages (村/社区),
    # one police station (派出所) per township and Chinese camera names.
    lang: Literal["en", "zh"] = "en"

    @model_validator(mode="after")
    def _ordered(self) -> AreaSpec:
        south, west, north, east = self.bbox
        if not (-90 <= south < north <= 90 and -180 <= west < east <= 180):
            raise ValueError("bbox is [south, west, north, east] with south < north and west < east")
        return self


class TopologySpec(Frozen):
    """Cameras per group, counted along the roads; each group size is a multiple of the one before."""

    site: int = Field(2, ge=1)
    switch: int = Field(8, ge=1)
    fibre: int = Field(32, ge=1)
    power: int = Field(16, ge=1)

    @model_validator(mode="after")
    def _nested(self) -> TopologySpec:
        if self.switch % self.site or self.fibre % self.switch or self.power % self.site:
            raise ValueError("switch must be a multiple of site, fibre of switch, and power of site")
        return self


class GbFleetSpec(Frozen):
    """GB/T 28181 devices of the fleet: NVR-like lower platforms that register with camwatch over UDP, each
    from its own loopback address, and keep trying until camwatch listens (as real devices do)."""

    port: int = Field(5060, gt=0, lt=65536)  # where camwatch's platform listens (written to camwatch.yaml)
    base_address: str = "127.30.0.1"
    devices: int = Field(4, ge=1, le=1000)
    channels: int = Field(16, ge=1, le=4096)  # per device
    keepalive: Duration = 60.0
    register_retry: Duration = 15.0  # while a device cannot register
    # Faults, each taken by different devices: keepalives stop ``silent_after`` the start; a password
    # someone changed (never registers); a share of every device's channels listed OFF.
    silent: int = Field(1, ge=0)
    silent_after: Duration = 180.0
    wrong_password: int = Field(1, ge=0)
    channels_off: float = Field(0.05, ge=0, le=1)

    @model_validator(mode="after")
    def _faults_fit(self) -> GbFleetSpec:
        if self.silent + self.wrong_password > self.devices:
            raise ValueError("silent + wrong_password devices exceed the devices")
        return self


class RecorderFleetSpec(Frozen):
    """Simulated recorders holding the footage of the first healthy cameras: an ONVIF Profile G recorder
    (``onvif`` channels, the first three stopped, with a gap, with short retention) and a Hikvision ISAPI NVR
    (``isapi`` channels) whose second disk failed when ``failed_disk``. Sound footage goes back ``kept``."""

    onvif: int = Field(6, ge=0, le=256)
    isapi: int = Field(4, ge=0, le=256)
    failed_disk: bool = True
    kept: Duration = 40 * 86400.0


class FleetSpec(Frozen):
    count: int = Field(300, ge=1)
    seed: int = 1
    username: str = "admin"
    rtsp_port: int = Field(8554, gt=0, lt=65536)
    onvif_port: int = Field(8080, gt=0, lt=65536)
    onvif: bool = True
    video: VideoSpec = VideoSpec()
    area: AreaSpec = AreaSpec()
    topology: TopologySpec = TopologySpec()
    profiles: tuple[FaultProfile, ...] = ()
    outages: tuple[GroupOutage, ...] = ()
    gb28181: GbFleetSpec | None = None
    recorders: RecorderFleetSpec | None = None

    @model_validator(mode="after")
    def _profiles(self) -> FleetSpec:
        names = [p.name for p in self.profiles]
        if len(set(names)) != len(names):
            raise ValueError("profile names must be unique")
        if sum(p.share is None and p.count is None for p in self.profiles) > 1:
            raise ValueError("at most one profile may leave out share and count (it takes the rest)")
        return self


def load_spec(path: Path | None = None) -> FleetSpec:
    """Read and validate a fleet profile file (default: the bundled ``default_fleet.yaml``).

    Raises
    ------
    ConfigError
        With file, line and field of every problem.
    """
    path = Path(path or DEFAULT_PROFILE)
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([Problem(file, None, None, f"cannot read fleet profile: {exc.strerror}")]) from None
    doc = parse_yaml(text, file)
    try:
        spec = FleetSpec.model_validate(doc.data or {})
    except ValidationError as exc:
        raise ConfigError(
            Problem(file, doc.line_of(e["loc"]), ".".join(map(str, e["loc"])) or None, validation_reason(e))
            for e in exc.errors()
        ) from None
    if spec.area.roads is not None and not spec.area.roads.is_absolute():
        spec = spec.model_copy(
            update={"area": spec.area.model_copy(update={"roads": path.absolute().parent / spec.area.roads})}
        )
    return spec


@dataclass(frozen=True, slots=True)
class SimCamera:
    """One planned camera: where it is, what it is wired to, and how it misbehaves."""

    id: str
    name: str
    address: str
    profile: str
    behaviour: str
    picture: str
    period: float
    clock_offset: float
    onvif_fault: str | None
    auth: str
    snapshot: str | None
    lat: float
    lon: float
    direction: float
    hfov: float
    range: float
    county: str
    township: str
    village: str
    site: str
    switch: str
    fibre: str
    power: str
    vendor: str
    model: str
    police_station: str = ""
    camera_events: tuple[str, ...] = ()

    def label(self, name: str) -> str:
        value: str = getattr(self, name)
        return value


def addresses(base: str, count: int) -> list[str]:
    """``count`` loopback addresses from ``base`` on, skipping .0 and .255 (which some tools refuse)."""
    start = ipaddress.IPv4Address(base)
    out: list[str] = []
    n = int(start)
    while len(out) < count:
        address = ipaddress.IPv4Address(n)
        if address not in ipaddress.IPv4Network("127.0.0.0/8"):
            raise ValueError(f"{count} cameras from {base} run past 127.255.255.254")
        if n & 0xFF not in (0, 255):
            out.append(str(address))
        n += 1
    return out


def assign_profiles(spec: FleetSpec, count: int) -> list[FaultProfile]:
    """Each camera's profile, shuffled so faults spread over the area (deterministic for a seed)."""
    sized = [(p, p.count if p.count is not None else round((p.share or 0) * count)) for p in spec.profiles]
    taken = sum(n for p, n in sized if p.share is not None or p.count is not None)
    if taken > count:
        raise ValueError(f"profiles ask for {taken} cameras but the fleet has {count}")
    rest = next(
        (p for p in spec.profiles if p.share is None and p.count is None), FaultProfile(name="healthy")
    )
    chosen = [p for p, n in sized if p is not rest for _ in range(n)]
    chosen += [rest] * (count - len(chosen))
    random.Random(spec.seed).shuffle(chosen)
    return chosen


def _local_metres(lat0: float) -> tuple[float, float]:
    """Metres per degree of longitude and latitude near ``lat0`` (enough to space cameras)."""
    return 111_320.0 * math.cos(math.radians(lat0)), 110_540.0


def grid_roads(
    bbox: tuple[float, float, float, float], *, spacing: float = 250.0
) -> list[list[tuple[float, float]]]:
    """A street grid over ``bbox`` as (lon, lat) polylines, in snake order so neighbours follow each other."""
    south, west, north, east = bbox
    mx, my = _local_metres((south + north) / 2)
    rows = max(1, int((north - south) * my // spacing))
    roads = []
    for i in range(rows + 1):
        lat = south + (north - south) * i / rows
        ends = [(west, lat), (east, lat)]
        roads.append(ends if i % 2 == 0 else ends[::-1])
    cols = max(1, int((east - west) * mx // spacing))
    for j in range(1, cols):
        lon = west + (east - west) * j / cols
        ends = [(lon, south), (lon, north)]
        roads.append(ends if j % 2 == 0 else ends[::-1])
    return roads


def _bundled_roads() -> Path | None:
    """The sample area's road layer shipped with the coverage package, if any."""
    folder = Path(str(resources.files("camwatch.coverage") / "data"))
    found = sorted(p for p in folder.glob("*road*") if p.is_file()) if folder.is_dir() else []
    return found[0] if found else None


def _read_roads(path: Path, bbox: tuple[float, float, float, float]) -> list[list[tuple[float, float]]]:
    """Road polylines (lon, lat) of a layer file inside ``bbox``, ordered by place so groups stay together."""
    import pyogrio  # imported here: only needed when a road layer is used

    south, west, north, east = bbox
    layer = "lines" if path.name.endswith(".osm.pbf") else None
    frame = pyogrio.read_dataframe(path, layer=layer, bbox=(west, south, east, north))
    if frame.crs is not None and frame.crs.to_epsg() != 4326:
        frame = frame.to_crs(4326)
    if "highway" in frame.columns:
        frame = frame[frame["highway"].isin(_VEHICLE_ROADS)]
    frame = frame.explode(index_parts=False)
    lines = [list(g.coords) for g in frame.geometry if g is not None and g.geom_type == "LineString"]
    mx, my = _local_metres((south + north) / 2)
    cell = 300.0  # metres; roads in snake order of 300 m bands keep topology groups local

    def key(line: list[tuple[float, float]]) -> tuple[int, float]:
        lon, lat = line[len(line) // 2]
        band = int((lat - south) * my // cell)
        return band, (lon - west) * mx * (1 if band % 2 == 0 else -1)

    return sorted(lines, key=key)


def road_points(roads: list[list[tuple[float, float]]], count: int) -> list[tuple[float, float, float]]:
    """``count`` evenly spaced (lon, lat, road bearing) points along the roads, in road order."""
    if not roads:
        raise ValueError("no roads to place cameras on")
    lat0 = roads[0][0][1]
    mx, my = _local_metres(lat0)
    segments = []
    for road in roads:
        for (x0, y0), (x1, y1) in itertools.pairwise(road):
            length = math.hypot((x1 - x0) * mx, (y1 - y0) * my)
            if length > 0:
                segments.append((x0, y0, x1, y1, length))
    total = sum(s[4] for s in segments)
    step = total / count
    points: list[tuple[float, float, float]] = []
    target, walked = step / 2, 0.0
    for x0, y0, x1, y1, length in segments:
        while target <= walked + length and len(points) < count:
            f = (target - walked) / length
            bearing = math.degrees(math.atan2((x1 - x0) * mx, (y1 - y0) * my)) % 360
            points.append((x0 + (x1 - x0) * f, y0 + (y1 - y0) * f, bearing))
            target += step
        walked += length
    return points


# Chinese townships of the 2x2 split (north-west, north-east, south-west, south-east), each with the four
# villages of its own 2x2 split and its police station.
ZH_TOWNSHIPS = (
    ("城关镇", ("东关村", "西关村", "南街社区", "北街社区"), "城关派出所"),
    ("东城街道", ("孔庄村", "刘庄村", "新华社区", "建设社区"), "东城派出所"),
    ("谢集镇", ("谢集村", "王楼村", "李寨村", "张庄村"), "谢集派出所"),
    ("太平镇", ("太平村", "韩道口村", "杨集村", "郭庄村"), "太平派出所"),
)


def _area_names(
    lat: float, lon: float, bbox: tuple[float, float, float, float], lang: str = "en"
) -> tuple[str, str, str]:
    """Township (2x2 split of the area), village (4x4 split, inside its township) and police station of a
    point (in English, none)."""
    south, west, north, east = bbox
    row = min(3, max(0, int((north - lat) / (north - south) * 4)))
    col = min(3, max(0, int((lon - west) / (east - west) * 4)))
    if lang == "zh":
        township, villages, station = ZH_TOWNSHIPS[row // 2 * 2 + col // 2]
        return township, villages[row % 2 * 2 + col % 2], station
    township = f"Township {'AB'[row // 2]}{'12'[col // 2]}"
    return township, f"{township} village {row % 2 * 2 + col % 2 + 1}", ""


def _roads(area: AreaSpec) -> list[list[tuple[float, float]]]:
    """The roads cameras stand on: the profile's layer, else the bundled sample's inside the bbox, else a
    street grid over the bbox."""
    if area.roads is not None:
        roads = _read_roads(area.roads, area.bbox)
        if not roads:
            south, west, north, east = area.bbox
            raise ConfigError(
                [
                    Problem(
                        str(area.roads),
                        None,
                        "area.roads",
                        f"no roads inside the profile's bbox [{south}, {west}, {north}, {east}] "
                        "(south, west, north, east); leave area.roads out for a street grid",
                    )
                ]
            )
        return roads
    bundled = _bundled_roads()
    return (_read_roads(bundled, area.bbox) if bundled else []) or grid_roads(area.bbox)


def plan(spec: FleetSpec, *, count: int | None = None, base_address: str = "127.20.0.1") -> list[SimCamera]:
    """The fleet's cameras: addresses, positions along the roads, topology labels and fault profiles.

    Cameras are numbered along the roads; ``topology`` groups consecutive cameras, so a site is one pole
    (its cameras share a position and look different ways), and switch, fibre and power groups are local.
    """
    n = count or spec.count
    area = spec.area
    roads = _roads(area)
    topo = spec.topology
    poles = road_points(roads, -(-n // topo.site))
    rng = random.Random(spec.seed)
    profiles = assign_profiles(spec, n)
    width = max(4, len(str(n)))
    cameras = []
    for i, (address, profile) in enumerate(zip(addresses(base_address, n), profiles, strict=True)):
        lon, lat, bearing = poles[i // topo.site]
        hfov, reach = rng.choice(_LENSES)
        vendor, model = _VENDORS[i % len(_VENDORS)]
        township, village, station = _area_names(lat, lon, area.bbox, area.lang)
        pole, view = i // topo.site + 1, i % topo.site + 1
        cameras.append(
            SimCamera(
                id=f"cam-{i + 1:0{width}d}",
                name=f"{village}{pole}号杆{view}号机位"
                if area.lang == "zh"
                else f"{village} pole {pole} view {view}",
                address=address,
                profile=profile.name,
                behaviour=profile.behaviour,
                picture=profile.picture,
                period=profile.period,
                clock_offset=profile.clock_offset,
                onvif_fault=profile.onvif_fault,
                auth=profile.auth,
                snapshot=profile.snapshot,
                camera_events=profile.camera_events,
                lat=round(lat, 7),
                lon=round(lon, 7),
                direction=round((bearing + 360.0 * (i % topo.site) / topo.site) % 360, 1),
                hfov=hfov,
                range=reach,
                county=area.county,
                township=township,
                village=village,
                site=f"site-{i // topo.site + 1:04d}",
                switch=f"switch-{i // topo.switch + 1:03d}",
                fibre=f"fibre-{i // topo.fibre + 1:03d}",
                power=f"power-{i // topo.power + 1:03d}",
                vendor=vendor,
                model=model,
                police_station=station,
            )
        )
    return cameras


def outage_groups(spec: FleetSpec, cameras: list[SimCamera]) -> list[tuple[GroupOutage, str]]:
    """Each scheduled outage with the label value it takes down (if not given, picked over the fleet)."""
    out = []
    for k, outage in enumerate(spec.outages):
        values = list(dict.fromkeys(c.label(outage.label) for c in cameras))
        value = outage.value or values[(k * 7 + len(values) // 3) % len(values)]
        if value not in values:
            raise ValueError(f"outage {k + 1}: no camera has {outage.label} {value!r}")
        out.append((outage, value))
    return out
