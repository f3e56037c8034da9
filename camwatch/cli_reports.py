"""`camwatch report …`: the monthly ranking of a county and of a city, and the city's coverage roll-up."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from camwatch.cli_common import ConfigArg, LangOption, err, load, out
from camwatch.cli_common import chosen_lang as _report_lang
from camwatch.reports.office import LANGS, ZH, host_lang

report_app = typer.Typer(help="Reports from the stored history.", no_args_is_help=True)


@report_app.command("uptime")
def report_uptime(
    config: ConfigArg,
    month: Annotated[str | None, typer.Option("--month", help="YYYY-MM")] = None,
    first_day: Annotated[
        str | None, typer.Option("--from", help="first day, YYYY-MM-DD (with --to: any period)")
    ] = None,
    last_day: Annotated[str | None, typer.Option("--to", help="last day, YYYY-MM-DD (included)")] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="folder for uptime_*.csv, uptime.md, uptime.xlsx, fault_episodes.csv and assessment.*",
        ),
    ] = None,
    lang: LangOption = None,
) -> None:
    """Online-rate and working-order-rate ranking per camera and area (逐月排名), the fault episodes and the
    assessment (考核) by the rules of reports.assessment, for a month or any whole days."""
    from camwatch.monitor.period import days_period, month_period, read_history
    from camwatch.reports.assessment import write_assessment
    from camwatch.reports.uptime import write_uptime_report

    cfg = load(config, talks_to_cameras=False)
    chosen = _report_lang(cfg, lang)
    one_of = (month is None) != (first_day is None and last_day is None)
    if not one_of or (first_day is None) != (last_day is None):
        err.print("[red]give --month YYYY-MM, or --from and --to (YYYY-MM-DD)[/]")
        raise typer.Exit(1)
    target = out_dir or Path(".")
    try:
        tz = cfg.reports.timezone
        period = month_period(month, tz) if month else days_period(str(first_day), str(last_day), tz)
        history = read_history(cfg.state_path, period)  # once, for the ranking and the assessment
        paths = write_uptime_report(cfg, period, target, lang=chosen, history=history)
        paths += write_assessment(cfg, period, target, lang=chosen, history=history)
    except ValueError as exc:
        err.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(1) from None
    out.print("written: " + ", ".join(str(p) for p in paths))


@report_app.command("city")
def report_city(
    configs: Annotated[
        list[Path], typer.Argument(help="each county instance's config (its ledger and state)")
    ],
    month: Annotated[str, typer.Option("--month", help="YYYY-MM")],
    out_dir: Annotated[Path | None, typer.Option("--out", help="folder for city_uptime.csv and .md")] = None,
    lang: LangOption = None,
) -> None:
    """One monthly ranking of the counties, townships, villages and police stations of several instances (a
    city). Language: --lang, else the first config's reports.lang, else zh where its timezone is in China."""
    from camwatch.reports.uptime import write_city_report

    cfgs = [load(config, talks_to_cameras=False) for config in configs]
    chosen = _report_lang(cfgs[0], lang)
    try:
        paths = write_city_report(cfgs, month, out_dir or Path("."), lang=chosen)
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
        str | None,
        typer.Option(
            "--lang",
            help="language of by_area.csv and report.md: zh or en (default: the county reports' own, else zh "
            "where this machine's timezone is in China)",
        ),
    ] = None,
) -> None:
    """One coverage roll-up of several counties' coverage reports (a city): totals added, areas ranked."""
    from camwatch.coverage.city import CityReportError, write_city_report

    chosen = lang or _reports_lang(reports)
    if chosen not in LANGS:
        err.print(f"[red]--lang {escape(chosen)}: give zh or en[/]")
        raise typer.Exit(1)
    try:
        summary = write_city_report(reports, out_dir, lang=chosen)
    except CityReportError as exc:
        err.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(1) from None
    met = sum(1 for c in summary["categories"].values() if c["meets_target"])
    out.print(
        f"city coverage report in {out_dir}: {len(reports)} county reports, "
        f"{met}/{len(summary['categories'])} categories meet their target"
    )


def _reports_lang(folders: list[Path]) -> str:
    """The language the county coverage reports were written in (their report.md title) when they agree,
    else the one this machine's timezone suggests: the default the other reports take from a config."""
    titles = set()
    for folder in folders:
        try:
            with (folder / "report.md").open(encoding="utf-8") as handle:
                titles.add(handle.readline().strip())
        except (OSError, UnicodeDecodeError):
            titles.add("")
    found = {
        "zh" if t == f"# {ZH['Coverage report']}" else "en" if t == "# Coverage report" else ""
        for t in titles
    }
    return found.pop() if len(found) == 1 and "" not in found else host_lang()
