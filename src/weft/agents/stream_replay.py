"""``background: true`` with ``stream: true``: the events of a background response, kept so a stream can resume.

The response runs in the background pool (weft.agents.background) like any background response (stored
``queued``, polled, cancelled the same way); each streaming event it produces is appended to the response's
event log, and the creating request streams that log from the start. ``GET /v1/responses/{id}?stream=true
&starting_after=N`` streams the same log from the event after sequence number N, following it until the
response ends. The log lives in the memory of the process running the response, up to ``MAX_EVENTS`` events,
and is forgotten ``KEEP_SECONDS`` after the response ends; a response whose log is not here (created without
``stream``, by another process, before a restart, or too long ago) is a 400 naming ``stream``.
"""
from __future__ import annotations

import contextvars
import threading
import time
from typing import Any, Iterator

from weft.agents.response_request import ResponseRequest, invalid
from weft.agents.response_stream import StreamAssembler, finish_status, rendered, usage_of
from weft.threads.chat_endpoint import require_answer
from weft.threads.policy import Principal

MAX_EVENTS = 20_000
KEEP_SECONDS = 600.0
WAIT_SLICE = 1.0  # a follower re-checks at least this often (so a closed server lets it go)


class EventLog:
    def __init__(self, tenant_id: str):
        self.tenant_id = tenant_id
        self.events: list[dict] = []
        self.ended_at: float | None = None
        self._cond = threading.Condition()

    def append(self, event: dict) -> None:
        with self._cond:
            if self.ended_at is None and len(self.events) < MAX_EVENTS:  # nothing after the end (a cancel)
                self.events.append(event)
            self._cond.notify_all()

    def end(self) -> None:
        with self._cond:
            self.ended_at = time.monotonic()
            self._cond.notify_all()

    def follow(self, starting_after: int = -1, stop: threading.Event | None = None) -> Iterator[dict]:
        position = max(0, starting_after + 1)
        while True:
            with self._cond:
                while position >= len(self.events) and self.ended_at is None and not (stop and stop.is_set()):
                    self._cond.wait(WAIT_SLICE)
                batch = self.events[position:]
                ended = self.ended_at is not None
            yield from batch
            position += len(batch)
            if (ended and position >= len(self.events)) or (stop and stop.is_set()):
                return


class StreamLogs:
    """The event logs of this process's streamed background responses."""

    def __init__(self):
        self._logs: dict[str, EventLog] = {}
        self._lock = threading.Lock()
        self.closing = threading.Event()

    def open(self, tenant_id: str, response_id: str) -> EventLog:
        now = time.monotonic()
        with self._lock:
            for key in [k for k, v in self._logs.items() if v.ended_at is not None and now - v.ended_at > KEEP_SECONDS]:
                del self._logs[key]
            log = self._logs[response_id] = EventLog(tenant_id)
            return log

    def cancelled(self, tenant_id: str, response_id: str) -> None:
        """A cancel ends the stream at once (the run may not even start)."""
        log = self.get(tenant_id, response_id)
        if log is not None:
            log.end()

    def get(self, tenant_id: str, response_id: str) -> EventLog | None:
        with self._lock:
            log = self._logs.get(response_id)
        return log if log is not None and log.tenant_id == tenant_id else None


def start_streamed_background(service, principal: Principal, request: ResponseRequest, response_id: str, created_at: int
                              ) -> Iterator[dict]:
    """Stores the response ``queued``, runs it in the background pool with its events logged; returns the stream."""
    from weft.agents.response_chain import check_tool_outputs, load_chain
    from weft.agents.responses_store import POLLING_RETENTION_SECONDS

    if request.previous_response_id:
        check_tool_outputs(load_chain(service.records, principal, request.previous_response_id), request.input_items)
    queued = service.response_object(response_id, created_at, request, "queued", [], None)
    log = service.stream_logs.open(principal.tenant_id, response_id)
    sequence = 0

    def event(kind: str, **fields: Any) -> dict:
        nonlocal sequence
        sequence += 1
        out = {"type": kind, "sequence_number": sequence - 1, **fields}
        log.append(out)
        return out

    event("response.created", response=queued)
    event("response.queued", response=queued)
    service.records.save(principal, queued, request.input_items, owner=service.background.owner,
                         retention_seconds=None if request.store else POLLING_RETENTION_SECONDS)

    def run(before_store) -> dict:
        return _run(service, principal, request, response_id, created_at, before_store, event)

    def failed(error: dict) -> dict:  # before the log ends (on_end), so a follower sees the failure
        response = service.response_object(response_id, created_at, request, "failed", [], None, error=error)
        log.append({"type": "response.failed", "sequence_number": len(log.events), "response": response})
        return response

    service.background.start(principal, queued, contextvars.copy_context(), run, failed, on_end=log.end)
    return log.follow(-1, service.stream_logs.closing)


def _run(service, principal: Principal, request: ResponseRequest, response_id: str, created_at: int, before_store, event) -> dict:
    with service._turn(principal, request) as token:
        with service._work:
            messages = service._context(principal, request)
        start = service.response_object(response_id, created_at, request, "in_progress", [], None)
        event("response.in_progress", response=start)
        if request.server_tools is not None:
            turn = request.server_tools.run(service.endpoint, request, event)
            while True:
                try:
                    next(turn)
                except StopIteration as stop:
                    output, status, incomplete, usage = stop.value
                    break
            done: list[dict] = []
        else:
            assembler = StreamAssembler(event)
            for chunk in service.endpoint.stream(service._payload(request, messages)):
                assembler.feed(chunk)  # the events are logged as they are made
            output, usage = assembler.output(), assembler.usage
            require_answer(bool(output), assembler.finish_reason)  # a stream with nothing in it: failed
            status, incomplete = finish_status(assembler.finish_reason)
            done = [assembler.done_events]  # made (and logged) once stored
        final = service.response_object(response_id, created_at, request, status, rendered(output), usage_of(usage), incomplete)
        with service._work:
            stored = before_store(final)
            if stored is None:  # cancelled meanwhile: nothing stored, the stream just ends
                return final
            service._store_turn(principal, request, token, output, final, stored=stored)  # the append and the record: one commit
        for make in done:
            make(output)
        event("response.completed" if status == "completed" else "response.incomplete", response=final)
        return final


def resume(service, principal: Principal, response_id: str, starting_after: Any) -> Iterator[dict]:
    stored = service.records.get(principal, response_id)  # 404 for another tenant's or an unknown id
    if starting_after in (None, ""):
        after = -1
    else:
        try:
            after = int(starting_after)
        except (TypeError, ValueError):
            raise invalid("starting_after must be an integer (a sequence number).", "starting_after") from None
    log = service.stream_logs.get(principal.tenant_id, response_id)
    if log is None:
        raise invalid("This response's events are not available to stream: only a background response created with "
                      f"stream=true can be resumed, on the server process that runs it, for {int(KEEP_SECONDS)} s after it ends.",
                      "stream", "unsupported_parameter")
    del stored
    return log.follow(after, service.stream_logs.closing)
