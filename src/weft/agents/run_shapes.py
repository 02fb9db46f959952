"""The stored shapes of classic runs and run steps (`azure-ai-agents` 1.1 `ThreadRun`, `RunStep`; reference
`agents-and-retrieval-api.md` section 3), built from a run's request and changed as its status moves."""
from __future__ import annotations

import time
from typing import Any

from weft.threads.items import new_id

ACTIVE = ("queued", "in_progress", "cancelling")  # a worker owns the run
OPEN = ACTIVE + ("requires_action",)  # the thread has a run that is not over
FINAL = ("completed", "failed", "cancelled", "expired", "incomplete")
REQUIRES_ACTION_SECONDS = 600  # a run waiting for tool outputs expires after this long


def now_s() -> int:
    return int(time.time())


def new_run(thread_id: str, assistant_id: str, assistant: dict, body: dict, tools: list[dict]) -> dict:
    instructions = body.get("instructions") if body.get("instructions") is not None else assistant.get("instructions")
    if body.get("additional_instructions"):
        instructions = f"{instructions}\n\n{body['additional_instructions']}" if instructions else body["additional_instructions"]
    pick = lambda key: body[key] if body.get(key) is not None else assistant.get(key)  # noqa: E731
    return {
        "id": new_id("run"), "object": "thread.run", "thread_id": thread_id, "assistant_id": assistant_id, "status": "queued",
        "required_action": None, "last_error": None, "model": body.get("model") or assistant["model"], "instructions": instructions or "",
        "tools": tools, "created_at": now_s(), "expires_at": None, "started_at": None, "completed_at": None, "cancelled_at": None,
        "failed_at": None, "incomplete_details": None, "usage": None, "temperature": pick("temperature"), "top_p": pick("top_p"),
        "max_prompt_tokens": body.get("max_prompt_tokens"), "max_completion_tokens": body.get("max_completion_tokens"),
        "truncation_strategy": body.get("truncation_strategy") or {"type": "auto", "last_messages": None},
        "tool_choice": body.get("tool_choice") or "auto", "response_format": pick("response_format") or "auto",
        "metadata": body.get("metadata") or {}, "tool_resources": {}, "parallel_tool_calls": body.get("parallel_tool_calls", True),
    }


def new_step(run: dict, kind: str, details: dict, status: str = "in_progress") -> dict:
    return {"id": new_id("step"), "object": "thread.run.step", "type": kind, "assistant_id": run["assistant_id"],
            "thread_id": run["thread_id"], "run_id": run["id"], "status": status, "step_details": details, "last_error": None,
            "created_at": now_s(), "expired_at": None, "completed_at": now_s() if status == "completed" else None,
            "cancelled_at": None, "failed_at": None, "usage": None, "metadata": {}}


def message_step(run: dict, message_id: str, status: str = "in_progress") -> dict:
    return new_step(run, "message_creation", {"type": "message_creation", "message_creation": {"message_id": message_id}}, status)


def tool_calls_step(run: dict, calls: list[dict]) -> dict:
    return new_step(run, "tool_calls", {"type": "tool_calls", "tool_calls": [
        {"id": c["id"], "type": "function", "function": {"name": c["function"]["name"], "arguments": c["function"]["arguments"], "output": None}}
        for c in calls]})


def finish_step(step: dict, status: str, error: dict | None = None) -> None:
    step["status"] = status
    step[{"completed": "completed_at", "failed": "failed_at", "cancelled": "cancelled_at", "expired": "expired_at"}[status]] = now_s()
    if error:
        step["last_error"] = error


def finish_run(run: dict, status: str, error: dict | None = None) -> None:
    run["status"] = status
    run["required_action"] = None
    stamp = {"completed": "completed_at", "failed": "failed_at", "cancelled": "cancelled_at", "expired": "expires_at"}.get(status)
    if stamp and status != "expired":
        run[stamp] = now_s()
    if error:
        run["last_error"] = error


def add_usage(run: dict, usage: Any) -> None:
    usage = usage or {}
    prompt, completion = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
    total = run.get("usage") or {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    run["usage"] = {"prompt_tokens": total["prompt_tokens"] + prompt, "completion_tokens": total["completion_tokens"] + completion,
                    "total_tokens": total["total_tokens"] + prompt + completion}


def chat_tool_choice(choice: Any) -> Any:
    """Assistants' tool_choice (`auto`, `none`, `required`, `{"type":"function","function":{"name"}}`) is chat's."""
    return None if choice in (None, "auto") else choice
