"""Coverage gaps: uncovered road stretches, intersections and key sites as map features."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from camwatch.coverage.measure import CoverageModel

GAP_COLUMNS = ["kind", "category", "area", "length_m", "name", "osm_id"]


def finest_area(model: CoverageModel) -> NDArray[np.object_]:
    """The most detailed area path of each feature (village, else township, else county, else ``all``)."""
    return model.finest_area()


def merged_lines(frame: gpd.GeoDataFrame, by: list[str]) -> gpd.GeoDataFrame:
    """Lines dissolved by ``by`` and merged into continuous stretches, one row per stretch."""
    if frame.empty:
        return gpd.GeoDataFrame({c: [] for c in by}, geometry=[], crs=frame.crs)
    # What GeoDataFrame.dissolve does (groups in key order, members in row order, one GEOS unary union of
    # each group's collection), in one vectorised call instead of a Python call per group: about 1,300
    # groups on a county.
    group = frame.groupby(by, sort=True).ngroup().to_numpy()
    rows = np.flatnonzero(group >= 0)  # rows with a missing key belong to no group, as in dissolve
    rows = rows[np.argsort(group[rows], kind="stable")]
    members = group[rows]
    first = rows[np.r_[True, members[1:] != members[:-1]]] if len(rows) else rows
    collections = shapely.geometrycollections(frame.geometry.to_numpy()[rows], indices=members)
    merged = shapely.lib.unary_union(collections)  # shapely.union_all's own last step, per collection
    dissolved = gpd.GeoDataFrame(
        frame[by].iloc[first].reset_index(drop=True),
        geometry=shapely.line_merge(merged),
        crs=frame.crs,
    )
    return dissolved.explode(index_parts=False).reset_index(drop=True)


def find_gaps(model: CoverageModel) -> gpd.GeoDataFrame:
    """Gap features in the model's CRS: :data:`GAP_COLUMNS` + geometry.

    Roads: continuous uncovered stretches (per category and area) of at least ``min_gap_length`` m, as
    LineStrings; intersections and sites that no camera sees, as Points (``length_m`` 0). Coverage here is
    the design coverage (every camera counts): a gap is where the network has no camera, not a camera down.
    ``name`` and ``osm_id`` say which road or site it is in the source layer; a road gap running along
    several ways lists each once, joined by "; ".
    """
    area = finest_area(model)
    features = model.features
    stretches = model.road_stretches()
    uncovered = stretches[~stretches["covered"]]
    uncovered = uncovered.assign(area=area[uncovered["feature"]]).reset_index(drop=True)
    roads = merged_lines(uncovered, ["category", "area"])
    roads["length_m"] = roads.length
    roads = roads[roads["length_m"] >= model.settings.min_gap_length].reset_index(drop=True)
    roads = roads.assign(kind="road", **_source_ids(roads, uncovered, features))
    coverage = model.feature_coverage()
    unseen = (features["kind"] != "road").to_numpy() & (coverage["covered"].to_numpy() <= 0)
    points = gpd.GeoDataFrame(
        {
            "kind": features["kind"].to_numpy()[unseen],
            "category": features["category"].to_numpy()[unseen],
            "area": area[unseen],
            "length_m": 0.0,
            "name": features["name"].to_numpy()[unseen],
            "osm_id": features["osm_id"].to_numpy()[unseen],
        },
        geometry=features["anchor"].to_numpy()[unseen],
        crs=model.crs,
    )
    gaps = pd.concat([roads[[*GAP_COLUMNS, "geometry"]], points], ignore_index=True)
    return gpd.GeoDataFrame(gaps, geometry="geometry", crs=model.crs)


def _source_ids(
    gaps: gpd.GeoDataFrame, stretches: gpd.GeoDataFrame, features: gpd.GeoDataFrame
) -> dict[str, list[str]]:
    """``name`` and ``osm_id`` of each road gap: those of the uncovered stretches it was merged from."""
    source = stretches["feature"].to_numpy()
    # Only stretches with a name or an id have something to say; the test of which gap covers a stretch is
    # made only where their category and area agree (a box query, then the predicate on those pairs).
    named = np.flatnonzero(
        (features["name"].to_numpy()[source] != "") | (features["osm_id"].to_numpy()[source] != "")
    )
    lines = stretches.geometry.to_numpy()
    part, gap = shapely.STRtree(gaps.geometry.to_numpy()).query(lines[named])
    part = named[part]
    same = (stretches["category"].to_numpy()[part] == gaps["category"].to_numpy()[gap]) & (
        stretches["area"].to_numpy()[part] == gaps["area"].to_numpy()[gap]
    )
    part, gap = part[same], gap[same]
    within = shapely.covered_by(lines[part], gaps.geometry.to_numpy()[gap])
    part, gap = part[within], gap[within]
    feature = source[part]
    out = {}
    for column in ("name", "osm_id"):
        pairs = pd.DataFrame({"gap": gap, column: features[column].to_numpy()[feature]})
        ids = pairs[pairs[column] != ""].drop_duplicates()
        joined = ids.groupby("gap", sort=False)[column].agg("; ".join)
        out[column] = joined.reindex(range(len(gaps)), fill_value="").tolist()
    return out
