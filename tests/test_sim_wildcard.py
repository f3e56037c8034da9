"""The wildcard fleet: one listener per port answers every camera address as that camera, inside a network
namespace of its own (``unshare --net``), asked over raw sockets."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from camwatch.sim.h264 import clip
from camwatch.sim.rtsp_server import RtspCamera
from camwatch.sim.wildcard import NotIsolated, WildcardRtspServer, loopback_only

CHECK = Path(__file__).parent / "support" / "wildcard_fleet_check.py"


@cache
def namespace_refused() -> str | None:
    """Why a network namespace cannot be made here, or None when it can."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "unshare or ip is not installed"
    try:
        probe = subprocess.run(
            ["unshare", "--net", "ip", "link", "set", "lo", "up"], capture_output=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unshare --net failed: {exc}"
    if probe.returncode != 0:
        return f"unshare --net is not permitted here: {probe.stderr.decode(errors='replace').strip()}"
    return None


def run_in_namespace() -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(CHECK.parent.parent), *sys.path])}
    script = 'ip link set lo up && exec "$0" "$1"'
    done = subprocess.run(
        ["unshare", "--net", "sh", "-c", script, sys.executable, str(CHECK)],
        capture_output=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-3000:]
    return json.loads(done.stdout)


def test_every_address_is_answered_by_its_own_camera() -> None:
    if (reason := namespace_refused()) is not None:
        pytest.skip(reason)
    answers = run_in_namespace()
    assert answers["listeners"] == 1
    basic = answers["basic"]
    assert basic["data"].startswith("RTSP/1.0 200 OK") and f"s={basic['id']}\r\n" in basic["data"]
    assert len(answers["basic_all"]) == 2
    for each in answers["basic_all"]:
        assert f"s={each['id']}\r\n" in each["data"]
    # Each camera keeps its own behaviour: a challenge, junk, a reset, nobody home.
    assert answers["healthy"]["data"].startswith("RTSP/1.0 401")
    assert 'Digest realm="camwatch-sim"' in answers["healthy"]["data"]
    garbage = answers["garbage"]
    assert garbage["data"] and "RTSP/1.0" not in garbage["data"]
    assert answers["resetting"]["reset"]
    assert answers["offline"] == {"id": answers["offline"]["id"], "reset": True, "data": ""}
    assert answers["outside"] == {"reset": True, "data": ""}
    assert answers["set_down"]["reset"]
    restored = answers["restored"]
    assert f"s={restored['id']}\r\n" in restored["data"]


async def test_the_wildcard_is_refused_outside_a_loopback_only_namespace() -> None:
    if loopback_only():
        pytest.skip("this process already sees loopback only")
    server = WildcardRtspServer()
    camera = RtspCamera(
        id="cam-1",
        address="127.77.0.1",
        port=18655,
        username="admin",
        password="x",
        clip=clip("live", width=160, height=96, fps=6, seconds=1),
    )
    with pytest.raises(NotIsolated, match="unshare --net"):
        await server.open(camera)
    assert not server.is_open("cam-1") and server.listeners == 0


def test_simulate_wildcard_outside_a_namespace_is_one_line_and_exit_1(tmp_path: Path) -> None:
    if loopback_only():
        pytest.skip("this process already sees loopback only")
    command = [sys.executable, "-m", "camwatch", "simulate", "--wildcard", "--no-onvif", "--count", "2"]
    done = subprocess.run(
        [*command, "--out", str(tmp_path / "sim")], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1
    assert "refusing to bind the wildcard address" in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
