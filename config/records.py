"""One camera record as a ledger writes it, with its fields coerced and checked (``CameraRecord``)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, Field

from camwatch.config.models import Frozen, GbId, Stream, Transport
from camwatch.config.redact import mask_url, redact_url
from camwatch.config.zones import TimeZoneName

# ---------------------------------------------------------------------------------------------------------
# Field coercion and the record model
# ---------------------------------------------------------------------------------------------------------


def _crs(value: Any) -> str:
    key = re.sub(r"[\s\-_:.]", "", unicodedata.normalize("NFKC", str(value)).casefold())
    if key not in _CRS_ALIASES:
        raise ValueError(f"unknown coordinate system {value!r}; expected wgs84, gcj02 or bd09")
    return _CRS_ALIASES[key]


# CGCS2000 (China's national datum) agrees with WGS-84 to a few centimetres, so it is read as WGS-84.
_CRS_ALIASES = {
    **dict.fromkeys(("wgs84", "wgs1984", "epsg4326", "4326", "cgcs2000", "gps"), "wgs84"),
    **dict.fromkeys(("gcj02", "gcj", "火星坐标", "火星坐标系", "国测局坐标", "高德", "腾讯"), "gcj02"),
    **dict.fromkeys(("bd09", "bd09ll", "baidu", "百度", "百度坐标", "百度坐标系"), "bd09"),
}

_BEARINGS = {
    **{
        "北": 0.0,
        "东北": 45.0,
        "东": 90.0,
        "东南": 135.0,
        "南": 180.0,
        "西南": 225.0,
        "西": 270.0,
        "西北": 315.0,
    },
    **{"n": 0.0, "ne": 45.0, "e": 90.0, "se": 135.0, "s": 180.0, "sw": 225.0, "w": 270.0, "nw": 315.0},
}


def _bearing(value: Any) -> float:
    """Degrees clockwise from north, from a number or a compass word (东北, 朝南, NE)."""
    if isinstance(value, str):
        word = value.strip().removeprefix("朝").removeprefix("向").casefold()
        if word in _BEARINGS:
            return _BEARINGS[word]
        try:
            value = float(word)
        except ValueError:
            raise ValueError(
                "expected a compass bearing in degrees (0 = north, clockwise) "
                f"or a direction such as 东北 or NE, got {value!r}"
            ) from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a compass bearing in degrees, got {value!r}")
    if not 0 <= value <= 360:
        raise ValueError(f"direction must be from 0 to 360 degrees (0 = north, clockwise), got {value:g}")
    return float(value)


_YES = {"是", "重点", "高", "y", "yes", "true", "1", "key", "high"}
_NO = {"否", "一般", "普通", "低", "n", "no", "false", "0", "normal", "low"}


def _flag(value: Any) -> Any:
    if isinstance(value, str) and value.strip().casefold() in _YES | _NO:
        return value.strip().casefold() in _YES
    return value


def _gb_id(value: Any) -> Any:
    """A GB/T 28181 id in a ledger: 20 digits; an empty cell is no id. Excel shows a long number in a cell
    not kept as text with lost digits, so the error says how to keep them."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip()
    if not re.fullmatch(r"\d{20}", text):
        raise ValueError(
            f"a GB/T 28181 id (国标编码) has 20 digits, got {text!r}; store the column as text in Excel"
        )
    return text


_TRANSPORTS = {"自动": "auto", "": "auto", "rtp/avp/tcp": "tcp", "rtp/avp": "udp", "rtp/avp/udp": "udp"}


def _blank_none(value: Any) -> Any:
    """An empty cell is no value (the config's default applies)."""
    return None if isinstance(value, str) and not value.strip() else value


def _transport(value: Any) -> Any:
    """``auto``/``tcp``/``udp`` in any case (also 自动 and the RTSP transport specs); empty is ``auto``."""
    if value is None:
        return "auto"
    if isinstance(value, str):
        text = value.strip().casefold()
        return _TRANSPORTS.get(text, text)
    return value


class CameraRecord(Frozen):
    """One camera as written in a ledger or config, with types checked; see ``Camera`` for the result."""

    # cache_strings off: the cache keeps up to 16,384 stripped strings alive after loading, scattered over
    # the memory the whole load used, so none of it could go back to the system (≈ 170 MB at 10^4 cameras).
    model_config = ConfigDict(coerce_numbers_to_str=True, str_strip_whitespace=True, cache_strings=False)

    id: str = Field(min_length=1, max_length=128)
    name: str = ""
    rtsp_url: str | None = None
    host: str | None = None
    rtsp_port: int = Field(554, gt=0, lt=65536)
    rtsp_path: str = "/"
    streams: tuple[Stream, ...] = ()
    onvif_host: str | None = None
    onvif_port: int | None = Field(None, gt=0, lt=65536)
    snapshot_url: str | None = None
    username: str | None = None
    password_env: str | None = None
    password_file: Path | None = None
    credentials: str | None = None
    lat: float | None = Field(None, allow_inf_nan=False)
    lon: float | None = Field(None, allow_inf_nan=False)
    crs: Annotated[str, BeforeValidator(_crs)] = "wgs84"
    direction: Annotated[float | None, BeforeValidator(_bearing)] = None
    hfov: float | None = Field(None, gt=0, le=360)
    range: float | None = Field(None, gt=0, le=5000)
    vendor: str = ""
    model: str = ""
    camera_type: str = ""
    resolution: str = ""
    county: str = ""
    township: str = ""
    village: str = ""
    police_station: str = ""
    contractor: str = ""
    networked: Annotated[bool, BeforeValidator(_flag)] = True
    site: str = ""
    switch: str = ""
    fibre: str = ""
    power: str = ""
    tier: str = "default"
    priority: Annotated[bool, BeforeValidator(_flag)] = False
    gb_id: Annotated[GbId | None, BeforeValidator(_gb_id)] = None
    gb_device: Annotated[GbId | None, BeforeValidator(_gb_id)] = None
    transport: Annotated[Transport, BeforeValidator(_transport)] = "auto"
    recorder: str | None = Field(None, min_length=1, max_length=128)
    recorder_channel: str | None = Field(None, min_length=1, max_length=64)
    timezone: Annotated[TimeZoneName | None, BeforeValidator(_blank_none)] = None


# Full-width forms (U+FF01–FF5E) and the ideographic space, as a Chinese input method types them in an
# address or a number (１２７．２０．０．１５, １１５．６５１２３４, ５５４), become their ASCII selves.
_HALFWIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
# Words for people (names, places, companies) are kept exactly as typed; every other field is read by a
# machine (addresses, numbers, ids, flags) and is normalised.
TEXT_FIELDS = frozenset(
    {"name", "county", "township", "village", "police_station", "contractor", "site", "vendor", "model"}
)


def halfwidth(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` with full-width characters in its machine-read text fields made ASCII."""
    return {
        k: v.translate(_HALFWIDTH) if isinstance(v, str) and k not in TEXT_FIELDS else v
        for k, v in values.items()
    }


def validation_reason(error: Mapping[str, Any]) -> str:
    """A pydantic error as a sentence, with the offending value when that helps (URL passwords masked)."""
    kind = error["type"]
    if kind == "missing":
        return "required field is missing"
    message = str(error["msg"]).removeprefix("Value error, ")
    value = error.get("input")
    if kind != "value_error" and isinstance(value, str | int | float) and not isinstance(value, bool):
        shown = mask_url(value) if isinstance(value, str) else value
        message += f" (got {redact_url(repr(shown))})"
    return message
