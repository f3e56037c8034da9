"""ONVIF probe: camera clock offset, device identity, first media profile's stream URI and PTZ presence."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import onvif
import onvif.settings
from onvif import ONVIFCamera, ONVIFService
from onvif.definition import SERVICES
from onvif.exceptions import ONVIFError
from zeep.exceptions import (
    DTDForbidden,
    EntitiesForbidden,
    ExternalReferenceForbidden,
    Fault,
    TransportError,
    XMLSyntaxError,
)
from zeep.exceptions import Error as ZeepError

from camwatch.config.models import Camera, OnvifSettings
from camwatch.config.redact import scrub
from camwatch.monitor.probes.base import (
    AUTH_FAILED,
    ERROR,
    OFFLINE,
    OK,
    SKIPPED,
    TIMEOUT,
    ProbeCaches,
    ProbeContext,
    ProbeResult,
)
from camwatch.monitor.probes.bounded import BoundedReply, ReplyRefused

NAME = "onvif"
_USED_SERVICES = ("devicemgmt", "media", "ptz")
_WSDL_DIR = Path(onvif.__file__).parent / "wsdl"
_T = TypeVar("_T")


def _harden(settings: Any) -> None:
    """Camera replies are untrusted: refuse DTDs, entity declarations and external references outright
    (XXE, billion laughs) and keep libxml2's size limits. onvif-zeep-async parses every reply (and its own
    bundled WSDLs, which have none of these) with this one shared settings object."""
    settings.forbid_dtd = True
    settings.forbid_entities = True
    settings.forbid_external = True
    settings.xml_huge_tree = False


_harden(onvif.settings.DEFAULT_SETTINGS)


class OnvifMemory:
    """What ONVIF exchanges keep between probes, per owner (``ProbeContext.caches``).

    ``loading``/``loaded``: onvif-zeep-async parses each WSDL once per process into a module cache, but with
    no lock: probes started together would all miss it and parse in parallel, so one shared load fills it
    first. ``making``: services being created, held while they run (a caller that gave up no longer holds
    one, and the loop holds tasks weakly) so that each one made is closed."""

    __slots__ = ("loaded", "loading", "making")

    def __init__(self) -> None:
        self.loaded = False
        self.loading: asyncio.Task[None] | None = None
        self.making: set[asyncio.Future[ONVIFService]] = set()


def memory(caches: ProbeCaches) -> OnvifMemory:
    """The ONVIF exchanges' memory among ``caches`` (the probe's and the still picture's GetSnapshotUri)."""
    return caches.get(NAME, OnvifMemory)


async def load_services(names: tuple[str, ...] = _USED_SERVICES) -> None:
    """Parse the WSDL of ``names`` once (zeep caches it process-wide), off the first probe's critical path."""
    for name in names:
        spec = SERVICES[name]
        service = ONVIFService(
            "http://127.0.0.1/",
            None,
            None,
            str(_WSDL_DIR / spec["wsdl"]),
            no_cache=True,
            binding_name=f"{{{spec['ns']}}}{spec['binding']}",
        )
        try:
            await service.setup()
        finally:
            await service.close()


async def load_wsdl(kept: OnvifMemory) -> None:
    """Parse the WSDLs the probe uses, once per owner (the library keeps them for the process); concurrent
    callers share the one load."""
    if kept.loaded:
        return
    loop = asyncio.get_running_loop()
    task = kept.loading
    if task is None or task.get_loop() is not loop or (task.done() and task.exception() is not None):
        task = kept.loading = loop.create_task(load_services())
    # Shielded: a probe giving up must not abandon the load the others wait for.
    await asyncio.shield(task)
    kept.loaded = True


class _UnusableReply(ValueError):
    """A well-formed exchange whose content the probe cannot use."""


