"""Building blocks shared by the camwatch dashboards: datasource, queries, variables, panels, rendering."""

import json
from collections.abc import Sequence
from typing import Any, Protocol, Self, TypeVar

from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import prometheus
from grafana_foundation_sdk.builders import table as table_panel
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models import prometheus as pm

from camwatch.dashboards._i18n import t
from camwatch.dashboards._i18n import uid as lang_uid
from camwatch.dashboards._links import CAMERA_UID, dashboard_path
from camwatch.dashboards._promql import LEVEL_LABELS, RATE_LEVELS

# Every panel and variable queries the Prometheus picked in the $datasource variable, so the files work
# unchanged in any Grafana, not only with the provisioned datasource.
DATASOURCE = dm.DataSourceRef(type_val="prometheus", uid="${datasource}")
TAG = "camwatch"


class _Panel(Protocol):
    def title(self, title: str) -> Self: ...
    def description(self, description: str) -> Self: ...
    def datasource(self, datasource: dm.DataSourceRef) -> Self: ...
    def targets(self, targets: list[Any]) -> Self: ...
    def height(self, h: int) -> Self: ...
    def span(self, w: int) -> Self: ...


P = TypeVar("P", bound=_Panel)


def query(expr: str, *, legend: str = "", instant: bool = False, table: bool = False) -> prometheus.Dataquery:
    """A PromQL range target, or ``instant``; ``table`` makes it an instant table (tables, maps)."""
    target = prometheus.Dataquery().expr(expr)
    if legend:
        target = target.legend_format(t(legend))
    if instant or table:
        target = target.instant()
    if table:
        target = target.format(pm.PromQueryFormat.TABLE)
    return target


def latest_value() -> cb.ReduceDataOptions:
    """Reduce each series to its latest value (stat and bar gauge panels)."""
    return cb.ReduceDataOptions().calcs(["lastNotNull"])


def panel(
    builder: P, title: str, *queries: prometheus.Dataquery, width: int, height: int, description: str = ""
) -> P:
    """``builder`` with a title, the shared datasource, its targets (refIds A, B, …) and its size."""
    targets = [q.ref_id(chr(ord("A") + i)) for i, q in enumerate(queries)]
    built = builder.title(t(title)).datasource(DATASOURCE).targets(targets).span(width).height(height)
    return built.description(t(description)) if description else built


def datasource_variable() -> db.DatasourceVariable:
    """The ``$datasource`` picker, defaulting to Grafana's default Prometheus."""
    return db.DatasourceVariable("datasource").label("Prometheus").type("prometheus")


def label_variable(
    name: str, *, label: str, metric: str = "camwatch_camera_info", selector: str = "", multi: bool = True
) -> db.QueryVariable:
    """A variable listing the values of ``label`` on ``metric{selector}`` (chained through ``selector``)."""
    variable = (
        db.QueryVariable(name)
        .label(t(label))
        .datasource(DATASOURCE)
        .query(
            f"label_values({metric}{{{selector}}}, {name})" if selector else f"label_values({metric}, {name})"
        )
        .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dm.VariableSort.ALPHABETICAL_ASC)
    )
    if multi:
        variable = variable.multi(True).include_all(True).all_value(".*")
    return variable


def area_variables(*levels: str) -> list[db.QueryVariable]:
    """Chained area pickers: each level lists only the values inside the levels above it."""
    return [
        label_variable(
            level,
            label=LEVEL_LABELS[level],
            selector=", ".join(f'{label}=~"${label}"' for label in RATE_LEVELS[level][:-1]),
        )
        for level in levels
    ]


def hide_columns(*names: str) -> dm.DataTransformerConfig:
    """An ``organize`` transformation hiding columns such as Time."""
    return dm.DataTransformerConfig(id_val="organize", options={"excludeByName": dict.fromkeys(names, True)})


def merge_columns(
    renames: dict[str, str], *, hidden: tuple[str, ...] = ("Time",)
) -> list[dm.DataTransformerConfig]:
    """Transformations merging several table queries into one row per series, with named value columns."""
    return [
        dm.DataTransformerConfig(id_val="merge", options={}),
        dm.DataTransformerConfig(
            id_val="organize",
            options={
                "excludeByName": dict.fromkeys(hidden, True),
                "renameByName": {ref: t(name) for ref, name in renames.items()},
            },
        ),
    ]


