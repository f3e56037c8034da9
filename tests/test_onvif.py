"""ONVIF probe against the ONVIF device simulator on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import random
import resource
import time
from dataclasses import replace
from typing import Any
from urllib.parse import quote

import aiohttp
import onvif.client
import pytest
import zeep.exceptions
from onvif import ONVIFCamera

from camwatch.config.models import OnvifSettings
from camwatch.monitor.probes import onvif as onvif_probe
from camwatch.monitor.probes.base import ProbeContext, ProbeResult
from camwatch.sim.onvif_device import FaultMode, OnvifDevice, serve_devices
from support.cameras import make_camera

PASSWORD = "0nvif-S3cret:pw@1"
DEVICE = OnvifDevice(
    username="operator",
    password=PASSWORD,
    rtsp_url="rtsp://127.0.0.1:8554/gate-7",
    manufacturer="Hik & Co",
    model="DS-2CD2T47",
    firmware="V5.7.3 build 220112",
    serial="DS-2CD2T47-20220112AAWRJ00001",
    hardware_id="88",
)
GET_SYSTEM_DATE_AND_TIME = (
    '<soap-env:Envelope xmlns:soap-env="http://www.w3.org/2003/05/soap-envelope"><soap-env:Body>'
    '<ns0:GetSystemDateAndTime xmlns:ns0="http://www.onvif.org/ver10/device/wsdl"/>'
    "</soap-env:Body></soap-env:Envelope>"
)


async def probe_device(
    device: OnvifDevice, *, password: str = PASSWORD, timeout: float = 5.0, skew: float = 10.0
) -> ProbeResult:
    """Serve ``device``, probe it once, and check the result never carries the password."""
    async with serve_devices([device]) as (served,):
        camera = make_camera(
            onvif_host=served.host, onvif_port=served.port, username=device.username, password=password
        )
        ctx = ProbeContext(settings=OnvifSettings(timeout=timeout, clock_skew_threshold=skew))
        result = await onvif_probe.probe(camera, ctx)
    assert PASSWORD not in repr(result)
    assert password not in repr(result)
    return result


async def test_skewed_camera_is_measured_and_described() -> None:
    result = await probe_device(replace(DEVICE, clock_offset=300.0, ptz=True))

    assert (result.status, result.success, result.error) == ("ok", True, None)
    assert abs(result.values["clock_offset_seconds"] - 300.0) <= 2.0
    assert result.faults == ("clock_skew",)
    assert result.details == {
        "manufacturer": "Hik & Co",
        "model": "DS-2CD2T47",
        "firmware": "V5.7.3 build 220112",
        "serial": "DS-2CD2T47-20220112AAWRJ00001",
        "hardware_id": "88",
        "stream_uri": "rtsp://127.0.0.1:8554/gate-7",
        "ptz": True,
    }


@pytest.mark.parametrize(("offset", "faults"), [(0.0, ()), (-8.0, ()), (-45.0, ("clock_skew",))])
async def test_clock_skew_fault_follows_threshold(offset: float, faults: tuple[str, ...]) -> None:
    result = await probe_device(replace(DEVICE, clock_offset=offset))

    assert result.status == "ok"
    assert abs(result.values["clock_offset_seconds"] - offset) <= 2.0
    assert result.faults == faults
    assert result.details["ptz"] is False


async def test_stream_uri_with_credentials_is_redacted() -> None:
    encoded = quote(PASSWORD, safe="")
    device = replace(DEVICE, rtsp_url=f"rtsp://operator:{encoded}@127.0.0.1:8554/gate-7")

    result = await probe_device(device)

    assert result.status == "ok"
    assert encoded not in repr(result)
    assert result.details["stream_uri"] == "rtsp://operator:***@127.0.0.1:8554/gate-7"


@pytest.mark.parametrize("auth_status", [400, 401])
async def test_wrong_password_is_auth_failed(auth_status: int) -> None:
    result = await probe_device(replace(DEVICE, auth_status=auth_status), password="not-the-password")

    assert (result.status, result.success) == ("auth_failed", False)
    assert "not authorized" in (result.error or "")
    # The unauthenticated clock query still tells whether skew could be the cause.
    assert abs(result.values["clock_offset_seconds"]) <= 2.0


async def test_device_checks_tokens_on_its_own_clock() -> None:
    """A client signing with its own clock is refused by a skewed device; the probe signs on the camera's."""
    async with serve_devices([replace(DEVICE, clock_offset=300.0)]) as (served,):
        camera = ONVIFCamera(served.host, served.port, DEVICE.username, PASSWORD, no_cache=True)
        try:
            devicemgmt = await camera.create_devicemgmt_service()
            with pytest.raises(zeep.exceptions.Fault) as refused:
                await devicemgmt.GetDeviceInformation()
        finally:
            await camera.close()
    assert [code.localname for code in refused.value.subcodes] == ["NotAuthorized"]


