"""One response at a time on a conversation: callers queue up to a bounded wait, then get OpenAI's refusal.

Two layers. In this process, callers on one conversation queue on a lock of their own (no polling,
no database writes while they wait). Across processes, the holder then takes the conversation's lease
in the database (``ThreadStore.try_lock``), retried until the same deadline; appends under the lease
present its token (fencing), so two turns are never interleaved even if a lease expires.

The refusal is OpenAI's: ``400 conversation_locked`` (a 409 would be retried by the SDK).
"""
from __future__ import annotations

import secrets
import threading
import time
from contextlib import contextmanager
from typing import Iterator

from weft.agents.response_request import invalid
from weft.threads.service import ThreadService

LOCKED_MESSAGE = "Another process is currently operating on this conversation. Please retry in a few seconds."


def locked_error():
    return invalid(LOCKED_MESSAGE, "conversation", "conversation_locked")


class TurnLocks:
    def __init__(self, service: ThreadService, *, wait_seconds: float, lease_seconds: float):
        self.service = service
        self.wait_seconds = max(0.0, wait_seconds)
        self.lease_ms = int(lease_seconds * 1000)
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
    def hold(self, tenant_id: str, conversation_id: str) -> Iterator[str]:
        """Yields the lease token; raises ``conversation_locked`` after the wait (NotFound for no such conversation)."""
        deadline = time.monotonic() + self.wait_seconds
        store, clock = self.service.store, self.service.clock
        with self._queued((tenant_id, conversation_id), deadline):
            token = secrets.token_hex(16)
            pause = 0.01
            while True:
                now = clock.now_ms()
                if store.try_lock(tenant_id, conversation_id, token, now, now + self.lease_ms):
                    break
                if time.monotonic() >= deadline:
                    raise locked_error()
                time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
                pause = min(pause * 2, 0.2)
            try:
                yield token
            finally:
                store.release_lock(conversation_id, token)
