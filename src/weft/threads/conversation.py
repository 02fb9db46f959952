"""The conversation loop behind ``POST /v1/responses`` with ``conversation``.

1. take the conversation's lock (a lease in the database, so it holds across processes): a second
   request on the same conversation is refused with ``conversation_locked`` (or waits, if configured);
2. load the stored history, truncate it oldest-first to the token budget (system/developer kept);
3. call the chat endpoint (streamed or not);
4. store the input and output items in one transaction that presents the lock token (fencing: if the
   lease was lost, nothing is stored), then release the lock.

Knows nothing of HTTP: it returns the Response object, or yields Responses streaming events.
"""
from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any, Iterator

from weft.errors import Conflict, InvalidInput
from weft.threads.chat_endpoint import ChatEndpoint
from weft.threads.history import HistoryEntry, entry_tokens, to_chat_messages, truncate
from weft.threads.items import item_id_for, new_id, normalize_input_item
from weft.threads.policy import Principal
from weft.threads.service import Item, PendingItem, ThreadService
from weft.threads.settings import ThreadsSettings

_PASSED_THROUGH = ("temperature", "top_p", "max_output_tokens", "tool_choice", "parallel_tool_calls", "user")


@dataclass
class ResponseRequest:
    model: str
    conversation_id: str | None
    input_items: list[PendingItem]
    instructions: str | None
    stream: bool
    tools: list[dict]
    options: dict[str, Any]
    metadata: dict[str, str]


def parse_request(body: dict, default_model: str | None) -> ResponseRequest:
    conversation = body.get("conversation")
    if isinstance(conversation, dict):
        conversation = conversation.get("id")
    if conversation is not None and not isinstance(conversation, str):
        raise InvalidInput("conversation must be a conversation id or {\"id\": ...}.", code="invalid_value")
    if conversation and body.get("previous_response_id"):
        raise InvalidInput("Use either conversation or previous_response_id, not both.", code="invalid_value")
    raw_input = body.get("input")
    if isinstance(raw_input, str):
        raw_input = [{"type": "message", "role": "user", "content": raw_input}]
    if not isinstance(raw_input, list) or not raw_input:
        raise InvalidInput("input must be a string or a non-empty list of items.", code="invalid_value")
    pending = []
    for n, raw in enumerate(raw_input):
        item_type, role, item_body = normalize_input_item(raw, f"input[{n}]")
        pending.append(PendingItem(item_type, role, item_body))
    model = body.get("model") or default_model
    if not model:
        raise InvalidInput("model is required (or configure WEFT_LLM_MODEL).", code="missing_model")
    if not isinstance(model, str):
        raise InvalidInput("model must be a string.", code="invalid_value")
    raw_tools = body.get("tools") or []
    if not isinstance(raw_tools, list):
        raise InvalidInput("tools must be a list of tool definitions.", code="invalid_value")
    tools = []
    for tool in raw_tools:
        if isinstance(tool, dict) and tool.get("type") == "function":
            tools.append(tool)
    options = {k: body[k] for k in _PASSED_THROUGH if body.get(k) is not None}
    metadata = body.get("metadata") or {}
    return ResponseRequest(model, conversation or None, pending, body.get("instructions"), bool(body.get("stream")), tools, options, metadata)


def _chat_tools(tools: list[dict]) -> list[dict]:
    return [{"type": "function", "function": {k: v for k, v in (("name", t.get("name")), ("description", t.get("description")),
                                                                 ("parameters", t.get("parameters")), ("strict", t.get("strict"))) if v is not None}}
            for t in tools]


def _usage(raw: dict | None) -> dict:
    raw = raw or {}
    prompt, completion = int(raw.get("prompt_tokens") or 0), int(raw.get("completion_tokens") or 0)
    return {"input_tokens": prompt, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": completion,
            "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": prompt + completion}


WORK_SLOTS = 4


