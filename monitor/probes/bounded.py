"""Replies read from a camera with a size cap, as sent and once decompressed (a gzip bomb stops there)."""

from __future__ import annotations

import zlib
from typing import Any

import aiohttp


class ReplyRefused(ValueError):
    """A reply the probe will not read to the end: too large, or in an encoding it did not ask for."""


# Content-Encoding -> zlib window bits. Replies are asked for uncompressed, but a camera may compress anyway.
_DECODABLE = {"gzip": 31, "x-gzip": 31, "deflate": 15}
_CHUNK = 64 * 1024


def _size(count: int) -> str:
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count % scale == 0:
            return f"{count // scale} {unit}"
    return f"{count} bytes"


class BoundedReply:
    """An aiohttp reply whose ``read`` takes at most ``limit`` bytes off the wire and yields at most ``limit``
    decompressed bytes; anything beyond raises ``ReplyRefused`` and drops the connection."""

    def __init__(self, response: aiohttp.ClientResponse, limit: int) -> None:
        self._response = response
        self._limit = limit

    def __getattr__(self, name: str) -> Any:
        return getattr(self._response, name)

    async def read(self) -> bytes:
        try:
            body = await self._read()
        except BaseException:
            self._response.close()
            raise
        self._response.release()
        return body

    async def _read(self) -> bytes:
        limit, response = self._limit, self._response
        too_large = ReplyRefused(f"reply larger than {_size(limit)}")
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower() or "identity"
        if encoding != "identity" and encoding not in _DECODABLE:
            raise ReplyRefused(f"reply in an encoding that was not asked for ({encoding[:20]})")
        if (response.content_length or 0) > limit:
            raise too_large
        inflate = zlib.decompressobj(_DECODABLE[encoding]) if encoding in _DECODABLE else None
        body = bytearray()
        received = 0
        try:
            async for chunk in response.content.iter_chunked(_CHUNK):
                received += len(chunk)
                if received > limit:
                    raise too_large
                if inflate is None:
                    body += chunk
                    continue
                body += inflate.decompress(chunk, limit + 1 - len(body))
                if len(body) > limit or inflate.unconsumed_tail:
                    raise too_large
            if inflate is not None:
                body += inflate.flush(limit + 1 - len(body))
                if len(body) > limit:
                    raise too_large
        except zlib.error as exc:
            raise ReplyRefused(f"reply is not valid {encoding}") from exc
        return bytes(body)
