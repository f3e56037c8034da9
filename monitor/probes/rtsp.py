"""RTSP liveness: OPTIONS then DESCRIBE on one connection, answering one authentication challenge.

A Digest challenge that a stream's credentials answered is remembered (``StreamMemory.challenges``, kept by
whoever runs the probes and handed over in ``ProbeContext.caches``), so that the next
probe of that stream answers it up front: two exchanges instead of three. A Digest answer only ever goes to a
stream that challenged for it and accepted it before; a Basic login (the password in clear) only ever answers
a challenge received on the same connection. Redirects are never followed: a 3xx is an error naming where
it points.

A 503 Service Unavailable (a camera at its connection cap, a server tearing a shared stream down as its
last viewer left) is asked once more, on the same connection and once on it, after
``rtsp_proto.BUSY_PAUSE`` seconds, where the probe's deadline leaves room for the pause and an answer; a
second 503, or a camera that hung up meanwhile, is reported as before.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, cast
from urllib.parse import unquote, urlsplit

from camwatch.config.models import Camera
from camwatch.config.redact import scrub
from camwatch.monitor.probes.base import (
    AUTH_FAILED,
    ERROR,
    NOT_FOUND,
    OFFLINE,
    OK,
    SKIPPED,
    TIMEOUT,
    ProbeCaches,
    ProbeContext,
    ProbeResult,
)
from camwatch.monitor.rtsp_proto import (
    BUSY_PAUSE,
    DEFAULT_PORT,
    Challenge,
    ResponseParser,
    RtspProtocolError,
    RtspResponse,
    basic_authorization,
    choose_challenge,
    describe_request,
    digest_authorization,
    digest_is_stale,
    may_ask_again,
    options_request,
    parse_challenges,
    parse_sdp,
    redirect_message,
)

PROBE = "rtsp"
_MAX_SERVER_HEADER = 120
# Streams whose last accepted challenge is kept; above a shard's camera count, so a sweep never evicts.
CHALLENGE_CACHE_SIZE = 65536


class _Closed(Exception):
    """The camera closed the connection; ``mid_reply`` when part of an answer had arrived."""

    def __init__(self, *, mid_reply: bool) -> None:
        super().__init__("connection closed mid-reply" if mid_reply else "connection closed before a reply")
        self.mid_reply = mid_reply


class _AuthUnanswerable(Exception):
    """A 401 the probe cannot (or may no longer) answer."""


@dataclass(frozen=True, slots=True)
class _Target:
    host: str
    port: int
    url: str  # without userinfo
    username: str | None
    password: str | None


def _target(url: str) -> _Target:
    parts = urlsplit(url)
    if parts.scheme.lower() != "rtsp" or not parts.hostname:
        raise ValueError("expected rtsp://HOST[:PORT]/PATH")
    port = parts.port or DEFAULT_PORT  # .port raises ValueError when out of range
    netloc = parts.netloc.rpartition("@")[2]
    clean = parts._replace(netloc=netloc).geturl()
    clean = url if clean == url else clean  # the cache keeps one copy of a URL without userinfo
    user = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    return _Target(parts.hostname, port, clean, user, password)


class _Connection(asyncio.Protocol):
    """One TCP connection; ``exchange`` sends a request and waits for its whole response."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._parser = ResponseParser()
        self._waiter: asyncio.Future[RtspResponse] | None = None
        self._early = bytearray()  # bytes that arrived while no request was waiting
        self._closed = False
        self._received = False
        self.replied = False  # a whole response has arrived at least once
        self.busy_retried = False  # a 503 has been asked again (once a connection)
        self._cseq = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self._received = True
        waiter = self._waiter
        if waiter is None or waiter.done():
            self._early += data
            return
        try:
            response = self._parser.feed(data)
        except RtspProtocolError as exc:
            waiter.set_exception(exc)
            return
        if response is not None:
            self.replied = True
            waiter.set_result(response)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(_Closed(mid_reply=self._received))

    async def exchange(self, request: bytes, cseq: int) -> RtspResponse:
        if self._closed:
            raise _Closed(mid_reply=False)
        assert self.transport is not None
        waiter: asyncio.Future[RtspResponse] = asyncio.get_running_loop().create_future()
        self._waiter = waiter
        self._received = bool(self._early)
        self.transport.write(request)
        if self._early:
            early, self._early = bytes(self._early), bytearray()
            self.data_received(early)
        response = await waiter
        self._waiter = None
        echoed = response.header("cseq")
        if echoed is not None and echoed.strip() != str(cseq):
            raise RtspProtocolError(f"CSeq {echoed[:20]!r} does not match request {cseq}")
        return response

    @property
    def closed(self) -> bool:
        return self._closed

    def next_cseq(self) -> int:
        self._cseq += 1
        return self._cseq

    def close(self) -> None:
        if self.transport is not None:
            self.transport.abort()


