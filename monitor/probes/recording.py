"""Recording probe (录像完整性): is the camera's footage there, and for how long — as its recorder says.

A GB/T 28181 camera with no ``recorder`` is asked through the platform (``recording_gb``). Otherwise
the camera's ``recorder`` (``recorders:``, kind ``isapi`` or ``onvif``) is asked for its clock, its disks and
the channel's footage: ISAPI the last 24 h page by page and the oldest footage it keeps (one result); ONVIF
Profile G (``profile_g``) the recording's track range and its data-present history of the last 24 h.
``monitor.footage.judge`` turns that into values and faults, against the recorder's clock. An answer that
cannot be read whole is the status ``incomplete`` with no footage verdict (a cut-short answer is never a
gap); a failed disk (or a full one that does not overwrite) is the fault ``storage_fault`` whatever the
footage says. Disks are reported in ``details`` for the per-recorder metrics.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any, cast
from zoneinfo import ZoneInfo

import aiohttp

from camwatch.config.models import Camera, RecordingSettings
from camwatch.config.recorders import ONVIF, Recorder
from camwatch.config.redact import scrub
from camwatch.monitor import footage
from camwatch.monitor.probes import isapi, profile_g
from camwatch.monitor.probes.base import (
    ERROR,
    INCOMPLETE,
    OFFLINE,
    OK,
    SKIPPED,
    TIMEOUT,
    ProbeContext,
    ProbeResult,
)
from camwatch.monitor.probes.bounded import ReplyRefused

NAME = "recording"
STORAGE_FAULT = "storage_fault"


def _disk_details(recorder: Recorder, found: list[isapi.Disk] | list[profile_g.Storage]) -> dict[str, Any]:
    return {
        "recorder": recorder.id,
        "disks": [
            {
                "disk": d.name,
                "status": d.status,
                "ok": d.ok,
                "capacity_bytes": getattr(d, "capacity_bytes", None),
                "free_bytes": getattr(d, "free_bytes", None),
            }
            for d in found
        ],
    }


async def _ask_isapi(
    camera: Camera, recorder: Recorder, settings: RecordingSettings
) -> tuple[list[isapi.Disk], footage.Verdict | str]:
    """The recorder's disks, and the channel's footage verdict or why it is incomplete."""
    zone = ZoneInfo(recorder.timezone)
    password = recorder.password.get_secret_value() if recorder.password else ""
    host = f"[{recorder.host}]" if ":" in recorder.host else recorder.host
    connector = aiohttp.TCPConnector(limit=1)
    async with aiohttp.ClientSession(connector=connector) as session:
        client = isapi.Client(
            session, f"http://{host}:{recorder.port}", recorder.username, password, settings.max_reply_bytes
        )
        now = await isapi.clock(client, zone)
        try:
            disks = await isapi.disks(client)
            if any(d.full for d in disks):
                disks = await isapi.with_overwrite(client, disks)
        except isapi.Incomplete as exc:
            return [], str(exc)
        channel = int(camera.recorder_channel or "0")
        items, pages = settings.max_items, settings.max_pages
        target = settings.retention.target(camera)
        since = now - isapi.lookback(target).total_seconds()
        try:
            recent = await isapi.search(
                client, channel, now - footage.DAY, now, zone, max_items=items, max_pages=pages
            )
            first = await isapi.search(
                client, channel, since, now, zone, max_items=items, max_pages=pages, first_only=True
            )
        except isapi.Incomplete as exc:
            return disks, f"footage search: {exc}"
    oldest = min((s for s, _ in first), default=None)
    verdict = footage.judge(
        recent,
        now=now,
        gap=settings.gap,
        stopped_after=settings.stopped_after,
        retention=target,
        oldest=oldest,
    )
    return disks, verdict


async def _ask_onvif(
    camera: Camera, recorder: Recorder, settings: RecordingSettings
) -> tuple[list[profile_g.Storage], footage.Verdict | str, dict[str, Any]]:
    """The recorder's storage, the recording's footage verdict or why it is incomplete, and what was seen."""
    zone = ZoneInfo(recorder.timezone)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        client = onvif_client(session, recorder, settings)
        now = await profile_g.connect(client)
        storage: list[profile_g.Storage] = []
        try:
            storage = await profile_g.storage(client)
            token = await recording_token(client, camera, settings)
            found = await profile_g.footage(
                client,
                token,
                now - footage.DAY,
                now,
                zone,
                max_items=settings.max_items,
                max_pages=settings.max_pages,
            )
        except profile_g.Incomplete as exc:
            return storage, str(exc), {}
        except profile_g.NotSupported as exc:
            raise profile_g.OnvifFailed(ERROR, str(exc)) from None
    seen = {"recording_token": token, "gaps_from": found.source}
    verdict = footage.judge(
        found.ranges,
        now=now,
        gap=settings.gap,
        stopped_after=settings.stopped_after,
        retention=settings.retention.target(camera),
        oldest=found.oldest,
    )
    return storage, verdict, seen


def onvif_client(
    session: aiohttp.ClientSession, recorder: Recorder, settings: RecordingSettings
) -> profile_g.Client:
    """A Profile G client for ``recorder``: its own host only, the reply bound of ``settings``."""
    password = recorder.password.get_secret_value() if recorder.password else ""
    return profile_g.Client(
        session, recorder.host, recorder.port, recorder.username, password, settings.max_reply_bytes
    )


async def recording_token(client: profile_g.Client, camera: Camera, settings: RecordingSettings) -> str:
    """The camera's recording: the ledger's ``recorder_channel``, or the device's only recording (a camera
    that is its own recorder)."""
    if camera.recorder_channel:
        return camera.recorder_channel
    summary = await profile_g.summary(
        client, ZoneInfo(camera.recorder.timezone if camera.recorder else "UTC")
    )
    tokens = await profile_g.recordings(client, settings.max_items)
    if len(tokens) != 1:
        count = int(summary.get("NumberRecordings", len(tokens)))
        reason = f"the recorder holds {count} recordings; name one in the ledger's recorder_channel"
        raise profile_g.OnvifFailed(ERROR, reason)
    return tokens[0]


def _status_of(exc: BaseException) -> tuple[str, str]:
    match exc:
        case isapi.IsapiFailed() | profile_g.OnvifFailed():
            return exc.status, exc.reason
        case ReplyRefused():
            return INCOMPLETE, str(exc)
        case aiohttp.ClientConnectorError():
            errno = getattr(exc, "errno", None)
            return OFFLINE, f"cannot connect: {os.strerror(errno) if errno else type(exc).__name__}"
        case aiohttp.ClientError():
            return ERROR, type(exc).__name__
    return ERROR, type(exc).__name__


async def probe(camera: Camera, ctx: ProbeContext) -> ProbeResult:
    """Ask the camera's recorder about its footage and disks."""
    settings = cast(RecordingSettings, ctx.settings)
    started = time.monotonic()
    recorder = camera.recorder
    if recorder is None and camera.gb_id is not None:  # its recorder is the GB/T 28181 device owning it
        from camwatch.monitor.probes import recording_gb

        return await recording_gb.probe(camera, ctx)
    if recorder is None:
        return ProbeResult(NAME, False, SKIPPED, 0.0, error="camera has no recorder")
    secret = recorder.password.get_secret_value() if recorder.password else None
    seen: dict[str, Any] = {}
    disks: list[isapi.Disk] | list[profile_g.Storage]
    try:
        async with asyncio.timeout(ctx.timeout):
            if recorder.kind == ONVIF:
                disks, verdict, seen = await _ask_onvif(camera, recorder, settings)
            else:
                disks, verdict = await _ask_isapi(camera, recorder, settings)
    except TimeoutError:
        error = f"recorder {recorder.id} gave no whole answer within {ctx.timeout:g} s"
        return ProbeResult(NAME, False, TIMEOUT, time.monotonic() - started, error=error)
    except Exception as exc:
        status, reason = _status_of(exc)
        error = scrub(f"recorder {recorder.id}: {reason}", [secret])
        return ProbeResult(NAME, False, status, time.monotonic() - started, error=error)

    details = {**_disk_details(recorder, disks), **seen}
    storage = (STORAGE_FAULT,) if any(not d.ok for d in disks) else ()
    duration = time.monotonic() - started
    if isinstance(verdict, str):
        error = scrub(f"recorder {recorder.id}: answer incomplete: {verdict}", [secret])
        return ProbeResult(NAME, False, INCOMPLETE, duration, error=error, faults=storage, details=details)
    faults = (*storage, *verdict.faults)
    # The target beside the retention, so that dashboards show one against the other.
    values = {**verdict.values, "recording_retention_target_seconds": settings.retention.target(camera)}
    return ProbeResult(NAME, True, OK, duration, faults=faults, values=values, details=details)
