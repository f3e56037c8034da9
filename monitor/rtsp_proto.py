"""RTSP/1.0 messages without I/O: requests, an incremental response parser, authentication and SDP.

Every parser here raises only ``RtspProtocolError`` for bad input, whatever the bytes.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urlsplit

from camwatch.monitor import digest

USER_AGENT = "camwatch"
# RTSP's well-known port (RFC 2326), for an rtsp:// URL that names none.
DEFAULT_PORT = 554
MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 256 * 1024
_MAX_HEADER_LINES = 256
_LINE_BREAK = re.compile("[\r\n\x00]")
_URL_BREAK = re.compile("[ \r\n\x00]")
_RTSP_VERSION = b"RTSP/"


class RtspProtocolError(ValueError):
    """A peer sent something that is not valid RTSP (or SDP / H.264 SPS), or a request cannot be built."""


# ---------------------------------------------------------------------------------------------------------
# Requests
# ---------------------------------------------------------------------------------------------------------


def build_request(method: str, url: str, cseq: int, *, headers: Iterable[tuple[str, str]] = ()) -> bytes:
    """One request with ``CSeq`` and ``User-Agent``; refuses CR/LF/space in the URL and CR/LF in headers."""
    if _URL_BREAK.search(url):
        raise RtspProtocolError("request URL contains whitespace or control characters")
    lines = [f"{method} {url} RTSP/1.0\r\nCSeq: {cseq}\r\nUser-Agent: {USER_AGENT}\r\n"]
    for name, value in headers:
        if _LINE_BREAK.search(name) or _LINE_BREAK.search(value):
            raise RtspProtocolError(f"header {name!r} contains line breaks")
        lines.append(f"{name}: {value}\r\n")
    lines.append("\r\n")
    return "".join(lines).encode()


def options_request(url: str, cseq: int, *, authorization: str | None = None) -> bytes:
    return build_request("OPTIONS", url, cseq, headers=_auth_header(authorization))


def describe_request(url: str, cseq: int, *, authorization: str | None = None) -> bytes:
    return build_request(
        "DESCRIBE", url, cseq, headers=(("Accept", "application/sdp"), *_auth_header(authorization))
    )


def _auth_header(authorization: str | None) -> tuple[tuple[str, str], ...]:
    return (("Authorization", authorization),) if authorization else ()


# ---------------------------------------------------------------------------------------------------------
# Responses
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RtspResponse:
    """A parsed response; header names are lower-case, in arrival order, repeats kept."""

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (lower-case), or None."""
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def header_values(self, name: str) -> list[str]:
        """Every value of header ``name`` (lower-case), e.g. several ``www-authenticate`` challenges."""
        return [value for key, value in self.headers if key == name]


def _decimal(text: str, what: str) -> int:
    text = text.strip()
    # isascii guards against Unicode digits such as "²" that int() refuses; the length caps absurd numbers.
    if not (text.isascii() and text.isdigit()) or len(text) > 12:
        raise RtspProtocolError(f"invalid {what}: {text[:40]!r}")
    return int(text)


def _header_end(buf: bytearray, start: int) -> tuple[int, int]:
    """Index where the header block ends and where the body begins (CRLF or bare-LF line ends)."""
    crlf = buf.find(b"\n\r\n", start)
    lf = buf.find(b"\n\n", start)
    if lf != -1 and (crlf == -1 or lf < crlf):
        return lf, lf + 2
    if crlf != -1:
        return crlf, crlf + 3
    return -1, -1


def parse_head(block: str) -> tuple[int, str, tuple[tuple[str, str], ...]]:
    """Status code, reason and headers of a response head (without the blank line)."""
    lines = block.split("\n")
    version, _, rest = lines[0].rstrip("\r").partition(" ")
    if not version.startswith("RTSP/"):
        raise RtspProtocolError(f"not an RTSP response: {lines[0][:60]!r}")
    code, _, reason = rest.partition(" ")
    status = _decimal(code, "status code")
    if not 100 <= status <= 999:
        raise RtspProtocolError(f"invalid status code: {status}")
    if len(lines) > _MAX_HEADER_LINES:
        raise RtspProtocolError(f"more than {_MAX_HEADER_LINES} header lines")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        # strip() below also drops the CR of a CRLF line end.
        first = line[:1]
        if (first == " " or first == "\t") and headers:  # obsolete folding: continues the previous value
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip()}")
            continue
        name, sep, value = line.partition(":")
        if not sep or not (name := name.strip()):
            shown = line.rstrip("\r")[:60]
            raise RtspProtocolError(f"malformed header line: {shown!r}")
        headers.append((name.lower(), value.strip()))
    return status, reason.strip(), tuple(headers)


