"""Placement's shortcuts change nothing it suggests; the status snapshot is read once; the report files are
written beside the map in a child process that reports its failure."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely import LineString, box

from camwatch.config.models import CoverageSettings
from camwatch.coverage import placement
from camwatch.coverage.aside import aside
from camwatch.coverage.measure import CoverageModel
from camwatch.coverage.placement import suggest_cameras
from camwatch.coverage.status import CameraState, FleetStatus
from support.coverage_sample import camera_at, write_layer


def test_pieces_are_cut_as_geos_segmentize_cuts_them() -> None:
    rng = np.random.default_rng(7)
    ends = rng.uniform(-500, 500, (3000, 2, 2))
    ends[0, 1] = ends[0, 0] + [6, 8]  # exactly 10 m: one piece
    ends[1, 1] = ends[1, 0] + [20, 0]  # exactly two pieces
    pieces, owner = placement._pieces(ends, 10.0)
    dense = shapely.segmentize(shapely.linestrings(ends), 10.0)
    coords, line = shapely.get_coordinates(dense, return_index=True)
    same = line[1:] == line[:-1]
    np.testing.assert_array_equal(pieces, np.stack([coords[:-1][same], coords[1:][same]], axis=1))
    np.testing.assert_array_equal(owner, line[:-1][same])


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> CoverageModel:
    """A 1.2 km grid of streets, a few blocks of buildings and three cameras: most of it is a gap."""
    folder = tmp_path_factory.mktemp("town")
    streets = [LineString([(x, 0), (x, 1200)]) for x in range(0, 1201, 200)]
    streets += [LineString([(0, y), (1200, y)]) for y in range(0, 1201, 200)]
    categories = ["key_road" if i % 3 == 0 else "village_road" for i in range(len(streets))]
    blocks = [box(x + 20, y + 20, x + 60, y + 50) for x in range(0, 1200, 200) for y in range(0, 1200, 200)]
    settings = CoverageSettings(
        roads=write_layer(folder / "roads.gpkg", streets, category=categories),
        buildings=write_layer(folder / "buildings.gpkg", blocks),
        # Few suggestions for the length of road: candidates stand ~170 m apart, beyond one another's reach.
        max_suggestions=5,
    )
    cameras = [
        camera_at(f"c{i}", x, y, direction=d, hfov=90.0)
        for i, (x, y, d) in enumerate([(0, 100, 0.0), (400, 600, 90.0), (1000, 1000, 180.0)])
    ]
    return CoverageModel.build(cameras, settings)


def test_only_pieces_within_reach_change_no_suggestion(
    town: CoverageModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    within_reach = placement._within_reach
    taken: list[tuple[int, int]] = []

    def counted(demand: placement.Demand, points: np.ndarray, reach: float) -> np.ndarray:
        rows: np.ndarray = within_reach(demand, points, reach)
        taken.append((len(rows), len(demand)))
        return rows

    monkeypatch.setattr(placement, "_within_reach", counted)
    fast = suggest_cameras(town)
    assert len(fast) == 5 and fast.attrs["cap_reached"]
    ((kept, demand),) = taken
    assert kept < 0.6 * demand  # many pieces lie beyond every candidate's reach

    # Every piece of road in the demand, however far from any candidate: the same picks, gains and covers.
    def everything(demand: placement.Demand, points: np.ndarray, reach: float) -> np.ndarray:
        return np.arange(len(demand))

    monkeypatch.setattr(placement, "_within_reach", everything)
    full = suggest_cameras(town)
    assert full.attrs == fast.attrs
    np.testing.assert_array_equal(
        shapely.get_coordinates(full.geometry), shapely.get_coordinates(fast.geometry)
    )
    np.testing.assert_array_equal(full["gain"], fast["gain"])
    np.testing.assert_array_equal(full["direction"], fast["direction"])
    assert list(full["covers"]) == list(fast["covers"])


def test_status_snapshot_lined_up_with_the_placed_cameras(town: CoverageModel) -> None:
    states = {
        "c0": CameraState(up=True, working=True),
        "c1": CameraState(up=True, working=False, faults=("moved",)),
        "gone": CameraState(up=False, working=False),
    }
    fleet = FleetStatus.of(states, town.cameras["camera"])
    assert fleet.given and fleet.listed == 3 and fleet.named == 2
    assert fleet.up.tolist() == [True, True, False]
    assert fleet.working.tolist() == [True, False, False]
    assert fleet.unverified.tolist() == [False, True, False]
    assert dict(fleet.left_out) == {"looks elsewhere (moved, tampered)": 1, "not in the status snapshot": 1}
    # Measured from the flags or from the mapping: the same rows.
    by_flags = town.measure_frame(fleet.working)
    by_mapping = town.measure_frame({c: s.working for c, s in states.items()})
    assert by_flags.equals(by_mapping)

    nothing = FleetStatus.of(None, town.cameras["camera"])
    assert not nothing.given and nothing.up.all() and nothing.working.all() and not nothing.unverified.any()


def test_aside_runs_its_job_in_another_process(tmp_path: Path) -> None:
    marker = tmp_path / "pid"
    with aside(lambda: marker.write_text(str(os.getpid()))):
        pass
    assert marker.read_text() != str(os.getpid())


def test_aside_off_the_main_thread_runs_its_job_first_in_this_process(tmp_path: Path) -> None:
    marker = tmp_path / "pid"

    def report() -> None:
        with aside(lambda: marker.write_text(str(os.getpid()))):
            pass

    worker = threading.Thread(target=report)
    worker.start()
    worker.join()
    assert marker.read_text() == str(os.getpid())


def test_aside_hands_back_what_its_job_returned() -> None:
    # A forked child's result comes back pickled; off the main thread the job ran first, in this process.
    def job() -> tuple[int, str]:
        return os.getpid(), "x" * 5_000_000  # larger than a pipe's buffer

    with aside(job) as result:
        pid, text = result()
        assert result() == (pid, text)  # asked again: the same, not read twice
    assert pid != os.getpid() and text == "x" * 5_000_000

    found = []

    def report() -> None:
        with aside(job) as result:
            found.append(result())

    worker = threading.Thread(target=report)
    worker.start()
    worker.join()
    assert found[0][0] == os.getpid()


def test_aside_raises_what_its_job_raised(tmp_path: Path) -> None:
    def fails() -> None:
        raise FileNotFoundError(2, "No such file or directory", str(tmp_path / "missing"))

    drawn = []
    with pytest.raises(FileNotFoundError, match="missing"), aside(fails):
        drawn.append("map")  # the caller's own work goes on meanwhile
    assert drawn == ["map"]
    # Asking for the result raises it there.
    with pytest.raises(FileNotFoundError, match="missing"), aside(fails) as result:
        result()
        drawn.append("never")
    assert drawn == ["map"]
