"""Done-when of issue 28: a kind's name used as a key appears only in its own module, its spec entry and its
settings, and a camera's plan is derived once per inventory, not per round."""

from __future__ import annotations

import ast
import asyncio
from collections import Counter
from pathlib import Path

import pytest

from camwatch.config.models import Config, Debounce, MonitorSettings, RtspSettings, VideoSettings
from camwatch.monitor import outcome, scheduler, sweep
from camwatch.monitor.probes import registry
from camwatch.monitor.service import Service
from support.cameras import make_camera
from support.gst_rtsp import unused_port

ROOT = Path(__file__).resolve().parent.parent
KIND_NAMES = ("rtsp", "onvif", "snapshot", "video", "gb28181", "recording", "onvif_events")
# The product tree, as packaged (pyproject's package-dir). Out of scope: ``camwatch/sim/``, the simulated
# cameras and devices. They are the other side of each protocol, not readers of the spec: they speak the
# protocol's own words (a URL scheme, an SDP media type) and must not share camwatch's code or names, so
# that a bug on camwatch's side cannot be mirrored by the peer it is tested against.
TREES = ("camwatch", "monitor", "coverage", "config")
OUT_OF_SCOPE = ("camwatch/sim/",)
# Where a kind's name may be a key: its spec entry (the registry) and its own module.
SPEC_MODULE = "monitor/probes/registry.py"
# Literals that are not kind keys but contract words that happen to be spelled the same, each with why:
# (file, literal) -> (how many, reason). A new one needs a reason here; a stale one fails too.
CONTRACT_WORDS: dict[tuple[str, str], tuple[int, str]] = {
    ("config/inventory.py", "rtsp"): (1, "URL scheme check of a ledger's rtsp_url (rtsp:// or rtsps://)"),
    ("monitor/rtsp_proto.py", "video"): (1, "the SDP media type of an m=video line"),
    ("config/columns.py", "snapshot"): (1, "a ledger column alias of snapshot_url (抓图地址)"),
    ("config/models.py", "onvif"): (2, "the ledger value snapshot_url: onvif (ask the ONVIF service)"),
    ("monitor/probes/snapshot.py", "onvif"): (
        3,
        "the ledger value snapshot_url: onvif, and the source it names",
    ),
    ("config/recorders.py", "onvif"): (2, "a recorder's protocol (recorders: kind), not a status kind"),
    ("monitor/probes/profile_g.py", "recording"): (1, "a storage state an ONVIF device writes, not a kind"),
    ("config/load.py", "gb28181"): (7, "the config section gb28181: that holds the source's settings"),
}


def _own_module(path: str, kind: str) -> bool:
    # A kind's module may be split in parts named after it (the video probe and its stream decoder).
    own = (f"monitor/probes/{kind}.py", SPEC_MODULE)
    return path in own or path.startswith((f"monitor/{kind}/", f"monitor/probes/{kind}_"))


def _product_files() -> list[Path]:
    files = [p for tree in TREES for p in (ROOT / tree).rglob("*.py")]
    files += (ROOT / "dashboards").glob("*.py")
    return sorted(p for p in files if not p.relative_to(ROOT).as_posix().startswith(OUT_OF_SCOPE))


def _kind_literals(path: Path) -> Counter[str]:
    found: Counter[str] = Counter()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Constant) and node.value in KIND_NAMES:
            found[node.value] += 1
    return found


def test_kind_names_appear_only_in_their_module_spec_and_settings() -> None:
    files = _product_files()
    assert len(files) > 100  # the scan sees the tree
    seen: dict[tuple[str, str], int] = {}
    for path in files:
        rel = path.relative_to(ROOT).as_posix()
        for kind, n in _kind_literals(path).items():
            if not _own_module(rel, kind):
                seen[(rel, kind)] = n
    unexplained = {k: n for k, n in seen.items() if k not in CONTRACT_WORDS or CONTRACT_WORDS[k][0] != n}
    assert not unexplained, (
        "a kind named as a key outside its module and spec entry: read the spec (registry.KINDS, a Plan) "
        f"instead, or add a contract word with its reason: {unexplained}"
    )
    assert set(CONTRACT_WORDS) <= set(seen), f"stale allowances: {set(CONTRACT_WORDS) - set(seen)}"


def test_every_kind_name_is_a_spec_entry() -> None:
    assert set(KIND_NAMES) == set(registry.KINDS)
    assert all(registry.KINDS[s.name].reports_in for s in registry.SOURCES)


def _config(tmp_path: Path, cameras: list) -> Config:
    settings = MonitorSettings(
        listen=f"127.0.0.1:{unused_port()}",
        state=tmp_path / "state.db",
        rtsp=RtspSettings(interval=0.2, timeout=1.0, jitter=0.0),
        video=VideoSettings(interval=3600, timeout=10),
        debounce=Debounce(down_after=1, up_after=1),
    )
    return Config(source=tmp_path / "camwatch.yaml", cameras=tuple(cameras), monitor=settings)


async def test_a_cameras_plan_is_derived_once_per_inventory(
    tmp_path: Path, closed_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rounds, the tracker, the outcome and the /probe path reuse the plan the service computed when the
    inventory loaded; a reload computes it again, once."""
    calls: Counter[str] = Counter()
    derive = registry.plan

    def counting(camera):  # type: ignore[no-untyped-def]
        calls[camera.id] += 1
        return derive(camera)

    for module, name in (
        (registry, "plan"),
        (sweep, "plan_of"),
        (outcome, "plan_of"),
        (scheduler, "plan_of"),
    ):
        monkeypatch.setattr(module, name, counting)
    cameras = [make_camera(id=f"c{i}", rtsp_url=f"rtsp://127.0.0.1:{closed_port}/{i}") for i in range(3)]
    svc = Service(_config(tmp_path, cameras))
    await svc.start()
    try:
        deadline = asyncio.get_running_loop().time() + 10
        while sum(svc.probes_total.values()) < 15 and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.1)
        assert sum(svc.probes_total.values()) >= 15  # five rounds a camera
        assert all(t.up is False for t in svc.tracker.tracks.values())
        assert calls == {c.id: 1 for c in cameras}
        assert svc.reload(_config(tmp_path, cameras)) is True
        await asyncio.sleep(0.5)
        assert calls == {c.id: 2 for c in cameras}
    finally:
        await svc.stop()


def test_a_plan_says_which_kinds_apply_and_which_decides() -> None:
    gb_only = make_camera(gb_id="34020000001320000001")
    planned = registry.plan(gb_only)
    # Its recording is checked (issue 24: the recorder is the owning device), but nothing polls its liveness.
    assert (planned.kinds, planned.live, planned.deciding, planned.sources) == (
        ("recording",),
        None,
        "gb28181",
        ("gb28181",),
    )
    assert planned.reported
    no_platform = Config(source=Path("camwatch.yaml"), cameras=(gb_only,))
    assert planned.unconfigured(no_platform)
    both = registry.plan(make_camera(rtsp_url="rtsp://10.0.0.1/x", gb_id="34020000001320000002"))
    assert (both.kinds, both.live, both.deciding, both.sources) == (
        ("rtsp", "video", "recording"),
        "rtsp",
        "rtsp",
        ("gb28181",),
    )
    assert not both.reported and not both.unconfigured(no_platform)
    assert registry.plan(make_camera(networked=False)) == registry.Plan((), None, None, ())