@dataclass(slots=True, eq=False)
class Remembered:
    """A challenge a stream's credentials answered: what the camera sent (never a credential) and how it
    treats answers given up front."""

    challenge: Challenge
    options: bool = False  # OPTIONS wants credentials too, not only DESCRIBE
    up_front: bool = True  # send credentials with the first request; False once a nonce proved single-use
    proven: bool = False  # an up-front answer has been accepted at least once
    nc: int = 0  # Digest nonce count: requests answered with this nonce so far (RFC 7616 §3.4)


class ChallengeCache:
    """The last accepted challenge per stream URL (without userinfo), least recently used evicted first."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._entries: OrderedDict[str, Remembered] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, url: str) -> Remembered | None:
        entry = self._entries.get(url)
        if entry is not None:
            self._entries.move_to_end(url)
        return entry

    def put(self, url: str, entry: Remembered) -> None:
        self._entries[url] = entry
        self._entries.move_to_end(url)
        if len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)

    def discard(self, url: str) -> None:
        self._entries.pop(url, None)

    def clear(self) -> None:
        self._entries.clear()


class StreamMemory:
    """What RTSP probes keep between runs, per owner (``ProbeContext.caches``): each stream's accepted
    challenge, and its URL parsed."""

    __slots__ = ("challenges", "target")

    def __init__(self, size: int = CHALLENGE_CACHE_SIZE) -> None:
        self.challenges = ChallengeCache(size)
        # Sized like the challenge cache, for a whole instance's streams: a sweep cycles through every URL,
        # so a smaller one missed on every probe past its size (a URL parse each); an entry is ≈ 300 bytes.
        self.target = lru_cache(maxsize=size)(_target)


def memory(caches: ProbeCaches) -> StreamMemory:
    """The RTSP probes' memory among ``caches``."""
    return caches.get(PROBE, StreamMemory)


class _Auth:
    """Credentials and the challenge they answer: a remembered one sent up front, then at most one
    challenge received on this connection."""

    __slots__ = (
        "accepted",
        "challenged",
        "challenges",
        "current",
        "fresh",
        "password",
        "remembered",
        "username",
    )

    def __init__(
        self, username: str | None, password: str | None, challenges: ChallengeCache, url: str
    ) -> None:
        remembered = challenges.get(url)
        self.challenges = challenges
        self.username = username
        self.password = password
        self.remembered = remembered
        # Basic is never sent up front: the host must ask for the password on this very connection.
        usable = (
            remembered is not None
            and remembered.up_front
            and remembered.challenge.scheme == "digest"
            and username is not None
        )
        self.current = remembered if usable else None
        self.fresh = False  # ``current`` came from a 401 on this connection
        self.challenged = False  # a 401 arrived
        self.accepted = False  # a request that carried credentials got an answer other than 401

    def header(self, method: str, uri: str) -> str | None:
        current = self.current
        if current is None or self.username is None or (method == "OPTIONS" and not current.options):
            return None
        password = self.password or ""
        challenge = current.challenge
        if challenge.scheme == "basic":
            return basic_authorization(self.username, password)
        current.nc += 1
        return digest_authorization(
            challenge, username=self.username, password=password, method=method, uri=uri, nc=current.nc
        )

    def answered(
        self, method: str, response: RtspResponse, *, with_credentials: bool, first: bool = True
    ) -> None:
        """Note the answer to a request; take the challenge of a 401, or raise ``_AuthUnanswerable``.
        ``first``: the request's first 401 (a second one on the same request is never answered)."""
        if response.status != 401:
            if with_credentials:
                self.accepted = True
                if self.current is not None and not self.fresh:
                    self.current.proven = True
            return
        self.challenged = True
        if self.username is None:
            raise _AuthUnanswerable("authentication required but no credentials configured")
        parsed = parse_challenges(response.header_values("www-authenticate"))
        chosen = choose_challenge(parsed)
        if self.fresh:
            # Answered on this connection already: only a nonce that expired meanwhile (``stale=true``, the
            # credentials were good) is answered once more, with the new nonce.
            if not (first and self.current is not None and chosen is not None and _stale(chosen)):
                raise _AuthUnanswerable("credentials rejected")
            self.current = replace(self.current, challenge=chosen, nc=0)
            return
        if chosen is None:
            offered = ", ".join(sorted({c.scheme for c in parsed})) or "none"
            raise _AuthUnanswerable(f"unsupported authentication scheme ({offered[:60]})")
        known = self.remembered
        entry = Remembered(chosen, options=method == "OPTIONS" or (known is not None and known.options))
        if known is not None and chosen.scheme == "digest":
            # A remembered nonce refused without ``stale=true``, and never accepted before: this camera's
            # nonces do not outlive a connection, so answering up front only adds a failed login each time.
            expired = known.proven or digest_is_stale(chosen)
            entry.up_front = known.up_front and (expired or not with_credentials)
            entry.proven = known.proven
        self.current, self.fresh = entry, True

    def remember(self, url: str) -> None:
        """Keep the Digest challenge these credentials answered for the next probe; forget one that failed."""
        if self.accepted and self.current is not None and self.current.challenge.scheme == "digest":
            self.challenges.put(url, self.current)
        elif self.challenged:
            self.challenges.discard(url)


