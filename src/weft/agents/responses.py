"""ResponsesService: ``/v1/responses`` — create (plain, streamed, background), retrieve, delete, cancel, input items.

``create(principal, body)`` and ``prepare_stream(principal, body)`` take a Responses request body as
the API does; other faces (Foundry ``agent_reference``) build a body and call them. A turn:

1. with a ``conversation``, wait for the conversation (turn_lock.py), load its history;
   with a ``previous_response_id``, load the chain (response_chain.py) and check its tool outputs;
2. fit the context to the window (``WEFT_HISTORY_TOKEN_BUDGET``): ``truncation: "disabled"`` (the
   default, as OpenAI) refuses with ``context_length_exceeded``, ``"auto"`` drops the oldest items;
3. call the chat endpoint; 4. append input and output to the conversation (under the lease token)
   and, unless ``store: false``, keep the response (responses_store.py).

Knows nothing of HTTP; raises ``weft.errors``.
"""
from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
import time
from typing import Any, Iterator

from weft.agents.background import BackgroundRuns
from weft.agents.response_chain import check_tool_outputs, load_chain
from weft.agents.response_request import ResponseRequest, chat_payload, invalid, parse_request
from weft.agents.response_stream import StreamAssembler, finish_status, output_from_message, rendered, usage_of
from weft.agents.compact import compact
from weft.agents.token_count import count_input_tokens
from weft.agents.stream_replay import StreamLogs, resume, start_streamed_background
from weft.agents.server_tools import SERVER_TOOL_TYPES, ToolTurn, drain, model_view
from weft.agents.responses_store import KIND, POLLING_RETENTION_SECONDS, ResponseRecords, StoredResponse
from weft.agents.turn_lock import TurnLocks
from weft.threads.chat_endpoint import ChatEndpoint, require_answer
from weft.threads.history import HistoryEntry, entry_tokens, to_chat_messages, truncate
from weft.threads.items import item_id_for, new_id
from weft.threads.policy import Principal
from weft.threads.service import Page, PendingItem, ThreadService
from weft.threads.settings import ThreadsSettings
from weft.threads.turns import TurnRecord

log = logging.getLogger("weft.responses")
WORK_SLOTS = 4
CONTEXT_MESSAGE = "Your input exceeds the context window of this model. Please adjust your input and try again."


