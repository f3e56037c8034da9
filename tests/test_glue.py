"""The service's link to the coverage engine is lazy: a service without coverage never loads geopandas,
shapely, GDAL or PROJ (≈ 70 MB resident). That the factory still builds the model and coverage metrics appear
is checked end to end in tests/test_e2e_prometheus.py and tests/test_e2e_city.py."""

from __future__ import annotations

import subprocess
import sys

LAZY = """
import sys
from camwatch.glue import coverage_factory
assert coverage_factory() is not None, "the coverage engine is installed here"
heavy = ("geopandas", "shapely", "pyproj", "pyogrio", "camwatch.coverage.measure")
print(",".join(sorted(m for m in heavy if m in sys.modules)))
"""


def test_the_coverage_engine_is_not_imported_until_a_model_is_built() -> None:
    done = subprocess.run([sys.executable, "-c", LAZY], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == ""
