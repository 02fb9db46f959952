"""uvicorn's HTTP protocol with a deadline for the request head.

uvicorn times out idle keep-alive connections, but not a connection that never finishes sending its
request line and headers (one byte every few seconds keeps it open forever): 300 such clients held
300 connections. Here every connection must deliver a complete head within ``head_timeout`` seconds
of connecting (or of the previous response) and in at most ``max_head_bytes``; otherwise it is closed.
Body timeouts are the request guard's (:mod:`weft.http.limits`).
"""
from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEAD_TIMEOUT = 10.0
MAX_HEAD_BYTES = 64 * 1024


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

        def on_header(self, name: bytes, value: bytes) -> None:
            self._header_bytes = getattr(self, "_header_bytes", 0) + len(name) + len(value)
            if self._header_bytes > max_head_bytes:
                self.transport.close()
                return
            super().on_header(name, value)

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm_head_deadline()

    return GuardedHttpToolsProtocol
