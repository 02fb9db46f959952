"""Classic runs on threads (`azure-ai-agents` 1.x `/threads/{id}/runs`): the status lifecycle, tool calls through
`requires_action` and `submit_tool_outputs`, run steps, and the events a streamed run sends.

A run's turn calls the configured chat endpoint (the one `/v1/responses` uses) with the thread's history under
the same conversation lock the responses loop takes, and writes its output through the same atomic append path
(weft.threads.turns: one commit per turn with the run's state and the lease's release, a compare-and-swap of the
state read at the turn's start, read again only when something wrote the run meanwhile; submitted outputs carry an idempotency key, so a second submit
of the same turn, from any process, is refused and starts no second turn). A function call is stored in the thread
only with its output (both items in one append, when the outputs are submitted): the thread's history never holds
a call without its answer, and the Foundry messages list shows neither (they are run steps).

After a crash: a run that was ``queued``, ``in_progress`` or ``cancelling`` in a process that is gone (its lease,
``WEFT_RUN_LEASE_SECONDS``, kept fresh by a heartbeat while the turn runs, has run out) ends ``failed`` with
``server_error`` when it is next read, unless its message was already appended, in which case it ends
``completed`` (on SQLite and PostgreSQL the message and the run's final state are one transaction; on MariaDB they
are two writes, and the message is the truth). A run is never resumed,
so the model is never asked twice and no message is written twice. A run in ``requires_action`` survives a
restart unchanged: its tool outputs can be submitted to the new process.

A turn that fails in this process ends its run ``failed`` at once: a WeftError with its own code (an upstream
error is ``upstream_error``), anything else (a bug, an answer of the model no code expected) with ``server_error``
and the detail in the log only.
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import queue
import secrets
import threading
import uuid
from typing import Any, Callable, Iterator

from weft.agents import run_shapes as shapes
from weft.agents import search_tool
from weft.agents.agent_records import AgentRecords
from weft.agents.assistants import Assistants, check_tools
from weft.agents.create_basis import CreateBases, CreateBasis, copy_state
from weft.agents.history_cache import HistoryCache
from weft.agents.model_slots import ModelSlots
from weft.agents.run_requests import chat_answer, chat_payload, check_run_body
from weft.agents.turn_lock import TurnLocks
from weft.errors import InvalidInput, NotFound, WeftError
from weft.threads.chat_endpoint import ChatEndpoint
from weft.threads.history import to_chat_messages, truncate
from weft.threads.items import item_id_for, validate_metadata
from weft.threads.policy import Principal
from weft.threads.service import Item, Page, PendingItem, ThreadService
from weft.threads.turn_store import BasisChanged, HistoryWindow
from weft.threads.turns import DEFAULT_LEASE_SECONDS, Lease, RecordChanged, TurnRecord

BOOT_ID = uuid.uuid4().hex  # this process; a run owned by another whose lease ran out was cut off by a crash
THREAD_KINDS = ("thread", "conversation")
Emit = Callable[[str, Any], None]


class Runs:
    def __init__(self, service: ThreadService, assistants: Assistants, endpoint: ChatEndpoint, *, history_token_budget: int = 8000,
                 lease_seconds: float = 30.0, lock_wait_seconds: float = 30.0, workers: int = 16,
                 locks: TurnLocks | None = None, model_slots: ModelSlots | None = None, history_cache: dict | None = None):
        self.service = service
        self.assistants = assistants
        self.endpoint = endpoint
        self.records = AgentRecords(service, "run")
        self.budget = history_token_budget
        self.lease_ms = int(lease_seconds * 1000)
        self.lock_wait = lock_wait_seconds
        # the conversation lock responses take too (one queue per conversation in this process), and its lease
        self.locks = locks or TurnLocks(service, wait_seconds=lock_wait_seconds, lease_seconds=DEFAULT_LEASE_SECONDS)
        self.model_slots = model_slots  # WEFT_MODEL_CONCURRENCY, shared with /v1/responses (None: no limit)
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="weft-run")
        # streamed runs: a reader waits on each stream's queue; never in `pool`, whose threads run the turns it waits for
        self.stream_pool = concurrent.futures.ThreadPoolExecutor(max_workers=64, thread_name_prefix="weft-run-stream")
        self._live: dict[str, dict] = {}  # runs whose turn this process is running: their in-memory "in_progress"
        self._live_lock = threading.Lock()
        self._history_reads: dict[tuple[str, str], int] = {}  # (tenant, thread) -> items its last history read here
        self.history_cache = HistoryCache(service, keeper=self.locks.writer.keeper, **(history_cache or {}))
        # run id -> the thread's lease its create took for the turn about to start (create's ``start_now``)
        self._taken: dict[str, Lease] = {}
        # what each thread's next create would read, as this process's own writes left it (weft.agents.create_basis)
        self.bases = CreateBases(service)

    # ---- validation -------------------------------------------------------------------------------------
    def thread(self, principal: Principal, thread_id: str):
        try:
            conversation = self.service.get_conversation(principal, thread_id)
        except NotFound:
            raise NotFound(f"No thread found with id '{thread_id}'.", code="not_found") from None
        if conversation.kind not in THREAD_KINDS:
            raise NotFound(f"No thread found with id '{thread_id}'.", code="not_found")
        return conversation

    check_body = staticmethod(check_run_body)

    # ---- create, read, change -----------------------------------------------------------------------------
    def create(self, principal: Principal, thread_id: str, body: dict, additional: list[PendingItem], *,
               start_now: bool = False) -> dict:
        """The run, queued. ``start_now``: the caller starts its turn right away (``start``, ``stream`` or
        ``advance``), so the commit of the additional messages also takes the thread's lease for that turn and,
        on PostgreSQL, reads the newest items with it (weft.threads.turns.TurnWriter.commit_taking_lease): the
        turn then takes no lease and reads no first page of its own. A turn that does not start gives the lease
        back within ADOPT_SECONDS."""
        principal.require("write")
        self.check_body(body)
        basis = self.bases.usable(principal.tenant_id, thread_id, body["assistant_id"])
        if basis is not None:  # what a read would find, as this process left it: checked in the commit instead
            principal.require("read")
            try:
                return self._commit_new(principal, thread_id, body, additional, start_now, copy_state(basis.agent), basis)
            except BasisChanged:  # another writer changed the thread's runs or the agent: nothing stored, read it all
                self.bases.forget(principal.tenant_id, thread_id)
        # the thread, the assistant and the thread's newest runs in one read; the thread or the assistant missing (or
        # not what it should be): the single reads' 404s
        stored: dict[str, bytes | None] = {}
        found, newest = self.service.get_conversations_and_list(principal, [thread_id, body["assistant_id"]], kind=self.records.kind,
                                                                limit=2, order="desc", metadata={"thread_id": thread_id}, stored=stored)
        if thread_id not in found or found[thread_id].kind not in THREAD_KINDS:
            self.thread(principal, thread_id)
        record = found.get(body["assistant_id"])
        is_assistant = record is not None and record.kind == self.assistants.records.kind
        assistant = dict(record.extra) if is_assistant else self.assistants.state(principal, body["assistant_id"])
        busy = self._open_run(principal, thread_id, newest)
        if busy:
            raise InvalidInput(f"Thread {thread_id} already has an active run {busy}.", code="thread_busy")
        basis = None
        if (is_assistant and self.locks.writer.guards and stored.get(record.id) is not None
                and all(stored.get(r.id) is not None for r in newest.data)):
            basis = CreateBasis(record.id, stored[record.id], copy_state(record.extra),  # type: ignore[arg-type]
                                [(r.id, stored[r.id], r.extra["run"]["status"]) for r in newest.data])  # type: ignore[misc]
        return self._commit_new(principal, thread_id, body, additional, start_now, assistant, None, basis)

    def _commit_new(self, principal: Principal, thread_id: str, body: dict, additional: list[PendingItem], start_now: bool,
                    assistant: dict, guard_basis: "CreateBasis | None", next_basis: "CreateBasis | None" = None) -> dict:
        """The run's one commit (the additional messages and the run record, weft.threads.turns); ``guard_basis``:
        stored only while what it was built from still holds (BasisChanged)."""
        tools = check_tools(body["tools"]) if body.get("tools") is not None else assistant.get("tools") or []
        run = shapes.new_run(thread_id, body["assistant_id"], assistant, body, tools)
        state = {"run": run, "steps": [], "owner": BOOT_ID, "lease_until_ms": self._lease(), "turn": 0}
        record = TurnRecord(run["id"], "run", state, metadata={"thread_id": thread_id}, operation="run.create")
        tenant = principal.tenant_id
        if guard_basis is not None:
            record.guard = self.bases.guard(tenant, thread_id, guard_basis, THREAD_KINDS, self.assistants.records.kind, self.records.kind)
            # the reads it stands for, audited as the read would be
            record.reads = (("conversation.list", None), ("conversation.get", thread_id), ("conversation.get", guard_basis.agent_id))
        if start_now and additional:
            _, lease = self.locks.writer.commit_taking_lease(principal, thread_id, additional, "run.messages", record,
                                                             prefetch=self._first_page_size(tenant, thread_id),
                                                             window=self.history_cache.window(tenant, thread_id))
            if lease is not None:
                self._taken[run["id"]] = lease
        else:
            self.locks.writer.commit(principal, thread_id if additional else None, None, additional, "run.messages", record)
        self.records.remember(principal, run["id"], state, record.stored_extra)  # the turn starts from it, unread
        basis = guard_basis or next_basis
        if basis is not None and record.stored_extra is not None:
            self.bases.created(tenant, thread_id, basis, run["id"], record.stored_extra, run["status"])
        return run

    def _keep_window(self, tenant_id: str, thread_id: str, lease, counts: dict, generation: int) -> None:
        """The thread's newest items for its next create (weft.threads.turn_store.HistoryWindow): the page the turn's
        lease came with and what the turn's commit appended, when no item was removed and none appended by another
        writer between the two (the commit's counters say)."""
        page, removed = getattr(lease, "page", None), getattr(lease, "page_removed", None)
        if page is None or removed is None or "next_seq" not in counts or not page[0]:
            return
        own = counts.get("records") or []
        if counts["next_seq"] - counts["item_count"] != removed or counts["next_seq"] - len(own) != page[0][0].seq + 1:
            return
        records = [*reversed(own), *page[0]][:1000]
        self.history_cache.keep_window(tenant_id, thread_id, HistoryWindow(records, removed), generation)

    def _lease(self) -> int:
        return self.service.clock.now_ms() + self.lease_ms

    def _open_run(self, principal: Principal, thread_id: str, page: Page | None = None) -> str | None:
        # only the newest run can be open (a run is created only when none is, and an ended run stays ended); the
        # second covers two creates that raced in two processes
        if page is None:
            page = self.records.list(principal, limit=2, order="desc", tags={"thread_id": thread_id})
        for record in page.data:
            state = self._recovered(principal, record.id, record.extra)
            if state["run"]["status"] in shapes.OPEN:
                return record.id
        return None

    def _state(self, principal: Principal, thread_id: str, run_id: str) -> dict:
        record = self.records.get(principal, run_id)
        if record.extra.get("run", {}).get("thread_id") != thread_id:
            raise NotFound(f"No run found with id '{run_id}'.", code="not_found")
        return self._overlay(run_id, self._recovered(principal, run_id, record.extra))

    def _overlay(self, run_id: str, state: dict) -> dict:
        live = self._live.get(run_id)
        if live is not None and state["run"]["status"] == "queued":
            return {**state, "run": dict(live)}
        return state

    def _recovered(self, principal: Principal, run_id: str, state: dict) -> dict:
        """Ends a run cut off by a crash (module docstring) and a `requires_action` run past its expiry."""
        run = state["run"]
        now = self.service.clock.now_ms()
        cut_off = run["status"] in shapes.ACTIVE and state.get("owner") != BOOT_ID and now > state.get("lease_until_ms", 0)
        expired = run["status"] == "requires_action" and run.get("expires_at") and now // 1000 > run["expires_at"]
        if not (cut_off or expired):
            return state
        if principal.allows("write"):
            return self.records.mutate(principal, run_id, lambda s: self._end_cut_off(principal, s))[0]
        ended = {**state, "run": dict(run)}
        self._end_cut_off(principal, ended)  # a reader sees the outcome; the next writer stores it
        return ended

    def _end_cut_off(self, principal: Principal, state: dict) -> None:
        run = state["run"]
        if run["status"] == "requires_action":
            if run.get("expires_at") and self.service.clock.now_ms() // 1000 > run["expires_at"]:
                for step in state["steps"]:
                    if step["status"] == "in_progress":
                        shapes.finish_step(step, "expired")
                shapes.finish_run(run, "expired")
            return
        if run["status"] not in shapes.ACTIVE or (state.get("owner") == BOOT_ID and self.service.clock.now_ms() <= state.get("lease_until_ms", 0)):
            return
        written = self._message_of(principal, run["thread_id"], run["id"])
        for step in state["steps"]:
            if step["status"] == "in_progress":
                if written is not None and step["type"] == "message_creation":
                    shapes.finish_step(step, "completed")
                else:
                    shapes.finish_step(step, "failed", {"code": "server_error", "message": "weft restarted during this step."})
        if written is not None:
            if not any(s["type"] == "message_creation" for s in state["steps"]):
                state["steps"].append(shapes.message_step(run, written.id, "completed"))
            shapes.finish_run(run, "completed")
        elif run["status"] == "cancelling":
            shapes.finish_run(run, "cancelled")
        else:
            shapes.finish_run(run, "failed", {"code": "server_error",
                                              "message": "weft restarted while this run was in progress; nothing of its output was stored."})

    def _message_of(self, principal: Principal, thread_id: str, run_id: str) -> Item | None:
        page = self.service.list_items(principal, thread_id, limit=50, order="desc")
        return next((i for i in page.data if i.type == "message" and i.body.get("run_id") == run_id), None)

    def get(self, principal: Principal, thread_id: str, run_id: str) -> dict:
        return self._state(principal, thread_id, run_id)["run"]

    def list(self, principal: Principal, thread_id: str, *, limit: int, order: str, after: str | None, before: str | None) -> Page:
        self.thread(principal, thread_id)
        page = self.records.list(principal, limit=limit, order=order, after=after, before=before, tags={"thread_id": thread_id})
        return Page([self._overlay(r.id, self._recovered(principal, r.id, r.extra))["run"] for r in page.data], page.has_more)

    def update(self, principal: Principal, thread_id: str, run_id: str, body: dict) -> dict:
        unknown = sorted(set(body) - {"metadata"})
        if unknown:
            raise InvalidInput(f"Unknown parameter '{unknown[0]}': only metadata can be updated.", code="unknown_parameter")
        metadata = validate_metadata(body.get("metadata"))
        self._state(principal, thread_id, run_id)
        return self.records.mutate(principal, run_id, lambda s: s["run"].__setitem__("metadata", metadata))[0]["run"]

    def steps(self, principal: Principal, thread_id: str, run_id: str, *, limit: int, order: str, after: str | None,
              before: str | None) -> tuple[list[dict], bool]:
        steps = list(self._state(principal, thread_id, run_id)["steps"])
        if order == "desc":
            steps.reverse()
        ids = [s["id"] for s in steps]
        for cursor, keep in ((after, lambda n, at: n > at), (before, lambda n, at: n < at)):
            if cursor:
                if cursor not in ids:
                    raise InvalidInput(f"No run step with id '{cursor}' in this run.", code="invalid_value")
                at = ids.index(cursor)
                steps = [s for s in steps if keep(ids.index(s["id"]), at)]
        return steps[:limit], len(steps) > limit

    def step(self, principal: Principal, thread_id: str, run_id: str, step_id: str) -> dict:
        for step in self._state(principal, thread_id, run_id)["steps"]:
            if step["id"] == step_id:
                return step
        raise NotFound(f"No run step found with id '{step_id}'.", code="not_found")

    def cancel(self, principal: Principal, thread_id: str, run_id: str) -> dict:
        principal.require("write")
        self._state(principal, thread_id, run_id)

        def change(state: dict) -> None:
            run = state["run"]
            if run["status"] == "in_progress" or (run["status"] == "queued" and run_id in self._live):
                run["status"] = "cancelling"
            elif run["status"] in ("queued", "requires_action"):
                for step in state["steps"]:
                    if step["status"] == "in_progress":
                        shapes.finish_step(step, "cancelled")
                shapes.finish_run(run, "cancelled")
            elif run["status"] != "cancelling":
                raise InvalidInput(f"Cannot cancel run with status '{run['status']}'.", code="invalid_value")

        return self.records.mutate(principal, run_id, change)[0]["run"]

    def submit_tool_outputs(self, principal: Principal, thread_id: str, run_id: str, body: dict) -> dict:
        principal.require("write")
        unknown = sorted(set(body) - {"tool_outputs", "stream"})
        if unknown:
            raise InvalidInput(f"Unknown parameter '{unknown[0]}'.", code="unknown_parameter")
        outputs = body.get("tool_outputs")
        if not isinstance(outputs, list) or not outputs:
            raise InvalidInput("tool_outputs must be a non-empty list of {tool_call_id, output}.", code="invalid_value")
        given: dict[str, str] = {}
        for n, out in enumerate(outputs):
            if not isinstance(out, dict) or not isinstance(out.get("tool_call_id"), str):
                raise InvalidInput(f"tool_outputs[{n}].tool_call_id is required.", code="invalid_value")
            value = out.get("output")
            if value is not None and not isinstance(value, str):
                raise InvalidInput(f"tool_outputs[{n}].output must be a string.", code="invalid_value")
            given[out["tool_call_id"]] = value or ""
        self._state(principal, thread_id, run_id)

        def change(state: dict) -> None:
            run = state["run"]
            if run["status"] != "requires_action":
                raise InvalidInput(f"Runs in status '{run['status']}' do not accept tool outputs.", code="invalid_value")
            calls = state.get("pending") or []
            wanted = [c["id"] for c in calls]
            if sorted(given) != sorted(wanted):
                raise InvalidInput(f"Expected tool outputs for call ids {wanted}, got {sorted(given)}.", code="invalid_value")
            items = [PendingItem("function_call", None, {"type": "function_call", "call_id": c["id"], "name": c["function"]["name"],
                                                         "arguments": c["function"]["arguments"], "status": "completed", "run_id": run_id},
                                 item_id_for("function_call")) for c in calls]
            items += [PendingItem("function_call_output", None, {"type": "function_call_output", "call_id": c["id"], "output": given[c["id"]],
                                                                 "status": "completed", "run_id": run_id}, item_id_for("function_call_output"))
                      for c in calls]
            stored = self.service.append_items(principal, thread_id, None, pending=items, idempotency_key=f"{run_id}:outputs:{state['turn']}",
                                               operation="run.tool_outputs")
            if [i.id for i in stored] != [i.id for i in items]:  # a replay: another process took these outputs first
                raise InvalidInput("These tool outputs were already submitted.", code="invalid_value")
            for step in state["steps"]:
                if step["type"] == "tool_calls" and step["status"] == "in_progress":
                    for call in step["step_details"]["tool_calls"]:
                        call["function"]["output"] = given.get(call["id"])
                    shapes.finish_step(step, "completed")
            run["status"], run["required_action"], run["expires_at"] = "queued", None, None
            state["pending"], state["turn"] = [], state["turn"] + 1
            state["owner"], state["lease_until_ms"] = BOOT_ID, self._lease()

        return self.records.mutate(principal, run_id, change)[0]["run"]

    # ---- execution ----------------------------------------------------------------------------------------
    def start(self, principal: Principal, run_id: str) -> None:
        self.pool.submit(self._advance_quietly, principal, run_id)

    def _advance_quietly(self, principal: Principal, run_id: str) -> None:
        try:
            self.advance(principal, run_id, None)
        except Exception:  # advance records every failure of the turn in the run; this is a storage failure
            logging.getLogger("weft.agents").exception("run %s could not advance", run_id)

    def stream(self, principal: Principal, run_id: str, first: list[tuple[str, Any]]) -> Iterator[tuple[str, Any]]:
        """The events of a run's turn, as it happens (the turn runs in the pool; its events come through a queue)."""
        events: queue.Queue = queue.Queue()
        done = object()

        def work() -> None:
            try:
                self.advance(principal, run_id, lambda name, data: events.put((name, data)), streaming=True)
            except WeftError as exc:
                events.put(("error", {"error": {"code": exc.code or "server_error", "message": exc.message}}))
            except Exception as exc:  # noqa: BLE001 - reported in-band, the status line is sent
                events.put(("error", {"error": {"code": "server_error", "message": str(exc)}}))
            finally:
                events.put(done)

        yield from first
        self.pool.submit(work)
        while True:
            event = events.get()
            if event is done:
                return
            yield event

    @contextlib.contextmanager
    def _heartbeat(self, principal: Principal, run_id: str) -> Iterator[None]:
        """Renews the run's lease every third of it while its turn runs (the process's one heartbeat thread)."""
        def beat() -> None:
            self.records.mutate(principal, run_id, lambda s: s.__setitem__("lease_until_ms", self._lease()))

        keeper = self.locks.writer.keeper
        handle = keeper.keep(beat, self.lease_ms / 3000)
        try:
            yield
        finally:
            keeper.drop(handle)

    def advance(self, principal: Principal, run_id: str, emit: Emit | None, streaming: bool = False) -> None:
        """One turn of a queued run: the model's answer becomes a message (run completed) or tool calls (requires_action)."""
        emit = emit or (lambda name, data: None)
        taken = self._taken.pop(run_id, None)  # the thread's lease the run's create took for this turn
        try:
            self._advance(principal, run_id, emit, streaming, taken)
        finally:
            if taken is not None:
                self.locks.give_back(taken)  # not adopted (an ended run, an error before the turn): given back now

    def _advance(self, principal: Principal, run_id: str, emit: Emit, streaming: bool, taken: Lease | None) -> None:
        # "in_progress" lives in this process only (readers here see it, `_live`); the stored run stays "queued" with
        # this process as owner and a lease the heartbeat renews: one commit less a turn, the same outcome after a crash
        state, stored = self.records.read_for_write(principal, run_id, fresh=True)  # the turn writes it back, audited
        read = {**state, "steps": list(state["steps"]), "_stored": stored}  # as stored: the end's compare-and-swap base
        run = dict(state["run"])
        with self._live_lock:
            began = run["status"] == "queued" and run_id not in self._live
            if began:
                run["status"], run["started_at"] = "in_progress", run["started_at"] or shapes.now_s()
                self._live[run_id] = run
        if not began:
            emit(f"thread.run.{run['status']}", run)
            return
        state["run"] = run
        emit("thread.run.in_progress", run)
        thread_id = run["thread_id"]
        message_id = item_id_for("message")
        try:
            with self._heartbeat(principal, run_id):
                first_page = self._first_page_size(principal.tenant_id, thread_id)  # read with the lease (PostgreSQL)
                with self.locks.hold(principal.tenant_id, thread_id, self.lock_wait, prefetch=first_page, taken=taken) as lease:
                    self._turn(principal, run_id, state, message_id, lease, emit, streaming, read)
        except WeftError as exc:
            self.history_cache.forget(principal.tenant_id, thread_id)  # gone, shredded, ...: nothing of it is kept
            self._fail(principal, run_id, {"code": exc.code or "server_error", "message": exc.message}, emit)
        except Exception:  # noqa: BLE001 - a bug or an unexpected answer: the run ends now, not at its lease's end
            self.history_cache.forget(principal.tenant_id, thread_id)
            logging.getLogger("weft.agents").exception("run %s failed unexpectedly", run_id)
            self._fail(principal, run_id, {"code": "server_error",
                                           "message": "The run failed unexpectedly; the server log has the details."}, emit)
        finally:
            with self._live_lock:
                self._live.pop(run_id, None)

    def _fail(self, principal: Principal, run_id: str, error: dict, emit: Emit) -> None:

        def fail(s: dict) -> None:
            if s["run"]["status"] in shapes.ACTIVE:
                for step in s["steps"]:
                    if step["status"] == "in_progress":
                        shapes.finish_step(step, "failed", error)
                live = self._live.get(run_id) or {}
                s["run"]["started_at"] = s["run"]["started_at"] or live.get("started_at")
                shapes.finish_run(s["run"], "cancelled" if s["run"]["status"] == "cancelling" else "failed", error)

        ended = self.records.mutate(principal, run_id, fail)[0]["run"]
        emit(f"thread.run.{ended['status']}", ended)

    def _first_page_size(self, tenant_id: str, thread_id: str) -> int:
        """How many of the thread's newest items its history's first read asks for: as many as the last turn here
        read (plus room for what was added since), so a history is one read, not a page and then the rest."""
        read = self._history_reads.get((tenant_id, thread_id), 0)
        return min(1000, max(100, read + 20))

    def _history(self, principal: Principal, run: dict, lease=None) -> list[dict]:
        key = (principal.tenant_id, run["thread_id"])
        read = self.history_cache.read(*key)  # each item's entry and size, decoded once (weft.agents.history_cache)
        loaded = self.service.recent_history(principal, run["thread_id"], self.budget, read.tokens, first_size=self._first_page_size(*key),
                                             first_page=getattr(lease, "page", None), decode=read.decode)
        read.keep(loaded)
        if len(self._history_reads) >= 4096 and key not in self._history_reads:
            with contextlib.suppress(StopIteration, RuntimeError):  # the oldest hint goes (another turn may be at it)
                self._history_reads.pop(next(iter(self._history_reads)), None)
        self._history_reads[key] = len(loaded)
        kept, _ = truncate([read.entry(i) for i in loaded], [], self.budget, [read.tokens(i) for i in loaded])
        return to_chat_messages(kept, run.get("instructions") or None)

    def _model(self, payload: dict, on_text: Callable[[str], None] | None) -> tuple[str, list[dict], dict | None]:
        return chat_answer(self.endpoint, payload, on_text)  # weft.agents.search_tool's rounds call it too

    def _turn(self, principal: Principal, run_id: str, state: dict, message_id: str, lease, emit: Emit, streaming: bool,
              read: dict | None = None) -> None:
        run = state["run"]
        generation = self.history_cache.generation  # a forget from here on: no window kept at the end
        payload = chat_payload(run, self._history(principal, run, lease))
        streaming_message: list[dict] = []

        def on_text(delta: str) -> None:
            if not streaming_message:  # the message and its step exist from the first token on
                step = shapes.message_step(run, message_id)
                streaming_message.append(step)
                emit("thread.run.step.created", step)
                emit("thread.run.step.in_progress", step)
                draft = self._message_item(run, message_id, [], "in_progress")
                emit("thread.message.created", draft)
                emit("thread.message.in_progress", draft)
            emit("thread.message.delta", {"id": message_id, "object": "thread.message.delta",
                                          "delta": {"role": "assistant", "content": [{"index": 0, "type": "text", "text": {"value": delta}}]}})

        if self.model_slots is not None:  # every model call of the turn (search-tool rounds included) holds one slot
            self.model_slots.take(principal.tenant_id)
        try:
            text, calls, usage, annotations = search_tool.model_with_search(self, principal, run_id, state, payload, on_text if streaming else None, emit)
        finally:
            if self.model_slots is not None:
                self.model_slots.release(principal.tenant_id)
        for call in calls:
            call["id"] = call.get("id") or f"call_{secrets.token_hex(12)}"
            call["type"] = "function"
        now = self.service.clock.now_ms()

        written: list[PendingItem] = []

        def finish(s: dict) -> tuple[str, list]:
            r = s["run"]
            shapes.add_usage(r, usage)
            r["started_at"] = r["started_at"] or run.get("started_at")
            if r["status"] in ("cancelling", "cancelled"):
                for step in s["steps"]:
                    if step["status"] == "in_progress":
                        shapes.finish_step(step, "cancelled")
                shapes.finish_run(r, "cancelled")
                return "cancelled", []
            if calls:
                step = shapes.tool_calls_step(r, calls)
                s["steps"].append(step)
                s["pending"] = calls
                r["status"] = "requires_action"
                r["required_action"] = {"type": "submit_tool_outputs", "submit_tool_outputs": {"tool_calls": calls}}
                r["expires_at"] = now // 1000 + shapes.REQUIRES_ACTION_SECONDS
                return "requires_action", [step]
            # appended with the run's new state (below): a turn runs once — outputs are taken once (their key), a
            # run is never resumed — and the message id is fixed at the turn's start
            written.append(PendingItem("message", "assistant", self._message_body(r, text, "completed", annotations), message_id))
            step = streaming_message[0] if streaming_message else shapes.message_step(r, message_id)
            shapes.finish_step(step, "completed")
            s["steps"].append(step)
            shapes.finish_run(r, "completed")
            return "completed", [step]

        counts: dict = {}  # the thread's counters after the commit, and what it stored (PostgreSQL)
        # ONE commit (weft.threads.turns): the message, the lease's release and the run's final state. The state is
        # the one read when the turn began, stored only if the record has not changed since (a compare-and-swap:
        # no second read); after any other write (a cancel, a metadata update, a heartbeat) it is read again.
        with self.records.locked(principal, run_id):
            stored = (read or {}).pop("_stored", None)
            committed = False
            if read is not None and stored is not None and self.locks.writer.compares:
                state = read
                outcome, steps = finish(state)
                final = TurnRecord(run_id, "run", state, create=False, expect_extra=stored)
                try:
                    self.locks.writer.commit(principal, run["thread_id"], lease, written, "run.message", final, counts)
                    committed = True
                except RecordChanged:
                    written.clear()
            if not committed:
                state = self.records.state_for_write(principal, run_id)  # its write below is audited
                outcome, steps = finish(state)
                final = TurnRecord(run_id, "run", state, create=False)
                self.locks.writer.commit(principal, run["thread_id"], lease, written, "run.message", final, counts)
        self._keep_window(principal.tenant_id, run["thread_id"], lease, counts, generation)
        run = state["run"]
        self.bases.ran(principal.tenant_id, run["thread_id"], run_id, final.stored_extra, run["status"])
        if outcome == "requires_action":
            emit("thread.run.step.created", steps[0])
            emit("thread.run.requires_action", run)
            return
        if outcome == "completed":
            if not streaming_message:
                emit("thread.run.step.created", {**steps[0], "status": "in_progress", "completed_at": None})
                emit("thread.message.created", self._message_item(run, message_id, [], "in_progress"))
            emit("thread.message.completed", self._message_item(run, message_id, self._message_body(run, text, "completed", annotations)["content"],
                                                                "completed"))
            emit("thread.run.step.completed", steps[0])
        emit(f"thread.run.{run['status']}", run)

    @staticmethod
    def _message_body(run: dict, text: str, status: str, annotations: list[dict] | None = None) -> dict:
        return {"type": "message", "role": "assistant", "status": status, "run_id": run["id"], "assistant_id": run["assistant_id"],
                "content": [{"type": "output_text", "text": text, "annotations": list(annotations or [])}] if text else []}

    def _message_item(self, run: dict, message_id: str, content: list, status: str) -> Item:
        body = {**self._message_body(run, "", status), "content": content}
        return Item(message_id, run["thread_id"], 0, "message", "assistant", shapes.now_s(), body)

    def give_back_taken(self, run_id: str) -> None:
        """Gives back the thread's lease a ``start_now`` create took, when the run's turn will not start."""
        lease = self._taken.pop(run_id, None)
        if lease is not None:
            self.locks.give_back(lease)

    def close(self) -> None:
        for run_id in list(self._taken):
            self.give_back_taken(run_id)
        self.bases.close()
        self.history_cache.close()
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.stream_pool.shutdown(wait=False, cancel_futures=True)
