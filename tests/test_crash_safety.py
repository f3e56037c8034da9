"""`camwatch run` killed with SIGKILL mid-run, restarted, and starved of disk: the state stays whole.

A simulated fleet with flapping and offline cameras makes transitions every second; the service runs as a real
subprocess, so a ``kill -9`` leaves the SQLite state exactly as a power cut would.
"""

from __future__ import annotations

import contextlib
import itertools
import sqlite3
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from camwatch.sim.fleet import Fleet
from camwatch.sim.profiles import FleetSpec
from support.gst_rtsp import unused_port
from support.pipeline import Camwatch, fast_monitor, fleet_spec, sample, scrape, wait_for

PASSWORD = "Crash-pw-31!"
COUNT = 30
SPEC = fleet_spec(
    COUNT,
    rtsp_port=18561,
    profiles=[
        {"name": "flapping", "count": 8, "behaviour": "flapping", "period": "700ms"},
        {"name": "offline", "count": 3, "behaviour": "offline"},
        {"name": "bad-password", "count": 2, "behaviour": "auth_failed"},
        {"name": "resetting", "count": 2, "behaviour": "resetting"},
    ],
)


@pytest.fixture
async def fleet() -> AsyncIterator[Fleet]:
    async with Fleet(FleetSpec.model_validate(SPEC), password=PASSWORD, base_address="127.41.0.1") as running:
        yield running


@pytest.fixture
def processes() -> Iterator[list[Camwatch]]:
    started: list[Camwatch] = []
    yield started
    for proc in started:
        proc.kill()


def write_config(fleet: Fleet, folder: Path, state: Path) -> tuple[Path, str]:
    listen = f"127.0.0.1:{unused_port()}"
    # No snapshots: the full-disk case must be about the state database only.
    monitor = fast_monitor(listen, state, snapshot_max_bytes=0)
    return fleet.write_config(folder / "camwatch.yaml", monitor=monitor), f"http://{listen}"


def start(config: Path, folder: Path, processes: list[Camwatch], name: str) -> Camwatch:
    proc = Camwatch(["run", str(config), "--verbose"], folder=folder, password=PASSWORD, name=name)
    processes.append(proc)
    return proc


def read_state(db: Path) -> dict[str, object]:
    """Integrity, transitions and current rows, read the way a restarted process would see them."""
    with contextlib.closing(sqlite3.connect(db, timeout=10)) as conn:
        return {
            "integrity": conn.execute("PRAGMA integrity_check").fetchall(),
            "transitions": conn.execute(
                "SELECT id, camera, ts, prev_status, status, up FROM transitions ORDER BY id"
            ).fetchall(),
            "rows": {
                r[0]: r[1:]
                for r in conn.execute("SELECT camera, status, up, since, last_probe FROM camera_state")
            },
            "runs": conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0],
        }


def assert_consistent(state: dict[str, object]) -> None:
    """Per camera the transitions form one chain, and the current row is where the chain ends."""
    assert state["integrity"] == [("ok",)]
    transitions = state["transitions"]
    rows = state["rows"]
    assert isinstance(transitions, list) and isinstance(rows, dict)
    by_camera: dict[str, list[tuple[Any, ...]]] = {}
    for t in transitions:
        by_camera.setdefault(t[1], []).append(t)
    assert set(by_camera) == set(rows), "every camera with a current row has its transitions and vice versa"
    for camera, chain in by_camera.items():
        assert chain[0][3] is None, f"{camera}: first transition has a previous status {chain[0]}"
        for before, after in itertools.pairwise(chain):
            assert after[3] == before[4], f"{camera}: broken chain {before} -> {after}"
            assert (after[4], after[5]) != (before[4], before[5]), f"{camera}: repeated {after}"
            assert after[2] >= before[2], f"{camera}: time runs backwards {before} -> {after}"
        status, up, since, last_probe = rows[camera]
        last = chain[-1]
        assert (status, up, since) == (last[4], last[5], last[2]), f"{camera}: row {rows[camera]} vs {last}"
        assert last_probe >= since


async def probing(url: str, cameras: list[str], minimum: float) -> float | None:
    """RTSP probes run so far, once every camera has a status and the count exceeds ``minimum``."""
    samples = await scrape(url)
    if any(sample(samples, "camwatch_camera_up", camera=c) is None for c in cameras):
        return None
    total = sum(
        value
        for (name, labels), value in samples.items()
        if name == "camwatch_probes_total" and ("probe", "rtsp") in labels
    )
    return total if total > minimum else None


