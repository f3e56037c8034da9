"""`camwatch coverage`: build the model, measure, find gaps, suggest cameras and write every report file."""

from __future__ import annotations

import functools
import importlib
import logging
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from camwatch.config.models import Camera, Config, CoverageSettings
from camwatch.coverage.aside import aside
from camwatch.coverage.gaps import find_gaps
from camwatch.coverage.layers import Layers, assign_areas
from camwatch.coverage.measure import CoverageModel, Step, area_paths
from camwatch.coverage.placement import suggest_cameras
from camwatch.coverage.status import CameraState, FleetStatus, load_states
from camwatch.reports import coverage as report

if TYPE_CHECKING:
    from camwatch.coverage.mapview import Drawn

log = logging.getLogger(__name__)

SAMPLE_FILES = {
    "roads": "sample_roads.gpkg",
    "sites": "sample_sites.gpkg",
    "buildings": "sample_buildings.gpkg",
    "areas": "sample_areas.gpkg",
}
SAMPLE_CAMERAS = "sample_cameras.csv"

# Stages announced by run_coverage, for the progress bar's length.
_STAGES = 9


def sample_folder() -> Path:
    return Path(str(resources.files("camwatch.coverage") / "data"))


def sample_area() -> CoverageSettings:
    """Coverage settings for the bundled sample area (central Helsinki from OpenStreetMap, © OpenStreetMap
    contributors, ODbL; areas are illustrative districts), used by ``camwatch demo``."""
    folder = sample_folder()
    return CoverageSettings(**{role: folder / name for role, name in SAMPLE_FILES.items()})


def sample_cameras() -> list[Camera]:
    """The OpenStreetMap surveillance cameras of the sample area, with the district they stand in."""
    table = pd.read_csv(sample_folder() / SAMPLE_CAMERAS, dtype=str, keep_default_na=False)
    numeric = {"lat", "lon", "direction", "hfov", "range"}
    return [
        Camera(**{k: (float(v) if k in numeric else v) for k, v in row.items() if v != ""})
        for row in table.to_dict("records")
    ]


@contextmanager
def _progress() -> Iterator[Step]:
    """A progress bar over the report's stages on stderr; silent when stderr is not a terminal."""
    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, disable=not sys.stderr.isatty(), transient=True) as bar:
        task = bar.add_task("coverage", total=_STAGES)

        def step(stage: str) -> None:
            bar.update(task, description=stage, advance=1)
            log.debug("coverage: %s", stage)

        yield step
        bar.update(task, completed=_STAGES)