async def test_device_answers_standard_discovery() -> None:
    """GetServices discovery with the library's own clock adjustment, and PTZ nodes."""
    async with serve_devices([replace(DEVICE, clock_offset=-300.0, ptz=True)]) as (served,):
        camera = ONVIFCamera(
            served.host, served.port, DEVICE.username, PASSWORD, no_cache=True, adjust_time=True
        )
        try:
            await camera.update_xaddrs()
            ptz = await camera.create_ptz_service()
            nodes = await ptz.GetNodes()
        finally:
            await camera.close()
    base = f"http://{served.host}:{served.port}/onvif"
    assert camera.xaddrs == {
        "http://www.onvif.org/ver10/device/wsdl": f"{base}/device_service",
        "http://www.onvif.org/ver10/media/wsdl": f"{base}/media_service",
        "http://www.onvif.org/ver10/events/wsdl": f"{base}/event_service",
        "http://www.onvif.org/ver20/ptz/wsdl": f"{base}/ptz_service",
    }
    assert [node.token for node in nodes] == ["node_1"]


@pytest.mark.parametrize(
    ("fault", "reason"), [("malformed", "malformed reply"), ("http500", "not a SOAP fault")]
)
async def test_broken_reply_is_error(fault: FaultMode, reason: str) -> None:
    result = await probe_device(replace(DEVICE, fault=fault))

    assert (result.status, result.success) == ("error", False)
    assert (result.error or "").startswith("GetSystemDateAndTime: ")
    assert reason in (result.error or "")


@pytest.mark.parametrize(("fault", "payload"), [("xxe", "/etc/passwd"), ("billion_laughs", "&lol8;")])
async def test_entity_reply_is_refused_unexpanded(fault: FaultMode, payload: str) -> None:
    device = replace(DEVICE, fault=fault)
    async with (
        serve_devices([device]) as (served,),
        aiohttp.ClientSession() as http,
        http.post(
            f"http://{served.host}:{served.port}/onvif/device_service", data=GET_SYSTEM_DATE_AND_TIME
        ) as response,
    ):
        raw = await response.text()
    assert "<!DOCTYPE" in raw and payload in raw  # the device really sends the attack
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    result = await probe_device(device)

    assert (result.status, result.success) == ("error", False)
    assert "DTD" in (result.error or "")
    assert "root:" not in repr(result) and "lollol" not in repr(result)
    # 10**9 bytes of laughs would lift the peak by far more than this (ru_maxrss is in KiB).
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before < 100 * 1024


@pytest.mark.parametrize("fault", ["hang", "slow"])
async def test_unresponsive_camera_times_out_within_deadline(fault: FaultMode) -> None:
    started = time.monotonic()

    result = await probe_device(replace(DEVICE, fault=fault, slow_seconds=20.0), timeout=1.0)

    assert time.monotonic() - started <= 1.0 + 1.0
    assert (result.status, result.success) == ("timeout", False)
    assert result.error == "no answer to GetSystemDateAndTime within 1s"


async def test_refused_port_is_offline(closed_port: int) -> None:
    camera = make_camera(
        onvif_host="127.0.0.1", onvif_port=closed_port, username="operator", password=PASSWORD
    )

    result = await onvif_probe.probe(camera, ProbeContext(settings=OnvifSettings(timeout=2.0)))

    assert (result.status, result.success) == ("offline", False)
    assert result.error == "cannot connect: Connection refused"
    assert PASSWORD not in repr(result)


async def test_repeated_probes_reuse_parsed_wsdl(monkeypatch: pytest.MonkeyPatch) -> None:
    await probe_device(DEVICE)  # the first probe of the process may parse the WSDLs
    parses: list[object] = []
    real_load = onvif.client.original_load

    def counted_load(*args: Any, **kwargs: Any) -> None:
        parses.append(args)
        real_load(*args, **kwargs)

    monkeypatch.setattr(onvif.client, "original_load", counted_load)

    result = await probe_device(replace(DEVICE, ptz=True))

    assert result.status == "ok" and result.details["ptz"] is True
    assert parses == []


async def test_cancelled_probes_close_every_http_session() -> None:
    """A deadline can cancel a probe anywhere, even while the library creates a service: no session leaks."""
    loop = asyncio.get_running_loop()
    unclosed: list[str] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: unclosed.append(str(context.get("message"))))
    rng = random.Random(5)
    try:
        async with serve_devices([DEVICE]) as (served,):
            camera = make_camera(
                onvif_host=served.host, onvif_port=served.port, username=DEVICE.username, password=PASSWORD
            )
            ctx = ProbeContext(settings=OnvifSettings(timeout=5))
            assert (await onvif_probe.probe(camera, ctx)).status == "ok"
            for _ in range(150):
                task = asyncio.ensure_future(onvif_probe.probe(camera, ctx))
                await asyncio.sleep(rng.uniform(0.0, 0.02))
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        gc.collect()
        await asyncio.sleep(0.1)
        gc.collect()
    finally:
        loop.set_exception_handler(previous)
    assert [m for m in unclosed if "Unclosed" in m] == []
