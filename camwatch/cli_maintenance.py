"""`camwatch maintenance …` and `camwatch reference …`: maintenance windows and the video checks' references,
by camera or area."""

from __future__ import annotations

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
    """Show current and future maintenance windows, with their reasons."""
    import time

    from camwatch.monitor.maintenance import current_windows

    cfg = load(config, talks_to_cameras=False)
    windows = current_windows(cfg.state_path, now=time.time())
    table = Table(title=f"{len(windows)} maintenance window{'s' if len(windows) != 1 else ''}")
    for col in ("camera", "from", "until", "reason"):
        table.add_column(col)
    for w in windows:
        table.add_row(
            escape(w.camera),
            _local_time(w.start, cfg),
            _local_time(w.end, cfg) if w.end is not None else "until stopped",
            escape(w.reason),
        )
    out.print(table)
