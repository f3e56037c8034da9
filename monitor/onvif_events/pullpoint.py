"""One camera's ONVIF PullPoint subscription (CreatePullPointSubscription, PullMessages, Renew, Unsubscribe).

Built on onvif-zeep-async's services, as the ONVIF probe is: its WS-Security (signed on the camera's own
clock), WS-Addressing and zeep's parsing of the events WSDL, with the probe's guards (replies read through a
size cap, DTDs and entities refused). Its ``PullPointManager`` is not used: it renews on timers of its own
and re-subscribes in background tasks nobody bounds or counts; here every exchange is one awaited call the
event source times and counts. What the library cannot bound itself is bounded here: the reply's bytes
(``max_reply_bytes``), the messages read from one reply (``message_limit``), and the time of each call (the
caller's deadline).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from lxml import etree
from onvif import ONVIFCamera, ONVIFService

from camwatch.config.models import Camera
from camwatch.config.redact import scrub
from camwatch.monitor.onvif_events.vocab import Notice, notice
from camwatch.monitor.probes.bounded import ReplyRefused
from camwatch.monitor.probes.onvif import (  # the ONVIF probe's guarded session, shared
    _PROTOCOL_ERRORS,
    OnvifFailed,
    OnvifMemory,
    _classify,
    _close,
    _connect,
    _Findings,
    _track_services,
    load_services,
    load_wsdl,
)


class ReplyTooLarge(OnvifFailed):
    """A reply over ``max_reply_bytes`` (a flood, a huge message): refused unread."""


_EVENTS_NS = "http://www.onvif.org/ver10/events/wsdl"
_PULLPOINT = f"{_EVENTS_NS}/PullPointSubscription"
_TT = "{http://www.onvif.org/ver10/schema}"


@dataclass(frozen=True, slots=True)
class Pulled:
    """One PullMessages reply: the notices read (at most the limit), how many messages it held, and the
    seconds left of the subscription as the camera counts them (None if it did not say)."""

    notices: tuple[Notice, ...]
    received: int
    remaining: float | None


def _text(value: Any) -> str:
    """The text of a zeep "any" value (``_value_1``) or of a plain one."""
    inner = getattr(value, "_value_1", value)
    return "" if inner is None else str(inner)


def _items(holder: Any) -> dict[str, str]:
    """``SimpleItem`` Name → Value of a zeep ItemList or an lxml ``tt:Source``/``tt:Data`` element."""
    if holder is None:
        return {}
    if isinstance(holder, etree._Element):
        return {
            str(e.get("Name")): str(e.get("Value", ""))
            for e in holder.iter(f"{_TT}SimpleItem")
            if e.get("Name") is not None
        }
    items = getattr(holder, "SimpleItem", None) or ()
    return {str(i.Name): str(i.Value) for i in items if i.Name is not None}


def read_message(holder: Any) -> Notice:
    """A notice from one zeep ``NotificationMessage``: its topic and ``tt:Message`` (which zeep hands over
    either as an object of the ONVIF schema or, for a layout it does not know, as an lxml element)."""
    topic = _text(getattr(holder, "Topic", None))
    message = getattr(getattr(holder, "Message", None), "_value_1", None)
    if isinstance(message, etree._Element):
        operation = message.get("PropertyOperation")
        source = _items(message.find(f"{_TT}Source"))
        data = _items(message.find(f"{_TT}Data"))
    else:
        operation = getattr(message, "PropertyOperation", None)
        source = _items(getattr(message, "Source", None))
        data = _items(getattr(message, "Data", None))
    key = ",".join(f"{k}={v}" for k, v in sorted(source.items()))[:200]
    return notice(topic, str(operation) if operation else None, data, key)


def _refused(exc: BaseException) -> bool:
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 20:
        if isinstance(current, ReplyRefused):
            return True
        current, seen = current.__cause__ or current.__context__, seen + 1
    return False


def _remaining(reply: Any) -> float | None:
    current, end = getattr(reply, "CurrentTime", None), getattr(reply, "TerminationTime", None)
    try:
        return float((end - current).total_seconds())  # type: ignore[operator]
    except (TypeError, AttributeError):
        return None


class EventsWsdl:
    """What subscriptions keep between exchanges, owned by the event source: the WSDLs they use, parsed
    once (onvif-zeep-async caches each in the process but with no lock, so subscriptions started together
    share one load), and the ONVIF exchanges' memory (``probes.onvif.OnvifMemory``)."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self.loaded = False
        self.onvif = OnvifMemory()

    async def load(self) -> None:
        if self.loaded:
            return
        async with self._lock:
            if not self.loaded:
                await load_wsdl(self.onvif)
                await load_services(("events",))
                self.loaded = True