class ResponseParser:
    """Feed bytes as they arrive; get each complete response once its head and body are in.

    Bytes after a complete response stay buffered for the next one.
    """

    __slots__ = ("_body_start", "_buf", "_head", "_length", "_scan")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._head: tuple[int, str, tuple[tuple[str, str], ...]] | None = None
        self._body_start = 0
        self._length = 0
        self._scan = 0

    @property
    def pending(self) -> bool:
        """Whether part of a response has arrived but not all of it."""
        return bool(self._buf) or self._head is not None

    def feed(self, data: bytes) -> RtspResponse | None:
        """Add ``data``; return the next complete response, or None while more bytes are needed."""
        buf = self._buf
        buf += data
        if self._head is None:
            if self._scan == 0 and buf[:1] in (b"\r", b"\n"):
                # Stray line ends between messages (after a body some servers end with CRLF).
                del buf[: len(buf) - len(buf.lstrip(b"\r\n"))]
            if not _RTSP_VERSION.startswith(buf[:5]):
                # Refuse junk at once rather than waiting for a line end that may never come.
                raise RtspProtocolError(f"not an RTSP response: {bytes(buf[:20])!r}")
            end, body_start = _header_end(buf, self._scan)
            if end == -1:
                if len(buf) > MAX_HEADER_BYTES:
                    raise RtspProtocolError(f"response head larger than {MAX_HEADER_BYTES} bytes")
                # A terminator may straddle two reads: rescan the last two bytes next time.
                self._scan = max(0, len(buf) - 2)
                return None
            if end > MAX_HEADER_BYTES:
                raise RtspProtocolError(f"response head larger than {MAX_HEADER_BYTES} bytes")
            # Interleaved binary data or junk before the head shows up here as a bad status line.
            self._head = parse_head(buf[:end].decode("latin-1"))
            self._body_start = body_start
            self._length = self._content_length(self._head[2])
        end_of_body = self._body_start + self._length
        if len(buf) < end_of_body:
            return None
        status, reason, headers = self._head
        response = RtspResponse(status, reason, headers, bytes(buf[self._body_start : end_of_body]))
        del buf[:end_of_body]
        self._head = None
        self._scan = 0
        return response

    @staticmethod
    def _content_length(headers: tuple[tuple[str, str], ...]) -> int:
        for key, value in headers:
            if key == "content-length":
                length = _decimal(value, "Content-Length")
                if length > MAX_BODY_BYTES:
                    raise RtspProtocolError(f"response body larger than {MAX_BODY_BYTES} bytes")
                return length
        return 0


def redirect_message(status: int, location: str | None) -> str:
    """Why a redirect was refused, naming the host it points to (never its userinfo)."""
    try:
        host = urlsplit(location or "").hostname
    except ValueError:
        host = None
    shown = "".join(c for c in host[:100] if c.isprintable()) if host else ""
    shown = shown or "an unnamed host"
    return f"redirected ({status}) to {shown}; camwatch follows no redirect"


# 503 Service Unavailable: a camera at its connection cap, or a server tearing a shared stream down as its
# last viewer left. camwatch's RTSP clients ask such a request once more, on the same connection, after
# BUSY_PAUSE seconds, where at least BUSY_ROOM seconds are left after the pause for the answer.
SERVICE_UNAVAILABLE = 503
BUSY_PAUSE = 0.5
BUSY_ROOM = 1.0


def may_ask_again(status: int, seconds_left: float) -> bool:
    """Whether an answer with ``status`` is worth asking again once, ``seconds_left`` before the deadline."""
    return status == SERVICE_UNAVAILABLE and seconds_left >= BUSY_PAUSE + BUSY_ROOM