def run_coverage(
    config: Config, out: Path, *, status: Path | None = None, lang: str = "en", force: bool = False
) -> dict[str, Any]:
    """Write the coverage report of ``config`` into ``out`` and return the ``summary.json`` document.

    ``status`` is a ``camwatch probe --json`` file or the monitor's state database; without it every camera
    counts as up. Files: ``summary.json``, ``gaps.geojson``, ``by_area.csv``, ``suggestions.csv``,
    ``suggestions.geojson``, ``report.md``, ``map.html``; ``lang`` (``zh`` or ``en``) is the language of
    ``report.md`` and the CSV files. Cameras and layers that do not overlap are refused (ConfigError)
    unless ``force``. Warnings (cameras and layers apart, a status file naming none of the
    cameras, no areas) are logged and head ``report.md``.
    """
    states = load_states(status) if status is not None else None
    # The map's module (folium: 0.4 s) imported once, before the children that use it are forked.
    importlib.import_module("camwatch.coverage.mapview")
    # Forked children (see aside) use the second core: the map's base, fields of view and cameras while the
    # model is built, its roads while the gaps and suggestions are found, the gaps' files (GDAL) and their
    # map layers while the cameras are suggested, the other files while the page is rendered. Leaving the
    # block waits for each.
    with _progress() as step, ExitStack() as children:
        base: list[Callable[[], Drawn]] = []
        views: list[Callable[[], tuple[Drawn, Drawn]]] = []

        def draw_base(layers: Layers) -> None:
            base.append(children.enter_context(aside(functools.partial(_prepare_base, layers, lang))))

        def draw_views(cameras: gpd.GeoDataFrame, sectors: NDArray[np.object_]) -> None:
            job = functools.partial(_prepare_views, cameras, sectors, states, lang)
            views.append(children.enter_context(aside(job)))

        model = CoverageModel.from_config(
            config, step=step, refuse_apart=not force, layers_read=draw_base, views_drawn=draw_views
        )
        # The snapshot, read once, lined up with the placed cameras: every later stage takes its flags.
        fleet = FleetStatus.of(states, model.cameras["camera"])
        step("measuring")
        rows = model.measure_frame(fleet.working if fleet.given else None)
        scores = report.area_scores(rows, model.settings.thresholds)
        step("finding gaps")
        model.road_stretches()  # computed once, before the fork: the gaps need them too
        roads = children.enter_context(aside(functools.partial(_prepare_roads, model, lang)))
        gaps = find_gaps(model)
        # The report files and the map show the gaps in the same degrees: projected once.
        in_degrees = gaps.to_crs(4326)
        out.mkdir(parents=True, exist_ok=True)
        # Each gap file in its own child (GDAL, 1.5 s and 0.8 s on a county): the files were the run's tail.
        for name in report.GAP_FORMATS:
            job = functools.partial(report.write_gap_files, out, in_degrees, formats=(name,))
            children.enter_context(aside(job))
        gap_layers = children.enter_context(aside(functools.partial(_prepare_gaps, in_degrees, lang)))
        step("suggesting cameras")
        suggestions = suggest_cameras(model)
        step("writing report")
        needed = report.cameras_needed(suggestions)
        warnings = _warnings(model, fleet, status, scores, lang)
        for warning in warnings:
            log.warning("%s", warning)
        log.info("%s", report.suggestions_outcome(suggestions, lang))
        document = report.summary(rows, scores, crs=model.crs.to_string())
        text = report.markdown(
            rows,
            scores,
            facts=_facts(model, fleet),
            gaps=gaps,
            suggestions=suggestions,
            needed=needed,
            warnings=warnings,
            lang=lang,
        )
        table = report.suggestion_table(
            suggestions,
            ledger_crs=_ledger_crs(config),
            kinds={name: spec.kind for name, spec in model.catalog.specs.items()},
        )
        files = functools.partial(
            report.write_files,
            out,
            document=document,
            area_table=report.by_area(rows, scores, needed),
            suggestions=table,
            text=text,
            lang=lang,
        )
        children.enter_context(aside(files))
        step("drawing the map")
        sectors, cameras = views[0]()
        _write_map(
            out / "map.html",
            model,
            base=base[0](),
            roads=roads(),
            sectors=sectors,
            cameras=cameras,
            gaps=gap_layers(),
            suggestions=suggestions,
            scores=scores,
            needed=needed,
            lang=lang,
        )
    return document


def _ledger_crs(config: Config) -> str:
    """The coordinate system most of the ledger's cameras were given in (suggestions are given in it too)."""
    systems = Counter(c.source_crs for c in config.cameras if c.has_position)
    return systems.most_common(1)[0][0] if systems else "wgs84"


# Cameras named in the warning that their ledger township contradicts where they stand.
MISPLACED_SHOWN = 5


