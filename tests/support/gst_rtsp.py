"""Start and stop the GStreamer RTSP test server, and plain loopback sockets that misbehave."""

from __future__ import annotations

import contextlib
import functools
import os
import select
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

SYSTEM_PYTHON = "/usr/bin/python3"
SERVER_SCRIPT = Path(__file__).with_name("gst_rtsp_server.py")
LOOPBACK = "127.0.0.1"
START_TIMEOUT = 20.0


class GstRtspUnavailable(RuntimeError):
    """The GStreamer RTSP server cannot run here (missing Debian packages, or it failed to start)."""


@dataclass
class GstRtsp:
    """A running ``gst_rtsp_server.py``: where it listens and which login opens its secured mounts."""

    host: str
    port: int
    username: str | None
    password: str | None = field(repr=False)
    process: subprocess.Popen[str] = field(repr=False)

    def url(self, mount: str) -> str:
        return f"rtsp://{self.host}:{self.port}/{mount.lstrip('/')}"

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        for stream in (self.process.stdout, self.process.stderr):
            if stream:
                stream.close()


@functools.cache
def check_gi() -> None:
    """Raise ``GstRtspUnavailable`` unless Debian's python can load GStreamer's RTSP server bindings."""
    probe = subprocess.run(
        [
            SYSTEM_PYTHON,
            "-c",
            "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if probe.returncode != 0:
        raise GstRtspUnavailable(
            f"{SYSTEM_PYTHON} cannot import gi/GstRtspServer (install python3-gi gir1.2-gst-rtsp-server-1.0 "
            f"gstreamer1.0-rtsp and the gstreamer1.0-plugins-*): {probe.stderr.strip()[-500:]}"
        )


def start_gst_rtsp(
    names: tuple[str, ...] = (),
    *,
    mounts: Mapping[str, str] | None = None,
    secure_mounts: Mapping[str, str] | None = None,
    user: str | None = None,
    password: str | None = None,
    auth: str = "basic,digest",
    protocols: str | None = None,
) -> GstRtsp:
    """Start the server on a free loopback port; return once it answers OPTIONS. ``protocols``: the RTP
    transports its mounts allow (``udp`` or ``tcp``; default both)."""
    args = [SYSTEM_PYTHON, str(SERVER_SCRIPT), "--host", LOOPBACK, "--port", "0", "--auth", auth, *names]
    if protocols:
        args += ["--protocols", protocols]
    if user is not None and password is not None:
        args += ["--user", user, "--password", password]
    for option, table in (("--mount", mounts), ("--secure-mount", secure_mounts)):
        for name, fragment in (table or {}).items():
            args += [option, f"{name}={fragment}"]
    process = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    server = GstRtsp(LOOPBACK, 0, user, password, process)
    try:
        server.port = _await_ready(process)
        _await_options(server.host, server.port)
    except BaseException:
        server.stop()
        raise
    return server


def _await_ready(process: subprocess.Popen[str]) -> int:
    assert process.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([process.stdout], [], [], left)
        line = process.stdout.readline() if ready else ""
        if line.startswith("READY "):
            return int(line.rsplit(":", 1)[1])
        if process.poll() is not None:
            err = process.stderr.read() if process.stderr else ""
            raise GstRtspUnavailable(f"gst_rtsp_server.py exited {process.returncode}: {err.strip()[-800:]}")
    raise GstRtspUnavailable(f"gst_rtsp_server.py printed no READY line within {START_TIMEOUT:.0f} s")


def _await_options(host: str, port: int) -> None:
    request = f"OPTIONS rtsp://{host}:{port}/ RTSP/1.0\r\nCSeq: 1\r\n\r\n".encode()
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=2) as conn:
            conn.sendall(request)
            if conn.recv(64).startswith(b"RTSP/1.0 200"):
                return
        time.sleep(0.1)
    raise GstRtspUnavailable(f"no OPTIONS answer from {host}:{port} within {START_TIMEOUT:.0f} s")


@contextlib.contextmanager
def hanging_listener() -> Iterator[int]:
    """A loopback TCP port that accepts connections, reads nothing and never answers."""
    listener = socket.socket()
    listener.bind((LOOPBACK, 0))
    listener.listen(64)
    listener.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept_forever() -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                held.append(listener.accept()[0])

    thread = threading.Thread(target=accept_forever, name="hanging-listener", daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
        for conn in held:
            conn.close()


def unused_port() -> int:
    """A loopback port with nothing listening (bound then released, so refused on connect)."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])