# ---------------------------------------------------------------------------------------------------------
# Authentication
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Challenge:
    """One ``WWW-Authenticate`` challenge: lower-case scheme and parameters (names lower-case)."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict)


_TOKEN = re.compile('[^ \t,="]*')


def _skip(text: str, pos: int, chars: str) -> int:
    while pos < len(text) and text[pos] in chars:
        pos += 1
    return pos


def _token(text: str, pos: int) -> tuple[str, int]:
    match = _TOKEN.match(text, pos)
    assert match is not None  # the pattern matches the empty string
    return match.group(), match.end()


def _quoted(text: str, pos: int) -> tuple[str, int]:
    """A quoted-string starting at ``text[pos] == '"'``; backslash escapes the next character."""
    pos += 1
    end = text.find('"', pos)
    if end != -1 and "\\" not in text[pos:end]:
        return text[pos:end], end + 1  # the usual case: nothing escaped
    out: list[str] = []
    while pos < len(text):
        c = text[pos]
        if c == '"':
            return "".join(out), pos + 1
        if c == "\\" and pos + 1 < len(text):
            pos += 1
            c = text[pos]
        out.append(c)
        pos += 1
    raise RtspProtocolError("unterminated quoted string in WWW-Authenticate")


def parse_challenges(values: Iterable[str]) -> list[Challenge]:
    """Challenges from ``WWW-Authenticate`` values; one value may hold several (``Basic …, Digest …``)."""
    challenges: list[Challenge] = []
    for text in values:
        pos = _skip(text, 0, " \t,")
        while pos < len(text):
            scheme, pos = _token(text, pos)
            if not scheme:
                raise RtspProtocolError(f"malformed WWW-Authenticate: {text[:60]!r}")
            params: dict[str, str] = {}
            pos = _skip(text, pos, " \t")
            while pos < len(text):
                name, after = _token(text, _skip(text, pos, " \t,"))
                after = _skip(text, after, " \t")
                if not name or after >= len(text) or text[after] != "=":
                    break  # the next challenge's scheme (or trailing commas)
                after = _skip(text, after + 1, " \t")
                if after < len(text) and text[after] == '"':
                    value, after = _quoted(text, after)
                else:
                    value, after = _token(text, after)
                params[name.lower()] = value
                pos = _skip(text, after, " \t")
                if pos < len(text) and text[pos] != ",":
                    raise RtspProtocolError(f"malformed WWW-Authenticate: {text[:60]!r}")
            challenges.append(Challenge(scheme.lower(), params))
            pos = _skip(text, pos, " \t,")
    return challenges


def choose_challenge(challenges: Iterable[Challenge]) -> Challenge | None:
    """The strongest challenge we can answer: Digest (MD5, qop auth or none), else Basic."""
    basic = None
    for challenge in challenges:
        if challenge.scheme == "digest" and _digest_supported(challenge):
            return challenge
        if challenge.scheme == "basic" and basic is None:
            basic = challenge
    return basic


def _digest_supported(challenge: Challenge) -> bool:
    return digest.supported(challenge.params)


def digest_is_stale(challenge: Challenge) -> bool:
    """Whether a Digest challenge says only the nonce expired, not the credentials (``stale=true``)."""
    return challenge.params.get("stale", "").lower() == "true"


def basic_authorization(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def digest_authorization(
    challenge: Challenge,
    *,
    username: str,
    password: str,
    method: str,
    uri: str,
    nc: int = 1,
    cnonce: str | None = None,
) -> str:
    """The ``Authorization`` value answering a Digest challenge (RFC 7616: MD5 or SHA-256, qop=auth or
    none)."""
    if challenge.scheme != "digest":
        raise RtspProtocolError("not a Digest challenge")
    try:
        return digest.authorization(
            challenge.params, username=username, password=password, method=method, uri=uri, nc=nc,
            cnonce=cnonce,
        )  # fmt: skip
    except digest.UnsupportedDigest as exc:
        raise RtspProtocolError(str(exc)) from None


class NoChallenge(RtspProtocolError):
    """A 401 offered no challenge camwatch can answer (no Digest it supports, no Basic)."""


def answer_challenges(
    challenges: Iterable[str], *, username: str, password: str, method: str, uri: str, nc: int = 1
) -> str:
    """The ``Authorization`` value answering the strongest of a reply's ``WWW-Authenticate`` values: Digest
    when offered, else Basic (the HTTP still-picture fetch and ISAPI recorders). Raises NoChallenge, or
    RtspProtocolError for a malformed challenge."""
    challenge = choose_challenge(parse_challenges(challenges))
    if challenge is None:
        raise NoChallenge("no Digest or Basic challenge offered")
    if challenge.scheme == "basic":
        return basic_authorization(username, password)
    return digest_authorization(
        challenge, username=username, password=password, method=method, uri=uri, nc=nc
    )


# ---------------------------------------------------------------------------------------------------------
# SDP
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SdpInfo:
    """What a DESCRIBE answer says about the first video stream."""

    codec: str | None = None
    width: int | None = None
    height: int | None = None
    control: str | None = None


# Static RTP payload types (RFC 3551) that need no rtpmap.
_STATIC_VIDEO = {"26": "JPEG", "32": "MPV", "34": "H263"}


def parse_sdp(body: bytes | str) -> SdpInfo:
    """Codec, size and control URL of the first ``m=video`` section (session-level control as fallback)."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes | bytearray) else body
    lines = text.replace("\r", "").split("\n")
    if not lines[0].startswith("v="):
        raise RtspProtocolError("SDP does not start with v=")
    session_control: str | None = None
    payload: str | None = None
    attrs: list[str] = []
    in_video = False
    for line in lines:
        if not line:
            continue
        if len(line) < 2 or line[1] != "=":
            raise RtspProtocolError(f"malformed SDP line: {line[:60]!r}")
        if line[0] == "m":
            if in_video:
                break  # only the first video section matters
            fields = line[2:].split()
            in_video = len(fields) >= 4 and fields[0] == "video"
            payload = fields[3] if in_video else None
        elif line[0] == "a":
            if in_video:
                attrs.append(line[2:])
            elif payload is None and line.startswith("a=control:"):
                session_control = line[10:].strip()
    if payload is None:
        return SdpInfo(control=session_control)
    return _video_info(payload, attrs, session_control)