class _BoundedSession:
    """One ONVIF service's aiohttp session: replies are asked for uncompressed and their bodies read through
    ``BoundedReply`` (aiohttp bounds their heads itself). Everything else is the session itself."""

    def __init__(self, session: aiohttp.ClientSession, limit: int) -> None:
        self._session = session
        self._limit = limit

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)

    async def post(self, *args: Any, **kwargs: Any) -> BoundedReply:
        return await self._send(self._session.post, args, kwargs)

    async def get(self, *args: Any, **kwargs: Any) -> BoundedReply:
        return await self._send(self._session.get, args, kwargs)

    async def _send(self, send: Callable[..., Any], args: Any, kwargs: dict[str, Any]) -> BoundedReply:
        headers = dict(kwargs.pop("headers", None) or {})
        headers["Accept-Encoding"] = "identity"
        response = await send(*args, headers=headers, auto_decompress=False, **kwargs)
        return BoundedReply(response, self._limit)


def _bound_replies(service: ONVIFService, limit: int) -> None:
    """Read every reply of ``service`` through a size cap (the library reads whole bodies, inflated)."""
    transport = service.transport
    if not isinstance(transport.session, _BoundedSession):
        transport.session = _BoundedSession(transport.session, limit)


@dataclass
class _Findings:
    """What the probe learnt so far; kept when a later step fails."""

    step: str = "connect"
    values: dict[str, float] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def at(self, step: str, awaitable: Awaitable[_T]) -> Awaitable[_T]:
        self.step = step
        return awaitable


def _camera_utc(system_date_and_time: Any) -> datetime | None:
    """The camera's UTC clock from a GetSystemDateAndTime reply (UTCDateTime is optional in ONVIF)."""
    utc = system_date_and_time.UTCDateTime
    if utc is None:
        return None
    try:
        d, t = utc.Date, utc.Time
        return datetime(d.Year, d.Month, d.Day, t.Hour, t.Minute, t.Second, tzinfo=UTC)
    except (AttributeError, TypeError, ValueError):  # a date without its parts, or out of range
        raise _UnusableReply("malformed reply, its UTC date and time is incomplete") from None


async def _connect(cam: ONVIFCamera, found: _Findings) -> ONVIFService:
    """The device service on the camera's own clock (WS-Security is signed with it), and its capabilities;
    the clock offset goes to ``found``."""
    devicemgmt = await found.at("connect", cam.create_devicemgmt_service())
    before = time.time()
    system_time = await found.at("GetSystemDateAndTime", devicemgmt.authless_GetSystemDateAndTime())
    after = time.time()
    if system_time is None or (system_time.UTCDateTime is None and system_time.LocalDateTime is None):
        raise _UnusableReply("malformed reply, it holds no date and time")
    camera_utc = _camera_utc(system_time)
    if camera_utc is not None:
        # Cameras report whole seconds, truncated: their clock is on average half a second later.
        offset = camera_utc.timestamp() + 0.5 - (before + after) / 2
        found.values["clock_offset_seconds"] = round(offset, 3)
        # WS-Security is signed when a service is set up: rebuild the device service on the camera's clock.
        cam.dt_diff = timedelta(seconds=offset)
        await devicemgmt.close()
        del cam.services[devicemgmt.binding_key]
        devicemgmt = await cam.create_devicemgmt_service()

    await found.at("GetCapabilities", cam.get_capabilities())
    return devicemgmt


async def _profiles(cam: ONVIFCamera, found: _Findings) -> tuple[ONVIFService, list[Any]]:
    """The media service and its profiles (at least one)."""
    media = await found.at("connect media service", cam.create_media_service())
    profiles = await found.at("GetProfiles", media.GetProfiles())
    if not profiles:
        raise _UnusableReply("the camera has no media profile")
    return media, profiles