def _stale(challenge: Challenge) -> bool:
    return challenge.scheme == "digest" and digest_is_stale(challenge)


async def _request(conn: _Connection, method: str, url: str, auth: _Auth, deadline: float) -> RtspResponse:
    """Send ``method``; answer a 401 once (a second 401 on the same request raises); a connection answers
    one challenge, and after it only a stale nonce's. A 503 is asked again once (module doc)."""
    response = await _answered(conn, method, url, auth)
    left = deadline - asyncio.get_running_loop().time()
    if conn.busy_retried or not may_ask_again(response.status, left):
        return response
    conn.busy_retried = True
    await asyncio.sleep(BUSY_PAUSE)
    return response if conn.closed else await _answered(conn, method, url, auth)


async def _answered(conn: _Connection, method: str, url: str, auth: _Auth) -> RtspResponse:
    build = options_request if method == "OPTIONS" else describe_request
    for attempt in range(2):
        cseq = conn.next_cseq()
        authorization = auth.header(method, url)
        response = await conn.exchange(build(url, cseq, authorization=authorization), cseq)
        auth.answered(method, response, with_credentials=authorization is not None, first=attempt == 0)
        if response.status != 401:
            return response
    raise _AuthUnanswerable("credentials rejected")


def _failure(method: str, response: RtspResponse) -> tuple[str, str]:
    if response.status == 404:
        return NOT_FOUND, f"{method}: 404 no such stream"
    if 300 <= response.status < 400:
        return ERROR, f"{method}: {redirect_message(response.status, response.header('location'))}"
    return ERROR, f"{method} answered {response.status} {response.reason[:60]}".rstrip()


async def _exchange(
    target: _Target, auth: _Auth, conn: _Connection, deadline: float
) -> tuple[str, str | None, dict[str, Any]]:
    options = await _request(conn, "OPTIONS", target.url, auth, deadline)
    if options.status != 200:
        return (*_failure("OPTIONS", options), {})
    describe = await _request(conn, "DESCRIBE", target.url, auth, deadline)
    if describe.status != 200:
        return (*_failure("DESCRIBE", describe), {})
    try:
        sdp = parse_sdp(describe.body)
    except RtspProtocolError as exc:
        return ERROR, f"malformed SDP: {exc}", {}
    server = describe.header("server") or options.header("server")
    found = (("codec", sdp.codec), ("width", sdp.width), ("height", sdp.height), ("server", server))
    details: dict[str, Any] = {name: value for name, value in found if value is not None}
    if server:
        details["server"] = server[:_MAX_SERVER_HEADER]
    return OK, None, details


