"""`camwatch maintenance …` and `camwatch reference …`: maintenance windows and the video checks' references,
by camera or area."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from camwatch.cli_common import ConfigArg, err, load, out
from camwatch.cli_common import local_time as _local_time
from camwatch.config.models import Config

if TYPE_CHECKING:
    from camwatch.monitor.state import StateStore

maintenance_app = typer.Typer(
    help="Mark cameras as under maintenance (no alerts, counted apart).", no_args_is_help=True
)
reference_app = typer.Typer(
    help="The video checks' learned references (sharpness baseline, scene).", no_args_is_help=True
)


def _state_store(cfg: Config) -> StateStore:
    from camwatch.monitor.state import StateStore

    return StateStore(cfg.state_path)


TargetsArg = Annotated[
    list[str], typer.Argument(help="camera ids or areas (county, township, village, A/B/C)")
]


@maintenance_app.command("start")
def maintenance_start(
    config: ConfigArg,
    targets: TargetsArg,
    until: Annotated[
        str | None,
        typer.Option(
            help="a duration (4h, 2d) or a time in reports.timezone (2026-12-01T18:00); default: 24 hours"
        ),
    ] = None,
    indefinite: Annotated[
        bool, typer.Option("--indefinite", help="no end: the window lasts until `maintenance stop`")
    ] = False,
    reason: Annotated[str, typer.Option(help="why, shown by `maintenance list` and in reports")] = "",
) -> None:
    """Put cameras under maintenance: they stop alerting and their time is counted apart."""
    import time

    from camwatch.monitor.maintenance import DEFAULT_MAX_SECONDS, parse_until, resolve_targets

    cfg = load(config, talks_to_cameras=False)
    if until and indefinite:
        err.print("[red]give --until or --indefinite, not both[/]")
        raise typer.Exit(1)
    now = time.time()
    try:
        ids = resolve_targets(cfg.cameras, targets)
        end = parse_until(until, now=now, tz=cfg.reports.timezone) if until else now + DEFAULT_MAX_SECONDS
    except ValueError as exc:
        err.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(1) from None
    store = _state_store(cfg)
    try:
        store.start_maintenance(ids, until=None if indefinite else end, reason=reason, now=now)
    finally:
        store.close()
    if indefinite:
        out.print(f"{len(ids)} camera(s) under maintenance until `camwatch maintenance stop`")
    else:
        note = "" if until else " (the default; --until or --indefinite to change)"
        out.print(f"{len(ids)} camera(s) under maintenance until {_local_time(end, cfg)}{note}")


RelearnOption = Annotated[
    bool, typer.Option("--relearn", help="also forget the video references, to learn the view afresh")
]


@maintenance_app.command("stop")
def maintenance_stop(config: ConfigArg, targets: TargetsArg, relearn: RelearnOption = False) -> None:
    """End maintenance for cameras or areas."""
    from camwatch.monitor.maintenance import resolve_targets

    cfg = load(config, talks_to_cameras=False)
    try:
        ids = resolve_targets(cfg.cameras, targets)
    except ValueError as exc:
        err.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(1) from None
    store = _state_store(cfg)
    try:
        n = store.stop_maintenance(ids)
        forgotten = _forget_references(store, ids) if relearn else None
    finally:
        store.close()
    out.print(f"maintenance ended for {n} camera(s)")
    if forgotten is not None:
        out.print(f"video references forgotten for {forgotten} camera(s); their next healthy checks relearn")


def _forget_references(store: StateStore, ids: list[str]) -> int:
    from camwatch.monitor.state import StoredBaselines

    return StoredBaselines(store).reset(ids)


@reference_app.command("reset")
def reference_reset(config: ConfigArg, targets: TargetsArg) -> None:
    """Forget the sharpness baseline and scene reference of cameras or areas after a deliberate change
    (re-aimed, new lens): their next healthy checks learn the new view."""
    from camwatch.monitor.maintenance import resolve_targets

    cfg = load(config, talks_to_cameras=False)
    try:
        ids = resolve_targets(cfg.cameras, targets)
    except ValueError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    store = _state_store(cfg)
    try:
        forgotten = _forget_references(store, ids)
    finally:
        store.close()
    out.print(
        f"video references forgotten for {forgotten} of {len(ids)} camera(s); "
        "their next healthy checks relearn"
    )


@maintenance_app.command("list")
def maintenance_list(config: ConfigArg) -> None:
    """Show current and future maintenance windows, one row each: its cameras (the area, when they are one),
    from, until, and why."""
    import time
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from camwatch.monitor.maintenance import current_windows, describe_targets, group_windows
    from camwatch.monitor.state import StateError

    cfg = load(config, talks_to_cameras=False)
    try:
        groups = group_windows(current_windows(cfg.state_path, now=time.time()))
    except (sqlite3.Error, StateError) as exc:
        err.print(f"[red]cannot read the state database[/] {cfg.state_path}: {exc}", highlight=False)
        raise typer.Exit(1) from None
    zone = ZoneInfo(cfg.reports.timezone)

    def local(ts: float) -> str:
        return datetime.fromtimestamp(ts, zone).strftime("%Y-%m-%d %H:%M")

    title = f"{len(groups)} maintenance window{'s' if len(groups) != 1 else ''} (times in {zone.key})"
    table = Table(title=title)
    table.add_column("targets", overflow="fold", ratio=2)
    table.add_column("cams", justify="right", no_wrap=True)
    table.add_column("from", no_wrap=True)
    table.add_column("until", no_wrap=True)
    table.add_column("reason", overflow="fold", ratio=1)
    for g in groups:
        table.add_row(
            escape(describe_targets(g.cameras, cfg.cameras)),
            str(len(g.cameras)),
            local(g.start),
            local(g.end) if g.end is not None else "until stopped",
            escape(g.reason),
        )
    out.print(table, soft_wrap=False)
