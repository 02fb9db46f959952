"""One turn at a time on a conversation (responses and classic runs alike): callers queue up to a bounded wait,
then get OpenAI's refusal.

Two layers. In this process, callers on one conversation queue on a lock of their own (no polling,
no database writes while they wait). Across processes, the holder then takes the conversation's lease
in the database (weft.threads.turns: a cheap, non-fsynced write), retried until the same deadline; the
turn's append presents the lease token (fencing) and releases the lease in its own transaction, so two
turns are never interleaved even if a lease expires. A heartbeat renews the lease while the model call
runs; a holder that dies stops beating and its lease ends within ``WEFT_CONVERSATION_LEASE_SECONDS``.

The refusal is OpenAI's: ``400 conversation_locked`` (a 409 would be retried by the SDK).
"""
from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from typing import Iterator

from weft.threads.service import ThreadService
from weft.threads.turns import Lease, TurnWriter, conversation_locked

from weft.threads.turn_store import LOCKED_MESSAGE  # noqa: E402,F401 - OpenAI's words, kept importable here


def locked_error():
    return conversation_locked()


class TurnLocks:
    def __init__(self, service: ThreadService, *, wait_seconds: float, lease_seconds: float, writer: TurnWriter | None = None):
        self.service = service
        self.wait_seconds = max(0.0, wait_seconds)
        self.writer = writer or TurnWriter(service, lease_seconds=lease_seconds)
        self._guard = threading.Lock()
        self._local: dict[tuple[str, str], list] = {}  # (tenant, conversation) -> [lock, users]

    @contextmanager
    def _queued(self, key: tuple[str, str], deadline: float) -> Iterator[None]:
        with self._guard:
            entry = self._local.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        try:
            if not entry[0].acquire(timeout=max(0.0, deadline - time.monotonic())):
                raise locked_error()
            try:
                yield
            finally:
                entry[0].release()
        finally:
            with self._guard:
                entry[1] -= 1
                if entry[1] == 0:
                    self._local.pop(key, None)

    @contextmanager
    def hold(self, tenant_id: str, conversation_id: str, wait_seconds: float | None = None,
             prefetch: int | None = None, taken: Lease | None = None) -> Iterator[Lease]:
        """Yields the lease (commit the turn with ``writer.commit``, which releases it); raises
        ``conversation_locked`` after the wait (NotFound for no such conversation). ``prefetch``: see
        ``TurnWriter.try_take`` (the newest items, read with the lease where that saves a round trip).
        ``taken``: a lease a commit took for this turn (``TurnWriter.commit_taking_lease``), used when it is
        still held (no wait: the conversation's lease is the turn's already)."""
        if taken is not None and taken.conversation_id == conversation_id and self.writer.adopt(taken):
            try:
                yield taken
            finally:
                self.give_back(taken)
            return
        deadline = time.monotonic() + (self.wait_seconds if wait_seconds is None else wait_seconds)
        with self._queued((tenant_id, conversation_id), deadline):
            pause = 0.01
            while True:
                lease = self.writer.try_take(tenant_id, conversation_id, prefetch)
                if lease is not None:
                    break
                if time.monotonic() >= deadline:
                    raise locked_error()
                time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
                pause = min(pause * 2, 0.2)
            try:
                yield lease
            finally:
                self.give_back(lease)

    def give_back(self, lease: Lease) -> None:
        try:
            self.writer.release(lease)  # a no-op when the turn's commit released it
        except Exception:  # noqa: BLE001 - never hide the turn's own error; the lease then ends at its time
            logging.getLogger("weft.agents").warning("could not release a conversation lease", exc_info=True)
