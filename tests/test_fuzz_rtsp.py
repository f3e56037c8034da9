"""Hostile cameras: fuzzed RTSP responses, WWW-Authenticate challenges, SDP and H.264 SPS.

Whatever a camera sends, the parsers raise only ``RtspProtocolError`` (a ``ValueError``), keep their buffers
bounded, and give the same answer however the bytes are split across reads; the RTSP probe turns every
hostile reply into a result.
"""

from __future__ import annotations

import asyncio
import base64
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from camwatch.monitor.probes.rtsp import probe_url
from camwatch.monitor.rtsp_proto import (
    MAX_BODY_BYTES,
    MAX_HEADER_BYTES,
    Challenge,
    ResponseParser,
    RtspProtocolError,
    RtspResponse,
    choose_challenge,
    digest_authorization,
    parse_challenges,
    parse_sdp,
    sps_dimensions,
)

# A bounded deadline per example doubles as the "never hangs" check; example counts keep the suite fast.
FUZZ = settings(max_examples=100, deadline=timedelta(seconds=2), suppress_health_check=[HealthCheck.too_slow])

Outcome = tuple[list[RtspResponse], bool]


def parse_chunks(chunks: list[bytes]) -> Outcome:
    """Every response the parser gives for ``chunks`` fed in order, and whether it stopped on an error."""
    parser = ResponseParser()
    responses: list[RtspResponse] = []
    try:
        for chunk in chunks:
            response = parser.feed(chunk)
            while response is not None:
                responses.append(response)
                response = parser.feed(b"")
    except RtspProtocolError:
        return responses, True
    return responses, False


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


# ------------------------------------------------------------------------------------------ responses

token = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=12
)
header_value = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40).map(
    str.strip
)


@st.composite
def valid_responses(draw: st.DrawFn) -> tuple[bytes, RtspResponse]:
    """A well-formed response (random status, headers, body, line ends) and what it must parse to."""
    status = draw(st.integers(100, 999))
    reason = draw(header_value)
    names = draw(st.lists(token.filter(lambda n: n.lower() != "content-length"), max_size=6))
    headers = [(n.lower(), draw(header_value)) for n in names]
    body = draw(st.binary(max_size=300))
    eol = draw(st.sampled_from([b"\r\n", b"\n"]))
    lines = [f"RTSP/1.0 {status} {reason}".encode()]
    lines += [f"{n}: {v}".encode("latin-1") for n, v in zip(names, (v for _, v in headers), strict=True)]
    if body or draw(st.booleans()):
        lines.append(b"Content-Length: %d" % len(body))
        headers.append(("content-length", str(len(body))))
    raw = eol.join(lines) + eol + eol + body
    return raw, RtspResponse(status, reason, tuple(headers), body)


@FUZZ
@given(st.lists(valid_responses(), min_size=1, max_size=3), st.lists(st.integers(0, 4000), max_size=12))
def test_valid_responses_parse_identically_however_split(
    responses: list[tuple[bytes, RtspResponse]], cuts: list[int]
) -> None:
    stream = b"".join(raw for raw, _ in responses)
    expected = [parsed for _, parsed in responses]
    assert parse_chunks([stream]) == (expected, False)
    assert parse_chunks(split_at(stream, cuts)) == (expected, False)
    assert parse_chunks([bytes([b]) for b in stream]) == (expected, False)


@FUZZ
@given(st.binary(max_size=600), st.lists(st.integers(0, 600), max_size=10), st.booleans())
def test_arbitrary_bytes_raise_only_protocol_errors_and_splits_agree(
    data: bytes, cuts: list[int], rtsp_prefix: bool
) -> None:
    data = (b"RTSP/1.0 " + data) if rtsp_prefix else data
    whole = parse_chunks([data])
    assert parse_chunks(split_at(data, cuts)) == whole


mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(1, 255)),
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.binary(min_size=1, max_size=20)),
    st.tuples(
        st.just("insert"), st.integers(0, 10**6), st.sampled_from([b"\r\n", b"\n\n", b":", b" ", b"\x00"])
    ),
    st.tuples(st.just("delete"), st.integers(0, 10**6), st.integers(1, 30)),
    st.tuples(st.just("repeat"), st.integers(0, 10**6), st.integers(1, 30)),
    st.tuples(st.just("truncate"), st.integers(0, 10**6), st.none()),
    st.tuples(
        st.just("length"),
        st.integers(0, 10**6),
        st.sampled_from([b"-1", b"+5", b"1e3", b"99999999999999", b"\xb2", b"0x10", b"", b"7 7", b"262145"]),
    ),
)


