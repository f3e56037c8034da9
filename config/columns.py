"""Map ledger column headers (English aliases and the Chinese headers of 台账) to camera record fields."""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# Every camera record field a ledger may fill, with the headers that mean it. The field name itself is always
# accepted; matching ignores case, spaces, '_', '-' and full-/half-width differences (see ``normalise``).
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("camera_id", "device_id", "编号", "设备编号", "点位编号", "摄像机编号"),
    "name": ("camera_name", "名称", "设备名称", "点位名称", "摄像机名称"),
    "host": ("ip", "ip_address", "IP地址", "设备IP"),
    "rtsp_port": ("port", "端口", "端口号", "RTSP端口"),
    "rtsp_path": ("path", "RTSP路径"),
    "rtsp_url": ("url", "stream_url", "RTSP地址", "取流地址", "视频流地址"),
    "streams": (),
    "onvif_host": ("ONVIF地址",),
    "onvif_port": ("ONVIF端口",),
    "snapshot_url": ("snapshot", "抓图地址", "快照地址"),
    "username": ("user", "用户名", "账号"),
    "password_env": ("密码环境变量",),
    "password_file": ("密码文件",),
    "credentials": ("profile", "credential", "凭据"),
    "lon": ("lng", "long", "longitude", "x", "经度"),
    "lat": ("latitude", "y", "纬度"),
    "crs": ("coordinate_system", "坐标系"),
    "direction": ("bearing", "azimuth", "camera:direction", "方向", "朝向", "监控方向"),
    "hfov": ("fov", "field_of_view", "视场角"),
    "range": ("distance", "监控距离", "可视距离"),
    "county": ("district", "所属区县", "区县"),
    "township": ("town", "所属乡镇", "乡镇", "乡镇(街道)", "所属街道"),
    "village": ("community", "所属村", "村", "村(社区)", "社区"),
    "police_station": ("所属派出所", "派出所", "辖区派出所"),
    "contractor": ("maintainer", "运维单位", "维保单位", "运维公司", "维护单位"),
    "gb_id": ("gb28181_id", "国标编码", "国标编号", "国标ID"),
    "gb_device": ("gb28181_device", "设备国标编码", "所属设备国标编码", "上级设备国标编码"),
    "networked": ("是否联网", "联网"),
    "vendor": ("manufacturer", "brand", "厂商", "品牌", "厂家"),
    "model": ("型号", "设备型号"),
    "switch": ("交换机",),
    "fibre": ("fiber", "光纤", "光缆"),
    "power": ("供电", "电源"),
    "site": ("location_type", "场所", "点位类型"),
    "camera_type": ("type", "camera:type", "摄像机类型"),
    "resolution": ("分辨率",),
    "priority": ("重点", "优先级"),
    "tier": ("level", "层级", "级别"),
    "transport": ("rtp_transport", "传输协议", "传输方式", "取流协议"),
    "recorder": ("nvr", "录像机", "所属录像机", "存储设备"),
    "recorder_channel": ("nvr_channel", "录像通道", "录像机通道", "通道号"),
    "timezone": ("time_zone", "tz", "时区"),
}

IGNORE = "ignore"
"""Target for a column that carries no camera field (e.g. a serial number); usable in ``columns:``."""

# Columns every ledger seems to have and that mean nothing to camwatch: a serial number, free-text notes, and
# public-security ledger columns camwatch has no use for (the division code, the install address in words, the
# builder).
_IGNORED_HEADERS = (
    "序号",
    "no",
    "no.",
    "#",
    "备注",
    "notes",
    "remarks",
    "comment",
    "行政区划",
    "行政区划代码",
    "安装位置",
    "安装地址",
    "建设单位",
)

# A password in a ledger would sit in plain text next to hundreds of others; refuse it outright.
_PASSWORD_HEADERS = ("password", "passwd", "pwd", "密码", "口令")

PASSWORD_COLUMN_REASON = (
    "a password column is not accepted; remove it and give each camera (or a credentials profile) "
    "password_env or password_file instead"
)

_SEPARATORS = re.compile(r"[\s_\-]+")
_TRAILING_UNIT = re.compile(r"\([^()]*\)$")


@functools.lru_cache(maxsize=4096)
def normalise(header: str) -> str:
    """The form headers are compared in: NFKC (full-width → ASCII), case-folded, no spaces, '_' or '-'."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", header).casefold())


_PASSWORD_KEYS = frozenset(normalise(h) for h in _PASSWORD_HEADERS)


@dataclass(frozen=True)
class ColumnMap:
    """Header → field lookup: the built-in aliases plus a deployment's own ``columns:`` additions."""

    lookup: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def build(cls, extra: Mapping[str, str] | None = None) -> ColumnMap:
        lookup: dict[str, str] = {normalise(h): IGNORE for h in _IGNORED_HEADERS}
        for name, aliases in FIELD_ALIASES.items():
            for alias in (name, *aliases):
                lookup[normalise(alias)] = name
        for header, target in (extra or {}).items():
            lookup[normalise(header)] = target
        return cls(lookup)

    def field_for(self, header: str) -> str | None:
        """The field a header means, ``IGNORE``, or None when unknown.

        A trailing unit in brackets is allowed: ``监控距离(米)`` and ``方向（度）`` match their bare
        names.
        """
        key = normalise(header)
        found = self.lookup.get(key)
        if found is None and (bare := _TRAILING_UNIT.sub("", key)) != key:
            found = self.lookup.get(bare)
        return found

    @staticmethod
    def is_password(header: str) -> bool:
        return normalise(header) in _PASSWORD_KEYS


def closest_headers(header: str, *, count: int = 3) -> list[str]:
    """The known headers (field names, aliases, ignored columns) most like ``header``, best first."""
    names = {alias: None for name, aliases in FIELD_ALIASES.items() for alias in (name, *aliases)}
    names.update(dict.fromkeys(_IGNORED_HEADERS))
    by_key = {normalise(n): n for n in names}
    keys = difflib.get_close_matches(normalise(header), list(by_key), n=count, cutoff=0.5)
    return [by_key[k] for k in keys]


# A header that says what kind of camera it is (设备类型: 枪机, 球机): never a name, whatever it resembles.
_TYPE_WORDS = ("类型", "种类", "类别", "type", "kind")


@functools.cache
def _builtin() -> ColumnMap:
    return ColumnMap.build()


def unknown_column_reason(header: str) -> str:
    """Why a header is not read, and how to map it: its closest known names, and an example mapping to the
    field the closest one means (``camera_type`` for a type column, never ``name``), or to ``ignore``."""
    key = normalise(header)
    typed = any(word in key for word in _TYPE_WORDS)
    builtin = _builtin()
    close = [h for h in closest_headers(header) if not (typed and builtin.field_for(h) == "name")]
    target = "camera_type" if typed else builtin.field_for(close[0]) if close else None
    hint = f"closest known: {', '.join(close)}; " if close else ""
    example = f"{{{header}: {target}}} or " if target and target != IGNORE else ""
    return (
        f"unknown column; {hint}map it under cameras.columns, e.g. {example}{{{header}: ignore}} "
        "(README: camera record fields)"
    )


def known_fields() -> str:
    """The accepted field names, for error messages."""
    return ", ".join(FIELD_ALIASES)


def unknown_targets(extra: Mapping[str, str]) -> Iterable[tuple[str, str]]:
    """``columns:`` entries whose target is not a camera field (nor ``ignore``)."""
    return ((h, t) for h, t in extra.items() if t != IGNORE and t not in FIELD_ALIASES)
