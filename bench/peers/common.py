"""Shared helpers of bench/peers: a `weft serve` with a keep-alive client, timing, load notes."""
from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))  # bench/httpclient.py, bench/weft_server.py, bench/corpus.py
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

from httpclient import API_VERSION, Connection  # noqa: E402
from weft_server import WeftServer  # noqa: E402

ADMIN_KEY = "bench-admin-key"
PG_DSN = os.environ.get("WEFT_BENCH_PG_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=test")
PG_URL = os.environ.get("WEFT_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def log(*parts) -> None:
    print(time.strftime("%H:%M:%S"), *parts, flush=True)


def load() -> float:
    return os.getloadavg()[0]


class Phase:
    """Notes the 1-minute load average at the start and end of a phase."""

    loads: dict[str, tuple[float, float]] = {}

    def __init__(self, name: str):
        self.name = name

    def __enter__(self):
        self.start = load()
        self.t0 = time.perf_counter()
        log(f"phase {self.name} (load {self.start:.1f})")
        return self

    def __exit__(self, *exc):
        Phase.loads[self.name] = (self.start, load())
        log(f"phase {self.name} done in {time.perf_counter() - self.t0:.0f} s (load {load():.1f})")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def overlap(a: list, b: list) -> float:
    if not a and not b:
        return 1.0
    return len(set(a[:10]) & set(b[:10])) / max(1, min(10, max(len(a), len(b))))


class Weft:
    """A `weft serve` subprocess (this interpreter, this tree's src) and one keep-alive connection."""

    def __init__(self, folder: Path):
        os.environ["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")
        folder.mkdir(parents=True, exist_ok=True)
        self.server = WeftServer(folder / "data", folder / "server.log", admin_key=ADMIN_KEY).start()
        self.conn = Connection(self.server.host, self.server.port, timeout=120)

    def encode(self, method: str, path: str, payload=None, *, v1: bool = False) -> bytes:
        body = b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()
        if not v1:
            path = f"{path}{'&' if '?' in path else '?'}api-version={API_VERSION}"
        auth = f"Authorization: Bearer {ADMIN_KEY}" if v1 else f"api-key: {ADMIN_KEY}"
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.server.host}:{self.server.port}\r\n{auth}\r\n"
                f"Content-Type: application/json\r\nAccept: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
        return head.encode() + body

    def call(self, method: str, path: str, payload=None, *, v1: bool = False, expect=(200, 201, 204)) -> dict:
        status, body = self.conn.request(self.encode(method, path, payload, v1=v1))
        if status not in expect:
            raise RuntimeError(f"{method} {path}: {status} {body[:300]!r}")
        return json.loads(body) if body else {}

    def send(self, request: bytes) -> bytes:
        status, body = self.conn.request(request)
        if status != 200:
            raise RuntimeError(f"{status} {body[:300]!r}")
        return body

    def count(self, index: str) -> int:
        return int(self.call("POST", f"/indexes/{index}/docs/search", {"search": "*", "count": True, "top": 0})["@odata.count"])

    def wait_count(self, index: str, n: int, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while self.count(index) < n:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{index} did not reach {n} documents")
            time.sleep(0.05)

    def close(self) -> None:
        self.conn.close()
        self.server.stop()
