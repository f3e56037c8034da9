"""RTSP message building and parsing: requests, split reads, auth challenges and answers, SDP, H.264 SPS."""

from __future__ import annotations

import base64
import contextlib
import hashlib
from fractions import Fraction

import av
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from camwatch.monitor.rtsp_proto import (
    MAX_BODY_BYTES,
    MAX_HEADER_BYTES,
    Challenge,
    ResponseParser,
    RtspProtocolError,
    basic_authorization,
    build_request,
    choose_challenge,
    describe_request,
    digest_authorization,
    digest_is_stale,
    options_request,
    parse_challenges,
    parse_sdp,
    sps_dimensions,
)

# A DESCRIBE answer captured from the GStreamer RTSP server (tests/support/gst_rtsp_server.py, /live).
GST_SDP = (
    b"v=0\r\no=- 4586063169674798598 1 IN IP4 127.0.0.1\r\ns=Session streamed with GStreamer\r\n"
    b"i=rtsp-server\r\nt=0 0\r\na=tool:GStreamer\r\na=type:broadcast\r\na=control:*\r\n"
    b"a=range:npt=now-\r\nm=video 0 RTP/AVP 96\r\nc=IN IP4 0.0.0.0\r\nb=AS:2097\r\n"
    b"a=rtpmap:96 H264/90000\r\na=framerate:15\r\n"
    b"a=fmtp:96 packetization-mode=1;sprop-parameter-sets=Z0LAFtoCgL/lwFqDAwNSgAAAAwCAAAAPR4sXUA==,aM48gA==;"
    b"profile-level-id=42c016;level-asymmetry-allowed=1\r\na=control:stream=0\r\n"
)
GST_DESCRIBE = (
    b"RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Type: application/sdp\r\n"
    b"Content-Base: rtsp://127.0.0.1:8554/live/\r\nServer: GStreamer RTSP server\r\n"
    b"Content-Length: " + str(len(GST_SDP)).encode() + b"\r\n\r\n" + GST_SDP
)


def parse_all(chunks: list[bytes]) -> list:
    parser = ResponseParser()
    responses = []
    for chunk in chunks:
        response = parser.feed(chunk)
        while response is not None:
            responses.append(response)
            response = parser.feed(b"")
    return responses


# --------------------------------------------------------------------------------------------- requests


def test_options_request_carries_cseq_and_user_agent() -> None:
    assert options_request("rtsp://10.0.0.1/live", 1) == (
        b"OPTIONS rtsp://10.0.0.1/live RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: camwatch\r\n\r\n"
    )


def test_describe_request_accepts_sdp_and_sends_authorization() -> None:
    request = describe_request("rtsp://10.0.0.1/live", 7, authorization="Basic eDp5")
    assert request.startswith(b"DESCRIBE rtsp://10.0.0.1/live RTSP/1.0\r\nCSeq: 7\r\n")
    assert b"\r\nAccept: application/sdp\r\n" in request
    assert b"\r\nAuthorization: Basic eDp5\r\n" in request
    assert request.endswith(b"\r\n\r\n")


@pytest.mark.parametrize("url", ["rtsp://h/a b", "rtsp://h/a\r\nX: y", "rtsp://h/\n", "rtsp://h/\x00"])
def test_request_refuses_urls_that_would_inject_lines(url: str) -> None:
    with pytest.raises(RtspProtocolError):
        options_request(url, 1)


def test_request_refuses_header_values_with_line_breaks() -> None:
    with pytest.raises(RtspProtocolError):
        build_request("OPTIONS", "rtsp://h/", 1, headers=[("Authorization", "Basic x\r\nCSeq: 9")])


# --------------------------------------------------------------------------------------------- responses


def test_whole_response_parses() -> None:
    (response,) = parse_all([GST_DESCRIBE])
    assert response.status == 200
    assert response.reason == "OK"
    assert response.header("cseq") == "2"
    assert response.header("server") == "GStreamer RTSP server"
    assert response.body == GST_SDP


def test_byte_by_byte_reads_give_the_same_response() -> None:
    whole = parse_all([GST_DESCRIBE])
    split = parse_all([GST_DESCRIBE[i : i + 1] for i in range(len(GST_DESCRIBE))])
    assert split == whole


@pytest.mark.parametrize("cut", [5, 17, len(GST_DESCRIBE) - len(GST_SDP) - 2, len(GST_DESCRIBE) - 1])
def test_reads_split_anywhere_give_the_same_response(cut: int) -> None:
    assert parse_all([GST_DESCRIBE[:cut], GST_DESCRIBE[cut:]]) == parse_all([GST_DESCRIBE])


