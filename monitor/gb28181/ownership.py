"""Channel ownership: which device (NVR, lower platform) may set a channel's status.

A channel belongs to the device the ledger names (``gb_device``, 设备国标编码), else to the first registered
device that reported it, and a device id to its own device. Another device listing it is refused for that
channel: a misconfigured or hostile NVR can neither hide nor fake a neighbour's outage. Each refused pair is
logged once (both ids); the caller counts it and notes it in the camera's history.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)

NOTE = "gb28181_not_owner"  # the event kind of a refused claim, noted in the camera's history
MAX_WARNED = 10_000  # (claimant, channel) pairs remembered as warned; then warnings start over


class Owners:
    def __init__(self, ledger: Mapping[str, str] | None = None):
        self.ledger: dict[str, str] = dict(ledger or {})  # channel id -> device id the ledger names
        self.holders: dict[str, str] = {}  # channel id -> the device whose catalog holds it
        self._warned_pairs: set[tuple[str, str]] = set()
        self._noted: set[tuple[str, str]] = set()

    def owner(self, channel: str, is_device: Callable[[str], bool]) -> str | None:
        """The channel's owner: the ledger's device, the channel itself when it is a device, or the device
        holding it; None while nobody does."""
        return (
            self.ledger.get(channel) or (channel if is_device(channel) else None) or self.holders.get(channel)
        )

    def refuse(self, claimant: str, channel: str, is_device: Callable[[str], bool]) -> str | None:
        """The owner that keeps ``claimant`` from ``channel`` (logged once per device pair), else None."""
        owner = self.owner(channel, is_device)
        if owner is None or owner == claimant:
            return None
        if (claimant, owner) not in self._warned_pairs:
            if len(self._warned_pairs) >= MAX_WARNED:
                self._warned_pairs.clear()
            self._warned_pairs.add((claimant, owner))
            log.warning(
                "GB/T 28181 device %s lists channels of device %s (e.g. %s): refused, the channel stays %s's",
                claimant,
                owner,
                channel,
                owner,
            )
        return owner

    def first_refusal(self, claimant: str, channel: str) -> bool:
        """Whether this (claimant, channel) refusal is new: it is noted in the camera's history once."""
        key = (claimant, channel)
        if key in self._noted:
            return False
        if len(self._noted) >= MAX_WARNED:
            self._noted.clear()
        self._noted.add(key)
        return True

    def hold(self, channel: str, device: str) -> None:
        self.holders[channel] = device

    def release(self, channel: str, device: str) -> None:
        if self.holders.get(channel) == device:
            del self.holders[channel]


def note_text(detail: dict[str, object]) -> str:
    """A refused claim as ``camwatch history`` shows it."""
    return (
        f"GB/T 28181 device {detail.get('device')} listed this channel, which belongs to device "
        f"{detail.get('owner')}: refused"
    )
