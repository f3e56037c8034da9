"""A simulated fleet's RTSP side from one listening socket per port, for fleets of 10^4–10^5 cameras.

A socket bound to the wildcard address accepts connections for every 127.x.y.z; ``getsockname()`` on the
accepted connection tells which camera was asked, and the camera's own behaviour (``ok``, ``hanging``,
``garbage``, ...) takes the connection over. So 100,000 cameras cost a dictionary entry each, not a
listening socket and an ``asyncio.Server`` each.

The wildcard would also reach the host's own interfaces, so it is bound only where loopback is the only
interface: inside a network namespace (``unshare --net``, then ``ip link set lo up``), as
``benchmarks/bench_service.py`` creates. Elsewhere :class:`WildcardRtspServer` refuses to start.

What differs from one listener per camera: a camera that is down has no listener of its own to close, so its
connections are reset at once (the client sees "connection reset" rather than "connection refused"; both
are an offline camera to the probe).
"""

from __future__ import annotations

import asyncio
import socket
import struct
from functools import partial
from typing import cast

from camwatch.sim.rtsp_server import RtspCamera, RtspFleetServer, listening_socket, protocol_for

WILDCARD = "0.0.0.0"
# Connections a wildcard port may have waiting to be accepted: a whole fleet's probes arrive on it.
BACKLOG = 4096


class NotIsolated(RuntimeError):
    """This process sees network interfaces other than loopback: the wildcard would reach them."""


def interfaces() -> list[str]:
    """Names of the network interfaces this process sees (its network namespace's)."""
    return [name for _, name in socket.if_nameindex()]


def loopback_only() -> bool:
    """Whether loopback is the only interface here, so that the wildcard address reaches loopback only."""
    return interfaces() == ["lo"]


def check_isolated() -> None:
    """Raise :class:`NotIsolated` unless loopback is this network namespace's only interface."""
    seen = interfaces()
    if seen != ["lo"]:
        raise NotIsolated(
            f"refusing to bind the wildcard address: this network namespace has interfaces {seen}, not "
            "loopback alone; run the fleet inside `unshare --net` with `ip link set lo up`, or without "
            "the wildcard (one listener per camera)"
        )


class _Dispatch(asyncio.Protocol):
    """The first protocol of every accepted connection: hands it to the asked camera's own protocol."""

    def __init__(self, server: WildcardRtspServer):
        self.server = server

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        sockname = transport.get_extra_info("sockname")
        camera = self.server.camera_at(sockname[0], sockname[1]) if sockname else None
        if camera is None:
            # Nobody listens there (an address outside the fleet, or a camera that is down): reset.
            sock = transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            cast(asyncio.Transport, transport).abort()
            return
        protocol = protocol_for(self.server, camera)
        transport.set_protocol(protocol)
        protocol.connection_made(transport)


class WildcardRtspServer(RtspFleetServer):
    """:class:`RtspFleetServer` with one wildcard listener per port; opening a camera is a dict entry."""

    def __init__(self) -> None:
        super().__init__()
        self._cameras: dict[tuple[str, int], RtspCamera] = {}
        self._ids: dict[str, tuple[str, int]] = {}
        self._ports: dict[int, asyncio.Server] = {}

    def camera_at(self, address: str, port: int) -> RtspCamera | None:
        """The open camera listening at ``address:port``, if any."""
        return self._cameras.get((address, port))

    async def open(self, camera: RtspCamera) -> None:
        if camera.id in self._ids:
            return
        if camera.port not in self._ports:
            check_isolated()
            sock = listening_socket(WILDCARD, camera.port, backlog=BACKLOG)
            loop = asyncio.get_running_loop()
            self._ports[camera.port] = await loop.create_server(partial(_Dispatch, self), sock=sock)
        key = (camera.address, camera.port)
        self._cameras[key] = camera
        self._ids[camera.id] = key

    def close(self, camera_id: str) -> None:
        key = self._ids.pop(camera_id, None)
        if key is not None:
            del self._cameras[key]
        for conn in list(self.connections.pop(camera_id, ())):
            conn.abort()

    def is_open(self, camera_id: str) -> bool:
        return camera_id in self._ids

    @property
    def listeners(self) -> int:
        """Listening sockets held (one per port)."""
        return len(self._ports)

    async def close_all(self) -> None:
        for camera_id in list(self._ids) + list(self.connections):
            self.close(camera_id)
        servers = list(self._ports.values())
        self._ports.clear()
        for server in servers:
            server.close()
        for server in servers:
            await server.wait_closed()
