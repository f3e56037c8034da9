"""Typed, immutable config models; field names follow the contract in docs/design.md."""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    field_validator,
    model_validator,
)

from camwatch.config.assessment import AssessmentSettings

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(value: Any) -> float:
    """Seconds from ``5``, ``2.5``, ``"500ms"``, ``"60s"``, ``"15m"``, ``"1h"``."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 5s, 500ms or 15m")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.match(value)):
        seconds = float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
    else:
        raise ValueError(f"expected a duration such as 5s, 500ms or 15m, got {value!r}")
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]
"""Seconds; accepts numbers or strings with a unit (ms, s, m, h, d)."""


def _duration_or_off(value: Any) -> float:
    return 0.0 if value in (0, "0", False) else parse_duration(value)


DurationOrOff = Annotated[float, BeforeValidator(_duration_or_off)]
"""A ``Duration``, or 0 (also ``false``) for "never"."""


class Frozen(BaseModel):
    """Base for every config model: immutable, unknown fields refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def _host_port(v: str) -> str:
    _host, sep, port = v.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected HOST:PORT such as 127.0.0.1:9640, got {v!r}")
    return v


# ---------------------------------------------------------------------------------------------------------
# Credentials
# ---------------------------------------------------------------------------------------------------------


class CredentialRef(Frozen):
    """A username and a *reference* to its password; the password itself never sits in the config."""

    username: str
    password_env: str | None = None
    password_file: Path | None = None


# ---------------------------------------------------------------------------------------------------------
# Monitor
# ---------------------------------------------------------------------------------------------------------


class ProbeSchedule(Frozen):
    """How often and how long one probe kind may run for a tier."""

    interval: Duration = 60.0
    timeout: Duration = 5.0
    # Fraction of the interval by which each run is randomly delayed, so a fleet does not probe in lockstep.
    jitter: float = Field(0.1, ge=0, le=1)


class RtspSettings(ProbeSchedule):
    pass


class OnvifSettings(ProbeSchedule):
    interval: Duration = 300.0
    # Above this |camera clock - our clock| the camera gets the ``clock_skew`` fault.
    clock_skew_threshold: Duration = 10.0
    # Most bytes of one reply read from a camera, both as sent and once decompressed (a gzip bomb stops here).
    max_reply_bytes: int = Field(1024 * 1024, ge=4096)


# Faults a check raises only when found on this many consecutive checks (``monitor.video.confirm``): the
# subtle ones twice, as the VQD servers do; the rest (black, frozen, no_video, signal_lost, ...) at once.
DEFAULT_CONFIRM: dict[str, int] = {
    "default": 1,
    **{
        f: 2
        for f in (
            "corrupted",
            "too_dark",
            "too_bright",
            "low_contrast",
            "noise",
            "stripes",
            "jitter",
            "flicker",
        )
    },
}


