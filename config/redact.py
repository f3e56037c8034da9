"""Keep passwords out of everything a user sees: logs, metrics, reports, errors."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote

_SCHEME = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*:(?://)?")

# In free text: scheme://user:password@host. The password runs to the LAST '@' before a host, on its line and
# short of the next URL, so an unencoded '@', '/', '#', '?' or space inside a password cannot leave any of it
# behind. A later '@' on the line (a path holding one) is masked with it: better too much than a password.
_URL_USERINFO = re.compile(
    r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:\s]*):(?:(?!://)[^\n])*@(?=[\w\[])"
)


def userinfo_span(url: str) -> tuple[int, int] | None:
    """Where the userinfo of the single URL ``url`` is: ``(start, end)`` with ``url[end] == '@'``; None when
    it has none.

    The userinfo is everything between ``//`` and the LAST ``@`` whenever that holds a ``:`` (a
    ``user:password``), whatever characters the password has: an unencoded ``/``, ``#``, ``?``, ``@`` or
    ``[`` in a password makes :func:`urllib.parse.urlsplit` take part of it for the host, port or path.
    Without a ``:``, it is a user name only when the ``@`` comes before the path (``rtsp://user@host/x``),
    so that ``rtsp://host/a@b`` keeps its path."""
    scheme = _SCHEME.match(url)
    at = url.rfind("@")
    if scheme is None or at < scheme.end():
        return None
    start = scheme.end()
    if ":" in url[start:at]:
        return start, at
    authority = re.match(r"[^/?#]*", url[start:])
    return (start, at) if authority and start + authority.end() > at else None


def mask_url(url: str) -> str:
    """The single URL ``url`` with its password masked: ``rtsp://user:***@host/path``."""
    span = userinfo_span(url)
    if span is None:
        return url
    start, end = span
    user, sep, _ = url[start:end].partition(":")
    return f"{url[:start]}{user}{sep and ':***'}{url[end:]}"


def redact_url(text: str) -> str:
    """Mask the password part of every URL userinfo in the free text ``text``."""
    return _URL_USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)


def scrub(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Mask every literal secret (also percent-encoded) and every URL password in ``text``."""
    for secret in secrets:
        if secret:
            for form in {secret, quote(secret, safe=""), quote(secret)}:
                text = text.replace(form, "***")
    return redact_url(text)
