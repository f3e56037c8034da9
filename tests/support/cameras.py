"""Camera records for tests."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from camwatch.config.models import Camera


def make_camera(**fields: Any) -> Camera:
    """A validated ``Camera`` with test defaults; a plain-string ``password`` becomes a ``SecretStr``."""
    fields.setdefault("id", "cam-1")
    if isinstance(fields.get("password"), str):
        fields["password"] = SecretStr(fields["password"])
    return Camera(**fields)
