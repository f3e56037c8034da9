"""Shared pytest fixtures: real servers on loopback that tests probe."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from support.gst_rtsp import (
    GstRtsp,
    GstRtspUnavailable,
    check_gi,
    hanging_listener,
    start_gst_rtsp,
    unused_port,
)

# Login of the session server's secured mounts (/secure); tests check it never leaks into results.
GST_RTSP_USER = "admin"
GST_RTSP_PASSWORD = "Gst-s3cret:pw@1"


def _start(**options: Any) -> GstRtsp:
    """Start the server, failing (never skipping) the test when GStreamer is missing or broken."""
    try:
        check_gi()
        return start_gst_rtsp(**options)
    except GstRtspUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def gst_rtsp() -> Iterator[GstRtsp]:
    """The GStreamer RTSP server with every default mount (/live /clock /frozen /black /blurred /secure)."""
    server = _start(user=GST_RTSP_USER, password=GST_RTSP_PASSWORD)
    yield server
    server.stop()


@pytest.fixture
def gst_rtsp_server_factory() -> Iterator[Callable[..., GstRtsp]]:
    """Start GStreamer RTSP servers with custom mounts (NAME -> gst-launch fragment giving live raw video).

    ``factory(mounts, *, user=None, password=None, auth="basic,digest", protocols=None)``: with a login,
    every mount is secured and ``auth`` names the schemes offered in the 401 challenge; ``protocols``
    (``udp`` or ``tcp``) restricts the RTP transports. Servers stop at teardown.
    """
    started: list[GstRtsp] = []

    def factory(
        mounts: Mapping[str, str],
        *,
        user: str | None = None,
        password: str | None = None,
        auth: str = "basic,digest",
        protocols: str | None = None,
    ) -> GstRtsp:
        secured = user is not None and password is not None
        server = _start(
            mounts=None if secured else mounts,
            secure_mounts=mounts if secured else None,
            user=user,
            password=password,
            auth=auth,
            protocols=protocols,
        )
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()


@pytest.fixture
def hanging_port() -> Iterator[int]:
    """A loopback port that accepts TCP connections and never answers."""
    with hanging_listener() as port:
        yield port


@pytest.fixture
def closed_port() -> int:
    """A loopback port with nothing listening."""
    return unused_port()
