"""ONVIF device simulator: device, media and PTZ services answered from XML templates, with fault modes."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
import secrets
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Literal
from xml.sax.saxutils import escape, unescape

from aiohttp import web

from camwatch.sim.h264 import stills
from camwatch.sim.onvif_events import OPERATIONS as EVENT_OPERATIONS
from camwatch.sim.onvif_events import EventBoard, events_capability
from camwatch.sim.rtsp_server import REALM, check_authorization

FaultMode = Literal["hang", "slow", "malformed", "xxe", "billion_laughs", "http500"]
"""How a device misbehaves. A wrong clock is not a mode: it is ``clock_offset``."""

# Where cameras serve a still picture: Hikvision (ISAPI), Dahua. GetSnapshotUri names the first.
SNAPSHOT_PATHS = ("/ISAPI/Streaming/channels/101/picture", "/cgi-bin/snapshot.cgi")


@dataclass(frozen=True, slots=True)
class OnvifDevice:
    """One simulated ONVIF device, reached at ``host:port`` (port 0: any free port when served)."""

    host: str = "127.0.0.1"
    port: int = 0
    username: str = "admin"
    password: str = field(default="admin", repr=False)
    rtsp_url: str = "rtsp://127.0.0.1:8554/live"
    # Seconds the device clock runs ahead of UTC (negative: behind).
    clock_offset: float = 0.0
    manufacturer: str = "camwatch"
    model: str = "SIM-ONVIF"
    firmware: str = "1.0.0"
    serial: str = "SIM-0001"
    hardware_id: str = "sim-hw-1"
    ptz: bool = False
    fault: FaultMode | None = None
    # HTTP status of a NotAuthorized fault: cameras use 400 (SOAP 1.2 Sender fault) or 401.
    auth_status: int = 400
    # How far a WS-Security ``Created`` may be from the device's own clock.
    auth_tolerance: float = 60.0
    # Time a "slow" device spreads each reply over.
    slow_seconds: float = 30.0
    # What its snapshots show (a camwatch.sim.h264 picture: live, frozen, black, blurred, ...) and how they
    # ask for the login. A Digest nonce is good only on the connection it was given on.
    picture: str = "live"
    snapshot_auth: Literal["digest", "basic"] = "digest"
    # Its event service (PullPoint): the conditions its on-board analytics report, changed by tests.
    events: EventBoard = field(default_factory=EventBoard, compare=False, repr=False)


DeviceLookup = Callable[[str, int], OnvifDevice | None]
"""The device listening on a local (host, port), or None."""

PROFILE_TOKEN = "profile_1"

_NS = {
    "SOAP-ENV": "http://www.w3.org/2003/05/soap-envelope",
    "tds": "http://www.onvif.org/ver10/device/wsdl",
    "trt": "http://www.onvif.org/ver10/media/wsdl",
    "tptz": "http://www.onvif.org/ver20/ptz/wsdl",
    "tt": "http://www.onvif.org/ver10/schema",
    "ter": "http://www.onvif.org/ver10/error",
}
_ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    "<SOAP-ENV:Envelope "
    + " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in _NS.items())
    + "><SOAP-ENV:Body>{body}</SOAP-ENV:Body></SOAP-ENV:Envelope>"
)
_FAULT = (
    "<SOAP-ENV:Fault><SOAP-ENV:Code><SOAP-ENV:Value>SOAP-ENV:{code}</SOAP-ENV:Value>"
    "<SOAP-ENV:Subcode><SOAP-ENV:Value>ter:{subcode}</SOAP-ENV:Value></SOAP-ENV:Subcode></SOAP-ENV:Code>"
    '<SOAP-ENV:Reason><SOAP-ENV:Text xml:lang="en">{reason}</SOAP-ENV:Text></SOAP-ENV:Reason>'
    "</SOAP-ENV:Fault>"
)
_DATE_TIME = (
    "<tt:Time><tt:Hour>{t.hour}</tt:Hour><tt:Minute>{t.minute}</tt:Minute><tt:Second>{t.second}</tt:Second>"
    "</tt:Time><tt:Date><tt:Year>{t.year}</tt:Year><tt:Month>{t.month}</tt:Month><tt:Day>{t.day}</tt:Day></tt:Date>"
)
_SYSTEM_DATE_AND_TIME = (
    "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>NTP</tt:DateTimeType>"
    "<tt:DaylightSavings>false</tt:DaylightSavings><tt:TimeZone><tt:TZ>{tz}</tt:TZ></tt:TimeZone>"
    "<tt:UTCDateTime>{utc}</tt:UTCDateTime><tt:LocalDateTime>{utc}</tt:LocalDateTime>"
    "</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>"
)
_SERVICE = (
    "<tds:Service><tds:Namespace>{ns}</tds:Namespace><tds:XAddr>{xaddr}</tds:XAddr>"
    "<tds:Version><tt:Major>2</tt:Major><tt:Minor>0</tt:Minor></tds:Version></tds:Service>"
)
_CAPABILITIES = (
    "<tds:GetCapabilitiesResponse><tds:Capabilities>"
    "<tt:Device><tt:XAddr>{base}/onvif/device_service</tt:XAddr></tt:Device>{events}"
    "<tt:Media><tt:XAddr>{base}/onvif/media_service</tt:XAddr><tt:StreamingCapabilities>"
    "<tt:RTPMulticast>false</tt:RTPMulticast><tt:RTP_TCP>true</tt:RTP_TCP><tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP>"
    "</tt:StreamingCapabilities></tt:Media>{ptz}</tds:Capabilities></tds:GetCapabilitiesResponse>"
)
_DEVICE_INFORMATION = (
    "<tds:GetDeviceInformationResponse><tds:Manufacturer>{manufacturer}</tds:Manufacturer>"
    "<tds:Model>{model}</tds:Model><tds:FirmwareVersion>{firmware}</tds:FirmwareVersion>"
    "<tds:SerialNumber>{serial}</tds:SerialNumber><tds:HardwareId>{hardware_id}</tds:HardwareId>"
    "</tds:GetDeviceInformationResponse>"
)
_PROFILES = (
    f'<trt:GetProfilesResponse><trt:Profiles fixed="true" token="{PROFILE_TOKEN}"><tt:Name>main</tt:Name>'
    '<tt:VideoSourceConfiguration token="vsc_1"><tt:Name>video source</tt:Name><tt:UseCount>1</tt:UseCount>'
    '<tt:SourceToken>vs_1</tt:SourceToken><tt:Bounds x="0" y="0" width="1280" height="720"/>'
    "</tt:VideoSourceConfiguration>"
    '<tt:VideoEncoderConfiguration token="vec_1"><tt:Name>main stream</tt:Name><tt:UseCount>1</tt:UseCount>'
    "<tt:Encoding>H264</tt:Encoding><tt:Resolution><tt:Width>1280</tt:Width><tt:Height>720</tt:Height>"
    "</tt:Resolution><tt:Quality>5</tt:Quality><tt:RateControl><tt:FrameRateLimit>25</tt:FrameRateLimit>"
    "<tt:EncodingInterval>1</tt:EncodingInterval><tt:BitrateLimit>2048</tt:BitrateLimit></tt:RateControl>"
    "<tt:SessionTimeout>PT60S</tt:SessionTimeout></tt:VideoEncoderConfiguration>"
    "{ptz}</trt:Profiles></trt:GetProfilesResponse>"
)
_PROFILE_PTZ = (
    '<tt:PTZConfiguration token="ptz_1"><tt:Name>ptz</tt:Name><tt:UseCount>1</tt:UseCount>'
    "<tt:NodeToken>node_1</tt:NodeToken></tt:PTZConfiguration>"
)
_STREAM_URI = (
    "<trt:GetStreamUriResponse><trt:MediaUri><tt:Uri>{uri}</tt:Uri>"
    "<tt:InvalidAfterConnect>false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>false</tt:InvalidAfterReboot>"
    "<tt:Timeout>PT0S</tt:Timeout></trt:MediaUri></trt:GetStreamUriResponse>"
)
_SNAPSHOT_URI = (
    "<trt:GetSnapshotUriResponse><trt:MediaUri><tt:Uri>{uri}</tt:Uri>"
    "<tt:InvalidAfterConnect>false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>false</tt:InvalidAfterReboot>"
    "<tt:Timeout>PT0S</tt:Timeout></trt:MediaUri></trt:GetSnapshotUriResponse>"
)
_PTZ_STATUS = (
    "<tptz:GetStatusResponse><tptz:PTZStatus><tt:Position>"
    '<tt:PanTilt x="0" y="0"/><tt:Zoom x="0"/></tt:Position>'
    "<tt:MoveStatus><tt:PanTilt>IDLE</tt:PanTilt><tt:Zoom>IDLE</tt:Zoom></tt:MoveStatus>"
    "<tt:UtcTime>{utc}</tt:UtcTime></tptz:PTZStatus></tptz:GetStatusResponse>"
)
_PTZ_NODES = (
    '<tptz:GetNodesResponse><tptz:PTZNode token="node_1"><tt:Name>ptz</tt:Name><tt:SupportedPTZSpaces>'
    "</tt:SupportedPTZSpaces><tt:MaximumNumberOfPresets>16</tt:MaximumNumberOfPresets>"
    "<tt:HomeSupported>true</tt:HomeSupported></tptz:PTZNode></tptz:GetNodesResponse>"
)
# A reply a careless parser would expand: an external entity reading a local file.
_XXE_PROLOGUE = '<!DOCTYPE SOAP-ENV:Envelope [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
# And one it would expand into 10**9 bytes.
_LAUGHS_PROLOGUE = (
    "<!DOCTYPE SOAP-ENV:Envelope [\n"
    '<!ENTITY lol0 "lol">\n'
    + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">\n' for i in range(1, 10))
    + "]>\n"
)

# zeep writes `soap-env:Body`, other clients `s:Body` or `SOAP-ENV:Body`: prefixes may hold `-` and `.`.
_P = r"(?:[\w.-]+:)?"
_OPERATION = re.compile(rf"<{_P}Body\b[^>]*>\s*<{_P}(\w+)")
_TOKEN = re.compile(rf"<{_P}UsernameToken\b.*?</{_P}UsernameToken>", re.S)
_PROFILE_REF = re.compile(rf"<{_P}ProfileToken>([^<]*)</")
_UNAUTHENTICATED = frozenset({"GetSystemDateAndTime"})


def _element(name: str) -> re.Pattern[str]:
    return re.compile(rf"<{_P}{name}\b([^>]*)>([^<]*)</{_P}{name}>")


_USERNAME, _PASSWORD, _NONCE, _CREATED = (_element(n) for n in ("Username", "Password", "Nonce", "Created"))


def _device_now(device: OnvifDevice) -> datetime:
    """The device's own (possibly wrong) UTC clock."""
    return datetime.now(UTC) + timedelta(seconds=device.clock_offset)


