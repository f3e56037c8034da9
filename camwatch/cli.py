"""The one command line: camwatch demo, check-config, probe, run, history, coverage, report, import,
simulate, maintenance, reference."""

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
from rich.markup import escape
from rich.table import Table

from camwatch.config.errors import ConfigError
from camwatch.config.models import Config
from camwatch.config.redact import redact_url
from camwatch.office import report_lang

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


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        out.print(f"camwatch {version('camwatch')}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="print the version and exit"),
    ] = False,
) -> None:
    pass


ConfigArg = Annotated[Path, typer.Argument(help="camwatch config YAML", exists=False)]
LangOption = Annotated[
    str | None,
    typer.Option(
        "--lang",
        help="language of the report files: zh or en (default: reports.lang, else zh where reports.timezone "
        "is in China)",
    ),
]


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


def load(path: Path, *, talks_to_cameras: bool) -> Config:
    """The config at ``path``, or exit 1 after printing every problem.

    ``talks_to_cameras``: the command probes cameras, so it needs their passwords resolved and something to
    probe on each. Commands that only read the config, the state database or layers (reports, coverage,
    maintenance) pass False: they run where the password variables are not set (an office PC, a cron job)."""
    from camwatch.config.load import load_config

    try:
        return load_config(path, resolve_secrets=talks_to_cameras, require_address=talks_to_cameras)
    except ConfigError as exc:
        _print_problems(exc)
        raise typer.Exit(1) from None


@app.command("check-config")
def check_config(config: ConfigArg) -> None:
    """Validate a config and its inventory; every problem names file, row/line, field and why."""
    cfg = load(config, talks_to_cameras=True)
    counties = len({c.county for c in cfg.cameras if c.county})
    out.print(
        f"[green]OK[/]: {_count(len(cfg.cameras), 'camera')} in {_count(counties, 'county', 'counties')}; "
        f"coverage {'configured' if cfg.coverage else 'not configured'}"
    )


def _count(n: int, one: str, many: str | None = None) -> str:
    """``1 camera``, ``2 cameras``."""
    return f"{n} {one if n == 1 else many or one + 's'}"


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
    cfg = load(config, talks_to_cameras=True)
    cameras = list(cfg.cameras)
    if camera:
        known = {c.id for c in cameras}
        missing = [c for c in camera if c not in known]
        if missing:
            err.print(f"[red]unknown camera id(s):[/] {escape(', '.join(missing))}")
            raise typer.Exit(1)
        cameras = [c for c in cameras if c.id in set(camera)]
    results = run_async(sweep(cameras, cfg.monitor))
    if as_json:
        sys.stdout.write(json.dumps([r.to_json() for r in results], ensure_ascii=False, indent=2) + "\n")
        return
    table = Table(title=f"{len(results)} cameras, {sum(r.up for r in results)} up")
    for col in (
        "camera",
        "up",
        "status",
        "faults",
        "reason",
        "rtsp s",
        "fps",
        "luma",
        "sharpness",
        "clock offset s",
    ):
        table.add_column(col)
    for r in results:
        rtsp = r.probes.get("rtsp")
        table.add_row(
            escape(r.camera),
            "[green]yes[/]" if r.up else "[red]no[/]",
            r.status,
            ", ".join(r.faults),
            # Why it is not ok: the first reason a probe gave (probes run and are listed cheapest first).
            next((p.error for p in r.probes.values() if p.error), ""),
            f"{rtsp.duration_seconds:.3f}" if rtsp else "",
            *(
                f"{r.values[k]:.1f}" if k in r.values else ""
                for k in ("fps", "luma", "sharpness", "clock_offset_seconds")
            ),
        )
    out.print(table)


@app.command()
def run(
    config: ConfigArg,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log at DEBUG level")] = False,
) -> None:
    """The long-running service: scheduler, state database and exporter. SIGHUP reloads the config."""
    from camwatch.monitor.memory import tune_allocator

    tune_allocator()  # before the config's load and any thread
    setup_logging(verbose)
    cfg = load(config, talks_to_cameras=True)
    with _address_in_use_is_an_error(f"monitor.listen ({cfg.monitor.listen}) is taken; pick another port"):
        run_async(serve_until_stopped(cfg))


