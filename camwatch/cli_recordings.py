"""`camwatch recordings`: one camera's footage ranges and gaps on one day, as its recorder reports them."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape
from rich.table import Table

from camwatch.cli_common import ConfigArg, err, load, out


def recordings(
    config: ConfigArg,
    camera: Annotated[str, typer.Argument(help="camera id")],
    day: Annotated[
        str | None, typer.Option("--day", help="YYYY-MM-DD in the recorder's time zone (default: its today)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the ranges and gaps as JSON")] = False,
) -> None:
    """A camera's footage on one day and the gaps in it, asked of its recorder now (needs its password)."""
    from camwatch.monitor.probes.isapi import Incomplete, IsapiFailed
    from camwatch.monitor.probes.profile_g import Incomplete as OnvifIncomplete
    from camwatch.monitor.probes.profile_g import NotSupported, OnvifFailed
    from camwatch.monitor.recordings import NoRecorder, day_footage

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
    try:
        found = asyncio.run(day_footage(cam, cfg.monitor.recording, wanted))
    except (NoRecorder, IsapiFailed, Incomplete, OnvifFailed, OnvifIncomplete, NotSupported, OSError) as exc:
        reason = exc.reason if isinstance(exc, IsapiFailed | OnvifFailed) else str(exc) or type(exc).__name__
        err.print(f"[red]{escape(camera)}:[/] {escape(reason)}")
        raise typer.Exit(1) from None
    zone = ZoneInfo(found.zone)

    def local(ts: float) -> str:
        return datetime.fromtimestamp(ts, zone).strftime("%H:%M:%S")

    if as_json:
        entry = {
            "camera": camera,
            "day": found.day.isoformat(),
            "timezone": found.zone,
            "recorded_seconds": round(found.recorded, 3),
            "ranges": [{"from": local(a), "to": local(b), "start": a, "end": b} for a, b in found.ranges],
            "gaps": [{"from": local(a), "to": local(b), "start": a, "end": b} for a, b in found.gaps],
        }
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