def _password_digest(nonce: bytes, created: str, password: str) -> str:
    """WS-Security UsernameToken PasswordDigest: Base64(SHA-1(nonce + created + password))."""
    return base64.b64encode(hashlib.sha1(nonce + created.encode() + password.encode()).digest()).decode()


def _authorized(device: OnvifDevice, request_xml: str) -> bool:
    token = _TOKEN.search(request_xml)
    if token is None:
        return False
    user, password, nonce, created = (p.search(token[0]) for p in (_USERNAME, _PASSWORD, _NONCE, _CREATED))
    if user is None or password is None or unescape(user[2]) != device.username:
        return False
    if "PasswordDigest" not in password[1]:
        return hmac.compare_digest(unescape(password[2]), device.password)
    if nonce is None or created is None:
        return False
    try:
        sent_at = datetime.fromisoformat(created[2].replace("Z", "+00:00"))
        expected = _password_digest(base64.b64decode(nonce[2]), created[2], device.password)
    except ValueError:
        return False
    if sent_at.tzinfo is None or abs((sent_at - _device_now(device)).total_seconds()) > device.auth_tolerance:
        return False
    return hmac.compare_digest(password[2], expected)


def _fault(code: str, subcode: str, reason: str) -> str:
    return _FAULT.format(code=code, subcode=subcode, reason=escape(reason))


