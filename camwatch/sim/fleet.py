"""Run a simulated camera fleet on loopback (RTSP and ONVIF per camera) and write its inventory."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import random
import secrets
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from camwatch.sim.gb28181_device import DEMO_DOMAIN, DEMO_PLATFORM_ID, SimGbDevice, channel_ids
from camwatch.sim.h264 import clip
from camwatch.sim.onvif_device import SNAPSHOT_PATHS, OnvifDevice, make_runner
from camwatch.sim.onvif_events import PROPERTIES, EventBoard
from camwatch.sim.profiles import FleetSpec, SimCamera, load_spec, outage_groups, plan
from camwatch.sim.recorders import SimRecorders
from camwatch.sim.rtsp_server import RtspCamera, RtspFleetServer, listening_socket, raise_fd_limit
from camwatch.sim.wildcard import WildcardRtspServer

PASSWORD_ENV = "CAMWATCH_PASSWORD"
# File descriptors kept free for client connections, the event loop and files.
_FD_MARGIN = 1000
_RTSP_BEHAVIOUR = {"auth_failed": "ok", "offline": "ok", "flapping": "ok"}


class Fleet:
    """A planned fleet served from this process's event loop.

    A camera listens while nothing holds it down; reasons it is down: its profile (``offline``), flapping,
    a scheduled group outage, or :meth:`set_down`. Closing a camera closes its RTSP and ONVIF listeners and
    drops its open connections, so clients see a refused connection, as with a dead device.
    """

    def __init__(
        self,
        spec: FleetSpec,
        *,
        password: str,
        count: int | None = None,
        base_address: str = "127.20.0.1",
        onvif: bool | None = None,
        wildcard: bool = False,
    ):
        self.spec = spec
        self.cameras = plan(spec, count=count, base_address=base_address)
        self.onvif = spec.onvif if onvif is None else onvif
        self._by_id = {c.id: c for c in self.cameras}
        # wildcard: RTSP from one listener per port (only inside a loopback-only network namespace).
        self.wildcard = wildcard
        self._rtsp = WildcardRtspServer() if wildcard else RtspFleetServer()
        self._rtsp_cameras = {c.id: self._rtsp_camera(c, password) for c in self.cameras}
        self._devices = (
            {(c.address, spec.onvif_port): self._onvif_device(c, password) for c in self.cameras}
            if self.onvif
            else {}
        )
        self._runner: web.AppRunner | None = None
        self._sites: dict[str, web.SockSite] = {}
        self._down: dict[str, set[str]] = {
            c.id: {"offline"} if c.behaviour == "offline" else set() for c in self.cameras
        }
        self._timers: list[asyncio.TimerHandle] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.gb_devices = self._gb_devices(password)
        self._gb_tasks: dict[str, asyncio.Task[None]] = {}
        self.recorders = (
            SimRecorders(spec.recorders, self.cameras, username=spec.username, password=password)
            if spec.recorders is not None
            else None
        )

    def _gb_devices(self, password: str) -> list[SimGbDevice]:
        """The profile's GB/T 28181 NVRs: the first ``wrong_password`` with a changed password, the next
        ``silent`` to fall silent; channels listed OFF spread over all (seeded)."""
        gb = self.spec.gb28181
        if gb is None:
            return []
        rng = random.Random(self.spec.seed)
        base = ipaddress.IPv4Address(gb.base_address)
        devices = []
        for n in range(gb.devices):
            device_id = f"{DEMO_DOMAIN}118{n + 1:07d}"
            channels = {
                c: "OFF" if rng.random() < gb.channels_off else "ON"
                for c in channel_ids(device_id, gb.channels)
            }
            devices.append(
                SimGbDevice(
                    device_id,
                    ("127.0.0.1", gb.port),
                    DEMO_PLATFORM_ID,
                    DEMO_DOMAIN,
                    password=password + "-changed" if n < gb.wrong_password else password,
                    channels=channels,
                    keepalive_interval=gb.keepalive,
                    name=f"NVR{n + 1:03d}-",
                    local_host=str(base + n),
                )
            )
        return devices

    def _rtsp_camera(self, cam: SimCamera, password: str) -> RtspCamera:
        video = self.spec.video
        return RtspCamera(
            id=cam.id,
            address=cam.address,
            port=self.spec.rtsp_port,
            username=self.spec.username,
            password=_expected_password(cam, password),
            clip=clip(
                cam.picture, width=video.width, height=video.height, fps=video.fps, seconds=video.seconds
            ),
            behaviour=_RTSP_BEHAVIOUR.get(cam.behaviour, cam.behaviour),
            auth="basic" if cam.auth == "basic" else "digest",
        )

    def _onvif_device(self, cam: SimCamera, password: str) -> OnvifDevice:
        return OnvifDevice(
            host=cam.address,
            port=self.spec.onvif_port,
            username=self.spec.username,
            password=_expected_password(cam, password),
            rtsp_url=self.rtsp_url(cam.id),
            clock_offset=cam.clock_offset,
            manufacturer=cam.vendor,
            model=cam.model,
            serial=cam.id.upper(),
            hardware_id=cam.model,
            ptz=cam.hfov >= 110,
            fault=cam.onvif_fault,  # type: ignore[arg-type]
            picture=cam.picture,
            snapshot_auth="basic" if cam.auth == "basic" else "digest",
            events=EventBoard(
                state={**dict.fromkeys(PROPERTIES, False), **dict.fromkeys(cam.camera_events, True)}
            ),
        )

    def events(self, camera_id: str) -> EventBoard | None:
        """The event service of a camera's ONVIF device (None without ONVIF): to raise or clear conditions."""
        cam = self._by_id[camera_id]
        device = self._devices.get((cam.address, self.spec.onvif_port))
        return device.events if device is not None else None

    # -- lifecycle
    async def start(self) -> None:
        """Open every camera that is not down, and schedule flapping and group outages from now."""
        limit = raise_fd_limit()
        per_camera = (0 if self.wildcard else 1) + (1 if self.onvif else 0)
        needed = len(self.cameras) * per_camera + _FD_MARGIN
        if needed > limit:
            raise RuntimeError(
                f"{len(self.cameras)} cameras need about {needed} open files but the limit is {limit}; "
                "raise `ulimit -n`, use fewer cameras, or run without ONVIF (onvif: false)"
            )
        if self.onvif:
            self._runner = make_runner(lambda host, port: self._devices.get((host, port)))
            await self._runner.setup()
        for cam in self.cameras:
            await self._apply(cam.id)
        loop = asyncio.get_running_loop()
        rng = random.Random(self.spec.seed)
        for cam in self.cameras:
            if cam.behaviour == "flapping":
                # Staggered phases: flapping cameras must not look like one cluster going down together.
                self._timers.append(loop.call_later(rng.uniform(0, cam.period), self._flap, cam.id))
        await self._start_gb28181()
        if self.recorders is not None:
            await self.recorders.start()
        for outage, value in outage_groups(self.spec, self.cameras):
            reason = f"outage:{outage.label}={value}"
            ids = [c.id for c in self.cameras if c.label(outage.label) == value]
            self._timers.append(loop.call_later(outage.at, self._spawn_hold, ids, reason, True))
            end = outage.at + outage.duration
            self._timers.append(loop.call_later(end, self._spawn_hold, ids, reason, False))

    async def _start_gb28181(self) -> None:
        gb = self.spec.gb28181
        if gb is None:
            return
        for device in self.gb_devices:
            await device.start(register=False)
            self._gb_tasks[device.device_id] = asyncio.create_task(
                device.stay_registered(retry=gb.register_retry)
            )
        silent = self.gb_devices[gb.wrong_password : gb.wrong_password + gb.silent]
        loop = asyncio.get_running_loop()
        self._timers += [loop.call_later(gb.silent_after, self._silence, d) for d in silent]

    def _silence(self, device: SimGbDevice) -> None:
        """The device's link is cut: no keepalive, no registration."""
        device.keepalives = False
        task = self._gb_tasks.pop(device.device_id, None)
        if task is not None:
            task.cancel()

    async def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        for task in self._gb_tasks.values():
            task.cancel()
        await asyncio.gather(*self._gb_tasks.values(), return_exceptions=True)
        self._gb_tasks.clear()
        for device in self.gb_devices:
            await device.stop()
        if self.recorders is not None:
            await self.recorders.stop()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._rtsp.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._sites.clear()

    async def __aenter__(self) -> Fleet:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- run-time control
    async def set_down(self, cameras: Iterable[str] = (), **labels: str) -> list[str]:
        """Take cameras down: by id, or every camera whose label matches (``switch="switch-003"``)."""
        ids = self.select(cameras, **labels)
        await self._hold(ids, "manual", True)
        return ids

    async def restore(self, cameras: Iterable[str] = (), **labels: str) -> list[str]:
        """Undo :meth:`set_down` for these cameras (other reasons to be down stay)."""
        ids = self.select(cameras, **labels)
        await self._hold(ids, "manual", False)
        return ids

    def select(self, cameras: Iterable[str] = (), **labels: str) -> list[str]:
        ids = list(cameras)
        unknown = [i for i in ids if i not in self._by_id]
        if unknown:
            raise KeyError(f"unknown camera(s): {', '.join(unknown[:5])}")
        for name, value in labels.items():
            if name not in ("site", "switch", "fibre", "power", "township", "village", "profile"):
                raise ValueError(f"cannot select cameras by {name!r}")
            ids += [c.id for c in self.cameras if getattr(c, name) == value]
        return list(dict.fromkeys(ids))

    def is_up(self, camera_id: str) -> bool:
        return self._rtsp.is_open(camera_id)

    def snapshot_url(self, cam: SimCamera) -> str:
        """The camera's snapshot URL as the inventory gives it (its ONVIF device serves the picture)."""
        if cam.snapshot == "onvif":
            return "onvif"
        path = SNAPSHOT_PATHS[0] if cam.snapshot == "isapi" else SNAPSHOT_PATHS[1]
        return f"http://{cam.address}:{self.spec.onvif_port}{path}"

    def rtsp_url(self, camera_id: str, *, with_password: str | None = None) -> str:
        """The camera's stream URL; ``with_password`` puts a login in it (for tests and tools only)."""
        url = self._rtsp_cameras[camera_id].url
        if with_password is None:
            return url
        from urllib.parse import quote

        login = f"{quote(self.spec.username, safe='')}:{quote(with_password, safe='')}@"
        return url.replace("rtsp://", "rtsp://" + login, 1)

    async def _hold(self, ids: Iterable[str], reason: str, down: bool) -> None:
        for camera_id in ids:
            reasons = self._down[camera_id]
            if down:
                reasons.add(reason)
            else:
                reasons.discard(reason)
            await self._apply(camera_id)

    async def _apply(self, camera_id: str) -> None:
        """Open or close the camera's listeners to match its down reasons."""
        cam = self._by_id[camera_id]
        up = not self._down[camera_id]
        if up and not self._rtsp.is_open(camera_id):
            await self._rtsp.open(self._rtsp_cameras[camera_id])
            if self._runner is not None:
                onvif_site = web.SockSite(self._runner, listening_socket(cam.address, self.spec.onvif_port))
                await onvif_site.start()
                self._sites[camera_id] = onvif_site
        elif not up and self._rtsp.is_open(camera_id):
            self._rtsp.close(camera_id)
            if camera_id in self._sites:
                await self._sites.pop(camera_id).stop()

    def _flap(self, camera_id: str) -> None:
        reasons = self._down[camera_id]
        self._spawn_hold([camera_id], "flapping", "flapping" not in reasons)
        self._timers.append(
            asyncio.get_running_loop().call_later(self._by_id[camera_id].period, self._flap, camera_id)
        )

    def _spawn_hold(self, ids: list[str], reason: str, down: bool) -> None:
        """:meth:`_hold` from a timer callback (the task is kept so that :meth:`stop` can cancel it)."""
        task = asyncio.get_running_loop().create_task(self._hold(ids, reason, down))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- files
    def inventory(self) -> list[dict[str, Any]]:
        """Camera records with the inventory field names; a login is referenced, never written."""
        records = []
        for cam in self.cameras:
            record: dict[str, Any] = {"id": cam.id, "name": cam.name, "rtsp_url": self.rtsp_url(cam.id)}
            if self.onvif:
                record |= {"onvif_host": cam.address, "onvif_port": self.spec.onvif_port}
                if cam.snapshot is not None:
                    record["snapshot_url"] = self.snapshot_url(cam)
            record |= {"username": self.spec.username, "password_env": PASSWORD_ENV}
            for name in ("lat", "lon", "direction", "hfov", "range", "county", "township", "village"):
                record[name] = getattr(cam, name)
            for name in ("site", "switch", "fibre", "power", "vendor", "model"):
                record[name] = getattr(cam, name)
            if cam.police_station:
                record["police_station"] = cam.police_station
            if self.recorders is not None:
                record |= self.recorders.ledger(cam.id)
            records.append(record)
        return records

    def write_inventory(self, path: Path) -> Path:
        """Write the camera inventory YAML (``cameras:`` list)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = self.inventory() + self.gb_inventory()
        # libyaml's dumper where present: a 100,000-camera inventory takes minutes in pure Python.
        dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
        path.write_text(yaml.dump({"cameras": rows}, Dumper=dumper, sort_keys=False, allow_unicode=True))
        return path

    def gb_inventory(self) -> list[dict[str, Any]]:
        """Ledger rows linking every GB/T 28181 channel by ``gb_id`` (no stream address: watched through
        GB/T 28181 alone), in the fleet's county."""
        county = self.spec.area.county
        return [
            {
                "id": f"gb-{cid}",
                "name": f"{device.name}{n}",
                "gb_id": cid,
                "county": county,
                "township": "国标镇",
            }
            for device in self.gb_devices
            for n, cid in enumerate(device.channels, 1)
        ]

    def write_config(
        self,
        path: Path,
        *,
        inventory: Path | None = None,
        listen: str = "127.0.0.1:9640",
        state: str | Path = "camwatch.db",
        monitor: Mapping[str, Any] | None = None,
        coverage: Mapping[str, Any] | None = None,
    ) -> Path:
        """Write a camwatch config for this fleet (and its inventory, next to it unless given).

        ``monitor`` entries are merged over ``{listen, state}``; ``coverage`` is written as given.
        """
        path = Path(path)
        inventory = self.write_inventory(inventory or path.with_name("cameras.yaml"))
        try:
            cameras = str(inventory.absolute().relative_to(path.absolute().parent))
        except ValueError:
            cameras = str(inventory.absolute())
        config: dict[str, Any] = {
            "cameras": cameras,
            "credentials": {"default": {"username": self.spec.username, "password_env": PASSWORD_ENV}},
            "monitor": {"listen": listen, "state": str(state), **(monitor or {})},
        }
        if coverage:
            config["coverage"] = dict(coverage)
        if self.recorders is not None:
            config["recorders"] = self.recorders.config(PASSWORD_ENV)
        gb = self.spec.gb28181
        if gb is not None:
            config["gb28181"] = {
                "listen": f"127.0.0.1:{gb.port}",
                "id": DEMO_PLATFORM_ID,
                "domain": DEMO_DOMAIN,
                "password_env": PASSWORD_ENV,
                "keepalive": {"interval": f"{gb.keepalive:g}s", "count": 3},
            }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path


