"""The one Digest computation (camwatch.monitor.digest) against the RFCs' worked examples."""

from __future__ import annotations

import pytest

from camwatch.monitor import digest
from camwatch.monitor.rtsp_proto import RtspProtocolError, digest_authorization, parse_challenges

# RFC 2617 §3.5
RFC2617 = {
    "username": "Mufasa",
    "realm": "testrealm@host.com",
    "password": "Circle Of Life",
    "method": "GET",
    "uri": "/dir/index.html",
    "nonce": "dcd98b7102dd2f0e8b11d0f600bfb0c093",
    "qop": "auth",
    "nc": "00000001",
    "cnonce": "0a4f113b",
}
# RFC 7616 §3.9.1
RFC7616 = {
    "username": "Mufasa",
    "realm": "http-auth@example.org",
    "password": "Circle of Life",
    "method": "GET",
    "uri": "/dir/index.html",
    "nonce": "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
    "qop": "auth",
    "nc": "00000001",
    "cnonce": "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
}


def test_rfc2617_example():
    assert digest.response(**RFC2617) == "6629fae49393a05397450978507c4ef1"


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_rfc7616_examples(algorithm, expected):
    assert digest.response(**RFC7616, algorithm=algorithm) == expected


def test_authorization_header_answers_the_rfc7616_challenge():
    challenge = parse_challenges(
        [
            'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, '
            'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", '
            'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"'
        ]
    )[0]
    header = digest_authorization(
        challenge,
        username="Mufasa",
        password="Circle of Life",
        method="GET",
        uri="/dir/index.html",
        cnonce=RFC7616["cnonce"],
    )
    sent = digest.parse(header)
    assert sent["response"] == "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
    assert (sent["qop"], sent["nc"], sent["algorithm"]) == ("auth", "00000001", "SHA-256")
    assert sent["opaque"] == "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"


def test_without_qop_the_rfc2069_form():
    # RFC 2617 §3.2.2.1: no qop: KD(HA1, nonce:HA2)
    plain = {k: v for k, v in RFC2617.items() if k not in ("qop", "nc", "cnonce")}
    assert digest.response(**plain) == "670fd8c2df070c60b045671b8b24ff02"


def test_sess_binds_the_client_nonce():
    one = digest.response(**RFC7616, algorithm="SHA-256-sess")
    other = digest.response(**{**RFC7616, "cnonce": "x"}, algorithm="SHA-256-sess")
    assert one != other and len(one) == 64


@pytest.mark.parametrize(
    "challenge",
    [
        'Digest realm="r", nonce="n", algorithm=SHA-512-256',
        'Digest realm="r", nonce="n", qop="auth-int"',
        'Digest realm="r"',
    ],
)
def test_challenges_it_cannot_answer_are_refused(challenge):
    parsed = parse_challenges([challenge])[0]
    with pytest.raises(RtspProtocolError, match="unsupported Digest"):
        digest_authorization(parsed, username="u", password="p", method="GET", uri="/")


def test_parse_reads_quoted_and_bare_values():
    assert digest.parse('Digest username="a b", nc=00000001, qop=auth') == {
        "username": "a b",
        "nc": "00000001",
        "qop": "auth",
    }
    assert digest.parse("Basic dXNlcjpwdw==") == {}