class ConversationLoop:
    def __init__(self, service: ThreadService, settings: ThreadsSettings, endpoint: ChatEndpoint | None = None):
        self.service = service
        self.settings = settings
        self.endpoint = endpoint or ChatEndpoint(settings.llm_base_url, settings.llm_api_key)
        # Many responses wait on the model at once, in their own threads; the Python work around the
        # wait (history, storing the output) is let through a few at a time, so dozens of threads
        # finishing together never starve the event loop of the GIL (measured: a 230 ms stall with 40).
        self._work = threading.BoundedSemaphore(WORK_SLOTS)

    # ---- pieces --------------------------------------------------------------------------------------
    def _lock(self, principal: Principal, conversation_id: str) -> str:
        token = secrets.token_hex(16)
        store, clock = self.service.store, self.service.clock
        deadline = time.monotonic() + (self.settings.lock_wait_seconds if self.settings.lock_mode == "wait" else 0)
        while True:
            now = clock.now_ms()
            if store.try_lock(principal.tenant_id, conversation_id, token, now, now + int(self.settings.lock_lease_seconds * 1000)):
                return token
            if time.monotonic() >= deadline:
                raise Conflict("Another response is currently in progress for this conversation. Please try again later.",
                               code="conversation_locked")
            time.sleep(0.05)

    def _messages(self, principal: Principal, request: ResponseRequest) -> tuple[list[dict], int]:
        history: list[HistoryEntry] = []
        if request.conversation_id:
            loaded = self.service.recent_history(principal, request.conversation_id, self.settings.history_token_budget,
                                                 lambda item: entry_tokens(HistoryEntry(item.type, item.role, item.body)))
            history = [HistoryEntry(i.type, i.role, i.body) for i in loaded]
        new = [HistoryEntry(p.type, p.role, p.body) for p in request.input_items]
        kept, dropped = truncate(history, new, self.settings.history_token_budget)
        return to_chat_messages(kept + new, request.instructions), dropped

    def _payload(self, request: ResponseRequest, messages: list[dict]) -> dict:
        payload: dict[str, Any] = {"model": request.model, "messages": messages}
        for key, value in request.options.items():
            if key == "tool_choice" and isinstance(value, dict) and value.get("type") == "function" and "name" in value:
                value = {"type": "function", "function": {"name": value["name"]}}  # Responses shape -> chat shape
            payload["max_tokens" if key == "max_output_tokens" else key] = value
        if request.tools:
            payload["tools"] = _chat_tools(request.tools)
        return payload

    @staticmethod
    def _output_items(text: str | None, tool_calls: list[dict]) -> list[PendingItem]:
        out: list[PendingItem] = []
        if text:
            out.append(PendingItem("message", "assistant", {"type": "message", "role": "assistant", "status": "completed",
                                                            "content": [{"type": "output_text", "text": text, "annotations": []}]},
                                   item_id_for("message")))
        for call in tool_calls:
            function = call.get("function") or {}
            out.append(PendingItem("function_call", None, {"type": "function_call", "call_id": call.get("id") or new_id("call"),
                                                            "name": function.get("name", ""), "arguments": function.get("arguments", ""),
                                                            "status": "completed"}, item_id_for("function_call")))
        return out

    def _store(self, principal: Principal, request: ResponseRequest, token: str | None, output: list[PendingItem]) -> list[Item] | None:
        if not request.conversation_id:
            return None
        inputs = [PendingItem(p.type, p.role, p.body, item_id_for(p.type)) for p in request.input_items]
        return self.service.append_items(principal, request.conversation_id, None, pending=inputs + output, lock_token=token,
                                         operation="response.create")

    def _response(self, response_id: str, created_at: int, request: ResponseRequest, status: str, output: list[dict], usage: dict | None) -> dict:
        return {
            "id": response_id, "object": "response", "created_at": created_at, "status": status, "model": request.model,
            "output": output, "error": None, "incomplete_details": None, "instructions": request.instructions,
            "metadata": request.metadata, "parallel_tool_calls": request.options.get("parallel_tool_calls", True),
            "temperature": request.options.get("temperature"), "top_p": request.options.get("top_p"),
            "tool_choice": request.options.get("tool_choice", "auto"), "tools": request.tools,
            "conversation": {"id": request.conversation_id} if request.conversation_id else None,
            "text": {"format": {"type": "text"}}, "truncation": "auto", "usage": usage, "store": True,
        }

    @staticmethod
    def _rendered(items: list[PendingItem]) -> list[dict]:
        return [{"id": p.id, **p.body} for p in items]

    # ---- entry points --------------------------------------------------------------------------------
    def create(self, principal: Principal, body: dict) -> dict:
        principal.require("write")
        request = parse_request(body, self.settings.llm_model)
        if request.stream:
            raise InvalidInput("use stream() for streamed responses")
        token = self._lock(principal, request.conversation_id) if request.conversation_id else None
        try:
            with self._work:
                messages, _dropped = self._messages(principal, request)
            completion = self.endpoint.complete(self._payload(request, messages))
            with self._work:
                choice = (completion.get("choices") or [{}])[0]
                message = choice.get("message") or {}
                output = self._output_items(message.get("content"), message.get("tool_calls") or [])
                self._store(principal, request, token, output)
        finally:
            if token:
                self.service.store.release_lock(request.conversation_id, token)
        return self._response(new_id("resp"), int(time.time()), request, "completed", self._rendered(output), _usage(completion.get("usage")))

    def prepare_stream(self, principal: Principal, body: dict) -> Iterator[dict]:
        """Validates and takes the lock now (so errors are plain HTTP errors), then returns the event iterator."""
        principal.require("write")
        request = parse_request(body, self.settings.llm_model)
        token = self._lock(principal, request.conversation_id) if request.conversation_id else None
        try:
            messages, _dropped = self._messages(principal, request)
        except BaseException:
            if token:
                self.service.store.release_lock(request.conversation_id, token)
            raise
        return self._stream_events(principal, request, token, messages)

    def _stream_events(self, principal: Principal, request: ResponseRequest, token: str | None, messages: list[dict]) -> Iterator[dict]:
        response_id, created_at = new_id("resp"), int(time.time())
        sequence = 0

        def event(kind: str, **fields: Any) -> dict:
            nonlocal sequence
            sequence += 1
            return {"type": kind, "sequence_number": sequence - 1, **fields}

        try:
            yield event("response.created", response=self._response(response_id, created_at, request, "in_progress", [], None))
            yield event("response.in_progress", response=self._response(response_id, created_at, request, "in_progress", [], None))
            message_id = item_id_for("message")
            text_parts: list[str] = []
            calls: dict[int, dict] = {}
            usage = None
            started = False
            for chunk in self.endpoint.stream(self._payload(request, messages)):
                usage = chunk.get("usage") or usage
                for choice in chunk.get("choices") or []:
                    delta = choice.get("delta") or {}
                    if delta.get("content"):
                        if not started:
                            started = True
                            yield event("response.output_item.added", output_index=0,
                                        item={"id": message_id, "type": "message", "role": "assistant", "status": "in_progress", "content": []})
                            yield event("response.content_part.added", item_id=message_id, output_index=0, content_index=0,
                                        part={"type": "output_text", "text": "", "annotations": []})
                        text_parts.append(delta["content"])
                        yield event("response.output_text.delta", item_id=message_id, output_index=0, content_index=0,
                                    delta=delta["content"], logprobs=[])
                    for call in delta.get("tool_calls") or []:
                        slot = calls.setdefault(call.get("index", 0), {"id": None, "function": {"name": "", "arguments": ""}})
                        if call.get("id"):
                            slot["id"] = call["id"]
                        function = call.get("function") or {}
                        slot["function"]["name"] += function.get("name") or ""
                        slot["function"]["arguments"] += function.get("arguments") or ""
            text = "".join(text_parts)
            output = self._output_items(text, [calls[k] for k in sorted(calls)])
            if output and output[0].type == "message":
                output[0] = PendingItem("message", "assistant", output[0].body, message_id)
            # durable before we say "completed"
            with self._work:
                self._store(principal, request, token, output)
            rendered = self._rendered(output)
            for index, item in enumerate(rendered):
                if item["type"] == "message":
                    yield event("response.output_text.done", item_id=item["id"], output_index=index, content_index=0, text=text, logprobs=[])
                    yield event("response.content_part.done", item_id=item["id"], output_index=index, content_index=0,
                                part=item["content"][0])
                else:
                    yield event("response.output_item.added", output_index=index, item={**item, "status": "in_progress"})
                    yield event("response.function_call_arguments.done", item_id=item["id"], output_index=index,
                                arguments=item.get("arguments", ""), name=item.get("name"))
                yield event("response.output_item.done", output_index=index, item=item)
            yield event("response.completed", response=self._response(response_id, created_at, request, "completed", rendered, _usage(usage)))
        except GeneratorExit:
            raise
        except Exception as exc:  # reported in-band: the HTTP status is already sent
            failed = self._response(response_id, created_at, request, "failed", [], None)
            failed["error"] = {"code": getattr(exc, "code", None) or "server_error", "message": getattr(exc, "message", None) or str(exc)}
            yield event("response.failed", response=failed)
        finally:
            if token:
                self.service.store.release_lock(request.conversation_id, token)

    def close(self) -> None:
        self.endpoint.close()
