"""`camwatch recordings`: one camera's footage ranges and gaps on one day, as its recorder reports them."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape
from rich.table import Table

from camwatch.cli_common import ConfigArg, err, load, out
from camwatch.config.models import MonitorSettings

PASSWORD_ENV = "CAMWATCH_WEB_PASSWORD"  # the service's basic-auth password, for GB/T 28181 cameras


def recordings(
    config: ConfigArg,
    camera: Annotated[str, typer.Argument(help="camera id")],
    day: Annotated[
        str | None, typer.Option("--day", help="YYYY-MM-DD in the recorder's time zone (default: its today)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the ranges and gaps as JSON")] = False,
    user: Annotated[
        str,
        typer.Option(
            "--user",
            help="GB/T 28181 cameras: the service's basic-auth user (password in $CAMWATCH_WEB_PASSWORD)",
        ),
    ] = "",
) -> None:
    """A camera's footage on one day and the gaps in it, asked of its recorder now (needs its password).

    A GB/T 28181 camera with no recorder is asked through the running service (its devices register there).
    """
    from camwatch.monitor.probes.isapi import Incomplete, IsapiFailed
    from camwatch.monitor.probes.profile_g import Incomplete as OnvifIncomplete
    from camwatch.monitor.probes.profile_g import NotSupported, OnvifFailed
    from camwatch.monitor.recordings import DayFootage, NoRecorder, as_json_entry, day_footage

    cfg = load(config, talks_to_cameras=True)
    cam = next((c for c in cfg.cameras if c.id == camera), None)
    if cam is None:
        err.print(f"[red]unknown camera id:[/] {escape(camera)}")
        raise typer.Exit(1)
    try:
        wanted = date.fromisoformat(day) if day else None
    except ValueError:
        err.print(f"[red]--day must look like 2026-12-01, got {escape(day or '')!r}[/]")
        raise typer.Exit(1) from None
    if cam.recorder is None and cam.gb_id is not None:
        entry = _from_service(cfg.monitor, camera, wanted, user)
        found = DayFootage.from_json(entry)
    else:
        failures = (NoRecorder, IsapiFailed, Incomplete, OnvifFailed, OnvifIncomplete, NotSupported, OSError)
        try:
            found = asyncio.run(day_footage(cam, cfg.monitor.recording, wanted))
        except failures as e:
            reason = e.reason if isinstance(e, IsapiFailed | OnvifFailed) else str(e) or type(e).__name__
            err.print(f"[red]{escape(camera)}:[/] {escape(reason)}")
            raise typer.Exit(1) from None
        entry = as_json_entry(camera, found)
    zone = ZoneInfo(found.zone)

    def local(ts: float) -> str:
        return datetime.fromtimestamp(ts, zone).strftime("%H:%M:%S")

    if as_json:
        sys.stdout.write(json.dumps(entry, ensure_ascii=False, indent=2) + "\n")
        return
    span = found.end - found.start
    table = Table(
        title=f"{camera} {found.day} ({found.zone}): {found.recorded / 3600:.2f} h recorded of "
        f"{span / 3600:.2f} h, {len(found.gaps)} gap(s)"
    )
    for column in ("", "from", "to", "hours"):
        table.add_column(column)
    rows = [("footage", a, b) for a, b in found.ranges] + [("gap", a, b) for a, b in found.gaps]
    for what, a, b in sorted(rows, key=lambda r: r[1]):
        table.add_row(what, local(a), local(b), f"{(b - a) / 3600:.2f}")
    out.print(table)


def _from_service(settings: MonitorSettings, camera: str, day: date | None, user: str) -> dict[str, Any]:
    from camwatch.monitor.recordings_client import ServiceUnavailable, ask_service

    try:
        return ask_service(settings, camera, day, user=user, password=os.environ.get(PASSWORD_ENV, ""))
    except ServiceUnavailable as exc:
        err.print(f"[red]{escape(camera)}:[/] {escape(str(exc))}")
        raise typer.Exit(1) from None