def mutate(data: bytes, op: tuple[str, int, object]) -> bytes:
    kind, position, arg = op
    at = position % (len(data) + 1)
    if kind == "flip" and data:
        at %= len(data)
        return data[:at] + bytes([data[at] ^ int(arg)]) + data[at + 1 :]  # type: ignore[call-overload]
    if kind == "insert":
        return data[:at] + bytes(arg)  # type: ignore[call-overload]
    if kind == "delete":
        return data[:at] + data[at + int(arg) :]  # type: ignore[call-overload]
    if kind == "repeat":
        return data[:at] + data[at : at + int(arg)] * 2 + data[at + int(arg) :]  # type: ignore[call-overload]
    if kind == "truncate":
        return data[:at]
    if kind == "length":
        head, sep, rest = data.partition(b"Content-Length: ")
        return head + sep + bytes(arg) + rest.partition(b"\n")[1] + rest.partition(b"\n")[2] if sep else data  # type: ignore[call-overload]
    return data


@FUZZ
@given(
    st.lists(valid_responses(), min_size=1, max_size=2),
    st.lists(mutation, min_size=1, max_size=4),
    st.lists(st.integers(0, 2000), max_size=8),
)
def test_mutated_responses_raise_only_protocol_errors_and_splits_agree(
    responses: list[tuple[bytes, RtspResponse]], ops: list[tuple[str, int, object]], cuts: list[int]
) -> None:
    data = b"".join(raw for raw, _ in responses)
    for op in ops:
        data = mutate(data, op)
    whole = parse_chunks([data])
    assert parse_chunks(split_at(data, cuts)) == whole
    for response in whole[0]:
        assert 100 <= response.status <= 999 and len(response.body) <= MAX_BODY_BYTES


@settings(max_examples=10, deadline=timedelta(seconds=5))
@given(
    st.sampled_from([b"X-Pad: " + b"a" * 900 + b"\r\n", b"a: b\n", b"\r", b" folded continuation\r\n"]),
    st.integers(1, 4096),
)
def test_a_head_that_never_ends_is_refused_within_the_limit(line: bytes, chunk_size: int) -> None:
    """A slowloris camera dribbling header bytes forever is cut off once the head passes its limit."""
    parser = ResponseParser()
    fed = 0
    stream = b"RTSP/1.0 200 OK\r\n" + line * (2 * MAX_HEADER_BYTES // len(line) + 2)
    with pytest.raises(RtspProtocolError, match=r"larger than|header lines"):
        for start in range(0, len(stream), chunk_size):
            chunk = stream[start : start + chunk_size]
            fed += len(chunk)
            assert parser.feed(chunk) is None
    assert fed <= MAX_HEADER_BYTES + chunk_size + 3


# ------------------------------------------------------------------------------------------ challenges

quoted_text = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=24)
param_names = st.sampled_from(["realm", "nonce", "qop", "algorithm", "opaque", "stale", "domain", "charset"])


def render_quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@st.composite
def challenge_headers(draw: st.DrawFn) -> tuple[str, list[Challenge]]:
    """One ``WWW-Authenticate`` value holding several challenges, with odd spacing and quoting."""
    challenges = []
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        scheme = draw(st.sampled_from(["Digest", "Basic", "digest", "NTLM", "Bearer"]) | token)
        names = draw(st.lists(param_names, max_size=5, unique=True))
        params: dict[str, str] = {}
        rendered = []
        for name in names:
            if draw(st.booleans()):
                value = draw(quoted_text)
                text = render_quoted(value)
            else:
                value = draw(token)
                text = value
            params[name] = value
            space = draw(st.sampled_from(["", " ", "\t"]))
            rendered.append(f"{name.upper() if draw(st.booleans()) else name}{space}={space}{text}")
        parts.append(f"{scheme} " + ", ".join(rendered) if rendered else scheme)
        challenges.append(Challenge(scheme.lower(), params))
    return draw(st.sampled_from([", ", ",", " , "])).join(parts), challenges


@FUZZ
@given(challenge_headers())
def test_challenges_round_trip(case: tuple[str, list[Challenge]]) -> None:
    header, expected = case
    assert parse_challenges([header]) == expected


PASSWORD = "Pw-Unique-7f3a!@#"


@FUZZ
@given(st.lists(st.text(max_size=80) | challenge_headers().map(lambda c: c[0]), max_size=3))
def test_any_challenge_text_gives_a_challenge_or_a_protocol_error(values: list[str]) -> None:
    try:
        challenges = parse_challenges(values)
    except RtspProtocolError:
        return
    chosen = choose_challenge(challenges)
    if chosen is None or chosen.scheme != "digest":
        return
    answer = digest_authorization(
        chosen, username="admin", password=PASSWORD, method="DESCRIBE", uri="rtsp://x/"
    )
    assert answer.startswith("Digest ") and PASSWORD not in answer


