"""Video references (sharpness baseline, scene reference) kept in the state database: a restart keeps them,
a camera turned while camwatch was down is ``moved`` at its first check, and the CLI forgets them
on demand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from camwatch.cli import app
from camwatch.config.models import VideoSettings
from camwatch.monitor.picture import scene
from camwatch.monitor.probes.base import ProbeContext
from camwatch.monitor.probes.video import BASELINE_KEY, SCENE_KEY, probe
from camwatch.monitor.state import StateStore, StoredBaselines
from support import vqd_corpus
from support.cameras import make_camera
from support.gst_rtsp import GstRtsp, unused_port


def test_references_survive_reopening(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    signature = scene.signature(rng.integers(0, 256, (180, 320), dtype=np.uint8))
    reference = scene.SceneReference(signature=signature, checks=4)
    store = StateStore(tmp_path / "state.db")
    refs = StoredBaselines(store)
    refs.put("cam-1", BASELINE_KEY, 812.5)
    refs.put("cam-1", SCENE_KEY, reference)
    refs.put("cam-2", BASELINE_KEY, 90.0)
    store.close()

    again = StoredBaselines(StateStore(tmp_path / "state.db"))
    assert again.get("cam-1", BASELINE_KEY) == 812.5
    kept = again.get("cam-1", SCENE_KEY)
    assert isinstance(kept, scene.SceneReference) and kept.checks == 4
    for field in ("orientation", "edges", "spread"):
        assert np.array_equal(getattr(kept.signature, field), getattr(signature, field))
    assert scene.compare(signature, kept.signature).match == 1.0
    assert again.get("cam-3", BASELINE_KEY) is None
    assert again.reset(["cam-1", "cam-3"]) == 1
    assert again.get("cam-1", SCENE_KEY) is None and again.get("cam-2", BASELINE_KEY) == 90.0


async def test_camera_turned_while_down_is_moved_after_restart(
    tmp_path: Path, gst_rtsp_server_factory
) -> None:
    streams = {s.name: s for s in vqd_corpus.build(tmp_path / "corpus")}
    turned = streams["moved_camera"]
    assert turned.reference is not None
    server: GstRtsp = gst_rtsp_server_factory(
        {name: streams[name].fragment for name in (turned.reference, turned.name)}
    )
    camera = make_camera(id="gate-4", rtsp_url=server.url(turned.reference))
    settings = VideoSettings()

    store = StateStore(tmp_path / "state.db")
    before = await probe(camera, ProbeContext(settings=settings, baselines=StoredBaselines(store)))
    assert before.status == "ok"
    store.close()  # camwatch stops; meanwhile the camera is turned

    store = StateStore(tmp_path / "state.db")
    after = await probe(
        camera.model_copy(update={"rtsp_url": server.url(turned.name)}),
        ProbeContext(settings=settings, baselines=StoredBaselines(store)),
    )
    assert after.status == "moved", after
    # A deliberate turn: the reference is forgotten and the next check learns the new view.
    config = tmp_path / "camwatch.yaml"
    config.write_text(
        f"monitor: {{listen: '127.0.0.1:{unused_port()}', state: state.db}}\n"
        f"cameras:\n  - {{id: gate-4, rtsp_url: '{server.url(turned.name)}'}}\n",
        encoding="utf-8",
    )
    reset = CliRunner().invoke(app, ["reference", "reset", str(config), "gate-4"])
    assert reset.exit_code == 0, reset.output
    assert "forgotten for 1 of 1 camera(s)" in reset.output
    relearned = await probe(
        camera.model_copy(update={"rtsp_url": server.url(turned.name)}),
        ProbeContext(settings=settings, baselines=StoredBaselines(store)),
    )
    assert relearned.status == "ok"
    store.close()
