"""SIP digest authentication (RFC 2617/3261, MD5, qop=auth) as GB/T 28181 REGISTER uses it: the platform's
side (nonces, replay, verification); the hashing is camwatch.monitor.digest's, shared with the RTSP client.

Nonces are stateless: a timestamp signed with a per-process key, so a REGISTER flood cannot grow a nonce
table. Only a response that proved the password is remembered, by its nonce and count, so that it cannot be
replayed (by someone who saw it pass) while its nonce is fresh. Nothing here logs; callers never log the
password, the response or HA1.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable

from camwatch.monitor import digest as shared

NONCE_LIFETIME = 300.0
# Nonces remembered as used at most: each entry is one accepted registration within a nonce's lifetime.
USED_NONCES_MAX = 65_536


class Nonces:
    """Issues and checks nonces signed with a key that lives only in this process."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._key = secrets.token_bytes(16)
        self._clock = clock
        # nonce -> (when first accepted, highest nonce count accepted with it)
        self._used: dict[str, tuple[float, int]] = {}

    def issue(self) -> str:
        # The time it was issued, then random bits: every challenge gets its own nonce, even within a second.
        body = f"{int(self._clock()):x}{secrets.token_hex(4)}"
        return f"{body}{self._sign(body)}"

    def fresh(self, nonce: str) -> bool:
        body, sig = nonce[:-16], nonce[-16:]
        stamp = body[:-8]
        if not stamp or not hmac.compare_digest(sig, self._sign(body)):
            return False
        try:
            age = self._clock() - int(stamp, 16)
        except ValueError:
            return False
        return 0 <= age <= NONCE_LIFETIME

    def first_use(self, params: dict[str, str]) -> bool:
        """Whether a verified response is new: its nonce count (``nc``, with qop) rises above every count
        accepted with that nonce before; without qop a nonce serves once. Call only after ``verify``: an
        unproven response must not take a slot."""
        try:
            count = int(params.get("nc", "0") or "0", 16) if params.get("qop") else 0
        except ValueError:
            return False
        nonce, now = params.get("nonce", ""), self._clock()
        seen = self._used.get(nonce)
        if seen is not None and count <= seen[1]:
            return False
        if seen is None and len(self._used) >= USED_NONCES_MAX:
            self._used = {n: v for n, v in self._used.items() if now - v[0] <= NONCE_LIFETIME}
            if len(self._used) >= USED_NONCES_MAX:
                self._used.pop(next(iter(self._used)))  # the oldest: its nonce is the nearest to expiry
        self._used[nonce] = (seen[0] if seen else now, count)
        return True

    def _sign(self, stamp: str) -> str:
        return hmac.new(self._key, stamp.encode(), "sha256").hexdigest()[:16]


def challenge(realm: str, nonce: str) -> str:
    """The ``WWW-Authenticate`` value of a 401."""
    return f'Digest realm="{realm}",nonce="{nonce}",algorithm=MD5,qop="auth"'


def parse_authorization(value: str) -> dict[str, str]:
    """``Authorization: Digest k=v, k="v"`` as a dict (empty when not a digest header)."""
    return shared.parse(value)


def expected_response(params: dict[str, str], *, method: str, password: str, realm: str | None = None) -> str:
    """The digest ``response`` a client knowing ``password`` computes for these parameters."""
    qop = params.get("qop", "").lower()
    return shared.response(
        username=params.get("username", ""),
        realm=realm or params.get("realm", ""),
        password=password,
        method=method,
        uri=params.get("uri", ""),
        nonce=params.get("nonce", ""),
        qop="auth" if qop == "auth" else None,
        nc=params.get("nc", ""),
        cnonce=params.get("cnonce", ""),
    )


def verify(params: dict[str, str], *, method: str, password: str, realm: str) -> bool:
    """Whether the client's response proves it knows ``password`` for our realm (constant-time compare)."""
    if params.get("realm") != realm or params.get("algorithm", "MD5").upper() != "MD5":
        return False
    want = expected_response(params, method=method, password=password, realm=realm)
    return hmac.compare_digest(want, params.get("response", "").lower())
