"""Write (or with --check, verify) the committed Grafana dashboards and Prometheus rules from their code."""

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from grafana_foundation_sdk.builders.dashboard import Dashboard

from camwatch.dashboards import _area, _camera, _coverage, _fleet
from camwatch.dashboards._grafana import render
from camwatch.dashboards._rules import render_rules

HERE = Path(__file__).resolve().parent
DASHBOARDS: dict[str, Callable[[], Dashboard]] = {
    "fleet-overview.json": _fleet.build,
    "area-drilldown.json": _area.build,
    "camera-detail.json": _camera.build,
    "coverage.json": _coverage.build,
}
RULES = Path("rules") / "camwatch.rules.yml"


def generated_files() -> dict[Path, str]:
    """Every generated file's path (relative to the dashboards folder) and text."""
    files = {Path("grafana") / name: render(build()) for name, build in DASHBOARDS.items()}
    files[RULES] = render_rules()
    return files


def stale_files(root: Path = HERE) -> list[Path]:
    """Generated files under ``root`` whose committed text differs from what the code generates."""
    return [
        path
        for path, text in generated_files().items()
        if not (root / path).is_file() or (root / path).read_text(encoding="utf-8") != text
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry: ``python -m camwatch.dashboards.generate [--check]``."""
    parser = argparse.ArgumentParser(prog="python -m camwatch.dashboards.generate", description=__doc__)
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if a committed file differs from the code"
    )
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        for path in stale:
            print(
                f"{HERE / path} is out of date; run python -m camwatch.dashboards.generate", file=sys.stderr
            )
        return 1 if stale else 0
    for path, text in generated_files().items():
        (HERE / path).parent.mkdir(parents=True, exist_ok=True)
        (HERE / path).write_text(text, encoding="utf-8")
        print(HERE / path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