def test_lf_only_line_ends_are_tolerated() -> None:
    lf_only = b"RTSP/1.0 200 OK\nCSeq: 3\nContent-Length: 4\n\nv=0\n"
    (response,) = parse_all([lf_only[:20], lf_only[20:]])
    assert (response.status, response.header("cseq"), response.body) == (200, "3", b"v=0\n")


def test_pipelined_responses_and_stray_line_ends() -> None:
    first = b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nPublic: OPTIONS, DESCRIBE\r\n\r\n"
    second = b"RTSP/1.0 404 Not Found\r\nCSeq: 2\r\n\r\n"
    responses = parse_all([first + b"\r\n" + second])
    assert [(r.status, r.header("cseq")) for r in responses] == [(200, "1"), (404, "2")]
    assert responses[0].header("public") == "OPTIONS, DESCRIBE"


def test_repeated_and_folded_headers() -> None:
    raw = (
        b'RTSP/1.0 401 Unauthorized\r\nCSeq: 1\r\nWWW-Authenticate: Basic realm="a"\r\n'
        b'WWW-Authenticate: Digest realm="a",\r\n nonce="n1"\r\n\r\n'
    )
    (response,) = parse_all([raw])
    assert response.header_values("www-authenticate") == ['Basic realm="a"', 'Digest realm="a", nonce="n1"']


def test_oversized_head_is_refused() -> None:
    parser = ResponseParser()
    parser.feed(b"RTSP/1.0 200 OK\r\n")
    with pytest.raises(RtspProtocolError, match="head larger"):
        for _ in range(MAX_HEADER_BYTES // 1000 + 1):
            parser.feed(b"X-Pad: " + b"a" * 991 + b"\r\n")


def test_oversized_body_is_refused_before_it_arrives() -> None:
    head = f"RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Length: {MAX_BODY_BYTES + 1}\r\n\r\n".encode()
    with pytest.raises(RtspProtocolError, match="body larger"):
        ResponseParser().feed(head)


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/1.1 200 OK\r\n\r\n",
        b"$\x00\x00\x04abcd",
        b"RTSP/1.0 2OO OK\r\n\r\n",
        b"RTSP/1.0 20 OK\r\n\r\n",
        b"RTSP/1.0 \xb2\xb2\xb2 OK\r\n\r\n",
        b"RTSP/1.0 200 OK\r\nno colon here\r\n\r\n",
        b"RTSP/1.0 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"RTSP/1.0 200 OK\r\nContent-Length: 1_0\r\n\r\n",
        b"RTSP/1.0 200 OK\r\nContent-Length: \xb9\r\n\r\n",
        b"RTSP/1.0 200 OK\r\n: empty name\r\n\r\n",
    ],
)
def test_malformed_responses_raise_protocol_error(raw: bytes) -> None:
    with pytest.raises(RtspProtocolError):
        ResponseParser().feed(raw)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=200), max_size=8))
def test_parser_raises_only_protocol_errors(chunks: list[bytes]) -> None:
    parser = ResponseParser()
    with contextlib.suppress(RtspProtocolError):
        for chunk in [b"RTSP/1.0 ", *chunks]:
            parser.feed(chunk)


# --------------------------------------------------------------------------------------------- auth


def test_challenges_from_separate_headers_and_one_combined_header() -> None:
    separate = parse_challenges(
        ['Basic realm="GStreamer RTSP Server"', 'Digest realm="GStreamer RTSP Server", nonce="34651ee7"']
    )
    combined = parse_challenges(
        ['Basic realm="GStreamer RTSP Server", Digest realm="GStreamer RTSP Server", nonce="34651ee7"']
    )
    expected = [
        Challenge("basic", {"realm": "GStreamer RTSP Server"}),
        Challenge("digest", {"realm": "GStreamer RTSP Server", "nonce": "34651ee7"}),
    ]
    assert separate == combined == expected


def test_challenge_params_with_escapes_tokens_and_spacing() -> None:
    (challenge,) = parse_challenges(
        ['Digest realm = "a \\"b\\"",nonce="n", qop="auth,auth-int" , algorithm=MD5, stale=FALSE']
    )
    assert challenge.params == {
        "realm": 'a "b"',
        "nonce": "n",
        "qop": "auth,auth-int",
        "algorithm": "MD5",
        "stale": "FALSE",
    }


