"""Keep passwords out of everything a user sees: logs, metrics, reports, errors."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote

# scheme://user:password@host  ->  scheme://user:***@host. The password part runs to the LAST '@' before
# the path, so an unencoded '@' inside a password cannot leave its tail behind.
_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^/\s]*)@")


def redact_url(text: str) -> str:
    """Mask the password part of every URL userinfo in ``text``."""
    return _URL_USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)


def scrub(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Mask every literal secret (also percent-encoded) and every URL password in ``text``."""
    for secret in secrets:
        if secret:
            for form in {secret, quote(secret, safe=""), quote(secret)}:
                text = text.replace(form, "***")
    return redact_url(text)
