"""Digest access authentication (RFC 7616, which keeps RFC 2617's MD5): the one computation that the RTSP
client, the still-picture fetch and the GB/T 28181 platform (SIP, RFC 3261) share.

Only the hashing and the header's parameters live here; who may be challenged, when a nonce is stale and
how a replay is refused stay with each protocol. Nothing here logs: callers never log the password, HA1 or
the response.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Mapping

# RFC 7616 §3.3: each algorithm and its "-sess" variant (HA1 also binds the nonce and the client's nonce).
_HASHES: dict[str, Callable[[bytes], hashlib._Hash]] = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}
_PARAM = re.compile(r'\s*([A-Za-z-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?')


class UnsupportedDigest(ValueError):
    """A challenge camwatch cannot answer (an algorithm it does not know, a qop other than auth)."""


def supported(params: Mapping[str, str]) -> bool:
    """Whether a challenge's parameters can be answered: a nonce, MD5 or SHA-256 (or their -sess
    variants), and qop ``auth`` offered or no qop at all."""
    qop = params.get("qop")
    return (
        "nonce" in params
        and _base(params.get("algorithm", "MD5")) in _HASHES
        and (qop is None or "auth" in [o.strip().lower() for o in qop.split(",")])
    )


def _base(algorithm: str) -> str:
    return algorithm.upper().removesuffix("-SESS")


def _hash(algorithm: str, text: str) -> str:
    try:
        function = _HASHES[_base(algorithm)]
    except KeyError:
        raise UnsupportedDigest(f"unsupported Digest algorithm {algorithm[:20]!r}") from None
    return function(text.encode(), usedforsecurity=False).hexdigest()  # type: ignore[call-arg]


def response(
    *,
    username: str,
    realm: str,
    password: str,
    method: str,
    uri: str,
    nonce: str,
    algorithm: str = "MD5",
    qop: str | None = None,
    nc: str = "",
    cnonce: str = "",
) -> str:
    """The ``response`` of RFC 7616 §3.4.1 (RFC 2617 §3.2.2 without qop):
    KD(HA1, nonce[:nc:cnonce:qop]:HA2)."""
    ha1 = _hash(algorithm, f"{username}:{realm}:{password}")
    if algorithm.upper().endswith("-SESS"):
        ha1 = _hash(algorithm, f"{ha1}:{nonce}:{cnonce}")
    ha2 = _hash(algorithm, f"{method}:{uri}")
    if qop:
        return _hash(algorithm, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return _hash(algorithm, f"{ha1}:{nonce}:{ha2}")


def authorization(
    challenge: Mapping[str, str],
    *,
    username: str,
    password: str,
    method: str,
    uri: str,
    nc: int = 1,
    cnonce: str | None = None,
) -> str:
    """The ``Authorization`` value answering a Digest challenge's ``challenge`` parameters."""
    if not supported(challenge):
        raise UnsupportedDigest("unsupported Digest challenge (need MD5 or SHA-256 with qop=auth or no qop)")
    realm, nonce = challenge.get("realm", ""), challenge["nonce"]
    algorithm = challenge.get("algorithm", "MD5")
    parts = [
        f"username={quote(username)}",
        f"realm={quote(realm)}",
        f"nonce={quote(nonce)}",
        f"uri={quote(uri)}",
    ]
    if "qop" in challenge:
        cnonce = cnonce or os.urandom(8).hex()
        count = f"{nc:08x}"
        answer = response(
            username=username, realm=realm, password=password, method=method, uri=uri, nonce=nonce,
            algorithm=algorithm, qop="auth", nc=count, cnonce=cnonce,
        )  # fmt: skip
        parts += [f"response={quote(answer)}", "qop=auth", f"nc={count}", f"cnonce={quote(cnonce)}"]
    else:
        answer = response(
            username=username, realm=realm, password=password, method=method, uri=uri, nonce=nonce,
            algorithm=algorithm,
        )  # fmt: skip
        parts.append(f"response={quote(answer)}")
    if "algorithm" in challenge:
        parts.append(f"algorithm={challenge['algorithm']}")
    if "opaque" in challenge:
        parts.append(f"opaque={quote(challenge['opaque'])}")
    return "Digest " + ", ".join(parts)


def parse(value: str) -> dict[str, str]:
    """``Digest k=v, k="v"`` (an ``Authorization`` or one ``WWW-Authenticate`` challenge) as a dict with
    lower-case keys; empty when the scheme is not Digest."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        return {}
    return {m.group(1).lower(): m.group(2).strip('"') for m in _PARAM.finditer(rest) if m.group(1)}


def quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
