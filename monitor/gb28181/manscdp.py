"""MANSCDP+xml bodies (GB/T 28181 Annex A): decode GB2312/UTF-8, parse safely, and build our queries."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from camwatch.monitor.gb28181.sip import number

_DECLARED = re.compile(rb"""<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
# GB2312 and GBK are subsets of GB18030: one decoder reads what devices label with any of the three.
_GB = {"gb2312", "gbk", "gb18030", "gb_2312-80", "cp936"}
_UTF8 = {"utf-8", "utf8"}

# Status words devices use for a channel: the standard's ON/OFF, and vendor variants seen in the field.
_UP_WORDS = {"ON", "ONLINE", "OK"}
_DOWN_WORDS = {"OFF", "OFFLINE"}


class ManscdpError(ValueError):
    """A body that is not a MANSCDP document we can read."""


@dataclass(frozen=True, slots=True)
class CatalogItem:
    device_id: str
    name: str = ""
    status: bool | None = None  # None: the device gave no status word we know
    event: str = ""  # NOTIFY events: ON, OFF, ADD, DEL, UPDATE, VLOST, DEFECT


@dataclass(frozen=True, slots=True)
class RecordItem:
    """One footage item of a RecordInfo answer: its times as the device wrote them (local time, mostly)."""

    device_id: str
    start: str
    end: str


@dataclass(frozen=True, slots=True)
class Manscdp:
    """The fields of one MANSCDP document camwatch uses."""

    root: str  # Query, Response, Notify, Control
    cmd: str  # Keepalive, Catalog, DeviceStatus, ...
    sn: int
    device_id: str
    status: str = ""  # Keepalive / DeviceStatus Status (OK / ERROR)
    sum_num: int = 0
    items: tuple[CatalogItem, ...] = ()
    online: str = ""  # DeviceStatus ONLINE / OFFLINE
    device_time: datetime | None = None
    extra: dict[str, str] = field(default_factory=dict)  # DeviceStatus Record, Encode, Result
    records: tuple[RecordItem, ...] = ()  # RecordInfo: this part's RecordList items
    alarm_method: str = ""  # Alarm Notify: AlarmMethod (2 device alarm, 6 device fault, ...)
    alarm_type: str = ""  # Alarm Notify: Info/AlarmType (2/3 disk full, 6/1 disk failure)


def channel_up(word: str) -> bool | None:
    """ON/ONLINE/OK → True, OFF/OFFLINE → False, anything else → None (case-insensitive)."""
    word = word.strip().upper()
    return True if word in _UP_WORDS else False if word in _DOWN_WORDS else None


def decode(body: bytes, content_type: str = "") -> str:
    """The body as text: the charset the headers or XML declaration name, else UTF-8, else GB18030.

    Devices mislabel bodies both ways, so a declared charset that does not decode falls through to the others.
    """
    declared = []
    if (m := re.search(r"charset\s*=\s*([A-Za-z0-9._-]+)", content_type)) is not None:
        declared.append(m.group(1))
    if (d := _DECLARED.search(body[:200])) is not None:
        declared.append(d.group(1).decode("ascii"))
    # Only the charsets devices use; any other label (or a trick such as "idna") falls back to these two.
    codecs = ["gb18030" if n.lower() in _GB else "utf-8" for n in declared if n.lower() in _GB | _UTF8]
    for codec in (*codecs, "utf-8", "gb18030"):
        try:
            return body.decode(codec)
        except UnicodeError:
            continue
    raise ManscdpError("body is neither UTF-8 nor GB18030 text")


def _text(el: Element | None, tag: str) -> str:
    found = el.find(tag) if el is not None else None
    return (found.text or "").strip() if found is not None else ""


def _time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def clock_offset(device_time: datetime) -> float:
    """``DeviceTime`` minus our clock in seconds. Most devices send local time without a zone (compared with
    our local time); one with a zone (``+08:00``) is compared as the instant it names."""
    if device_time.tzinfo is not None:
        return (device_time - datetime.now(UTC)).total_seconds()
    return (device_time - datetime.now()).total_seconds()


def parse(body: bytes, content_type: str = "", *, max_items: int) -> Manscdp:
    """Parse a MANSCDP body; at most ``max_items`` catalog items are read (the rest are ignored)."""
    text = _DECLARATION.sub("", decode(body, content_type), count=1)
    try:
        root = SafeET.fromstring(text)
    except (SafeET.ParseError, DefusedXmlException) as exc:
        raise ManscdpError(f"not well-formed or unsafe XML: {exc}") from None
    items = []
    device_list = root.find("DeviceList")
    if device_list is not None:
        for item in device_list.findall("Item")[:max_items]:
            event = _text(item, "Event").upper()
            status = channel_up(_text(item, "Status"))
            if status is None and event in ("ON", "OFF"):
                status = event == "ON"
            items.append(
                CatalogItem(
                    device_id=_text(item, "DeviceID"),
                    name=_text(item, "Name"),
                    status=status,
                    event=event,
                )
            )
    record_list = root.find("RecordList")
    records = tuple(
        RecordItem(_text(item, "DeviceID"), _text(item, "StartTime"), _text(item, "EndTime"))
        for item in (record_list.findall("Item")[:max_items] if record_list is not None else ())
    )
    return Manscdp(
        root=root.tag,
        cmd=_text(root, "CmdType"),
        sn=number(_text(root, "SN")),
        device_id=_text(root, "DeviceID"),
        status=_text(root, "Status"),
        sum_num=number(_text(root, "SumNum")),
        items=tuple(i for i in items if i.device_id),
        online=_text(root, "Online"),
        device_time=_time(_text(root, "DeviceTime")),
        extra={k: v for k in ("Record", "Encode", "Result") if (v := _text(root, k))},
        records=records,
        alarm_method=_text(root, "AlarmMethod")[:8],
        alarm_type=(_text(root.find("Info"), "AlarmType") or _text(root, "AlarmType"))[:8],
    )


def query(cmd: str, sn: int, device_id: str, fields: Iterable[tuple[str, str]] = ()) -> bytes:
    """A ``<Query>`` for ``Catalog``, ``DeviceStatus`` or ``RecordInfo`` (with its ``fields``, in order;
    UTF-8: devices accept it, WVP sends the same). Field values are ours (times, digits), never a peer's."""
    more = "".join(f"<{name}>{value}</{name}>\r\n" for name, value in fields)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\r\n<Query>\r\n'
        f"<CmdType>{cmd}</CmdType>\r\n<SN>{sn}</SN>\r\n<DeviceID>{device_id}</DeviceID>\r\n{more}</Query>\r\n"
    ).encode()
