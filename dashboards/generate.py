"""Write (or with --check, verify) the committed Grafana dashboards and Prometheus rules from their code.

``--lang en|zh`` writes one language (default: both): English into the dashboards folder (``grafana/``,
``rules/``), Chinese into its ``zh/`` folder, with their own dashboard uids so both can be provisioned side by
side. Load one of the two rules files into Prometheus, never both.

``--basemap-tiles URL`` (an XYZ template of a tile server on the local network) with ``--out DIR`` writes a
deployment's own copy whose Geomap draws those tiles; the committed files use a blank, offline base."""

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from grafana_foundation_sdk.builders.dashboard import Dashboard
from pydantic import ValidationError

from camwatch.config.models import BasemapSettings
from camwatch.dashboards import _area, _camera, _coverage, _fleet
from camwatch.dashboards._grafana import render
from camwatch.dashboards._i18n import LANGS, language
from camwatch.dashboards._rules import render_rules

HERE = Path(__file__).resolve().parent
DASHBOARDS: dict[str, Callable[[], Dashboard]] = {
    "fleet-overview.json": _fleet.build,
    "area-drilldown.json": _area.build,
    "camera-detail.json": _camera.build,
    "coverage.json": _coverage.build,
}
RULES = Path("rules") / "camwatch.rules.yml"
# Where each language's files go, under the dashboards folder (or --out).
LANG_DIRS = {"en": Path(), "zh": Path("zh")}


def generated_files(
    *, lang: str = "en", basemap_tiles: str | None = None, basemap_attribution: str = ""
) -> dict[Path, str]:
    """Every generated file's path (relative to the language's folder) and text in ``lang``; the area map's
    base is the tile server ``basemap_tiles`` (default: a blank, offline base)."""
    builders = {
        **DASHBOARDS,
        "area-drilldown.json": lambda: _area.build(_area.basemap(basemap_tiles, basemap_attribution)),
    }
    with language(lang):
        files = {Path("grafana") / name: render(build()) for name, build in builders.items()}
        files[RULES] = render_rules()
    return files


def stale_files(root: Path = HERE, langs: Sequence[str] = LANGS) -> list[Path]:
    """Generated files under ``root`` (each language in its folder) whose committed text differs from what
    the code generates."""
    return [
        LANG_DIRS[lang] / path
        for lang in langs
        for path, text in generated_files(lang=lang).items()
        if not (root / LANG_DIRS[lang] / path).is_file()
        or (root / LANG_DIRS[lang] / path).read_text(encoding="utf-8") != text
    ]


def _tile_url(value: str) -> str:
    """``value`` checked as ``coverage.basemap.tiles`` is in a config."""
    try:
        return BasemapSettings(tiles=value).tiles
    except ValidationError as error:
        reason = str(error.errors()[0]["msg"]).removeprefix("Value error, ")
        raise argparse.ArgumentTypeError(reason) from None


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry: ``python -m camwatch.dashboards.generate [--check]``."""
    parser = argparse.ArgumentParser(prog="python -m camwatch.dashboards.generate", description=__doc__)
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if a committed file differs from the code"
    )
    parser.add_argument(
        "--basemap-tiles",
        metavar="URL",
        type=_tile_url,
        help="XYZ tile URL of a local tile server for the area map, e.g. "
        "http://10.1.2.3/tiles/{z}/{x}/{y}.png (default: a blank base that loads nothing)",
    )
    parser.add_argument("--basemap-attribution", default="", help="attribution shown under those tiles")
    parser.add_argument(
        "--out",
        type=Path,
        help="folder to write into (default: the dashboards package, Chinese into its zh/ folder); with "
        "--lang, that language's files go straight into it",
    )
    parser.add_argument(
        "--lang", choices=LANGS, help="dashboards, alerts and rules in this language only (default: both)"
    )
    args = parser.parse_args(argv)
    langs = [args.lang] if args.lang else list(LANGS)
    if args.check:
        stale = stale_files(langs=langs)
        for path in stale:
            print(
                f"{HERE / path} is out of date; run python -m camwatch.dashboards.generate", file=sys.stderr
            )
        return 1 if stale else 0
    for lang in langs:
        out = args.out if args.out is not None and args.lang else (args.out or HERE) / LANG_DIRS[lang]
        files = generated_files(
            lang=lang, basemap_tiles=args.basemap_tiles, basemap_attribution=args.basemap_attribution
        )
        for path, text in files.items():
            (out / path).parent.mkdir(parents=True, exist_ok=True)
            (out / path).write_text(text, encoding="utf-8")
            print(out / path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
