"""The ``gb28181:`` section: camwatch as a GB/T 28181 upper platform (ids, devices, limits)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, PrivateAttr, SecretStr, field_validator

from camwatch.config.base import Duration, DurationOrOff, Frozen, host_port


def _gb_code(digits: int, what: str) -> Any:
    def check(v: Any) -> str:
        v = str(v).strip() if isinstance(v, str | int) and not isinstance(v, bool) else v
        if not isinstance(v, str) or len(v) != digits or not v.isascii() or not v.isdigit():
            raise ValueError(f"{what} must be {digits} digits, got {v!r}")
        return v

    return BeforeValidator(check)


GbId = Annotated[str, _gb_code(20, "a GB/T 28181 id (国标编码)")]
"""A 20-digit GB/T 28181 device or channel id."""


class Gb28181Keepalive(Frozen):
    """A device is offline once ``count`` keepalives in a row are missing (GB/T 28181: 60 s × 3)."""

    interval: Duration = 60.0
    count: int = Field(3, ge=1, le=100)


class Gb28181Device(Frozen):
    """Per-device overrides: its own password reference."""

    password_env: str | None = None
    password_file: Path | None = None


class Gb28181Settings(Frozen):
    """camwatch as a GB/T 28181 upper platform (上级平台): devices and lower platforms register with it.

    The device password is resolved at load time (``password_for``) and never sits in the config.
    """

    listen: str = "127.0.0.1:5060"
    id: GbId
    domain: Annotated[str, _gb_code(10, "domain")]
    password_env: str | None = None
    password_file: Path | None = None
    devices: dict[GbId, Gb28181Device] = Field(default_factory=dict)
    # Devices not listed in ``devices`` may register (with the shared password); false answers them 404.
    allow_unknown_devices: bool = True
    keepalive: Gb28181Keepalive = Gb28181Keepalive()
    # What brings an offline device back: its next keepalive, or only a new REGISTER (keepalives get 404).
    revive: Literal["keepalive", "register"] = "keepalive"
    catalog_interval: Duration = 600.0
    # Catalog subscription (SUBSCRIBE, Event: Catalog) asked of each registered device for this long and
    # renewed before it ends: channels switching ON/OFF arrive as NOTIFY at once, not at the next Catalog
    # query. 0: never subscribe.
    catalog_subscription: DurationOrOff = 3600.0
    # Registrations asking for longer are granted this.
    max_expires: Duration = 3600.0
    max_devices: int = Field(1000, ge=1)
    max_channels: int = Field(4096, ge=1)  # per device
    max_message_bytes: int = Field(65536, ge=1024, le=1 << 20)
    max_tcp_connections: int = Field(2000, ge=1)
    # TCP connections per source address that have not carried a successful REGISTER (a registered
    # device's own connection is not counted); more are refused.
    max_tcp_unauthenticated_per_source: int = Field(8, ge=1)
    # A TCP message, once begun (and a new connection's first one), must be whole within this.
    tcp_header_timeout: Duration = 10.0
    # REGISTERs handled per second over all sources (token bucket); the rest are dropped unanswered.
    register_rate: float = Field(100.0, gt=0)
    # ... and per source address; a registered device's own contact is never throttled by either.
    register_rate_per_source: float = Field(10.0, gt=0)
    # Wrong passwords answered 403 per source address and minute, and per device id from sources other
    # than its registered contact; further attempts are dropped.
    auth_failures_per_minute: int = Field(5, ge=1)

    _passwords: dict[str, SecretStr] = PrivateAttr(default_factory=dict)

    @field_validator("listen")
    @classmethod
    def _listen(cls, v: str) -> str:
        return host_port(v)

    def password_for(self, device_id: str) -> SecretStr | None:
        """The device's own password, else the shared one (None before the loader resolved them)."""
        return self._passwords.get(device_id) or self._passwords.get("")

    def with_passwords(self, passwords: dict[str, SecretStr]) -> Gb28181Settings:
        """A copy holding resolved passwords (key ``""``: the shared one)."""
        copy = self.model_copy()
        copy._passwords = dict(passwords)
        return copy