def camera_detail_link(field: str = "camera") -> dm.DynamicConfigValue:
    """A data link from a table cell holding a camera id to that camera's detail dashboard."""
    return dm.DynamicConfigValue(
        id_val="links",
        value=[
            {
                "title": f"{t('Camera detail for')} ${{__data.fields.{field}}}",
                "url": dashboard_path(CAMERA_UID, camera="${__value.raw}"),
            }
        ],
    )


def thresholds(base: str, *steps: tuple[float, str]) -> db.ThresholdsConfig:
    """Absolute colour thresholds: ``base`` below the first step, each step's colour from its value up."""
    levels = [
        dm.Threshold(value=None, color=base),
        *(dm.Threshold(value=value, color=color) for value, color in steps),
    ]
    return db.ThresholdsConfig().mode(dm.ThresholdsMode.ABSOLUTE).steps(levels)


def value_states(states: dict[int, tuple[str, str]]) -> tuple[list[dm.ValueMapping], db.ThresholdsConfig]:
    """Value mappings (text and colour) and matching thresholds for a few numeric states, lowest first."""
    ordered = sorted(states.items())
    mappings: list[dm.ValueMapping] = [
        dm.ValueMap(options={str(value): dm.ValueMappingResult(text=t(text), color=color, index=i)})
        for i, (value, (text, color)) in enumerate(ordered)
    ]
    (_, (_, base)), *rest = ordered
    return mappings, thresholds(base, *((float(value), color) for value, (_, color) in rest))


def state_table(
    title: str,
    columns: dict[str, str],
    *,
    states: dict[int, tuple[str, str]],
    units: dict[str, str],
    width: int,
    height: int,
    description: str,
) -> table_panel.Panel:
    """A table of one row per series (a device, a disk): a column per entry of ``columns`` (its title ->
    an instant table query, in order), the first a state of ``states`` shown on its colour, by which the
    rows sort (the lowest, failed, first); ``units``: a column title -> its unit."""
    mappings, colours = value_states(states)
    state = next(iter(columns))
    refs = {f"Value #{chr(ord('A') + i)}": name for i, name in enumerate(columns)}
    state_column = [
        dm.DynamicConfigValue(id_val="mappings", value=mappings),
        dm.DynamicConfigValue(id_val="thresholds", value=colours.build()),
        dm.DynamicConfigValue(id_val="custom.cellOptions", value={"type": "color-background"}),
    ]
    builder = (
        table_panel.Panel().transformations(merge_columns(refs)).override_by_name(t(state), state_column)
    )
    for name, unit in units.items():
        builder = builder.override_by_name(t(name), [dm.DynamicConfigValue(id_val="unit", value=unit)])
    builder = builder.sort_by([cb.TableSortByFieldState().display_name(t(state)).desc(False)])
    queries = (query(expr, table=True) for expr in columns.values())
    return panel(builder, title, *queries, width=width, height=height, description=description)


def dashboard(
    title: str, *, uid: str, description: str, variables: Sequence[Builder[dm.VariableModel]] = ()
) -> db.Dashboard:
    """A camwatch dashboard: tagged, linked to its siblings, ``$datasource`` then ``variables`` as pickers."""
    return (
        db.Dashboard(t(title))
        .uid(lang_uid(uid))
        .description(t(description))
        .tags([lang_uid(TAG)])
        .editable()
        .time("now-6h", "now")
        .refresh("1m")
        .timezone("browser")
        .tooltip(dm.DashboardCursorSync.CROSSHAIR)
        .link(
            db.DashboardLink(t("camwatch"))
            .type(dm.DashboardLinkType.DASHBOARDS)
            .tags([lang_uid(TAG)])
            .as_dropdown(True)
            .keep_time(True)
            .include_vars(False)
        )
        .variables([datasource_variable(), *variables])
    )


def render(builder: db.Dashboard) -> str:
    """The dashboard's JSON text, with panel ids numbered in layout order."""
    model = builder.build()
    for number, item in enumerate(model.panels or [], start=1):
        item.id_val = number
        # Grafana fills in a plugin's default options only where the object exists.
        if isinstance(item, dm.Panel) and item.options is None:
            item.options = {}
    return json.dumps(model, cls=JSONEncoder, indent=2, ensure_ascii=False) + "\n"
