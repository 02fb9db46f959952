"""The uvicorn server weft runs, with one change to its graceful shutdown.

uvicorn closes idle keep-alive connections at shutdown and then waits for each to be gone. A TLS connection
closes only when the peer answers the close_notify alert (or after asyncio's 30 s SSL shutdown timeout), so one
idle client that never reads kept `weft serve --tls` from stopping for 30 s. Here, connections that are idle
(no request in flight) and already closing are aborted after a short grace period; requests in flight still
finish, as before.
"""
from __future__ import annotations

import asyncio
import time

import uvicorn

IDLE_CLOSE_GRACE_SECONDS = 1.0


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


def run(app, **config) -> None:
    Server(uvicorn.Config(app, **config)).run()
