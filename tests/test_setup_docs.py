"""What a new user copies first: the README's first command, the example config, the unit file, the image."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from camwatch.config.load import load_config

ROOT = Path(__file__).parent.parent
EXAMPLES = ROOT / "examples"


def _bash_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def test_readme_first_command_uses_a_virtual_environment() -> None:
    # Debian 12 / Ubuntu 24.04 refuse `pip install` into the system Python (externally-managed-environment).
    blocks = _bash_blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    # The two commands the README promises on a fresh machine come first: the demo, and the tests.
    demo, tests = blocks[0].strip().splitlines()
    steps = [s.strip() for s in demo.split("&&")]
    assert steps[0].startswith("python3 -m venv ") and steps[1].startswith(". ")
    venv = steps[0].split()[-1]
    assert steps[1] == f". {venv}/bin/activate"
    assert steps == [steps[0], steps[1], "pip install -e .", "camwatch demo"]
    assert tests == "bash .ci/run"
    # Then your own network: the same install, and the ledger's commands.
    assert [s.strip() for s in blocks[1].strip().split("&&")] == steps[:3]
    assert "camwatch check-config" in blocks[2]


def test_example_coverage_section_uncommented_loads(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "ex")
    text = (tmp_path / "ex" / "config.yaml").read_text(encoding="utf-8")
    block = text[text.index("# coverage:") :]
    assert all(line.startswith("#") for line in block.splitlines())
    (tmp_path / "ex" / "config.yaml").write_text(
        text.replace(block, "\n".join(line.removeprefix("# ") for line in block.splitlines())),
        encoding="utf-8",
    )
    for layer in ("roads.gpkg", "sites.geojson", "buildings.gpkg", "areas.geojson"):
        (tmp_path / "ex" / layer).touch()
    config = load_config(tmp_path / "ex" / "config.yaml", resolve_secrets=False)
    assert config.coverage is not None and config.coverage.roads == tmp_path / "ex" / "roads.gpkg"
    assert config.coverage.categories["village_road"].target == 0.9
    assert config.reports.timezone == "Asia/Shanghai"


def test_systemd_unit_verifies_and_runs_the_service(tmp_path: Path) -> None:
    unit = (EXAMPLES / "camwatch.service").read_text(encoding="utf-8")
    (exec_start,) = re.findall(r"^ExecStart=(.*)$", unit, flags=re.M)
    program, *args = exec_start.split()
    assert Path(program).name == "camwatch" and args[0] == "run" and len(args) == 2
    assert "ExecReload=/bin/kill -HUP $MAINPID" in unit  # SIGHUP reloads the config
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    # Verified with the camwatch this test runs, installed where the unit expects it.
    installed = Path(sys.executable).parent / "camwatch"
    copy = tmp_path / "camwatch.service"
    copy.write_text(unit.replace(program, str(installed)), encoding="utf-8")
    checked = subprocess.run([analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0 and checked.stderr.strip() == "", checked.stderr


def test_image_installs_only_what_it_runs() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    apt = re.search(r"apt-get install -y --no-install-recommends ([^\\&]+)", dockerfile)
    assert apt is not None and apt.group(1).split() == ["python3", "python3-venv"]
    # Nothing camwatch ships uses the GStreamer bindings the image once carried (only tests do).
    sources = [
        p
        for folder in ("camwatch", "config", "monitor", "coverage", "dashboards")
        for p in (ROOT / folder).rglob("*.py")
    ]
    assert sources and not [
        p for p in sources if re.search(r"^\s*(import gi|from gi\b)", p.read_text(), re.M)
    ]