def test_choose_prefers_digest_and_falls_back_to_basic() -> None:
    basic = Challenge("basic", {"realm": "r"})
    digest = Challenge("digest", {"realm": "r", "nonce": "n"})
    sha = Challenge("digest", {"realm": "r", "nonce": "n", "algorithm": "SHA-256"})
    sha512 = Challenge("digest", {"realm": "r", "nonce": "n", "algorithm": "SHA-512-256"})
    auth_int = Challenge("digest", {"realm": "r", "nonce": "n", "qop": "auth-int"})
    assert choose_challenge([basic, digest]) is digest
    assert choose_challenge([sha, digest, basic]) is sha  # RFC 7616: the server lists its preferred first
    assert choose_challenge([sha512, auth_int, basic]) is basic
    assert choose_challenge([sha512, Challenge("ntlm")]) is None


def test_quoted_values_with_and_without_escapes_and_empty_ones() -> None:
    (challenge,) = parse_challenges(['Digest realm="", nonce="a\\\\b", opaque="x\\"y,z", qop="auth"'])
    assert challenge.params == {"realm": "", "nonce": "a\\b", "opaque": 'x"y,z', "qop": "auth"}


@pytest.mark.parametrize(
    ("value", "stale"),
    [("stale=true", True), ("stale=TRUE", True), ('stale="true"', True), ("stale=FALSE", False), ("", False)],
)
def test_stale_flag_of_a_digest_challenge(value: str, stale: bool) -> None:
    (challenge,) = parse_challenges([f'Digest realm="r", nonce="n2", {value}'.rstrip(", ")])
    assert digest_is_stale(challenge) is stale


@pytest.mark.parametrize("value", ['Digest realm="unterminated', 'Digest ="x"', '"quoted"', "Digest a=b c"])
def test_malformed_challenges_raise_protocol_error(value: str) -> None:
    with pytest.raises(RtspProtocolError):
        parse_challenges([value])


def test_basic_authorization_rfc7617_example() -> None:
    assert basic_authorization("Aladdin", "open sesame") == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="


def test_digest_authorization_rfc2617_example() -> None:
    challenge = Challenge(
        "digest",
        {
            "realm": "testrealm@host.com",
            "qop": "auth,auth-int",
            "nonce": "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            "opaque": "5ccc069c403ebaf9f0171e9517f40e41",
        },
    )
    header = digest_authorization(
        challenge,
        username="Mufasa",
        password="Circle Of Life",
        method="GET",
        uri="/dir/index.html",
        nc=1,
        cnonce="0a4f113b",
    )
    assert header.startswith('Digest username="Mufasa", realm="testrealm@host.com", ')
    assert 'response="6629fae49393a05397450978507c4ef1"' in header
    assert 'qop=auth, nc=00000001, cnonce="0a4f113b"' in header
    assert 'opaque="5ccc069c403ebaf9f0171e9517f40e41"' in header


def test_digest_authorization_without_qop_uses_rfc2069_response() -> None:
    challenge = Challenge("digest", {"realm": "GStreamer RTSP Server", "nonce": "d6c1144d1822e84c"})
    header = digest_authorization(
        challenge, username="admin", password="pw", method="DESCRIBE", uri="rtsp://127.0.0.1/secure"
    )

    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()

    ha1 = md5("admin:GStreamer RTSP Server:pw")
    ha2 = md5("DESCRIBE:rtsp://127.0.0.1/secure")
    assert f'response="{md5(f"{ha1}:d6c1144d1822e84c:{ha2}")}"' in header
    assert "qop" not in header and "cnonce" not in header


def test_digest_refuses_unsupported_challenges() -> None:
    with pytest.raises(RtspProtocolError):
        digest_authorization(
            Challenge("digest", {"nonce": "n", "algorithm": "SHA-512-256"}),
            username="u",
            password="p",
            method="DESCRIBE",
            uri="rtsp://h/",
        )


# --------------------------------------------------------------------------------------------- SDP


def test_gstreamer_sdp_gives_codec_size_from_sps_and_control() -> None:
    info = parse_sdp(GST_SDP)
    assert (info.codec, info.width, info.height, info.control) == ("H264", 640, 360, "stream=0")


