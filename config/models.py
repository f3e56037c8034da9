"""Typed, immutable config models; field names follow the contract in docs/design.md.

The ``gb28181:`` and ``coverage:`` sections and the shared base live in their own modules; their names are
re-exported here, where the rest of camwatch imports them from."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    Field,
    PrivateAttr,
    SecretStr,
    field_validator,
    model_validator,
)

from camwatch.config.assessment import AssessmentSettings
from camwatch.config.base import Duration, DurationOrOff, Frozen, host_port, parse_duration
from camwatch.config.coverage_settings import BasemapSettings, CategorySpec, CoverageSettings, RankThresholds
from camwatch.config.gb28181 import Gb28181Device, Gb28181Keepalive, Gb28181Settings, GbId
from camwatch.config.ports import PortRange
from camwatch.config.recorders import Recorder
from camwatch.config.zones import TimeZoneName
from camwatch.monitor.faults import CONFIRMED_TWICE

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


class OnvifEventSettings(Frozen):
    """``monitor.onvif_events``: the cameras' own analytics (tamper, video diagnosis, storage), read from an
    ONVIF PullPoint subscription of every camera with an ``onvif_host``."""

    enabled: bool = True
    # How often each camera is asked for its new messages (each start jittered by up to a tenth of it).
    interval: Duration = Field(10.0, gt=0)
    # How long the camera may hold a pull open waiting for a message (PullMessages Timeout).
    wait: Duration = Field(2.0, gt=0)
    # The most time one exchange may take beyond ``wait`` (a pull that never returns ends here).
    timeout: Duration = Field(10.0, gt=0)
    # Messages read from one pull (PullMessages MessageLimit); more are counted and dropped.
    message_limit: int = Field(100, ge=1, le=10_000)
    # Most bytes of one reply (a flood or a huge message stops here; the pull is counted as too large).
    max_reply_bytes: int = Field(1024 * 1024, ge=4096)
    # The subscription's lifetime asked for; it is renewed before it ends.
    subscription: Duration = Field(300.0, ge=10)
    # How long a plain event (one with no state, e.g. Axis's tampering pulse) shows as holding.
    hold: Duration = Field(60.0, gt=0)
    # Cameras exchanging with at once (subscribing, pulling, renewing).
    concurrency: int = Field(32, ge=1)


# Faults a check raises only when found on this many consecutive checks (``monitor.video.confirm``): the
# subtle ones twice, as the VQD servers do; the rest (black, frozen, no_video, signal_lost, ...) at once.
DEFAULT_CONFIRM: dict[str, int] = {"default": 1, **dict.fromkeys(CONFIRMED_TWICE, 2)}


class PictureChecks(Frozen):
    """Picture-fault thresholds shared by every probe that judges a picture (video, snapshot); they are the
    camera-agnostic defaults."""

    # Pictures whose mean absolute difference stays below this (0-255 grey levels) count as unchanged.
    frozen_tolerance: float = Field(1.0, ge=0)
    frozen_seconds: Duration = 2.0
    black_luma: float = Field(16.0, ge=0, le=255)
    # Sharpness below this fraction of the camera's own baseline is ``blurred``.
    blur_ratio: float = Field(0.35, gt=0, lt=1)
    # Absolute floor, with or without a baseline (camwatch.monitor.picture.analysis.focus: median over
    # textured blocks of Laplacian energy per unit of grey-level variance, x 1000, at 320x180): sharp
    # scenes measure 350-7,000, defocused ones (2.5 px and more at 640x360) under 150.
    blur_floor: float = Field(200.0, ge=0)
    occluded_fraction: float = Field(0.6, gt=0, le=1)
    # ``color_cast`` when the strongest colour channel carries this share of the summed channel means ...
    color_cast_ratio: float = Field(0.6, gt=0, le=1)
    # ... or when even the greyest tenth of the picture carries this chroma (CIELAB), outside warm hues.
    color_cast_chroma: float = Field(18.0, gt=0)
    # Scene shift and tamper, against each camera's own reference scene (camwatch.monitor.picture.scene):
    # below this share of still-matching textured blocks the camera has ``moved`` (turned, re-aimed) ...
    scene_match_min: float = Field(0.6, gt=0, le=1)
    # ... and when this share of the reference's textured blocks lost their texture it is ``tampered``.
    tampered_fraction: float = Field(0.6, gt=0, le=1)
    # Weight of a healthy check in the reference once it is learned (exponentially weighted mean).
    scene_refresh: float = Field(0.05, gt=0, le=1)
    # The VQD picture faults (camwatch.monitor.picture.faults), in grey levels at 320x180: a colour picture
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
    # a single odd picture never pages for a subtle fault (camwatch.monitor.picture.references).
    confirm: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_CONFIRM))

    @field_validator("confirm", mode="before")
    @classmethod
    def _confirm(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        from camwatch.monitor.faults import JUDGED_ON_PICTURE

        unknown = sorted(set(value) - {"default", *JUDGED_ON_PICTURE})
        if unknown:
            raise ValueError(
                f"confirm names unknown faults {unknown}; known: default, {', '.join(JUDGED_ON_PICTURE)}"
            )
        bad = {k: v for k, v in value.items() if not isinstance(v, int) or isinstance(v, bool) or v < 1}
        if bad:
            raise ValueError(f"confirm wants whole numbers of checks, 1 or more: {bad}")
        return {**DEFAULT_CONFIRM, **value}

    def confirmations(self, fault: str) -> int:
        """How many consecutive checks must find ``fault`` before it is raised."""
        return self.confirm.get(fault, self.confirm.get("default", 1))


class VideoSettings(PictureChecks, ProbeSchedule):
    """Video checks decode a few seconds of the stream."""

    interval: Duration = 300.0
    timeout: Duration = 15.0
    duration: Duration = 3.0
    # Ports that receive RTP over UDP (pairs: RTP on the even port, RTCP on the next), so a firewall can be
    # opened for them; they also bound how many UDP sessions run at once. None: ports the system picks.
    udp_ports: PortRange = None
    # How long after PLAY the first RTP packet may take on one transport before the next one is tried.
    rtp_wait: Duration = 4.0


class SnapshotSettings(PictureChecks, ProbeSchedule):
    """Still-picture checks: two JPEG snapshots ``frozen_seconds`` apart, judged like a video check."""

    interval: Duration = 300.0
    timeout: Duration = 10.0
    # Most bytes of one reply (a JPEG snapshot) read from a camera, as sent and once decompressed.
    max_reply_bytes: int = Field(8 * 1024 * 1024, ge=4096)


class RetentionTargets(Frozen):
    """How long footage must be kept (a legal minimum): ``default``, or by the camera's site category
    (``site``) or area (its county, township, village or police station); the longest that applies wins."""

    default: Duration = 30 * 86400.0
    by_category: dict[str, Duration] = Field(default_factory=dict)
    by_area: dict[str, Duration] = Field(default_factory=dict)

    def target(self, camera: Camera) -> float:
        areas = (camera.county, camera.township, camera.village, camera.police_station)
        found = [self.by_area[a] for a in areas if a and a in self.by_area]
        if camera.site in self.by_category:
            found.append(self.by_category[camera.site])
        return max(found) if found else self.default


class RecordingSettings(ProbeSchedule):
    """Recording integrity (录像完整性): the camera's footage as its recorder reports it, asked rarely."""

    interval: Duration = 3600.0
    timeout: Duration = 60.0
    # A hole longer than this between two pieces of footage in the last 24 h is a gap.
    gap: Duration = 60.0
    # Newest footage older than this (recorder's clock) while the camera is up: the recording stopped.
    stopped_after: Duration = 900.0
    retention: RetentionTargets = RetentionTargets()
    # Bounds on one recorder answer: bytes of one reply, footage items and result pages of one search.
    max_reply_bytes: int = Field(1024 * 1024, ge=4096)
    max_items: int = Field(5000, ge=1)
    max_pages: int = Field(50, ge=1)


