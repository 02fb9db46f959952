"""Start and watch a `weft serve` subprocess on 127.0.0.1 (same idea as tests/support/server.py)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from httpclient import API_VERSION, Connection, encode_request

CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A free TCP port: the first free one of WEFT_BENCH_PORTS ("low-high") when set (a shared machine
    hands each user a range), else any the kernel picks."""
    span = os.environ.get("WEFT_BENCH_PORTS")
    candidates = range(int(span.split("-")[0]), int(span.split("-")[1]) + 1) if span else [0]
    for port in candidates:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise RuntimeError(f"no free port in WEFT_BENCH_PORTS={span}")


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def proc_threads(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return 0


class WeftServer:
    def __init__(self, data_dir: Path, log_path: Path, admin_key: str = "bench-admin-key", python: str = sys.executable):
        self.data_dir = Path(data_dir)
        self.log_path = Path(log_path)
        self.admin_key = admin_key
        self.python = python
        self.host = "127.0.0.1"
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def start(self, timeout: float = 60.0) -> "WeftServer":
        args = [self.python, "-m", "weft.cli", "serve", "--host", self.host, "--port", str(self.port),
                "--data-dir", str(self.data_dir), "--admin-key", self.admin_key, "--log-level", "warning"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("WEFT_")}
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
        log.close()
        probe = encode_request("GET", self.host, self.port, f"/indexes?api-version={API_VERSION}", self.admin_key)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"weft exited with {self.proc.returncode}; see {self.log_path}")
            try:
                c = Connection(self.host, self.port, timeout=2)
                status, _ = c.request(probe)
                c.close()
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"weft did not start within {timeout}s; see {self.log_path}")

    def cpu_seconds(self) -> float:
        return proc_cpu_seconds(self.pid)

    def rss_mib(self) -> float:
        return proc_rss_mib(self.pid)

    def wait_idle(self, quiet_cpu: float = 0.03, quiet_for: float = 3.0, timeout: float = 900.0, step: float = 0.5) -> float:
        """Block until the server has used less than quiet_cpu of a core for quiet_for seconds
        (background merges finished). Returns the seconds waited until the quiet period began."""
        t0 = time.monotonic()
        last_cpu = self.cpu_seconds()
        last_t = t0
        quiet_since = None
        while time.monotonic() - t0 < timeout:
            time.sleep(step)
            now = time.monotonic()
            cpu = self.cpu_seconds()
            busy = (cpu - last_cpu) / (now - last_t)
            last_cpu, last_t = cpu, now
            if busy < quiet_cpu:
                if quiet_since is None:
                    quiet_since = now - step
                if now - quiet_since >= quiet_for:
                    return quiet_since - t0
            else:
                quiet_since = None
        return time.monotonic() - t0

    def stop(self, timeout: float = 120.0) -> tuple[int, float]:
        """SIGTERM (graceful) and wait; returns (exit code, seconds to exit)."""
        if self.proc is None or self.proc.poll() is not None:
            return (self.proc.returncode if self.proc else 0), 0.0
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait(10)
        return code, time.monotonic() - t0