def _video_info(payload: str, attrs: list[str], session_control: str | None) -> SdpInfo:
    codec = _STATIC_VIDEO.get(payload)
    control = session_control
    width = height = None
    fmtp = ""
    prefix = f"{payload} "
    for attr in attrs:
        name, _, value = attr.partition(":")
        if name == "control":
            control = value.strip()
        elif name == "rtpmap" and value.startswith(prefix):
            codec = value[len(prefix) :].strip().split("/", 1)[0].upper() or codec
        elif name == "fmtp" and value.startswith(prefix):
            fmtp = value[len(prefix) :]
        elif name == "framesize" and value.startswith(prefix):
            width, height = _size(value[len(prefix) :], "-")
        elif name == "x-dimensions":
            width, height = _size(value, ",")
    if width is None and codec == "H264" and fmtp:
        width, height = _h264_size_from_fmtp(fmtp)
    return SdpInfo(codec=codec, width=width, height=height, control=control)


def _size(text: str, sep: str) -> tuple[int | None, int | None]:
    w, _, h = text.strip().partition(sep)
    try:
        width, height = _decimal(w, "width"), _decimal(h, "height")
    except RtspProtocolError:
        return None, None
    return (width, height) if width and height else (None, None)


def _h264_size_from_fmtp(fmtp: str) -> tuple[int | None, int | None]:
    for param in fmtp.split(";"):
        name, _, value = param.strip().partition("=")
        if name.lower() == "sprop-parameter-sets":
            try:
                return sps_dimensions(value.split(",", 1)[0].strip())
            except RtspProtocolError:
                break  # a camera with an odd SPS is still up; its size is just unknown
    return None, None


# ---------------------------------------------------------------------------------------------------------
# H.264 sequence parameter set (ITU-T H.264 §7.3.2.1.1)
# ---------------------------------------------------------------------------------------------------------

_HIGH_PROFILES = frozenset({100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135})
_MAX_DIMENSION = 16384


