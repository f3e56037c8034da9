"""Only commands that talk to cameras need their passwords: reports, coverage and maintenance run without."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from camwatch.cli import app
from camwatch.config.errors import ConfigError
from camwatch.config.load import load_config

UNSET = "CAMWATCH_TEST_NEVER_SET"


def _config(tmp_path: Path, count: int = 40) -> Path:
    """A ledger whose every row names its own unset password variable, plus an unset default profile."""
    rows = [f"c{i},摄像机{i},10.0.0.{i + 1},admin,{UNSET}_OWN,梁园区" for i in range(count)]
    (tmp_path / "cameras.csv").write_text(
        "编号,名称,IP,用户名,密码环境变量,所属区县\n" + "\n".join(rows) + "\n", encoding="utf-8"
    )
    config = tmp_path / "camwatch.yaml"
    config.write_text(
        "cameras: cameras.csv\n"
        f"credentials:\n  default: {{username: admin, password_env: {UNSET}}}\n"
        "monitor: {state: state.db}\n"
        "reports: {timezone: Asia/Shanghai}\n",
        encoding="utf-8",
    )
    return config


def test_loader_without_logins_reads_no_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _config(tmp_path)
    cfg = load_config(config, environ={}, resolve_secrets=False)
    assert len(cfg.cameras) == 40
    assert all(c.password is None and c.username == "admin" for c in cfg.cameras)
    # With logins, the one unset variable named by 40 rows is one problem, not 40.
    with pytest.raises(ConfigError) as caught:
        load_config(config, environ={})
    assert [str(p).replace(f"{tmp_path}/", "") for p in caught.value.problems] == [
        f"cameras.csv, row 2, field 'password_env': environment variable {UNSET}_OWN is not set "
        "(and 39 more cameras)",
    ]


def test_profile_failure_is_reported_once(tmp_path: Path) -> None:
    config = tmp_path / "camwatch.yaml"
    config.write_text(
        f"credentials:\n  default: {{username: admin, password_env: {UNSET}}}\ncameras:\n"
        + "".join(f"  - {{id: c{i}, host: 10.0.0.{i + 1}}}\n" for i in range(30)),
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["check-config", str(config)], env={UNSET: None})
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "1 problem found:",
        f"  {config}, line 2, field 'credentials.default.password_env': environment variable {UNSET} is "
        "not set (used by 30 cameras, e.g. line 4)",
    ]


def test_commands_that_talk_to_no_camera_need_no_password(tmp_path: Path) -> None:
    config = _config(tmp_path)
    runner = CliRunner()
    env = {UNSET: None, f"{UNSET}_OWN": None}
    checked = runner.invoke(app, ["check-config", str(config)], env=env)
    assert checked.exit_code == 1 and checked.output.count("is not set") == 1  # the profile is unused

    started = runner.invoke(
        app, ["maintenance", "start", str(config), "梁园区", "--until", "2h", "--reason", "光缆抢修"], env=env
    )
    assert started.exit_code == 0, started.output
    assert "40 camera(s) under maintenance" in started.output
    listed = runner.invoke(app, ["maintenance", "list", str(config)], env=env)
    assert listed.exit_code == 0 and "光缆抢修" in listed.output
    uptime = runner.invoke(
        app, ["report", "uptime", str(config), "--month", "2026-11", "--out", str(tmp_path / "r")], env=env
    )
    assert "is not set" not in uptime.output
    assert "no monitoring history" in uptime.output