class ResponsesService:
    def __init__(self, service: ThreadService, settings: ThreadsSettings, endpoint: ChatEndpoint | None = None, *,
                 background_workers: int = 8):
        self.service = service
        self.settings = settings
        self.endpoint = endpoint or ChatEndpoint(settings.llm_base_url, settings.llm_api_key)
        self.records = ResponseRecords(service)
        wait = settings.lock_wait_seconds if settings.lock_mode == "wait" else 0.0
        self.locks = TurnLocks(service, wait_seconds=wait, lease_seconds=settings.conversation_lease_seconds)
        self.background = BackgroundRuns(self.records, background_workers, stale_after_seconds=settings.lock_lease_seconds,
                                         keeper=self.locks.writer.keeper)
        self.stream_logs = StreamLogs()  # the events of streamed background responses (stream_replay.py)
        # The Python work around a model call is let through a few threads at a time (a bounded semaphore).
        self._work = threading.BoundedSemaphore(WORK_SLOTS)
        self.public = None  # the search facade the Azure AI Search tool queries (set by the wiring; project_tools.py)

    # ---- the context the model sees ----------------------------------------------------------------------
    def _context(self, principal: Principal, request: ResponseRequest) -> list[dict]:
        budget = self.settings.history_token_budget
        history: list[HistoryEntry] = []
        if request.conversation_id:
            loaded = self.service.recent_history(principal, request.conversation_id, budget,
                                                 lambda item: entry_tokens(HistoryEntry(item.type, item.role, item.body)))
            history = [HistoryEntry(i.type, i.role, i.body) for i in loaded]
        elif request.previous_response_id:
            history = load_chain(self.records, principal, request.previous_response_id)
            check_tool_outputs(history, request.input_items)
        new = [HistoryEntry(p.type, p.role, p.body) for p in request.input_items]
        if request.truncation == "disabled":
            if sum(entry_tokens(e) for e in history + new) > budget:
                raise invalid(CONTEXT_MESSAGE, "input", "context_length_exceeded")
            kept = history
        else:
            kept, _dropped = truncate(history, new, budget)
            if sum(entry_tokens(e) for e in kept + new) > budget:  # the new input alone is too long
                raise invalid(CONTEXT_MESSAGE, "input", "context_length_exceeded")
        if request.server_tools is not None:  # MCP items shown to the model as function calls (server_tools.py)
            return request.server_tools.messages(kept + new, request.instructions)
        return to_chat_messages(model_view(kept + new), request.instructions)

    def _payload(self, request: ResponseRequest, messages: list[dict]) -> dict:
        return chat_payload(request, messages, [t for t in request.tools if t["type"] == "function"])

    # ---- the Response object --------------------------------------------------------------------------------
    @staticmethod
    def response_object(response_id: str, created_at: int, request: ResponseRequest, status: str, output: list[dict],
                        usage: dict | None, incomplete: Any = None, error: dict | None = None) -> dict:
        return {
            "id": response_id, "object": "response", "created_at": created_at, "status": status, "background": request.background,
            "model": request.model, "output": output, "error": error, "incomplete_details": incomplete,
            "instructions": request.instructions, "metadata": request.metadata, "parallel_tool_calls": request.parallel_tool_calls,
            "temperature": request.passed.get("temperature"), "top_p": request.passed.get("top_p"),
            "tool_choice": request.tool_choice, "tools": request.tools, "max_output_tokens": request.max_output_tokens,
            "max_tool_calls": request.max_tool_calls, "previous_response_id": request.previous_response_id,
            "conversation": {"id": request.conversation_id} if request.conversation_id else None,
            "text": request.text, "truncation": request.truncation, "usage": usage, "store": request.store,
            "reasoning": {"effort": (request.reasoning or {}).get("effort"), "summary": (request.reasoning or {}).get("summary")},
            "service_tier": request.passed.get("service_tier", "default"), "user": request.passed.get("user"),
            "prompt_cache_key": request.passed.get("prompt_cache_key"), "safety_identifier": request.passed.get("safety_identifier"),
            "completed_at": int(time.time()) if status == "completed" else None,
        }

    # ---- storing a finished turn --------------------------------------------------------------------------
    def _store_turn(self, principal: Principal, request: ResponseRequest, lease, output: list[PendingItem],
                    response: dict | None, *, stored: StoredResponse | None = None) -> None:
        """ONE commit (weft.threads.turns): the input and output appended to the conversation under the lease
        (released in the same transaction) and, given ``response`` and unless ``store: false``, the response's record;
        given ``stored`` (a background response's record, ``store: false`` too), that record's final state instead."""
        record = None
        if stored is not None and response is not None:
            record = TurnRecord(response["id"], KIND, {"response": response, "inputs": stored.inputs, "owner": stored.owner},
                                create=False)
        elif response is not None and request.store:
            items = [{"id": item_id_for(p.type), **p.body} for p in request.input_items]
            record = TurnRecord(response["id"], KIND, {"response": response, "inputs": items, "owner": None})
        pending: list[PendingItem] = []
        if request.conversation_id:
            pending = [PendingItem(p.type, p.role, p.body, item_id_for(p.type)) for p in request.input_items] + output
        if not pending and record is None:  # an empty input stores nothing
            return
        self.locks.writer.commit(principal, request.conversation_id if pending else None, lease if pending else None, pending,
                                 "response.create", record)

    def _store_failed(self, principal: Principal, request: ResponseRequest, failed: dict) -> None:
        """A streamed turn that failed after ``response.created`` named its id: the id is retrievable (status
        ``failed``, with its input items) unless ``store: false``; the conversation gets nothing (no turn happened)."""
        if not request.store:
            return
        try:
            with self._work:
                self.records.save(principal, failed, request.input_items)
        except Exception:  # the stream still reports the failure; the record is best effort
            log.exception("could not store failed response %s", failed["id"])

    @contextlib.contextmanager
    def _turn(self, principal: Principal, request: ResponseRequest) -> Iterator[str | None]:
        if not request.conversation_id:
            yield None
            return
        with self.locks.hold(principal.tenant_id, request.conversation_id) as lease:
            yield lease

    def _complete(self, principal: Principal, request: ResponseRequest, response_id: str, created_at: int, *,
                  before_store=None, keep: bool = False) -> dict:
        """One non-streamed turn; ``before_store`` (background) gives the response's stored record, or None to veto
        storing (a cancel came first); ``keep``: the response's record is created with the turn's append. Either way
        the record and the conversation's append are one commit."""
        with self._turn(principal, request) as token:
            with self._work:
                messages = self._context(principal, request)
            if request.server_tools is not None:  # the model and the MCP servers, in turns (server_tools.py)
                output, status, incomplete, usage = drain(request.server_tools.run(self.endpoint, request))
            else:
                completion = self.endpoint.complete(self._payload(request, messages))
                choice = (completion.get("choices") or [{}])[0]
                output = output_from_message(choice.get("message") or {})
                require_answer(bool(output), choice.get("finish_reason"))  # nothing in it: a broken upstream, failed
                status, incomplete = finish_status(choice.get("finish_reason"))
                usage = completion.get("usage")
            with self._work:
                response = self.response_object(response_id, created_at, request, status, rendered(output),
                                                usage_of(usage), incomplete)
                stored = before_store(response) if before_store is not None else None
                if before_store is not None and stored is None:
                    return response
                self._store_turn(principal, request, token, output, response if keep or stored else None, stored=stored)
                return response

    # ---- entry points --------------------------------------------------------------------------------------
    def parse(self, body: dict, search_grant: str | None = None) -> ResponseRequest:
        """``search_grant``: what the caller may do through weft's search authorisation ('admin', 'query', 'token' or
        None), for the Azure AI Search tool (weft.agents.project_tools)."""
        request = parse_request(body, self.settings.llm_model, server_tools=SERVER_TOOL_TYPES)
        ToolTurn.bind(body, request, self.public, search_grant)
        return request

    def create(self, principal: Principal, body: dict, search_grant: str | None = None) -> dict:
        """A Responses request body -> the Response object (completed, or queued for ``background: true``)."""
        principal.require("write")
        request = self.parse(body, search_grant)
        if request.stream:
            raise invalid("use prepare_stream() for streamed responses", "stream")
        response_id, created_at = new_id("resp"), int(time.time())
        if request.background:
            return self._start_background(principal, request, response_id, created_at)
        return self._complete(principal, request, response_id, created_at, keep=True)

    def _start_background(self, principal: Principal, request: ResponseRequest, response_id: str, created_at: int) -> dict:
        if request.previous_response_id:
            check_tool_outputs(load_chain(self.records, principal, request.previous_response_id), request.input_items)
        queued = self.response_object(response_id, created_at, request, "queued", [], None)
        self.records.save(principal, queued, request.input_items, owner=self.background.owner,
                          retention_seconds=None if request.store else POLLING_RETENTION_SECONDS)

        def run(before_store) -> dict:
            return self._complete(principal, request, response_id, created_at, before_store=before_store)

        def failed(error: dict) -> dict:
            return self.response_object(response_id, created_at, request, "failed", [], None, error=error)

        self.background.start(principal, queued, contextvars.copy_context(), run, failed)
        return queued

    def prepare_stream(self, principal: Principal, body: dict, search_grant: str | None = None) -> Iterator[dict]:
        """Validates, waits for the conversation and builds the context now (so errors are plain HTTP errors);
        returns the iterator of streaming events."""
        principal.require("write")
        request = self.parse(body, search_grant)
        if request.background:  # run in the background pool, its events kept for resuming (stream_replay.py)
            return start_streamed_background(self, principal, request, new_id("resp"), int(time.time()))
        turn = self._turn(principal, request)
        token = turn.__enter__()
        try:
            messages = self._context(principal, request)
        except BaseException as exc:
            turn.__exit__(type(exc), exc, exc.__traceback__)
            raise
        return self._stream_events(principal, request, turn, token, messages)

    def _stream_events(self, principal, request: ResponseRequest, turn, token, messages) -> Iterator[dict]:
        response_id, created_at = new_id("resp"), int(time.time())
        sequence = 0

        def event(kind: str, **fields: Any) -> dict:
            nonlocal sequence
            sequence += 1
            return {"type": kind, "sequence_number": sequence - 1, **fields}

        try:
            start = self.response_object(response_id, created_at, request, "in_progress", [], None)
            yield event("response.created", response=start)
            yield event("response.in_progress", response=start)
            if request.server_tools is not None:  # items sent whole, as each is known (server_tools.py)
                output, status, incomplete, usage = yield from request.server_tools.run(self.endpoint, request, event)
                done: list[dict] = []
            else:
                assembler = StreamAssembler(event)
                for chunk in self.endpoint.stream(self._payload(request, messages)):
                    yield from assembler.feed(chunk)
                output, usage = assembler.output(), assembler.usage
                require_answer(bool(output), assembler.finish_reason)  # a stream with nothing in it: failed
                status, incomplete = finish_status(assembler.finish_reason)
                done = assembler.done_events(output)
            final = self.response_object(response_id, created_at, request, status, rendered(output), usage_of(usage), incomplete)
            with self._work:  # durable before the stream says so
                self._store_turn(principal, request, token, output, final)
            yield from done
            yield event("response.completed" if status == "completed" else "response.incomplete", response=final)
        except GeneratorExit:
            raise
        except Exception as exc:  # reported in-band: the HTTP status is already sent
            error = {"code": getattr(exc, "code", None) or "server_error", "message": getattr(exc, "message", None) or str(exc)}
            failed = self.response_object(response_id, created_at, request, "failed", [], None, error=error)
            self._store_failed(principal, request, failed)
            yield event("response.failed", response=failed)
        finally:
            turn.__exit__(None, None, None)

    def retrieve(self, principal: Principal, response_id: str) -> dict:
        return self.background.current(principal, self.records.get(principal, response_id))

    def resume_stream(self, principal: Principal, response_id: str, starting_after: Any = None) -> Iterator[dict]:
        """``GET /v1/responses/{id}?stream=true&starting_after=N``: the events after N of a streamed background response."""
        return resume(self, principal, response_id, starting_after)

    def count_input_tokens(self, principal: Principal, body: dict) -> dict:
        return count_input_tokens(self, principal, body)

    def compact(self, principal: Principal, body: dict) -> dict:
        return compact(self, principal, body)

    def delete(self, principal: Principal, response_id: str) -> dict:
        self.records.delete(principal, response_id)
        return {"id": response_id, "object": "response.deleted", "deleted": True}

    def cancel(self, principal: Principal, response_id: str) -> dict:
        principal.require("write")
        cancelled = self.background.cancel(principal, self.records.get(principal, response_id))
        if cancelled.get("status") == "cancelled":
            self.stream_logs.cancelled(principal.tenant_id, response_id)  # its stream ends (stream_replay.py)
        return cancelled

    def input_items(self, principal: Principal, response_id: str, *, limit: int = 20, order: str = "desc",
                    after: str | None = None, before: str | None = None) -> Page:
        return self.records.input_items(principal, response_id, limit=limit, order=order, after=after, before=before)

    def close(self) -> None:
        self.stream_logs.closing.set()
        self.background.close()
        self.endpoint.close()
