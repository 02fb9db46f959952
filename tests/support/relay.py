"""A loopback TCP relay for tests and benchmarks: 127.0.0.1:<port> forwarded to a target (a database, a server).

What the tests need of it: to listen late (a database that is not up yet), to drop every connection and refuse new
ones for a while (a database that went away), and to see the bytes a client sends (counting protocol messages).
"""
from __future__ import annotations

import socket
import threading
from typing import Callable
from urllib.parse import urlsplit, urlunsplit


class TcpRelay:
    """Forwards connections to ``port`` (0: one the system picks) on to ``target``.

    ``listen=False`` defers listening to :meth:`open` (nothing answers on the port before). :meth:`down` closes every
    relayed connection and refuses new ones until :meth:`up`. ``client_data(state, data)`` sees each chunk a client
    sends, with a dict of its own per connection (``state``)."""

    def __init__(self, target: tuple[str, int], port: int = 0, *, listen: bool = True,
                 client_data: Callable[[dict, bytes], None] | None = None):
        self.target, self.port, self.client_data = target, port, client_data
        self.listener: socket.socket | None = None
        self.accepting = threading.Event()
        self.accepting.set()
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        if listen:
            self.open()

    def open(self) -> "TcpRelay":
        self.listener = socket.create_server(("127.0.0.1", self.port), reuse_port=False, backlog=64)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def _accept(self) -> None:
        assert self.listener is not None
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.accepting.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream, self.client_data), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, None), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket, watch) -> None:
        state: dict = {}
        try:
            while data := source.recv(65536):
                sink.sendall(data)
                if watch is not None:
                    watch(state, data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def down(self) -> None:
        """Every relayed connection is cut and new ones are refused, until :meth:`up`."""
        self.accepting.clear()
        with self._lock:
            conns, self._conns = self._conns, []
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass

    def up(self) -> None:
        self.accepting.set()

    def close(self) -> None:
        self.down()
        if self.listener is not None:
            self.listener.close()


def via(url: str, port: int, *, query: str | None = None) -> str:
    """A database URL with its host and port replaced by the relay's (127.0.0.1:``port``); ``query`` is added to its
    query string (e.g. ``sslmode=disable`` for a relay that reads the protocol in clear)."""
    parts = urlsplit(url)
    userinfo, _, _ = parts.netloc.rpartition("@")
    netloc = (userinfo + "@" if userinfo else "") + f"127.0.0.1:{port}"
    extra = parts.query + ("&" if parts.query and query else "") + (query or "")
    return urlunsplit((parts.scheme, netloc, parts.path, extra, parts.fragment))
