"""camwatch's hand-written RTSP client against the maintained ``aiortsp`` (issue 22): CPU per liveness probe
(OPTIONS + DESCRIBE and the SDP read) and how each meets hostile or real-camera input.

aiortsp is not a camwatch dependency: install it apart (``pip install --target DIR aiortsp``) and name the
folder in ``AIORTSP_PATH``. The GStreamer RTSP test server (tests/support) serves the probes.

    AIORTSP_PATH=/tmp/aiolib python benchmarks/bench_rtsp_clients.py [--probes 200]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from camwatch.monitor.probes.rtsp import StreamMemory, probe_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.gst_rtsp import start_gst_rtsp
from support.rtsp_relay import media_held

if os.environ.get("AIORTSP_PATH"):
    sys.path.insert(0, os.environ["AIORTSP_PATH"])
try:
    from aiortsp.rtsp.connection import RTSPConnection  # type: ignore[import-not-found]
    from aiortsp.rtsp.sdp import SDP  # type: ignore[import-not-found]
except ImportError:
    RTSPConnection = SDP = None

USER, PASSWORD = "admin", "bench-pw"
LOOPBACK = "127.0.0.1"


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


KEPT = StreamMemory()  # what a service keeps between its probes (remembered challenges)


async def camwatch_probe(url: str, login: bool) -> str:
    result = await probe_url(
        url, username=USER if login else None, password=PASSWORD if login else None, timeout=5.0, memory=KEPT
    )
    return result.status


async def aiortsp_probe(url: str, login: bool) -> str:
    """What a liveness probe does with aiortsp: OPTIONS and DESCRIBE on one connection, the SDP parsed."""
    rest = url.removeprefix("rtsp://")
    host, _, port = rest.split("/", 1)[0].partition(":")
    async with RTSPConnection(
        host, int(port), USER if login else None, PASSWORD if login else None, timeout=5
    ) as conn:
        await conn.send_request("OPTIONS", url)
        describe = await conn.send_request("DESCRIBE", url, headers={"Accept": "application/sdp"})
        SDP(describe.content)
    return "ok"


async def cpu_per_probe(probe: Callable[[str, bool], Awaitable[str]], url: str, login: bool, n: int) -> float:
    await probe(url, login)  # untimed: imports, first connection
    before = cpu_seconds()
    for _ in range(n):
        await probe(url, login)
    return (cpu_seconds() - before) / n


# ---------------------------------------------------------------------------------------------- hostile

SDP_GBK = (
    "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=监控点位\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\n"
    "a=rtpmap:96 H264/90000\r\na=control:trackID=0\r\n"
).encode("gbk")


def _answer(status: str, cseq: str, headers: list[str], body: bytes = b"", eol: str = "\r\n") -> bytes:
    lines = [f"RTSP/1.0 {status}", f"CSeq: {cseq}", *headers]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return (eol.join(lines) + eol + eol).encode() + body


def hostile(kind: str, seen: list[str]) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Any]:
    """A camera written here on raw sockets: ``endless`` headers, ``gbk`` SDP, ``bare_lf`` line ends, or
    ``both`` Basic and Digest offered (``seen`` records the scheme each request carried)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception, asyncio.CancelledError):
            while head := (await reader.readuntil(b"\r\n\r\n")).decode("latin-1"):
                cseq = head.partition("CSeq: ")[2].split("\r\n", 1)[0]
                method = head.split(" ", 1)[0]
                auth = head.partition("Authorization: ")[2].split(" ", 1)[0] or "-"
                seen.append(f"{method} {auth}")
                if kind == "endless":
                    writer.write(b"RTSP/1.0 200 OK\r\nCSeq: " + cseq.encode() + b"\r\n")
                    for _ in range(4096):  # 64 MiB of header lines, never ended
                        writer.write(b"X-Pad: " + b"a" * 16376 + b"\r\n")
                        await writer.drain()
                    return
                if kind == "both" and auth == "-" and method == "DESCRIBE":
                    challenge = [
                        'WWW-Authenticate: Basic realm="cam"',
                        'WWW-Authenticate: Digest realm="cam", nonce="n1"',
                    ]
                    writer.write(_answer("401 Unauthorized", cseq, challenge))
                elif method == "DESCRIBE":
                    body = SDP_GBK if kind == "gbk" else SDP_GBK.decode("gbk").encode("ascii", "replace")
                    eol = "\n" if kind == "bare_lf" else "\r\n"
                    writer.write(_answer("200 OK", cseq, ["Content-Type: application/sdp"], body, eol))
                else:
                    eol = "\n" if kind == "bare_lf" else "\r\n"
                    writer.write(_answer("200 OK", cseq, ["Public: OPTIONS, DESCRIBE"], eol=eol))
                await writer.drain()
        writer.close()

    return handle


@contextlib.asynccontextmanager
async def serving(kind: str, seen: list[str]) -> AsyncIterator[str]:
    server = await asyncio.start_server(hostile(kind, seen), LOOPBACK, 0)
    try:
        yield f"rtsp://{LOOPBACK}:{server.sockets[0].getsockname()[1]}/cam"
    finally:
        server.close()


async def outcome(probe: Callable[[str, bool], Awaitable[str]], kind: str) -> str:
    seen: list[str] = []
    started = time.monotonic()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    async with serving(kind, seen) as url:
        try:
            async with asyncio.timeout(8):
                said = await probe(url, kind == "both")
        except Exception as exc:  # what the client raises is the finding
            said = f"raises {type(exc).__name__}"
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss) / 1024
    scheme = next((s.split()[1] for s in seen if s.startswith("DESCRIBE") and not s.endswith("-")), "-")
    extra = f", answered with {scheme}" if kind == "both" else ""
    return f"{said} in {time.monotonic() - started:.1f} s, peak memory +{grown:.0f} MiB{extra}"


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probes", type=int, default=200)
    args = parser.parse_args()
    if RTSPConnection is None:
        print("aiortsp is not importable: pip install --target DIR aiortsp, then AIORTSP_PATH=DIR")
        return 1
    probes = {"camwatch": camwatch_probe, "aiortsp": aiortsp_probe}
    server = start_gst_rtsp(("live", "secure"), user=USER, password=PASSWORD, auth="digest")
    try:
        print(f"CPU seconds per liveness probe (OPTIONS + DESCRIBE + SDP), {args.probes} probes each")
        for mount, login in (("live", False), ("secure", True)):
            cost = {}
            # GStreamer tears a shared mount down when its last client leaves: one held client keeps it up.
            held = media_held(
                server.url(mount), host=server.host, port=server.port, username=USER, password=PASSWORD
            )
            async with held:
                for name, probe in probes.items():
                    KEPT.challenges.clear()
                    cost[name] = await cpu_per_probe(probe, server.url(mount), login, args.probes)
            ratio = cost["aiortsp"] / cost["camwatch"]
            shown = ", ".join(f"{n} {c * 1000:.2f} ms" for n, c in cost.items())
            print(f"  {mount:<7} {shown}, aiortsp/camwatch {ratio:.2f}")
    finally:
        server.stop()
    print("hostile and real-camera input")
    for kind in ("endless", "gbk", "bare_lf", "both"):
        for name, probe in probes.items():
            print(f"  {kind:<8} {name:<9} {await outcome(probe, kind)}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
