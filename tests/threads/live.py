"""A live `weft serve` for the threads tests, with WEFT_* settings passed through (the shared helper strips them)."""
from __future__ import annotations

import os
import subprocess
import sys

import httpx

from tests.support.server import WeftServer


class ThreadsServer(WeftServer):
    def __init__(self, data_dir, env: dict[str, str] | None = None, **kwargs):
        super().__init__(data_dir, **kwargs)
        self.env = dict(env or {})

    def start(self, timeout: float = 90.0) -> "ThreadsServer":  # a loaded 2-core CI box needs more than 30 s
        return super().start(timeout)

    def command(self) -> list[str]:
        args = [sys.executable, "-m", "weft.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port),
                "--data-dir", str(self.data_dir), "--log-level", "warning"]
        if self.admin_key:
            args += ["--admin-key", self.admin_key]
        return args + self.extra_args

    def answers(self) -> bool:
        try:
            r = httpx.get(f"{self.endpoint}/v1/conversations", timeout=1)  # 401 without touching storage
            return r.status_code in (200, 401, 403)
        except httpx.HTTPError:
            return False

    def headers(self, key: str | None = None, tenant: str | None = None) -> dict[str, str]:
        h = {"authorization": f"Bearer {key or self.admin_key}"}
        if tenant:
            h["weft-tenant"] = tenant
        return h


def weft_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("WEFT_")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "weft.cli", *args], capture_output=True, text=True, env=full_env, timeout=60)
