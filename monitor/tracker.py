"""Debounced per-camera state: K failures to go down, M successes to come back, transitions on change."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from camwatch.config.models import Camera, Debounce
from camwatch.monitor.outcome import CameraResult, combine
from camwatch.monitor.probes.base import ProbeResult
from camwatch.monitor.probes.registry import KINDS, Plan, plans_of
from camwatch.monitor.state import StoredCamera, Transition


@dataclass(slots=True)
class CameraTrack:
    """What the monitor currently believes about one camera (the exporter reads this)."""

    camera: Camera
    plan: Plan
    up: bool | None = None  # None until the first result (or restored state)
    status: str = "unknown"
    faults: tuple[str, ...] = ()
    since: float = 0.0
    # When it last went down while monitored; None while up, or when it was already down when first seen
    # (at start, restored from the database, or added by a reload): that down time is unknown.
    down_since: float | None = None
    last_probe: float = 0.0
    flaps: int = 0
    fails: int = 0  # consecutive raw failures while reported up
    oks: int = 0  # consecutive raw successes while reported down
    probes: dict[str, ProbeResult] = field(default_factory=dict)
    probe_times: dict[str, float] = field(default_factory=dict)
    result: CameraResult | None = None

    @property
    def working(self) -> bool:
        return bool(self.up) and (self.result is None or self.result.working)

    def stored(self) -> StoredCamera:
        return StoredCamera(
            self.camera.id, self.up, self.status, self.faults, self.since, self.last_probe, self.flaps
        )


class Tracker:
    """Applies probe results to camera tracks with debounce and reports transitions."""

    def __init__(
        self,
        cameras: Mapping[str, Camera],
        debounce: Debounce,
        restored: Mapping[str, StoredCamera] | None = None,
        *,
        plans: Mapping[str, Plan] | None = None,
    ):
        self.debounce = debounce
        self.tracks: dict[str, CameraTrack] = {}
        self.replace_inventory(cameras, restored or {}, plans=plans)

    def replace_inventory(
        self,
        cameras: Mapping[str, Camera],
        restored: Mapping[str, StoredCamera] | None = None,
        *,
        plans: Mapping[str, Plan] | None = None,
    ) -> None:
        """Swap in a new inventory, keeping what is known about cameras that stay. ``plans``: each camera's
        plan, as the inventory's owner computed it (derived here when not given)."""
        restored = restored or {}
        plans = plans if plans is not None else plans_of(cameras.values())
        tracks: dict[str, CameraTrack] = {}
        for cid, camera in cameras.items():
            if (old := self.tracks.get(cid)) is not None:
                old.camera, old.plan = camera, plans[cid]
                tracks[cid] = old
            elif (row := restored.get(cid)) is not None:
                tracks[cid] = CameraTrack(
                    camera,
                    plans[cid],
                    up=row.up,
                    status=row.status,
                    faults=row.faults,
                    since=row.since,
                    last_probe=row.last_probe,
                    flaps=row.flaps,
                )
            else:
                tracks[cid] = CameraTrack(camera, plans[cid])
        self.tracks = tracks

    def observe(self, camera_id: str, probes: Mapping[str, ProbeResult], now: float) -> Transition | None:
        """Fold this round's probe results into the camera's track; return the transition, if any."""
        track = self.tracks.get(camera_id)
        if track is None:  # removed by a reload while its probe ran
            return None
        live = track.plan.deciding
        if live is not None and (mine := probes.get(live)) is not None and mine.internal:
            # Failed on camwatch's side (a bug, no port free): no evidence about the camera, which keeps its
            # last liveness result and state; the failure is counted (internal_error) and logged.
            probes = {name: r for name, r in probes.items() if name != live}
            if not probes:
                return None
        track.probes.update(probes)
        for name in probes:
            track.probe_times[name] = now
        raw = combine(track.camera, track.probes, timestamp=now, plan=track.plan)
        track.result = raw
        track.last_probe = now

        if live is None or live not in probes:  # no new liveness evidence (a source's view of a probed one)
            up = track.up
        elif KINDS[live].debounced_at_source:  # e.g. offline only after interval × count missed keepalives
            up = raw.up
        else:
            up = self._debounced_up(track, raw.up)
        if up is None:
            return None
        if up == raw.up:
            status, faults = raw.status, raw.faults
        else:  # still inside the debounce window: keep what we reported
            status, faults = track.status, track.faults
        if up == track.up and status == track.status:
            track.faults = faults
            return None
        prev = track.status if track.up is not None else None
        if track.up is not None and up != track.up:
            track.flaps += 1
        if up != track.up:
            track.down_since = now if track.up and not up else None
        track.up, track.status, track.faults, track.since = up, status, faults, now
        return Transition(camera_id, now, prev, status, up, track.working, faults)

    def _debounced_up(self, track: CameraTrack, raw_up: bool) -> bool:
        if track.up is None:
            return raw_up  # first sight: nothing to debounce against
        if raw_up == track.up:
            track.fails = track.oks = 0
            return track.up
        if raw_up:
            track.oks += 1
            if track.oks >= self.debounce.up_after:
                track.oks = 0
                return True
        else:
            track.fails += 1
            if track.fails >= self.debounce.down_after:
                track.fails = 0
                return False
        return track.up
