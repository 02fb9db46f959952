"""Abuse on loopback, in bounded loops: expensive searches and slow model calls do not delay cheap
requests; rate and concurrency limits answer 429 with Retry-After in each family's shape; a 300 MiB
body is refused without the server reading it into memory."""
from __future__ import annotations

import random
import select
import socket
import statistics
import sys
import threading
import time

import httpx
import pytest

from tests.support.server import WeftServer
from tests.threads.fake_llm import FakeChatServer

V = "api-version=2026-04-01"
_rnd = random.Random(1)
WORDS = ["".join(_rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(8)) for i in range(40_000)]


def _rss_kib(pid: int) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.fixture(scope="module")
def slow_llm():
    llm = FakeChatServer(delay=4.0).start()
    yield llm
    llm.stop()


@pytest.fixture(scope="module")
def busy(tmp_path_factory, slow_llm):
    env = {"WEFT_LLM_BASE_URL": slow_llm.base_url, "WEFT_LLM_MODEL": "slow", "WEFT_MODEL_CONCURRENCY": "64"}
    srv = WeftServer(tmp_path_factory.mktemp("abuse") / "data", env=env).start()
    h = {"api-key": srv.admin_key}
    index = {"name": "abuse", "fields": [{"name": "id", "type": "Edm.String", "key": True}, {"name": "t", "type": "Edm.String", "searchable": True}]}
    assert httpx.post(srv.url("/indexes"), headers=h, json=index).status_code == 201
    rnd = random.Random(7)
    for start in range(0, 20_000, 1000):
        docs = [{"id": str(i), "t": " ".join(rnd.choice(WORDS) for _ in range(12)) + (" hello" if i % 100 == 0 else "")}
                for i in range(start, start + 1000)]
        assert httpx.post(srv.url("/indexes/abuse/docs/index"), headers=h, json={"value": docs}, timeout=60).status_code == 200
    yield srv
    srv.stop()


def test_cheap_requests_stay_fast_under_expensive_queries_and_slow_model_calls(busy, slow_llm):
    h = {"api-key": busy.admin_key}
    # at the complexity limits: 25 regex and 50 fuzzy clauses
    regexes = " ".join(f"/.*{a}.*{b}.*/" for a, b in zip("abcdefghijklmnopqrstuvwxy", "zyxwvutsrqponmlkjihgfedcb"))
    fuzzy = " ".join(f"{w}~2" for w in WORDS[:50])
    expensive = {"search": f"{regexes} {fuzzy}", "queryType": "full", "top": 5}
    # how long one expensive query takes alone (it must really be expensive for the test to mean anything)
    t0 = time.perf_counter()
    assert httpx.post(busy.url("/indexes/abuse/docs/search"), headers=h, json=expensive, timeout=60).status_code == 200
    alone = time.perf_counter() - t0
    stop = threading.Event()
    errors: list = []

    def hammer_search():
        with httpx.Client(headers=h, timeout=60) as c:
            while not stop.is_set():
                r = c.post(busy.url("/indexes/abuse/docs/search"), json=expensive)
                if r.status_code not in (200, 503):
                    errors.append(r.text)

    def slow_response(n: int):
        with httpx.Client(headers=h, timeout=60) as c:
            r = c.post(f"{busy.endpoint}/v1/responses", json={"model": "slow", "input": f"q{n}"})
            if r.status_code != 200:
                errors.append(r.text)

    workers = [threading.Thread(target=hammer_search) for _ in range(2)] + [threading.Thread(target=slow_response, args=(n,)) for n in range(40)]
    for w in workers:
        w.start()
    search_ms, threads_ms = [], []
    with httpx.Client(headers=h, timeout=10) as c:
        c.post(busy.url("/indexes/abuse/docs/search"), json={"search": "hello", "top": 3})  # connect (untimed)
        c.get(f"{busy.endpoint}/v1/conversations?limit=1")
        deadline = time.monotonic() + 10
        while len(slow_llm.requests) < 40:  # every model call is waiting upstream (4 s) from here on
            assert time.monotonic() < deadline, len(slow_llm.requests)
            time.sleep(0.05)
        at = []
        began = time.perf_counter()
        for _ in range(200):
            t = time.perf_counter()
            at.append(t - began)
            r = c.post(busy.url("/indexes/abuse/docs/search"), json={"search": "hello", "top": 3})
            search_ms.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200 and r.json()["value"]
            t = time.perf_counter()
            assert c.get(f"{busy.endpoint}/v1/conversations?limit=1").status_code == 200  # a key check and a read
            threads_ms.append((time.perf_counter() - t) * 1000)
    stop.set()
    for w in workers:
        w.join(60)
    assert not errors, errors[:3]
    assert alone > 0.2, f"the expensive query took only {alone:.3f}s alone"

    def p99(xs):
        return statistics.quantiles(xs, n=100, method="inclusive")[98]

    slowest = sorted(range(len(search_ms)), key=lambda i: -search_ms[i])[:4]
    assert p99(search_ms) < 100, [(round(search_ms[i]), round(at[i], 2)) for i in slowest]
    assert p99(threads_ms) < 100, sorted(threads_ms)[-5:]


