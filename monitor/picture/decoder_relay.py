"""A loopback RTSP relay between the video decoder (FFmpeg) and one camera, holding the login for it.

FFmpeg follows an RTSP redirect by itself, to any host, and carries its login state along: a camera could
send the decoder, and the password, anywhere. So the decoder gets neither the login nor the camera's
address. It opens ``rtsp://127.0.0.1:PORT/PATH`` on this relay, which

* forwards each request to the camera, the loopback origin replaced by the camera's;
* answers authentication challenges itself, on this one connection (Digest preferred, Basic only once the
  camera asked for it here), so the login reaches the camera and nothing else;
* ends the session on any 3xx, recording where it pointed (``redirect``), and follows none;
* passes interleaved RTP/RTCP frames through untouched, and bounds every head and body it parses;
* with ``transport="udp"``, asks the camera for RTP over UDP instead (the decoder still gets interleaved
  frames): it rewrites each SETUP's ``Transport``, receives on a port pair from ``udp_ports`` and passes on
  only the camera's own packets (``camwatch.monitor.rtp_udp``);
* asks a request the camera answered 503 (busy: at its connection cap) once more after a short pause, where
  ``deadline`` leaves room (``rtsp_proto.may_ask_again``); a second 503 goes to the decoder;
* notes what the camera refused (``refused``, ``transport_refused``) and whether RTP came at all within
  ``rtp_wait`` seconds of PLAY (``no_rtp``): the video check tells a camera without a picture from one whose
  picture is judged.

One decoder connection per relay: the listener closes once it is taken.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import unquote, urlsplit

from camwatch.monitor import rtp_udp
from camwatch.monitor.rtsp_proto import (
    BUSY_PAUSE,
    DEFAULT_PORT,
    MAX_BODY_BYTES,
    MAX_HEADER_BYTES,
    Challenge,
    RtspProtocolError,
    _header_end,
    basic_authorization,
    choose_challenge,
    digest_authorization,
    digest_is_stale,
    may_ask_again,
    parse_challenges,
    parse_head,
    redirect_message,
)

LOOPBACK = "127.0.0.1"
_READ = 256 * 1024
_MAX_REQUEST_LINES = 64
_FRAME = 0x24  # "$": an interleaved RTP/RTCP frame, 4-byte header then data
_MAX_TRACKS = 4  # SETUPs (each a UDP port pair) one session may make
# Bytes of frames waiting for a slow decoder beyond which UDP packets are dropped, not buffered.
_MAX_BACKLOG = 8 * 1024 * 1024
# A SETUP refusal that says the transport is the problem (RFC 2326 461, or words to that effect).
_TRANSPORT_REFUSED = 461


@dataclass(slots=True)
class _Sent:
    """A decoder request as forwarded, kept until its answer, to resend it with a login after a 401."""

    cseq: str  # the decoder's own CSeq, restored in the answer
    method: str
    uri: str
    headers: list[tuple[str, str]]
    body: bytes
    with_login: bool = False
    stale_answered: bool = False  # a ``stale=true`` 401 was answered once for this request
    track: rtp_udp.UdpTrack | None = None  # the UDP port pair its SETUP asked the camera to send to


class DecoderRelay:
    """Relay one decoder session to the camera at ``url`` (userinfo ignored), answering challenges with
    ``username``/``password``. Use as ``async with``; ``url`` then is what to hand the decoder."""

    def __init__(
        self,
        camera_url: str,
        username: str | None,
        password: str | None,
        *,
        transport: str = "tcp",
        udp_ports: rtp_udp.UdpPorts | None = None,
        rtp_wait: float | None = None,
        deadline: float | None = None,
    ) -> None:
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
        self.transport = transport
        self._udp_ports = udp_ports or rtp_udp.ports(None)
        self._rtp_wait = rtp_wait
        self._deadline = deadline  # time.monotonic() by which the decoder gives up; None: no 503 retry
        self._busy_retried = False
        self._tracks: dict[int, rtp_udp.UdpTrack] = {}  # by interleaved RTP channel
        self._camera_ip = ""
        self._local_ip = LOOPBACK
        self._rtp_timer: asyncio.TimerHandle | None = None
        self.counts = rtp_udp.Counts()  # RTP packets from the camera, over either transport
        self.dropped = 0  # bytes of UDP packets dropped because the decoder fell behind
        self.refused: str | None = None  # "SETUP refused (454)", "PLAY refused (403)"
        self.transport_refused: str | None = None  # the camera refused this transport: "SETUP refused (461)"
        self.no_rtp = False  # PLAY was answered and no RTP came within ``rtp_wait``
        self.played_at: float | None = None  # loop time PLAY was answered
        self.exhausted: str | None = None  # no UDP port pair free: camwatch's side

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
        if self._rtp_timer is not None:
            self._rtp_timer.cancel()
        for track in self._tracks.values():
            track.close()
        self._tracks.clear()

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
            self._camera_ip = str(camera_w.get_extra_info("peername")[0])
            self._local_ip = str(camera_w.get_extra_info("sockname")[0])
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
                    if self.transport == "udp":
                        if (track := self._tracks.get(buf[1] - 1)) is not None:
                            track.send_rtcp(bytes(buf[4:size]))
                    else:
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
                sent = _Sent(cseq, method, self._to_camera(uri), kept, body)
                if method == "SETUP" and self.transport == "udp":
                    self._ask_udp(sent)
                out += self._send(sent)
            if camera.is_closing():  # see _responses
                return
            if out:
                camera.write(out)
                await camera.drain()

    def _ask_udp(self, sent: _Sent) -> None:
        """Turn the decoder's interleaved SETUP into one for RTP over UDP to a port pair of ours."""
        if len(self._tracks) >= _MAX_TRACKS:
            raise RtspProtocolError("too many SETUPs in one session")
        asked = next((v for k, v in sent.headers if k.lower() == "transport"), "")
        channel = rtp_udp.interleaved_channel(asked)
        try:
            pair = self._udp_ports.acquire(self._local_ip)
        except rtp_udp.PortsExhausted as exc:
            self.exhausted = str(exc)
            raise RtspProtocolError(self.exhausted) from None
        track = rtp_udp.UdpTrack(self._udp_ports, pair, channel, self._camera_ip, self._deliver, self.counts)
        if (earlier := self._tracks.pop(channel, None)) is not None:
            earlier.close()  # the same channel set up again: its first port pair goes back
        self._tracks[channel] = track
        sent.track = track
        sent.headers = [(k, v) for k, v in sent.headers if k.lower() != "transport"]
        sent.headers.append(("Transport", rtp_udp.udp_request(track.client_port)))

    def _deliver(self, frames: bytearray) -> None:
        """A camera's UDP packets, as interleaved frames, to the decoder in one write (dropped while it lags
        behind: counted in ``dropped``, in bytes)."""
        if not self._writers or self._writers[0].is_closing():
            return
        decoder = self._writers[0]
        if decoder.transport.get_write_buffer_size() > _MAX_BACKLOG:
            self.dropped += len(frames)
            return
        decoder.write(frames)

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
                    if buf[1] % 2 == 0:  # RTP channels are even (RTCP the odd one above)
                        self.counts.rtp += 1
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
                if sent is not None and self._busy(status, camera, camera_w):
                    await asyncio.sleep(BUSY_PAUSE)
                    if not (camera.at_eof() or camera_w.is_closing()):  # else the decoder gets the 503
                        retry += self._send(sent)
                        continue
                if sent is not None:
                    headers = await self._note(sent, status, reason, headers)
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

    async def _note(
        self, sent: _Sent, status: int, reason: str, headers: tuple[tuple[str, str], ...]
    ) -> tuple[tuple[str, str], ...]:
        """Note what a SETUP or PLAY answer means for the picture; a UDP SETUP's answer starts receiving
        and is rewritten into the interleaved one the decoder asked for. A login refused here is the
        decoder's to report (``auth_failed``), not a missing picture."""
        if status in (401, 407):
            return headers
        if sent.method == "SETUP" and status >= 400:
            refusal = f"SETUP refused ({status})"
            if status == _TRANSPORT_REFUSED or "transport" in reason.lower():
                self.transport_refused = refusal
            else:
                self.refused = refusal
        elif sent.method == "PLAY" and status >= 400:
            self.refused = f"PLAY refused ({status})"
        elif sent.method == "SETUP" and status == 200 and sent.track is not None:
            given = next((v for k, v in headers if k == "transport"), "")
            answer = rtp_udp.parse_udp_answer(given)
            await sent.track.start(answer)
            rewritten = rtp_udp.interleaved_answer(sent.track.channel, answer)
            headers = tuple((k, rewritten if k == "transport" else v) for k, v in headers)
        elif sent.method == "PLAY" and status == 200 and self.played_at is None:
            loop = asyncio.get_running_loop()
            self.played_at = loop.time()
            if self._rtp_wait is not None:
                self._rtp_timer = loop.call_later(self._rtp_wait, self._rtp_due)
        return headers

    def _busy(self, status: int, camera: asyncio.StreamReader, camera_w: asyncio.StreamWriter) -> bool:
        """Whether a 503 is to be asked again (once a session, where the deadline leaves room)."""
        if self._busy_retried or self._deadline is None or camera.at_eof() or camera_w.is_closing():
            return False
        if not may_ask_again(status, self._deadline - time.monotonic()):
            return False
        self._busy_retried = True
        return True

    def _rtp_due(self) -> None:
        if self.counts.rtp == 0:
            self.no_rtp = True
            self._end()

    def _take_challenge(self, headers: tuple[tuple[str, str], ...], sent: _Sent) -> bool:
        """Whether a 401 is to be answered (again) by the relay, having taken its challenge."""
        if self._username is None:
            return False
        chosen = choose_challenge(parse_challenges(v for k, v in headers if k == "www-authenticate"))
        stale = chosen is not None and chosen.scheme == "digest" and digest_is_stale(chosen)
        if chosen is None or (sent.with_login and (not stale or sent.stale_answered)):
            # Nothing we can answer, the login itself was refused, or a stale nonce came back twice for the
            # same request (a camera that never takes an answer): the decoder gets the 401.
            return False
        sent.stale_answered = sent.with_login
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
