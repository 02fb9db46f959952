"""A reranker over HTTP speaking the common /rerank API (Cohere's shape, which Jina and Infinity share; TEI's with
`tei=True`), for tests: it scores by the share of query words a document contains (a stand-in for a model, but
the wire protocol is the real one), and can be made slow, failing or garbled."""
from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class RerankServer:
    def __init__(self, *, tei: bool = False):
        self.tei = tei
        self.delay = 0.0
        self.mode = "ok"  # ok | error | garbage
        self.requests: list[dict] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/v1/rerank"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @staticmethod
    def relevance(query: str, text: str) -> float:
        q = set(re.findall(r"\w+", query.lower()))
        t = set(re.findall(r"\w+", text.lower()))
        return len(q & t) / max(1, len(q))

    def _handler(self):
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                outer.requests.append(body)
                if outer.delay:
                    time.sleep(outer.delay)
                if outer.mode == "error":
                    data, status = b'{"message":"model overloaded"}', 503
                elif outer.mode == "garbage":
                    data, status = b'{"results": "not a list"}', 200
                else:
                    texts = body["texts"] if outer.tei else body["documents"]
                    scored = [{"index": i, ("score" if outer.tei else "relevance_score"): outer.relevance(body["query"], t)}
                              for i, t in enumerate(texts)]
                    scored.sort(key=lambda r: -list(r.values())[1])
                    data, status = json.dumps(scored if outer.tei else {"results": scored, "id": "r1"}).encode(), 200
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