def _warnings(
    model: CoverageModel,
    fleet: FleetStatus,
    status: Path | None,
    scores: pd.DataFrame,
    lang: str = "en",
) -> list[str]:
    """What makes the report's figures suspect, in words a planner can act on (in ``lang``)."""
    zh = lang == "zh"
    found = []
    cameras, features = model.cameras, model.features
    if len(cameras) and len(features):
        seen = shapely.box(*shapely.total_bounds(model.sectors))
        if not seen.intersects(shapely.box(*features.total_bounds)):
            found.append(
                "摄像机与覆盖分析图层不重叠，因此没有任何覆盖："
                "请检查台账的坐标系（crs: wgs84、gcj02 或 bd09）和图层的坐标系"
                if zh
                else "the cameras and the coverage layers do not overlap, so nothing is covered: check the "
                "ledger's coordinate system (crs: wgs84, gcj02 or bd09) and the layers' CRS"
            )
    if fleet.given and len(cameras) and not fleet.named:
        known = cameras["camera"].nunique()
        found.append(
            f"状态文件 {status} 不含这 {known} 台摄像机中的任何一台（它列出的是另外 {fleet.listed} "
            "台），因此有效覆盖率把每台摄像机都算作离线：它是否来自另一份配置？"
            if zh
            else f"the status file {status} names none of the {known} cameras (it names "
            f"{fleet.listed} others), so every camera counts as down in the effective coverage: "
            "was it taken with another config?"
        )
    misplaced = _misplaced(model)
    if misplaced:
        shown = misplaced[:MISPLACED_SHOWN]
        more = len(misplaced) - len(shown)
        if zh:
            rows = "；".join(f"{c}（台账：{ledger}，实际位于：{found_in}）" for c, ledger, found_in in shown)
            found.append(
                f"{len(misplaced)} 台摄像机的台账乡镇与其坐标所在的乡镇不一致：{rows}"
                + (f"；另有 {more} 台" if more else "")
                + "。请核对坐标或台账；报告按坐标所在区域统计覆盖。"
            )
        else:
            rows = "; ".join(f"{c} (ledger {ledger}, stands in {found_in})" for c, ledger, found_in in shown)
            found.append(
                f"{len(misplaced)} camera{'s stand' if len(misplaced) > 1 else ' stands'} in another "
                f"township than their ledger names: {rows}"
                + (f"; {more} more" if more else "")
                + ". Check their coordinates or the ledger; coverage is counted where they stand."
            )
    if scores.empty and len(features):
        found.append(
            "没有区域：没有区域图层，台账也未填写县（区）、乡镇或村，因此 by_area.csv 和排名为空"
            if zh
            else "no areas: there is no areas layer and the ledger names no county, township or village, so "
            "by_area.csv and the rankings are empty"
        )
    return found


def _misplaced(model: CoverageModel) -> list[tuple[str, str, str]]:
    """Cameras whose ledger township differs from the township polygon they stand in: (camera, ledger
    township, polygon's township), in ledger order."""
    areas, cameras = model.layers.areas, model.cameras
    townships = areas[areas["level"] == "township"]
    if townships.empty or cameras.empty:
        return []
    names = assign_areas(cameras.geometry.to_numpy(), townships, cameras.iloc[:0])["township"].to_numpy()
    ledger = cameras["township"].fillna("").astype(str).to_numpy()
    ids = cameras["camera"].to_numpy()
    # Only a township the layer knows can be contradicted: a ledger that names its townships otherwise (an
    # older division, a code) says nothing about where its cameras stand.
    known = set(townships["name"].astype(str))
    return [
        (str(ids[i]), ledger[i], names[i])
        for i in range(len(ids))
        if ledger[i] in known and names[i] and ledger[i] != names[i]
    ]


def _facts(model: CoverageModel, fleet: FleetStatus) -> list[tuple[str, str]]:
    cameras = model.cameras
    facts = [
        ("Projected CRS", model.crs.to_string()),
        ("Cameras placed", str(len(cameras))),
        ("Cameras with default direction or FOV", str(int(cameras["assumed_view"].sum()))),
    ]
    if fleet.given:
        placed = len(fleet.up)
        facts.append(("Cameras up in the status snapshot", f"{int(fleet.up.sum())} / {placed}"))
        facts.append(
            ("Cameras in working order (effective coverage)", f"{int(fleet.working.sum())} / {placed}")
        )
        for reason, count in sorted(fleet.left_out.items()):
            facts.append((f"Left out of effective coverage: {reason}", str(count)))
    kinds = model.features["kind"].value_counts()
    facts += [
        (f"{kind.capitalize()} features", str(int(kinds.get(kind, 0))))
        for kind in ("road", "intersection", "site")
    ]
    return facts


def _prepare_base(layers: Layers, lang: str) -> Drawn:
    """The map's base (:func:`camwatch.coverage.mapview.prepare_base`): buildings and streets in EPSG:4326."""
    from camwatch.coverage.mapview import prepare_base

    return prepare_base(
        buildings=layers.buildings[["geometry"]].to_crs(4326),
        streets=layers.roads[["category", "geometry"]].to_crs(4326),
        lang=lang,
    )


