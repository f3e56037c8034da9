"""The ``coverage:`` section: layers, category targets, the basemap, the planner's search."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from camwatch.config.base import Duration, Frozen


class RankThresholds(Frozen):
    """Colour bands for rankings (逐月排名): below ``red`` is red, below ``orange`` orange, below ``yellow``
    yellow, otherwise green. Ratios in 0..1."""

    red: float = Field(0.85, ge=0, le=1)
    orange: float = Field(0.90, ge=0, le=1)
    yellow: float = Field(0.95, ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> RankThresholds:
        if not self.red <= self.orange <= self.yellow:
            raise ValueError("thresholds must satisfy red <= orange <= yellow")
        return self

    def colour(self, ratio: float) -> str:
        if ratio < self.red:
            return "red"
        if ratio < self.orange:
            return "orange"
        if ratio < self.yellow:
            return "yellow"
        return "green"


class CategorySpec(Frozen):
    kind: Literal["road", "intersection", "site"]
    target: float = Field(ge=0, le=1)
    # Optional DORI level a camera must reach for this category (IEC 62676-4).
    dori: Literal["detection", "observation", "recognition", "identification"] | None = None


class BasemapSettings(Frozen):
    """Tiles for the coverage map's base, served on the local network; without them the map draws its base
    from the layers (roads, buildings, areas) and asks no server for anything."""

    # An XYZ template such as http://10.1.2.3/tiles/{z}/{x}/{y}.png ({-y} for TMS servers).
    tiles: str
    attribution: str = ""
    max_zoom: int = Field(19, ge=0, le=24)

    @field_validator("tiles")
    @classmethod
    def _tiles(cls, v: str) -> str:
        try:
            parts = urlsplit(v)
            host = parts.hostname
            login = parts.username is not None or parts.password is not None
        except ValueError as error:
            raise ValueError(f"not a valid URL ({error})") from None
        if login:
            # The URL is written into map.html for every reader: it must not carry a login.
            raise ValueError("a tile URL must not carry a user or password; serve the tiles without a login")
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"tile URL scheme must be http or https, got {v!r}")
        if not host:
            raise ValueError(f"tile URL has no host: {v!r}")
        missing = [p for p in ("{z}", "{x}") if p not in v] + ([] if "{y}" in v or "{-y}" in v else ["{y}"])
        if missing:
            raise ValueError(
                f"tile URL must contain {{z}}, {{x}} and {{y}} (or {{-y}}); {v!r} lacks {', '.join(missing)}"
            )
        return v


class CoverageSettings(Frozen):
    roads: Path | None = None
    sites: Path | None = None
    buildings: Path | None = None
    areas: Path | None = None
    intersection_radius: float = Field(15.0, gt=0)
    site_buffer: float = Field(10.0, ge=0)
    min_gap_length: float = Field(30.0, ge=0)
    # Extra or overriding categories merged over the default vocabulary.
    categories: dict[str, CategorySpec] = Field(default_factory=dict)
    # Road classes of the roads layer: column -> {value: road category}, merged over config/categories.yaml's
    # `roads` (e.g. {道路等级: {县道: key_road}} makes county roads key roads).
    road_classes: dict[str, dict[str, str]] = Field(default_factory=dict)
    recompute_interval: Duration = 900.0
    thresholds: RankThresholds = RankThresholds()
    max_suggestions: int = Field(500, ge=0)
    # None: the map's base is drawn from the layers (offline-safe).
    basemap: BasemapSettings | None = None
