"""A classic run's requests (weft.agents.runs): what a run create's body may hold, and the chat-completions call of its
turn (the payload, and the answer as text, tool calls and usage, streamed or not). Pure but for the endpoint."""
from __future__ import annotations

from typing import Any, Callable

from weft.agents import run_shapes as shapes
from weft.agents.assistants import check_number, check_response_format, check_tool_resources
from weft.errors import InvalidInput
from weft.threads.chat_endpoint import ChatEndpoint, require_answer
from weft.threads.items import validate_metadata

_RUN_FIELDS = ("assistant_id", "model", "instructions", "additional_instructions", "additional_messages", "tools", "temperature",
               "top_p", "max_prompt_tokens", "max_completion_tokens", "truncation_strategy", "tool_choice", "response_format",
               "parallel_tool_calls", "metadata", "stream", "tool_resources")


def check_run_body(body: dict) -> None:
    """A run create's body (its fields and values); InvalidInput naming what is wrong."""
    unknown = sorted(set(body) - set(_RUN_FIELDS))
    if unknown:
        raise InvalidInput(f"Unknown parameter '{unknown[0]}'.", code="unknown_parameter")
    if not isinstance(body.get("assistant_id"), str) or not body["assistant_id"]:
        raise InvalidInput("assistant_id is required.", code="invalid_value")
    for key in ("model", "instructions", "additional_instructions"):
        if body.get(key) is not None and not isinstance(body[key], str):
            raise InvalidInput(f"{key} must be a string.", code="invalid_value")
    check_number(body.get("temperature"), "temperature", 0, 2)
    check_number(body.get("top_p"), "top_p", 0, 1)
    for key in ("max_prompt_tokens", "max_completion_tokens"):
        value = body.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise InvalidInput(f"{key} must be a positive integer.", code="invalid_value")
    if body.get("max_prompt_tokens") is not None:
        raise InvalidInput("max_prompt_tokens is not supported; weft keeps the history within WEFT_HISTORY_TOKEN_BUDGET.",
                           code="invalid_value")
    strategy = body.get("truncation_strategy")
    if strategy is not None and (not isinstance(strategy, dict) or strategy.get("type") != "auto"):
        raise InvalidInput("truncation_strategy: only {\"type\": \"auto\"} is supported.", code="invalid_value")
    check_response_format(body.get("response_format"))
    if body.get("parallel_tool_calls") is not None and not isinstance(body["parallel_tool_calls"], bool):
        raise InvalidInput("parallel_tool_calls must be a boolean.", code="invalid_value")
    choice = body.get("tool_choice")
    if choice is not None and choice not in ("auto", "none", "required") and not (
            isinstance(choice, dict) and choice.get("type") == "function" and isinstance(choice.get("function"), dict)):
        raise InvalidInput("tool_choice must be auto, none, required or {\"type\": \"function\", \"function\": {\"name\"}}.",
                           code="invalid_value")
    validate_metadata(body.get("metadata"))
    check_tool_resources(body.get("tool_resources"))


def chat_payload(run: dict, messages: list[dict]) -> dict:
    """The chat-completions request of a run's turn: its model, sampling, tools and response format."""
    payload: dict[str, Any] = {"model": run["model"], "messages": messages}
    for key, target in (("temperature", "temperature"), ("top_p", "top_p"), ("max_completion_tokens", "max_tokens")):
        if run.get(key) is not None:
            payload[target] = run[key]
    if run.get("tools"):
        payload["tools"] = run["tools"]
        payload["parallel_tool_calls"] = run.get("parallel_tool_calls", True)
        choice = shapes.chat_tool_choice(run.get("tool_choice"))
        if choice is not None:
            payload["tool_choice"] = choice
    if isinstance(run.get("response_format"), dict):
        payload["response_format"] = run["response_format"]
    return payload


def chat_answer(endpoint: ChatEndpoint, payload: dict, on_text: Callable[[str], None] | None) -> tuple[str, list[dict], dict | None]:
    """The model's answer (text, tool calls, usage); an answer with nothing in it is EmptyAnswer (the run fails)."""
    if on_text is None:
        completion = endpoint.complete(payload)
        choice = (completion.get("choices") or [{}])[0]
        message = choice.get("message") or {}
        require_answer(bool(message.get("content") or message.get("tool_calls")), choice.get("finish_reason"))
        return message.get("content") or "", message.get("tool_calls") or [], completion.get("usage")
    text: list[str] = []
    calls: dict[int, dict] = {}
    usage = None
    finish_reason = None
    for chunk in endpoint.stream(payload):
        usage = chunk.get("usage") or usage
        for choice in chunk.get("choices") or []:
            finish_reason = choice.get("finish_reason") or finish_reason
            delta = choice.get("delta") or {}
            if delta.get("content"):
                text.append(delta["content"])
                on_text(delta["content"])
            for call in delta.get("tool_calls") or []:
                slot = calls.setdefault(call.get("index", 0), {"id": None, "type": "function", "function": {"name": "", "arguments": ""}})
                slot["id"] = call.get("id") or slot["id"]
                function = call.get("function") or {}
                slot["function"]["name"] += function.get("name") or ""
                slot["function"]["arguments"] += function.get("arguments") or ""
    require_answer(bool(text or calls), finish_reason)
    return "".join(text), [calls[k] for k in sorted(calls)], usage
