"""The camera's own analytics (ONVIF events): topics → a closed set of event names, and the pure fold of
notification messages into what the camera says holds now.

Cameras run tamper and video-quality detectors on board and publish them as ONVIF events. What they say is
kept apart from what camwatch measures (``camwatch_video_fault``): it goes out as
``camwatch_camera_event{camera,event}``, ``event`` from ``EVENTS`` only, whatever topic a device invents.

Two kinds of message (ONVIF Core, 9.2 "Properties"): *property* events carry ``PropertyOperation``
(``Initialized`` when a subscription starts, ``Changed``, ``Deleted``) and a state data item (``State``,
``IsTampered``, ``Failed``): the condition holds exactly while the item is true. *Plain* events (no
``PropertyOperation``, e.g. Axis's tampering pulse) say only that something happened: they hold for
``hold`` seconds after the last one, then clear.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# The event names, in dashboard order. ``other`` counts topics outside the list; it never holds a state.
EVENTS = (
    "tamper",
    "signal_loss",
    "scene_change",
    "too_blurry",
    "too_dark",
    "too_bright",
    "storage_failure",
)
OTHER = "other"
EVENT_NAMES = (*EVENTS, OTHER)

# Topic path (namespace prefixes dropped) → event. A topic matches an entry it starts with, so
# ``VideoSource/ImageTooBlurry/AnalyticsService`` and ``…/ImagingService`` are both ``too_blurry``.
TOPICS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("RuleEngine", "TamperDetector", "Tamper"), "tamper"),
    (("VideoSource", "Tampering"), "tamper"),  # Axis: tns1:VideoSource/tnsaxis:Tampering, a plain event
    (("VideoSource", "SignalLoss"), "signal_loss"),
    (("VideoSource", "GlobalSceneChange"), "scene_change"),
    (("VideoSource", "ImageTooBlurry"), "too_blurry"),
    (("VideoSource", "ImageTooDark"), "too_dark"),
    (("VideoSource", "ImageTooBright"), "too_bright"),
    (("Device", "HardwareFailure", "StorageFailure"), "storage_failure"),
)
# Data items that carry the condition, by the names the ONVIF topic set and vendors give them.
STATE_ITEMS = ("State", "IsTampered", "Failed", "Tampering", "tampering", "Value")
_TRUE = frozenset({"true", "1", "on", "active"})
_FALSE = frozenset({"false", "0", "off", "inactive"})
# Most distinct sources (video source tokens, rules) remembered per camera and event: a device inventing
# sources cannot grow the state without bound.
MAX_SOURCES = 16


def event_of(topic: str) -> str:
    """The event name of a topic expression (``tns1:VideoSource/ImageTooDark/ImagingService``), else
    ``other``."""
    path = tuple(part.rpartition(":")[2] for part in topic.strip().split("/"))
    for prefix, event in TOPICS:
        if path[: len(prefix)] == prefix:
            return event
    return OTHER


def truth(value: str | None) -> bool | None:
    """A data item's boolean, or None when it is not one."""
    if value is None:
        return None
    text = value.strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None


@dataclass(frozen=True, slots=True)
class Notice:
    """One notification message, as far as camwatch reads it.

    ``operation``: the PropertyOperation (``Initialized``, ``Changed``, ``Deleted``) or None for a plain
    event. ``active``: the state item's value, None when the message has none readable. ``source``: the
    source items joined (which video source or rule), so two sources of one camera are told apart."""

    event: str
    operation: str | None
    active: bool | None
    source: str = ""


def notice(topic: str, operation: str | None, data: Mapping[str, str], source: str = "") -> Notice:
    """A message's notice from its topic, PropertyOperation and data items."""
    active = next((truth(data[name]) for name in STATE_ITEMS if name in data), None)
    if active is None:  # a vendor's own item name: the first boolean one
        active = next((b for b in map(truth, data.values()) if b is not None), None)
    return Notice(event_of(topic), operation or None, active, source)


@dataclass(frozen=True, slots=True)
class EventState:
    """What one camera says holds: per event, per source, whether the condition holds and, for plain
    events, until when."""

    held: Mapping[str, Mapping[str, bool]]
    until: Mapping[str, float]

    def active(self, event: str, now: float) -> bool | None:
        """1/0 for an event the camera has spoken of, None for one it never has."""
        sources = self.held.get(event)
        pulse = self.until.get(event)
        if sources is None and pulse is None:
            return None
        return any((sources or {}).values()) or (pulse is not None and pulse > now)

    def flags(self, now: float) -> dict[str, bool]:
        """Every event the camera has spoken of, in ``EVENTS`` order: whether it holds at ``now``."""
        out = {}
        for event in EVENTS:
            if (on := self.active(event, now)) is not None:
                out[event] = on
        return out


EMPTY = EventState({}, {})


def fold(state: EventState, notices: Iterable[Notice], now: float, hold: float) -> EventState:
    """``state`` after ``notices`` (in the order the camera sent them), received at ``now``.

    A property message sets its source's state (``Deleted`` forgets the source); a plain message holds the
    event until ``now + hold`` (a plain message saying false clears it). ``other`` never holds a state."""
    held = {event: dict(sources) for event, sources in state.held.items()}
    until = dict(state.until)
    for n in notices:
        if n.event == OTHER:
            continue
        if n.operation is None:
            if n.active is False:
                until[n.event] = now
            else:
                until[n.event] = now + hold
            continue
        if n.operation == "Deleted":
            held.get(n.event, {}).pop(n.source, None)
            continue
        sources = held.get(n.event, {})
        if n.active is not None and (n.source in sources or len(sources) < MAX_SOURCES):
            held[n.event] = {**sources, n.source: n.active}
    return EventState(held, until)