class TierSettings(Frozen):
    """Overrides for one tier of cameras (e.g. ``key`` cameras probed more often): each applies only the
    fields it names, on top of ``monitor.<kind>`` (``MonitorSettings.schedule``)."""

    rtsp: RtspSettings | None = None
    onvif: OnvifSettings | None = None
    video: VideoSettings | None = None
    snapshot: SnapshotSettings | None = None
    recording: RecordingSettings | None = None


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
    # Recording checks wait on recorders' searches: a small gate of their own.
    recording_concurrency: int = Field(8, ge=1)
    rtsp: RtspSettings = RtspSettings()
    onvif: OnvifSettings = OnvifSettings()
    video: VideoSettings = VideoSettings()
    snapshot: SnapshotSettings = SnapshotSettings()
    recording: RecordingSettings = RecordingSettings()
    onvif_events: OnvifEventSettings = OnvifEventSettings()
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
        return host_port(v)

    @model_validator(mode="after")
    def _merge_tiers(self) -> MonitorSettings:
        # A tier override names a few fields (``key: {video: {interval: 1m}}``); every other field keeps the
        # fleet's setting under ``monitor.<kind>``, not the model's default.
        for tier, override in self.tiers.items():
            for kind, chosen in override:
                if isinstance(chosen, ProbeSchedule):
                    fleet = getattr(self, kind)
                    merged = _set_fields(fleet) | _set_fields(chosen)
                    self._merged[(tier, kind)] = type(fleet).model_validate(merged)
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
# Reports
# ---------------------------------------------------------------------------------------------------------