def test_a_search_over_its_time_budget_is_a_503(tmp_path, busy):
    # a second server on the same data would lock it: build a tiny one with a tiny budget
    srv = WeftServer(tmp_path / "data", env={"WEFT_SEARCH_TIMEOUT": "0.001"}).start()
    try:
        h = {"api-key": srv.admin_key}
        index = {"name": "budget", "fields": [{"name": "id", "type": "Edm.String", "key": True}, {"name": "t", "type": "Edm.String", "searchable": True}]}
        httpx.post(srv.url("/indexes"), headers=h, json=index)
        for start in range(0, 20_000, 1000):  # a batch holds at most 1,000 actions: every upload must be taken
            batch = [{"id": str(i), "t": WORDS[i]} for i in range(start, start + 1000)]
            assert httpx.post(srv.url("/indexes/budget/docs/index"), headers=h, json={"value": batch}, timeout=60).status_code == 200
        r = httpx.post(srv.url("/indexes/budget/docs/search"), headers=h, json={"search": "/.*a.*b.*c.*/ /.*d.*e.*/", "queryType": "full"})
        assert r.status_code == 503, r.text
        assert r.json()["error"]["code"] == "RequestTimeout" and "WEFT_SEARCH_TIMEOUT" in r.json()["error"]["message"]
        assert httpx.post(srv.url("/indexes/budget/docs/search"), headers=h, json={"search": WORDS[0]}).status_code == 200  # cheap: inline
    finally:
        srv.stop()


