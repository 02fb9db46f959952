"""Start a real `weft serve` subprocess on a free port, for tests that talk HTTP."""
from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

API_VERSION = "2026-04-01"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PORT_TRIES = 3


def listens(pid: int, port: int) -> bool | None:
    """Whether process ``pid`` holds a TCP socket listening on ``port`` (Linux: /proc); None where that cannot be told."""
    if not os.path.isdir("/proc/self/fd"):
        return None
    sockets = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:  # the process is gone
        return False
    for fd in fds:
        try:
            sockets.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:  # closed meanwhile
            pass
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:  # sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port and f"socket:[{fields[9]}]" in sockets:
                return True
    return False


_CLUSTER_DBS: list = []  # the databases of WEFT_TEST_CLUSTER=1, dropped at exit (after the servers stopped)


@atexit.register
def drop_cluster_databases() -> None:
    """tests/conftest.py calls it when pytest ends (an xdist worker may not run atexit handlers)."""
    while _CLUSTER_DBS:
        _CLUSTER_DBS.pop().drop()


class WeftServer:
    def __init__(self, data_dir: Path, admin_key: str = "test-admin-key", query_key: str = "test-query-key", extra_args: list[str] | None = None,
                 env: dict[str, str] | None = None, scheme: str = "http", verify: object = True):
        self.data_dir = Path(data_dir)
        self.admin_key = admin_key
        self.query_key = query_key
        self.extra_args = extra_args or []
        self.env = dict(env or {})  # WEFT_* settings for this server (the caller's own WEFT_* are not inherited)
        self.scheme = scheme
        self.verify = verify  # for https: the CA file to trust (for --tls auto, known only once the server made it)
        # tests keep their SQLite sources in pytest's temporary directories, outside the data dir
        self.env.setdefault("WEFT_SQLITE_DIRS", tempfile.gettempdir())
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.log_path = self.data_dir.parent / f"weft-{self.port}.log"

    @property
    def endpoint(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def cluster_env(self) -> dict[str, str]:
        """Under WEFT_TEST_CLUSTER=1 every server a test starts is a cluster node over its own fresh PostgreSQL database
        (made at the first start, kept across restarts, dropped when the test process exits); a server the test itself
        points at a cluster (WEFT_CLUSTER_URL) is left as it is. See docs/cluster.md."""
        if os.environ.get("WEFT_TEST_CLUSTER") != "1" or "WEFT_CLUSTER_URL" in self.env:
            return {}
        if getattr(self, "_cluster_db", None) is None:
            from tests.support.cluster import ClusterDatabase

            self._cluster_db = ClusterDatabase("node")
            _CLUSTER_DBS.append(self._cluster_db)
        return {"WEFT_CLUSTER_URL": self._cluster_db.url, "WEFT_NODE_ID": f"test-{self._cluster_db.name[-10:]}"}

    def start(self, timeout: float = 60.0) -> "WeftServer":  # generous: a loaded 2-core CI host starts slowly
        self.port = free_port() if self.proc is not None else self.port
        for _ in range(PORT_TRIES):
            if self._launch(timeout):
                return self
            self.port = free_port()  # another process took the port before this server could bind it
        raise RuntimeError(f"weft found its port taken {PORT_TRIES} times: {self.log_path.read_text(errors='replace')[-3000:]}")

    def _launch(self, timeout: float) -> bool:
        """Starts ``weft serve`` on ``self.port`` and waits until that process answers there: True. False when it could not
        bind the port: free_port() hands out a port nobody holds at that moment, and another process (a server of another
        xdist worker) may bind it before this one does; that process also answers the readiness probe (with the same
        default admin key, a 200), so an answer counts only once this process holds the listening socket."""
        args = self.command()
        logged = self.log_path.stat().st_size if self.log_path.exists() else 0
        env = {k: v for k, v in os.environ.items() if not k.startswith("WEFT_")}
        env.update(self.env)
        env.update(self.cluster_env())
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                if b"address already in use" in self.log_path.read_bytes()[logged:]:
                    return False
                raise RuntimeError(f"weft exited with {self.proc.returncode}: {self.log_path.read_text()[-3000:]}")
            if self.answers() and listens(self.proc.pid, self.port) is not False:
                return True
            time.sleep(0.1)
        self.kill()  # do not leave a half-started server behind
        raise RuntimeError(f"weft did not start in {timeout}s: {self.log_path.read_text()[-3000:]}")

    def command(self) -> list[str]:
        args = [sys.executable, "-m", "weft.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port), "--data-dir", str(self.data_dir), "--log-level", "warning"]
        if self.admin_key:
            args += ["--admin-key", self.admin_key]
        if self.query_key:
            args += ["--query-key", self.query_key]
        return args + self.extra_args

    def answers(self) -> bool:
        """The readiness probe: something answers HTTP on the port."""
        try:
            verify = self.verify() if callable(self.verify) else self.verify
            r = httpx.get(f"{self.endpoint}/indexes?api-version={API_VERSION}", headers={"api-key": self.admin_key or ""}, timeout=5, verify=verify)
            return r.status_code in (200, 401, 403)
        except (httpx.HTTPError, OSError):  # OSError: the CA file of --tls auto is not written yet
            return False

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> int:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            return self.proc.wait(30)
        return self.proc.returncode if self.proc else 0

    def url(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.endpoint}{path}{sep}api-version={API_VERSION}"