# ------------------------------------------------------------------------------------------ SDP

sdp_line = st.one_of(
    st.builds(
        "m=video {} {} {}".format,
        st.integers(0, 70000),
        st.sampled_from(["RTP/AVP", "RTP/AVPF", ""]),
        st.sampled_from(["96", "26", "32", "34", "", "96 97", "x"]),
    ),
    st.builds("m={} 0 RTP/AVP {}".format, st.sampled_from(["audio", "application", "video"]), token),
    st.builds(
        "a=rtpmap:{} {}".format,
        st.sampled_from(["96", "97", "26"]),
        st.sampled_from(["H264/90000", "H265/90000", "/", "", "JPEG", "h264"]),
    ),
    st.builds(
        "a=fmtp:96 packetization-mode=1;sprop-parameter-sets={},aM48gA==".format,
        st.binary(max_size=40).map(lambda b: base64.b64encode(b"\x67" + b).decode()) | st.text(max_size=20),
    ),
    st.builds("a=framesize:96 {}-{}".format, st.text(max_size=6), st.text(max_size=6)),
    st.builds("a=x-dimensions:{},{}".format, st.integers(-5, 10**13), st.text(max_size=6)),
    st.builds("a=control:{}".format, st.text(max_size=30)),
    st.text(max_size=40),
)


@FUZZ
@given(st.lists(sdp_line, max_size=12), st.sampled_from(["\r\n", "\n", "\r"]), st.booleans())
def test_sdp_parses_to_info_or_protocol_error(lines: list[str], eol: str, as_bytes: bool) -> None:
    text = eol.join(["v=0", *lines])
    try:
        info = parse_sdp(text.encode("utf-8", "surrogatepass") if as_bytes else text)
    except RtspProtocolError:
        return
    assert (info.width is None) == (info.height is None)
    if info.width is not None:
        assert info.width > 0 and info.height is not None and info.height > 0


# ------------------------------------------------------------------------------------------ SPS


class BitWriter:
    """MSB-first bits with Exp-Golomb codes: builds the SPS that the decoder under test reads."""

    def __init__(self) -> None:
        self.bits: list[int] = []

    def u(self, n: int, value: int) -> None:
        self.bits += [(value >> (n - 1 - i)) & 1 for i in range(n)]

    def ue(self, value: int) -> None:
        code = value + 1
        self.u(2 * code.bit_length() - 1, code)

    def se(self, value: int) -> None:
        self.ue(2 * value - 1 if value > 0 else -2 * value)

    def ebsp(self) -> bytes:
        """Bytes with trailing bits and emulation prevention (00 00 0x -> 00 00 03 0x), as a camera sends."""
        bits = [*self.bits, 1]
        bits += [0] * (-len(bits) % 8)
        raw = bytes(int("".join(map(str, bits[i : i + 8])), 2) for i in range(0, len(bits), 8))
        out = bytearray()
        zeros = 0
        for byte in raw:
            if zeros >= 2 and byte <= 3:
                out.append(3)
                zeros = 0
            out.append(byte)
            zeros = zeros + 1 if byte == 0 else 0
        return bytes(out)


def write_scaling_list(w: BitWriter, size: int, deltas: list[int]) -> None:
    """Deltas as the decoder consumes them: one per entry until the running scale hits 0."""
    last = next_scale = 8
    for i in range(size):
        if next_scale:
            delta = deltas[i % len(deltas)]
            w.se(delta)
            next_scale = (last + delta + 256) % 256
        last = next_scale or last


