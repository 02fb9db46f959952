"""Write tokens: the change-log position a write committed at, carried from the storage call to the HTTP answer.

The HTTP layer (``weft.http.cluster_tokens``) opens a holder for each request; the cluster catalog and engine record
the positions they commit; the answer carries the highest one in the ``x-weft-position`` header. A holder is a
mutable object in a context variable, so a write running in a worker thread (which gets a copy of the context)
records into the request's holder.
"""
from __future__ import annotations

import contextvars

HEADER = "x-weft-position"  # on a write's answer; sent back on a read, the node waits until it has applied it
WAIT_HEADER = "x-weft-position-wait-ms"  # optional: how long to wait for it (default and maximum: MAX_WAIT_MS)
MAX_WAIT_MS = 10_000


class Holder:
    __slots__ = ("position",)

    def __init__(self) -> None:
        self.position = 0


_current: contextvars.ContextVar[Holder | None] = contextvars.ContextVar("weft_cluster_position", default=None)


def open_holder() -> tuple[Holder, contextvars.Token]:
    holder = Holder()
    return holder, _current.set(holder)


def close_holder(token: contextvars.Token) -> None:
    _current.reset(token)


def record(position: int) -> None:
    holder = _current.get()
    if holder is not None and position > holder.position:
        holder.position = position