async def serve_until_stopped(cfg: Config) -> None:
    """Run the monitor until SIGINT/SIGTERM; SIGHUP (or a change of the config file) reloads."""
    from camwatch.glue import build_service, wait_for_stop

    service = build_service(cfg, require_address=True)
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
    lang: LangOption = None,
    force: Annotated[
        bool, typer.Option(help="report even where the cameras and layers do not overlap")
    ] = False,
) -> None:
    """Coverage report: summary.json, gaps.geojson, by_area.csv, report.md, map.html."""
    from camwatch.coverage.command import run_coverage

    setup_logging()
    cfg = load(config, talks_to_cameras=False)
    if cfg.coverage is None:
        err.print(f"[red]{config}: no 'coverage' section[/] (roads, sites, buildings, areas)")
        raise typer.Exit(1)
    chosen = _report_lang(cfg, lang)
    try:
        summary = run_coverage(cfg, out_dir, status=status, lang=chosen, force=force)
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
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="folder for uptime_*.csv, uptime.md and uptime.xlsx")
    ] = None,
    lang: LangOption = None,
) -> None:
    """Monthly online-rate and working-order-rate ranking per camera and area (逐月排名)."""
    from camwatch.monitor.uptime import write_uptime_report

    cfg = load(config, talks_to_cameras=False)
    chosen = _report_lang(cfg, lang)
    try:
        paths = write_uptime_report(cfg, month, out_dir or Path("."), lang=chosen)
    except ValueError as exc:
        err.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(1) from None
    out.print("written: " + ", ".join(str(p) for p in paths))


@app.command()
def history(
    config: ConfigArg,
    camera: Annotated[str, typer.Argument(help="camera id")],
    since: Annotated[str, typer.Option(help="how far back: 7d, 12h, 30m")] = "7d",
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON list of transitions")] = False,
) -> None:
    """A camera's status changes from the state database; needs no camera passwords."""
    import sqlite3
    import time
    from datetime import datetime
    from itertools import zip_longest
    from zoneinfo import ZoneInfo

    from camwatch.config.models import parse_duration
    from camwatch.monitor.outcome import stored_reason
    from camwatch.monitor.state import StateError, read_transitions

    cfg = load(config, talks_to_cameras=False)
    if not any(c.id == camera for c in cfg.cameras):
        err.print(f"[red]unknown camera id:[/] {camera}", highlight=False)
        raise typer.Exit(1)
    try:
        window = parse_duration(since)
    except ValueError as exc:
        err.print(f"[red]--since:[/] {exc}")
        raise typer.Exit(1) from None
    now = time.time()
    try:
        rows = read_transitions(cfg.state_path, camera, since=now - window)
    except (sqlite3.Error, StateError) as exc:
        err.print(f"[red]cannot read the state database[/] {cfg.state_path}: {exc}", highlight=False)
        raise typer.Exit(1) from None
    tz = ZoneInfo(cfg.reports.timezone)
    # Each status lasts until the next change; the last one is still going on.
    spans = [(t, (nxt.ts if nxt else now) - t.ts, nxt is None) for t, nxt in zip_longest(rows, rows[1:])]
    if as_json:
        entries = [
            {
                "time": datetime.fromtimestamp(t.ts, tz).isoformat(timespec="seconds"),
                "timestamp": t.ts,
                "status": t.status,
                "up": t.up,
                "reason": stored_reason(t.status, t.faults),
                "faults": list(t.faults),
                "duration_seconds": round(duration, 3),
                "ongoing": ongoing,
            }
            for t, duration, ongoing in spans
        ]
        sys.stdout.write(json.dumps(entries, ensure_ascii=False, indent=2) + "\n")
        return
    table = Table(title=f"{camera}: {len(spans)} status change(s) in the last {since} ({tz.key})")
    for col in ("time", "status", "reason", "duration"):
        table.add_column(col)
    for t, duration, ongoing in spans:
        table.add_row(
            datetime.fromtimestamp(t.ts, tz).isoformat(timespec="seconds"),
            t.status,
            stored_reason(t.status, t.faults),
            _human_duration(duration) + (" so far" if ongoing else ""),
        )
    out.print(table)


def _human_duration(seconds: float) -> str:
    s = int(seconds)
    days, s = divmod(s, 86400)
    hours, s = divmod(s, 3600)
    minutes, s = divmod(s, 60)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {s:02d}s" if minutes else f"{s}s"


def _report_lang(cfg: Config, requested: str | None) -> str:
    try:
        return report_lang(cfg.reports, requested)
    except ValueError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None


