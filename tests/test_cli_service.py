"""The command line as a county's operator meets it: one-line errors, a version, help for every option."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import typer
from typer.testing import CliRunner

from camwatch.cli import app
from support.gst_rtsp import unused_port


def test_run_on_a_busy_port_is_one_line_and_exit_1(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        config = tmp_path / "camwatch.yaml"
        config.write_text(
            f"monitor: {{listen: '127.0.0.1:{port}', state: state.db}}\n"
            f"cameras:\n  - {{id: a1, rtsp_url: 'rtsp://127.0.0.1:{unused_port()}/a'}}\n",
            encoding="utf-8",
        )
        result = CliRunner().invoke(app, ["run", str(config)])
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if "address already in use" in line]
    assert errors and f"monitor.listen (127.0.0.1:{port}) is taken" in errors[0]
    assert "Traceback" not in result.output


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("camwatch 0.")


def test_every_option_and_argument_has_help() -> None:
    # Duck-typed: typer builds on click, or (0.29 on) on its own copy of it, so click may not be installed.
    def walk(command: Any, path: str) -> list[str]:
        missing = [f"{path} {p.name}" for p in command.params if not getattr(p, "help", None)]
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                missing += walk(sub, f"{path} {name}")
        return missing

    assert walk(typer.main.get_command(app), "camwatch") == []


def test_check_config_counts_in_good_english(tmp_path: Path) -> None:
    config = tmp_path / "camwatch.yaml"
    config.write_text("cameras:\n  - {id: a1, host: 10.0.0.1, county: 梁园区}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["check-config", str(config)])
    assert result.exit_code == 0 and "1 camera in 1 county;" in result.output


def test_import_osm_without_cameras_says_so(tmp_path: Path) -> None:
    osm = tmp_path / "no-cameras.osm"
    osm.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">\n'
        '  <node id="1" lat="34.41" lon="115.65" version="1"><tag k="amenity" v="school"/></node>\n'
        '  <node id="2" lat="34.42" lon="115.66" version="1"/>\n'
        '  <way id="3" version="1"><nd ref="1"/><nd ref="2"/><tag k="highway" v="primary"/></way>\n'
        "</osm>\n",
        encoding="utf-8",
    )
    out = tmp_path / "cameras.yaml"
    result = CliRunner().invoke(app, ["import", "osm", str(osm), "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert "no cameras in" in result.output and "man_made=surveillance" in result.output
    assert not out.exists()


def test_probe_table_shows_the_reason_within_80_columns(tmp_path: Path, gst_rtsp) -> None:
    config = tmp_path / "camwatch.yaml"
    config.write_text(
        "cameras:\n"
        f"  - {{id: closed, name: 谢集镇谢集村村委会门口东侧路口高点, rtsp_url: 'rtsp://127.0.0.1:{unused_port()}/a'}}\n"
        f"  - {{id: live, name: 村口, rtsp_url: '{gst_rtsp.url('live')}'}}\n"
        "  - {id: plan, name: 规划, host: 10.0.0.9, networked: false}\n"
        "monitor: {rtsp: {timeout: 2s}}\n",
        encoding="utf-8",
    )

    def probe(*options: str) -> subprocess.CompletedProcess[str]:
        # A real process in an 80-column terminal.
        result = subprocess.run(
            [sys.executable, "-m", "camwatch", "probe", str(config), *options],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "COLUMNS": "80"},
        )
        assert result.returncode == 0, result.stderr
        return result

    result = probe()
    assert max(len(line) for line in result.stdout.splitlines()) <= 80, result.stdout
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in result.stdout.splitlines() if "│" in line]
    closed = next(r for r in rows if r[0] == "closed")
    assert closed[2] == "offline" and "refused" in " ".join(r[3] for r in rows[rows.index(closed) :])
    assert next(r for r in rows if r[0] == "live")[2:] == ["ok", ""]
    assert "plan" not in result.stdout and "1 camera not probed: not networked" in result.stderr
    down = probe("--down")
    assert "closed" in down.stdout and "live" not in down.stdout and "1 not ok" in down.stdout
