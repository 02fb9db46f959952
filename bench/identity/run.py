"""What identity and operations cost a search, side by side in one run.

Four `weft serve` processes over copies of the same index (20,000 generated documents):
  keys          plain HTTP, api-key, metrics off (`WEFT_METRICS=off`: no per-request metrics)
  keys+metrics  plain HTTP, api-key, metrics on (the default)
  token+metrics plain HTTP, a bearer token (RS256, JWKS from a file; validated on every request), metrics on
  tls+metrics   HTTPS (`--tls auto`), api-key, metrics on
Latency: one client, sequential one-term searches, the configurations interleaved query by query over several
rounds; p50/p95 per configuration and the p50 difference to `keys`. Throughput: 8 client threads for a fixed time,
each configuration in turn, repeated; medians. Request ids are on in every configuration (they cannot be turned
off). The client is a minimal keep-alive socket client (bench/httpclient.py's idea) so its own cost stays small.

    .venv/bin/python bench/identity/run.py [--docs 20000] [--rounds 5] [--seconds 5]

Writes bench/identity/RESULTS.md and its section of bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parents[2]
API = "2026-04-01"
INDEX = "bench"
WORDS = [f"w{i:04d}" for i in range(3000)]
ISSUER = "https://issuer.bench.local/v2.0"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Conn:
    def __init__(self, port: int, context: ssl.SSLContext | None):
        self.port, self.context = port, context
        self.sock = None
        self.buf = b""

    def _open(self):
        s = socket.create_connection(("127.0.0.1", self.port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = self.context.wrap_socket(s, server_hostname="127.0.0.1") if self.context else s
        self.buf = b""

    def request(self, raw: bytes) -> tuple[int, bytes]:
        if self.sock is None:
            self._open()
        self.sock.sendall(raw)
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
        while len(rest) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            rest += chunk
        self.buf = rest[length:]
        return status, rest[:length]


def encode(method: str, path: str, auth: tuple[str, str], body: dict | None = None) -> bytes:
    data = json.dumps(body).encode() if body is not None else b""
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"{auth[0]}: {auth[1]}", "Accept: application/json"]
    if body is not None:
        head += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + data


class Server:
    def __init__(self, name: str, root: Path, args: list[str], env: dict[str, str], tls: bool):
        self.name, self.tls = name, tls
        self.data = root / name
        self.port = free_port()
        self.admin = "bench-admin-key"
        env = {k: v for k, v in os.environ.items() if not k.startswith("WEFT_")} | env
        self.log = open(root / f"{name}.log", "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "weft.cli", "serve", "--port", str(self.port), "--data-dir", str(self.data),
                                      "--admin-key", self.admin, "--log-level", "warning", *args], env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.context = None
        deadline = time.monotonic() + 60
        while True:
            try:
                if tls:
                    self.context = ssl.create_default_context(cafile=str(self.data / "tls" / "ca.pem"))
                c = Conn(self.port, self.context)
                if c.request(encode("GET", f"/indexes?api-version={API}", ("api-key", self.admin)))[0] == 200:
                    break
            except (OSError, ConnectionError, ssl.SSLError):
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(f"{name} did not start: {(root / f'{name}.log').read_text()[-2000:]}")
                time.sleep(0.2)

    def cpu(self) -> float:
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(60)


def load(server: Server, docs: int, seed: int = 7) -> None:
    c = Conn(server.port, server.context)
    auth = ("api-key", server.admin)
    definition = {"name": INDEX, "fields": [{"name": "id", "type": "Edm.String", "key": True},
                                            {"name": "body", "type": "Edm.String", "searchable": True}]}
    assert c.request(encode("POST", f"/indexes?api-version={API}", auth, definition))[0] == 201
    rng = random.Random(seed)
    for start in range(0, docs, 1000):
        batch = [{"@search.action": "upload", "id": str(i), "body": " ".join(rng.choice(WORDS) for _ in range(12))}
                 for i in range(start, min(docs, start + 1000))]
        status, body = c.request(encode("POST", f"/indexes/{INDEX}/docs/index?api-version={API}", auth, {"value": batch}))
        assert status == 200, body[:300]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--queries", type=int, default=400, help="queries per configuration per round")
    ap.add_argument("--seconds", type=float, default=5.0, help="throughput window per configuration")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--clients", type=int, default=8)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="weft-bench-identity-"))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key())) | {"kid": "bench", "use": "sig", "alg": "RS256"}
    (root / "jwks.json").write_text(json.dumps({"keys": [jwk]}))
    now = int(time.time())
    token = jwt.encode({"iss": ISSUER, "aud": "https://search.azure.com", "iat": now, "exp": now + 7200, "oid": "bench",
                        "roles": ["Search Index Data Reader", "Search Service Contributor"]}, key, algorithm="RS256", headers={"kid": "bench"})
    configs = {
        "keys": ([], {"WEFT_METRICS": "off"}, False, ("api-key", "bench-admin-key")),
        "keys+metrics": ([], {}, False, ("api-key", "bench-admin-key")),
        "token+metrics": (["--oidc-issuer", ISSUER, "--oidc-jwks-file", str(root / "jwks.json")], {}, False, ("Authorization", f"Bearer {token}")),
        "tls+metrics": (["--tls", "auto"], {}, True, ("api-key", "bench-admin-key")),
    }
    servers = {}
    try:
        for name, (extra, env, tls, _) in configs.items():
            servers[name] = Server(name, root, extra, env, tls)
            load(servers[name], args.docs)
        print(f"loaded {args.docs} docs into {len(servers)} servers", file=sys.stderr)
        rng = random.Random(11)
        queries = [rng.choice(WORDS) for _ in range(args.queries)]
        requests = {name: [encode("POST", f"/indexes/{INDEX}/docs/search?api-version={API}", configs[name][3], {"search": q, "top": 10})
                           for q in queries] for name in configs}
        conns = {name: Conn(s.port, s.context) for name, s in servers.items()}
        for name in configs:  # warm up
            for raw in requests[name][:50]:
                assert conns[name].request(raw)[0] == 200
        latency: dict[str, list[float]] = {name: [] for name in configs}
        round_p50: dict[str, list[float]] = {name: [] for name in configs}
        loads = []
        for r in range(args.rounds):
            order = list(configs)
            mine: dict[str, list[float]] = {name: [] for name in configs}
            for i in range(args.queries):
                rng.shuffle(order)
                for name in order:
                    t = time.perf_counter()
                    status, _ = conns[name].request(requests[name][i])
                    mine[name].append((time.perf_counter() - t) * 1000)
                    assert status == 200
            for name in configs:
                latency[name] += mine[name]
                round_p50[name].append(statistics.median(mine[name]))
            loads.append(os.getloadavg()[0])
            print(f"latency round {r + 1}/{args.rounds}: " + ", ".join(f"{n} {statistics.median(mine[n]):.3f}" for n in configs), file=sys.stderr)
        qps: dict[str, list[float]] = {name: [] for name in configs}
        cpu_per_q: dict[str, list[float]] = {name: [] for name in configs}
        for rep in range(args.repeats):
            for name in configs:
                srv = servers[name]
                counts = [0] * args.clients
                barrier = threading.Barrier(args.clients + 1)
                end = [0.0]

                def worker(k: int) -> None:
                    c = Conn(srv.port, srv.context)
                    c.request(requests[name][k])
                    barrier.wait()
                    i = k
                    while time.perf_counter() < end[0]:
                        c.request(requests[name][i % len(requests[name])])
                        counts[k] += 1
                        i += 1

                threads = [threading.Thread(target=worker, args=(k,)) for k in range(args.clients)]
                for t in threads:
                    t.start()
                cpu0 = srv.cpu()
                t0 = time.perf_counter()
                end[0] = t0 + args.seconds
                barrier.wait()
                for t in threads:
                    t.join()
                elapsed = time.perf_counter() - t0
                qps[name].append(sum(counts) / elapsed)
                cpu_per_q[name].append((srv.cpu() - cpu0) * 1000 / max(1, sum(counts)))
                loads.append(os.getloadavg()[0])
            print(f"throughput repeat {rep + 1}: " + ", ".join(f"{n} {qps[n][-1]:.0f}" for n in configs), file=sys.stderr)
    finally:
        for s in servers.values():
            s.stop()
    base = statistics.median(round_p50["keys"])
    rows = []
    for name in configs:
        p50 = statistics.median(round_p50[name])
        rows.append(f"| {name} | {p50:.3f} | {p50 - base:+.3f} | {pct(latency[name], 95):.3f} | {statistics.median(qps[name]):.0f} | "
                    f"{statistics.median(qps[name]) / statistics.median(qps['keys+metrics']):.2f} | {statistics.median(cpu_per_q[name]):.2f} |")
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    table = "\n".join([
        f"Run {stamp}: {args.docs:,} documents, one-term searches (`top=10`), {args.rounds} interleaved latency rounds of {args.queries} "
        f"queries per configuration (p50 = median of the rounds' medians), throughput {args.clients} clients x {args.seconds:g} s x "
        f"{args.repeats} (median). Load average during the run: {min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} cores "
        "(client and servers share the machine).",
        "",
        "| configuration | p50 ms | p50 vs keys | p95 ms | q/s (8 clients) | q/s vs keys+metrics | server CPU ms/query |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
        "Targets (issue 14): tokens + metrics + request ids add <= 0.1 ms p50 to a search (token+metrics vs keys); TLS keeps "
        ">= 80% of plain HTTP's queries/s with 8 clients (tls+metrics vs keys+metrics).",
    ])
    out = ROOT / "bench" / "identity" / "RESULTS.md"
    out.write_text("# Identity and operations overhead (bench/identity/run.py)\n\n" + table + "\n")
    results = ROOT / "bench" / "RESULTS.md"
    text = results.read_text() if results.exists() else ""
    block = "<!-- identity:begin -->\n## Identity and operations: api-key, bearer token, TLS, metrics\n\n" + table + "\n<!-- identity:end -->"
    if "<!-- identity:begin -->" in text:
        text = re.sub(r"<!-- identity:begin -->.*<!-- identity:end -->", lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    results.write_text(text)
    print(table)


if __name__ == "__main__":
    main()
