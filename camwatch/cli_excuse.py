"""`camwatch excuse`: record and list excused outages (免责, e.g. a utility power cut) for the assessment."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape

from camwatch.cli_common import ConfigArg, err, load, out

excuse_app = typer.Typer(
    help="Excused outages (免责): time not counted against cameras' rates, e.g. a utility power cut.",
    no_args_is_help=True,
)


def local_moment(text: str, tz: str, option: str) -> float:
    """``2026-11-03T08:00`` (or with a space, or a date alone: its midnight) read in ``tz``."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{option}: expected a time such as 2026-11-03T08:00, got {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(tz))
    return moment.timestamp()


@excuse_app.command("add")
def excuse_add(
    config: ConfigArg,
    targets: Annotated[
        list[str], typer.Argument(help="camera ids or areas (county, township, village, A/B/C)")
    ],
    start: Annotated[str, typer.Option("--from", help="start, in reports.timezone (2026-11-03T08:00)")],
    end: Annotated[str, typer.Option("--to", help="end, in reports.timezone (2026-11-03T14:30)")],
    reason: Annotated[str, typer.Option(help="why, printed in the assessment (e.g. power cut notice no.)")],
    by: Annotated[str, typer.Option(help="who agreed to it (name or office)")] = "",
) -> None:
    """Excuse an outage after the fact: the time is left out of the cameras' rates and fault-hours, and
    the assessment lists it with its reason. Alerts are not affected (use maintenance for planned work)."""
    import time

    from camwatch.monitor.excuses import record_excuse
    from camwatch.monitor.maintenance import resolve_targets

    cfg = load(config, talks_to_cameras=False)
    tz = cfg.reports.timezone
    try:
        ids = resolve_targets(cfg.cameras, targets)
        a, b = local_moment(start, tz, "--from"), local_moment(end, tz, "--to")
        n = record_excuse(cfg.state_path, ids, start=a, end=b, reason=reason, by=by, now=time.time())
    except ValueError as exc:
        err.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(1) from None
    out.print(f"{n} camera(s) excused from {_local(a, tz)} to {_local(b, tz)}: {escape(reason)}")


@excuse_app.command("list")
def excuse_list(config: ConfigArg) -> None:
    """Show every excused outage, with who recorded it, when and why."""
    from camwatch.monitor.excuses import read_excuses

    cfg = load(config, talks_to_cameras=False)
    tz = cfg.reports.timezone
    rows = read_excuses(cfg.state_path) if cfg.state_path.exists() else []
    # One line each, whole: a reason is read (and copied) in full, whatever the terminal's width.
    out.print(f"{len(rows)} excused outage(s) ({tz})", highlight=False)
    for x in rows:
        by = f", by {x.recorded_by}" if x.recorded_by else ""
        out.print(
            f"{x.camera}  {_local(x.start, tz)} → {_local(x.end, tz)}  {x.reason}"
            f"  (recorded {_local(x.recorded, tz)}{by})",
            markup=False,
            highlight=False,
        )


def _local(ts: float, tz: str) -> str:
    return datetime.fromtimestamp(ts, ZoneInfo(tz)).isoformat(timespec="minutes")