async def test_kill_9_and_restart_keep_state_consistent(
    fleet: Fleet, tmp_path: Path, processes: list[Camwatch]
) -> None:
    ids = [c.id for c in fleet.cameras]
    db = tmp_path / "state.db"
    config, url = write_config(fleet, tmp_path, db)
    last_probe = 0.0
    transitions = 0
    for round_number in range(1, 4):
        proc = start(config, tmp_path, processes, f"run{round_number}")
        await wait_for(
            lambda: probing(url, ids, 2 * COUNT),
            timeout=30,
            what=f"round {round_number}: probing all cameras",
        )

        async def moved_on(since: float = last_probe, stored: int = transitions) -> bool:
            state = read_state(db)
            rows, chain = state["rows"], state["transitions"]
            assert isinstance(rows, dict) and isinstance(chain, list)
            return len(rows) == COUNT and min(r[3] for r in rows.values()) > since and len(chain) > stored + 8

        await wait_for(moved_on, timeout=20, what=f"round {round_number}: new probes and transitions stored")
        if round_number < 3:
            proc.kill()  # kill -9 in the middle of probing and flushing
        else:
            assert proc.stop() == 0, proc.output[-3000:]
        state = read_state(db)
        assert_consistent(state)
        assert state["runs"] == round_number
        rows = state["rows"]
        assert isinstance(rows, dict) and isinstance(state["transitions"], list)
        last_probe = max(r[3] for r in rows.values())
        transitions = len(state["transitions"])
        assert "Traceback" not in proc.output, proc.output[-3000:]


# ------------------------------------------------------------------------------------------ a full disk


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs: a real filesystem that a test can fill (file permissions do not stop root)."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount_point)], check=True)
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(folder: Path) -> Path:
    """Write a file until the filesystem is full."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as out, contextlib.suppress(OSError):
        while True:
            out.write(b"\0" * 65536)
    with filler.open("ab", buffering=0) as out, contextlib.suppress(OSError):
        while True:
            out.write(b"\0")
    return filler


async def test_full_disk_keeps_monitoring_from_memory_and_catches_up(
    fleet: Fleet, tmp_path: Path, small_disk: Path, processes: list[Camwatch]
) -> None:
    ids = [c.id for c in fleet.cameras]
    db = small_disk / "state.db"
    config, url = write_config(fleet, tmp_path, db)
    proc = start(config, tmp_path, processes, "full")
    await wait_for(lambda: probing(url, ids, 2 * COUNT), timeout=30, what="probing all cameras")
    before = read_state(db)
    filler = fill(small_disk)

    async def unhealthy() -> float | None:
        samples = await scrape(url)
        if sample(samples, "camwatch_state_healthy") == 0:
            return await probing(url, ids, 0)
        return None

    probes_then = await wait_for(unhealthy, timeout=15, what="camwatch_state_healthy 0 on a full disk")
    # Probing and exporting go on from memory: more probes, and flapping cameras keep changing state.
    samples = await scrape(url)
    flapping = [c.id for c in fleet.cameras if c.profile == "flapping"]
    changes_then = {
        c: sample(samples, "camwatch_camera_last_change_timestamp_seconds", camera=c) for c in flapping
    }

    async def moving() -> bool:
        samples = await scrape(url)
        changes_now = {
            c: sample(samples, "camwatch_camera_last_change_timestamp_seconds", camera=c) for c in flapping
        }
        changed = sum(changes_now[c] != changes_then[c] for c in flapping)
        more_probes = await probing(url, ids, probes_then + COUNT)
        return bool(more_probes) and changed >= 4 and sample(samples, "camwatch_state_healthy") == 0

    await wait_for(moving, timeout=15, what="probes and state changes continue while the disk is full")
    assert (sample(await scrape(url), "camwatch_state_write_errors_total") or 0) >= 1
    assert "cannot write state database" in proc.output

    filler.unlink()

    async def healthy_again() -> bool:
        return sample(await scrape(url), "camwatch_state_healthy") == 1

    await wait_for(healthy_again, timeout=15, what="camwatch_state_healthy back to 1 once space is free")
    assert proc.stop() == 0, proc.output[-3000:]
    after = read_state(db)
    assert_consistent(after)
    # What happened while the disk was full was kept in memory and written once it could be.
    assert len(after["transitions"]) > len(before["transitions"]) + 8  # type: ignore[arg-type]
    assert "Traceback" not in proc.output, proc.output[-3000:]
