"""The simulated fleet: RTSP answers and auth, each fault, group outages, real H.264, inventory and config."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
import yaml

from camwatch.config.errors import ConfigError
from camwatch.config.load import load_config
from camwatch.config.models import VideoSettings
from camwatch.monitor.picture.analysis import ALIVE_SHARE, sensor_alive
from camwatch.monitor.probes.base import ProbeContext
from camwatch.monitor.probes.rtsp import probe_url
from camwatch.monitor.probes.video import probe as video_probe
from camwatch.sim.fleet import Fleet
from camwatch.sim.h264 import clip
from camwatch.sim.profiles import FleetSpec, load_spec, plan
from support.cameras import make_camera

PASSWORD = "Sim-pw:1@x"
PORT = 18554
ONVIF_PORT = 18080
SPEC: dict[str, Any] = {
    "count": 50,
    "seed": 3,
    "rtsp_port": PORT,
    "onvif_port": ONVIF_PORT,
    "topology": {"site": 2, "switch": 8, "fibre": 16, "power": 8},
    "profiles": [
        {"name": "healthy"},
        {"name": "clock", "count": 2, "picture": "clock"},
        {"name": "frozen", "count": 2, "picture": "frozen"},
        {"name": "offline", "count": 2, "behaviour": "offline"},
        {"name": "hanging", "count": 2, "behaviour": "hanging"},
        {"name": "slow", "count": 2, "behaviour": "slow"},
        {"name": "resetting", "count": 2, "behaviour": "resetting"},
        {"name": "garbage", "count": 2, "behaviour": "garbage"},
        {"name": "oversized", "count": 2, "behaviour": "oversized"},
        {"name": "bad-password", "count": 2, "behaviour": "auth_failed"},
        {"name": "flapping", "count": 2, "behaviour": "flapping", "period": "1s"},
        {"name": "basic", "count": 2, "auth": "basic"},
        {"name": "wrong-clock", "count": 2, "clock_offset": "-1h"},
    ],
}


@pytest.fixture
async def fleet() -> AsyncIterator[Fleet]:
    async with Fleet(FleetSpec.model_validate(SPEC), password=PASSWORD, base_address="127.31.0.1") as running:
        yield running


def first(fleet: Fleet, profile: str) -> tuple[str, int]:
    cam = next(c for c in fleet.cameras if c.profile == profile)
    return cam.address, PORT


async def exchange(
    address: tuple[str, int], request: bytes, *, limit: int = 65536, wait: float = 2.0
) -> bytes:
    """Send one request and read until a blank line ends the header (or ``limit`` bytes, or EOF)."""
    reader, writer = await asyncio.open_connection(*address)
    try:
        writer.write(request)
        data = b""
        async with asyncio.timeout(wait):
            while b"\r\n\r\n" not in data and len(data) < limit:
                chunk = await reader.read(65536)
                if not chunk:
                    break
                data += chunk
        if data.startswith(b"RTSP/1.0 200") and (m := re.search(rb"Content-Length: (\d+)", data)):
            async with asyncio.timeout(wait):
                while len(data.partition(b"\r\n\r\n")[2]) < int(m[1]):
                    data += await reader.read(65536)
        return data
    finally:
        writer.close()


def request(method: str, url: str, cseq: int = 1, extra: str = "") -> bytes:
    return f"{method} {url} RTSP/1.0\r\nCSeq: {cseq}\r\n{extra}\r\n".encode()


def digest_header(challenge: bytes, method: str, url: str, user: str, password: str) -> str:
    realm = re.search(rb'realm="([^"]+)"', challenge)[1].decode()  # type: ignore[index]
    nonce = re.search(rb'nonce="([^"]+)"', challenge)[1].decode()  # type: ignore[index]

    def md5(s: str) -> str:
        return hashlib.md5(s.encode()).hexdigest()

    answer = md5(f"{md5(f'{user}:{realm}:{password}')}:{nonce}:{md5(f'{method}:{url}')}")
    return (
        f'Authorization: Digest username="{user}", realm="{realm}", nonce="{nonce}", '
        f'uri="{url}", response="{answer}"\r\n'
    )


async def test_options_and_describe_with_digest_auth(fleet: Fleet) -> None:
    cam = next(c for c in fleet.cameras if c.profile == "healthy")
    url = fleet.rtsp_url(cam.id)
    assert PASSWORD not in url and url.startswith(f"rtsp://{cam.address}:{PORT}/")

    options = await exchange((cam.address, PORT), request("OPTIONS", url, 7))
    assert options.startswith(b"RTSP/1.0 200 OK\r\n") and b"CSeq: 7\r\n" in options
    assert b"DESCRIBE" in options and b"SETUP" in options and b"PLAY" in options

    challenge = await exchange((cam.address, PORT), request("DESCRIBE", url, 2))
    assert challenge.startswith(b"RTSP/1.0 401") and b"WWW-Authenticate: Digest realm=" in challenge

    auth = digest_header(challenge, "DESCRIBE", url, "admin", PASSWORD)
    described = await exchange((cam.address, PORT), request("DESCRIBE", url, 3, auth))
    assert described.startswith(b"RTSP/1.0 200 OK\r\n") and b"Content-Type: application/sdp" in described
    sdp = described.partition(b"\r\n\r\n")[2].decode()
    assert "a=rtpmap:96 H264/90000" in sdp and "a=framesize:96 320-180" in sdp
    assert "sprop-parameter-sets=Z" in sdp and "packetization-mode=1" in sdp

    wrong = digest_header(challenge, "DESCRIBE", url, "admin", PASSWORD + "x")
    refused = await exchange((cam.address, PORT), request("DESCRIBE", url, 4, wrong))
    assert refused.startswith(b"RTSP/1.0 401")


async def test_basic_auth_camera_and_changed_password(fleet: Fleet) -> None:
    import base64

    basic = next(c for c in fleet.cameras if c.profile == "basic")
    url = fleet.rtsp_url(basic.id)
    challenge = await exchange((basic.address, PORT), request("DESCRIBE", url))
    assert b'WWW-Authenticate: Basic realm="' in challenge
    login = base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
    header = f"Authorization: Basic {login}\r\n"
    ok = await exchange((basic.address, PORT), request("DESCRIBE", url, 2, header))
    assert ok.startswith(b"RTSP/1.0 200")

    changed = next(c for c in fleet.cameras if c.profile == "bad-password")
    url = fleet.rtsp_url(changed.id)
    challenge = await exchange((changed.address, PORT), request("DESCRIBE", url))
    auth = digest_header(challenge, "DESCRIBE", url, "admin", PASSWORD)
    refused = await exchange((changed.address, PORT), request("DESCRIBE", url, 2, auth))
    assert refused.startswith(b"RTSP/1.0 401")


async def test_faults_behave_as_profiled(fleet: Fleet) -> None:
    options = request("OPTIONS", "rtsp://camera/stream1")

    with pytest.raises(ConnectionRefusedError):
        await exchange(first(fleet, "offline"), options)

    with pytest.raises(TimeoutError):
        await exchange(first(fleet, "hanging"), options, wait=1.5)

    with pytest.raises(ConnectionResetError):
        await exchange(first(fleet, "resetting"), options)

    junk = await exchange(first(fleet, "garbage"), options)
    assert junk and b"RTSP" not in junk and not junk.startswith(b"RTSP/")

    endless = await exchange(first(fleet, "oversized"), options, limit=2 * 1024 * 1024)
    assert endless.startswith(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\n") and b"\r\n\r\n" not in endless
    assert len(endless) >= 2 * 1024 * 1024

    reader, writer = await asyncio.open_connection(*first(fleet, "slow"))
    try:
        writer.write(options)
        dripped = b""
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(2.5):
                while chunk := await reader.read(100):
                    dripped += chunk
        assert b"RTSP/1.0 200".startswith(dripped) and 2 <= len(dripped) <= 4
    finally:
        writer.close()


async def listening(fleet: Fleet, ids: list[str]) -> dict[str, bool]:
    """Whether each camera accepts a TCP connection right now."""

    async def accepts(camera_id: str) -> bool:
        cam = next(c for c in fleet.cameras if c.id == camera_id)
        try:
            _, writer = await asyncio.open_connection(cam.address, PORT)
        except ConnectionRefusedError:
            return False
        writer.close()
        return True

    return dict(zip(ids, await asyncio.gather(*(accepts(i) for i in ids)), strict=True))


async def test_group_outage_closes_exactly_the_group_and_restore_reopens(fleet: Fleet) -> None:
    reachable = [c.id for c in fleet.cameras if c.profile in ("healthy", "clock", "frozen", "basic")]
    switch = next(c.switch for c in fleet.cameras if c.id == reachable[0])
    group = {c.id for c in fleet.cameras if c.switch == switch}
    assert 1 < len(group) <= 8

    taken = await fleet.set_down(switch=switch)
    assert set(taken) == group
    state = await listening(fleet, reachable)
    assert {i for i, up in state.items() if not up} == group & set(reachable)
    onvif_host = next(c.address for c in fleet.cameras if c.id in group)
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection(onvif_host, ONVIF_PORT)

    await fleet.restore(switch=switch)
    assert all((await listening(fleet, reachable)).values())


async def test_scheduled_outage_and_flapping() -> None:
    spec = FleetSpec.model_validate(
        SPEC
        | {"count": 32, "outages": [{"label": "fibre", "value": "fibre-002", "at": "0.4s", "duration": "1s"}]}
    )
    async with Fleet(spec, password=PASSWORD, base_address="127.31.1.1", onvif=False) as running:
        group = [c.id for c in running.cameras if c.fibre == "fibre-002" and c.behaviour != "offline"]
        flapping = [c.id for c in running.cameras if c.behaviour == "flapping"]
        seen: dict[str, set[bool]] = {i: set() for i in group + flapping}
        before = await listening(running, group)
        for _ in range(12):
            await asyncio.sleep(0.1)
            for camera_id, up in (await listening(running, group + flapping)).items():
                seen[camera_id].add(up)
        await asyncio.sleep(0.6)
        after = await listening(running, group)
    assert group and all(before.values()) and all(after.values())
    assert all(seen[i] == {False} or seen[i] == {True, False} for i in group)
    assert all(seen[i] == {True, False} for i in flapping)


def decode(url: str, frames: int) -> list[tuple[int, np.ndarray]]:
    """``frames`` decoded frames (pts, grey image) read over RTSP/TCP by FFmpeg."""
    out = []
    with av.open(url, options={"rtsp_transport": "tcp", "timeout": "5000000"}) as container:
        for frame in container.decode(video=0):
            if frame.pts is not None:
                out.append((frame.pts, frame.to_ndarray(format="gray")))
            if len(out) == frames:
                break
    return out


async def test_real_h264_decodes_and_pictures_differ_as_intended(fleet: Fleet) -> None:
    urls = {
        p: fleet.rtsp_url(next(c.id for c in fleet.cameras if c.profile == p), with_password=PASSWORD)
        for p in ("healthy", "frozen", "clock")
    }
    live, frozen, clock = await asyncio.gather(*(asyncio.to_thread(decode, u, 20) for u in urls.values()))

    assert live[0][1].shape == (180, 320)
    pts = [p for p, _ in live]
    assert all(b - a == 7500 for a, b in itertools.pairwise(pts))  # 90 kHz at 12 fps
    assert np.abs(live[-1][1].astype(int) - live[0][1]).mean() > 5

    assert all(np.array_equal(img, frozen[0][1]) for _, img in frozen)

    changed = np.abs(clock[-1][1].astype(int) - clock[0][1]) > 30
    assert 0 < changed.mean() < 0.05  # only the clock digits change
    rows, cols = np.nonzero(changed)
    assert rows.max() < 180 // 4 and cols.max() < 320 // 2
    # Under the clock, the static camera's sensor is alive from frame to frame; the frozen one's is not.
    assert sensor_alive(clock[2][1], clock[3][1]) >= ALIVE_SHARE
    assert sensor_alive(frozen[2][1], frozen[3][1]) == 0.0


def test_rtp_timestamps_keep_advancing_across_loops() -> None:
    loop = clip("live")
    n = len(loop.frames)
    stamps, seq = [], 65530
    for frame_number in range(n - 2, n + 3):
        data, seq = loop.interleaved(frame_number, seq=seq, ssrc=1)
        assert data[0:1] == b"$"
        stamps.append(int.from_bytes(data[8:12], "big"))
    assert stamps == [f * 7500 for f in range(n - 2, n + 3)]
    assert seq > 65536  # the caller wraps: the header carries seq & 0xFFFF


async def test_onvif_clock_offset(fleet: Fleet) -> None:
    import aiohttp

    cam = next(c for c in fleet.cameras if c.profile == "wrong-clock")
    body = (
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>'
        '<GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>'
    )
    async with aiohttp.ClientSession() as session:
        url = f"http://{cam.address}:{ONVIF_PORT}/onvif/device_service"
        async with session.post(url, data=body, timeout=aiohttp.ClientTimeout(total=5)) as resp:
            xml = await resp.text()
    hour = int(re.search(r"<tt:UTCDateTime><tt:Time><tt:Hour>(\d+)<", xml)[1])  # type: ignore[index]
    assert (time.gmtime().tm_hour - hour) % 24 in (1, 2)  # an hour behind (2 just across an hour change)


async def test_written_config_loads(fleet: Fleet, tmp_path: Path) -> None:
    config_path = fleet.write_config(tmp_path / "camwatch.yaml", state="state.db", monitor={"concurrency": 8})
    inventory = yaml.safe_load((tmp_path / "cameras.yaml").read_text())
    assert PASSWORD not in (tmp_path / "cameras.yaml").read_text() + config_path.read_text()
    assert len(inventory["cameras"]) == 50

    config = load_config(config_path, environ={"CAMWATCH_PASSWORD": PASSWORD})
    assert [c.id for c in config.cameras] == [c.id for c in fleet.cameras]
    assert config.monitor.concurrency == 8 and config.monitor.state == tmp_path / "state.db"
    sim, cam = fleet.cameras[9], config.cameras[9]
    assert cam.password is not None and cam.password.get_secret_value() == PASSWORD
    assert (cam.rtsp_url, cam.onvif_host, cam.onvif_port) == (fleet.rtsp_url(sim.id), sim.address, ONVIF_PORT)
    assert (cam.lat, cam.lon, cam.direction, cam.switch, cam.fibre) == (
        sim.lat,
        sim.lon,
        sim.direction,
        sim.switch,
        sim.fibre,
    )


def test_plan_topology_is_consistent() -> None:
    cameras = plan(FleetSpec.model_validate(SPEC), base_address="127.31.0.254")
    assert [c.address for c in cameras[:3]] == ["127.31.0.254", "127.31.1.1", "127.31.1.2"]
    by_switch: dict[str, set[str]] = {}
    for c in cameras:
        by_switch.setdefault(c.switch, set()).add(c.fibre)
    assert all(len(fibres) == 1 for fibres in by_switch.values())
    pole = [c for c in cameras if c.site == cameras[0].site]
    assert len(pole) == 2 and pole[0].lat == pole[1].lat and abs(pole[0].direction - pole[1].direction) == 180
    assert all(60.16 <= c.lat <= 60.18 and 24.93 <= c.lon <= 24.96 for c in cameras)
    assert sum(c.profile == "healthy" for c in cameras) == 50 - 24


def test_default_profile_and_bad_profiles(tmp_path: Path) -> None:
    spec = load_spec()
    assert spec.count >= 100 and spec.outages
    assert {p.behaviour for p in spec.profiles} >= {"offline", "flapping"}

    bad = tmp_path / "fleet.yaml"
    bad.write_text("count: 10\nprofiles:\n  - name: x\n    share: 0.1\n    colour: red\n")
    with pytest.raises(ConfigError) as err:
        load_spec(bad)
    assert err.value.problems[0].where == "line 5" and err.value.problems[0].field == "profiles.0.colour"

    bad.write_text("profiles:\n  - {name: x, share: 0.5, count: 3}\n")
    with pytest.raises(ConfigError, match="share or count, not both"):
        load_spec(bad)


async def test_a_profile_s_gb28181_nvrs_register_once_camwatch_listens_with_their_faults(
    tmp_path, monkeypatch
):
    """`camwatch simulate` with a ``gb28181:`` profile section: NVRs on their own loopback addresses start
    before camwatch, keep trying, and once the config it wrote is run, register (all but the one with a
    changed password), list their channels (some OFF), and a silenced one goes offline."""
    from camwatch.config.load import load_config
    from camwatch.monitor.gb28181.platform import Platform
    from camwatch.sim.fleet import PASSWORD_ENV, Fleet
    from camwatch.sim.profiles import FleetSpec
    from support.gst_rtsp import unused_port

    monkeypatch.setenv(PASSWORD_ENV, "sim-secret")
    port = unused_port()
    spec = FleetSpec.model_validate(
        {
            "count": 2,
            "onvif": False,
            "gb28181": {
                "port": port, "devices": 4, "channels": 6, "keepalive": "0.5s", "register_retry": "0.5s",
                "silent": 1, "silent_after": "4s", "wrong_password": 1, "channels_off": 0.2,
            },
        }
    )  # fmt: skip
    fleet = Fleet(spec, password="sim-secret", base_address="127.21.0.1")
    results: dict[str, bool] = {}
    async with fleet:
        config = load_config(
            fleet.write_config(tmp_path / "camwatch.yaml", listen=f"127.0.0.1:{unused_port()}")
        )
        assert config.gb28181 is not None and config.gb28181.listen == f"127.0.0.1:{port}"
        linked = {c.gb_id for c in config.cameras if c.gb_id}
        assert len(linked) == 24 and all(c.rtsp_url is None for c in config.cameras if c.gb_id)
        for device in fleet.gb_devices:
            device.answer_timeout = 0.2
        await asyncio.sleep(1.0)  # the NVRs try while nothing listens
        platform = Platform(
            config.gb28181,
            on_result=lambda gid, r, now: results.__setitem__(gid, r.success),
            known=linked.__contains__,
        )
        await platform.start()
        try:
            wrong, silent, *good = fleet.gb_devices
            deadline = asyncio.get_running_loop().time() + 10
            while not all(results.get(d.device_id) for d in [silent, *good]):
                assert asyncio.get_running_loop().time() < deadline, results
                await asyncio.sleep(0.1)
            assert wrong.device_id not in platform.devices and wrong.register_status == 403
            assert {d.address[0] for d in platform.devices.values()} == {
                "127.30.0.2",
                "127.30.0.3",
                "127.30.0.4",
            }
            off = [c for d in good for c, status in d.channels.items() if status == "OFF"]
            while not all(c in results for d in good for c in d.channels):
                assert asyncio.get_running_loop().time() < deadline, results
                await asyncio.sleep(0.1)
            assert off and all(results[c] is False for c in off)
            assert all(results[c] for d in good for c, status in d.channels.items() if status == "ON")
            # The silenced NVR: offline after keepalive x count once its link is cut (4 s in).
            while results.get(silent.device_id) is not False:
                assert asyncio.get_running_loop().time() < deadline + 5, results
                await asyncio.sleep(0.1)
            assert all(results[c] is False for c in silent.channels)
        finally:
            await platform.stop()


# A county seat in China: the bundled sample roads (Helsinki) are far away.
CHINA_BBOX = [34.225, 116.115, 34.250, 116.150]


def test_a_bbox_in_china_gets_the_street_grid_and_chinese_names() -> None:
    spec = FleetSpec.model_validate({**SPEC, "area": {"bbox": CHINA_BBOX, "county": "夏邑县", "lang": "zh"}})
    cameras = plan(spec)
    assert len(cameras) == 50
    south, west, north, east = CHINA_BBOX
    assert all(south <= c.lat <= north and west <= c.lon <= east for c in cameras)
    # On the grid: every pole lies on one of its east-west or north-south streets.
    for c in cameras:
        on_row = any(abs(c.lat - (south + (north - south) * i / 11)) < 1e-6 for i in range(12))
        on_column = any(abs(c.lon - (west + (east - west) * j / 12)) < 1e-6 for j in range(1, 13))
        assert on_row or on_column, (c.lat, c.lon)
    townships = {c.township for c in cameras}
    assert townships <= {"城关镇", "东城街道", "谢集镇", "太平镇"} and len(townships) == 4
    # Each village lies in one township, and each township has its police station.
    village_township = {(c.village, c.township) for c in cameras}
    assert len({v for v, _ in village_township}) == len(village_township)
    assert all(c.village.endswith(("村", "社区")) for c in cameras)
    assert {c.township: c.police_station for c in cameras} == {
        t: s for t, s in {("城关镇", "城关派出所"), ("东城街道", "东城派出所"), ("谢集镇", "谢集派出所"),
                          ("太平镇", "太平派出所")}}  # fmt: skip
    assert re.fullmatch(r"\w+村|\w+社区", cameras[0].village) and "号杆" in cameras[0].name


def test_a_road_layer_without_roads_in_the_bbox_is_a_clear_error(tmp_path: Path) -> None:
    from camwatch.sim.profiles import DEFAULT_PROFILE, _bundled_roads

    assert _bundled_roads() is not None and DEFAULT_PROFILE.is_file()
    profile = tmp_path / "china.yaml"
    profile.write_text(
        yaml.safe_dump({"count": 4, "area": {"bbox": CHINA_BBOX, "roads": str(_bundled_roads())}}),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as err:
        plan(load_spec(profile))
    (problem,) = err.value.problems
    assert problem.field == "area.roads" and "no roads inside the profile's bbox" in problem.reason


def _run_cli(args: list[str], *, seconds: float, out: Path) -> tuple[int, str]:
    """``camwatch ARGS`` until it exits or ``seconds`` pass (then Ctrl-C); its exit code and output."""
    import os
    import signal
    import subprocess
    import sys

    env = {**os.environ, "CAMWATCH_PASSWORD": PASSWORD}
    process = subprocess.Popen(
        [sys.executable, "-m", "camwatch", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=out,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    return process.returncode, output


def test_simulate_in_china_runs_from_the_base_address_given(tmp_path: Path) -> None:
    profile = tmp_path / "china.yaml"
    profile.write_text(
        yaml.safe_dump(
            {
                "count": 6,
                "rtsp_port": 28554,
                "onvif": False,
                "area": {"bbox": CHINA_BBOX, "county": "夏邑县"},
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    args = ["simulate", "--profile", str(profile), "--out", "sim", "--base-address", "127.43.0.1"]
    _, output = _run_cli(args, seconds=20, out=tmp_path)  # runs until Ctrl-C
    assert "Traceback" not in output, output
    assert "simulating 6 cameras on 127.43.0.1 .. 127.43.0.6" in output, output
    rows = yaml.safe_load((tmp_path / "sim" / "cameras.yaml").read_text(encoding="utf-8"))["cameras"]
    assert {r["county"] for r in rows} == {"夏邑县"} and rows[0]["rtsp_url"].startswith("rtsp://127.43.0.1:")
    assert all(34.225 <= r["lat"] <= 34.25 for r in rows)


def test_simulate_with_a_bad_profile_names_the_problem_without_a_traceback(tmp_path: Path) -> None:
    profile = tmp_path / "china.yaml"
    profile.write_text("area:\n  bbox: [34.25, 116.1, 34.2, 116.2]\n", encoding="utf-8")
    code, output = _run_cli(["simulate", "--profile", str(profile), "--out", "sim"], seconds=20, out=tmp_path)
    assert code == 1 and "Traceback" not in output and "bbox" in output, output


def test_the_chinese_demo_runs_in_china_with_chinese_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from support.gst_rtsp import unused_port

    args = ["demo", "--lang", "zh", "--count", "8", "--duration", "8", "--out", "demo"]
    # (the demo writes its own coverage report after 20 s; this test runs that report itself)
    args += ["--listen", f"127.0.0.1:{unused_port()}", "--base-address", "127.44.0.1"]
    code, output = _run_cli(args, seconds=60, out=tmp_path)
    assert code == 0 and "Traceback" not in output, output
    assert "模拟摄像机：8 台" in output and "按 Ctrl-C 退出" in output, output
    monkeypatch.setenv("CAMWATCH_PASSWORD", PASSWORD)
    config = load_config(tmp_path / "demo" / "camwatch.yaml")
    assert config.reports.lang == "zh" and config.reports.timezone == "Asia/Shanghai"
    simulated = [c for c in config.cameras if c.rtsp_url]
    assert len(simulated) == 8 and {c.county for c in simulated} == {"夏邑县"}
    assert all(c.police_station.endswith("派出所") and c.village.endswith(("村", "社区")) for c in simulated)
    assert all(34.225 <= (c.lat or 0) <= 34.25 for c in simulated)
    # Its coverage layers are Chinese (道路等级; 名称, 级别) and its townships contain their villages: the
    # report, in Chinese, warns of no camera standing outside its ledger township.
    from camwatch.coverage.command import run_coverage

    summary = run_coverage(config, tmp_path / "coverage", lang="zh")
    assert {"key_road", "main_street"} <= set(summary["categories"])
    areas = {(a["level"], a["area"]) for a in summary["areas"]}
    villages = {(c.township, c.village) for c in simulated}
    assert {("village", f"夏邑县/{t}/{v}") for t, v in villages} <= areas
    report = (tmp_path / "coverage" / "report.md").read_text(encoding="utf-8")
    assert report.startswith("# 视频监控覆盖分析报告") and "不一致" not in report


async def test_online_camera_without_picture_is_no_video() -> None:
    """The simulator's "online, no picture" camera answers OPTIONS/DESCRIBE (up) and PLAY, then sends
    nothing: the video check finds no_video over TCP, and UDP is refused (the simulator serves TCP only)."""
    spec = {
        "count": 2,
        "seed": 3,
        "rtsp_port": 18574,
        "onvif": False,
        "profiles": [{"name": "healthy"}, {"name": "no-picture", "count": 1, "behaviour": "no_video"}],
    }
    async with Fleet(FleetSpec.model_validate(spec), password=PASSWORD, base_address="127.31.9.1") as fleet:
        cam = next(c for c in fleet.cameras if c.profile == "no-picture")
        url = fleet.rtsp_url(cam.id, with_password=PASSWORD)
        live = await probe_url(url, timeout=5.0)
        ctx = ProbeContext(settings=VideoSettings(rtp_wait=1.0, timeout=6.0))
        result = await video_probe(make_camera(id=cam.id, rtsp_url=url), ctx)
    assert live.status == "ok"
    assert result.status == "no_video"
    assert result.error == "no RTP in 1 s over TCP; SETUP refused (461) over UDP"
