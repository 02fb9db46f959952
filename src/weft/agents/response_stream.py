"""Chat-completions output -> Responses output items, and the Responses streaming event sequence.

The stream follows OpenAI's order: ``output_item.added`` when an item first appears (message or
function call, in the order the model starts them), ``content_part.added`` and
``output_text.delta`` for text, ``function_call_arguments.delta`` for arguments; at the end, per
item, ``output_text.done``/``content_part.done`` or ``function_call_arguments.done``, then
``output_item.done``. The caller numbers the events (``sequence_number``) and wraps them with
``response.created``/``in_progress`` and ``completed``/``incomplete``/``failed``.
"""
from __future__ import annotations

from typing import Any, Callable

from weft.threads.items import item_id_for, new_id
from weft.threads.service import PendingItem

Event = Callable[..., dict]


def message_item(text: str, item_id: str | None = None, annotations: list[dict] | None = None) -> PendingItem:
    return PendingItem("message", "assistant", {"type": "message", "role": "assistant", "status": "completed",
                                                "content": [{"type": "output_text", "text": text,
                                                             "annotations": list(annotations or [])}]},
                       item_id or item_id_for("message"))


def call_item(call_id: str | None, name: str, arguments: str, item_id: str | None = None) -> PendingItem:
    return PendingItem("function_call", None, {"type": "function_call", "call_id": call_id or new_id("call"), "name": name,
                                               "arguments": arguments, "status": "completed"}, item_id or item_id_for("function_call"))


def output_from_message(message: dict) -> list[PendingItem]:
    """The output items of a non-streamed chat completion's message."""
    out: list[PendingItem] = []
    if message.get("content"):
        out.append(message_item(message["content"]))
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        out.append(call_item(call.get("id"), function.get("name", ""), function.get("arguments", "")))
    return out


def rendered(items: list[PendingItem]) -> list[dict]:
    return [{"id": p.id, **p.body} for p in items]


class StreamAssembler:
    """Feeds on streamed chat chunks; returns the events to send now and, at the end, the output items."""

    def __init__(self, event: Event, first_index: int = 0):
        self.event = event
        self.first_index = first_index
        self.slots: list[dict] = []
        self.message: dict | None = None
        self.calls: dict[int, dict] = {}
        self.finish_reason: str | None = None
        self.usage: dict | None = None

    def _open(self, slot: dict) -> int:
        slot["output_index"] = self.first_index + len(self.slots)
        self.slots.append(slot)
        return slot["output_index"]

    def feed(self, chunk: dict) -> list[dict]:
        events: list[dict] = []
        self.usage = chunk.get("usage") or self.usage
        for choice in chunk.get("choices") or []:
            self.finish_reason = choice.get("finish_reason") or self.finish_reason
            delta = choice.get("delta") or {}
            if delta.get("content"):
                if self.message is None:
                    self.message = {"kind": "message", "id": item_id_for("message"), "text": []}
                    index = self._open(self.message)
                    events.append(self.event("response.output_item.added", output_index=index, item={
                        "id": self.message["id"], "type": "message", "role": "assistant", "status": "in_progress", "content": []}))
                    events.append(self.event("response.content_part.added", item_id=self.message["id"], output_index=index,
                                             content_index=0, part={"type": "output_text", "text": "", "annotations": []}))
                self.message["text"].append(delta["content"])
                events.append(self.event("response.output_text.delta", item_id=self.message["id"],
                                         output_index=self.message["output_index"], content_index=0, delta=delta["content"], logprobs=[]))
            for call in delta.get("tool_calls") or []:
                function = call.get("function") or {}
                slot = self.calls.get(call.get("index", 0))
                if slot is None:
                    slot = {"kind": "call", "id": item_id_for("function_call"), "call_id": call.get("id") or new_id("call"),
                            "name": function.get("name") or "", "args": []}
                    self.calls[call.get("index", 0)] = slot
                    index = self._open(slot)
                    events.append(self.event("response.output_item.added", output_index=index, item={
                        "id": slot["id"], "type": "function_call", "call_id": slot["call_id"], "name": slot["name"],
                        "arguments": "", "status": "in_progress"}))
                elif function.get("name"):
                    slot["name"] += function["name"]
                if function.get("arguments"):
                    slot["args"].append(function["arguments"])
                    events.append(self.event("response.function_call_arguments.delta", item_id=slot["id"],
                                             output_index=slot["output_index"], delta=function["arguments"]))
        return events

    def output(self) -> list[PendingItem]:
        items = []
        for slot in self.slots:
            if slot["kind"] == "message":
                items.append(message_item("".join(slot["text"]), slot["id"]))
            else:
                items.append(call_item(slot["call_id"], slot["name"], "".join(slot["args"]), slot["id"]))
        return items

    def done_events(self, items: list[PendingItem]) -> list[dict]:
        events = []
        for slot, item in zip(self.slots, rendered(items)):
            index = slot["output_index"]
            if item["type"] == "message":
                part = item["content"][0]
                events.append(self.event("response.output_text.done", item_id=item["id"], output_index=index, content_index=0,
                                         text=part["text"], logprobs=[]))
                events.append(self.event("response.content_part.done", item_id=item["id"], output_index=index, content_index=0, part=part))
            else:
                events.append(self.event("response.function_call_arguments.done", item_id=item["id"], output_index=index,
                                         arguments=item["arguments"], name=item["name"]))
            events.append(self.event("response.output_item.done", output_index=index, item=item))
        return events


def usage_of(raw: dict | None) -> dict:
    raw = raw or {}
    prompt, completion = int(raw.get("prompt_tokens") or 0), int(raw.get("completion_tokens") or 0)
    cached = int(((raw.get("prompt_tokens_details") or {}).get("cached_tokens")) or 0)
    reasoning = int(((raw.get("completion_tokens_details") or {}).get("reasoning_tokens")) or 0)
    return {"input_tokens": prompt, "input_tokens_details": {"cached_tokens": cached}, "output_tokens": completion,
            "output_tokens_details": {"reasoning_tokens": reasoning}, "total_tokens": prompt + completion}


def finish_status(finish_reason: str | None) -> tuple[str, Any]:
    """A chat finish_reason as the Response's status and incomplete_details."""
    if finish_reason == "length":
        return "incomplete", {"reason": "max_output_tokens"}
    if finish_reason == "content_filter":
        return "incomplete", {"reason": "content_filter"}
    return "completed", None
