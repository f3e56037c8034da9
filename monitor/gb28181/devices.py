"""The upper platform's registry entries: a device (NVR, lower platform, IPC) and the channels its catalog
listed, and the ``gb28181`` probe result handed to the monitor for either."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from camwatch.monitor.gb28181.limits import ALARM_ANSWER_RATE, Bucket
from camwatch.monitor.probes.base import OFFLINE, OK, ProbeResult

PROBE = "gb28181"

Send = Callable[[bytes], None]
Contact = tuple[str, str, int]  # transport, address, port


def new_sn() -> int:
    """A query's SN: unguessable, so that a forged answer cannot name one we wait on (31 bits: devices
    keep it in an int)."""
    return secrets.randbelow((1 << 31) - 1) + 1


def gb_date(when: datetime) -> str:
    """The ``Date`` of a REGISTER 200 in the GB/T 28181 form devices set their clock from (local time)."""
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}"


def is_gb_id(value: str) -> bool:
    return len(value) == 20 and value.isascii() and value.isdigit()


@dataclass(slots=True)
class Channel:
    id: str
    name: str = ""
    status: bool | None = None  # the Catalog's word; None: not given (follows the device)
    reported: bool | None = None  # what was last handed to the monitor


@dataclass(slots=True)
class Device:
    """A registered device or lower platform and the channels its Catalog listed."""

    id: str
    transport: str = "UDP"
    address: tuple[str, int] = ("", 0)
    contact: Contact = ("", "", 0)  # where it registered from: its messages count only from there
    send: Send | None = None
    registered: bool = False
    online: bool = False
    reported: bool | None = None
    expires_at: float = 0.0
    last_keepalive: float = 0.0
    deadline: float = 0.0
    catalog_due: float = 0.0
    subscription_due: float = 0.0  # when the Catalog subscription is (re)sent
    subscription_call_id: str = ""  # the subscription's dialog: its NOTIFYs carry this Call-ID
    subscribed_until: float = 0.0
    pending: dict[int, tuple[str, float]] = field(default_factory=dict)  # SN -> (CmdType, answer due by)
    channels: dict[str, Channel] = field(default_factory=dict)
    assemblies: dict[int, set[str]] = field(default_factory=dict)  # SN -> channel ids received
    unknown: int = 0  # channels the ledger does not know
    warned_unknown: bool = False
    clock_offset: float | None = None
    # The last keepalive's ``Date`` header (bounded) and when it came: the recorder's clock when no
    # DeviceStatus gives a DeviceTime.
    keepalive_date: tuple[str, float] | None = None
    device_status: dict[str, str] = field(default_factory=dict)
    cseq: int = 0
    storage_alarms: dict[str, float] = field(default_factory=dict)  # alarms.KINDS storage kind -> latest
    alarm_answers: Bucket = field(default_factory=lambda: Bucket(ALARM_ANSWER_RATE))

    def effective(self, channel: Channel) -> bool:
        return self.online and channel.status is not False


def probe_result(up: bool, why: str, device_id: str) -> ProbeResult:
    return ProbeResult(
        PROBE,
        up,
        OK if up else OFFLINE,
        0.0,
        error=None if up else (why or "offline"),
        details={"device": device_id},
    )