def _expected_password(cam: SimCamera, password: str) -> str:
    """The password the camera accepts: the fleet's, except where someone "changed" it (``auth_failed``)."""
    return password + "-changed" if cam.behaviour == "auth_failed" else password


def fleet_password(out_dir: Path) -> tuple[str, str]:
    """The fleet password from ``$CAMWATCH_PASSWORD``, or a new one exported there and saved (mode 0600)
    under ``out_dir``; returns it and a line saying where it comes from (never the password itself)."""
    password = os.environ.get(PASSWORD_ENV)
    if password:
        return password, f"password: from ${PASSWORD_ENV}"
    password = secrets.token_urlsafe(12)
    os.environ[PASSWORD_ENV] = password
    out_dir.mkdir(parents=True, exist_ok=True)
    secret = out_dir / "password"
    secret.touch(mode=0o600)
    secret.chmod(0o600)
    secret.write_text(password + "\n")
    return password, f"password: generated, in {secret} (export {PASSWORD_ENV}=$(cat {secret}))"


async def run_fleet(
    profile: Path | None = None,
    *,
    count: int | None = None,
    base_address: str = "127.20.0.1",
    out_dir: Path = Path("camwatch-sim"),
    onvif: bool | None = None,
    wildcard: bool = False,
) -> None:
    """``camwatch simulate``: serve a fleet until cancelled; writes ``cameras.yaml`` and ``camwatch.yaml``
    under ``out_dir`` and prints where they are."""
    spec = load_spec(profile)
    out_dir = Path(out_dir)
    password, origin = fleet_password(out_dir)
    fleet = Fleet(
        spec, password=password, count=count, base_address=base_address, onvif=onvif, wildcard=wildcard
    )
    async with fleet:
        config = fleet.write_config(out_dir / "camwatch.yaml", state=out_dir.absolute() / "camwatch.db")
        first, last = fleet.cameras[0].address, fleet.cameras[-1].address
        ports = f"RTSP :{spec.rtsp_port}" + (" on the wildcard address" if wildcard else "")
        ports += f", ONVIF :{spec.onvif_port}" if fleet.onvif else ""
        print(f"simulating {len(fleet.cameras)} cameras on {first} .. {last} ({ports})")
        print(f"inventory: {out_dir / 'cameras.yaml'}")
        print(f"config: {config}")
        if spec.gb28181 is not None:
            gb = spec.gb28181
            print(
                f"GB/T 28181: {gb.devices} devices x {gb.channels} channels register at 127.0.0.1:{gb.port} "
                f"once camwatch runs this config ({gb.wrong_password} with a wrong password, {gb.silent} "
                f"falling silent {gb.silent_after:g} s in)"
            )
        print(origin, flush=True)
        await asyncio.Event().wait()
