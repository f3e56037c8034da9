"""Hostile bytes for the GB/T 28181 parsers: a message or the parser's own error for each, never a crash."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from camwatch.monitor.gb28181 import manscdp, sip

REGISTER = (
    b"REGISTER sip:34020000002000000001@3402000000 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060\r\n"
    b"From: <sip:34020000001320000001@3402000000>;tag=1\r\nCall-ID: 1\r\nCSeq: 1 REGISTER\r\n"
    b"Content-Length: 4\r\n\r\nbody"
)
CATALOG = (
    '<?xml version="1.0" encoding="GB2312"?><Response><CmdType>Catalog</CmdType><SN>1</SN>'
    '<DeviceID>34020000001180000001</DeviceID><SumNum>1</SumNum><DeviceList Num="1"><Item>'
    "<DeviceID>34020000001310000001</DeviceID><Name>东门</Name><Status>ON</Status></Item></DeviceList></Response>"
).encode("gb2312")


def mutations(seed: bytes) -> st.SearchStrategy[bytes]:
    """The seed with a slice replaced by random bytes (most interesting inputs are almost valid)."""
    return st.tuples(st.integers(0, len(seed)), st.integers(0, 40), st.binary(max_size=60)).map(
        lambda t: seed[: t[0]] + t[2] + seed[t[0] + t[1] :]
    )


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.binary(max_size=300), mutations(REGISTER)))
def test_sip_parse_and_framing_never_crash(data: bytes) -> None:
    try:
        msg = sip.parse(data, max_bytes=4096)
        assert msg.method or msg.status
        _ = sip.user_of(msg.header("from")), sip.param(msg.header("contact"), "expires")
    except sip.SipError:
        pass
    framer = sip.StreamFramer(4096)
    try:
        for message in framer.feed(data + data):
            assert len(message) <= 4096
    except sip.SipError:
        pass


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(st.binary(max_size=300), mutations(CATALOG)),
    st.sampled_from(["", "charset=idna", "charset=GBK"]),
)
def test_manscdp_parse_never_crashes(body: bytes, content_type: str) -> None:
    try:
        doc = manscdp.parse(body, content_type, max_items=8)
        assert len(doc.items) <= 8
    except manscdp.ManscdpError:
        pass


def test_unicode_digits_are_no_numbers() -> None:
    # str.isdigit() accepts '²' and '٣', which int() refuses or reads: neither may reach int().
    bad = REGISTER.replace(b"Content-Length: 4", "Content-Length: ²".encode())
    try:
        sip.parse(bad, max_bytes=4096)
        raise AssertionError("accepted a non-ASCII Content-Length")
    except sip.SipError:
        pass
    assert sip.number("٣") == 0 and sip.number(" 42 ") == 42