class _Bits:
    """MSB-first bit reader with Exp-Golomb codes over an RBSP."""

    __slots__ = ("_left", "_value")

    def __init__(self, data: bytes) -> None:
        self._value = int.from_bytes(data, "big")
        self._left = len(data) * 8

    def u(self, n: int) -> int:
        if n > self._left:
            raise RtspProtocolError("SPS ends early")
        self._left -= n
        return (self._value >> self._left) & ((1 << n) - 1)

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
            if zeros > 31:
                raise RtspProtocolError("SPS Exp-Golomb code too long")
        return (1 << zeros) - 1 + self.u(zeros)

    def se(self) -> int:
        k = self.ue()
        return (k + 1) // 2 if k % 2 else -(k // 2)


def _rbsp(nal: bytes) -> bytes:
    """Drop emulation-prevention bytes (00 00 03 -> 00 00)."""
    return nal.replace(b"\x00\x00\x03", b"\x00\x00") if b"\x00\x00\x03" in nal else nal


def _skip_scaling_list(bits: _Bits, size: int) -> None:
    last = next_scale = 8
    for _ in range(size):
        if next_scale:
            next_scale = (last + bits.se() + 256) % 256
        last = next_scale or last


@lru_cache(maxsize=256)
def sps_dimensions(sprop: str) -> tuple[int, int]:
    """Frame width and height from a base64 H.264 SPS (``sprop-parameter-sets``' first entry)."""
    try:
        nal = base64.b64decode(sprop, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise RtspProtocolError("SPS is not valid base64") from exc
    if not nal or nal[0] & 0x1F != 7:
        raise RtspProtocolError("first parameter set is not an SPS")
    bits = _Bits(_rbsp(nal[1:]))
    profile = bits.u(8)
    bits.u(16)  # constraint flags, level
    bits.ue()  # seq_parameter_set_id
    chroma_format = 1
    separate_planes = 0
    if profile in _HIGH_PROFILES:
        chroma_format = bits.ue()
        if chroma_format > 3:
            raise RtspProtocolError("invalid chroma_format_idc")
        if chroma_format == 3:
            separate_planes = bits.u(1)
        bits.ue()  # bit_depth_luma_minus8
        bits.ue()  # bit_depth_chroma_minus8
        bits.u(1)  # qpprime_y_zero_transform_bypass_flag
        if bits.u(1):  # seq_scaling_matrix_present_flag
            for i in range(12 if chroma_format == 3 else 8):
                if bits.u(1):
                    _skip_scaling_list(bits, 16 if i < 6 else 64)
    bits.ue()  # log2_max_frame_num_minus4
    poc_type = bits.ue()
    if poc_type == 0:
        bits.ue()  # log2_max_pic_order_cnt_lsb_minus4
    elif poc_type == 1:
        bits.u(1)
        bits.se()
        bits.se()
        cycle = bits.ue()
        if cycle > 255:
            raise RtspProtocolError("invalid num_ref_frames_in_pic_order_cnt_cycle")
        for _ in range(cycle):
            bits.se()
    bits.ue()  # max_num_ref_frames
    bits.u(1)  # gaps_in_frame_num_value_allowed_flag
    width_mbs = bits.ue() + 1
    height_units = bits.ue() + 1
    frame_mbs_only = bits.u(1)
    if not frame_mbs_only:
        bits.u(1)  # mb_adaptive_frame_field_flag
    bits.u(1)  # direct_8x8_inference_flag
    crop = (bits.ue(), bits.ue(), bits.ue(), bits.ue()) if bits.u(1) else (0, 0, 0, 0)
    chroma_array = 0 if separate_planes else chroma_format
    crop_x = 1 if chroma_array in (0, 3) else 2
    crop_y = (2 if chroma_array == 1 else 1) * (2 - frame_mbs_only)
    width = width_mbs * 16 - crop_x * (crop[0] + crop[1])
    height = (2 - frame_mbs_only) * height_units * 16 - crop_y * (crop[2] + crop[3])
    if not (0 < width <= _MAX_DIMENSION and 0 < height <= _MAX_DIMENSION):
        raise RtspProtocolError(f"implausible SPS frame size {width}x{height}")
    return width, height
