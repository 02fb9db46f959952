"""Tools weft runs itself during a response (the ``mcp`` tool, and Foundry's ``azure_ai_search`` tool of
weft.agents.project_tools): the loop around the model.

A turn with server tools:

1. per MCP server, its tools: reused from the latest ``mcp_list_tools`` item of the chain or
   conversation with the same ``server_label`` (as OpenAI does), else listed now (an ``mcp_list_tools``
   output item; a server that cannot list is OpenAI's 424);
2. ``mcp_approval_response`` items of the new input answer ``mcp_approval_request`` items of the history:
   an approved call runs now (an ``mcp_call`` with ``approval_request_id``), a denied one is told to the model;
3. the model is offered the MCP tools as chat functions, next to the request's own ``function`` tools. A call
   of an MCP tool that needs approval ends the turn with an ``mcp_approval_request``; any other runs
   server-side (an ``mcp_call`` with ``output`` or ``error``) and the model is called again, up to
   ``max_tool_calls`` (else ``MAX_ROUNDS``) calls; a call of a client function ends the turn as usual. The
   ``azure_ai_search`` function runs the same way (``azure_ai_search_call`` and ``azure_ai_search_call_output``).

Streamed, the model rounds are not streamed token by token: each item is sent, once known, with OpenAI's event
sequence for its type (``response.mcp_list_tools.*``, ``response.mcp_call.*``, ``response.mcp_call_arguments.*``,
text and function-call events with one delta each). The answer's citation markers of the documents the
``azure_ai_search`` calls of the turn returned become ``url_citation`` annotations of its ``output_text``
(weft.agents.citations), each streamed as ``response.output_text.annotation.added`` after the text's delta.
"""
from __future__ import annotations

import json
from typing import Any, Callable, Iterator

from weft.agents import mcp_tool, project_tools
from weft.agents.citations import Citations
from weft.agents.compact import compaction_message
from weft.agents.response_request import ResponseRequest, chat_payload, invalid
from weft.agents.response_stream import call_item, finish_status, message_item, rendered
from weft.threads.chat_endpoint import require_answer
from weft.threads.history import HistoryEntry, to_chat_messages
from weft.threads.items import item_id_for, new_id
from weft.threads.service import PendingItem

MAX_ROUNDS = 8
SERVER_TOOL_TYPES = ("mcp", project_tools.TOOL_TYPE)
_PAIRED = ("mcp_approval_request", "mcp_call")
DENIED = "The user did not approve this tool call."


