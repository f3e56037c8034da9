"""One HTTP exchange with a recorder as its ISAPI and ONVIF Profile G clients make it, bounded.

The reply is asked for uncompressed and read through ``BoundedReply`` (the size cap); no redirect is
followed, so a login never leaves for another host; a login challenge (Digest, or Basic) is answered only
when the device sent it, on the same session, once a request, and kept for the requests after it (a new or
stale nonce is answered afresh once). The time bound is the caller's deadline around the whole exchange.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp

from camwatch.monitor.probes.base import AUTH_FAILED, ERROR, NOT_FOUND
from camwatch.monitor.probes.bounded import BoundedReply
from camwatch.monitor.rtsp_proto import NoChallenge, RtspProtocolError, answer_challenges


class DeviceFailed(Exception):
    """The device could not be asked: a probe status (``base``) and a short reason without secrets."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class HttpLogin:
    """A device's login: the challenge it sent (``None`` until it asked) and its Digest nonce count.
    ``failed``: the client's own ``DeviceFailed``, raised for a challenge it cannot answer."""

    username: str | None
    password: str
    failed: type[DeviceFailed]
    challenge: list[str] | None = None
    count: int = 0

    def answer(self, method: str, path: str) -> str | None:
        """The ``Authorization`` header for ``method path``, or ``None`` before any challenge."""
        if self.challenge is None or self.username is None:
            return None
        self.count += 1  # the Digest nonce count of this answer (Basic ignores it)
        try:
            return answer_challenges(
                self.challenge, username=self.username, password=self.password, method=method, uri=path,
                nc=self.count,
            )  # fmt: skip
        except NoChallenge as exc:
            raise self.failed(AUTH_FAILED, f"login refused: {exc}") from None
        except RtspProtocolError as exc:
            raise self.failed(ERROR, f"malformed challenge: {exc}") from None


async def exchange(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    path: str,
    *,
    limit: int,
    login: HttpLogin | None,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
) -> BoundedReply:
    """The reply to ``method url`` (``path``: its path, as the login answers it), read at most ``limit``
    bytes; a 401 with a challenge is answered once with ``login`` (``None``: sent without one)."""

    async def send() -> BoundedReply:
        sent = {**(headers or {}), "Accept-Encoding": "identity"}
        authorization = login.answer(method, path) if login is not None else None
        if authorization is not None:
            sent["Authorization"] = authorization
        raw = await session.request(
            method, url, data=body, headers=sent, allow_redirects=False, auto_decompress=False
        )
        return BoundedReply(raw, limit)

    reply = await send()
    challenges = list(reply.headers.getall("WWW-Authenticate", []))
    if reply.status != 401 or login is None or login.username is None or not challenges:
        return reply
    login.challenge, login.count = challenges, 0
    await reply.read()  # drain: the answer goes on the same connection
    return await send()


def refused(status: int, path: str) -> tuple[str, str] | None:
    """The probe status and reason of a reply that refused the request (a redirect, the login refused, no
    such resource); ``None`` for the others, which each client reads as it must."""
    if 300 <= status < 400:
        return ERROR, f"HTTP {status}: a redirect, not followed (the login stays here)"
    if status in (401, 403):
        return AUTH_FAILED, f"HTTP {status}: login refused"
    if status == 404:
        return NOT_FOUND, f"HTTP 404: {path} not found on the recorder"
    return None