class ReportSettings(Frozen):
    # Months in reports begin at local midnight of this IANA zone (e.g. Asia/Shanghai).
    timezone: TimeZoneName = "UTC"
    online_target: float = Field(0.95, ge=0, le=1)
    working_target: float = Field(0.90, ge=0, le=1)
    thresholds: RankThresholds = RankThresholds()
    # Language of report files (report.md, by_area, uptime): zh or en; default zh for a timezone in China.
    lang: Literal["zh", "en"] | None = None
    # The scorecard of `camwatch report uptime`'s assessment.* files (考核); see config/assessment.py.
    assessment: AssessmentSettings = AssessmentSettings()


# ---------------------------------------------------------------------------------------------------------
# Cameras
# ---------------------------------------------------------------------------------------------------------


Transport = Literal["auto", "tcp", "udp"]


class Stream(Frozen):
    """One of a camera's streams (main, sub, ...)."""

    role: str = "main"
    rtsp_url: str


# The fields that reach a camera: a probe's address, or the id a source that reports in knows it by. A camera
# (or a ledger row) with none of them has nothing that could watch it (``Camera.reached_by``).
ADDRESS_FIELDS = ("rtsp_url", "streams", "onvif_host", "snapshot_url", "gb_id")


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
    # The recorder (NVR) holding this camera's footage (``recorders:``, resolved from the ledger's id) and the
    # channel on it (ISAPI: the channel number; ONVIF: the recording token).
    recorder: Recorder | None = None
    recorder_channel: str | None = None
    # The IANA zone of the camera's (and its recorder's) local clock, for devices that speak local time and
    # for judging day and night; empty: ``reports.timezone``.
    timezone: TimeZoneName | None = None

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

    @staticmethod
    def reached_by(values: Mapping[str, Any]) -> tuple[str, ...]:
        """Which ``ADDRESS_FIELDS`` a camera's (or a ledger row's validated) ``values`` fill in."""
        return tuple(name for name in ADDRESS_FIELDS if values.get(name))

    @cached_property
    def addresses(self) -> dict[str, Any]:
        """What reaches this camera, by field (``ADDRESS_FIELDS``); its streams as ``streams``."""
        found = {name: getattr(self, name) for name in ADDRESS_FIELDS}
        found["streams"], found["rtsp_url"] = self.all_streams(), None
        return {name: value for name, value in found.items() if value}

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
    recorders: tuple[Recorder, ...] = ()

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


__all__ = [
    "BasemapSettings",
    "CategorySpec",
    "CoverageSettings",
    "Duration",
    "DurationOrOff",
    "Frozen",
    "Gb28181Device",
    "Gb28181Keepalive",
    "Gb28181Settings",
    "GbId",
    "RankThresholds",
    "parse_duration",
]
