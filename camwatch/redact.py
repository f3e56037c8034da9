"""Keep passwords out of everything a user sees: logs, metrics, reports, errors."""

from __future__ import annotations

import re
from collections.abc import Iterable

# scheme://user:password@host  ->  scheme://user:***@host
_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@/\s]*)@")


def redact_url(text: str) -> str:
    """Mask the password part of every URL userinfo in ``text``."""
    return _URL_USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)


def scrub(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Mask URL passwords and every literal secret in ``text``."""
    out = redact_url(text)
    for secret in secrets:
        if secret:
            out = out.replace(secret, "***")
    return out
