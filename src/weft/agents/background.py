"""``background: true``: the response is stored ``queued`` at once, runs in a small pool, and is polled.

Status moves ``queued`` -> ``in_progress`` -> ``completed`` | ``incomplete`` | ``failed``, or
``cancelled`` by ``POST /v1/responses/{id}/cancel``. A cancel and the run's end are serialized here,
and the run re-reads the stored status before it stores its output, so a cancel from another process
wins too (nothing is appended to the conversation of a cancelled response). The end is one commit: the
conversation's append, the lease's release and the record's final state (weft.threads.turns).

Liveness: from the moment it is queued until it ends, the process running a response renews its record
(``updated_at``) every third of the lease (``WEFT_CONVERSATION_LOCK_SECONDS``) on the process's one
heartbeat thread (weft.threads.lease_keeper), however long the model call or the wait for a worker takes.
A process that stops mid-run stops beating and leaves the record ``queued`` or ``in_progress``; once the
record has not moved for the whole lease and its owner is not this process, reading it marks it ``failed``
(``server_error``): it is never resumed, and never half-stored. That write is a compare-and-swap on the
record's ``updated_at``: a beat or the run's end that came after the read wins, so a live response is never
marked failed by a poller.
"""
from __future__ import annotations

import concurrent.futures
import logging
import secrets
import threading
from typing import Callable

from weft.agents.response_request import invalid
from weft.agents.responses_store import ResponseRecords, StoredResponse
from weft.errors import WeftError
from weft.threads.lease_keeper import LeaseKeeper
from weft.threads.policy import Principal

log = logging.getLogger("weft.agents.background")
RUNNING = ("queued", "in_progress")


class BackgroundRuns:
    def __init__(self, records: ResponseRecords, workers: int, *, stale_after_seconds: float, keeper: LeaseKeeper | None = None):
        self.records = records
        self.owner = f"proc_{secrets.token_hex(8)}"
        self.stale_after_ms = max(1, int(stale_after_seconds * 1000))
        self.keeper = keeper or LeaseKeeper("weft-background-heartbeat")
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="weft-background")
        self._guard = threading.Lock()  # a cancel and a run's end, one at a time
        self._cancelled: set[str] = set()
        self._beats: set[int] = set()  # the heartbeats of this process's responses (dropped at close)

    def start(self, principal: Principal, queued: dict, context, run: Callable, failed: Callable[[dict], dict],
              on_end: Callable[[], None] | None = None) -> None:
        """Runs the response in the pool; its record is renewed from now until it ends (``on_end`` is called then)."""
        tenant, response_id = principal.tenant_id, queued["id"]
        beat = self.keeper.keep(lambda: self.records.touch(tenant, response_id), self.stale_after_ms / 3000)
        self._beats.add(beat)
        try:
            self._pool.submit(context.run, self._run, principal, queued, run, failed, beat, on_end)
        except BaseException:
            self._stop_beat(beat)
            raise

    def _stop_beat(self, beat: int) -> None:
        self._beats.discard(beat)
        self.keeper.drop(beat)

    def _wanted(self, principal: Principal, response_id: str) -> StoredResponse | None:
        """The stored record while the response is still to run (not cancelled, not ended elsewhere)."""
        if response_id in self._cancelled:
            return None
        stored = self.records.get(principal, response_id)
        return stored if stored.response.get("status") in RUNNING else None

    def _run(self, principal: Principal, queued: dict, run: Callable, failed: Callable[[dict], dict], beat: int,
             on_end: Callable[[], None] | None) -> None:
        response_id = queued["id"]
        try:
            with self._guard:
                stored = self._wanted(principal, response_id)
                if stored is None:
                    return
                self.records.update(principal, stored, {**queued, "status": "in_progress"}, owner=self.owner)

            def before_store(response: dict) -> StoredResponse | None:
                # called with the output ready, before anything is stored: under the guard, so a cancel either
                # came first (None: nothing stored) or comes after (the response is already final). The run then
                # stores the record's final state with the conversation's append, in one commit.
                self._guard.acquire()
                latest = self._wanted(principal, response_id)
                if latest is None:
                    self._guard.release()
                    return None
                before_store.held = True  # type: ignore[attr-defined]
                return StoredResponse(latest.response, latest.inputs, self.owner, latest.updated_at_ms)

            before_store.held = False  # type: ignore[attr-defined]
            try:
                run(before_store)
            finally:
                if before_store.held:  # type: ignore[attr-defined]
                    self._guard.release()
        except Exception as exc:
            error = {"code": getattr(exc, "code", None) if isinstance(exc, WeftError) else "server_error",
                     "message": exc.message if isinstance(exc, WeftError) else "The response failed; the server log has the details."}
            if not isinstance(exc, WeftError):
                log.exception("background response %s failed", response_id)
            try:
                with self._guard:
                    if self._wanted(principal, response_id) is not None:
                        self.records.update(principal, self.records.get(principal, response_id),
                                            failed({**error, "code": error["code"] or "server_error"}), owner=self.owner)
            except Exception:
                log.exception("could not store the failure of background response %s", response_id)
        finally:
            self._stop_beat(beat)
            self._cancelled.discard(response_id)
            if on_end is not None:
                on_end()

    def cancel(self, principal: Principal, stored: StoredResponse) -> dict:
        response = stored.response
        if not response.get("background"):
            raise invalid("Only responses created with background=true can be cancelled.", "response_id", None)
        with self._guard:
            latest = self.records.get(principal, response["id"])
            current = latest.response
            if current.get("status") not in RUNNING:
                return current
            self._cancelled.add(response["id"])
            cancelled = {**current, "status": "cancelled"}
            self.records.update(principal, latest, cancelled, owner=stored.owner)
            return cancelled

    def current(self, principal: Principal, stored: StoredResponse) -> dict:
        """The response as polled; one whose process stopped mid-run (no heartbeat for the lease) is marked failed."""
        response = stored.response
        while (response.get("status") in RUNNING and stored.owner != self.owner
               and self.records.service.clock.now_ms() - stored.updated_at_ms > self.stale_after_ms):
            failed = {**response, "status": "failed", "error": {
                "code": "server_error", "message": "The server running this response stopped before it finished."}}
            if self.records.update_if_unchanged(principal, stored, failed):
                return failed
            stored = self.records.get(principal, response["id"])  # a beat or the run's end came first: read again
            response = stored.response
        return response

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        for beat in list(self._beats):  # a response that will not run here any more stops beating (it ends failed)
            self._stop_beat(beat)
