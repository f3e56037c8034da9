"""A simulated Hikvision ISAPI NVR for the demo, the simulated fleet, benchmarks and the recording tests'
peer, written from Hikvision's published XML layouts (ISAPI ``CMSearchDescription``/``CMSearchResult``,
``storage``/``hddList``, ``Time``), with its own HTTP Digest check (RFC 2617, qop=auth).

Its clock is ours plus ``skew``; each channel has footage ranges (epoch seconds, an open end ``math.inf``
meaning "still recording", clipped to the NVR's clock; written in recorder-local time with a ``Z`` as real
NVRs do); disks have a status; a channel can be made hostile: ``endless`` answers MORE forever, ``liar``
claims more matches than it sends, ``huge`` pads its answer, ``bomb`` answers an entity expansion bomb.
Nothing of camwatch is used to speak the protocol (it imports no camwatch module): the other side of the
exchange for the tests too, independent of camwatch's ISAPI client.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from xml.etree import ElementTree as ET
from zoneinfo import ZoneInfo

from aiohttp import web
from aiohttp.typedefs import Handler

NS = "http://www.hikvision.com/ver20/XMLSchema"
REALM = "DS-7616NI"


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # RFC 2617 Digest is MD5


@dataclass
class Channel:
    ranges: list[tuple[float, float]] = field(default_factory=list)  # epoch seconds
    hostile: str = ""  # "", "endless", "liar", "huge", "bomb"


@dataclass
class Disk:
    name: str
    status: str = "ok"
    capacity_mb: int = 3815447
    free_mb: int = 1024
    prop: str = "RW"


@dataclass
class Nvr:
    """The recorder's state; ``zone`` is its local time zone."""

    skew: float = 0.0
    zone: str = "Asia/Shanghai"
    username: str = "admin"
    password: str = "nvr-secret-1"
    channels: dict[int, Channel] = field(default_factory=dict)
    disks: list[Disk] = field(default_factory=lambda: [Disk("hdd1")])
    searches: int = 0
    unauthorised: int = 0
    redirect_to: str | None = None  # answer every request with a redirect there
    overwrite: bool | None = True  # None: no /ISAPI/ContentMgmt/Storage/extension (404)
    port: int = 0
    _nonce: str = field(default_factory=lambda: os.urandom(8).hex())

    @property
    def now(self) -> float:
        return time.time() + self.skew

    # --- time ---------------------------------------------------------------------------------------------
    def _local(self, epoch: float) -> str:
        return datetime.fromtimestamp(epoch, ZoneInfo(self.zone)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _epoch(self, text: str) -> float:
        return datetime.fromisoformat(text.rstrip("Z")).replace(tzinfo=ZoneInfo(self.zone)).timestamp()

    # --- auth ---------------------------------------------------------------------------------------------
    def _authorised(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Digest "):
            return False
        params = {k: a or b for k, a, b in re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]*))', header[7:])}
        if params.get("username") != self.username or params.get("nonce") != self._nonce:
            return False
        if params.get("uri") != request.path_qs:
            return False
        ha1 = _md5(f"{self.username}:{REALM}:{self.password}")
        ha2 = _md5(f"{request.method}:{params['uri']}")
        expected = _md5(f"{ha1}:{self._nonce}:{params.get('nc')}:{params.get('cnonce')}:auth:{ha2}")
        return params.get("qop") == "auth" and params.get("response") == expected

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self.redirect_to is not None:
            raise web.HTTPFound(self.redirect_to)
        if not self._authorised(request):
            self.unauthorised += 1
            challenge = f'Digest realm="{REALM}", qop="auth", nonce="{self._nonce}", algorithm=MD5'
            return web.Response(status=401, headers={"WWW-Authenticate": challenge})
        return await handler(request)

    # --- handlers -----------------------------------------------------------------------------------------
    async def _time(self, request: web.Request) -> web.Response:
        offset = datetime.fromtimestamp(self.now, ZoneInfo(self.zone)).isoformat(timespec="seconds")
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?><Time version="2.0" xmlns="{NS}">'
            f"<timeMode>NTP</timeMode><localTime>{offset}</localTime><timeZone>CST-8:00:00</timeZone></Time>"
        )
        return web.Response(body=body.encode(), content_type="application/xml")

    async def _storage(self, request: web.Request) -> web.Response:
        hdds = "".join(
            f'<hdd version="2.0"><id>{i + 1}</id><hddName>{d.name}</hddName><hddPath></hddPath>'
            f"<hddType>SATA</hddType><status>{d.status}</status><property>{d.prop}</property>"
            f"<capacity>{d.capacity_mb}</capacity><freeSpace>{d.free_mb}</freeSpace></hdd>"
            for i, d in enumerate(self.disks)
        )
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?><storage version="2.0" xmlns="{NS}">'
            f'<hddList size="8">{hdds}</hddList><nasList size="8"></nasList>'
            "<workMode>group</workMode></storage>"
        )
        return web.Response(body=body.encode(), content_type="application/xml")

    async def _extension(self, request: web.Request) -> web.Response:
        if self.overwrite is None:
            raise web.HTTPNotFound()
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?><StorageExtension version="2.0" xmlns="{NS}">'
            f"<overwrite>{str(self.overwrite).lower()}</overwrite><eSATAFunction>record</eSATAFunction>"
            "</StorageExtension>"
        )
        return web.Response(body=body.encode(), content_type="application/xml")

    async def _search(self, request: web.Request) -> web.Response:
        self.searches += 1
        root = ET.fromstring(await request.read())
        q = {el.tag.rpartition("}")[2]: (el.text or "") for el in root.iter()}
        track = int(q["trackID"])
        channel = self.channels.get(track // 100) if track % 100 == 1 else None
        start, end = self._epoch(q["startTime"]), self._epoch(q["endTime"])
        position, count = int(q["searchResultPostion"]), int(q["maxResults"])
        now = self.now
        ranges = [(a, min(b, now)) for a, b in (channel.ranges if channel else []) if a < now]
        found = sorted(r for r in ranges if r[1] > start and r[0] < end)
        hostile = channel.hostile if channel else ""
        page = found[position : position + count]
        state = "MORE" if position + count < len(found) else "OK"
        claimed = len(page)
        if hostile == "endless":
            page, state, claimed = [(start, start + 1.0)] * min(count, 1), "MORE", min(count, 1)
        elif hostile == "liar":
            claimed = len(page) + 7
        if not found and not hostile:
            state = "NO MATCHES"
        items = "".join(
            "<searchMatchItem><sourceID>{2A3E1B2C-0000-0000-0000-000000000000}</sourceID>"
            f"<trackID>{track}</trackID><timeSpan><startTime>{self._local(s)}</startTime>"
            f"<endTime>{self._local(e)}</endTime></timeSpan><mediaSegmentDescriptor>"
            "<contentType>video</contentType><codecType>H.264-BP</codecType>"
            f"<playbackURI>rtsp://127.0.0.1/Streaming/tracks/{track}</playbackURI></mediaSegmentDescriptor>"
            "<metadataMatches><metadataDescriptor>recordType.meta.hikvision.com/timing</metadataDescriptor>"
            "</metadataMatches></searchMatchItem>"
            for s, e in page
        )
        padding = "<!--" + "x" * (4 * 1024 * 1024) + "-->" if hostile == "huge" else ""
        if hostile == "bomb":
            entities = "".join(f'<!ENTITY e{i} "{f"&e{i - 1};" * 10}">' for i in range(1, 10))
            bomb = f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e0 "lol">{entities}]><r>&e9;</r>'
            return web.Response(body=bomb.encode(), content_type="application/xml")
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?><CMSearchResult version="2.0" xmlns="{NS}">'
            f"<searchID>{q['searchID']}</searchID><responseStatus>true</responseStatus>"
            f"<responseStatusStrg>{state}</responseStatusStrg><numOfMatches>{claimed}</numOfMatches>"
            f"<matchList>{items}</matchList>{padding}</CMSearchResult>"
        )
        return web.Response(body=body.encode(), content_type="application/xml")

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._guard])
        app.router.add_get("/ISAPI/System/time", self._time)
        app.router.add_get("/ISAPI/ContentMgmt/Storage", self._storage)
        app.router.add_post("/ISAPI/ContentMgmt/search", self._search)
        app.router.add_get("/ISAPI/ContentMgmt/Storage/extension", self._extension)
        return app

    async def serve(self, host: str = "127.0.0.1", port: int = 0) -> web.AppRunner:
        """Start on ``host`` (``port`` 0: a free one, kept in ``self.port``); clean the runner up after."""
        runner = web.AppRunner(self.app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return runner