@report_app.command("city")
def report_city(
    configs: Annotated[
        list[Path], typer.Argument(help="each county instance's config (its ledger and state)")
    ],
    month: Annotated[str, typer.Option("--month", help="YYYY-MM")],
    out_dir: Annotated[Path | None, typer.Option("--out", help="folder for city_uptime.csv and .md")] = None,
) -> None:
    """One monthly ranking of the counties, townships and villages of several instances (a city)."""
    from camwatch.monitor.uptime import write_city_report

    cfgs = [load(config, talks_to_cameras=False) for config in configs]
    try:
        paths = write_city_report(cfgs, month, out_dir or Path("."))
    except ValueError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    out.print("written: " + ", ".join(str(p) for p in paths))


@report_app.command("coverage-city")
def report_coverage_city(
    reports: Annotated[
        list[Path], typer.Argument(help="each county's `camwatch coverage --out` folder (its summary.json)")
    ],
    out_dir: Annotated[Path, typer.Option("--out", help="folder for summary.json, by_area.csv, report.md")],
    lang: Annotated[
        str, typer.Option("--lang", help="language of by_area.csv and report.md: zh or en")
    ] = "en",
) -> None:
    """One coverage roll-up of several counties' coverage reports (a city): totals added, areas ranked."""
    from camwatch.coverage.city import CityReportError, write_city_report

    if lang not in ("en", "zh"):
        err.print(f"[red]--lang {escape(lang)}: give zh or en[/]")
        raise typer.Exit(1)
    try:
        summary = write_city_report(reports, out_dir, lang=lang)
    except CityReportError as exc:
        err.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(1) from None
    met = sum(1 for c in summary["categories"].values() if c["meets_target"])
    out.print(
        f"city coverage report in {out_dir}: {len(reports)} county reports, "
        f"{met}/{len(summary['categories'])} categories meet their target"
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


def _local_time(ts: float, cfg: Config) -> str:
    """``ts`` as a minute-precision ISO time in ``reports.timezone``."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.fromtimestamp(ts, ZoneInfo(cfg.reports.timezone)).isoformat(timespec="minutes")


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
    if not cameras:
        err.print(f"[red]no cameras in {pbf}[/]: it has no man_made=surveillance nodes; nothing written")
        raise typer.Exit(1)
    write_inventory(cameras, out_file)
    out.print(f"{_count(len(cameras), 'camera')} written to {out_file}")


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
    base_address: Annotated[str, typer.Option(help="first loopback address of the fleet")] = "127.20.0.1",
) -> None:
    """Run a simulated camera fleet on loopback addresses (127.x.y.z) until Ctrl-C."""
    from camwatch.sim.fleet import run_fleet

    setup_logging()
    onvif = False if no_onvif else None
    with contextlib.suppress(KeyboardInterrupt), _address_in_use_is_an_error(_SIM_PORTS_TAKEN):
        try:
            run_async(
                run_fleet(profile, count=count, out_dir=out_dir, onvif=onvif, base_address=base_address)
            )
        except ConfigError as exc:
            _print_problems(exc)
            raise typer.Exit(1) from None


def _demo_lang(value: str) -> str:
    if value not in ("en", "zh"):
        raise typer.BadParameter(f"{value!r} is not en or zh")
    return value


@app.command()
def demo(
    count: Annotated[int | None, typer.Option(help="number of simulated cameras (default 300)")] = None,
    listen: Annotated[str, typer.Option(help="exporter address")] = "127.0.0.1:9640",
    out_dir: Annotated[Path, typer.Option("--out", help="working folder")] = Path("camwatch-demo"),
    duration: Annotated[float | None, typer.Option(help="stop after this many seconds")] = None,
    base_address: Annotated[str, typer.Option(help="first loopback address of the fleet")] = "127.20.0.1",
    lang: Annotated[
        str, typer.Option(callback=_demo_lang, help="en, or zh: a county seat in China, in Chinese")
    ] = "en",
) -> None:
    """No config needed: a simulated fleet, monitored, with /metrics and a coverage map."""
    from camwatch.sim.demo import run_demo

    setup_logging()
    with _address_in_use_is_an_error(_SIM_PORTS_TAKEN):
        run_async(
            run_demo(
                count=count,
                listen=listen,
                out_dir=out_dir,
                duration=duration,
                base_address=base_address,
                lang=lang,
            )
        )


_SIM_PORTS_TAKEN = (
    "another camwatch demo/simulate or the exporter port is taken; "
    "use --listen / --base-address to pick others"
)


@contextlib.contextmanager
def _address_in_use_is_an_error(hint: str) -> Iterator[None]:
    """A port someone else holds is one line and exit 1, not a traceback."""
    try:
        yield
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        err.print(f"[red]address already in use[/] ({exc.strerror}): {hint}")
        raise typer.Exit(1) from None


if __name__ == "__main__":
    app()
