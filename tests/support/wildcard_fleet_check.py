"""Run inside a fresh network namespace (loopback up): a wildcard fleet, asked over raw sockets.

Prints one JSON object: what each asked address answered. ``tests/test_sim_wildcard.py`` runs it under
``unshare --net`` and judges the answers.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import sys
from typing import Any

from camwatch.sim.fleet import Fleet
from camwatch.sim.profiles import FleetSpec

PASSWORD = "Wild-pw:1@x"
PORT = 18654
SPEC: dict[str, Any] = {
    "count": 8,
    "seed": 4,
    "rtsp_port": PORT,
    "onvif": False,
    "video": {"width": 160, "height": 96, "fps": 6, "seconds": 1},
    "topology": {"site": 1, "switch": 8, "fibre": 8, "power": 8},
    "profiles": [
        {"name": "healthy"},
        {"name": "basic", "count": 2, "auth": "basic"},
        {"name": "garbage", "count": 1, "behaviour": "garbage"},
        {"name": "resetting", "count": 1, "behaviour": "resetting"},
        {"name": "offline", "count": 1, "behaviour": "offline"},
    ],
}


def ask(address: str, request: bytes) -> dict[str, Any]:
    """Send ``request`` to ``address:PORT`` and read what comes back (2 s, 64 KiB at most)."""
    with socket.create_connection((address, PORT), timeout=2.0) as sock:
        try:
            sock.sendall(request)
            data = b""
            while len(data) < 65536:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
                if b"\r\n\r\n" in data and b"Content-Length" not in data:
                    break
                if b"v=0" in data and data.rstrip().endswith(b"trackID=0"):
                    break
        except ConnectionResetError:
            return {"reset": True, "data": ""}
        except TimeoutError:
            pass
    return {"reset": False, "data": data.decode("latin-1")}


def describe(url: str, *, login: bool) -> bytes:
    auth = ""
    if login:
        token = base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
        auth = f"Authorization: Basic {token}\r\n"
    return f"DESCRIBE {url} RTSP/1.0\r\nCSeq: 2\r\n{auth}Accept: application/sdp\r\n\r\n".encode()


async def main() -> dict[str, Any]:
    fleet = Fleet(FleetSpec.model_validate(SPEC), password=PASSWORD, base_address="127.77.0.1", wildcard=True)
    async with fleet:
        by_profile = {c.profile: c for c in fleet.cameras}
        basic = by_profile["basic"]
        answers: dict[str, Any] = {"listeners": fleet._rtsp.listeners}  # type: ignore[attr-defined]
        for profile, cam in sorted(by_profile.items()):
            request = describe(fleet.rtsp_url(cam.id), login=profile == "basic")
            answers[profile] = {"id": cam.id, **await asyncio.to_thread(ask, cam.address, request)}
        # Every basic camera names itself: the address asked picks the camera.
        answers["basic_all"] = []
        for c in fleet.cameras:
            if c.profile == "basic":
                request = describe(fleet.rtsp_url(c.id), login=True)
                answers["basic_all"].append({"id": c.id, **await asyncio.to_thread(ask, c.address, request)})
        options = b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n"
        answers["outside"] = await asyncio.to_thread(ask, "127.77.9.9", options)
        await fleet.set_down([basic.id])
        answers["set_down"] = await asyncio.to_thread(ask, basic.address, describe(basic.id, login=True))
        await fleet.restore([basic.id])
        request = describe(fleet.rtsp_url(basic.id), login=True)
        answers["restored"] = {"id": basic.id, **await asyncio.to_thread(ask, basic.address, request)}
    return answers


if __name__ == "__main__":
    json.dump(asyncio.run(main()), sys.stdout)