def test_rate_and_concurrency_limits_answer_429_with_retry_after(tmp_path):
    llm = FakeChatServer(delay=2.0).start()
    env = {"WEFT_KEY_RATE": "1", "WEFT_KEY_BURST": "5", "WEFT_LLM_BASE_URL": llm.base_url, "WEFT_LLM_MODEL": "slow",
           "WEFT_MODEL_CONCURRENCY": "2"}
    srv = WeftServer(tmp_path / "data", env=env).start()
    try:
        began = time.monotonic()
        with httpx.Client(headers={"api-key": srv.query_key}) as c:
            statuses = [c.get(srv.url("/indexes/none/docs/$count")) for _ in range(12)]
        elapsed = time.monotonic() - began
        refused = [r for r in statuses if r.status_code == 429]
        granted = len(statuses) - len(refused)
        assert 5 <= granted <= 5 + elapsed * 1 + 1 and refused, (granted, elapsed)  # the burst, plus what refilled meanwhile
        r = refused[0]
        assert int(r.headers["retry-after"]) >= 1
        assert set(r.json()["error"]) == {"code", "message"} and "WEFT_KEY_RATE" in r.json()["error"]["message"]
        r = None
        for _ in range(12):
            r = httpx.get(f"{srv.endpoint}/v1/conversations", headers={"api-key": "same-wrong-key"})
            if r.status_code == 429:
                break
        assert r.status_code == 429 and r.json()["error"]["type"] == "rate_limit_error" and r.headers["retry-after"]
        # the admin key is another caller with its own bucket (5 tokens): four requests fit in it
        results: list = []

        def ask(n):
            with httpx.Client(timeout=30) as c:
                results.append(c.post(f"{srv.endpoint}/v1/responses", headers={"api-key": srv.admin_key}, json={"model": "slow", "input": f"q{n}"}))

        threads = [threading.Thread(target=ask, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
            time.sleep(0.25)
        for t in threads:
            t.join()
        codes = sorted(r.status_code for r in results)
        assert codes == [200, 200, 429, 429], [r.text for r in results]
        for busy in (r for r in results if r.status_code == 429):  # the tenant's model calls, not the key's rate
            assert busy.json()["error"]["type"] == "rate_limit_error" and "WEFT_MODEL_CONCURRENCY" in busy.json()["error"]["message"]
            assert int(busy.headers["retry-after"]) >= 1
    finally:
        srv.stop()
        llm.stop()


def _read_response(sock: socket.socket, timeout: float = 10.0) -> bytes:
    sock.settimeout(timeout)
    data = b""
    try:
        while b"\r\n\r\n" not in data or len(data) < data.index(b"\r\n\r\n") + 4:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        data += sock.recv(65536) if b"\r\n\r\n" in data and not data.rstrip().endswith(b"}") else b""
    except (socket.timeout, ConnectionError):
        pass
    return data


def test_a_300_mib_body_is_refused_without_the_memory(server):
    pid = server.proc.pid
    before = _rss_kib(pid)
    size = 300 * 1024 * 1024
    # declared up front: refused before a byte of the body is read
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(f"POST /indexes/x/docs/index?{V} HTTP/1.1\r\nHost: x\r\napi-key: {server.admin_key}\r\n"
                     f"Content-Type: application/json\r\nContent-Length: {size}\r\n\r\n".encode())
        sock.sendall(b'{"value": [' + b" " * 65536)
        answer = _read_response(sock)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"RequestEntityTooLarge"' in answer
    # chunked, no Content-Length: counted while it arrives, refused past the limit
    chunk = b" " * (1024 * 1024)
    sent = 0
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(f"POST /v1/conversations HTTP/1.1\r\nHost: x\r\napi-key: {server.admin_key}\r\n"
                     "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
        try:
            while sent < size:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
                if select.select([sock], [], [], 0)[0]:
                    break
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = _read_response(sock)
    assert sent < 64 * 1024 * 1024, sent  # the server stopped reading long before 300 MiB
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"invalid_request_error"' in answer  # OpenAI's shape on /v1
    grown = _rss_kib(pid) - before
    assert grown < 100 * 1024, f"the server's RSS grew by {grown} KiB"
    assert httpx.get(server.url("/indexes"), headers={"api-key": server.admin_key}).status_code == 200


def test_slow_bodies_time_out_while_the_service_keeps_answering(tmp_path):
    srv = WeftServer(tmp_path / "data", env={"WEFT_BODY_TIMEOUT": "1"}).start()
    socks = []
    try:
        for _ in range(50):  # slow clients: the head and a few bytes of a body, then nothing
            s = socket.create_connection(("127.0.0.1", srv.port))
            s.sendall(f"POST /v1/conversations HTTP/1.1\r\nHost: x\r\napi-key: {srv.admin_key}\r\n"
                      "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"meta".encode())
            socks.append(s)
        t = time.perf_counter()
        assert httpx.get(srv.url("/indexes"), headers={"api-key": srv.admin_key}).status_code == 200
        assert time.perf_counter() - t < 2.0  # served while they hang (generous: the test machine is shared)
        answers = [_read_response(s, timeout=5) for s in socks]
        assert all(a.startswith(b"HTTP/1.1 408") for a in answers), {a[:40] for a in answers}
        assert b"WEFT_BODY_TIMEOUT" in answers[0]
    finally:
        for s in socks:
            s.close()
        srv.stop()


def test_slow_request_heads_are_closed(tmp_path):
    srv = WeftServer(tmp_path / "data", env={"WEFT_HEAD_TIMEOUT": "1"}).start()
    socks = []
    try:
        for n in range(100):  # idle connections, and heads that never finish
            s = socket.create_connection(("127.0.0.1", srv.port))
            if n % 2:
                s.sendall(b"GET /indexes?api-version=2026-04-01 HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            socks.append(s)
        t = time.perf_counter()
        assert httpx.get(srv.url("/indexes"), headers={"api-key": srv.admin_key}).status_code == 200  # served meanwhile
        assert time.perf_counter() - t < 2.0  # served while they hang (generous: the test machine is shared)
        time.sleep(1.5)
        closed = 0
        for s in socks:
            s.settimeout(3)
            try:
                closed += s.recv(1) == b""
            except (socket.timeout, ConnectionError):
                closed += isinstance(sys.exc_info()[1], ConnectionError)
        assert closed == len(socks)
        # a keep-alive client that sends its requests promptly is not affected
        with httpx.Client(headers={"api-key": srv.admin_key}) as c:
            for _ in range(3):
                assert c.get(srv.url("/indexes")).status_code == 200
                time.sleep(0.5)
    finally:
        for s in socks:
            s.close()
        srv.stop()