def _prepare_gaps(gaps: gpd.GeoDataFrame, lang: str) -> Drawn:
    """The map's gaps (:func:`camwatch.coverage.mapview.prepare_gaps`); ``gaps`` in EPSG:4326."""
    from camwatch.coverage.mapview import prepare_gaps

    return prepare_gaps(gaps, lang)


def _prepare_roads(model: CoverageModel, lang: str) -> Drawn:
    """The map's roads by design coverage (:func:`camwatch.coverage.mapview.prepare_roads`)."""
    from camwatch.coverage.mapview import prepare_roads

    return prepare_roads(model.road_stretches()[["category", "covered", "geometry"]].to_crs(4326), lang)


def _prepare_views(
    cameras: gpd.GeoDataFrame,
    sectors: NDArray[np.object_],
    states: Mapping[str, CameraState] | None,
    lang: str,
) -> tuple[Drawn, Drawn]:
    """The map's fields of view and cameras by the status snapshot (:func:`camwatch.coverage.mapview.
    prepare_views`); ``cameras`` and ``sectors`` in the layers' CRS."""
    from camwatch.coverage.mapview import prepare_views

    fleet = FleetStatus.of(states, cameras["camera"])
    # A turned or sprayed camera looks somewhere else than its sector: drawn as unverified, not counted.
    fields = gpd.GeoDataFrame(
        {"camera": cameras["camera"].to_numpy(), "up": fleet.working, "unverified": fleet.unverified},
        geometry=sectors,
        crs=cameras.crs,
    )
    points = gpd.GeoDataFrame(
        {
            "camera": cameras["camera"].to_numpy(),
            "name": cameras["name"].to_numpy(),
            "up": fleet.working.astype(object) if fleet.given else np.full(len(cameras), None, dtype=object),
        },
        geometry=cameras.geometry.to_numpy(),
        crs=cameras.crs,
    )
    return prepare_views(sectors=fields.to_crs(4326), cameras=points.to_crs(4326), lang=lang)


def _write_map(
    path: Path,
    model: CoverageModel,
    *,
    base: Drawn,
    roads: Drawn,
    sectors: Drawn,
    cameras: Drawn,
    gaps: Drawn,
    suggestions: gpd.GeoDataFrame,
    scores: pd.DataFrame,
    needed: Mapping[str, int],
    lang: str,
) -> None:
    """Hand the prepared layers and the rest, in EPSG:4326, to :func:`~camwatch.coverage.mapview.finish_map`
    (the map)."""
    from camwatch.coverage.mapview import finish_map

    finish_map(
        path,
        base=base,
        roads=roads,
        sectors=sectors,
        cameras=cameras,
        gaps=gaps,
        suggestions=suggestions[["direction", "gain", "area", "geometry"]].to_crs(4326),
        areas=_area_polygons(model, scores, needed).to_crs(4326),
        basemap=model.settings.basemap,
        lang=lang,
    )


def _area_polygons(model: CoverageModel, scores: pd.DataFrame, needed: Mapping[str, int]) -> gpd.GeoDataFrame:
    """The areas layer's polygons named by path, with their status, score (as ``ratio``) and the suggested
    cameras they need (``needed``)."""
    columns = ["area", "level", "status", "ratio", "needed"]
    polygons = model.layers.areas
    if polygons.empty or scores.empty:
        return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs=model.crs)
    names = assign_areas(shapely.point_on_surface(polygons.geometry.to_numpy()), polygons, model.cameras)
    paths = area_paths(names)
    area = [paths[level][i] for i, level in enumerate(polygons["level"])]
    frame = gpd.GeoDataFrame(
        {"area": area, "level": polygons["level"].to_numpy()},
        geometry=polygons.geometry.to_numpy(),
        crs=model.crs,
    )
    frame = frame.merge(scores[["level", "area", "status", "score"]], on=["level", "area"], how="left")
    frame = frame.rename(columns={"score": "ratio"})
    frame["needed"] = [needed.get(path, 0) for path in frame["area"]]
    return gpd.GeoDataFrame(frame[[*columns, "geometry"]], geometry="geometry", crs=model.crs)
