"""The coverage category vocabulary: targets, DORI levels and the OSM tag mapping, merged with overrides."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

from camwatch.config.errors import ConfigError, Problem
from camwatch.config.models import CategorySpec


@dataclass(frozen=True)
class CategoryCatalog:
    """Every category a report knows, and how source tags become categories.

    ``specs`` maps a category name to its :class:`CategorySpec`; ``road_tags`` and ``site_tags`` map an OSM
    key to ``{value: category}`` (sites try the keys in order, first match wins); an intersection is
    ``key_intersection`` when a road of a ``key_roads`` category passes through it, else
    ``other_intersection``.
    """

    specs: Mapping[str, CategorySpec]
    road_tags: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    site_tags: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    key_roads: frozenset[str] = frozenset()
    key_intersection: str = "key_intersection"
    other_intersection: str = "intersection"

    def of_kind(self, kind: str) -> list[str]:
        """Category names of one kind (``road``, ``intersection``, ``site``), in vocabulary order."""
        return [name for name, spec in self.specs.items() if spec.kind == kind]


@cache
def _default_document() -> dict[str, Any]:
    text = resources.files("camwatch.config").joinpath("categories.yaml").read_text(encoding="utf-8")
    document: dict[str, Any] = yaml.safe_load(text)
    return document


def load_categories(
    overrides: Mapping[str, CategorySpec] | None = None,
    road_classes: Mapping[str, Mapping[str, str]] | None = None,
) -> CategoryCatalog:
    """The default catalogue (``config/categories.yaml``) with ``overrides`` (``CoverageSettings.categories``)
    replacing or adding categories by name, and ``road_classes`` (``CoverageSettings.road_classes``: column
    -> {value: category}) replacing or adding road classes.

    Raises
    ------
    ConfigError
        A road class mapped to a category that is not a road category.
    """
    document = _default_document()
    specs = {name: CategorySpec(**spec) for name, spec in document["categories"].items()}
    specs.update(overrides or {})
    roads = {
        column: {**document["roads"].get(column, {}), **values}
        for column, values in (road_classes or {}).items()
    }
    problems = [
        Problem(
            "coverage",
            None,
            f"road_classes.{column}.{value}",
            f"{category!r} is not a road category; use one of "
            + ", ".join(name for name, spec in specs.items() if spec.kind == "road"),
        )
        for column, values in (road_classes or {}).items()
        for value, category in values.items()
        if category not in specs or specs[category].kind != "road"
    ]
    if problems:
        raise ConfigError(problems)
    crossings = document["intersections"]
    return CategoryCatalog(
        specs=specs,
        road_tags={**document["roads"], **roads},
        site_tags=document["sites"],
        key_roads=frozenset(crossings["key_when_road"]),
        key_intersection=crossings["key"],
        other_intersection=crossings["other"],
    )