def _services(device: OnvifDevice, base: str) -> str:
    services = [
        (_NS["tds"], "device_service"),
        (_NS["trt"], "media_service"),
        ("http://www.onvif.org/ver10/events/wsdl", "event_service"),
    ]
    if device.ptz:
        services.append((_NS["tptz"], "ptz_service"))
    body = "".join(_SERVICE.format(ns=ns, xaddr=f"{base}/onvif/{path}") for ns, path in services)
    return f"<tds:GetServicesResponse>{body}</tds:GetServicesResponse>"


def _reply_body(device: OnvifDevice, operation: str, request_xml: str, base: str) -> tuple[int, str]:
    """HTTP status and SOAP body for one operation."""
    profile = _PROFILE_REF.search(request_xml)
    if operation in ("GetStreamUri", "GetSnapshotUri", "GetStatus") and (
        profile is None or profile[1] != PROFILE_TOKEN
    ):
        return 400, _fault("Sender", "NoProfile", "the requested profile token does not exist")
    utc = _DATE_TIME.format(t=_device_now(device))
    match operation:
        case "GetSystemDateAndTime":
            return 200, _SYSTEM_DATE_AND_TIME.format(tz="UTC0", utc=utc)
        case "GetServices":
            return 200, _services(device, base)
        case "GetCapabilities":
            ptz = f"<tt:PTZ><tt:XAddr>{base}/onvif/ptz_service</tt:XAddr></tt:PTZ>" if device.ptz else ""
            return 200, _CAPABILITIES.format(base=base, ptz=ptz, events=events_capability(base))
        case "GetDeviceInformation":
            return 200, _DEVICE_INFORMATION.format(
                manufacturer=escape(device.manufacturer),
                model=escape(device.model),
                firmware=escape(device.firmware),
                serial=escape(device.serial),
                hardware_id=escape(device.hardware_id),
            )
        case "GetProfiles":
            return 200, _PROFILES.format(ptz=_PROFILE_PTZ if device.ptz else "")
        case "GetStreamUri":
            return 200, _STREAM_URI.format(uri=escape(device.rtsp_url))
        case "GetSnapshotUri":
            return 200, _SNAPSHOT_URI.format(uri=escape(f"{base}{SNAPSHOT_PATHS[0]}"))
        case "GetStatus" if device.ptz:
            return 200, _PTZ_STATUS.format(utc=_device_now(device).strftime("%Y-%m-%dT%H:%M:%SZ"))
        case "GetNodes" if device.ptz:
            return 200, _PTZ_NODES
    return 500, _fault("Receiver", "ActionNotSupported", f"{operation} is not supported")