class PictureChecks(Frozen):
    """Picture-fault thresholds shared by every probe that judges a picture (video, snapshot); they are the
    camera-agnostic defaults."""

    # Pictures whose mean absolute difference stays below this (0-255 grey levels) count as unchanged.
    frozen_tolerance: float = Field(1.0, ge=0)
    frozen_seconds: Duration = 2.0
    black_luma: float = Field(16.0, ge=0, le=255)
    # Sharpness below this fraction of the camera's own baseline is ``blurred``.
    blur_ratio: float = Field(0.35, gt=0, lt=1)
    # Absolute floor, with or without a baseline (camwatch.monitor.video_analysis.focus: median over
    # textured blocks of Laplacian energy per unit of grey-level variance, x 1000, at 320x180): sharp
    # scenes measure 350-7,000, defocused ones (2.5 px and more at 640x360) under 150.
    blur_floor: float = Field(200.0, ge=0)
    occluded_fraction: float = Field(0.6, gt=0, le=1)
    # ``color_cast`` when the strongest colour channel carries this share of the summed channel means ...
    color_cast_ratio: float = Field(0.6, gt=0, le=1)
    # ... or when even the greyest tenth of the picture carries this chroma (CIELAB), outside warm hues.
    color_cast_chroma: float = Field(18.0, gt=0)
    # Scene shift and tamper, against each camera's own reference scene (camwatch.monitor.scene):
    # below this share of still-matching textured blocks the camera has ``moved`` (turned, re-aimed) ...
    scene_match_min: float = Field(0.6, gt=0, le=1)
    # ... and when this share of the reference's textured blocks lost their texture it is ``tampered``.
    tampered_fraction: float = Field(0.6, gt=0, le=1)
    # Weight of a healthy check in the reference once it is learned (exponentially weighted mean).
    scene_refresh: float = Field(0.05, gt=0, le=1)
    # The VQD picture faults (camwatch.monitor.picture_faults), in grey levels at 320x180: a colour picture
    # whose brightest twentieth stays below ``dark_high`` is ``too_dark``; one whose darkest twentieth lies
    # above ``bright_low`` is ``too_bright``; a lit one whose middle nine tenths span fewer than
    # ``contrast_min`` levels is ``low_contrast``; ``noise_max``: noise (standard deviation) on the flattest
    # quarter of the view; ``stripe_min``: bands across the whole picture; ``jitter_shift``: analysis pixels
    # the whole view moves, twice in a check; ``flicker_depth``: the frame-to-frame swing of mean luma.
    dark_high: float = Field(50.0, ge=0, le=255)
    bright_low: float = Field(150.0, ge=0, le=255)
    contrast_min: float = Field(40.0, ge=0, le=255)
    noise_max: float = Field(6.0, gt=0)
    stripe_min: float = Field(8.0, gt=0)
    jitter_shift: float = Field(1.5, gt=0)
    flicker_depth: float = Field(0.05, gt=0)
    # Consecutive checks that must find a fault before it is raised, per fault (``default`` for the rest):
    # a single odd picture never pages for a subtle fault (camwatch.monitor.probes.references).
    confirm: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_CONFIRM))

    @field_validator("confirm", mode="before")
    @classmethod
    def _confirm(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        from camwatch.monitor.faults import PICTURE_FAULTS

        unknown = sorted(set(value) - {"default", *PICTURE_FAULTS})
        if unknown:
            raise ValueError(
                f"confirm names unknown faults {unknown}; known: default, {', '.join(PICTURE_FAULTS)}"
            )
        bad = {k: v for k, v in value.items() if not isinstance(v, int) or isinstance(v, bool) or v < 1}
        if bad:
            raise ValueError(f"confirm wants whole numbers of checks, 1 or more: {bad}")
        return {**DEFAULT_CONFIRM, **value}

    def confirmations(self, fault: str) -> int:
        """How many consecutive checks must find ``fault`` before it is raised."""
        return self.confirm.get(fault, self.confirm.get("default", 1))


def _port_range(value: Any) -> Any:
    """``40000-40999`` (or a list of two ports) as ``(first, last)``: where RTP over UDP is received."""
    if value is None or isinstance(value, tuple | list):
        return tuple(value) if isinstance(value, list) else value
    match = re.fullmatch(r"\s*(\d{1,5})\s*-\s*(\d{1,5})\s*", str(value))
    if not match:
        raise ValueError(f"expected a port range such as 40000-40999, got {value!r}")
    return int(match.group(1)), int(match.group(2))


class VideoSettings(PictureChecks, ProbeSchedule):
    """Video checks decode a few seconds of the stream."""

    interval: Duration = 300.0
    timeout: Duration = 15.0
    duration: Duration = 3.0
    # Ports that receive RTP over UDP (pairs: RTP on the even port, RTCP on the next), so a firewall can be
    # opened for them; they also bound how many UDP sessions run at once. None: ports the system picks.
    udp_ports: Annotated[tuple[int, int] | None, BeforeValidator(_port_range)] = None
    # How long after PLAY the first RTP packet may take on one transport before the next one is tried.
    rtp_wait: Duration = 4.0

    @field_validator("udp_ports")
    @classmethod
    def _ports(cls, v: tuple[int, int] | None) -> tuple[int, int] | None:
        if v is not None:
            first, last = v
            if not 1024 <= first < last <= 65535:
                raise ValueError(f"udp_ports must run upwards within 1024-65535, got {first}-{last}")
            if last - first < 1 + first % 2:
                raise ValueError(f"udp_ports {first}-{last} holds no even/odd pair of ports")
        return v


class SnapshotSettings(PictureChecks, ProbeSchedule):
    """Still-picture checks: two JPEG snapshots ``frozen_seconds`` apart, judged like a video check."""

    interval: Duration = 300.0
    timeout: Duration = 10.0
    # Most bytes of one reply (a JPEG snapshot) read from a camera, as sent and once decompressed.
    max_reply_bytes: int = Field(8 * 1024 * 1024, ge=4096)


class TierSettings(Frozen):
    """Overrides for one tier of cameras (e.g. ``key`` cameras probed more often): each applies only the
    fields it names, on top of ``monitor.<kind>`` (``MonitorSettings.schedule``)."""

    rtsp: RtspSettings | None = None
    onvif: OnvifSettings | None = None
    video: VideoSettings | None = None
    snapshot: SnapshotSettings | None = None


class Debounce(Frozen):
    """K consecutive failures to go down, M consecutive successes to come back."""

    down_after: int = Field(2, ge=1)
    up_after: int = Field(2, ge=1)


class Backoff(Frozen):
    """Dead cameras are probed less often, but never less often than ``max_interval``."""

    factor: float = Field(2.0, ge=1)
    max_interval: Duration = 300.0


class ClusterSettings(Frozen):
    """Offline-cluster detection: cameras that become unreachable together behind one shared part."""

    min_cameras: int = Field(3, ge=2)
    # ... and at least this share of the label's (or place's) monitored cameras unreachable.
    min_share: float = Field(0.8, gt=0, le=1)
    window: Duration = 180.0
    # Cameras without topology labels are grouped by place: DBSCAN-like radius in metres.
    radius: float = Field(300.0, gt=0)
    labels: tuple[str, ...] = ("switch", "fibre", "power", "site")


class WebSettings(Frozen):
    """Optional TLS and basic auth for the exporter (like Prometheus' exporter-toolkit web config)."""

    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    basic_auth_users: dict[str, str] = Field(default_factory=dict)  # user -> bcrypt/sha256 hash
    probe_min_interval: Duration = 5.0
    # A connection must send a whole request head within this long after it opened or after its previous
    # response, else it is closed: slow or idle clients cannot hold file descriptors.
    request_timeout: Duration = 10.0
    # Connections beyond this many get a 503 and are closed at once (capped at a quarter of the process's
    # file limit, so probes always have descriptors left).
    max_connections: int = Field(128, ge=1)

    @model_validator(mode="after")
    def _tls_pair(self) -> WebSettings:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_cert_file and tls_key_file must be given together")
        return self


def _set_fields(model: BaseModel) -> dict[str, Any]:
    return {name: getattr(model, name) for name in model.model_fields_set}


class MonitorSettings(Frozen):
    listen: str = "127.0.0.1:9640"
    state: Path = Path("camwatch.db")
    concurrency: int = Field(512, ge=1)
    # Video checks decode for seconds each; a small gate of their own keeps them from starving liveness.
    # Cameras per video round ≈ video_concurrency × video.interval / video.duration.
    video_concurrency: int = Field(16, ge=1)
    # Snapshot checks wait ``frozen_seconds`` between two pictures: a gate of their own, like decoding.
    snapshot_concurrency: int = Field(64, ge=1)
    rtsp: RtspSettings = RtspSettings()
    onvif: OnvifSettings = OnvifSettings()
    video: VideoSettings = VideoSettings()
    snapshot: SnapshotSettings = SnapshotSettings()
    tiers: dict[str, TierSettings] = Field(default_factory=dict)
    debounce: Debounce = Debounce()
    backoff: Backoff = Backoff()
    clusters: ClusterSettings = ClusterSettings()
    web: WebSettings = WebSettings()
    snapshots: Path | None = None
    snapshot_max_bytes: int = Field(64 * 1024 * 1024, ge=0)
    # (tier, kind) -> the tier's override merged over ``monitor.<kind>``, built once at validation.
    _merged: dict[tuple[str, str], ProbeSchedule] = PrivateAttr(default_factory=dict)

    @field_validator("listen")
    @classmethod
    def _listen(cls, v: str) -> str:
        return _host_port(v)

    @model_validator(mode="after")
    def _merge_tiers(self) -> MonitorSettings:
        # A tier override names a few fields (``key: {video: {interval: 1m}}``); every other field keeps the
        # fleet's setting under ``monitor.<kind>``, not the model's default.
        for tier, override in self.tiers.items():
            for kind in override.model_fields_set:
                chosen, fleet = getattr(override, kind), getattr(self, kind)
                if isinstance(chosen, ProbeSchedule) and isinstance(fleet, ProbeSchedule):
                    named = {name: getattr(chosen, name) for name in chosen.model_fields_set}
                    self._merged[(tier, kind)] = type(fleet).model_validate({**_set_fields(fleet), **named})
        return self

    def schedule(self, tier: str, probe: str) -> ProbeSchedule:
        """The effective settings of probe kind ``probe`` for cameras of ``tier``: the tier's override
        applied field by field over ``monitor.<probe>``; every kind of the probe registry has a field of its
        own here and in ``TierSettings``."""
        default = getattr(self, probe, None)
        if not isinstance(default, ProbeSchedule):
            raise KeyError(f"no probe settings named {probe!r}")
        return self._merged.get((tier, probe), default)


# ---------------------------------------------------------------------------------------------------------
# GB/T 28181
# ---------------------------------------------------------------------------------------------------------


def _gb_code(digits: int, what: str) -> Any:
    def check(v: Any) -> str:
        v = str(v).strip() if isinstance(v, str | int) and not isinstance(v, bool) else v
        if not isinstance(v, str) or len(v) != digits or not v.isascii() or not v.isdigit():
            raise ValueError(f"{what} must be {digits} digits, got {v!r}")
        return v

    return BeforeValidator(check)


GbId = Annotated[str, _gb_code(20, "a GB/T 28181 id (国标编码)")]
"""A 20-digit GB/T 28181 device or channel id."""


class Gb28181Keepalive(Frozen):
    """A device is offline once ``count`` keepalives in a row are missing (GB/T 28181: 60 s × 3)."""

    interval: Duration = 60.0
    count: int = Field(3, ge=1, le=100)


class Gb28181Device(Frozen):
    """Per-device overrides: its own password reference."""

    password_env: str | None = None
    password_file: Path | None = None


class Gb28181Settings(Frozen):
    """camwatch as a GB/T 28181 upper platform (上级平台): devices and lower platforms register with it.

    The device password is resolved at load time (``password_for``) and never sits in the config.
    """

    listen: str = "127.0.0.1:5060"
    id: GbId
    domain: Annotated[str, _gb_code(10, "domain")]
    password_env: str | None = None
    password_file: Path | None = None
    devices: dict[GbId, Gb28181Device] = Field(default_factory=dict)
    # Devices not listed in ``devices`` may register (with the shared password); false answers them 404.
    allow_unknown_devices: bool = True
    keepalive: Gb28181Keepalive = Gb28181Keepalive()
    # What brings an offline device back: its next keepalive, or only a new REGISTER (keepalives get 404).
    revive: Literal["keepalive", "register"] = "keepalive"
    catalog_interval: Duration = 600.0
    # Catalog subscription (SUBSCRIBE, Event: Catalog) asked of each registered device for this long and
    # renewed before it ends: channels switching ON/OFF arrive as NOTIFY at once, not at the next Catalog
    # query. 0: never subscribe.
    catalog_subscription: DurationOrOff = 3600.0
    # Registrations asking for longer are granted this.
    max_expires: Duration = 3600.0
    max_devices: int = Field(1000, ge=1)
    max_channels: int = Field(4096, ge=1)  # per device
    max_message_bytes: int = Field(65536, ge=1024, le=1 << 20)
    max_tcp_connections: int = Field(2000, ge=1)
    # TCP connections per source address that have not carried a successful REGISTER (a registered
    # device's own connection is not counted); more are refused.
    max_tcp_unauthenticated_per_source: int = Field(8, ge=1)
    # A TCP message, once begun (and a new connection's first one), must be whole within this.
    tcp_header_timeout: Duration = 10.0
    # REGISTERs handled per second over all sources (token bucket); the rest are dropped unanswered.
    register_rate: float = Field(100.0, gt=0)
    # ... and per source address; a registered device's own contact is never throttled by either.
    register_rate_per_source: float = Field(10.0, gt=0)
    # Wrong passwords answered 403 per source address and minute, and per device id from sources other
    # than its registered contact; further attempts are dropped.
    auth_failures_per_minute: int = Field(5, ge=1)

    _passwords: dict[str, SecretStr] = PrivateAttr(default_factory=dict)

    @field_validator("listen")
    @classmethod
    def _listen(cls, v: str) -> str:
        return _host_port(v)

    def password_for(self, device_id: str) -> SecretStr | None:
        """The device's own password, else the shared one (None before the loader resolved them)."""
        return self._passwords.get(device_id) or self._passwords.get("")

    def with_passwords(self, passwords: dict[str, SecretStr]) -> Gb28181Settings:
        """A copy holding resolved passwords (key ``""``: the shared one)."""
        copy = self.model_copy()
        copy._passwords = dict(passwords)
        return copy


# ---------------------------------------------------------------------------------------------------------
# Reports
# ---------------------------------------------------------------------------------------------------------


class RankThresholds(Frozen):
    """Colour bands for rankings (逐月排名): below ``red`` is red, below ``orange`` orange, below ``yellow``
    yellow, otherwise green. Ratios in 0..1."""

    red: float = Field(0.85, ge=0, le=1)
    orange: float = Field(0.90, ge=0, le=1)
    yellow: float = Field(0.95, ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> RankThresholds:
        if not self.red <= self.orange <= self.yellow:
            raise ValueError("thresholds must satisfy red <= orange <= yellow")
        return self

    def colour(self, ratio: float) -> str:
        if ratio < self.red:
            return "red"
        if ratio < self.orange:
            return "orange"
        if ratio < self.yellow:
            return "yellow"
        return "green"


class ReportSettings(Frozen):
    # Months in reports begin at local midnight of this IANA zone (e.g. Asia/Shanghai).
    timezone: str = "UTC"
    online_target: float = Field(0.95, ge=0, le=1)
    working_target: float = Field(0.90, ge=0, le=1)
    thresholds: RankThresholds = RankThresholds()
    # Language of report files (report.md, by_area, uptime): zh or en; default zh for a timezone in China.
    lang: Literal["zh", "en"] | None = None
    # The scorecard of `camwatch report uptime`'s assessment.* files (考核); see config/assessment.py.
    assessment: AssessmentSettings = AssessmentSettings()

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}; use an IANA name such as Asia/Shanghai") from None
        return v


# ---------------------------------------------------------------------------------------------------------
# Coverage
# ---------------------------------------------------------------------------------------------------------


class CategorySpec(Frozen):
    kind: Literal["road", "intersection", "site"]
    target: float = Field(ge=0, le=1)
    # Optional DORI level a camera must reach for this category (IEC 62676-4).
    dori: Literal["detection", "observation", "recognition", "identification"] | None = None


class BasemapSettings(Frozen):
    """Tiles for the coverage map's base, served on the local network; without them the map draws its base
    from the layers (roads, buildings, areas) and asks no server for anything."""

    # An XYZ template such as http://10.1.2.3/tiles/{z}/{x}/{y}.png ({-y} for TMS servers).
    tiles: str
    attribution: str = ""
    max_zoom: int = Field(19, ge=0, le=24)

    @field_validator("tiles")
    @classmethod
    def _tiles(cls, v: str) -> str:
        try:
            parts = urlsplit(v)
            host = parts.hostname
            login = parts.username is not None or parts.password is not None
        except ValueError as error:
            raise ValueError(f"not a valid URL ({error})") from None
        if login:
            # The URL is written into map.html for every reader: it must not carry a login.
            raise ValueError("a tile URL must not carry a user or password; serve the tiles without a login")
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"tile URL scheme must be http or https, got {v!r}")
        if not host:
            raise ValueError(f"tile URL has no host: {v!r}")
        missing = [p for p in ("{z}", "{x}") if p not in v] + ([] if "{y}" in v or "{-y}" in v else ["{y}"])
        if missing:
            raise ValueError(
                f"tile URL must contain {{z}}, {{x}} and {{y}} (or {{-y}}); {v!r} lacks {', '.join(missing)}"
            )
        return v


