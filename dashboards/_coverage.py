"""Coverage: design and effective coverage against the targets, per category and area."""

from grafana_foundation_sdk.builders import bargauge, stat, table, timeseries
from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm

from camwatch.dashboards._grafana import (
    dashboard,
    label_variable,
    latest_value,
    merge_columns,
    panel,
    query,
    thresholds,
)
from camwatch.dashboards._i18n import t
from camwatch.dashboards._links import COVERAGE_UID
from camwatch.dashboards._promql import INSTANCE_LABELS, target_ratio

SELECTION = 'area=~"$area", category=~"$category"'
RATIO = f"camwatch_coverage_ratio{{{SELECTION}}}"
EFFECTIVE = f"camwatch_coverage_effective_ratio{{{SELECTION}}}"
TARGET = target_ratio()
RATE = dm.DynamicConfigValue(id_val="unit", value="percentunit")
# Shortfall against target: anything below zero misses the target.
SHORTFALL_COLOURS = thresholds("red", (-0.05, "orange"), (0.0, "green"))


def _per_pair(expr: str) -> str:
    """One row per (area, category) of each camwatch instance: area names (townships above all) repeat
    across counties, so two instances' areas are never merged."""
    return f"max by ({', '.join(INSTANCE_LABELS)}, area, category) ({expr})"


def build() -> db.Dashboard:
    """The coverage dashboard."""
    below = f"{EFFECTIVE} < on(category) group_left() {TARGET}"
    return (
        dashboard(
            "camwatch / Coverage",
            uid=COVERAGE_UID,
            description="How much of each road, intersection and key-site category the cameras cover, "
            "per area; "
            "effective coverage counts only cameras that are up.",
            variables=[
                label_variable("area", label="Area", metric="camwatch_coverage_ratio"),
                label_variable(
                    "category", label="Category", metric="camwatch_coverage_ratio", selector='area=~"$area"'
                ),
            ],
        )
        .with_panel(
            panel(
                stat.Panel().decimals(0).thresholds(thresholds("green", (1.0, "red"))),
                "Area × category below target",
                query(f"count({below}) or vector(0)"),
                width=6,
                height=4,
                description="Pairs whose effective coverage misses the category's target.",
            )
        )
        .with_panel(
            panel(
                stat.Panel().unit("percentunit").decimals(1).thresholds(SHORTFALL_COLOURS),
                "Largest shortfall",
                query(f"min({EFFECTIVE} - on(category) group_left() {TARGET})"),
                width=6,
                height=4,
                description="Effective coverage minus target for the worst area and category.",
            )
        )
        .with_panel(
            panel(
                stat.Panel().unit("percentunit").decimals(1),
                "Mean design coverage",
                query(f"avg({RATIO})"),
                width=6,
                height=4,
                description="Coverage if every camera were up.",
            )
        )
        .with_panel(
            panel(
                stat.Panel().unit("percentunit").decimals(1),
                "Mean effective coverage",
                query(f"avg({EFFECTIVE})"),
                width=6,
                height=4,
                description="Coverage by the cameras that are up now.",
            )
        )
        .with_panel(
            panel(
                table.Panel()
                .transformations(
                    merge_columns(
                        {
                            "Value #A": "Coverage",
                            "Value #B": "Effective coverage",
                            "Value #C": "Target",
                            "Value #D": "Effective − target",
                        }
                    )
                )
                .override_by_name(t("Coverage"), [RATE])
                .override_by_name(t("Effective coverage"), [RATE])
                .override_by_name(t("Target"), [RATE])
                .override_by_name(
                    t("Effective − target"),
                    [
                        RATE,
                        dm.DynamicConfigValue(id_val="thresholds", value=SHORTFALL_COLOURS.build()),
                        dm.DynamicConfigValue(
                            id_val="custom.cellOptions", value={"type": "color-background"}
                        ),
                    ],
                )
                .sort_by([cb.TableSortByFieldState().display_name(t("Effective − target")).desc(False)]),
                "Coverage by area and category",
                query(_per_pair(RATIO), table=True),
                query(_per_pair(EFFECTIVE), table=True),
                query(_per_pair(f"0 * {RATIO} + on(category) group_left() {TARGET}"), table=True),
                query(_per_pair(f"{EFFECTIVE} - on(category) group_left() {TARGET}"), table=True),
                width=24,
                height=10,
            )
        )
        .with_panel(
            panel(
                timeseries.Panel().unit("percentunit").max(1),
                "Effective coverage and target",
                query(_per_pair(EFFECTIVE), legend="{{area}} {{category}}"),
                query(
                    'max by (category) (camwatch_coverage_target_ratio{category=~"$category"})',
                    legend="target {{category}}",
                ),
                width=12,
                height=9,
            )
        )
        .with_panel(
            panel(
                bargauge.Panel()
                .orientation(cm.VizOrientation.HORIZONTAL)
                .unit("percentunit")
                .min(0)
                .max(1)
                .reduce_options(latest_value()),
                "Effective coverage by category",
                query(f"min by (category) ({EFFECTIVE})", legend="{{category}}", instant=True),
                width=12,
                height=9,
                description="The lowest effective coverage of each category over the selected areas.",
            )
        )
    )