async def _inspect(cam: ONVIFCamera, found: _Findings, secret: str | None) -> None:
    """Run the ONVIF calls in order, recording findings as they come."""
    devicemgmt = await _connect(cam, found)
    info = await found.at("GetDeviceInformation", devicemgmt.GetDeviceInformation())
    if info is None:
        raise _UnusableReply("malformed reply, it holds no device information")
    found.details.update(
        manufacturer=info.Manufacturer,
        model=info.Model,
        firmware=info.FirmwareVersion,
        serial=info.SerialNumber,
        hardware_id=info.HardwareId,
    )

    media, profiles = await _profiles(cam, found)
    stream_setup = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}
    media_uri = await found.at(
        "GetStreamUri", media.GetStreamUri({"StreamSetup": stream_setup, "ProfileToken": profiles[0].token})
    )
    if media_uri is None:
        raise _UnusableReply("malformed reply, it holds no stream URI")
    found.details["stream_uri"] = scrub(str(media_uri.Uri), [secret])

    ptz_profile = next((p for p in profiles if getattr(p, "PTZConfiguration", None) is not None), None)
    if ptz_profile is None or SERVICES["ptz"]["ns"] not in cam.xaddrs:
        found.details["ptz"] = False
        return
    ptz = await found.at("connect PTZ service", cam.create_ptz_service())
    await found.at("PTZ GetStatus", ptz.GetStatus({"ProfileToken": ptz_profile.token}))
    found.details["ptz"] = True


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _not_authorized(fault: Fault) -> bool:
    codes = [str(fault.code or ""), *(str(code) for code in fault.subcodes or ())]
    return any(code.rpartition("}")[2].rpartition(":")[2] == "NotAuthorized" for code in codes)


def _classify(exc: BaseException, step: str) -> tuple[str, str]:
    """Probe status and a short reason for a failed ONVIF exchange."""
    for cause in _causes(exc):
        match cause:
            case Fault() if _not_authorized(cause):
                return AUTH_FAILED, f"{step}: not authorized (wrong username or password)"
            case TransportError(status_code=401):
                return AUTH_FAILED, f"{step}: HTTP 401 (wrong username or password)"
            case DTDForbidden() | EntitiesForbidden() | ExternalReferenceForbidden():
                return ERROR, f"{step}: reply refused, it declares a DTD or XML entities"
            case aiohttp.ClientConnectorError() | ConnectionRefusedError():
                errno = getattr(cause, "errno", None)
                return OFFLINE, f"cannot connect: {os.strerror(errno) if errno else type(cause).__name__}"
            case TimeoutError():
                return TIMEOUT, f"{step}: timed out"
            case XMLSyntaxError() | TransportError(status_code=200):
                return ERROR, f"{step}: malformed reply"
            case TransportError():
                return ERROR, f"{step}: HTTP {cause.status_code}"
            case Fault(code=None):
                return ERROR, f"{step}: error reply that is not a SOAP fault"
            case Fault():
                return ERROR, f"{step}: SOAP fault: {str(cause.message)[:200]}"
            case _UnusableReply() | ReplyRefused():
                return ERROR, f"{step}: {cause}"
            case aiohttp.ClientError():
                return ERROR, f"{step}: {type(cause).__name__}"
    return ERROR, f"{step}: unexpected reply ({type(exc).__name__}: {str(exc)[:120]})"


# What an ONVIF exchange fails with because of the camera or the network: the SOAP stack's errors (faults,
# transport, XML), the library's, the HTTP client's, sockets', and replies the probe cannot use
# (``_UnusableReply``, ``ReplyRefused``: ``ValueError``s).
_PROTOCOL_ERRORS = (ZeepError, ONVIFError, aiohttp.ClientError, OSError, ValueError)


def _track_services(
    cam: ONVIFCamera, max_reply_bytes: int, making: set[asyncio.Future[ONVIFService]]
) -> list[ONVIFService]:
    """Record every service the camera object creates, each reading replies of at most ``max_reply_bytes``.

    A cancel (deadline) can land after the library made a service but before it stored it in
    ``cam.services``; ``cam.close()`` would then miss it and leak its HTTP session.
    """
    created: list[ONVIFService] = []
    create = cam.create_onvif_service

    async def create_bounded(*args: Any, **kwargs: Any) -> ONVIFService:
        service = await create(*args, **kwargs)
        _bound_replies(service, max_reply_bytes)
        return service

    async def tracked(*args: Any, **kwargs: Any) -> ONVIFService:
        task = asyncio.ensure_future(create_bounded(*args, **kwargs))

        def record(done: asyncio.Future[ONVIFService]) -> None:
            # Whatever happens to the caller, a service that gets made is recorded, so it gets closed.
            if not done.cancelled() and done.exception() is None:
                created.append(done.result())

        task.add_done_callback(record)
        # Kept while it runs: a caller that gave up no longer holds it, and the loop holds tasks weakly.
        making.add(task)
        task.add_done_callback(making.discard)
        return await asyncio.shield(task)

    cam.create_onvif_service = tracked
    return created


