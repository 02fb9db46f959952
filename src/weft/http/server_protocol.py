"""uvicorn's HTTP protocol with a deadline for the request head.

uvicorn times out idle keep-alive connections, but not a connection that never finishes sending its
request line and headers (one byte every few seconds keeps it open forever): 300 such clients held
300 connections. Here every connection must deliver a complete head within ``head_timeout`` seconds
of connecting (or of the previous response) and in at most ``max_head_bytes``; otherwise it is closed.
Body timeouts are the request guard's (:mod:`weft.http.limits`).

It also hands each response to the socket in one write: uvicorn writes the status line and headers,
then the body, as two ``send`` calls (two segments, two wake-ups of the client); here a response's
writes within one turn of the event loop are joined (:class:`CoalescingTransport`), flushed when the
response completes or at the end of that turn (a streamed response's chunks still go out as they come).
"""
from __future__ import annotations

import asyncio
import logging

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEAD_TIMEOUT = 10.0
MAX_HEAD_BYTES = 64 * 1024


class CoalescingTransport:
    """The connection's transport as a response cycle sees it: writes are buffered until the response is
    complete or the event loop's current turn ends, then sent as one."""

    __slots__ = ("_transport", "_loop", "_pending")

    def __init__(self, transport, loop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] | None = None

    def write(self, data: bytes) -> None:
        if self._pending is None:
            self._pending = [data]
            self._loop.call_soon(self.flush)
        else:
            self._pending.append(data)

    def flush(self) -> None:
        pending, self._pending = self._pending, None
        if pending and not self._transport.is_closing():
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def __getattr__(self, name):
        return getattr(self._transport, name)


def protocol_class(head_timeout: float = HEAD_TIMEOUT, max_head_bytes: int = MAX_HEAD_BYTES) -> type:
    class GuardedHttpToolsProtocol(HttpToolsProtocol):
        _head_timer: asyncio.TimerHandle | None = None
        _head_bytes = 0
        _waiting_for_head = False

        def _arm_head_deadline(self) -> None:
            self._cancel_head_deadline()
            self._waiting_for_head = True
            self._head_bytes = 0
            self._header_bytes = 0
            if head_timeout:
                self._head_timer = self.loop.call_later(head_timeout, self._head_expired)

        def _cancel_head_deadline(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_expired(self) -> None:
            self._head_timer = None
            if self._waiting_for_head and not self.transport.is_closing():
                self.transport.close()

        def connection_made(self, transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            # uvicorn logs access lines whenever its access logger has handlers, formatting each line's arguments
            # (client address, path) even when the level drops it: only when INFO is enabled here
            self.access_log = self.access_log and self.access_logger.isEnabledFor(logging.INFO)
            self._arm_head_deadline()

        def connection_lost(self, exc) -> None:
            self._cancel_head_deadline()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._waiting_for_head:
                if self._head_bytes > max_head_bytes:  # earlier data did not complete a head within the limit
                    self.transport.close()
                    return
                self._head_bytes += len(data)
            super().data_received(data)

        def on_headers_complete(self) -> None:
            self._waiting_for_head = False
            self._cancel_head_deadline()
            super().on_headers_complete()
            cycle = self.cycle
            if cycle is not None and not isinstance(cycle.transport, CoalescingTransport) and cycle.transport is self.transport:
                cycle.transport = self._coalescing()

        def _coalescing(self) -> CoalescingTransport:
            coalescing = getattr(self, "_coalescing_transport", None)
            if coalescing is None or coalescing._transport is not self.transport:
                coalescing = self._coalescing_transport = CoalescingTransport(self.transport, self.loop)
            return coalescing

        def on_header(self, name: bytes, value: bytes) -> None:
            self._header_bytes = getattr(self, "_header_bytes", 0) + len(name) + len(value)
            if self._header_bytes > max_head_bytes:
                self.transport.close()
                return
            super().on_header(name, value)

        def on_response_complete(self) -> None:
            coalescing = getattr(self, "_coalescing_transport", None)
            if coalescing is not None:
                coalescing.flush()  # the whole response in one write, before the next request is taken
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm_head_deadline()

    return GuardedHttpToolsProtocol