class CoverageSettings(Frozen):
    roads: Path | None = None
    sites: Path | None = None
    buildings: Path | None = None
    areas: Path | None = None
    intersection_radius: float = Field(15.0, gt=0)
    site_buffer: float = Field(10.0, ge=0)
    min_gap_length: float = Field(30.0, ge=0)
    # Extra or overriding categories merged over the default vocabulary.
    categories: dict[str, CategorySpec] = Field(default_factory=dict)
    # Road classes of the roads layer: column -> {value: road category}, merged over config/categories.yaml's
    # `roads` (e.g. {道路等级: {县道: key_road}} makes county roads key roads).
    road_classes: dict[str, dict[str, str]] = Field(default_factory=dict)
    recompute_interval: Duration = 900.0
    thresholds: RankThresholds = RankThresholds()
    max_suggestions: int = Field(500, ge=0)
    # None: the map's base is drawn from the layers (offline-safe).
    basemap: BasemapSettings | None = None


# ---------------------------------------------------------------------------------------------------------
# Cameras
# ---------------------------------------------------------------------------------------------------------


Transport = Literal["auto", "tcp", "udp"]


class Stream(Frozen):
    """One of a camera's streams (main, sub, ...)."""

    role: str = "main"
    rtsp_url: str


class Camera(Frozen):
    """One camera after validation. Coordinates are WGS-84 whatever the ledger used (``source_crs`` keeps it).

    ``password`` is resolved from ``password_env``/``password_file``/credential profile at load time and is a
    ``SecretStr``; ``rtsp_url`` never holds a password (userinfo is moved into ``username``/``password``).
    """

    id: str = Field(min_length=1, max_length=128)
    name: str = ""
    rtsp_url: str | None = None
    streams: tuple[Stream, ...] = ()
    onvif_host: str | None = None
    onvif_port: int = Field(80, gt=0, lt=65536)
    # A still picture over HTTP (Hikvision /ISAPI/Streaming/channels/101/picture, Dahua
    # /cgi-bin/snapshot.cgi), or ``onvif``: ask the ONVIF service (GetSnapshotUri). Never holds a login.
    snapshot_url: str | None = None
    username: str | None = None
    password: SecretStr | None = None
    vendor: str = ""
    model: str = ""
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    source_crs: Literal["wgs84", "gcj02", "bd09"] = "wgs84"
    direction: float | None = Field(None, ge=0, le=360)
    hfov: float | None = Field(None, gt=0, le=360)
    range: float | None = Field(None, gt=0, le=5000)
    camera_type: str = ""
    resolution: str = ""
    county: str = ""
    township: str = ""
    village: str = ""
    # The police station (派出所) whose area the camera is in: an area level beside township and village.
    police_station: str = ""
    # The maintenance contractor (运维单位 / 维保单位): assessed by its cameras' rates.
    contractor: str = ""
    # False for cameras the ledger marks as not networked (是否联网: 否): they have no address to probe.
    networked: bool = True
    site: str = ""
    switch: str = ""
    fibre: str = ""
    power: str = ""
    tier: str = "default"
    priority: bool = False
    # The GB/T 28181 channel (or device) id that ties this camera to a registration (国标编码).
    gb_id: GbId | None = None
    # The GB/T 28181 device (NVR, lower platform) that owns the channel (设备国标编码): only its catalog may
    # set the channel's status; another device claiming it is refused. Empty: the first device reporting it.
    gb_device: GbId | None = None
    # How RTP reaches camwatch: ``auto`` tries interleaved TCP first (crosses NAT and firewalls) and UDP when
    # the camera refuses it (or the reverse), remembering what worked; ``tcp``/``udp`` pin one.
    transport: Transport = "auto"

    @field_validator("snapshot_url")
    @classmethod
    def _snapshot_url(cls, v: str | None) -> str | None:
        if v is None or v == "onvif":
            return v
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"expected an http(s) URL or onvif, got {v[:80]!r}")
        if parts.username is not None or parts.password is not None:
            raise ValueError("put the login in username and password, not in the URL")
        return v

    @model_validator(mode="after")
    def _snapshot_from_onvif(self) -> Camera:
        if self.snapshot_url == "onvif" and not self.onvif_host:
            raise ValueError("snapshot_url onvif needs an onvif_host")
        return self

    @property
    def has_position(self) -> bool:
        return self.lat is not None and self.lon is not None

    def all_streams(self) -> tuple[Stream, ...]:
        """Every stream: ``rtsp_url`` is the main stream unless ``streams`` names one."""
        return self._streams

    @cached_property
    def _streams(self) -> tuple[Stream, ...]:
        # Computed once per camera: the probe path asks for it on every round.
        if self.streams:
            return self.streams
        return (Stream(role="main", rtsp_url=self.rtsp_url),) if self.rtsp_url else ()

    def info_labels(self) -> dict[str, str]:
        """Metadata for ``camwatch_camera_info`` (never secrets)."""
        return {
            "name": self.name,
            "site": self.site,
            "county": self.county,
            "township": self.township,
            "village": self.village,
            "police_station": self.police_station,
            "vendor": self.vendor,
            "model": self.model,
            "tier": self.tier,
            "switch": self.switch,
            "fibre": self.fibre,
            "power": self.power,
            "lat": "" if self.lat is None else f"{self.lat:.6f}",
            "lon": "" if self.lon is None else f"{self.lon:.6f}",
            "priority": "true" if self.priority else "false",
        }


class Config(Frozen):
    """The whole validated config: what every command works from."""

    source: Path
    cameras: tuple[Camera, ...]
    # Every file this config was read from (config, inventory, password files): watched for reloads.
    inputs: tuple[Path, ...] = ()
    monitor: MonitorSettings = MonitorSettings()
    coverage: CoverageSettings | None = None
    reports: ReportSettings = ReportSettings()
    gb28181: Gb28181Settings | None = None

    @property
    def state_path(self) -> Path:
        """The state database; a relative ``monitor.state`` is relative to the config file's folder."""
        state = self.monitor.state
        return state if state.is_absolute() else self.source.parent / state

    def camera(self, camera_id: str) -> Camera:
        for cam in self.cameras:
            if cam.id == camera_id:
                return cam
        raise KeyError(camera_id)