@st.composite
def sps_cases(draw: st.DrawFn) -> tuple[str, tuple[int, int]]:
    """A random but valid SPS (baseline or high profile, POC types 0-2, cropping) and its frame size."""
    profile = draw(st.sampled_from([66, 77, 88, 100, 110, 122, 244]))
    w = BitWriter()
    w.u(8, profile)
    w.u(16, draw(st.integers(0, 0xFFFF)))
    w.ue(draw(st.integers(0, 31)))
    chroma = 1
    if profile >= 100:
        chroma = draw(st.integers(0, 3))
        w.ue(chroma)
        if chroma == 3:
            w.u(1, 0)
        w.ue(draw(st.integers(0, 6)))
        w.ue(draw(st.integers(0, 6)))
        w.u(1, 0)
        scaling = draw(
            st.lists(st.booleans(), min_size=12 if chroma == 3 else 8, max_size=12 if chroma == 3 else 8)
        )
        w.u(1, int(any(scaling)))
        if any(scaling):
            for index, present in enumerate(scaling):
                w.u(1, int(present))
                if present:
                    write_scaling_list(
                        w, 16 if index < 6 else 64, draw(st.lists(st.integers(-128, 127), min_size=1))
                    )
    w.ue(draw(st.integers(0, 12)))
    poc = draw(st.integers(0, 2))
    w.ue(poc)
    if poc == 0:
        w.ue(draw(st.integers(0, 12)))
    elif poc == 1:
        w.u(1, 0)
        w.se(draw(st.integers(-100, 100)))
        w.se(draw(st.integers(-100, 100)))
        cycle = draw(st.lists(st.integers(-50, 50), max_size=5))
        w.ue(len(cycle))
        for offset in cycle:
            w.se(offset)
    w.ue(draw(st.integers(0, 16)))
    w.u(1, 0)
    mbs, units = draw(st.integers(1, 240)), draw(st.integers(1, 135))
    frame_mbs_only = draw(st.integers(0, 1))
    w.ue(mbs - 1)
    w.ue(units - 1)
    w.u(1, frame_mbs_only)
    if not frame_mbs_only:
        w.u(1, 0)
    w.u(1, 1)
    crop_x = 1 if chroma in (0, 3) else 2
    crop_y = (2 if chroma == 1 else 1) * (2 - frame_mbs_only)
    full_w, full_h = mbs * 16, (2 - frame_mbs_only) * units * 16
    left, right = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    top, bottom = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    width, height = full_w - crop_x * (left + right), full_h - crop_y * (top + bottom)
    if width <= 0 or height <= 0:
        left = right = top = bottom = 0
        width, height = full_w, full_h
    cropping = bool(left or right or top or bottom)
    w.u(1, int(cropping))
    if cropping:
        for value in (left, right, top, bottom):
            w.ue(value)
    w.u(1, 0)  # no VUI
    return base64.b64encode(b"\x67" + w.ebsp()).decode(), (width, height)


@FUZZ
@given(sps_cases())
def test_valid_sps_decodes_to_its_frame_size(case: tuple[str, tuple[int, int]]) -> None:
    sprop, size = case
    assert sps_dimensions(sprop) == size


@FUZZ
@given(sps_cases(), st.lists(mutation, min_size=1, max_size=3))
def test_damaged_sps_gives_a_plausible_size_or_protocol_error(
    case: tuple[str, tuple[int, int]], ops: list[tuple[str, int, object]]
) -> None:
    nal = base64.b64decode(case[0])
    for op in ops:
        nal = mutate(nal, op)
    for sprop in (base64.b64encode(nal).decode(), base64.b64encode(nal).decode()[:-1], nal.decode("latin-1")):
        try:
            width, height = sps_dimensions(sprop)
        except RtspProtocolError:
            continue
        assert 0 < width <= 16384 and 0 < height <= 16384


# ------------------------------------------------------------------------------------------ a hostile camera

PROBE_TIMEOUT = 1.0
PROBE_STATUSES = {"ok", "offline", "timeout", "auth_failed", "not_found", "error"}


async def probe_hostile_camera(reply: bytes) -> object:
    """Probe a loopback camera that answers every request with ``reply`` and then hangs up."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), PROBE_TIMEOUT)
            writer.write(reply)
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError, TimeoutError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with asyncio.timeout(PROBE_TIMEOUT + 1):  # the probe bounds itself; this only reports a hang
            return await probe_url(
                f"rtsp://127.0.0.1:{port}/stream", username="admin", password=PASSWORD, timeout=PROBE_TIMEOUT
            )
    finally:
        server.close()
        await server.wait_closed()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.binary(max_size=300),
        st.tuples(valid_responses(), st.lists(mutation, max_size=3)).map(
            lambda case: _mutated(case[0][0], case[1])
        ),
        st.builds(
            "RTSP/1.0 {} {}\r\nCSeq: 1\r\nWWW-Authenticate: {}\r\nContent-Length: {}\r\n\r\n".format,
            st.sampled_from([200, 401, 404, 500]),
            header_value,
            challenge_headers().map(lambda c: c[0]) | st.text(max_size=30),
            st.sampled_from(["0", "5", "x"]),
        ).map(lambda text: text.encode("utf-8", "surrogatepass")),
    )
)
def test_probe_turns_any_reply_into_a_result(reply: bytes) -> None:
    result = asyncio.run(probe_hostile_camera(reply))
    assert result.probe == "rtsp" and result.status in PROBE_STATUSES  # type: ignore[attr-defined]
    assert result.duration_seconds <= PROBE_TIMEOUT + 0.5  # type: ignore[attr-defined]
    assert PASSWORD not in repr(result)


def _mutated(data: bytes, ops: list[tuple[str, int, object]]) -> bytes:
    for op in ops:
        data = mutate(data, op)
    return data
