"""Closed label vocabularies of the GB/T 28181 metrics: whatever a peer sends, the series count stays fixed.

A label value never comes from the wire as it is: a ``CmdType`` outside the standard's set is ``other``, a
response status outside the codes SIP peers use is its class (``4xx``), and every drop reason is one of
``DROP_REASONS`` (checked where it is counted). README lists these sets.
"""

from __future__ import annotations

# GB/T 28181-2016/2022 Annex A command types (queries, notifications, controls and their responses).
CMD_TYPES = frozenset(
    {
        "Keepalive", "Catalog", "DeviceInfo", "DeviceStatus", "RecordInfo", "Alarm", "MediaStatus",
        "Broadcast", "MobilePosition", "ConfigDownload", "PresetQuery", "DeviceControl", "DeviceConfig",
        "HomePositionQuery", "CruiseTrackListQuery", "CruiseTrackQuery", "PTZPosition", "SDCardStatus",
        "DeviceUpgradeResult", "SnapShotFinished", "VideoUploadNotify", "UploadSnapShotFinished",
    }
)  # fmt: skip

# Response codes worth a series of their own; any other is counted under its class.
STATUS_CODES = frozenset(
    {100, 180, 183, 200, 202, 400, 401, 403, 404, 405, 408, 480, 481, 486, 488, 489, 500, 501, 503}
)

# Why input was dropped or refused (``camwatch_gb28181_dropped_total{reason}``), in README's order.
DROP_REASONS = (
    "malformed",  # not SIP we read (or two Content-Length headers)
    "too_large",  # over max_message_bytes
    "not_registered",  # a MESSAGE/NOTIFY naming no registered device
    "wrong_contact",  # from another transport, address or port than the device registered from
    "unsolicited_response",  # a query Response for an SN camwatch is not waiting on
    "no_subscription",  # a Catalog NOTIFY outside a live subscription's dialog
    "not_owner",  # a catalog item for a channel another device owns
    "register_rate",  # REGISTERs over the per-source or global rate
    "auth_rate",  # wrong passwords or reused digests over the limit
    "rate",  # refusals (404, 400) over their rate: dropped unanswered
    "bad_body",  # a MANSCDP body that does not parse
    "channels",  # over max_channels
    "tcp_connections",  # over the TCP connection budget
    "tcp_per_source",  # over the per-source limit of unauthenticated TCP connections
    "tcp_timeout",  # a TCP message not complete within the header deadline, or a connection idle too long
    "send_failed",  # a query that could not be sent
    "alarm_rate",  # our Response to a device's Alarm over its rate: not sent (the alarm still counts)
)
_REASONS = frozenset(DROP_REASONS)


def cmd_label(cmd: str) -> str:
    """A MANSCDP ``CmdType`` as a label value: itself when the standard defines it, else ``other``."""
    return cmd if cmd in CMD_TYPES else "other"


def status_label(status: int) -> str:
    """A SIP response status as a label value: the code when common, else its class (``4xx``)."""
    return str(status) if status in STATUS_CODES else f"{status // 100}xx"


def reason(name: str) -> str:
    """``name``, checked to be a documented drop reason (a typo fails loudly in tests, not in a dashboard)."""
    if name not in _REASONS:
        raise ValueError(f"undocumented GB/T 28181 drop reason {name!r}")
    return name
