"""A simulated ONVIF event service (PullPoint), for the device simulator and tests.

Written from the ONVIF ``events.wsdl`` message layouts (CreatePullPointSubscription, PullMessages, Renew,
Unsubscribe; WS-BaseNotification ``NotificationMessage``) and the notification XML real devices publish:
Hikvision's ``tns1:RuleEngine/TamperDetector/Tamper`` with ``IsTampered`` and its ``VideoSource`` diagnosis
topics with ``State``; Dahua's ``tns1:VideoSource/SignalLoss``; Axis's plain ``tns1:VideoSource/
tnsaxis:Tampering`` pulse; ``tns1:Device/HardwareFailure/StorageFailure`` with ``Failed``. Its own XML,
nothing of camwatch's client.

Like a real camera it sends an ``Initialized`` message per property when a subscription starts, then a
``Changed`` one each time a condition is raised or cleared; it drops a subscription that is neither renewed
nor pulled before its termination time. ``mode`` makes it misbehave (a flood, a huge message, a pull that
never returns, a refused renewal).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal
from xml.sax.saxutils import escape, quoteattr

EventMode = Literal["flood", "huge", "hang", "refuse_renew"]

# Event name → (topic, source item names, state item name), as the vendors publish them.
TOPICS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "tamper": (
        "tns1:RuleEngine/TamperDetector/Tamper",
        ("VideoSourceConfigurationToken", "VideoAnalyticsConfigurationToken", "Rule"),
        "IsTampered",
    ),
    "signal_loss": ("tns1:VideoSource/SignalLoss", ("Source",), "State"),
    "scene_change": ("tns1:VideoSource/GlobalSceneChange/AnalyticsService", ("Source",), "State"),
    "too_blurry": ("tns1:VideoSource/ImageTooBlurry/AnalyticsService", ("Source",), "State"),
    "too_dark": ("tns1:VideoSource/ImageTooDark/ImagingService", ("Source",), "State"),
    "too_bright": ("tns1:VideoSource/ImageTooBright/AnalyticsService", ("Source",), "State"),
    "storage_failure": ("tns1:Device/HardwareFailure/StorageFailure", ("Token",), "Failed"),
    # Topics camwatch does not name: motion (Hikvision, Dahua) and a vendor's own.
    "motion": ("tns1:RuleEngine/CellMotionDetector/Motion", ("VideoSourceConfigurationToken",), "IsMotion"),
    "vendor": ("tns1:Device/tnshik:AlarmIn/BoardTemperature", ("Token",), "State"),
}
AXIS_TAMPERING = "tns1:VideoSource/tnsaxis:Tampering"
PROPERTIES = tuple(name for name in TOPICS if name not in ("motion", "vendor"))

_NS = {
    "SOAP-ENV": "http://www.w3.org/2003/05/soap-envelope",
    "tev": "http://www.onvif.org/ver10/events/wsdl",
    "wsnt": "http://docs.oasis-open.org/wsn/b-2",
    "wsa": "http://www.w3.org/2005/08/addressing",
    "tt": "http://www.onvif.org/ver10/schema",
    "tns1": "http://www.onvif.org/ver10/topics",
    "tnsaxis": "http://www.axis.com/2009/event/topics",
    "tnshik": "http://www.hikvision.com/2011/event/topics",
    "wsrf-rw": "http://docs.oasis-open.org/wsrf/rw-2",
    "ter": "http://www.onvif.org/ver10/error",
}
_ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<SOAP-ENV:Envelope '
    + " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in _NS.items())
    + "><SOAP-ENV:Body>{body}</SOAP-ENV:Body></SOAP-ENV:Envelope>"
)
_FAULT = (
    "<SOAP-ENV:Fault><SOAP-ENV:Code><SOAP-ENV:Value>SOAP-ENV:Sender</SOAP-ENV:Value>"
    "<SOAP-ENV:Subcode><SOAP-ENV:Value>{subcode}</SOAP-ENV:Value></SOAP-ENV:Subcode></SOAP-ENV:Code>"
    '<SOAP-ENV:Reason><SOAP-ENV:Text xml:lang="en">{reason}</SOAP-ENV:Text></SOAP-ENV:Reason>'
    "</SOAP-ENV:Fault>"
)
_CREATED = (
    "<tev:CreatePullPointSubscriptionResponse><tev:SubscriptionReference><wsa:Address>{address}</wsa:Address>"
    "</tev:SubscriptionReference><wsnt:CurrentTime>{now}</wsnt:CurrentTime>"
    "<wsnt:TerminationTime>{end}</wsnt:TerminationTime></tev:CreatePullPointSubscriptionResponse>"
)
_PULLED = (
    "<tev:PullMessagesResponse><tev:CurrentTime>{now}</tev:CurrentTime>"
    "<tev:TerminationTime>{end}</tev:TerminationTime>{messages}</tev:PullMessagesResponse>"
)
_NOTIFICATION = (
    "<wsnt:NotificationMessage><wsnt:SubscriptionReference><wsa:Address>{address}</wsa:Address>"
    "</wsnt:SubscriptionReference>"
    '<wsnt:Topic Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet">{topic}</wsnt:Topic>'
    "<wsnt:Message><tt:Message UtcTime={utc}{operation}><tt:Source>{source}</tt:Source>"
    "<tt:Data>{data}</tt:Data></tt:Message></wsnt:Message></wsnt:NotificationMessage>"
)
_RENEWED = (
    "<wsnt:RenewResponse><wsnt:TerminationTime>{end}</wsnt:TerminationTime>"
    "<wsnt:CurrentTime>{now}</wsnt:CurrentTime></wsnt:RenewResponse>"
)
OPERATIONS = frozenset(
    {"CreatePullPointSubscription", "PullMessages", "Renew", "Unsubscribe", "SetSynchronizationPoint"}
)
SUBSCRIPTION_PATH = "/onvif/events/subscription/"
_P = r"(?:[\w.-]+:)?"
_TIMEOUT = re.compile(rf"<{_P}Timeout>\s*([^<]*)</")
_LIMIT = re.compile(rf"<{_P}MessageLimit>\s*(\d+)\s*</")
_TERMINATION = re.compile(rf"<{_P}(?:InitialTerminationTime|TerminationTime)>\s*([^<]*)</")
_RELATIVE = re.compile(r"^PT(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$")
MAX_WAIT = 10.0  # seconds a PullMessages waits at most for a message
MAX_PENDING = 10_000  # messages a subscription keeps for its next pull
FLOOD = 5_000  # messages a flooding device sends per pull, whatever the limit asked
HUGE_BYTES = 4 * 1024 * 1024  # a huge message's size


def _stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _items(names: tuple[str, ...], values: tuple[str, ...]) -> str:
    pairs = zip(names, values, strict=True)
    return "".join(f"<tt:SimpleItem Name={quoteattr(n)} Value={quoteattr(v)}/>" for n, v in pairs)


def _duration(text: str, now: datetime, default: float) -> float:
    """Seconds from a relative (``PT60S``) or absolute termination time."""
    text = text.strip()
    if m := _RELATIVE.match(text):
        return int(m[1] or 0) * 60 + float(m[2] or 0)
    try:
        return (datetime.fromisoformat(text.replace("Z", "+00:00")) - now).total_seconds()
    except ValueError:
        return default


@dataclass
class _Subscription:
    end: datetime
    pending: deque[str] = field(default_factory=lambda: deque(maxlen=MAX_PENDING))


@dataclass
class EventBoard:
    """One device's event service: the conditions that hold now and its subscriptions.

    ``raise_``/``clear`` change a condition and queue a ``Changed`` message; ``pulse`` queues a plain event.
    ``mode`` makes the device misbehave; ``created``, ``renewed``, ``unsubscribed`` and ``pulls`` count
    what clients did."""

    state: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(PROPERTIES, False))
    mode: EventMode | None = None
    # The longest subscription it grants (devices clamp the termination time asked for), in seconds.
    max_lifetime: float = 3600.0
    clock_offset: float = 0.0
    created: int = 0
    renewed: int = 0
    unsubscribed: int = 0
    pulls: int = 0
    _subscriptions: dict[str, _Subscription] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=itertools.count)
    _news: asyncio.Event | None = None

    @property
    def subscriptions(self) -> int:
        return len(self._subscriptions)

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.clock_offset)

    def raise_(self, event: str, active: bool = True) -> None:
        self.state[event] = active
        self._queue(self._message(event, active, "Changed"))

    def clear(self, event: str) -> None:
        self.raise_(event, False)

    def pulse(self, topic: str = AXIS_TAMPERING) -> None:
        """A plain event (no PropertyOperation): Axis's tampering, with its ``tampering`` item."""
        self._queue(self._plain(topic, ("Channel",), ("1",), "tampering", "1"))

    def other(self, name: str = "motion") -> None:
        """A property event of a topic camwatch does not name."""
        self._queue(self._message(name, True, "Changed"))

    def drop_subscriptions(self) -> None:
        """Forget every subscription, as a rebooted device does."""
        self._subscriptions.clear()

    def _queue(self, message: str) -> None:
        for sub in self._subscriptions.values():
            sub.pending.append(message)
        if self._news is not None:
            self._news.set()

    def _message(self, event: str, active: bool, operation: str) -> str:
        topic, sources, item = TOPICS[event]
        values = tuple("vsc_1" if "Token" in n or n == "Source" else "Rule1" for n in sources)
        return self._plain(topic, sources, values, item, "true" if active else "false", operation)

    def _plain(
        self,
        topic: str,
        sources: tuple[str, ...],
        values: tuple[str, ...],
        item: str,
        value: str,
        operation: str | None = None,
    ) -> str:
        return _NOTIFICATION.format(
            address="{address}",
            topic=escape(topic),
            utc=quoteattr(_stamp(self.now())),
            operation=f' PropertyOperation="{operation}"' if operation else "",
            source=_items(sources, values),
            data=_items((item,), (value,)),
        )

    def _expire(self) -> None:
        now = self.now()
        for key in [k for k, sub in self._subscriptions.items() if sub.end <= now]:
            del self._subscriptions[key]

    async def reply(
        self, operation: str, request_xml: str, path: str, base: str, closing: asyncio.Event
    ) -> tuple[int, str]:
        """HTTP status and SOAP envelope for one event-service operation."""
        self._expire()
        now = self.now()
        if operation == "CreatePullPointSubscription":
            key = str(next(self._ids))
            seconds = _duration(_group(_TERMINATION, request_xml) or "PT60S", now, 60.0)
            seconds = min(max(seconds, 1.0), self.max_lifetime)
            new = self._subscriptions[key] = _Subscription(now + timedelta(seconds=seconds))
            new.pending.extend(self._message(event, on, "Initialized") for event, on in self.state.items())
            self.created += 1
            address = f"{base}{SUBSCRIPTION_PATH}{key}"
            return 200, _ENVELOPE.format(
                body=_CREATED.format(address=escape(address), now=_stamp(now), end=_stamp(new.end))
            )
        key = path.rpartition(SUBSCRIPTION_PATH)[2] if SUBSCRIPTION_PATH in path else ""
        sub = self._subscriptions.get(key)
        if sub is None:
            return 400, _ENVELOPE.format(
                body=_FAULT.format(subcode="wsrf-rw:ResourceUnknownFault", reason="no such subscription")
            )
        address = escape(f"{base}{path}")
        match operation:
            case "PullMessages":
                return 200, await self._pull(sub, request_xml, address, closing)
            case "Renew":
                if self.mode == "refuse_renew":
                    return 400, _ENVELOPE.format(
                        body=_FAULT.format(subcode="wsnt:UnacceptableTerminationTimeFault", reason="refused")
                    )
                seconds = _duration(_group(_TERMINATION, request_xml) or "PT60S", now, 60.0)
                sub.end = now + timedelta(seconds=min(max(seconds, 1.0), self.max_lifetime))
                self.renewed += 1
                return 200, _ENVELOPE.format(body=_RENEWED.format(end=_stamp(sub.end), now=_stamp(now)))
            case "Unsubscribe":
                if self.mode == "hang":
                    await closing.wait()
                del self._subscriptions[key]
                self.unsubscribed += 1
                return 200, _ENVELOPE.format(body="<wsnt:UnsubscribeResponse/>")
        return 200, _ENVELOPE.format(body="<tev:SetSynchronizationPointResponse/>")

    async def _pull(self, sub: _Subscription, request_xml: str, address: str, closing: asyncio.Event) -> str:
        self.pulls += 1
        if self.mode == "hang":
            await closing.wait()
        wait = min(_duration(_group(_TIMEOUT, request_xml) or "PT1S", self.now(), 1.0), MAX_WAIT)
        limit = int(_group(_LIMIT, request_xml) or 100)
        if not sub.pending and self.mode is None and wait > 0:
            self._news = self._news or asyncio.Event()
            self._news.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._news.wait(), wait)
        if self.mode == "flood":
            messages = [self._message("motion", n % 2 == 0, "Changed") for n in range(FLOOD)]
        elif self.mode == "huge":
            item = "x" * HUGE_BYTES
            messages = [self._plain(TOPICS["vendor"][0], ("Token",), (item,), "State", "true")]
        else:
            messages = [sub.pending.popleft() for _ in range(min(limit, len(sub.pending)))]
        now = self.now()
        # A pull keeps the subscription alive no longer than its termination time (a client must renew).
        body = _PULLED.format(
            now=_stamp(now),
            end=_stamp(sub.end),
            messages="".join(m.replace("{address}", address) for m in messages),
        )
        return _ENVELOPE.format(body=body)


def _group(pattern: re.Pattern[str], text: str) -> str | None:
    m = pattern.search(text)
    return m[1] if m else None


def events_capability(base: str) -> str:
    """The ``tt:Events`` element of a GetCapabilities reply."""
    return (
        f"<tt:Events><tt:XAddr>{base}/onvif/event_service</tt:XAddr>"
        "<tt:WSSubscriptionPolicySupport>false</tt:WSSubscriptionPolicySupport>"
        "<tt:WSPullPointSupport>true</tt:WSPullPointSupport>"
        "<tt:WSPausableSubscriptionManagerInterfaceSupport>false</tt:WSPausableSubscriptionManagerInterfaceSupport>"
        "</tt:Events>"
    )
