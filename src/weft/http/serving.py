"""The uvicorn server weft runs, with one change to its graceful shutdown.

uvicorn closes idle keep-alive connections at shutdown and then waits for each to be gone. A TLS connection
closes only when the peer answers the close_notify alert (or after asyncio's 30 s SSL shutdown timeout), so one
idle client that never reads kept `weft serve --tls` from stopping for 30 s. Here, connections that are idle
(no request in flight) and already closing are aborted after a short grace period; requests in flight still
finish, as before.
"""
from __future__ import annotations

import asyncio
import gc
import time

import uvicorn

IDLE_CLOSE_GRACE_SECONDS = 1.0
# The cyclic garbage collector's first threshold (CPython's default is 700 allocations). A search request allocates
# a few hundred container objects, nearly all freed by reference counting, yet with 700 a generation-0 collection
# ran every one or two requests and promoted the objects of the requests then in flight, which made the
# generation-1 collections costly. Reference cycles are still collected, a little later.
GC_THRESHOLD0 = 20_000


def _idle(connection) -> bool:
    cycle = getattr(connection, "cycle", None)
    return cycle is None or getattr(cycle, "response_complete", False)


class Server(uvicorn.Server):
    async def _wait_tasks_to_complete(self) -> None:
        started = time.monotonic()
        while self.server_state.connections and not self.force_exit:
            if time.monotonic() - started > IDLE_CLOSE_GRACE_SECONDS:
                for connection in list(self.server_state.connections):
                    transport = getattr(connection, "transport", None)
                    if transport is not None and transport.is_closing() and _idle(connection):
                        transport.abort()
            await asyncio.sleep(0.1)
        await super()._wait_tasks_to_complete()


def tune_gc() -> None:
    """Moves everything allocated while starting (modules, routes, caches: ~150,000 objects that live as long as the
    process) out of the collector's reach (``gc.freeze``), so no collection walks them again, and raises the first
    threshold (``GC_THRESHOLD0``)."""
    gc.collect()
    gc.freeze()
    _, second, third = gc.get_threshold()
    gc.set_threshold(GC_THRESHOLD0, second, third)


def run(app, **config) -> None:
    tune_gc()
    Server(uvicorn.Config(app, **config)).run()