class PullPoint:
    """A PullPoint subscription on one camera; each method is one exchange, bounded by the caller's deadline.

    Any failure raises ``OnvifFailed`` (a probe status and a reason without the password); the caller then
    ``close``s it and subscribes anew."""

    def __init__(self, camera: Camera, *, max_reply_bytes: int, wsdl: EventsWsdl) -> None:
        assert camera.onvif_host is not None
        self.camera = camera
        self._secret = camera.password.get_secret_value() if camera.password else None
        self._cam = ONVIFCamera(
            camera.onvif_host, camera.onvif_port, camera.username or "", self._secret or "", no_cache=True
        )
        self._created = _track_services(self._cam, max_reply_bytes, wsdl.onvif.making)
        self._found = _Findings()
        self._wsdl = wsdl
        self._pullpoint: ONVIFService | None = None
        self._manager: ONVIFService | None = None
        self.expires_at = 0.0  # time.monotonic() when the camera drops the subscription unless renewed
        self.lifetime = 0.0

    async def _call(self, step: str, call: Any) -> Any:
        try:
            return await self._found.at(step, call)
        except TimeoutError:
            raise  # the caller's deadline (or the HTTP client's): counted as a timeout
        except _PROTOCOL_ERRORS as exc:  # anything else is camwatch's bug: the source logs it, internal
            status, reason = _classify(exc, self._found.step)
            failed = ReplyTooLarge if _refused(exc) else OnvifFailed
            raise failed(status, scrub(reason, [self._secret])) from None

    async def subscribe(self, lifetime: float) -> None:
        """Connect (the camera's clock and capabilities), create the subscription and its services."""
        await self._wsdl.load()

        async def create() -> Any:
            await _connect(self._cam, self._found)
            events = await self._cam.create_events_service()
            return await events.CreatePullPointSubscription({"InitialTerminationTime": f"PT{int(lifetime)}S"})

        reply = await self._call("CreatePullPointSubscription", create())
        address = _text(getattr(getattr(reply, "SubscriptionReference", None), "Address", None)).strip()
        host = urlsplit(address).hostname if address.startswith(("http://", "https://")) else None
        if host is None or host.lower().strip("[]") != str(self.camera.onvif_host).lower().strip("[]"):
            # A subscription elsewhere would have camwatch send the camera's login to another host.
            raise OnvifFailed("error", "CreatePullPointSubscription: subscription address not on the camera")
        self._cam.xaddrs[_PULLPOINT] = address
        self._pullpoint = await self._call("connect pullpoint", self._cam.create_pullpoint_service())
        self._manager = await self._call(
            "connect subscription", self._cam.create_subscription_service("PullPointSubscription")
        )
        self._expire_in(_remaining(reply), lifetime)
        await self._keep_only(self._pullpoint, self._manager)

    async def _keep_only(self, *services: ONVIFService) -> None:
        """Close the services a subscription no longer needs (device, events): a live subscription holds
        only its pull point and its manager, which is most of what it costs in memory."""
        keep = {id(s) for s in services}
        for key, service in list(self._cam.services.items()):
            if id(service) not in keep:
                del self._cam.services[key]
                await service.close()
        self._created[:] = [s for s in self._created if id(s) in keep]

    def _expire_in(self, remaining: float | None, asked: float) -> None:
        # A camera that reports nonsense times is taken at the lifetime asked for.
        seconds = remaining if remaining is not None and 0 < remaining <= 10 * asked else asked
        self.lifetime = seconds
        self.expires_at = time.monotonic() + seconds

    async def pull(self, wait: float, limit: int) -> Pulled:
        """One PullMessages: the camera waits up to ``wait`` seconds for a message and sends at most
        ``limit`` (a camera that sends more has the rest counted, not read)."""
        assert self._pullpoint is not None
        pullpoint = self._pullpoint
        reply = await self._call(
            "PullMessages",
            pullpoint.PullMessages({"Timeout": timedelta(seconds=wait), "MessageLimit": limit}),
        )
        if reply is None:
            raise OnvifFailed("error", "PullMessages: malformed reply")
        holders = list(getattr(reply, "NotificationMessage", None) or ())
        notices = []
        for holder in holders[:limit]:
            try:
                notices.append(read_message(holder))
            except (AttributeError, TypeError, ValueError):
                continue  # one unreadable message is skipped, the rest are read
        return Pulled(tuple(notices), len(holders), _remaining(reply))

    async def renew(self, lifetime: float) -> None:
        assert self._manager is not None
        reply = await self._call("Renew", self._manager.Renew({"TerminationTime": f"PT{int(lifetime)}S"}))
        self._expire_in(_remaining(reply), lifetime)

    async def unsubscribe(self) -> None:
        if self._manager is not None:
            await self._call("Unsubscribe", self._manager.Unsubscribe())
            self._manager = None

    async def close(self) -> None:
        """Close the camera's HTTP sessions (finishes even when cancelled)."""
        await _close(self._cam, self._created)
