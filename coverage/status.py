"""Load a camera status snapshot (camera id -> up) from `camwatch probe --json` or the monitor's state db."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

from camwatch.config.errors import ConfigError, Problem

SQLITE_MAGIC = b"SQLite format 3\x00"
# The monitor's first schema version (PRAGMA user_version) with camera_state(camera, up). Any file that has
# that table is read, whatever its version: only those two columns are (coverage does not import monitor).
OLDEST_STATE_VERSION = 1


def load_status(path: Path) -> dict[str, bool]:
    """``{camera id: up}`` from either snapshot format, told apart by content, not by name.

    JSON: the list ``camwatch probe --json`` prints (objects with ``camera`` and ``up``). SQLite: the
    monitor's state database, table ``camera_state`` — only its ``camera`` and ``up`` columns are read, so
    the rest of its schema may change freely.
    """
    if not path.is_file():
        raise ConfigError([Problem(str(path), None, None, "status file not found")])
    with path.open("rb") as handle:
        head = handle.read(len(SQLITE_MAGIC))
    if head == SQLITE_MAGIC:
        return _from_state_db(path)
    return _from_probe_json(path)


def _from_probe_json(path: Path) -> dict[str, bool]:
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        reason = f"neither a SQLite state database nor probe JSON: {exc}"
        raise ConfigError([Problem(str(path), None, None, reason)]) from exc
    if not isinstance(records, list):
        raise ConfigError(
            [Problem(str(path), None, None, "expected a JSON list as written by `camwatch probe --json`")]
        )
    status: dict[str, bool] = {}
    for i, record in enumerate(records):
        where = f"item {i + 1}"
        if not isinstance(record, dict) or not isinstance(record.get("camera"), str):
            raise ConfigError(
                [Problem(str(path), where, "camera", "expected an object with a string 'camera'")]
            )
        if not isinstance(record.get("up"), bool):
            raise ConfigError([Problem(str(path), where, "up", "expected true or false")])
        status[record["camera"]] = record["up"]
    return status


def _from_state_db(path: Path) -> dict[str, bool]:
    uri = f"{path.resolve().as_uri()}?mode=ro"
    version = None
    try:
        with closing(sqlite3.connect(uri, uri=True)) as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            rows = db.execute("SELECT camera, up FROM camera_state").fetchall()
    except sqlite3.Error as exc:
        reason = f"cannot read table camera_state(camera, up): {exc}"
        if version is not None and version < OLDEST_STATE_VERSION:
            reason += f" (schema version {version}; run `camwatch run` once to upgrade it in place)"
        raise ConfigError([Problem(str(path), None, "camera_state", reason)]) from exc
    return {str(camera): bool(up) for camera, up in rows if up is not None}
