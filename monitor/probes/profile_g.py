"""A bounded ONVIF Profile G client for recorders: the recorder's clock, its storage, one recording's footage.

Raw SOAP 1.2 over aiohttp rather than onvif-zeep-async: every request is one bounded exchange
(``bounded_http``: a reply read through a size cap, no redirect followed), its reply parsed with defusedxml
(entity tricks refused), only the few fields used are read, and the services' XAddrs come from
``GetServices`` and are followed only when they name the recorder's own host and port (the library would
send the login wherever an XAddr points, and builds a full zeep object tree of every reply: heavy for an
hourly round over thousands of channels). The message layouts are those of ONVIF's
``devicemgmt.wsdl``, ``search.wsdl`` and ``recording.wsdl``; the login is a WS-Security UsernameToken with a
password digest, dated by the recorder's clock, and a device that also asks for HTTP Digest (or Basic) has
its challenge answered, as ISAPI's client does.

Footage: ``GetRecordingInformation`` gives the recording's tracks and their ``DataFrom``/``DataTo``; gaps
come from ``FindEvents`` on ``tns1:RecordingHistory/Track/State`` (``IsDataPresent``), paged with
``GetEventSearchResults`` and ended with ``EndSearch``, bounded in items and pages. A device without event
search (a SOAP fault, or no search capability for it) gives its track range: one piece, no gaps seen.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import aiohttp
from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from camwatch.monitor.probes.base import AUTH_FAILED, ERROR, NOT_FOUND
from camwatch.monitor.probes.bounded_http import DeviceFailed, HttpLogin, exchange, refused

DEVICE = "http://www.onvif.org/ver10/device/wsdl"
SEARCH = "http://www.onvif.org/ver10/search/wsdl"
RECORDING = "http://www.onvif.org/ver10/recording/wsdl"
SCHEMA = "http://www.onvif.org/ver10/schema"
WSNT = "http://docs.oasis-open.org/wsn/b-2"  # tt:EventFilter is a wsnt:FilterType: its TopicExpression
TOPIC = "tns1:RecordingHistory/Track/State"
TOPICS = "http://www.onvif.org/ver10/topics"
DEVICE_PATH = "/onvif/device_service"
# Results asked per GetEventSearchResults page, and how long the device may wait to fill one.
PAGE = 100
WAIT = "PT2S"
END_WAIT = 3.0  # seconds an EndSearch may take after a search given up
_WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
_WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
_DIGEST = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest"
_BASE64 = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
# Storage states (a vendor's ``State``/``Status`` in ``StorageConfigurationData``'s extension) that record.
_SOUND_STORAGE = frozenset({"ok", "normal", "idle", "active", "recording", "ready"})


class OnvifFailed(DeviceFailed):
    """The recorder could not be asked: a probe status (``base``) and a short reason without secrets."""


class Incomplete(Exception):
    """The recorder answered, but not whole: cut short, over a bound, or inconsistent."""


class NotSupported(Exception):
    """The device answered an operation with a fault saying it does not do it."""


@dataclass(frozen=True, slots=True)
class Storage:
    """One storage configuration (``GetStorageConfigurations``); ONVIF gives no sizes."""

    name: str
    status: str
    ok: bool


@dataclass(frozen=True, slots=True)
class Footage:
    """One recording's footage as the device reports it (epoch seconds)."""

    ranges: list[tuple[float, float]]
    oldest: float | None
    source: str  # "events" (RecordingHistory) or "track" (DataFrom..DataTo only: no gaps seen)
    summary: dict[str, float] = field(default_factory=dict)


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _children(element: Element, name: str) -> Iterator[Element]:
    return (child for child in element if _local(child.tag) == name)


def _child(element: Element | None, *path: str) -> Element | None:
    for name in path:
        if element is None:
            return None
        element = next(_children(element, name), None)
    return element


def _text(element: Element | None, *path: str) -> str | None:
    found = _child(element, *path)
    return None if found is None or found.text is None else found.text.strip()


def parse_time(text: str, zone: ZoneInfo) -> float:
    """Epoch seconds of an xs:dateTime: ``Z`` or an offset as written (ONVIF speaks UTC); no zone at all:
    the recorder's local time."""
    raw = text.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"not an xs:dateTime: {text[:40]!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=zone)
    return when.timestamp()


def format_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_xml(body: bytes) -> Element:
    """A reply's XML, refusing entity tricks (billion laughs, external entities)."""
    try:
        root: Element = SafeET.fromstring(body)
    except (SafeET.ParseError, DefusedXmlException, ValueError) as exc:
        raise OnvifFailed(ERROR, f"the reply is not XML ONVIF can read ({type(exc).__name__})") from None
    return root