def _faulty_reply(device: OnvifDevice, status: int, reply: str) -> tuple[int, str]:
    """What a device with a fault mode sends instead of ``reply``."""
    match device.fault:
        case "malformed":
            return 200, reply[: len(reply) // 2] + "<<</SOAP-ENV:Body>&&"
        case "xxe":
            return 200, reply.replace("\n", "\n" + _XXE_PROLOGUE, 1).replace("UTC0", "&xxe;")
        case "billion_laughs":
            return 200, reply.replace("\n", "\n" + _LAUGHS_PROLOGUE, 1).replace("UTC0", "&lol9;")
        case "http500":
            return 500, "<html><body><h1>500 Internal Server Error</h1></body></html>"
    return status, reply


def make_app(lookup: DeviceLookup) -> web.Application:
    """One aiohttp application answering for every device; the device is the one listening on the local
    address a request arrived at, so a fleet serves thousands of devices from one application with one
    site per address. Run it with :func:`make_runner` so hung replies end when the client leaves."""
    app = web.Application()
    closing = asyncio.Event()
    secret = secrets.token_hex(16)

    async def on_shutdown(_: web.Application) -> None:
        closing.set()

    def device_of(request: web.Request) -> OnvifDevice:
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        device = lookup(sockname[0], sockname[1]) if sockname else None
        if device is None:
            raise web.HTTPNotFound()
        return device

    async def picture(request: web.Request) -> web.StreamResponse:
        """A JPEG snapshot, behind a challenge; the fault modes hang, slow and http500 apply."""
        device = device_of(request)
        if device.fault == "hang":
            await closing.wait()
            raise web.HTTPServiceUnavailable()
        peer = request.transport.get_extra_info("peername") if request.transport else None
        nonce = hashlib.sha256(f"{secret}:{peer}".encode()).hexdigest()[:32]
        authorization = request.headers.get("Authorization", "")
        if not check_authorization(
            authorization, method="GET", username=device.username, password=device.password, nonce=nonce
        ):
            challenge = (
                f'Basic realm="{REALM}"'
                if device.snapshot_auth == "basic"
                else f'Digest realm="{REALM}", qop="auth", nonce="{nonce}"'
            )
            return web.Response(status=401, headers={"WWW-Authenticate": challenge})
        if device.fault == "http500":
            return web.Response(status=500, text="snapshot failed")
        frames = stills(device.picture)
        body = frames[int(time.monotonic() * 4) % len(frames)]
        if device.fault == "slow":
            return await _drip(request, body, device.slow_seconds, closing, "image/jpeg")
        return web.Response(body=body, content_type="image/jpeg")

    async def handle(request: web.Request) -> web.StreamResponse:
        device = device_of(request)
        request_xml = await request.text()
        if device.fault == "hang":
            await closing.wait()
            raise web.HTTPServiceUnavailable()
        match = _OPERATION.search(request_xml)
        if match is None:
            status, body = 400, _fault("Sender", "InvalidArgVal", "no SOAP body")
        elif match[1] not in _UNAUTHENTICATED and not _authorized(device, request_xml):
            status, body = device.auth_status, _fault("Sender", "NotAuthorized", "Sender not authorized")
        elif match[1] in EVENT_OPERATIONS:
            status, reply = await device.events.reply(
                match[1], request_xml, request.path, f"http://{request.host}", closing
            )
            soap = "application/soap+xml"
            return web.Response(status=status, text=reply, content_type=soap, charset="utf-8")
        else:
            status, body = _reply_body(device, match[1], request_xml, f"http://{request.host}")
        status, reply = _faulty_reply(device, status, _ENVELOPE.format(body=body))
        content_type = "text/html" if device.fault == "http500" else "application/soap+xml"
        if device.fault == "slow":
            return await _drip(request, reply.encode(), device.slow_seconds, closing, content_type)
        return web.Response(status=status, text=reply, content_type=content_type, charset="utf-8")

    app.on_shutdown.append(on_shutdown)
    for path in SNAPSHOT_PATHS:
        app.router.add_get(path, picture)
    app.router.add_post("/{path:.*}", handle)
    return app


async def _drip(
    request: web.Request, reply: bytes, seconds: float, closing: asyncio.Event, content_type: str
) -> web.StreamResponse:
    """Send ``reply`` a few bytes at a time, spread over ``seconds``."""
    response = web.StreamResponse(headers={"Content-Type": f"{content_type}; charset=utf-8"})
    response.content_length = len(reply)
    await response.prepare(request)
    chunk = 64
    pause = seconds / max(1, len(reply) // chunk)
    for start in range(0, len(reply), chunk):
        await response.write(reply[start : start + chunk])
        try:
            await asyncio.wait_for(closing.wait(), pause)
            break
        except TimeoutError:
            pass
    return response


def make_runner(lookup: DeviceLookup) -> web.AppRunner:
    """A runner for :func:`make_app`: ``await runner.setup()``, then start one site per device address."""
    return web.AppRunner(make_app(lookup), handler_cancellation=True, access_log=None)


def _listening_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


@asynccontextmanager
async def serve_devices(devices: list[OnvifDevice]) -> AsyncIterator[list[OnvifDevice]]:
    """Serve ``devices`` on loopback; yields them with their bound ports, stops them on exit."""
    table: dict[tuple[str, int], OnvifDevice] = {}
    runner = make_runner(lambda host, port: table.get((host, port)))
    await runner.setup()
    try:
        served = []
        for device in devices:
            sock = _listening_socket(device.host, device.port)
            await web.SockSite(runner, sock).start()
            bound = replace(device, port=sock.getsockname()[1])
            table[(bound.host, bound.port)] = bound
            served.append(bound)
        yield served
    finally:
        await runner.cleanup()
