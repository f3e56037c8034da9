"""What every command group shares: the consoles, the config argument, loading a config or exiting with its
problems, and the report language."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from camwatch.config.errors import ConfigError
from camwatch.config.models import Config
from camwatch.reports.office import report_lang

# soft_wrap: messages (paths, problems) stay one line each, whatever the terminal's width or none.
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

ConfigArg = Annotated[Path, typer.Argument(help="camwatch config YAML", exists=False)]
LangOption = Annotated[
    str | None,
    typer.Option(
        "--lang",
        help="language of the report files: zh or en (default: reports.lang, else zh where reports.timezone "
        "is in China)",
    ),
]


def print_problems(exc: ConfigError) -> None:
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
        print_problems(exc)
        raise typer.Exit(1) from None


def count(n: int, one: str, many: str | None = None) -> str:
    """``1 camera``, ``2 cameras``."""
    return f"{n} {one if n == 1 else many or one + 's'}"


def chosen_lang(cfg: Config, requested: str | None) -> str:
    try:
        return report_lang(cfg.reports, requested)
    except ValueError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None


def local_time(ts: float, cfg: Config) -> str:
    """``ts`` as a minute-precision ISO time in ``reports.timezone``."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.fromtimestamp(ts, ZoneInfo(cfg.reports.timezone)).isoformat(timespec="minutes")
