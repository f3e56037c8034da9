"""SIP messages as GB/T 28181 devices send them: parse (bounded), frame on TCP, and build our replies.

A small parser of our own rather than ``sipmessage``: we need Content-Length framing on TCP streams, hard size
caps, header bytes that are not UTF-8 (GB2312 display names) without an exception, and only the handful of
headers GB/T 28181 liveness uses; it also parses a keepalive several times faster (BENCHMARKS.md).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

MAX_HEADERS = 64
_COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact", "l": "content-length",
            "c": "content-type"}  # fmt: skip


class SipError(ValueError):
    """A message that is not SIP we accept: malformed, or over a size bound (``too_large``). ``request`` is
    the parsed request when it is readable enough to answer 400 (two Content-Length headers)."""

    def __init__(self, text: str, *, too_large: bool = False, request: SipMessage | None = None):
        super().__init__(text)
        self.too_large = too_large
        self.request = request


@dataclass(slots=True)
class SipMessage:
    """One request (``method`` set) or response (``status`` set); header names are kept lower-case."""

    method: str = ""
    uri: str = ""
    status: int = 0
    reason: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str, default: str = "") -> str:
        for key, value in self.headers:
            if key == name:
                return value
        return default

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]


def number(text: str, default: int = 0) -> int:
    """A non-negative decimal number in ASCII digits (``int()`` takes '٣' too), else ``default``."""
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 19 else default


def user_of(address: str) -> str:
    """The user part of a From/To/Contact value: ``<sip:34020000001320000001@3402000000>`` → the id."""
    # The URI in angle brackets, not a "sip:" a display name may hold.
    bracket = address.find("<sip:")
    start = bracket + 1 if bracket >= 0 else address.find("sip:")
    if start < 0:
        return ""
    rest = address[start + 4 :]
    end = len(rest)
    for stop in "@;>:":
        if (i := rest.find(stop)) >= 0:
            end = min(end, i)
    return rest[:end] if "@" in rest else ""


def param(value: str, name: str) -> str:
    """A ``;name=value`` parameter of a header (e.g. the From tag)."""
    for part in value.split(";")[1:]:
        key, _, val = part.partition("=")
        if key.strip().lower() == name:
            return val.strip().strip(">")
    return ""


def parse(data: bytes, *, max_bytes: int) -> SipMessage:
    """One whole SIP message. Header text is read as UTF-8 with undecodable bytes replaced (GB2312 names)."""
    if len(data) > max_bytes:
        raise SipError(f"message of {len(data)} bytes is over the {max_bytes}-byte bound", too_large=True)
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        raise SipError("no end of headers")
    lines = head.decode("utf-8", "replace").split("\r\n")
    if len(lines) > MAX_HEADERS + 1:
        raise SipError(f"more than {MAX_HEADERS} header lines")
    msg = SipMessage()
    first = lines[0].split(" ", 2)
    if len(first) == 3 and first[2] == "SIP/2.0":
        msg.method, msg.uri = first[0], first[1]
        if not msg.method.isalpha():
            raise SipError("bad request line")
    elif len(first) >= 2 and first[0] == "SIP/2.0" and 100 <= number(first[1]) <= 699:
        msg.status, msg.reason = number(first[1]), first[2] if len(first) == 3 else ""
    else:
        raise SipError("neither a SIP request nor a response")
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and msg.headers:  # folded continuation (RFC 3261 §7.3.1)
            key, value = msg.headers[-1]
            msg.headers[-1] = (key, f"{value} {line.strip()}")
            continue
        key, colon, value = line.partition(":")
        if not colon:
            raise SipError("header line without ':'")
        key = key.strip().lower()
        msg.headers.append((_COMPACT.get(key, key), value.strip()))
    lengths = msg.all("content-length")
    if len(lengths) > 1:
        # Framed by one value and parsed by another elsewhere (request smuggling): refused, answered 400.
        raise SipError("more than one Content-Length", request=msg if msg.method else None)
    length = msg.header("content-length")
    if length:
        size = number(length, -1)
        if not 0 <= size <= len(body):
            raise SipError("Content-Length does not match the body")
        body = body[:size]
    msg.body = body
    return msg


class StreamFramer:
    """Splits a TCP byte stream into SIP messages by Content-Length, never buffering beyond ``max_bytes``."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._buf = bytearray()

    @property
    def pending(self) -> bool:
        """Whether part of a message is buffered (its deadline runs)."""
        return bool(self._buf)

    def feed(self, data: bytes) -> Iterator[bytes]:
        """Whole messages found so far; raises :class:`SipError` when one would exceed the bound."""
        self._buf += data
        while True:
            # Keep-alive CRLFs between messages (RFC 5626) are skipped.
            while self._buf[:2] == b"\r\n":
                del self._buf[:2]
            end = self._buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buf) > self.max_bytes:
                    raise SipError("headers over the size bound", too_large=True)
                return
            length, seen = 0, 0
            for line in bytes(self._buf[:end]).split(b"\r\n")[1:]:
                key, _, value = line.partition(b":")
                if key.strip().lower() in (b"content-length", b"l"):
                    seen += 1
                    length = number(value.decode("ascii", "replace"), -1)
                    if length < 0:
                        raise SipError("bad Content-Length")
            if seen > 1:
                # The stream cannot be framed safely: the connection closes after a 400 built from the head.
                head = bytes(self._buf[: end + 4])
                try:
                    parse(head, max_bytes=self.max_bytes)
                except SipError as exc:
                    raise SipError("more than one Content-Length", request=exc.request) from None
                raise SipError("more than one Content-Length")
            total = end + 4 + length
            if total > self.max_bytes:
                raise SipError(
                    f"message of {total} bytes is over the {self.max_bytes}-byte bound", too_large=True
                )
            if len(self._buf) < total:
                return
            yield bytes(self._buf[:total])
            del self._buf[:total]