class ToolTurn:
    """The server tools of one request (attached to it by ``bind``)."""

    def __init__(self, servers: list[mcp_tool.McpServer], search: project_tools.SearchTool | None = None):
        self.servers = servers
        self.search = search  # the Azure AI Search tool (weft.agents.project_tools), when the request has one
        self.entries: list[HistoryEntry] = []

    # ---- binding and the model's view of the history ---------------------------------------------------------
    @staticmethod
    def bind(body: dict, request: ResponseRequest, public=None, search_grant: str | None = None) -> None:
        """``public``/``search_grant``: the search facade and what the caller may do through it (the Azure AI Search
        tool runs as the caller: weft.agents.project_tools)."""
        raw_input = body.get("input")
        if isinstance(raw_input, list) and len(raw_input) == len(request.input_items):
            # MCP items sent back as input (openai-agents replays them) keep their ids: calls and approvals pair by id
            for raw, pending in zip(raw_input, request.input_items):
                if pending.type in _PAIRED and isinstance(raw, dict) and isinstance(raw.get("id"), str):
                    pending.body["id"] = raw["id"]
        raw_tools = body.get("tools") or []
        servers, labels, search = [], set(), None
        for n, tool in enumerate(request.tools):
            if tool.get("type") == project_tools.TOOL_TYPE:
                if search is not None:
                    raise invalid("A request may have one azure_ai_search tool (with one index).", f"tools[{n}]")
                search = project_tools.SearchTool(project_tools.parse_search_tool(raw_tools[n], f"tools[{n}]"), public, search_grant)
                request.tools[n] = {k: v for k, v in raw_tools[n].items() if v is not None}
                continue
            if tool.get("type") != "mcp":
                continue
            request.tools[n] = mcp_tool.parse_mcp_tool(raw_tools[n], n)
            server = mcp_tool.server_of(raw_tools[n])
            if server.label in labels:
                raise invalid(f"Two mcp tools have the server_label '{server.label}'.", f"tools[{n}].server_label")
            labels.add(server.label)
            servers.append(server)
        if servers or search is not None:
            request.server_tools = ToolTurn(servers, search)  # type: ignore[attr-defined]
        elif any(p.type == "mcp_approval_response" for p in request.input_items):
            raise invalid("An mcp_approval_response needs the mcp tool of its server in 'tools' (this request has none).", "tools")

    def messages(self, entries: list[HistoryEntry], instructions: str | None) -> list[dict]:
        self.entries = list(entries)
        self.instructions = instructions
        return to_chat_messages(model_view(self.entries), instructions)

    # ---- the turn ---------------------------------------------------------------------------------------------
    def run(self, endpoint, request: ResponseRequest, event: Callable[..., dict] | None = None
            ) -> Iterator[dict]:
        """Yields streaming events (when ``event`` is given); returns (output, status, incomplete, usage)."""
        out: list[PendingItem] = []
        emit = _Emitter(event, out)
        functions: dict[str, tuple[mcp_tool.McpServer, dict]] = {}
        client_names = {t["name"] for t in request.tools if t["type"] == "function"}
        for server in self.servers:
            tools = self._known_tools(server.label)
            if tools is None:
                item_id = item_id_for("mcp_list_tools")
                yield from emit.list_started(item_id, server.label)
                tools = mcp_tool.list_tools(server)
                item = PendingItem("mcp_list_tools", None, {"type": "mcp_list_tools", "server_label": server.label,
                                                            "tools": tools, "error": None}, item_id)
                yield from emit.list_done(item)
            for tool in tools:
                if tool["name"] in client_names or tool["name"] in functions:
                    raise invalid(f"The MCP tool '{tool['name']}' of '{server.label}' has the name of another tool of this "
                                  "request; give allowed_tools to leave one out.", "tools")
                functions[tool["name"]] = (server, tool)
        search = self.search
        if search is not None and (project_tools.TOOL_TYPE in client_names or project_tools.TOOL_TYPE in functions):
            raise invalid(f"The azure_ai_search tool is offered to the model as the function '{project_tools.TOOL_TYPE}'; "
                          "another tool of this request has that name.", "tools")
        yield from self._answer_approvals(functions, emit)
        cite = Citations() if search is not None else None  # the documents this turn's search calls returned
        usage = {"prompt_tokens": 0, "completion_tokens": 0}
        offered = [t for t in request.tools if t["type"] == "function"] + [
            {"type": "function", "name": name, "description": tool.get("description"), "parameters": tool.get("input_schema")}
            for name, (_server, tool) in functions.items()] + ([search.function()] if search is not None else [])
        limit = request.max_tool_calls or MAX_ROUNDS
        calls_made, status, incomplete = 0, "completed", None
        while True:
            messages = to_chat_messages(model_view(self.entries + [_entry(p) for p in out if p.type != "mcp_list_tools"]),
                                        self.instructions)
            allow_tools = calls_made < limit
            completion = endpoint.complete(chat_payload(request, messages, offered if allow_tools else []))
            for key in usage:
                usage[key] += int((completion.get("usage") or {}).get(key) or 0)
            choice = (completion.get("choices") or [{}])[0]
            message = choice.get("message") or {}
            require_answer(bool(message.get("content") or message.get("tool_calls")), choice.get("finish_reason"))
            status, incomplete = finish_status(choice.get("finish_reason"))
            if message.get("content"):
                text = message["content"]
                yield from emit.message(message_item(text, annotations=cite.annotations(text) if cite is not None else None))
            ran, stop = 0, False
            for call in message.get("tool_calls") or []:
                function = call.get("function") or {}
                name, arguments = function.get("name", ""), function.get("arguments") or ""
                if search is not None and name == project_tools.TOOL_TYPE:
                    yield from emit.search_call(search, call.get("id") or new_id("call"), arguments, cite)
                    ran += 1
                    continue
                if name not in functions:
                    yield from emit.function_call(call_item(call.get("id"), name, arguments))
                    stop = True
                    continue
                server, tool = functions[name]
                if mcp_tool.needs_approval(server, tool):
                    request_id = new_id("mcpr")
                    yield from emit.approval_request(PendingItem("mcp_approval_request", None, {
                        "type": "mcp_approval_request", "id": request_id, "server_label": server.label, "name": name,
                        "arguments": arguments}, request_id))
                    stop = True
                    continue
                yield from emit.mcp_call(server, name, arguments, None)
                ran += 1
            calls_made += ran
            if stop or not ran:
                break
        return out, status, incomplete, usage

    def _known_tools(self, label: str) -> list[dict] | None:
        for entry in reversed(self.entries):
            if entry.type == "mcp_list_tools" and entry.body.get("server_label") == label and not entry.body.get("error"):
                return list(entry.body.get("tools") or [])
        return None

    def _answer_approvals(self, functions: dict, emit: "_Emitter") -> Iterator[dict]:
        requests = {e.body.get("id"): e for e in self.entries if e.type == "mcp_approval_request"}
        answered = {e.body.get("approval_request_id") for e in self.entries if e.type == "mcp_call"}
        for n, entry in enumerate(list(self.entries)):
            if entry.type != "mcp_approval_response":
                continue
            request_id = entry.body.get("approval_request_id")
            if not isinstance(request_id, str) or not isinstance(entry.body.get("approve"), bool):
                raise invalid("an mcp_approval_response needs 'approval_request_id' and 'approve' (true or false).", "input")
            asked = requests.get(request_id)
            if asked is None:
                raise invalid(f"No approval request found with id '{request_id}'.", "input")
            if request_id in answered or not entry.body["approve"]:
                continue
            server = next((s for s in self.servers if s.label == asked.body.get("server_label")), None)
            if server is None:
                raise invalid(f"The approval request '{request_id}' is for the MCP server '{asked.body.get('server_label')}', "
                              "which is not in this request's tools.", "tools")
            yield from emit.mcp_call(server, asked.body.get("name", ""), asked.body.get("arguments", ""), request_id)
            answered.add(request_id)


