"""A scripted chat-completions server for knowledge-base query planning and answer synthesis (real HTTP, on 127.0.0.1).

It answers both Azure OpenAI's deployment path (`/openai/deployments/<d>/chat/completions?api-version=…`, `api-key`
header) and the OpenAI-compatible `/v1/chat/completions`. A request in JSON mode is a planning call: the answer is
the next scripted plan (`plans`, a list of JSON-able objects or raw strings for garbage). Any other request is answer
synthesis: the answer cites every `ref_id` found in the system prompt's sources as `[ref_id:N]`. `usage` is fixed per
kind (`PLAN_USAGE`, `ANSWER_USAGE`) so tests can compare the activity's token counts. `mode = "down"` answers 503,
`delay` seconds of latency make a timeout.
"""
from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PLAN_USAGE = {"prompt_tokens": 321, "completion_tokens": 17, "total_tokens": 338}
ANSWER_USAGE = {"prompt_tokens": 654, "completion_tokens": 42, "total_tokens": 696}


class FakePlanner:
    def __init__(self):
        self.plans: list = []
        self.requests: list[dict] = []
        self.mode = "ok"
        self.delay = 0.0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))))
                owner.requests.append({"path": self.path, "body": body, "api-key": self.headers.get("api-key"),
                                       "authorization": self.headers.get("authorization")})
                if owner.delay:
                    time.sleep(owner.delay)
                if owner.mode == "down" or "/chat/completions" not in self.path:
                    self._send(503 if owner.mode == "down" else 404, {"error": {"message": "unavailable", "type": "server_error"}})
                    return
                if (body.get("response_format") or {}).get("type") == "json_object":
                    plan = owner.plans.pop(0) if owner.plans else {"queries": []}
                    text, usage = (plan if isinstance(plan, str) else json.dumps(plan)), PLAN_USAGE
                else:
                    system = body["messages"][0]["content"]
                    refs = sorted({int(n) for n in re.findall(r'"ref_id": (\d+)', system)})
                    text = " ".join(f"Fact {n} [ref_id:{n}]." for n in refs) or "The sources do not say."
                    usage = ANSWER_USAGE
                self._send(200, {"id": "chatcmpl-1", "object": "chat.completion", "created": int(time.time()), "model": body.get("model", "x"),
                                 "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                                 "usage": usage})

            def _send(self, status: int, obj: dict) -> None:
                payload = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                try:
                    self.wfile.write(payload)
                except BrokenPipeError:  # the caller gave up (its maxRuntimeInSeconds)
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def start(self) -> "FakePlanner":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def planning_requests(self) -> list[dict]:
        return [r for r in self.requests if (r["body"].get("response_format") or {}).get("type") == "json_object"]
