"""The ``recorders:`` section: NVRs that hold cameras' footage where the camera is not its own recorder.

A ledger row names its recorder (column ``recorder``, its ``id`` here) and the channel on it
(``recorder_channel``: an ISAPI channel number, or an ONVIF recording token, which may be left out where the
device holds one recording: a camera that is its own recorder); the ``recording`` probe asks that recorder.
The password is resolved at load time (``with_password``) and never sits in the config; it is sent only to
the recorder's own ``host``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, field_validator

from camwatch.config.zones import TimeZoneName

RecorderKind = Literal["isapi", "onvif"]
# The recorder protocols by name (``recorders:`` kind), for the code that picks a client.
ISAPI: RecorderKind = "isapi"
ONVIF: RecorderKind = "onvif"
# Kinds the model accepts but no client speaks yet: refused at load with a clear "not yet" (none now).
NOT_YET: frozenset[str] = frozenset()


class Recorder(BaseModel):
    """One recorder: how to reach it and how it writes times.

    ``timezone``: the IANA zone of its local clock; many NVRs write local times with a ``Z`` (as if UTC), and
    such times are read in this zone. Use ``UTC`` for a recorder whose ``Z`` really means UTC.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=128)
    kind: RecorderKind
    host: str = Field(min_length=1, max_length=253)
    port: int = Field(80, gt=0, lt=65536)
    username: str | None = None
    password_env: str | None = None
    password_file: Path | None = None
    timezone: TimeZoneName = "UTC"

    _password: SecretStr | None = PrivateAttr(default=None)

    @field_validator("host")
    @classmethod
    def _host(cls, v: str) -> str:
        v = v.strip().strip("[]")
        if not v or any(c in v for c in "/@?#\\ \t") or (":" in v and v.count(":") < 2):
            raise ValueError(f"expected a host name or IP address, got {v[:80]!r}")
        return v.lower()

    @property
    def password(self) -> SecretStr | None:
        """The resolved password (None before the loader resolved it, or when none is configured)."""
        return self._password

    def with_password(self, password: SecretStr | None) -> Recorder:
        copy = self.model_copy()
        copy._password = password
        return copy