def _entry(item: PendingItem) -> HistoryEntry:
    return HistoryEntry(item.type, item.role, {"id": item.id, **item.body})


def model_view(entries: list[HistoryEntry]) -> list[HistoryEntry]:
    """MCP items as the function calls and outputs the chat model understands (unanswered requests left out),
    compaction items as the summary they hold; every other item as it is. Every request's context passes here."""
    responses = {e.body.get("approval_request_id"): e for e in entries if e.type == "mcp_approval_response"}
    called = {e.body.get("approval_request_id") for e in entries if e.type == "mcp_call" and e.body.get("approval_request_id")}
    view: list[HistoryEntry] = []
    for e in entries:
        body = e.body
        if e.type == "mcp_call":
            call_id = body.get("approval_request_id") or body.get("id") or "mcp_call"
            if not body.get("approval_request_id"):
                view.append(HistoryEntry("function_call", None, {"call_id": call_id, "name": body.get("name"),
                                                                 "arguments": body.get("arguments", "")}))
            output = body.get("output") if body.get("error") is None else json.dumps({"error": body.get("error")})
            view.append(HistoryEntry("function_call_output", None, {"call_id": call_id, "output": output or ""}))
        elif e.type == "mcp_approval_request":
            rid = body.get("id")
            answer = responses.get(rid)
            if answer is None or (answer.body.get("approve") and rid not in called):
                continue
            view.append(HistoryEntry("function_call", None, {"call_id": rid, "name": body.get("name"),
                                                             "arguments": body.get("arguments", "")}))
            if not answer.body.get("approve"):
                reason = answer.body.get("reason")
                view.append(HistoryEntry("function_call_output", None, {"call_id": rid,
                                                                        "output": DENIED + (f" Reason: {reason}" if reason else "")}))
        elif project_tools.model_view(e.type, body) is not None:  # azure_ai_search_call(_output)
            kind, shown = project_tools.model_view(e.type, body)
            view.append(HistoryEntry(kind, None, shown))
        elif e.type == "compaction":  # POST /v1/responses/compact's summary (compact.py)
            view.append(compaction_message(body))
        elif e.type in ("mcp_list_tools", "mcp_approval_response"):
            continue
        else:
            view.append(e)
    return view


