"""Passwords never survive redaction, whatever characters they hold."""

from __future__ import annotations

from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st

from camwatch.config.redact import redact_url, scrub


def test_url_userinfo_masked():
    assert redact_url("rtsp://admin:s3cret@10.0.0.7:554/h264") == "rtsp://admin:***@10.0.0.7:554/h264"
    assert redact_url("rtsp://admin:p@ss@10.0.0.7/x") == "rtsp://admin:***@10.0.0.7/x"
    assert redact_url("no url here: a@b") == "no url here: a@b"
    assert redact_url("rtsp://10.0.0.7/path@x") == "rtsp://10.0.0.7/path@x"


def test_scrub_masks_literal_and_encoded_forms():
    pw = "p@ss w/ord:1"
    text = f"open rtsp://admin:{quote(pw, safe='')}@h/x failed; password={pw}"
    out = scrub(text, [pw])
    assert pw not in out and quote(pw, safe="") not in out


@given(
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r\t /"),
        min_size=4,
        max_size=30,
    )
)
def test_no_password_leaks_from_urls(password):
    for shown in (password, quote(password, safe="")):
        text = f"cannot open rtsp://admin:{shown}@127.0.0.1:554/live: 401"
        out = scrub(text, [password])
        assert password not in out
        assert quote(password, safe="") not in out
