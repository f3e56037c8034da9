"""A loopback RTSP relay between the video decoder (FFmpeg) and one camera, holding the login for it.

FFmpeg follows an RTSP redirect by itself, to any host, and carries its login state along: a camera could
send the decoder, and the password, anywhere. So the decoder gets neither the login nor the camera's
address. It opens ``rtsp://127.0.0.1:PORT/PATH`` on this relay, which

* forwards each request to the camera, the loopback origin replaced by the camera's;
* answers authentication challenges itself, on this one connection (Digest preferred, Basic only once the
  camera asked for it here), so the login reaches the camera and nothing else;
* ends the session on any 3xx, recording where it pointed (``redirect``), and follows none;
* passes interleaved RTP/RTCP frames through untouched, and bounds every head and body it parses.

One decoder connection per relay: the listener closes once it is taken.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import unquote, urlsplit

from camwatch.monitor.probes.rtsp import DEFAULT_PORT
from camwatch.monitor.rtsp_proto import (
    MAX_BODY_BYTES,
    MAX_HEADER_BYTES,
    Challenge,
    RtspProtocolError,
    _header_end,
    basic_authorization,
    choose_challenge,
    digest_authorization,
    digest_is_stale,
    parse_challenges,
    parse_head,
    redirect_message,
)

LOOPBACK = "127.0.0.1"
_READ = 256 * 1024
_MAX_REQUEST_LINES = 64
_FRAME = 0x24  # "$": an interleaved RTP/RTCP frame, 4-byte header then data


@dataclass(slots=True)
class _Sent:
    """A decoder request as forwarded, kept until its answer, to resend it with a login after a 401."""

    cseq: str  # the decoder's own CSeq, restored in the answer
    method: str
    uri: str
    headers: list[tuple[str, str]]
    body: bytes
    with_login: bool = False


class DecoderRelay:
    """Relay one decoder session to the camera at ``url`` (userinfo ignored), answering challenges with
    ``username``/``password``. Use as ``async with``; ``url`` then is what to hand the decoder."""

    def __init__(self, camera_url: str, username: str | None, password: str | None) -> None:
        parts = urlsplit(camera_url)
        if not parts.hostname:
            raise ValueError("expected rtsp://HOST[:PORT]/PATH")
        self._host = parts.hostname
        self._port = parts.port or DEFAULT_PORT
        self._origin = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
        self._rest = camera_url[len(f"{parts.scheme}://{parts.netloc}") :]
        if username is None and parts.username is not None:  # a login written into the URL
            username, password = unquote(parts.username), unquote(parts.password or "")
        self._username = username
        self._password = password or ""
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: list[asyncio.StreamWriter] = []
        self._local = ""
        self._challenge: Challenge | None = None
        self._nc = 0
        self._next_cseq = 0
        self._pending: dict[str, _Sent] = {}
        self.redirect: str | None = None  # why the session ended on a 3xx, naming its target host
        self.unreachable: OSError | None = None  # why the camera could not be reached

    @property
    def url(self) -> str:
        return self._local + self._rest

    def as_camera(self, text: str) -> str:
        """``text`` (a decoder error) naming the camera's URL, without userinfo, instead of the relay's."""
        return text.replace(self.url, self._origin + self._rest) if self._local else text

    async def __aenter__(self) -> DecoderRelay:
        self._server = await asyncio.start_server(self._accept, LOOPBACK, 0)
        self._local = f"rtsp://{LOOPBACK}:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._end()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def _end(self) -> None:
        """Close the listener and both connections (the decoder then fails its read at once)."""
        if self._server is not None:
            self._server.close()
        for writer in self._writers:
            writer.transport.abort()

    async def _accept(self, decoder_r: asyncio.StreamReader, decoder_w: asyncio.StreamWriter) -> None:
        if self._writers:  # taken already: nobody else may borrow the login
            decoder_w.transport.abort()
            return
        self._writers.append(decoder_w)
        assert self._server is not None
        self._server.close()
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            try:
                camera_r, camera_w = await asyncio.open_connection(self._host, self._port)
            except OSError as exc:
                self.unreachable = exc
                raise
            self._writers.append(camera_w)
            upstream = asyncio.ensure_future(self._requests(decoder_r, camera_w))
            self._tasks.add(upstream)
            upstream.add_done_callback(lambda _: self._end())  # the decoder left, or sent junk
            try:
                await self._responses(camera_r, decoder_w, camera_w)
            finally:
                upstream.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await upstream
        except (OSError, RtspProtocolError, asyncio.IncompleteReadError):
            pass  # the decoder sees the connection close and reports it
        except asyncio.CancelledError:
            # The relay closing: end quietly, as asyncio logs a server handler that ends cancelled.
            pass
        finally:
            self._end()

    # -- decoder -> camera ----------------------------------------------------------------------------

    async def _requests(self, decoder: asyncio.StreamReader, camera: asyncio.StreamWriter) -> None:
        buf = bytearray()
        while data := await decoder.read(_READ):
            buf += data
            out = bytearray()
            while buf:
                if buf[0] == _FRAME:  # RTCP receiver reports
                    if not (size := _frame_size(buf)) or len(buf) < size:
                        break
                    out += buf[:size]
                    del buf[:size]
                    continue
                end, body_start = _header_end(buf, 0)
                if end == -1:
                    if len(buf) > MAX_HEADER_BYTES:
                        raise RtspProtocolError("decoder request head too large")
                    break
                method, uri, headers = _parse_request(buf[:end].decode("latin-1"))
                length = _content_length(headers)
                if len(buf) < body_start + length:
                    break
                body = bytes(buf[body_start : body_start + length])
                del buf[: body_start + length]
                cseq = next((v for k, v in headers if k.lower() == "cseq"), "0")
                kept = [(k, v) for k, v in headers if k.lower() not in ("cseq", "authorization")]
                out += self._send(_Sent(cseq, method, self._to_camera(uri), kept, body))
            if camera.is_closing():  # see _responses
                return
            if out:
                camera.write(out)
                await camera.drain()

    def _to_camera(self, uri: str) -> str:
        return self._origin + uri[len(self._local) :] if uri.startswith(self._local) else uri

    def _send(self, sent: _Sent) -> bytes:
        self._next_cseq += 1
        cseq = str(self._next_cseq)
        self._pending[cseq] = sent
        lines = [f"{sent.method} {sent.uri} RTSP/1.0", f"CSeq: {cseq}"]
        lines += [f"{k}: {v}" for k, v in sent.headers]
        if self._challenge is not None and self._username is not None:
            sent.with_login = True
            lines.append(f"Authorization: {self._authorization(sent)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + sent.body

    def _authorization(self, sent: _Sent) -> str:
        assert self._challenge is not None and self._username is not None
        if self._challenge.scheme == "basic":
            return basic_authorization(self._username, self._password)
        self._nc += 1
        return digest_authorization(
            self._challenge,
            username=self._username,
            password=self._password,
            method=sent.method,
            uri=sent.uri,
            nc=self._nc,
        )

    # -- camera -> decoder ----------------------------------------------------------------------------

    async def _responses(
        self, camera: asyncio.StreamReader, decoder: asyncio.StreamWriter, camera_w: asyncio.StreamWriter
    ) -> None:
        buf = bytearray()
        while data := await camera.read(_READ):
            buf += data
            out, retry = bytearray(), bytearray()
            while buf:
                if buf[0] == _FRAME:
                    if not (size := _frame_size(buf)) or len(buf) < size:
                        break
                    out += buf[:size]
                    del buf[:size]
                    continue
                if buf[0] in b"\r\n":  # stray line ends between messages
                    del buf[:1]
                    continue
                end, body_start = _header_end(buf, 0)
                if end == -1:
                    if len(buf) > MAX_HEADER_BYTES:
                        raise RtspProtocolError("camera response head too large")
                    break
                status, reason, headers = parse_head(buf[:end].decode("latin-1"))
                length = _content_length(headers)
                if len(buf) < body_start + length:
                    break
                body = bytes(buf[body_start : body_start + length])
                del buf[: body_start + length]
                sent = self._pending.pop(next((v.strip() for k, v in headers if k == "cseq"), ""), None)
                if 300 <= status < 400:
                    location = next((v for k, v in headers if k == "location"), None)
                    self.redirect = redirect_message(status, location)
                    return
                if status == 401 and sent is not None and self._take_challenge(headers, sent):
                    retry += self._send(sent)
                    continue
                out += _response(status, reason, headers, body, sent.cseq if sent is not None else None)
            # Either side may have closed meanwhile (the decoder left, the relay is ending): on uvloop a
            # write to a closed connection raises, and nothing more is to be passed on anyway.
            if decoder.is_closing() or camera_w.is_closing():
                return
            if retry:
                camera_w.write(retry)
            if out:
                decoder.write(out)
                await decoder.drain()

    def _take_challenge(self, headers: tuple[tuple[str, str], ...], sent: _Sent) -> bool:
        """Whether a 401 is to be answered (again) by the relay, having taken its challenge."""
        if self._username is None:
            return False
        chosen = choose_challenge(parse_challenges(v for k, v in headers if k == "www-authenticate"))
        stale = chosen is not None and chosen.scheme == "digest" and digest_is_stale(chosen)
        if chosen is None or (sent.with_login and not stale):
            return False  # nothing we can answer, or the login itself was refused: the decoder gets the 401
        self._challenge, self._nc = chosen, 0
        return True


def _frame_size(buf: bytearray) -> int:
    """Size of the interleaved frame at the start of ``buf`` (0 until its header is in)."""
    return 4 + int.from_bytes(buf[2:4], "big") if len(buf) >= 4 else 0


def _parse_request(block: str) -> tuple[str, str, list[tuple[str, str]]]:
    lines = block.replace("\r", "").split("\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("RTSP/") or len(lines) > _MAX_REQUEST_LINES:
        raise RtspProtocolError("malformed decoder request")
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            raise RtspProtocolError("malformed decoder request header")
        headers.append((name.strip(), value.strip()))
    return parts[0], parts[1], headers


def _content_length(headers: list[tuple[str, str]] | tuple[tuple[str, str], ...]) -> int:
    value = next((v for k, v in headers if k.lower() == "content-length"), "0").strip()
    if not (value.isascii() and value.isdigit()) or int(value) > MAX_BODY_BYTES:
        raise RtspProtocolError("invalid or too large Content-Length")
    return int(value)


def _response(
    status: int, reason: str, headers: tuple[tuple[str, str], ...], body: bytes, cseq: str | None
) -> bytes:
    lines = [f"RTSP/1.0 {status} {reason}".rstrip()]
    lines += [f"{k}: {cseq if k == 'cseq' and cseq is not None else v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
