"""A deadline carried with a piece of work (a context variable), for cooperative cancellation.

Work that is bounded in time (an agent's search tool call, weft.agents.search_tool) runs ``with until(t)``;
the code it calls checks the deadline where it can stop cleanly (``check()``, between the stages of a search)
and bounds what it waits for by the time left (``capped(seconds)``: an embedding or reranker HTTP call, a
wait on another pool). So a call its caller gave up on stops at its deadline instead of running on and
holding a worker thread. Without a deadline (the search API itself) nothing changes: ``check()`` passes,
``capped(s)`` is ``s``.
"""
from __future__ import annotations

import contextvars
import time
from contextlib import contextmanager
from typing import Iterator

from weft.errors import WeftError

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("weft_deadline", default=None)
MIN_WAIT = 0.001  # what ``capped`` gives once the deadline has passed (a timeout of 0 would mean "none" to some clients)


class DeadlineExceeded(WeftError):
    """The work's deadline passed: it stopped where it was."""

    status = 504
    default_code = "deadline_exceeded"


@contextmanager
def until(at: float) -> Iterator[None]:
    """Runs the block with the deadline ``at`` (``time.monotonic()`` seconds), or the current one when earlier."""
    current = _deadline.get()
    token = _deadline.set(at if current is None else min(at, current))
    try:
        yield
    finally:
        _deadline.reset(token)


def remaining() -> float | None:
    """Seconds left before the deadline (0 once it passed), None without one."""
    at = _deadline.get()
    return None if at is None else max(0.0, at - time.monotonic())


def check(what: str = "The operation") -> None:
    """Raises DeadlineExceeded once the deadline has passed."""
    left = remaining()
    if left is not None and left <= 0:
        raise DeadlineExceeded(f"{what} did not finish in the time it was given.")


def capped(seconds: float) -> float:
    """``seconds``, or the time left when less (at least MIN_WAIT): for timeouts of blocking calls."""
    left = remaining()
    return seconds if left is None else max(MIN_WAIT, min(seconds, left))
