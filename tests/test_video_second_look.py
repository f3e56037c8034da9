"""A still picture with no sensor life is all one check sees of a frozen source, and of a static scene whose
denoiser wiped the sensor noise: the camera's previous check, minutes earlier, tells them apart."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from camwatch.config.models import VideoSettings
from camwatch.monitor.picture import analysis, references
from camwatch.monitor.probes.base import MemoryBaselines
from camwatch.monitor.state import StateStore, StoredBaselines
from support import vqd_corpus

SETTINGS = VideoSettings()
KEYS = ("sharpness", "scene")
PREVIOUS_KEY = "scene:previous"


def _scene(gain: float = 1.0, seed: int = 5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    texture = rng.integers(30, 220, (18, 32, 3)).astype(np.float32)
    big = np.kron(texture, np.ones((10, 10, 1), np.float32))
    return np.clip(big * gain, 0, 255).astype(np.uint8)


def _still_check(image: np.ndarray) -> list[analysis.Picture]:
    """Three pictures over 3 s of a source that shows ``image`` and nothing else."""
    return [analysis.picture(image.copy(), t) for t in (0.0, 1.5, 3.0)]


def _judge(
    store: object, pictures: list[analysis.Picture], *, interval: float | None = 300.0
) -> references.Judged:
    return references.judge(
        pictures,
        fps=15.0,
        settings=SETTINGS,
        baselines=store,  # type: ignore[arg-type]
        camera_id="cam-1",
        keys=KEYS,
        alive=0.0,
        interval=interval,
    )


def test_a_quiet_static_scene_is_live_once_its_light_changed_since_the_previous_check() -> None:
    store = MemoryBaselines()
    first = _judge(store, _still_check(_scene()))
    assert first.verdict.faults == ("frozen",) and first.renewed is None
    later = _judge(store, _still_check(_scene(gain=0.96)))
    assert "frozen" not in later.verdict.faults and later.renewed is True
    result = later.result("video", 3.0, {}, {})
    assert result.status == "ok" and result.details["changed_since_previous_check"] is True
    # Still quiet a check later: compared with the picture just seen, which changed again.
    again = _judge(store, _still_check(_scene(gain=0.92)))
    assert again.verdict.healthy and again.renewed is True


def test_a_frozen_source_stays_frozen_at_its_next_check() -> None:
    store = MemoryBaselines()
    assert _judge(store, _still_check(_scene())).verdict.faults == ("frozen",)
    later = _judge(store, _still_check(_scene()))
    assert later.verdict.faults == ("frozen",) and later.renewed is False
    assert later.result("video", 3.0, {}, {}).details["changed_since_previous_check"] is False


def test_a_freeze_after_a_live_check_is_frozen_at_once() -> None:
    store = MemoryBaselines()
    moving = [analysis.picture(_scene(seed=s), t) for s, t in ((1, 0.0), (2, 1.5), (3, 3.0))]
    live = _judge(store, moving)
    assert live.verdict.healthy and store.get("cam-1", PREVIOUS_KEY) is None  # nothing kept for a live one
    froze = _judge(store, _still_check(_scene(gain=0.9)))
    assert froze.verdict.faults == ("frozen",) and froze.renewed is None
    kept = store.get("cam-1", PREVIOUS_KEY)
    assert isinstance(kept, references.PreviousView) and kept.frozen is not None
    assert kept.frozen.nbytes <= 16 * 1024
    # Back to live: the frozen picture is dropped.
    assert _judge(store, moving).verdict.healthy
    assert store.get("cam-1", PREVIOUS_KEY).frozen is None


def test_a_previous_check_too_long_ago_is_not_compared(monkeypatch: pytest.MonkeyPatch) -> None:
    store = MemoryBaselines()
    clock = [1000.0]
    monkeypatch.setattr(references.time, "monotonic", lambda: clock[0])
    _judge(store, _still_check(_scene()), interval=60.0)
    clock[0] += references.PREVIOUS_WITHIN_INTERVALS * 60.0 + 1
    # Restarted onto another frozen picture an hour later: still frozen.
    later = _judge(store, _still_check(_scene(gain=0.9)), interval=60.0)
    assert later.verdict.faults == ("frozen",) and later.renewed is None
    # Without a check interval (a one-off probe), there is no "previous check minutes earlier".
    assert _judge(MemoryBaselines(), _still_check(_scene()), interval=None).renewed is None


def test_the_previous_picture_stays_in_memory_not_in_the_state_database(tmp_path: Path) -> None:
    state = StateStore(tmp_path / "state.db")
    store = StoredBaselines(state)
    _judge(store, _still_check(_scene()))
    assert isinstance(store.get("cam-1", PREVIOUS_KEY), references.PreviousView)
    with state._db:
        conn = state._attached()
        assert conn is not None
        keys = {row[0] for row in conn.execute("SELECT key FROM video_references")}
    assert PREVIOUS_KEY not in keys
    assert _judge(store, _still_check(_scene(gain=0.96))).renewed is True
    store.reset(["cam-1"])
    assert store.get("cam-1", PREVIOUS_KEY) is None
    state.close()


@pytest.mark.slow
async def test_second_looks_through_the_real_rtsp_server(tmp_path: Path, gst_rtsp_server_factory) -> None:
    looks = vqd_corpus.second_looks(tmp_path / "looks")
    assert {look.kind for look in looks} == {"quiet_sensor", "frozen_osd_ticking", "froze_between"}
    server = gst_rtsp_server_factory(vqd_corpus.second_look_mounts(looks))
    outcomes = await vqd_corpus.check_twice(server.url, looks, settings=SETTINGS)
    wrong = [
        (look.name, look.labels, (first, later))
        for look, first, later in outcomes
        if (first, later) != look.labels
    ]
    assert not wrong
