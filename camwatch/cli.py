"""The one command line: camwatch demo, check-config, probe, run, coverage, report, import, simulate,
maintenance, reference."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import sys
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from camwatch.config.errors import ConfigError
from camwatch.config.models import Config
from camwatch.redact import redact_url

if TYPE_CHECKING:
    from camwatch.monitor.state import StateStore

app = typer.Typer(
    help="Keep a video-surveillance network honest: camera health and coverage gaps.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
report_app = typer.Typer(help="Reports from the stored history.", no_args_is_help=True)
import_app = typer.Typer(help="Build an inventory from other sources.", no_args_is_help=True)
maintenance_app = typer.Typer(
    help="Mark cameras as under maintenance (no alerts, counted apart).", no_args_is_help=True
)
reference_app = typer.Typer(
    help="The video checks' learned references (sharpness baseline, scene).", no_args_is_help=True
)
app.add_typer(report_app, name="report")
app.add_typer(reference_app, name="reference")
app.add_typer(import_app, name="import")
app.add_typer(maintenance_app, name="maintenance")

# soft_wrap: messages (paths, problems) stay one line each, whatever the terminal's width or none.
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

ConfigArg = Annotated[Path, typer.Argument(help="camwatch config YAML", exists=False)]


class _RedactingFilter(logging.Filter):
    """Last line of defence: no URL password reaches a log line."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_url(record.getMessage())
        record.args = None
        return True


