"""A live `weft serve` for the threads tests, with WEFT_* settings passed through (the shared helper strips them)."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx

from tests.support.server import WeftServer, free_port


class ThreadsServer(WeftServer):
    def __init__(self, data_dir, env: dict[str, str] | None = None, **kwargs):
        super().__init__(data_dir, **kwargs)
        self.env = dict(env or {})

    def start(self, timeout: float = 90.0) -> "ThreadsServer":  # a loaded 2-core CI box needs more than 30 s
        self.port = free_port() if self.proc is not None else self.port
        args = [sys.executable, "-m", "weft.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port),
                "--data-dir", str(self.data_dir), "--log-level", "warning"]
        if self.admin_key:
            args += ["--admin-key", self.admin_key]
        args += self.extra_args
        env = {k: v for k, v in os.environ.items() if not k.startswith("WEFT_")}
        env.update(self.env)
        env.update(self.cluster_env())
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"weft exited with {self.proc.returncode}: {self.log_path.read_text()[-3000:]}")
            try:
                r = httpx.get(f"{self.endpoint}/v1/conversations", timeout=1)  # 401 without touching storage
                if r.status_code in (200, 401, 403):
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.kill()  # do not leave a half-started server behind
        raise RuntimeError(f"weft did not start in {timeout}s: {self.log_path.read_text()[-3000:]}")

    def headers(self, key: str | None = None, tenant: str | None = None) -> dict[str, str]:
        h = {"authorization": f"Bearer {key or self.admin_key}"}
        if tenant:
            h["weft-tenant"] = tenant
        return h


def weft_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("WEFT_")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "weft.cli", *args], capture_output=True, text=True, env=full_env, timeout=60)
