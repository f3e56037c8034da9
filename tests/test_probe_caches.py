"""No hidden globals: what probes keep between runs belongs to whoever runs them (the service, a sweep's
caller), handed over in ``ProbeContext.caches``; the kinds a run uses are its own (``ProbeKinds``)."""

from __future__ import annotations

from camwatch.config.models import MonitorSettings, RtspSettings
from camwatch.monitor.probes import onvif, rtsp
from camwatch.monitor.probes.base import OK, ProbeCaches, ProbeContext, ProbeResult
from camwatch.monitor.probes.registry import ProbeKinds
from camwatch.monitor.scheduler import Scheduler
from camwatch.monitor.sweep import sweep
from support.cameras import make_camera
from support.gst_rtsp import GstRtsp


def test_no_probe_module_keeps_state_of_its_own() -> None:
    for module, names in ((rtsp, ("challenges",)), (onvif, ("_wsdl_loads", "_wsdl_loaded", "_making"))):
        assert not [n for n in names if hasattr(module, n)]


async def test_a_sweeps_caller_owns_what_its_probes_remember(gst_rtsp: GstRtsp) -> None:
    """The accepted challenge of a stream is kept in the caller's caches, for its next sweep; another
    caller's are untouched."""
    camera = make_camera(
        rtsp_url=gst_rtsp.url("secure"), username=gst_rtsp.username, password=gst_rtsp.password
    )
    settings = MonitorSettings(rtsp=RtspSettings(timeout=15.0))  # generous: a shared, loaded machine
    mine, theirs = ProbeCaches(), ProbeCaches()
    (result,) = await sweep([camera], settings, kinds=["rtsp"], caches=mine)
    assert result.up, result.probes["rtsp"].error
    assert len(rtsp.memory(mine).challenges) == 1
    assert len(rtsp.memory(theirs).challenges) == 0
    (again,) = await sweep([camera], settings, kinds=["rtsp"], caches=mine)
    assert again.up, again.probes["rtsp"].error
    assert len(rtsp.memory(mine).challenges) == 1


async def test_the_scheduler_hands_its_caches_and_kinds_to_every_probe() -> None:
    seen: list[ProbeCaches] = []

    async def extra(camera: object, ctx: ProbeContext) -> ProbeResult:
        seen.append(ctx.caches)
        return ProbeResult("rtsp", True, OK, 0.0)

    caches = ProbeCaches()
    kinds = ProbeKinds().with_kind("rtsp", extra)  # a test's own kind in place of the registry's
    camera = make_camera(rtsp_url="rtsp://127.0.0.1:9/x")
    sched = Scheduler(MonitorSettings(), [camera], lambda *_: None, probes=kinds, caches=caches)
    await sched.run_once(kinds=["rtsp"])
    await sched.run_once(kinds=["rtsp"])
    assert seen == [caches, caches]
    assert "extra" not in ProbeKinds() and "rtsp" in kinds