def setup_logging(verbose: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in ("zeep", "httpx", "httpcore", "apscheduler", "aiohttp.access", "asyncio", "pyogrio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def run_async(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run on uvloop where available: the monitor's probe rate is bounded by event-loop overhead."""
    try:
        import uvloop

        return uvloop.run(coro)
    except ImportError:
        return asyncio.run(coro)


def _print_problems(exc: ConfigError) -> None:
    from camwatch.config.load import describe_problems

    err.print(describe_problems(exc), markup=False, highlight=False)


def load(path: Path) -> Config:
    from camwatch.config.load import load_config

    try:
        return load_config(path)
    except ConfigError as exc:
        _print_problems(exc)
        raise typer.Exit(1) from None


@app.command("check-config")
def check_config(config: ConfigArg) -> None:
    """Validate a config and its inventory; every problem names file, row/line, field and why."""
    cfg = load(config)
    counties = {c.county for c in cfg.cameras if c.county}
    out.print(
        f"[green]OK[/]: {len(cfg.cameras)} cameras in {len(counties)} counties; "
        f"coverage {'configured' if cfg.coverage else 'not configured'}"
    )


@app.command()
def probe(
    config: ConfigArg,
    camera: Annotated[
        list[str] | None, typer.Option("--camera", "-c", help="only this camera (repeatable)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON list of per-camera results")] = False,
) -> None:
    """Probe every camera (or the given ones) once now and print the results."""
    from camwatch.monitor.sweep import sweep

    setup_logging()
    cfg = load(config)
    cameras = list(cfg.cameras)
    if camera:
        known = {c.id for c in cameras}
        missing = [c for c in camera if c not in known]
        if missing:
            err.print(f"[red]unknown camera id(s):[/] {', '.join(missing)}")
            raise typer.Exit(1)
        cameras = [c for c in cameras if c.id in set(camera)]
    results = run_async(sweep(cameras, cfg.monitor))
    if as_json:
        sys.stdout.write(json.dumps([r.to_json() for r in results], ensure_ascii=False, indent=2) + "\n")
        return
    table = Table(title=f"{len(results)} cameras, {sum(r.up for r in results)} up")
    for col in ("camera", "up", "status", "faults", "rtsp s", "fps", "luma", "sharpness", "clock offset s"):
        table.add_column(col)
    for r in results:
        rtsp = r.probes.get("rtsp")
        table.add_row(
            r.camera,
            "[green]yes[/]" if r.up else "[red]no[/]",
            r.status,
            ", ".join(r.faults),
            f"{rtsp.duration_seconds:.3f}" if rtsp else "",
            *(
                f"{r.values[k]:.1f}" if k in r.values else ""
                for k in ("fps", "luma", "sharpness", "clock_offset_seconds")
            ),
        )
    out.print(table)


@app.command()
def run(config: ConfigArg, verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    """The long-running service: scheduler, state database and exporter. SIGHUP reloads the config."""
    setup_logging(verbose)
    cfg = load(config)
    run_async(serve_until_stopped(cfg))


async def serve_until_stopped(cfg: Config) -> None:
    """Run the monitor until SIGINT/SIGTERM; SIGHUP (or a change of the config file) reloads."""
    from camwatch.config.load import load_config
    from camwatch.glue import coverage_factory, wait_for_stop
    from camwatch.monitor.service import Service

    service = Service(cfg, loader=load_config, coverage_factory=coverage_factory())
    await service.start()
    out.print(f"metrics: {service.url}/metrics   health: {service.url}/healthz")
    try:
        await wait_for_stop(on_hup=service.reload)
    finally:
        await service.stop()


@app.command()
def coverage(
    config: ConfigArg,
    out_dir: Annotated[Path, typer.Option("--out", help="folder for the report files")],
    status: Annotated[
        Path | None, typer.Option("--status", help="probe --json file or state database")
    ] = None,
) -> None:
    """Coverage report: summary.json, gaps.geojson, by_area.csv, report.md, map.html."""
    from camwatch.coverage.command import run_coverage

    setup_logging()
    cfg = load(config)
    if cfg.coverage is None:
        err.print(f"[red]{config}: no 'coverage' section[/] (roads, sites, buildings, areas)")
        raise typer.Exit(1)
    try:
        summary = run_coverage(cfg, out_dir, status=status)
    except ConfigError as exc:
        _print_problems(exc)
        raise typer.Exit(1) from None
    met = sum(1 for c in summary["categories"].values() if c["meets_target"])
    out.print(
        f"coverage report in {out_dir}: {met}/{len(summary['categories'])} categories meet their target; "
        f"map: {out_dir / 'map.html'}"
    )


@report_app.command("uptime")
def report_uptime(
    config: ConfigArg,
    month: Annotated[str, typer.Option("--month", help="YYYY-MM")],
    out_dir: Annotated[Path | None, typer.Option("--out", help="folder for uptime.csv and uptime.md")] = None,
) -> None:
    """Monthly online-rate and working-order-rate ranking per camera and area (逐月排名)."""
    from camwatch.monitor.uptime import write_uptime_report

    cfg = load(config)
    try:
        paths = write_uptime_report(cfg, month, out_dir or Path("."))
    except ValueError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    out.print("written: " + ", ".join(str(p) for p in paths))


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
    until: Annotated[str | None, typer.Option(help="duration (4h) or local time (2026-12-01T18:00)")] = None,
    reason: Annotated[str, typer.Option(help="why, shown in reports")] = "",
) -> None:
    """Put cameras under maintenance: they stop alerting and their time is counted apart."""
    import time

    from camwatch.monitor.maintenance import parse_until, resolve_targets

    cfg = load(config)
    now = time.time()
    try:
        ids = resolve_targets(cfg.cameras, targets)
        end = parse_until(until, now=now, tz=cfg.reports.timezone) if until else None
    except ValueError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    store = _state_store(cfg)
    try:
        store.start_maintenance(ids, until=end, reason=reason, now=now)
    finally:
        store.close()
    out.print(
        f"{len(ids)} camera(s) under maintenance" + (f" for {end - now:.0f} s" if end else " until stopped")
    )


RelearnOption = Annotated[
    bool, typer.Option("--relearn", help="also forget the video references, to learn the view afresh")
]


@maintenance_app.command("stop")
def maintenance_stop(config: ConfigArg, targets: TargetsArg, relearn: RelearnOption = False) -> None:
    """End maintenance for cameras or areas."""
    from camwatch.monitor.maintenance import resolve_targets

    cfg = load(config)
    try:
        ids = resolve_targets(cfg.cameras, targets)
    except ValueError as exc:
        err.print(f"[red]{exc}[/]")
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

    cfg = load(config)
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
    """Show current and future maintenance windows."""
    import time
    from datetime import datetime
    from zoneinfo import ZoneInfo

    cfg = load(config)
    store = _state_store(cfg)
    try:
        now = time.time()
        windows = [w for w in store.maintenance_windows() if w[2] is None or w[2] > now]
    finally:
        store.close()
    tz = ZoneInfo(cfg.reports.timezone)
    table = Table(title=f"{len(windows)} maintenance window(s)")
    for col in ("camera", "from", "until"):
        table.add_column(col)
    for cam, start, end in windows:
        table.add_row(
            cam,
            datetime.fromtimestamp(start, tz).isoformat(timespec="minutes"),
            datetime.fromtimestamp(end, tz).isoformat(timespec="minutes") if end else "stopped by hand",
        )
    out.print(table)


@import_app.command("osm")
def import_osm(
    pbf: Annotated[Path, typer.Argument(help="OSM .pbf extract")],
    out_file: Annotated[Path, typer.Option("--out", help="inventory YAML to write")] = Path("cameras.yaml"),
) -> None:
    """Turn OSM man_made=surveillance nodes into a camera inventory."""
    from camwatch.coverage.osm_cameras import cameras_from_osm, write_inventory

    try:
        cameras = cameras_from_osm(pbf)
    except ConfigError as exc:
        _print_problems(exc)
        raise typer.Exit(1) from None
    write_inventory(cameras, out_file)
    out.print(f"{len(cameras)} cameras written to {out_file}")


@app.command()
def simulate(
    count: Annotated[
        int | None, typer.Option(help="number of simulated cameras (default: the profile's)")
    ] = None,
    profile: Annotated[Path | None, typer.Option(help="fault profile YAML")] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="where to write inventory and config")] = Path(
        "camwatch-sim"
    ),
    no_onvif: Annotated[
        bool, typer.Option("--no-onvif", help="RTSP only (halves the sockets per camera)")
    ] = False,
) -> None:
    """Run a simulated camera fleet on loopback addresses (127.x.y.z) until Ctrl-C."""
    from camwatch.sim.fleet import run_fleet

    setup_logging()
    with contextlib.suppress(KeyboardInterrupt), _address_in_use_is_an_error():
        run_async(run_fleet(profile, count=count, out_dir=out_dir, onvif=False if no_onvif else None))


@app.command()
def demo(
    count: Annotated[int | None, typer.Option(help="number of simulated cameras (default 300)")] = None,
    listen: Annotated[str, typer.Option(help="exporter address")] = "127.0.0.1:9640",
    out_dir: Annotated[Path, typer.Option("--out", help="working folder")] = Path("camwatch-demo"),
    duration: Annotated[float | None, typer.Option(help="stop after this many seconds")] = None,
    base_address: Annotated[str, typer.Option(help="first loopback address of the fleet")] = "127.20.0.1",
) -> None:
    """No config needed: a simulated fleet, monitored, with /metrics and a coverage map."""
    from camwatch.sim.demo import run_demo

    setup_logging()
    with _address_in_use_is_an_error():
        run_async(
            run_demo(
                count=count, listen=listen, out_dir=out_dir, duration=duration, base_address=base_address
            )
        )


@contextlib.contextmanager
def _address_in_use_is_an_error() -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        err.print(
            f"[red]address already in use[/] ({exc.strerror}): another camwatch demo/simulate or the "
            "exporter port is taken; use --listen / --base-address to pick others"
        )
        raise typer.Exit(1) from None


if __name__ == "__main__":
    app()
