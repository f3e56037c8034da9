"""A password inside an ``rtsp_url`` stays out of every message, whatever characters it holds (unencoded
``/``, ``#``, ``?``, ``@``, ``:``, ``[``, a space: ``urlsplit`` takes part of it for host, port or path)."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from urllib.parse import unquote

import pytest
import yaml
from test_secrets import leaks
from typer.testing import CliRunner

from camwatch.cli import app
from camwatch.config.credentials import split_userinfo
from camwatch.config.load import load_config
from camwatch.config.redact import mask_url, redact_url
from camwatch.monitor.service import Service
from support.gst_rtsp import unused_port

# As typed in the URL (not percent-encoded); each piece between delimiters is distinctive, so a piece that
# leaks alone (a parser's "port 'Zq7'") is caught too.
PASSWORDS = [
    "Zq7/Wk9",
    "Zq7#Wk9",
    "Zq7?Wk9",
    "Zq7@Wk9/Vb4#Xr2?Yt6",
    "Zq7:Wk9@Vb4",
    "Zq7[Wk9]",
    "Zq7 Wk9",
    "12/Zq7",
    "Zq7%zz",
]
HOST = "127.0.0.1:554/live"


def url(password: str, host: str = HOST) -> str:
    return f"rtsp://admin:{password}@{host}"


def exposed(text: str, password: str) -> list[str]:
    """Each form of ``password`` (plain, URL-encoded, base64) and each piece of 3+ characters in ``text``."""
    pieces = [p for p in re.split(r"[/#?@:\[\] ]", password) if len(p) >= 3]
    return leaks(text, unquote(password)) + leaks(text, password) + [p for p in pieces if p in text]


@pytest.mark.parametrize("password", PASSWORDS)
def test_userinfo_runs_to_the_last_at(password: str) -> None:
    login = split_userinfo(url(password))
    assert login.url == f"rtsp://{HOST}" and login.username == "admin"
    assert login.password is not None and login.password.get_secret_value() == unquote(password)
    assert mask_url(url(password)) == f"rtsp://admin:***@{HOST}"
    line = f"cannot open {url(password)}: 401; then {url(password, '10.0.0.2/x')}"
    assert exposed(redact_url(line), password) == []


def test_urls_without_a_password_are_unchanged() -> None:
    for plain in ("rtsp://10.0.0.7/path@x", "rtsp://10.0.0.7:554/h264", "no url: a@b"):
        assert mask_url(plain) == plain and redact_url(plain) == plain
    login = split_userinfo("rtsp://viewer@10.0.0.7/x")
    assert (login.url, login.username, login.password) == ("rtsp://10.0.0.7/x", "viewer", None)


def write_config(folder: Path, urls: list[str], **extra: object) -> Path:
    cameras = [{"id": f"c{i}", "rtsp_url": u} for i, u in enumerate(urls, start=1)]
    path = folder / "camwatch.yaml"
    path.write_text(yaml.safe_dump({"cameras": cameras, **extra}))
    return path


@pytest.mark.parametrize("password", PASSWORDS)
def test_check_config_never_prints_the_password(
    tmp_path: Path, password: str, caplog: pytest.LogCaptureFixture
) -> None:
    runner = CliRunner()
    good = runner.invoke(app, ["check-config", str(write_config(tmp_path, [url(password)]))])
    assert good.exit_code == 0 and "OK: 1 camera " in good.output
    assert exposed(good.output, password) == []

    # A bad port and a bad scheme: problems that quote the URL (and the parser's own error text).
    bad = [url(password, "127.0.0.1:99999/live"), url(password).replace("rtsp:", "http:")]
    failed = runner.invoke(app, ["check-config", str(write_config(tmp_path, [url(password), *bad]))])
    assert failed.exit_code == 1
    assert "c2" not in failed.output  # problems name file, line and field, not the camera...
    assert "line 5, field 'rtsp_url': not a valid URL (Port out of range 0-65535)" in failed.output
    assert "'rtsp://admin:***@127.0.0.1:99999/live'" in failed.output  # ...and the URL without the password
    assert "line 7, field 'rtsp_url': URL scheme must be rtsp or rtsps" in failed.output
    assert exposed(failed.output, password) == []
    assert "carry a password" in caplog.text and exposed(caplog.text, password) == []


@pytest.mark.parametrize("password", ["Zq7/Wk9", "Zq7#Wk9", "Zq7@Wk9/Vb4#Xr2?Yt6"])
async def test_a_rejected_reload_logs_no_password(
    tmp_path: Path, password: str, closed_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    monitor = {"listen": f"127.0.0.1:{unused_port()}", "state": "state.db"}
    path = write_config(tmp_path, [f"rtsp://127.0.0.1:{closed_port}/x"], monitor=monitor)
    service = Service(load_config(path), loader=load_config)
    await service.start()
    try:
        write_config(tmp_path, [url(password, f"127.0.0.1:{closed_port}/x")], monitor=monitor)
        with caplog.at_level(logging.INFO):
            assert service.reload() is True  # accepted: the password is moved out of the URL
        write_config(tmp_path, [url(password, "127.0.0.1:99999/x")], monitor=monitor)
        with caplog.at_level(logging.INFO):
            assert service.reload() is False
    finally:
        await service.stop()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "configuration reload rejected" in logged and "admin:***@127.0.0.1:99999/x" in logged
    assert "carry a password" in logged
    assert exposed(logged, password) == []


@pytest.mark.parametrize("password", ["Zq7/Wk9", "Zq7@Wk9/Vb4#Xr2?Yt6"])
def test_a_login_typed_into_the_host_field_is_not_echoed(
    tmp_path: Path, password: str, caplog: pytest.LogCaptureFixture
) -> None:
    host = f"admin:{password}@10.0.0.1"
    cameras = [{"id": "c1", "host": host}, {"id": "c2", "host": host, "rtsp_url": "rtsp://10.0.0.1/x"}]
    (tmp_path / "camwatch.yaml").write_text(yaml.safe_dump({"cameras": cameras}))
    result = CliRunner().invoke(app, ["check-config", str(tmp_path / "camwatch.yaml")])
    assert result.exit_code == 1 and result.output.count("'***@10.0.0.1'") == 2
    assert exposed(result.output + caplog.text, password) == []
