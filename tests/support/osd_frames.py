"""An on-screen display burned into synthetic frames, as cameras draw their clock and name line."""

from __future__ import annotations

import cv2
import numpy as np


def draw_osd(frame: np.ndarray, text: str, at: tuple[int, int], *, scale: float, shaded: bool) -> None:
    """Burn one OSD line into ``frame`` (BGR) at ``at`` (text origin): white with a black outline, on a
    dark box when ``shaded``."""
    size, base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
    if shaded:
        corner = (at[0] + size[0] + 6, at[1] + base + 4)
        cv2.rectangle(frame, (at[0] - 6, at[1] - size[1] - 6), corner, (8, 8, 8), -1)
    for colour, thickness in (((0, 0, 0), 5), ((255, 255, 255), 2)):
        cv2.putText(frame, text, at, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thickness, cv2.LINE_AA)


def with_osd(frame: np.ndarray) -> np.ndarray:
    """A copy of ``frame`` with a large shaded date-and-time line at the bottom left and a camera name at
    the top left."""
    frame = frame.copy()
    height = frame.shape[0]
    draw_osd(frame, "2026-11-30 15:03:55", (20, height - 24), scale=1.3, shaded=True)
    draw_osd(frame, "GATE 3 NORTH", (20, 44), scale=1.1, shaded=False)
    return frame