def _fault(body: Element) -> tuple[str, str] | None:
    """(the innermost fault code's local name, its reason) of a SOAP 1.2 fault, or None."""
    fault = _child(body, "Fault")
    if fault is None:
        return None
    codes: list[str] = []
    code = _child(fault, "Code")
    while code is not None and len(codes) < 8:
        codes.append((_text(code, "Value") or "").rpartition(":")[2])
        code = _child(code, "Subcode")
    reason = _text(fault, "Reason", "Text") or ""
    return (codes[-1] if codes else "", reason[:200])


@dataclass
class Client:
    """One recorder's ONVIF services over ``session``. ``limit``: bytes of one reply."""

    session: aiohttp.ClientSession
    host: str
    port: int
    username: str | None
    password: str
    limit: int
    offset: float = 0.0  # the recorder's clock minus ours: WS-Security is dated by the recorder's clock
    xaddrs: dict[str, str] = field(default_factory=dict)  # service namespace -> path on the recorder
    _login: HttpLogin = field(init=False, repr=False)  # an HTTP login the device asks for beside WS-Security

    def __post_init__(self) -> None:
        self._login = HttpLogin(self.username, self.password, OnvifFailed)

    @property
    def base(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def _security(self) -> str:
        if self.username is None:
            return ""
        nonce = os.urandom(16)
        created = datetime.fromtimestamp(time.time() + self.offset, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        digest = hashlib.sha1(nonce + created.encode() + self.password.encode()).digest()
        return (
            f'<s:Header><wsse:Security xmlns:wsse="{_WSSE}" xmlns:wsu="{_WSU}"><wsse:UsernameToken>'
            f"<wsse:Username>{escape(self.username)}</wsse:Username>"
            f'<wsse:Password Type="{_DIGEST}">{base64.b64encode(digest).decode()}</wsse:Password>'
            f'<wsse:Nonce EncodingType="{_BASE64}">{base64.b64encode(nonce).decode()}</wsse:Nonce>'
            f"<wsu:Created>{created}</wsu:Created></wsse:UsernameToken></wsse:Security></s:Header>"
        )

    async def call(self, service: str, operation: str, inner: str = "", *, login: bool = True) -> Element:
        """The reply element of ``operation`` (in ``service``'s namespace) with ``inner`` as its content."""
        path = DEVICE_PATH if service == DEVICE else self.xaddrs.get(service)
        if path is None:
            raise NotSupported(f"the device offers no {service.rsplit('/', 2)[-2]} service")
        envelope = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:tt="{SCHEMA}">'
            f"{self._security() if login else ''}"
            f'<s:Body><m:{operation} xmlns:m="{service}">{inner}</m:{operation}></s:Body></s:Envelope>'
        )
        headers = {"Content-Type": f'application/soap+xml; charset=utf-8; action="{service}/{operation}"'}
        # A device that asks for HTTP Digest (or Basic) beside WS-Security has its challenge answered.
        reply = await exchange(
            self.session, "POST", self.base + path, path, limit=self.limit,
            login=self._login if login else None, headers=headers, body=envelope.encode(),
        )  # fmt: skip
        status = reply.status
        if (refusal := refused(status, path)) is not None or status not in (200, 400, 500):
            reply.close()
            probe_status, reason = refusal or (ERROR, f"HTTP {status}")
            raise OnvifFailed(probe_status, f"{operation}: {reason}")
        root = parse_xml(await reply.read())
        body = _child(root, "Body")
        if body is None:
            raise OnvifFailed(ERROR, f"{operation}: the reply is no SOAP envelope")
        fault = _fault(body)
        if fault is not None:
            code, reason = fault
            if code == "NotAuthorized":
                raise OnvifFailed(AUTH_FAILED, f"{operation}: not authorized (wrong username or password)")
            if code in ("ActionNotSupported", "NotSupported", "InvalidArgVal") or status == 400:
                raise NotSupported(f"{operation}: {code or 'fault'} {reason}".strip())
            raise OnvifFailed(ERROR, f"{operation}: SOAP fault {code}: {reason}".strip())
        answer = next(iter(body), None)
        if answer is None or _local(answer.tag) != f"{operation}Response":
            raise OnvifFailed(ERROR, f"{operation}: the reply holds no {operation}Response")
        return answer


async def connect(client: Client) -> float:
    """The recorder's clock (``GetSystemDateAndTime``, epoch seconds) and its services' XAddrs (on its own
    host and port only); sets the client's clock offset."""
    before = time.time()
    answer = await client.call(DEVICE, "GetSystemDateAndTime", login=False)
    utc = _child(answer, "SystemDateAndTime", "UTCDateTime")
    try:
        d, t = _child(utc, "Date"), _child(utc, "Time")
        year, month, day = (int(_text(d, n) or "") for n in ("Year", "Month", "Day"))
        hour, minute, second = (int(_text(t, n) or "") for n in ("Hour", "Minute", "Second"))
        now = datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp() + 0.5  # truncated
    except (TypeError, ValueError):
        raise OnvifFailed(ERROR, "GetSystemDateAndTime: no UTCDateTime the probe can read") from None
    client.offset = now - (before + time.time()) / 2
    services = await client.call(DEVICE, "GetServices", "<m:IncludeCapability>false</m:IncludeCapability>")
    for service in list(_children(services, "Service"))[:64]:
        namespace, xaddr = _text(service, "Namespace"), _text(service, "XAddr")
        if namespace not in (SEARCH, RECORDING) or not xaddr:
            continue
        parts_of = urlsplit(xaddr)
        try:
            port = parts_of.port or (443 if parts_of.scheme == "https" else 80)
        except ValueError:
            port = -1
        if (
            (parts_of.hostname or "").lower() != client.host
            or port != client.port
            or parts_of.scheme != "http"
        ):
            where = f"{parts_of.hostname}:{port}" if parts_of.hostname else xaddr[:60]
            raise OnvifFailed(
                ERROR, f"GetServices: the {namespace.rsplit('/', 2)[-2]} service is at {where}, not on the "
                "recorder's own host: not followed (the login stays)",
            )  # fmt: skip
        client.xaddrs[namespace] = parts_of.path or "/"
    if SEARCH not in client.xaddrs:
        raise OnvifFailed(NOT_FOUND, "the device offers no ONVIF search service (Profile G)")
    return now


async def storage(client: Client, max_storage: int = 64) -> list[Storage]:
    """The recorder's storage configurations; none where the device does not offer the operation.

    ONVIF's ``StorageConfigurationData`` carries no health: a ``State``/``Status`` that a device writes in
    its ``Extension`` is read, and a storage without one is taken as sound."""
    try:
        answer = await client.call(DEVICE, "GetStorageConfigurations")
    except NotSupported:
        return []
    found: list[Storage] = []
    for config in _children(answer, "StorageConfigurations"):
        if len(found) >= max_storage:
            raise Incomplete(f"more than {max_storage} storage configurations")
        data = _child(config, "Data")
        extension = _child(data, "Extension")
        state = (_text(extension, "State") or _text(extension, "Status") or "ok")[:32]
        name = (config.get("token") or _text(data, "LocalPath") or "?")[:64]
        found.append(Storage(name, state, state.lower() in _SOUND_STORAGE))
    return found


async def summary(client: Client, zone: ZoneInfo) -> dict[str, float]:
    """``GetRecordingSummary``: DataFrom, DataUntil (epoch seconds) and NumberRecordings."""
    answer = _child(await client.call(SEARCH, "GetRecordingSummary"), "Summary")
    out: dict[str, float] = {}
    try:
        for name in ("DataFrom", "DataUntil"):
            text = _text(answer, name)
            if text:
                out[name] = parse_time(text, zone)
        number = _text(answer, "NumberRecordings")
        if number is not None:
            out["NumberRecordings"] = float(int(number))
    except ValueError as exc:
        raise Incomplete(f"GetRecordingSummary: {exc}") from None
    return out


async def recordings(client: Client, max_items: int) -> list[str]:
    """The recording tokens (``GetRecordings``), in the device's order."""
    answer = await client.call(RECORDING, "GetRecordings")
    tokens: list[str] = []
    for item in _children(answer, "RecordingItem"):
        if len(tokens) >= max_items:
            raise Incomplete(f"more than {max_items} recordings")
        token = _text(item, "RecordingToken")
        if token:
            tokens.append(token[:64])
    return tokens


async def track_range(client: Client, token: str, zone: ZoneInfo) -> tuple[str | None, float, float] | None:
    """(the video track's token, DataFrom, DataTo) of recording ``token``, or None when it holds no data."""
    answer = await client.call(
        SEARCH, "GetRecordingInformation", f"<m:RecordingToken>{escape(token)}</m:RecordingToken>"
    )
    info = _child(answer, "RecordingInformation")
    if info is None:
        raise Incomplete("GetRecordingInformation: no RecordingInformation")
    tracks = list(_children(info, "Track"))[:64]
    video = next(
        (t for t in tracks if (_text(t, "TrackType") or "") == "Video"), tracks[0] if tracks else None
    )
    try:
        if video is not None and _text(video, "DataFrom") and _text(video, "DataTo"):
            start = parse_time(_text(video, "DataFrom") or "", zone)
            end = parse_time(_text(video, "DataTo") or "", zone)
            return _text(video, "TrackToken"), start, end
        earliest, latest = _text(info, "EarliestRecording"), _text(info, "LatestRecording")
        if earliest and latest:
            return None, parse_time(earliest, zone), parse_time(latest, zone)
    except ValueError as exc:
        raise Incomplete(f"GetRecordingInformation: {exc}") from None
    return None


def _find_events(token: str, start: float, end: float) -> str:
    return (
        f"<m:StartPoint>{format_time(start)}</m:StartPoint><m:EndPoint>{format_time(end)}</m:EndPoint>"
        f"<m:Scope><tt:IncludedRecordings>{escape(token)}</tt:IncludedRecordings></m:Scope>"
        f'<m:SearchFilter><wsnt:TopicExpression xmlns:wsnt="{WSNT}" xmlns:tns1="{TOPICS}" '
        f'Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet">{TOPIC}</wsnt:TopicExpression>'
        "</m:SearchFilter><m:IncludeStartState>true</m:IncludeStartState><m:KeepAliveTime>PT10S</m:KeepAliveTime>"
    )


def _state_change(result: Element, zone: ZoneInfo, track: str | None) -> tuple[float, bool] | None:
    """(time, IsDataPresent) of one FindEvents result on ``track`` (None: another track)."""
    if track is not None and (_text(result, "TrackToken") or track) != track:
        return None
    when = _text(result, "Time")
    data = _child(result, "Event", "Message", "Message", "Data")
    if data is None:
        data = _child(result, "Event", "Message", "Data")
    value = next(
        (i.get("Value") for i in _children(data, "SimpleItem") if i.get("Name") == "IsDataPresent"), None
    ) if data is not None else None  # fmt: skip
    if not when or value not in ("true", "false", "1", "0"):
        raise Incomplete("FindEvents: a result without its time or IsDataPresent")
    try:
        return parse_time(when, zone), value in ("true", "1")
    except ValueError as exc:
        raise Incomplete(f"FindEvents: {exc}") from None


async def history(
    client: Client,
    token: str,
    track: str | None,
    start: float,
    end: float,
    zone: ZoneInfo,
    *,
    max_items: int,
    max_pages: int,
) -> list[tuple[float, bool]]:
    """The track's data-present changes between ``start`` and ``end`` (with the state at ``start``)."""
    answer = await client.call(SEARCH, "FindEvents", _find_events(token, start, end))
    search_token = _text(answer, "SearchToken")
    if not search_token:
        raise Incomplete("FindEvents: no SearchToken")
    changes: list[tuple[float, bool]] = []
    try:
        for _ in range(max_pages):
            page = await client.call(
                SEARCH,
                "GetEventSearchResults",
                f"<m:SearchToken>{escape(search_token[:128])}</m:SearchToken><m:MinResults>1</m:MinResults>"
                f"<m:MaxResults>{PAGE}</m:MaxResults><m:WaitTime>{WAIT}</m:WaitTime>",
            )
            results = _child(page, "ResultList")
            state = _text(results, "SearchState")
            if state not in ("Queued", "Searching", "Completed"):
                raise Incomplete(f"GetEventSearchResults: search state {str(state)[:20]!r}")
            items = list(_children(results, "Result")) if results is not None else []
            if len(items) > PAGE or len(changes) + len(items) > max_items:
                raise Incomplete(f"more than {max_items} footage events")
            for item in items:
                change = _state_change(item, zone, track)
                if change is not None:
                    changes.append(change)
            if state == "Completed":
                return changes
        raise Incomplete(f"search still running after {max_pages} pages")
    except Exception:
        # Free the device's search, briefly (not on a cancel: the deadline has passed then); a recorder that
        # cannot end it is no reason to hide why we stopped.
        with contextlib.suppress(Exception):
            async with asyncio.timeout(END_WAIT):
                await client.call(
                    SEARCH, "EndSearch", f"<m:SearchToken>{escape(search_token[:128])}</m:SearchToken>"
                )
        raise


def ranges_of(changes: list[tuple[float, bool]], start: float, end: float) -> list[tuple[float, float]]:
    """Footage pieces from data-present changes: from a ``true`` to the next ``false`` (or ``end``)."""
    pieces: list[tuple[float, float]] = []
    opened: float | None = None
    for when, present in sorted(changes, key=lambda c: c[0]):
        if present and opened is None:
            opened = max(when, start)
        elif not present and opened is not None:
            pieces.append((opened, when))
            opened = None
    if opened is not None and end > opened:
        pieces.append((opened, end))
    return pieces


async def footage(
    client: Client, token: str, start: float, now: float, zone: ZoneInfo, *, max_items: int, max_pages: int
) -> Footage:
    """Recording ``token``'s footage between ``start`` and ``now``, and the oldest footage it keeps."""
    found = await track_range(client, token, zone)
    if found is None:
        return Footage([], None, "track")
    track, first, last = found
    try:
        changes = await history(
            client, token, track, max(start, first), now, zone, max_items=max_items, max_pages=max_pages
        )
    except NotSupported:
        return Footage([(first, last)], first, "track")
    return Footage(ranges_of(changes, max(start, first), min(now, last)), first, "events")