def new_tag() -> str:
    return secrets.token_hex(6)


def _encode(start: str, headers: Iterable[tuple[str, str]], body: bytes) -> bytes:
    lines = [start, *(f"{k}: {v}" for k, v in headers), f"Content-Length: {len(body)}", "", ""]
    return "\r\n".join(lines).encode() + body


def response(
    request: SipMessage,
    status: int,
    reason: str,
    extra: Iterable[tuple[str, str]] = (),
    *,
    to_tag: str = "",
) -> bytes:
    """A response echoing the request's Via, From, To (with our tag), Call-ID and CSeq (RFC 3261 §8.2.6)."""
    to = request.header("to")
    if to and not param(to, "tag"):
        to = f"{to};tag={to_tag or new_tag()}"
    headers = [("Via", v) for v in request.all("via")]
    headers += [("From", request.header("from")), ("To", to), ("Call-ID", request.header("call-id"))]
    headers += [("CSeq", request.header("cseq")), *extra]
    return _encode(f"SIP/2.0 {status} {reason}", headers, b"")


def request(
    method: str,
    *,
    uri: str,
    from_uri: str,
    to_uri: str,
    via: str,
    cseq: int,
    call_id: str,
    body: bytes = b"",
    content_type: str = "Application/MANSCDP+xml",
    extra: list[tuple[str, str]] | None = None,
) -> bytes:
    """A request we originate (Catalog / DeviceStatus queries, Catalog subscriptions). ``via`` is
    ``UDP 127.0.0.1:5060``-style; ``extra`` headers follow the standard ones."""
    headers = [
        ("Via", f"SIP/2.0/{via};rport;branch=z9hG4bK{secrets.token_hex(8)}"),
        ("From", f"<{from_uri}>;tag={new_tag()}"),
        ("To", f"<{to_uri}>"),
        ("Call-ID", call_id),
        ("CSeq", f"{cseq} {method}"),
        ("Max-Forwards", "70"),
        *(extra or []),
    ]
    if body:
        headers.append(("Content-Type", content_type))
    return _encode(f"{method} {uri} SIP/2.0", headers, body)
