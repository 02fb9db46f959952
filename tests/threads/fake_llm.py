"""A tiny OpenAI-compatible chat-completions server for tests (real HTTP, real SSE), on 127.0.0.1."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeChatServer:
    """Answers ``echo: <last user text>``; ``search: q`` / ``cite: q`` ask the tool with a ``query`` parameter
    (after ``cite:``, the answer cites each returned document's ``@citation`` marker: ``Found: <title> <marker>; ...``); asks for the ``get_weather`` tool when the user says 'weather'
    and tools were offered; answers 500 when the user says 'fail-upstream', and a 200 whose body is not a chat
    completion (``{"choices": ["garbled"]}``) when the user says 'garbled-upstream', and an empty answer (a stream that
    closes with no data chunk, a message with no content) when the user says 'empty-upstream', and a stream cut short
    (one content chunk, then the end: no finish_reason, no [DONE]) when the user says 'cut-upstream'. ``delay`` seconds of latency make concurrent requests overlap."""

    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.requests: list[dict] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out at once (no 40 ms delayed-ACK stall)

            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("content-length", "0"))
                body = json.loads(self.rfile.read(length))
                owner.requests.append({"body": body, "authorization": self.headers.get("authorization")})
                if not self.path.endswith("/chat/completions"):
                    self.send_response(404)
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                if owner.delay:
                    time.sleep(owner.delay)
                last = next((m for m in reversed(body.get("messages") or []) if m.get("role") == "user"), {})
                if "fail-upstream" in str(last.get("content") or ""):  # an upstream error, for the error paths
                    payload = b'{"error": {"message": "the model is overloaded", "type": "server_error"}}'
                    self.send_response(500)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                if "garbled-upstream" in str(last.get("content") or ""):  # 200 with a body no client expects
                    payload = b'{"choices": ["garbled"]}'
                    if body.get("stream"):
                        payload = b'data: {"choices": ["garbled"]}\n\ndata: [DONE]\n\n'
                    self.send_response(200)
                    self.send_header("content-type", "text/event-stream" if body.get("stream") else "application/json")
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                if "empty-upstream" in str(last.get("content") or ""):  # an answer with nothing in it
                    # streamed: the stream closes without one data chunk; not streamed: a message with no content
                    payload = b"" if body.get("stream") else (
                        b'{"id": "chatcmpl-1", "object": "chat.completion", "choices": [{"index": 0, '
                        b'"message": {"role": "assistant", "content": ""}, "finish_reason": "stop"}]}')
                    self.send_response(200)
                    self.send_header("content-type", "text/event-stream" if body.get("stream") else "application/json")
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                if "cut-upstream" in str(last.get("content") or "") and body.get("stream"):  # a stream cut short
                    payload = b'data: {"choices": [{"index": 0, "delta": {"content": "half an ans"}}]}\n\n'
                    self.send_response(200)
                    self.send_header("content-type", "text/event-stream")
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                owner.respond(self, body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def start(self) -> "FakeChatServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @staticmethod
    def reply_for(body: dict) -> tuple[str | None, list[dict]]:
        last_user = next((m for m in reversed(body["messages"]) if m["role"] in ("user", "tool")), None)
        text = (last_user or {}).get("content") or ""
        asked = next((m for m in reversed(body["messages"]) if m["role"] == "user"), {}).get("content") or ""
        if last_user and last_user["role"] == "tool" and str(asked).startswith("cite:"):
            # answers with the title and citation marker of each document of the tool output that has one
            try:
                docs = json.loads(text).get("documents") or []
            except (ValueError, AttributeError):
                docs = []
            cited = [f"{d.get('title')} {d['@citation']}" for d in docs if isinstance(d, dict) and d.get("@citation")]
            return ("Found: " + "; ".join(cited) + ".") if cited else "Found nothing to cite.", []
        if last_user and last_user["role"] == "user" and str(text).startswith(("search:", "cite:")) and body.get("tools"):
            # asks the first tool with a 'query' parameter for the text after 'search:' (an MCP search tool);
            # 'cite:' the same, then answers citing the documents it got (above)
            tool = next((t for t in body["tools"] if "query" in ((t["function"].get("parameters") or {}).get("properties") or {})), None)
            if tool is not None:
                return None, [{"id": f"call_{len(body['messages'])}", "type": "function", "function": {
                    "name": tool["function"]["name"], "arguments": json.dumps({"query": str(text).split(":", 1)[1].strip()})}}]
        if last_user and last_user["role"] == "user" and "weather" in text and body.get("tools"):
            name = body["tools"][0]["function"]["name"]
            calls = [{"id": f"call_{len(body['messages'])}", "type": "function", "function": {"name": name, "arguments": json.dumps({"city": "Paris"})}}]
            if "two cities" in text:  # two calls in one turn
                calls.append({"id": f"call_{len(body['messages'])}b", "type": "function",
                              "function": {"name": name, "arguments": json.dumps({"city": "Rome"})}})
            return None, calls
        fmt = body.get("response_format") or {}
        if fmt.get("type") == "json_schema":
            return json.dumps(sample(fmt["json_schema"]["schema"], fmt["json_schema"]["schema"])), []
        if fmt.get("type") == "json_object":
            return json.dumps({"echo": text}), []
        return f"echo: {text}", []

    def respond(self, handler: BaseHTTPRequestHandler, body: dict) -> None:
        text, calls = self.reply_for(body)
        finish = "tool_calls" if calls else "stop"
        if text and body.get("max_tokens") and len(text.split(" ")) > body["max_tokens"]:  # one word, one token
            text, finish = " ".join(text.split(" ")[:body["max_tokens"]]), "length"
        usage = {"prompt_tokens": sum(len(str(m.get("content") or "")) // 4 + 1 for m in body["messages"]), "completion_tokens": 5}
        if not body.get("stream"):
            message = {"role": "assistant", "content": text}
            if calls:
                message["tool_calls"] = calls
            payload = json.dumps({"id": "chatcmpl-1", "object": "chat.completion", "created": int(time.time()), "model": body["model"],
                                  "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                                  "usage": {**usage, "total_tokens": usage["prompt_tokens"] + 5}}).encode()
            handler.send_response(200)
            handler.send_header("content-type", "application/json")
            handler.send_header("content-length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
            return
        handler.send_response(200)
        handler.send_header("content-type", "text/event-stream")
        handler.send_header("connection", "close")
        handler.end_headers()

        def send(obj) -> None:
            handler.wfile.write(f"data: {obj if isinstance(obj, str) else json.dumps(obj)}\n\n".encode())
            handler.wfile.flush()

        base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": int(time.time()), "model": body["model"]}
        if text:
            for word in text.split(" "):
                send({**base, "choices": [{"index": 0, "delta": {"content": word + " " if word != text.split(" ")[-1] else word}}]})
        for n, call in enumerate(calls):  # the name first, then the arguments in pieces, as OpenAI streams them
            arguments = call["function"]["arguments"]
            send({**base, "choices": [{"index": 0, "delta": {"tool_calls": [
                {"index": n, "id": call["id"], "type": "function", "function": {"name": call["function"]["name"], "arguments": ""}}]}}]})
            for start in range(0, len(arguments), 5):
                send({**base, "choices": [{"index": 0, "delta": {"tool_calls": [
                    {"index": n, "function": {"arguments": arguments[start:start + 5]}}]}}]})
        send({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
        send({**base, "choices": [], "usage": {**usage, "total_tokens": usage["prompt_tokens"] + 5}})
        send("[DONE]")
        handler.close_connection = True


def sample(schema: dict, root: dict):
    """A value that fits a JSON schema (structured-output replies)."""
    if "$ref" in schema:
        schema = root.get("$defs", {}).get(schema["$ref"].rsplit("/", 1)[-1], {})
    if "enum" in schema:
        return schema["enum"][0]
    if "anyOf" in schema:
        return sample(schema["anyOf"][0], root)
    kind = schema.get("type")
    if kind == "object":
        return {name: sample(sub, root) for name, sub in (schema.get("properties") or {}).items()}
    if kind == "array":
        return [sample(schema.get("items") or {"type": "string"}, root)]
    return {"string": "sample", "integer": 7, "number": 1.5, "boolean": True, "null": None}.get(kind, "sample")
