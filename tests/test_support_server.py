"""tests.support.server: a started WeftServer answers on its own port, even when another process took that port
between free_port() and the server's bind (a server of another xdist worker: it then answered the readiness probe,
and the test's requests, with the same default admin key; once a tenant key made on one cluster node was refused
401 invalid_api_key by "node two", which was another test's server)."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.support.server import WeftServer
from tests.threads.live import ThreadsServer


class _Foreign(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("x-foreign", "1")
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("kind", [WeftServer, ThreadsServer])
def test_a_server_whose_port_another_process_took_starts_on_another_port(tmp_path, kind):
    foreign = ThreadingHTTPServer(("127.0.0.1", 0), _Foreign)
    threading.Thread(target=foreign.serve_forever, daemon=True).start()
    server = kind(tmp_path / "data")
    server.port = foreign.server_address[1]  # what two free_port() calls of two processes can give
    try:
        server.start()
        assert server.proc.poll() is None  # not the process that failed to bind
        r = httpx.get(server.url("/indexes"), headers={"api-key": server.admin_key})
        assert r.status_code == 200 and "x-foreign" not in r.headers, r.headers
        assert server.port != foreign.server_address[1]
    finally:
        server.stop()
        foreign.shutdown()
        foreign.server_close()
