"""A headless Chromium driven through chromedriver's W3C WebDriver HTTP protocol, with httpx.

Playwright and Selenium are not installed in the shared environment; WebDriver is a small JSON-over-HTTP
protocol, so the few commands the tests need (open a page, run an async script) are spoken directly."""
from __future__ import annotations

import os
import shutil
import subprocess
import time

import httpx
import pytest

from tests.support.server import free_port

CHROMIUM = os.environ.get("WEFT_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("WEFT_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")


def require_chromium() -> None:
    """Skip (locally) or fail (CI=true) when the browser or its driver is missing."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not (os.path.exists(p) or shutil.which(p))]
    if missing:
        message = f"headless Chromium is needed for this test; missing: {', '.join(missing)}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)


class Browser:
    def __init__(self) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen([CHROMEDRIVER, f"--port={self.port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=60)
        deadline = time.monotonic() + 30
        while True:
            try:
                if self.http.get("/status").json()["value"]["ready"]:
                    break
            except (httpx.HTTPError, KeyError, ValueError):
                pass
            if time.monotonic() > deadline:
                self.close()
                raise RuntimeError("chromedriver did not become ready")
            time.sleep(0.1)
        caps = {"browserName": "chrome", "goog:chromeOptions": {
            "binary": CHROMIUM, "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]}}
        r = self.http.post("/session", json={"capabilities": {"alwaysMatch": caps}})
        r.raise_for_status()
        self.session = r.json()["value"]["sessionId"]

    def _command(self, path: str, body: dict) -> object:
        r = self.http.post(f"/session/{self.session}{path}", json=body)
        value = r.json().get("value")
        if r.status_code != 200:
            raise RuntimeError(f"webdriver {path}: {value}")
        return value

    def open(self, url: str) -> None:
        self._command("/url", {"url": url})

    def run_async(self, script: str, *args: object) -> object:
        """Runs `script` in the page; it calls `arguments[arguments.length - 1](result)` when done."""
        self._command("/timeouts", {"script": 30000})
        return self._command("/execute/async", {"script": script, "args": list(args)})

    def close(self) -> None:
        try:
            if getattr(self, "session", None):
                self.http.delete(f"/session/{self.session}")
        finally:
            self.http.close()
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