async def probe_url(
    url: str,
    *,
    username: str | None = None,
    password: str | None = None,
    timeout: float,
    memory: StreamMemory | None = None,
) -> ProbeResult:
    """Probe one RTSP URL; every camera fault is a result. ``timeout`` bounds the whole exchange.
    ``memory``: the owner's (remembered challenges); without it nothing is remembered past this probe."""
    started = time.perf_counter()
    memory = memory if memory is not None else StreamMemory(1)
    try:
        target = memory.target(url)
    except ValueError as exc:
        return _result(ERROR, started, f"invalid RTSP URL: {exc}", secrets=(password,))
    if username is None:
        username, password = target.username, target.password
    auth = _Auth(username, password, memory.challenges, target.url)
    conn: _Connection | None = None
    try:
        async with asyncio.timeout(timeout):
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            _, conn = await loop.create_connection(_Connection, target.host, target.port)
            status, error, details = await _exchange(target, auth, conn, deadline)
    except TimeoutError:
        status, error, details = TIMEOUT, f"no complete answer within {timeout:g} s", {}
    except _AuthUnanswerable as exc:
        status, error, details = AUTH_FAILED, str(exc), {}
    except _Closed as exc:
        replied = exc.mid_reply or (conn is not None and conn.replied)
        status, error, details = (ERROR if replied else OFFLINE), str(exc), {}
    except RtspProtocolError as exc:
        status, error, details = ERROR, f"protocol error: {exc}", {}
    except OSError as exc:  # refused, unreachable, reset, unknown host
        status, error, details = OFFLINE, exc.strerror or type(exc).__name__, {}
    except ValueError as exc:  # a host name that cannot even be encoded (IDNA)
        status, error, details = ERROR, f"invalid RTSP host: {exc}", {}
    finally:
        if conn is not None:
            conn.close()
    auth.remember(target.url)
    return _result(
        status, started, error, details, secrets=_secret_forms(auth.username, auth.password, password)
    )


def _secret_forms(username: str | None, *passwords: str | None) -> tuple[str, ...]:
    """Every form a password can take on the wire: plain, and inside a Basic token (a hostile camera
    may echo the Authorization header back in its reason phrase or Server header)."""
    forms: list[str] = []
    for password in passwords:
        if password:
            token = basic_authorization(username or "", password).removeprefix("Basic ")
            forms += [password, token, token.rstrip("=")]
    return tuple(forms)


def _scrubbed(text: str, secrets: tuple[str | None, ...]) -> str:
    """``scrub`` only where it could change something: it percent-encodes every secret on each call, but
    a text holding no secret, no ``%`` (an encoded one) and no ``@`` (URL userinfo) comes back unchanged."""
    if "%" in text or "@" in text or any(secret and secret in text for secret in secrets):
        return scrub(text, secrets)
    return text


def _result(
    status: str,
    started: float,
    error: str | None,
    details: dict[str, Any] | None = None,
    *,
    secrets: tuple[str | None, ...],
) -> ProbeResult:
    if error is not None:
        error = _scrubbed(error, secrets)
    if details and "server" in details:
        details["server"] = _scrubbed(details["server"], secrets)
    return ProbeResult(
        probe=PROBE,
        success=status == OK,
        status=status,
        duration_seconds=time.perf_counter() - started,
        error=error,
        details=details or {},
    )


async def probe(camera: Camera, ctx: ProbeContext) -> ProbeResult:
    """Probe every stream of ``camera`` at once; the main stream decides liveness.

    Other streams' failures are faults (``sub_stream_down``); a dead main stream next to a live one is
    flagged ``main_stream_down`` — the camera answers, but what the platform records is gone.
    """
    streams = camera.all_streams()
    if not streams:
        return ProbeResult(PROBE, False, SKIPPED, 0.0, error="no RTSP URL configured")
    password = camera.password.get_secret_value() if camera.password else None
    kept = memory(ctx.caches)
    if len(streams) == 1:
        return await probe_url(
            streams[0].rtsp_url, username=camera.username, password=password, timeout=ctx.timeout, memory=kept
        )
    started = time.perf_counter()
    results = await asyncio.gather(
        *(
            probe_url(
                s.rtsp_url, username=camera.username, password=password, timeout=ctx.timeout, memory=kept
            )
            for s in streams
        )
    )
    main_index = next((i for i, s in enumerate(streams) if s.role == "main"), 0)
    main = results[main_index]
    faults = [
        f"{s.role}_stream_down"
        for i, (s, r) in enumerate(zip(streams, results, strict=True))
        if i != main_index and not r.success
    ]
    if not main.success and len(faults) < len(streams) - 1:
        faults.append("main_stream_down")
    failed = [(s.role, r) for s, r in zip(streams, results, strict=True) if not r.success]
    return ProbeResult(
        probe=PROBE,
        success=main.success,
        status=main.status,
        duration_seconds=time.perf_counter() - started,
        error="; ".join(f"{role} stream: {r.error}" for role, r in failed) or None,
        faults=tuple(faults),
        details={
            **main.details,
            "streams": {s.role: r.status for s, r in zip(streams, results, strict=True)},
        },
    )
