"""A bounded Hikvision ISAPI client for recorders (NVRs): footage search, disks and the recorder's clock.

Every request is one bounded exchange (``bounded_http``: a reply read through a size cap, no redirect
followed, a Digest or Basic challenge answered only from the recorder itself), so credentials never leave
for another host. A search is paged (``searchResultPostion``/``maxResults``) and bounded in pages and
items: an endless ``MORE``, a page that brings nothing new or a ``numOfMatches`` that differs from the
items sent makes the answer ``Incomplete`` — never a gap.

Many NVRs write their local time with a ``Z``, as if it were UTC: a time with ``Z`` (or no zone at all) is
read in the recorder's configured ``timezone``; a time with an explicit offset is taken as written.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import aiohttp
from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from camwatch.monitor.probes.base import ERROR, NOT_FOUND
from camwatch.monitor.probes.bounded_http import DeviceFailed, HttpLogin, exchange, refused

NAMESPACE = "http://www.hikvision.com/ver20/XMLSchema"
# Results asked per page: what Hikvision's own clients ask.
PAGE = 40
MIB = 1024 * 1024
# Disk states in which a disk records; ``property`` RO (read-only) is a fault whatever the state.
_SOUND_DISKS = frozenset({"ok", "idle", "sleep", "sleeping", "full"})
# Less free space than this is a full disk: with overwrite on the NVR deletes its oldest footage, with
# overwrite off it stops recording (a storage fault).
FULL_BELOW = 256 * 1024 * 1024


class IsapiFailed(DeviceFailed):
    """The recorder could not be asked: a probe status (``base``) and a short reason without secrets."""


class Incomplete(Exception):
    """The recorder answered, but not whole: cut short, over a bound, or inconsistent."""


@dataclass(frozen=True, slots=True)
class Disk:
    """One recorder disk as ``/ISAPI/ContentMgmt/Storage`` lists it (sizes in bytes)."""

    name: str
    status: str
    read_only: bool
    capacity_bytes: float | None
    free_bytes: float | None
    overwrite: bool | None = None  # the recorder's overwrite setting, read only when a disk is full

    @property
    def full(self) -> bool:
        return self.status.lower() == "full" or (self.free_bytes is not None and self.free_bytes < FULL_BELOW)

    @property
    def ok(self) -> bool:
        sound = self.status.lower() in _SOUND_DISKS and not self.read_only
        return sound and not (self.full and self.overwrite is False)


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _children(element: Element, name: str) -> Iterator[Element]:
    return (child for child in element if _local(child.tag) == name)


def _text(element: Element, name: str) -> str | None:
    child = next(_children(element, name), None)
    return None if child is None or child.text is None else child.text.strip()


def parse_xml(body: bytes) -> Element:
    """A reply's XML, refusing entity tricks (billion laughs, external entities)."""
    try:
        root: Element = SafeET.fromstring(body)
    except (SafeET.ParseError, DefusedXmlException, ValueError) as exc:
        raise IsapiFailed(ERROR, f"the reply is not XML ISAPI can read ({type(exc).__name__})") from None
    return root


def parse_time(text: str, zone: ZoneInfo) -> float:
    """Epoch seconds of an ISAPI time; ``Z`` or no zone: the recorder's local time (see module doc)."""
    raw = text.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1]
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"not an ISAPI time: {text[:40]!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=zone)
    return when.timestamp()


def format_time(epoch: float, zone: ZoneInfo) -> str:
    """An ISAPI search time: the recorder's local time, written with ``Z`` as its own clients do."""
    return datetime.fromtimestamp(epoch, zone).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Client:
    """One recorder's ISAPI over ``session`` (one connection). ``limit``: bytes of one reply."""

    session: aiohttp.ClientSession
    base: str
    username: str | None
    password: str
    limit: int
    _login: HttpLogin = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._login = HttpLogin(self.username, self.password, IsapiFailed)

    async def request(self, method: str, path: str, body: bytes | None = None) -> bytes:
        """The reply body of ``method path``; a login answers the recorder's challenge (kept for the next
        requests, answered afresh once when the recorder challenges again: a new or stale nonce)."""
        headers = {"Content-Type": 'application/xml; charset="UTF-8"'} if body is not None else None
        response = await exchange(
            self.session, method, self.base + path, path, limit=self.limit, login=self._login,
            headers=headers, body=body,
        )  # fmt: skip
        status = response.status
        if status == 200:
            return await response.read()
        response.close()
        raise IsapiFailed(*(refused(status, path) or (ERROR, f"HTTP {status} for {path}")))


async def clock(client: Client, zone: ZoneInfo) -> float:
    """The recorder's own clock (``/ISAPI/System/time``), epoch seconds."""
    root = parse_xml(await client.request("GET", "/ISAPI/System/time"))
    local = _text(root, "localTime")
    if not local:
        raise IsapiFailed(ERROR, "the recorder's time has no localTime")
    try:
        return parse_time(local, zone)
    except ValueError as exc:
        raise IsapiFailed(ERROR, str(exc)) from None


def _megabytes(text: str | None) -> float | None:
    try:
        value = float(text) if text else None
    except ValueError:
        return None
    return value * MIB if value is not None and 0 <= value < 1e12 else None