async def _close(cam: ONVIFCamera, created: list[ONVIFService]) -> None:
    """Close the camera's services, finishing even if this task is cancelled meanwhile."""

    async def close_all() -> None:
        await cam.close()
        stored = {id(s) for s in cam.services.values()}
        for service in created:
            if id(service) not in stored:
                with contextlib.suppress(Exception):  # already closed (a replaced service) is fine
                    await service.close()

    closing = asyncio.ensure_future(close_all())
    try:
        await asyncio.shield(closing)
    except asyncio.CancelledError:
        await closing  # complete the cleanup, then let the cancel through
        raise


class OnvifFailed(Exception):
    """An ONVIF exchange that failed: its probe status and a short reason (never a password)."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


async def _session(
    camera: Camera,
    max_reply_bytes: int,
    run: Callable[[ONVIFCamera], Awaitable[_T]],
    found: _Findings,
    kept: OnvifMemory,
) -> tuple[_T | None, str, str | None]:
    """``run`` against the camera's ONVIF services, closed afterwards whatever happens: its outcome, a probe
    status and a reason (``found`` names the failed step). The caller bounds the time."""
    secret = camera.password.get_secret_value() if camera.password else None
    # Without a login the WS-Security token is empty rather than absent (the library always signs).
    assert camera.onvif_host is not None
    cam = ONVIFCamera(
        camera.onvif_host, camera.onvif_port, camera.username or "", secret or "", no_cache=True
    )
    created = _track_services(cam, max_reply_bytes, kept.making)
    try:
        return await run(cam), OK, None
    except TimeoutError:
        raise
    except _PROTOCOL_ERRORS as exc:  # anything else is camwatch's bug: run_probe logs it, internal
        status, error = _classify(exc, found.step)
        return None, status, scrub(error, [secret])
    finally:
        await _close(cam, created)


async def snapshot_uri(camera: Camera, *, max_reply_bytes: int, kept: OnvifMemory) -> str:
    """The first media profile's still-picture URI (GetSnapshotUri); raises ``OnvifFailed``."""
    await load_wsdl(kept)

    found = _Findings()

    async def ask(cam: ONVIFCamera) -> str:
        await _connect(cam, found)
        media, profiles = await _profiles(cam, found)
        reply = await found.at("GetSnapshotUri", media.GetSnapshotUri({"ProfileToken": profiles[0].token}))
        if reply is None or not reply.Uri:
            raise _UnusableReply("the reply holds no URI")
        return str(reply.Uri)

    uri, status, error = await _session(camera, max_reply_bytes, ask, found, kept)
    if uri is None:
        raise OnvifFailed(status, error or "no snapshot URI")
    return uri


async def probe(camera: Camera, ctx: ProbeContext) -> ProbeResult:
    """Ask the camera's ONVIF services for its clock, identity, stream URI and PTZ status."""
    settings = ctx.settings if isinstance(ctx.settings, OnvifSettings) else OnvifSettings()
    if not camera.onvif_host:
        return ProbeResult(NAME, success=False, status=SKIPPED, duration_seconds=0.0, error="no onvif_host")
    secret = camera.password.get_secret_value() if camera.password else None
    # Loading the WSDLs is a cost of the process, not of the camera: the deadline starts after it.
    kept = memory(ctx.caches)
    await load_wsdl(kept)

    found = _Findings()
    started = time.monotonic()
    try:
        async with asyncio.timeout(ctx.timeout):
            _, status, error = await _session(
                camera, settings.max_reply_bytes, lambda cam: _inspect(cam, found, secret), found, kept
            )
    except TimeoutError:
        status, error = TIMEOUT, f"no answer to {found.step} within {ctx.timeout:g}s"

    offset = found.values.get("clock_offset_seconds")
    return ProbeResult(
        probe=NAME,
        success=status == OK,
        status=status,
        duration_seconds=time.monotonic() - started,
        error=error,
        faults=("clock_skew",) if offset is not None and abs(offset) > settings.clock_skew_threshold else (),
        values=found.values,
        details=found.details,
    )
