"""A simulated ONVIF Profile G recorder (an NVR, or a camera with its own storage), for the demo and tests.

Written from the message layouts of ONVIF's ``devicemgmt.wsdl`` (GetSystemDateAndTime, GetServices,
GetStorageConfigurations), ``recording.wsdl`` (GetRecordings) and ``search.wsdl`` (GetRecordingSummary,
GetRecordingInformation, FindEvents / GetEventSearchResults / EndSearch on
``tns1:RecordingHistory/Track/State``), with its own WS-Security UsernameToken digest check. Nothing of
camwatch's client is used to speak the protocol.

Each recording has footage ranges (epoch seconds; an open end means "still recording", clipped to the
device's clock). A recording can be made hostile: ``endless`` searches forever, ``partial`` answers results
without their data, ``unknown`` says its search state is Unknown, ``no_events`` does not do event search
(the client falls back to track ranges), ``huge`` pads replies, ``bomb`` answers an entity expansion bomb.
The device as a whole can point its search XAddr at another host (``foreign_xaddr``), redirect, or never
answer EndSearch in time (``end_search_hangs``).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import os
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape

from aiohttp import web

DEVICE = "http://www.onvif.org/ver10/device/wsdl"
SEARCH = "http://www.onvif.org/ver10/search/wsdl"
RECORDING = "http://www.onvif.org/ver10/recording/wsdl"
TT = "http://www.onvif.org/ver10/schema"
SOAP = "http://www.w3.org/2003/05/soap-envelope"
WSNT = "http://docs.oasis-open.org/wsn/b-2"
PATHS = {
    DEVICE: "/onvif/device_service",
    SEARCH: "/onvif/search_service",
    RECORDING: "/onvif/recording_service",
}
TRACK = "VIDEO001"
REALM = "IP Camera(G1234)"


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # RFC 2617 Digest is MD5


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.strip().replace("Z", "+00:00")).timestamp()


@dataclass
class Recording:
    ranges: list[tuple[float, float]] = field(default_factory=list)  # (start, end); end may be math.inf
    hostile: str = ""  # "", "endless", "partial", "unknown", "no_events", "huge", "bomb"


@dataclass
class Storage:
    token: str
    state: str = "OK"  # written in the configuration's Extension (ONVIF itself gives no storage health)


@dataclass
class _Search:
    changes: list[tuple[float, bool, bool]]  # (time, IsDataPresent, StartStateEvent)
    token: str
    hostile: str
    position: int = 0


@dataclass
class OnvifRecorder:
    """The device's state; its clock is ours plus ``skew`` seconds."""

    username: str = "admin"
    password: str = "onvif-rec-1"
    skew: float = 0.0
    recordings: dict[str, Recording] = field(default_factory=dict)
    storage: list[Storage] = field(default_factory=lambda: [Storage("SD1")])
    foreign_xaddr: str | None = None  # e.g. "http://127.0.0.9:80": the search service named there
    redirect_to: str | None = None
    end_search_hangs: bool = False  # EndSearch answers only after 6 s
    http_digest: bool = False  # also ask for an HTTP Digest login (RFC 2617, qop=auth), as some devices do
    _nonce: str = field(default_factory=lambda: os.urandom(8).hex())
    calls: list[str] = field(default_factory=list)
    ended: int = 0
    host: str = "127.0.0.1"
    port: int = 0
    _searches: dict[str, _Search] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def now(self) -> float:
        return time.time() + self.skew

    # --- SOAP ---------------------------------------------------------------------------------------------
    def _reply(self, inner: str, status: int = 200) -> web.Response:
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP}" '
            f'xmlns:tt="{TT}" xmlns:tds="{DEVICE}" xmlns:tse="{SEARCH}" xmlns:trc="{RECORDING}" '
            f'xmlns:wsnt="{WSNT}" xmlns:tns1="http://www.onvif.org/ver10/topics">'
            f"<SOAP-ENV:Body>{inner}</SOAP-ENV:Body></SOAP-ENV:Envelope>"
        )
        return web.Response(body=body.encode(), status=status, content_type="application/soap+xml")

    def _fault(self, subcode: str, reason: str) -> web.Response:
        inner = (
            "<SOAP-ENV:Fault><SOAP-ENV:Code><SOAP-ENV:Value>SOAP-ENV:Sender</SOAP-ENV:Value>"
            f'<SOAP-ENV:Subcode><SOAP-ENV:Value xmlns:ter="http://www.onvif.org/ver10/error">ter:{subcode}'
            "</SOAP-ENV:Value></SOAP-ENV:Subcode></SOAP-ENV:Code>"
            f'<SOAP-ENV:Reason><SOAP-ENV:Text xml:lang="en">{escape(reason)}</SOAP-ENV:Text>'
            "</SOAP-ENV:Reason>"
            "</SOAP-ENV:Fault>"
        )
        return self._reply(inner, 400)

    def _authorised(self, envelope: ET.Element) -> bool:
        token = next((e for e in envelope.iter() if e.tag.endswith("}UsernameToken")), None)
        if token is None:
            return False
        got = {child.tag.rpartition("}")[2]: (child.text or "") for child in token}
        try:
            nonce = base64.b64decode(got.get("Nonce", ""), validate=True)
        except ValueError:
            return False
        created = got.get("Created", "")
        digest = hashlib.sha1(nonce + created.encode() + self.password.encode()).digest()
        try:
            fresh = abs(_epoch(created) - self.now()) < 300  # a token dated by another clock is refused
        except ValueError:
            return False
        expected = base64.b64encode(digest).decode()
        return got.get("Username") == self.username and got.get("Password") == expected and fresh

    def _digest_ok(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Digest "):
            return False
        got = {k: a or b for k, a, b in re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]*))', header[7:])}
        if (
            got.get("username") != self.username
            or got.get("nonce") != self._nonce
            or got.get("uri") != request.path
        ):
            return False
        ha1 = _md5(f"{self.username}:{REALM}:{self.password}")
        ha2 = _md5(f"{request.method}:{got['uri']}")
        expected = _md5(f"{ha1}:{self._nonce}:{got.get('nc')}:{got.get('cnonce')}:auth:{ha2}")
        return got.get("qop") == "auth" and got.get("response") == expected

    async def _handle(self, request: web.Request) -> web.Response:
        if self.redirect_to is not None:
            raise web.HTTPFound(self.redirect_to)
        envelope = ET.fromstring(await request.read())
        body = next(e for e in envelope if e.tag.endswith("}Body"))
        call = body[0]
        name = call.tag.rpartition("}")[2]
        self.calls.append(name)
        q = {e.tag.rpartition("}")[2]: (e.text or "") for e in call.iter()}
        if name != "GetSystemDateAndTime" and self.http_digest and not self._digest_ok(request):
            challenge = f'Digest realm="{REALM}", qop="auth", nonce="{self._nonce}", algorithm=MD5'
            return web.Response(status=401, headers={"WWW-Authenticate": challenge})
        if name != "GetSystemDateAndTime" and not self._authorised(envelope):
            return self._fault("NotAuthorized", "Sender not Authorized")
        if name == "EndSearch" and self.end_search_hangs:
            await asyncio.sleep(6.0)  # past the client's wait for it (3 s), short of a test's patience
        handler = getattr(self, f"_op_{name}", None)
        if handler is None:
            return self._fault("ActionNotSupported", f"{name} is not supported")
        result: web.Response = handler(q)
        return result

    # --- device management --------------------------------------------------------------------------------
    def _op_GetSystemDateAndTime(self, q: dict[str, str]) -> web.Response:
        t = datetime.fromtimestamp(self.now(), UTC)
        return self._reply(
            "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>NTP</tt:DateTimeType>"
            "<tt:DaylightSavings>false</tt:DaylightSavings><tt:TimeZone><tt:TZ>UTC0</tt:TZ></tt:TimeZone>"
            f"<tt:UTCDateTime><tt:Time><tt:Hour>{t.hour}</tt:Hour><tt:Minute>{t.minute}</tt:Minute>"
            f"<tt:Second>{t.second}</tt:Second></tt:Time><tt:Date><tt:Year>{t.year}</tt:Year>"
            f"<tt:Month>{t.month}</tt:Month><tt:Day>{t.day}</tt:Day></tt:Date></tt:UTCDateTime>"
            "</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>"
        )

    def _op_GetServices(self, q: dict[str, str]) -> web.Response:
        own = f"http://{self.host}:{self.port}"
        services = "".join(
            f"<tds:Service><tds:Namespace>{ns}</tds:Namespace>"
            f"<tds:XAddr>{(self.foreign_xaddr or own) if ns == SEARCH else own}{path}</tds:XAddr>"
            "<tds:Version><tt:Major>2</tt:Major><tt:Minor>42</tt:Minor></tds:Version></tds:Service>"
            for ns, path in PATHS.items()
        )
        return self._reply(f"<tds:GetServicesResponse>{services}</tds:GetServicesResponse>")

    def _op_GetStorageConfigurations(self, q: dict[str, str]) -> web.Response:
        configs = "".join(
            f'<tds:StorageConfigurations token="{escape(s.token)}"><tds:Data type="LocalStorage">'
            f"<tds:LocalPath>/mnt/{escape(s.token.lower())}</tds:LocalPath>"
            f"<tds:Extension><State>{escape(s.state)}</State></tds:Extension></tds:Data>"
            "</tds:StorageConfigurations>"
            for s in self.storage
        )
        return self._reply(
            f"<tds:GetStorageConfigurationsResponse>{configs}</tds:GetStorageConfigurationsResponse>"
        )

    # --- recordings -----------------------------------------------------------------------------------------
    def _pieces(self, token: str) -> list[tuple[float, float]]:
        now = self.now()
        rec = self.recordings.get(token)
        return sorted((s, min(e, now)) for s, e in (rec.ranges if rec else []) if s < now)

    def _op_GetRecordings(self, q: dict[str, str]) -> web.Response:
        items = "".join(
            f"<trc:RecordingItem><tt:RecordingToken>{escape(t)}</tt:RecordingToken><tt:Configuration>"
            f"<tt:Source><tt:SourceId>{escape(t)}</tt:SourceId><tt:Name>{escape(t)}</tt:Name>"
            "<tt:Location/><tt:Description/><tt:Address/></tt:Source><tt:Content/>"
            "<tt:MaximumRetentionTime>PT0S</tt:MaximumRetentionTime></tt:Configuration><tt:Tracks>"
            f"<tt:Track><tt:TrackToken>{TRACK}</tt:TrackToken><tt:Configuration><tt:TrackType>Video"
            "</tt:TrackType><tt:Description/></tt:Configuration></tt:Track></tt:Tracks></trc:RecordingItem>"
            for t in self.recordings
        )
        return self._reply(f"<trc:GetRecordingsResponse>{items}</trc:GetRecordingsResponse>")

    def _op_GetRecordingSummary(self, q: dict[str, str]) -> web.Response:
        pieces = [p for t in self.recordings for p in self._pieces(t)]
        first = min((p[0] for p in pieces), default=self.now())
        last = max((p[1] for p in pieces), default=self.now())
        return self._reply(
            f"<tse:GetRecordingSummaryResponse><tse:Summary><tt:DataFrom>{_iso(first)}</tt:DataFrom>"
            f"<tt:DataUntil>{_iso(last)}</tt:DataUntil><tt:NumberRecordings>{len(self.recordings)}"
            "</tt:NumberRecordings></tse:Summary></tse:GetRecordingSummaryResponse>"
        )

    def _op_GetRecordingInformation(self, q: dict[str, str]) -> web.Response:
        token = q.get("RecordingToken", "")
        if token not in self.recordings:
            return self._fault("NoRecording", f"no recording {token}")
        pieces = self._pieces(token)
        span = (
            f"<tt:DataFrom>{_iso(pieces[0][0])}</tt:DataFrom><tt:DataTo>{_iso(pieces[-1][1])}</tt:DataTo>"
            if pieces
            else ""
        )
        earliest = (
            f"<tt:EarliestRecording>{_iso(pieces[0][0])}</tt:EarliestRecording>"
            f"<tt:LatestRecording>{_iso(pieces[-1][1])}</tt:LatestRecording>"
            if pieces
            else ""
        )
        return self._reply(
            "<tse:GetRecordingInformationResponse><tse:RecordingInformation>"
            f"<tt:RecordingToken>{escape(token)}</tt:RecordingToken><tt:Source><tt:SourceId>{escape(token)}"
            f"</tt:SourceId><tt:Name>{escape(token)}</tt:Name><tt:Location/><tt:Description/><tt:Address/>"
            f"</tt:Source>{earliest}<tt:Content/><tt:Track><tt:TrackToken>{TRACK}</tt:TrackToken>"
            f"<tt:TrackType>Video</tt:TrackType><tt:Description/>{span}</tt:Track>"
            "<tt:RecordingStatus>Recording</tt:RecordingStatus>"
            "</tse:RecordingInformation></tse:GetRecordingInformationResponse>"
        )

    # --- event search ---------------------------------------------------------------------------------------
    def _op_FindEvents(self, q: dict[str, str]) -> web.Response:
        token = q.get("IncludedRecordings", "")
        rec = self.recordings.get(token)
        if rec is not None and rec.hostile == "no_events":
            return self._fault("ActionNotSupported", "event search is not supported")
        start, end = _epoch(q["StartPoint"]), _epoch(q["EndPoint"])
        edges = [(t, present) for s, e in self._pieces(token) for t, present in ((s, True), (e, False))]
        at_start = any(s <= start < e for s, e in self._pieces(token))
        changes = [(start, at_start, True)] if q.get("IncludeStartState") == "true" else []
        changes += [(t, present, False) for t, present in edges if start < t <= end]
        search = f"SearchToken{next(self._ids)}"
        self._searches[search] = _Search(changes, token, rec.hostile if rec else "")
        return self._reply(
            f"<tse:FindEventsResponse><tse:SearchToken>{search}</tse:SearchToken></tse:FindEventsResponse>"
        )

    def _result(self, search: _Search, when: float, present: bool, start_state: bool) -> str:
        value = (
            ""
            if search.hostile == "partial"
            else f'<tt:SimpleItem Name="IsDataPresent" Value="{str(present).lower()}"/>'
        )
        return (
            f"<tt:Result><tt:RecordingToken>{escape(search.token)}</tt:RecordingToken>"
            f"<tt:TrackToken>{TRACK}</tt:TrackToken><tt:Time>{_iso(when)}</tt:Time><tt:Event>"
            '<wsnt:Topic Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet">'
            "tns1:RecordingHistory/Track/State</wsnt:Topic><wsnt:Message>"
            f'<tt:Message UtcTime="{_iso(when)}"><tt:Source><tt:SimpleItem Name="RecordingToken" '
            f'Value="{escape(search.token)}"/><tt:SimpleItem Name="Track" Value="{TRACK}"/></tt:Source>'
            f"<tt:Data>{value}</tt:Data></tt:Message></wsnt:Message></tt:Event>"
            f"<tt:StartStateEvent>{str(start_state).lower()}</tt:StartStateEvent></tt:Result>"
        )

    def _op_GetEventSearchResults(self, q: dict[str, str]) -> web.Response:
        search = self._searches.get(q.get("SearchToken", ""))
        if search is None:
            return self._fault("InvalidToken", "no such search")
        if search.hostile == "bomb":
            entities = "".join(f'<!ENTITY e{i} "{f"&e{i - 1};" * 10}">' for i in range(1, 10))
            bomb = f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e0 "lol">{entities}]><r>&e9;</r>'
            return web.Response(body=bomb.encode(), content_type="application/soap+xml")
        count = max(1, min(int(q.get("MaxResults") or 100), 1000))
        if search.hostile == "endless":
            page, state = [(self.now() - 60.0, True, False)], "Searching"
        else:
            page = search.changes[search.position : search.position + count]
            search.position += len(page)
            state = "Completed" if search.position >= len(search.changes) else "Searching"
            if search.hostile == "unknown":
                state = "Unknown"
        results = "".join(self._result(search, *change) for change in page)
        padding = "<!--" + "x" * (4 * 1024 * 1024) + "-->" if search.hostile == "huge" else ""
        if state == "Completed":
            self._searches.pop(q.get("SearchToken", ""), None)
        return self._reply(
            f"<tse:GetEventSearchResultsResponse><tse:ResultList><tt:SearchState>{state}</tt:SearchState>"
            f"{results}</tse:ResultList>{padding}</tse:GetEventSearchResultsResponse>"
        )

    def _op_EndSearch(self, q: dict[str, str]) -> web.Response:
        self.ended += 1
        if self._searches.pop(q.get("SearchToken", ""), None) is None:
            return self._fault("InvalidToken", "no such search")
        return self._reply(
            f"<tse:EndSearchResponse><tse:Endpoint>{_iso(self.now())}</tse:Endpoint></tse:EndSearchResponse>"
        )

    def app(self) -> web.Application:
        app = web.Application()
        for path in PATHS.values():
            app.router.add_post(path, self._handle)
        return app

    async def serve(self, host: str = "127.0.0.1", port: int = 0) -> web.AppRunner:
        """Start on ``host`` (``port`` 0: a free one, kept in ``self.port``); clean the runner up after."""
        runner = web.AppRunner(self.app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self.host, self.port = host, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return runner