async def disks(client: Client, max_disks: int = 64) -> list[Disk]:
    """The recorder's disks (``/ISAPI/ContentMgmt/Storage``: local disks and NAS), at most ``max_disks``."""
    root = parse_xml(await client.request("GET", "/ISAPI/ContentMgmt/Storage"))
    found: list[Disk] = []
    for listing, item in (("hddList", "hdd"), ("nasList", "nas")):
        for group in _children(root, listing):
            for disk in _children(group, item):
                if len(found) >= max_disks:
                    raise Incomplete(f"more than {max_disks} disks")
                name = (_text(disk, "hddName") or _text(disk, "id") or "?")[:64]
                found.append(
                    Disk(
                        name=name,
                        status=(_text(disk, "status") or "unknown")[:32],
                        read_only=(_text(disk, "property") or "").upper() == "RO",
                        capacity_bytes=_megabytes(_text(disk, "capacity")),
                        free_bytes=_megabytes(_text(disk, "freeSpace")),
                    )
                )
    return found


async def with_overwrite(client: Client, found: list[Disk]) -> list[Disk]:
    """``found`` with the recorder's overwrite setting (``/ISAPI/ContentMgmt/Storage/extension``,
    ``overwrite``); a recorder without that resource overwrites (the NVRs' default), as do unreadable ones."""
    try:
        root = parse_xml(await client.request("GET", "/ISAPI/ContentMgmt/Storage/extension"))
    except IsapiFailed as exc:
        if exc.status == NOT_FOUND:
            return found
        raise
    text = (_text(root, "overwrite") or "").lower()
    if text not in ("true", "false"):
        return found
    overwrite = text == "true"
    # A full disk that does not overwrite says so in its status (``full``), whatever the NVR wrote.
    return [
        replace(d, overwrite=overwrite, status=d.status if overwrite or not d.full else "full") for d in found
    ]


def search_body(search_id: str, track: int, start: str, end: str, position: int, count: int) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<CMSearchDescription version="1.0" xmlns="{NAMESPACE}">'
        f"<searchID>{escape(search_id)}</searchID>"
        f"<trackList><trackID>{track}</trackID></trackList>"
        "<timeSpanList><timeSpan>"
        f"<startTime>{start}</startTime><endTime>{end}</endTime>"
        "</timeSpan></timeSpanList>"
        f"<maxResults>{count}</maxResults>"
        f"<searchResultPostion>{position}</searchResultPostion>"
        "<metadataList><metadataDescriptor>//recordType.meta.std-cgi.com</metadataDescriptor></metadataList>"
        "</CMSearchDescription>"
    ).encode()


async def search(
    client: Client,
    channel: int,
    start: float,
    end: float,
    zone: ZoneInfo,
    *,
    max_items: int,
    max_pages: int,
    first_only: bool = False,
) -> list[tuple[float, float]]:
    """Footage ranges of ``channel`` (track ``channel × 100 + 1``) between ``start`` and ``end``.

    ``first_only``: one result is enough (the recorder's oldest footage: results come in time order).
    Raises ``Incomplete`` when the answer cannot be had whole within ``max_items`` and ``max_pages``.
    """
    track = channel * 100 + 1
    span = format_time(start, zone), format_time(end, zone)
    search_id = str(uuid.uuid4()).upper()
    ranges: list[tuple[float, float]] = []
    for page in range(max_pages):
        count = 1 if first_only else PAGE
        body = search_body(search_id, track, *span, len(ranges), count)
        root = parse_xml(await client.request("POST", "/ISAPI/ContentMgmt/search", body))
        state = (_text(root, "responseStatusStrg") or "").upper()
        if state == "NO MATCHES":
            return ranges
        if state not in ("OK", "MORE"):
            raise IsapiFailed(ERROR, f"search answered {state[:20] or 'no responseStatusStrg'}")
        items = [i for m in _children(root, "matchList") for i in _children(m, "searchMatchItem")]
        claimed = _text(root, "numOfMatches")
        if claimed is None or not claimed.isdigit() or int(claimed) != len(items) or len(items) > count:
            raise Incomplete(f"page {page + 1}: numOfMatches {claimed!r} but {len(items)} items sent")
        if len(ranges) + len(items) > max_items:
            raise Incomplete(f"more than {max_items} footage items")
        for item in items:
            span_of = next(_children(item, "timeSpan"), None)
            begin = _text(span_of, "startTime") if span_of is not None else None
            finish = _text(span_of, "endTime") if span_of is not None else None
            if not begin or not finish:
                raise Incomplete(f"page {page + 1}: an item without its time span")
            try:
                ranges.append((parse_time(begin, zone), parse_time(finish, zone)))
            except ValueError as exc:
                raise Incomplete(str(exc)) from None
        if state == "OK" or first_only:
            return ranges
        if not items:
            raise Incomplete(f"page {page + 1}: MORE without any item")
    raise Incomplete(f"still MORE after {max_pages} pages")


def lookback(retention_target: float) -> timedelta:
    """How far back the oldest footage is looked for: well beyond the target, so a long one shows."""
    return timedelta(seconds=max(2 * retention_target, 400 * 86400.0))