class _Emitter:
    """Collects the output items and, when streaming, yields their events."""

    def __init__(self, event, out: list[PendingItem]):
        self.event = event
        self.out = out

    def _index(self) -> int:
        return len(self.out)

    def _send(self, kind: str, **fields: Any) -> list[dict]:
        return [self.event(kind, **fields)] if self.event is not None else []

    def list_started(self, item_id: str, label: str) -> Iterator[dict]:
        index = self._index()
        yield from self._send("response.output_item.added", output_index=index, item={
            "id": item_id, "type": "mcp_list_tools", "server_label": label, "tools": []})
        yield from self._send("response.mcp_list_tools.in_progress", item_id=item_id, output_index=index)

    def list_done(self, item: PendingItem) -> Iterator[dict]:
        index = self._index()
        self.out.append(item)
        yield from self._send("response.mcp_list_tools.completed", item_id=item.id, output_index=index)
        yield from self._send("response.output_item.done", output_index=index, item=rendered([item])[0])

    def message(self, item: PendingItem) -> Iterator[dict]:
        index, body = self._index(), rendered([item])[0]
        self.out.append(item)
        part = body["content"][0]
        yield from self._send("response.output_item.added", output_index=index, item={**body, "status": "in_progress", "content": []})
        yield from self._send("response.content_part.added", item_id=item.id, output_index=index, content_index=0,
                              part={"type": "output_text", "text": "", "annotations": []})
        yield from self._send("response.output_text.delta", item_id=item.id, output_index=index, content_index=0,
                              delta=part["text"], logprobs=[])
        for n, annotation in enumerate(part["annotations"]):  # after the text they cite, before its done (as OpenAI)
            yield from self._send("response.output_text.annotation.added", item_id=item.id, output_index=index,
                                  content_index=0, annotation_index=n, annotation=annotation)
        yield from self._send("response.output_text.done", item_id=item.id, output_index=index, content_index=0,
                              text=part["text"], logprobs=[])
        yield from self._send("response.content_part.done", item_id=item.id, output_index=index, content_index=0, part=part)
        yield from self._send("response.output_item.done", output_index=index, item=body)

    def function_call(self, item: PendingItem) -> Iterator[dict]:
        index, body = self._index(), rendered([item])[0]
        self.out.append(item)
        yield from self._send("response.output_item.added", output_index=index,
                              item={**body, "arguments": "", "status": "in_progress"})
        yield from self._send("response.function_call_arguments.delta", item_id=item.id, output_index=index, delta=body["arguments"])
        yield from self._send("response.function_call_arguments.done", item_id=item.id, output_index=index,
                              arguments=body["arguments"], name=body["name"])
        yield from self._send("response.output_item.done", output_index=index, item=body)

    def search_call(self, search: project_tools.SearchTool, call_id: str, arguments: str,
                    cite: Citations | None = None) -> Iterator[dict]:
        """An azure_ai_search call, run now: its call item, then its output item (weft.agents.project_tools)."""
        ids = (item_id_for(project_tools.CALL_ITEM), item_id_for(project_tools.OUTPUT_ITEM))
        index = self._index()
        head, _ = project_tools.call_items(call_id, arguments, "", "in_progress", ids)
        yield from self._send("response.output_item.added", output_index=index, item=head)
        yield from self._send("response.azure_ai_search_call.in_progress", item_id=ids[0], output_index=index)
        yield from self._send("response.azure_ai_search_call.searching", item_id=ids[0], output_index=index)
        output, status = search.call(arguments, cite)
        call, result = project_tools.call_items(call_id, arguments, output, status, ids)
        for body in (call, result):
            self.out.append(PendingItem(body["type"], None, {k: v for k, v in body.items() if k != "id"}, body["id"]))
        yield from self._send("response.azure_ai_search_call.completed" if status == "completed" else
                              "response.azure_ai_search_call.failed", item_id=ids[0], output_index=index)
        yield from self._send("response.output_item.done", output_index=index, item=call)
        yield from self._send("response.output_item.added", output_index=index + 1, item=result)
        yield from self._send("response.output_item.done", output_index=index + 1, item=result)

    def approval_request(self, item: PendingItem) -> Iterator[dict]:
        index, body = self._index(), rendered([item])[0]
        self.out.append(item)
        yield from self._send("response.output_item.added", output_index=index, item=body)
        yield from self._send("response.output_item.done", output_index=index, item=body)

    def mcp_call(self, server: mcp_tool.McpServer, name: str, arguments: str, approval_request_id: str | None) -> Iterator[dict]:
        index, item_id = self._index(), item_id_for("mcp_call")
        head = {"id": item_id, "type": "mcp_call", "server_label": server.label, "name": name, "arguments": arguments,
                "approval_request_id": approval_request_id}
        yield from self._send("response.output_item.added", output_index=index,
                              item={**head, "arguments": "", "output": None, "error": None, "status": "in_progress"})
        yield from self._send("response.mcp_call.in_progress", item_id=item_id, output_index=index)
        yield from self._send("response.mcp_call_arguments.delta", item_id=item_id, output_index=index, delta=arguments)
        yield from self._send("response.mcp_call_arguments.done", item_id=item_id, output_index=index, arguments=arguments)
        output, error = mcp_tool.call_tool(server, name, arguments)
        body = dict(head)  # the id stays in the body: the next turn's model view pairs calls and outputs by it
        body.update(output=output, error=error, status="completed" if error is None else "failed")
        item = PendingItem("mcp_call", None, body, item_id)
        self.out.append(item)
        yield from self._send("response.mcp_call.completed" if error is None else "response.mcp_call.failed",
                              item_id=item_id, output_index=index)
        yield from self._send("response.output_item.done", output_index=index, item=rendered([item])[0])


def drain(turn: Iterator[dict]) -> Any:
    """Runs a non-streamed turn; returns its result."""
    while True:
        try:
            next(turn)
        except StopIteration as stop:
            return stop.value
