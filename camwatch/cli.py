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
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from camwatch.cli_common import ConfigArg, LangOption, err, load, out
from camwatch.cli_common import chosen_lang as _report_lang
from camwatch.cli_common import count as _count
from camwatch.cli_common import print_problems as _print_problems
from camwatch.cli_excuse import excuse_app
from camwatch.cli_maintenance import maintenance_app, reference_app
from camwatch.cli_recordings import recordings
from camwatch.cli_reports import report_app
from camwatch.config.errors import ConfigError
from camwatch.config.models import Config
from camwatch.config.redact import redact_url

app = typer.Typer(
    help="Keep a video-surveillance network honest: camera health and coverage gaps.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
import_app = typer.Typer(help="Build an inventory from other sources.", no_args_is_help=True)
app.add_typer(report_app, name="report")
app.add_typer(reference_app, name="reference")
app.add_typer(import_app, name="import")
app.add_typer(maintenance_app, name="maintenance")
app.add_typer(excuse_app, name="excuse")
app.command("recordings")(recordings)


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


@app.command("check-config")
def check_config(config: ConfigArg) -> None:
    """Validate a config and its inventory; every problem names file, row/line, field and why."""
    cfg = load(config, talks_to_cameras=True)
    counties = len({c.county for c in cfg.cameras if c.county})
    planning = sum(1 for c in cfg.cameras if not c.networked)
    out.print(
        f"[green]OK[/]: {_count(len(cfg.cameras), 'camera')} in {_count(counties, 'county', 'counties')}; "
        f"coverage {'configured' if cfg.coverage else 'not configured'}"
        + (f"; {planning} not networked (是否联网 = 否): planning only, never probed" if planning else "")
    )


@app.command()
def probe(
    config: ConfigArg,
    camera: Annotated[
        list[str] | None, typer.Option("--camera", "-c", help="only this camera (repeatable)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON list of per-camera results")] = False,
    down: Annotated[
        bool, typer.Option("--down", help="list only cameras that are not ok (down, or with a fault)")
    ] = False,
) -> None:
    """Probe every camera (or the given ones) once now and print the results: camera, name, status and why
    (the measured values are in --json)."""
    from camwatch.config.scope import monitored
    from camwatch.monitor.daylight import LocalClock
    from camwatch.monitor.outcome import reason
    from camwatch.monitor.probes.registry import plans_of
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
    # Not probed: planning positions (是否联网 = 否), and cameras whose status only a source that reports in
    # to the running monitor (its GB/T 28181 platform) receives.
    plans = plans_of(monitored(cameras))  # once per camera, for the sweep and the table
    probed = [c for c in monitored(cameras) if not plans[c.id].reported]
    planning = len(cameras) - len(monitored(cameras))
    platform_only = len(monitored(cameras)) - len(probed)
    for n, why in (
        (planning, "not networked (是否联网 = 否): planning positions, never probed"),
        (platform_only, "seen through GB/T 28181 only: `camwatch run` receives their status"),
    ):
        if n:
            err.print(f"{_count(n, 'camera')} not probed: {why}", highlight=False)
    results = run_async(sweep(probed, cfg.monitor, plans=plans, local_clock=LocalClock(cfg.reports.timezone)))
    by_id = {c.id: c for c in probed}
    shown = [r for r in results if not down or r.status != "ok" or r.faults]
    if as_json:
        sys.stdout.write(json.dumps([r.to_json() for r in shown], ensure_ascii=False, indent=2) + "\n")
        return
    title = f"{_count(len(results), 'camera')} probed, {sum(r.up for r in results)} up"
    table = Table(title=title + (f"; {len(shown)} not ok" if down else ""))
    # Fits 80 columns: long names and reasons fold, ids stay whole.
    table.add_column("camera", no_wrap=True, overflow="ellipsis")
    table.add_column("name", max_width=16, overflow="fold")
    table.add_column("status", no_wrap=True)
    table.add_column("reason", overflow="fold", ratio=1)
    for r in shown:
        ok = r.status == "ok" and not r.faults
        table.add_row(
            escape(r.camera),
            escape(by_id[r.camera].name),
            f"[green]{r.status}[/]" if ok else f"[red]{r.status}[/]",
            escape("" if ok else reason(by_id[r.camera], r, plans[r.camera])),
        )
    out.print(table, soft_wrap=False)


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

    from camwatch.monitor.gb28181.ownership import NOTE, note_text
    from camwatch.monitor.maintenance import parse_span
    from camwatch.monitor.outcome import stored_reason
    from camwatch.monitor.state import StateError, read_events, read_transitions

    cfg = load(config, talks_to_cameras=False)
    if not any(c.id == camera for c in cfg.cameras):
        err.print(f"[red]unknown camera id:[/] {camera}", highlight=False)
        raise typer.Exit(1)
    try:
        window = parse_span(since, "--since")
    except ValueError as exc:
        err.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(1) from None
    now = time.time()
    try:
        rows = read_transitions(cfg.state_path, camera, since=now - window)
        # Notes: what the GB/T 28181 platform refused about this camera's channel (another device claimed it).
        events = read_events(cfg.state_path, camera, since=now - window)
        notes = [(e.ts, note_text(e.detail)) for e in events if e.kind == NOTE]
    except (sqlite3.Error, StateError) as exc:
        err.print(f"[red]cannot read the state database[/] {cfg.state_path}: {exc}", highlight=False)
        raise typer.Exit(1) from None
    tz = ZoneInfo(cfg.reports.timezone)
    # Each status lasts until the next change; the last one is still going on.
    spans = [(t, (nxt.ts if nxt else now) - t.ts, nxt is None) for t, nxt in zip_longest(rows, rows[1:])]

    def noted(n: int) -> list[tuple[float, str]]:
        """The notes within span ``n`` (the first span also takes those before it)."""
        start = rows[n].ts if n else float("-inf")
        end = rows[n + 1].ts if n + 1 < len(rows) else float("inf")
        return [(ts, text) for ts, text in notes if start <= ts < end]

    if as_json:
        entries = [
            {
                "time": datetime.fromtimestamp(t.ts, tz).isoformat(timespec="seconds"),
                "timestamp": t.ts,
                "status": t.status,
                "up": t.up,
                "reason": t.reason or stored_reason(t.status, t.faults),
                "faults": list(t.faults),
                "duration_seconds": round(duration, 3),
                "ongoing": ongoing,
                "notes": [
                    {"time": datetime.fromtimestamp(ts, tz).isoformat(timespec="seconds"), "note": text}
                    for ts, text in noted(n)
                ],
            }
            for n, (t, duration, ongoing) in enumerate(spans)
        ]
        sys.stdout.write(json.dumps(entries, ensure_ascii=False, indent=2) + "\n")
        return
    table = Table(title=f"{camera}: {len(spans)} status change(s) in the last {since} ({tz.key})")
    for col in ("time", "status", "reason", "duration"):
        table.add_column(col)
    lines = [
        (
            t.ts,
            t.status,
            t.reason or stored_reason(t.status, t.faults),
            _human_duration(duration) + (" so far" * ongoing),
        )
        for t, duration, ongoing in spans
    ]
    lines += [(ts, "note", text, "") for ts, text in notes]
    for ts, status, why, lasted in sorted(lines, key=lambda line: line[0]):
        # Values from a device are data: never rich markup.
        when = datetime.fromtimestamp(ts, tz).isoformat(timespec="seconds")
        table.add_row(when, status, escape(why), lasted)
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
    wildcard: Annotated[
        bool,
        typer.Option(
            "--wildcard",
            help="RTSP from one wildcard listener per port (for 10^4-10^5 cameras); only inside a network "
            "namespace whose only interface is loopback (unshare --net)",
        ),
    ] = False,
) -> None:
    """Run a simulated camera fleet on loopback addresses (127.x.y.z) until Ctrl-C."""
    from camwatch.sim.fleet import run_fleet
    from camwatch.sim.wildcard import NotIsolated

    setup_logging()
    onvif = False if no_onvif else None
    with contextlib.suppress(KeyboardInterrupt), _address_in_use_is_an_error(_SIM_PORTS_TAKEN):
        try:
            run_async(
                run_fleet(
                    profile,
                    count=count,
                    out_dir=out_dir,
                    onvif=onvif,
                    base_address=base_address,
                    wildcard=wildcard,
                )
            )
        except ConfigError as exc:
            _print_problems(exc)
            raise typer.Exit(1) from None
        except NotIsolated as exc:
            err.print(f"[red]{escape(str(exc))}[/]")
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
