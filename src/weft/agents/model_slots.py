"""Model calls in flight per tenant (``WEFT_MODEL_CONCURRENCY``), one count for ``/v1/responses`` and classic runs.

A response asks for a slot when its request arrives and is refused at once (429) when the tenant has none left;
a run's turn runs in the background, so it waits for a slot (up to ``wait_seconds``) before it calls the model
and gives the slot back when the model has answered. ``concurrency`` 0 turns the limit off.
"""
from __future__ import annotations

import threading
import time

from weft.errors import TooManyRequests
from weft.ratelimit import Limiter

RUN_WAIT_SECONDS = 120.0  # as long as a model call may take (the chat endpoint's timeout)


class ModelSlots:
    def __init__(self, concurrency: int):
        self.concurrency = concurrency
        self._limiter = Limiter(0, 1, concurrency)
        self._freed = threading.Condition()

    def try_take(self, tenant_id: str) -> bool:
        return self._limiter.acquire(tenant_id)[0]

    def take(self, tenant_id: str, wait_seconds: float = RUN_WAIT_SECONDS) -> None:
        """Waits for a slot; TooManyRequests (``rate_limit_exceeded``) when none came within the wait."""
        deadline = time.monotonic() + wait_seconds
        with self._freed:
            while not self.try_take(tenant_id):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TooManyRequests(f"Tenant '{tenant_id}' had {self.concurrency} model calls in progress for "
                                          f"{wait_seconds:g} s (WEFT_MODEL_CONCURRENCY).", retry_after=1, code="rate_limit_exceeded")
                self._freed.wait(min(left, 0.5))

    def release(self, tenant_id: str) -> None:
        self._limiter.release(tenant_id)
        with self._freed:
            self._freed.notify_all()