def test_sdp_size_attributes_win_over_sps_and_other_codecs() -> None:
    h265 = (
        b"v=0\nm=audio 0 RTP/AVP 0\nm=video 0 RTP/AVP 97\na=rtpmap:97 H265/90000\na=framesize:97 2560-1440\n"
    )
    mjpeg = b"v=0\r\na=control:rtsp://cam/track\r\nm=video 0 RTP/AVP 26\r\na=x-dimensions:1280,720\r\n"
    assert parse_sdp(h265).codec == "H265"
    assert (parse_sdp(h265).width, parse_sdp(h265).height) == (2560, 1440)
    assert parse_sdp(mjpeg) == parse_sdp(mjpeg.decode())
    info = parse_sdp(mjpeg)
    assert (info.codec, info.width, info.height, info.control) == ("JPEG", 1280, 720, "rtsp://cam/track")


def test_sdp_without_video_or_with_a_bad_sps_has_no_size() -> None:
    audio_only = parse_sdp(b"v=0\r\nm=audio 0 RTP/AVP 0\r\na=control:track1\r\n")
    assert (audio_only.codec, audio_only.width) == (None, None)
    bad_sps = parse_sdp(
        b"v=0\nm=video 0 RTP/AVP 96\na=rtpmap:96 H264/90000\na=fmtp:96 sprop-parameter-sets=!!\n"
    )
    assert (bad_sps.codec, bad_sps.width, bad_sps.height) == ("H264", None, None)


@pytest.mark.parametrize("body", [b"", b"<html>not sdp</html>", b"v=0\r\nthis is not an sdp line\r\n"])
def test_malformed_sdp_raises_protocol_error(body: bytes) -> None:
    with pytest.raises(RtspProtocolError):
        parse_sdp(body)


# --------------------------------------------------------------------------------------------- H.264 SPS


def encoded_sps(width: int, height: int, pix_fmt: str, x264_params: str) -> str:
    """Base64 SPS of one frame encoded by libx264 (via PyAV) with these settings."""
    codec = av.CodecContext.create("libx264", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, pix_fmt
    codec.time_base = Fraction(1, 15)
    codec.options = {"preset": "ultrafast", **({"x264-params": x264_params} if x264_params else {})}
    frame = av.VideoFrame.from_ndarray(np.zeros((height, width, 3), np.uint8), format="rgb24")
    stream = b"".join(bytes(p) for p in [*codec.encode(frame.reformat(format=pix_fmt)), *codec.encode(None)])
    sps = next(nal for nal in stream.split(b"\x00\x00\x01") if nal and nal[0] & 0x1F == 7)
    return base64.b64encode(sps.rstrip(b"\x00")).decode()


@pytest.mark.parametrize(
    ("width", "height", "pix_fmt", "x264_params"),
    [
        (640, 360, "yuv420p", ""),  # baseline, cropped from 368
        (1920, 1080, "yuv420p", "cqm=jvt"),  # high profile with scaling matrices
        (1278, 718, "yuv420p", ""),  # odd crop on both axes
        (640, 360, "yuv422p", ""),  # high 4:2:2 crop units
        (640, 362, "yuv444p", ""),  # high 4:4:4
        (642, 360, "gray", ""),  # monochrome
        (720, 576, "yuv420p", "interlaced=1"),  # field coding: frame_mbs_only_flag = 0
    ],
)
def test_sps_dimensions_of_real_encoder_output(
    width: int, height: int, pix_fmt: str, x264_params: str
) -> None:
    assert sps_dimensions(encoded_sps(width, height, pix_fmt, x264_params)) == (width, height)


@pytest.mark.parametrize(
    "sprop",
    [
        "aM48gA==",  # a PPS, not an SPS
        "Z0LAFg==",  # SPS cut short after the level
        "not base64!",
        "",
        "Z" + "A" * 7,  # an SPS of zero bits: Exp-Golomb never ends
    ],
)
def test_malformed_sps_raises_protocol_error(sprop: str) -> None:
    with pytest.raises(RtspProtocolError):
        sps_dimensions(sprop)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64), st.text(max_size=120))
def test_auth_sdp_and_sps_parsers_raise_only_protocol_errors(blob: bytes, text: str) -> None:
    for parse in (
        lambda: parse_challenges([text]),
        lambda: parse_sdp(b"v=0\nm=video 0 RTP/AVP 96\na=rtpmap:96 H264/1\na=fmtp:96 " + blob),
        lambda: parse_sdp(text),
        lambda: sps_dimensions(base64.b64encode(b"\x67" + blob).decode()),
        lambda: sps_dimensions(text),
    ):
        with contextlib.suppress(RtspProtocolError):
            parse()
