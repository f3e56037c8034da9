"""A loopback relay in front of an RTSP server that records every request it passes on, and a client that
keeps a GStreamer mount's shared media prepared."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from camwatch.monitor.rtsp_proto import (
    ResponseParser,
    RtspResponse,
    basic_authorization,
    choose_challenge,
    describe_request,
    digest_authorization,
    parse_challenges,
)

LOOPBACK = "127.0.0.1"


@dataclass
class Relay:
    """Where the relay listens, and each request seen as ``(method, scheme of its Authorization or None)``."""

    port: int
    requests: list[tuple[str, str | None]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"rtsp://{LOOPBACK}:{self.port}/{path.lstrip('/')}"

    def take(self) -> list[tuple[str, str | None]]:
        """The requests recorded since the last call."""
        taken, self.requests[:] = list(self.requests), []
        return taken


def _record(head: bytes, into: list[tuple[str, str | None]]) -> None:
    lines = head.decode("latin-1").split("\r\n")
    scheme = next(
        (line.split(":", 1)[1].split()[0] for line in lines[1:] if line.lower().startswith("authorization:")),
        None,
    )
    into.append((lines[0].split(" ", 1)[0], scheme))


@contextlib.asynccontextmanager
async def recording_relay(host: str, port: int) -> AsyncIterator[Relay]:
    """Relay each loopback connection to ``host:port``, recording the client's requests (bodiless, as the
    RTSP probe sends them). Every connection and the listener close when the context ends."""
    relay = Relay(0)
    pumps: set[asyncio.Task[None]] = set()

    async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, record: bool) -> None:
        pending = b""
        try:
            while data := await reader.read(65536):
                if record:
                    pending += data
                    while b"\r\n\r\n" in pending:
                        head, _, pending = pending.partition(b"\r\n\r\n")
                        _record(head, relay.requests)
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def connect(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection(host, port)
        for task in (
            asyncio.create_task(pump(client_reader, server_writer, record=True)),
            asyncio.create_task(pump(server_reader, client_writer, record=False)),
        ):
            pumps.add(task)
            task.add_done_callback(pumps.discard)

    listener = await asyncio.start_server(connect, LOOPBACK, 0)
    relay.port = listener.sockets[0].getsockname()[1]
    try:
        yield relay
    finally:
        listener.close()
        for task in list(pumps):
            task.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)
        await listener.wait_closed()


@contextlib.asynccontextmanager
async def media_held(
    url: str, *, host: str, port: int, username: str = "", password: str = ""
) -> AsyncIterator[None]:
    """Keep one DESCRIBE connection to ``url`` (answering one challenge with the login) open.

    GStreamer tears a shared mount's media down when its last client leaves; a DESCRIBE arriving meanwhile
    gets 503. Holding one client keeps the media prepared, so back-to-back probes see the camera itself.
    """
    reader, writer = await asyncio.open_connection(host, port)
    parser = ResponseParser()

    async def describe(cseq: int, authorization: str | None) -> RtspResponse:
        writer.write(describe_request(url, cseq, authorization=authorization))
        async with asyncio.timeout(10):
            while (response := parser.feed(await reader.read(65536))) is None:
                pass
        return response

    try:
        response = await describe(1, None)
        if response.status == 401:
            challenge = choose_challenge(parse_challenges(response.header_values("www-authenticate")))
            assert challenge is not None
            if challenge.scheme == "basic":
                answer = basic_authorization(username, password)
            else:
                answer = digest_authorization(
                    challenge, username=username, password=password, method="DESCRIBE", uri=url
                )
            response = await describe(2, answer)
        assert response.status == 200
        yield
    finally:
        writer.close()
