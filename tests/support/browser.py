"""Load a page in headless Debian Chromium over the DevTools protocol: errors, requests, screenshot."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

CHROMIUM = "/usr/bin/chromium"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--hide-scrollbars",
    "--remote-debugging-port=0",
)
START_TIMEOUT_S = 20.0


@dataclass
class PageLoad:
    """What a page did while it loaded."""

    errors: list[str] = field(default_factory=list)  # console errors, uncaught exceptions, failed loads
    requests: list[str] = field(default_factory=list)  # every URL the page asked for
    screenshot: bytes = b""  # PNG
    values: dict[str, Any] = field(default_factory=dict)  # results of the `evaluate` expressions


def chromium_path() -> str:
    """Debian's Chromium; raises (so a test fails, not skips) when it is not installed."""
    found = shutil.which("chromium") or (CHROMIUM if os.access(CHROMIUM, os.X_OK) else None)
    if found is None:
        raise FileNotFoundError("chromium is not installed: apt-get install -y chromium")
    return found


def load_page(
    url: str,
    *,
    width: int = 1200,
    height: int = 800,
    settle_s: float = 1.0,
    evaluate: dict[str, str] | None = None,
    timeout_s: float = 60.0,
) -> PageLoad:
    """Open ``url`` in a fresh headless Chromium, wait for its load event plus ``settle_s``, evaluate the
    ``evaluate`` JavaScript expressions (name -> expression; a Promise is awaited) and take a screenshot;
    the browser is stopped before returning."""
    with tempfile.TemporaryDirectory(prefix="camwatch-chromium-") as profile:
        process = subprocess.Popen(
            [
                chromium_path(),
                *FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            endpoint = _devtools_endpoint(Path(profile), process)
            return asyncio.run(
                asyncio.wait_for(_drive(endpoint, url, width, height, settle_s, evaluate or {}), timeout_s)
            )
        finally:
            _stop(process)


def _devtools_endpoint(profile: Path, process: subprocess.Popen[bytes]) -> str:
    """The browser's websocket URL, from the DevToolsActivePort file Chromium writes when it is ready."""
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"chromium exited with code {process.returncode} before it was ready")
        with contextlib.suppress(FileNotFoundError):
            lines = port_file.read_text().split()
            if len(lines) == 2:
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        time.sleep(0.05)
    raise TimeoutError(f"chromium did not open its DevTools port within {START_TIMEOUT_S} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


class _Session:
    """A flattened DevTools session on one page target."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.session_id: str | None = None
        self.next_id = 0
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def call(self, method: str, params: dict[str, Any] | None = None, *, browser: bool = False) -> Any:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if not browser and self.session_id:
            message["sessionId"] = self.session_id
        reply: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[self.next_id] = reply
        await self.ws.send_json(message)
        answer = await reply
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer.get("result", {})

    async def read(self) -> None:
        async for message in self.ws:
            data = message.json()
            if "id" in data and data["id"] in self.pending:
                self.pending.pop(data["id"]).set_result(data)
            elif "method" in data:
                await self.events.put(data)


async def _drive(
    endpoint: str, url: str, width: int, height: int, settle_s: float, evaluate: dict[str, str]
) -> PageLoad:
    result = PageLoad()
    async with aiohttp.ClientSession() as http, http.ws_connect(endpoint, max_msg_size=0) as ws:
        session = _Session(ws)
        reader = asyncio.create_task(session.read())
        try:
            target = await session.call("Target.createTarget", {"url": "about:blank"}, browser=True)
            attached = await session.call(
                "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}, browser=True
            )
            session.session_id = attached["sessionId"]
            for domain in ("Page", "Runtime", "Log", "Network"):
                await session.call(f"{domain}.enable")
            await session.call(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            )
            await session.call("Page.navigate", {"url": url})
            await _collect_until_loaded(session, result)
            await asyncio.sleep(settle_s)
            _drain(session, result)
            for name, expression in evaluate.items():
                answer = await session.call(
                    "Runtime.evaluate",
                    {"expression": expression, "returnByValue": True, "awaitPromise": True},
                )
                result.values[name] = answer["result"].get("value")
            shot = await session.call("Page.captureScreenshot", {"format": "png"})
            result.screenshot = base64.b64decode(shot["data"])
            _drain(session, result)
        finally:
            reader.cancel()
    return result


async def _collect_until_loaded(session: _Session, result: PageLoad) -> None:
    while True:
        event = await session.events.get()
        _record(event, result)
        if event["method"] == "Page.loadEventFired":
            return


def _drain(session: _Session, result: PageLoad) -> None:
    while not session.events.empty():
        _record(session.events.get_nowait(), result)


def _record(event: dict[str, Any], result: PageLoad) -> None:
    method, params = event["method"], event.get("params", {})
    if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
        result.errors.append(
            " ".join(str(arg.get("value", arg.get("description"))) for arg in params["args"])
        )
    elif method == "Runtime.exceptionThrown":
        details = params["exceptionDetails"]
        result.errors.append(str(details.get("exception", {}).get("description", details.get("text"))))
    elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
        result.errors.append(f"{params['entry']['text']} {params['entry'].get('url', '')}".strip())
    elif method == "Network.requestWillBeSent":
        result.requests.append(params["request"]["url"])
    elif method == "Network.loadingFailed":
        result.errors.append(f"request failed: {params.get('errorText')}")
