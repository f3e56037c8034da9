"""Queries the upper platform sends to a device, and the answers it awaits.

A Response counts only for an SN camwatch sent to that device and still awaited (``awaited``): SNs are
unguessable (``devices.new_sn``), at most ``MAX_PENDING`` wait per device, each for ``QUERY_WAIT``. A query
a probe waits on (``ask``: DeviceStatus of a channel, RecordInfo) has an ``Answer`` that the device's Response
MESSAGEs sharing its SN are fed to (``deliver``) until it is whole, refused, or the caller's time runs out;
at most ``ASKED_PER_DEVICE`` such queries are out per device at once, so a probe round over an NVR's channels
never crowds out the platform's own Catalog and DeviceStatus queries.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Protocol

from camwatch.config.models import Gb28181Settings
from camwatch.monitor.gb28181 import manscdp, sip
from camwatch.monitor.gb28181.devices import Device, new_sn

# Queries awaiting their answer per device, and for how long an answer is taken (a 4096-channel catalog in
# paced packets takes about a minute).
MAX_PENDING = 8
QUERY_WAIT = 300.0
# Probe queries out at once per device (the rest wait their turn within their own timeout): half the pending
# table, so a catalog refresh always finds room.
ASKED_PER_DEVICE = MAX_PENDING // 2


class Answer(Protocol):
    """Collects one query's Response parts; ``done`` is set once it holds all it will take."""

    done: asyncio.Event

    def feed(self, doc: manscdp.Manscdp, size: int) -> None: ...

    def fail(self, reason: str) -> None: ...


class QueryFailed(RuntimeError):
    """A probe query that could not be sent (the device's TCP connection is closed)."""


class Queries:
    def __init__(self, clock: Callable[[], float], dropped: Counter[str]):
        self.clock = clock
        self.dropped = dropped
        self.answers: dict[tuple[str, int], Answer] = {}
        self._gates: dict[str, tuple[asyncio.Semaphore, int]] = {}  # device id -> (gate, users)

    def send(
        self,
        device: Device,
        cmd: str,
        *,
        settings: Gb28181Settings,
        local: tuple[str, int],
        target: str = "",
        fields: Iterable[tuple[str, str]] = (),
        subscribe: float = 0.0,
    ) -> int | None:
        """Send ``cmd`` about ``target`` (default: the device) as a query MESSAGE, or with ``subscribe``
        seconds as a SUBSCRIBE to its events; the SN, or None when it could not be sent."""
        if device.send is None:
            return None
        sn = new_sn()
        device.cseq += 1
        host, port = device.address
        s = settings
        body = manscdp.query(cmd, sn, target or device.id, fields)
        now = self.clock()
        if subscribe:
            device.subscribed_until = now + subscribe
        else:
            device.pending[sn] = (cmd, now + QUERY_WAIT)
            while len(device.pending) > MAX_PENDING:
                evicted = next(iter(device.pending))
                del device.pending[evicted]
                if (answer := self.answers.get((device.id, evicted))) is not None:
                    answer.fail("crowded out by newer queries to the device")
        extra = (
            [
                ("Event", f"{cmd};id={sn}"),
                ("Expires", str(int(subscribe))),
                ("Contact", f"<sip:{s.id}@{local[0]}:{local[1]}>"),
            ]
            if subscribe
            else []
        )
        try:
            device.send(
                sip.request(
                    "SUBSCRIBE" if subscribe else "MESSAGE",
                    uri=f"sip:{device.id}@{host}:{port}",
                    from_uri=f"sip:{s.id}@{s.domain}",
                    to_uri=f"sip:{device.id}@{s.domain}",
                    via=f"{device.transport} {local[0]}:{local[1]}",
                    cseq=device.cseq,
                    # A subscription's dialog keeps one Call-ID (its NOTIFYs carry it); a query a random one.
                    call_id=device.subscription_call_id if subscribe else secrets.token_hex(12),
                    body=body,
                    extra=extra,
                )
            )
        except (OSError, RuntimeError):  # a closed TCP connection: the device reconnects and re-registers
            self.dropped["send_failed"] += 1
            device.pending.pop(sn, None)
            return None
        return sn

    @staticmethod
    def awaited(device: Device, sn: int, cmd: str, now: float) -> bool:
        """Whether ``sn`` is a ``cmd`` query sent to ``device`` whose answer is still due."""
        waiting = device.pending.get(sn)
        if waiting is None or waiting[0] != cmd:
            return False
        if now > waiting[1]:
            del device.pending[sn]
            return False
        return True

    def deliver(self, device: Device, doc: manscdp.Manscdp, size: int) -> bool:
        """Feed an awaited Response to the probe query waiting on its SN; False when none waits on it."""
        answer = self.answers.get((device.id, doc.sn))
        if answer is None:
            return False
        answer.feed(doc, size)
        if answer.done.is_set():
            device.pending.pop(doc.sn, None)
        return True

    async def ask(
        self,
        device: Device,
        cmd: str,
        answer: Answer,
        *,
        settings: Gb28181Settings,
        local: tuple[str, int],
        target: str,
        fields: Iterable[tuple[str, str]] = (),
    ) -> None:
        """Send a query and wait until ``answer`` is done; the caller bounds the time (``asyncio.timeout``).
        Raises QueryFailed when it cannot be sent."""
        gate, users = self._gates.get(device.id, (asyncio.Semaphore(ASKED_PER_DEVICE), 0))
        self._gates[device.id] = (gate, users + 1)
        try:
            async with gate:
                sn = self.send(device, cmd, settings=settings, local=local, target=target, fields=fields)
                if sn is None:
                    raise QueryFailed(f"the {cmd} query could not be sent to device {device.id}")
                self.answers[(device.id, sn)] = answer
                try:
                    await answer.done.wait()
                finally:
                    self.answers.pop((device.id, sn), None)
                    device.pending.pop(sn, None)
        finally:
            gate, users = self._gates[device.id]
            if users <= 1:
                del self._gates[device.id]  # no table of every device ever asked
            else:
                self._gates[device.id] = (gate, users - 1)
