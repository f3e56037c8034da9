"""Fault snapshots: the last analysed frame of each camera and the frame that raised each fault, as small
JPEGs on disk within a size budget (oldest dropped first), so a duty officer can see what was judged."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from urllib.parse import quote

log = logging.getLogger(__name__)
LATEST = "latest"


def _safe(name: str) -> str:
    """A file-system-safe, reversible name for a camera id or fault (ids may hold '/', '..' or CJK)."""
    return quote(name, safe="") or "_"


class SnapshotStore:
    """JPEGs under ``root/<camera>/<latest|fault>.jpg``; thread-safe (probes call it from worker threads)."""

    def __init__(self, root: Path, *, max_bytes: int):
        self.root = root
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._sizes: dict[Path, tuple[float, int]] = {}
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            for path in self.root.glob("*/*.jpg"):
                st = path.stat()
                self._sizes[path] = (st.st_mtime, st.st_size)
        except OSError as exc:  # snapshots are a convenience: never a reason not to monitor
            log.warning("snapshot folder %s unusable (%s); snapshots will be retried per frame", root, exc)

    def path(self, camera: str, fault: str | None = None) -> Path:
        return self.root / _safe(camera) / f"{_safe(fault or LATEST)}.jpg"

    def put(self, camera: str, jpeg: bytes, fault: str | None) -> None:
        """Store ``jpeg`` as the camera's latest frame and, when a fault was raised, as that fault's frame."""
        targets = [self.path(camera)] + ([self.path(camera, fault)] if fault else [])
        with self._lock:
            for target in targets:
                try:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    tmp = target.with_suffix(".tmp")
                    tmp.write_bytes(jpeg)
                    os.replace(tmp, target)  # readers never see a half-written file
                except OSError as exc:
                    log.warning("cannot store snapshot for camera %s: %s", camera, exc)
                    return
                self._sizes[target] = (time.time(), len(jpeg))
            self._enforce_budget()

    def get(self, camera: str, fault: str | None = None) -> bytes | None:
        try:
            return self.path(camera, fault).read_bytes()
        except OSError:
            return None

    def faults(self, camera: str) -> list[str]:
        """Faults with a stored frame for ``camera``."""
        folder = self.root / _safe(camera)
        return sorted(p.stem for p in folder.glob("*.jpg") if p.stem != LATEST)

    @property
    def total_bytes(self) -> int:
        return sum(size for _, size in self._sizes.values())

    def _enforce_budget(self) -> None:
        total = self.total_bytes
        if total <= self.max_bytes:
            return
        for path, (_, size) in sorted(self._sizes.items(), key=lambda kv: kv[1][0]):
            if total <= self.max_bytes:
                break
            path.unlink(missing_ok=True)
            del self._sizes[path]
            total -= size
