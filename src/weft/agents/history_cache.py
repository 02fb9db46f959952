"""Decoded history entries of the threads this process ran classic runs on (weft.agents.runs): each turn reads
its thread's history again, and without this would decode every item of it again (its body's JSON, its text, its
token estimate) though only the items added since the last turn are new.

It saves decoding and never changes what the model sees. The turn still reads its history from the database,
as it would without it; a cached entry stands in for a record the read returned only when the record's id,
sequence number, type, role and stored bytes are those the entry was decoded from (any change of a body, such as
an item's metadata update or a re-encryption, changes its bytes). Whatever the read no longer returns (a deleted
item, an item past the window, a purged or deleted thread) is not used, and the thread's entries become exactly
those of its last read. An item another process appended is decoded as it would be without the cache. A sealed
(encrypted) body from the cache is used only while the tenant's key still opens it: the key is asked for once
per read (the keyring's check, as decoding would), so a shredded tenant's history fails as it would uncached.

A thread's entries come with its newest items as the thread's last turn here left them (``window``, a
weft.threads.turn_store.HistoryWindow: the page the turn's lease came with and what its commit appended), so the
next create's commit reads only the items after them (PostgreSQL). They complete that page only while the
conversation's removed-items counter (``next_seq - item_count``: only a delete moves it) is what it was and every
item numbered after them is read: an item another process deleted makes the create read the whole page, and the
turn then leaves no window. What the window's records do not show is a change to a body that keeps the item (an
item's metadata update by another process): that is not part of what the model is sent.

Plaintext does not stay: a thread's entries go when this process deletes the thread or one of its items,
purges it by retention or shreds its tenant (ThreadService.forget_hooks), when its turn fails, when it was not
used for ``idle_seconds`` (a sweep on the process's heartbeat thread: a delete or shred made by another process
leaves nothing here for longer), and least recently used first beyond ``max_threads`` threads or ``max_bytes``
stored bytes (the bodies as stored: decoded entries take a few times that). Entries are keyed by tenant and thread.
"""
from __future__ import annotations

import contextlib
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

from weft.threads.crypto import SEALED
from weft.threads.history import HistoryEntry, entry_tokens
from weft.threads.items import message_text
from weft.threads.records import ItemRecord
from weft.threads.service import Item, ThreadService
from weft.threads.turn_store import HistoryWindow


@dataclass(slots=True)
class Cached:
    seq: int
    type: str
    role: str | None
    raw: bytes  # the body as stored: what a record must still hold for this entry to stand in for it
    item: Item
    entry: HistoryEntry
    tokens: int


def decoded_entry(item: Item) -> tuple[HistoryEntry, int]:
    """An item's history entry (with a message's text) and its token estimate: what a turn makes of it."""
    entry = HistoryEntry(item.type, item.role, item.body, message_text(item.body) if item.type == "message" else None)
    return entry, entry_tokens(entry)


class HistoryRead:
    """One turn's history read of one thread: decodes the records the read returned (``decode``, the hook of
    ``ThreadService.recent_history``), from the cache where it may, and knows each item's entry and size."""

    def __init__(self, cache: "HistoryCache", tenant_id: str, thread_id: str, known: dict[str, Cached]):
        self.cache, self.tenant_id, self.thread_id = cache, tenant_id, thread_id
        self.known = known  # the thread's entries when the read began (never changed once published)
        self.generation = cache.generation  # a forget during the read: what it decoded is not kept
        self.made: dict[str, Cached] = {}
        self.hits = 0
        self.size = 0  # the stored bytes of what ``made`` holds

    def decode(self, records: list[ItemRecord]) -> list[Item]:
        known, made, service = self.known, self.made, self.cache.service
        out: list[Item | None] = [None] * len(records)
        missed: list[int] = []
        sealed = False
        for n, r in enumerate(records):
            c = known.get(r.id)
            if c is not None and c.seq == r.seq and c.raw == r.body and c.type == r.type and c.role == r.role and r.tenant_id == self.tenant_id:
                out[n] = c.item
                made[r.id] = c
                self.size += len(c.raw)
                sealed = sealed or c.raw[:1] == SEALED
            else:
                missed.append(n)
        if sealed:  # raises ContentShredded once the tenant's key is destroyed, as opening the bodies would
            service.keyring.read_key(self.tenant_id)
        self.hits += len(records) - len(missed)
        if missed:
            fresh = service._items([records[n] for n in missed])
            for n, item in zip(missed, fresh):
                r = records[n]
                entry, tokens = decoded_entry(item)
                made[r.id] = Cached(r.seq, r.type, r.role, bytes(r.body), item, entry, tokens)
                self.size += len(r.body)
                out[n] = item
        return out  # type: ignore[return-value]

    def tokens(self, item: Item) -> int:
        return self.made[item.id].tokens

    def entry(self, item: Item) -> HistoryEntry:
        return self.made[item.id].entry

    def keep(self, loaded: list[Item]) -> None:
        """The thread's entries become those of ``loaded`` (what the read returned)."""
        entries, size = self.made, self.size  # what the read decoded is what it returned (pages and pinned messages)
        if len(loaded) != len(entries):
            entries = {i.id: self.made[i.id] for i in loaded}
            size = sum(len(c.raw) for c in entries.values())
        self.cache._store(self.tenant_id, self.thread_id, entries, size, self.generation)


class HistoryCache:
    def __init__(self, service: ThreadService, *, max_threads: int = 256, max_bytes: int = 32 << 20, idle_seconds: float = 120.0,
                 keeper=None, clock: Callable[[], float] = time.monotonic):
        self.service = service
        self.max_threads, self.max_bytes, self.idle_seconds = max(0, max_threads), max(0, max_bytes), idle_seconds
        self.keeper, self.clock = keeper, clock
        # (tenant, thread) -> (entries by item id, their stored bytes, last used); least recently used first
        self._threads: OrderedDict[tuple[str, str], tuple[dict[str, Cached], int, float]] = OrderedDict()
        # (tenant, thread) -> the thread's newest items as its last turn here left them (HistoryWindow: the next
        # create reads only the items after them); kept only while the thread's entries are, and goes with them
        self._windows: dict[tuple[str, str], HistoryWindow] = {}
        self._lock = threading.Lock()
        self.bytes = 0
        self.generation = 0  # counts forgets
        self._sweeper: int | None = None
        service.forget_hooks.append(self.forget)

    def read(self, tenant_id: str, thread_id: str) -> HistoryRead:
        with self._lock:
            held = self._threads.get((tenant_id, thread_id))
        return HistoryRead(self, tenant_id, thread_id, held[0] if held is not None else {})

    def window(self, tenant_id: str, thread_id: str) -> HistoryWindow | None:
        """The thread's newest items as its last turn here left them, taken (a turn keeps a new one at its end)."""
        with self._lock:
            return self._windows.pop((tenant_id, thread_id), None)

    def keep_window(self, tenant_id: str, thread_id: str, window: HistoryWindow, generation: int) -> None:
        """Keeps ``window`` for the thread's next create, while the thread's entries are kept and nothing was
        forgotten since ``generation`` (taken before the reads the window was built from)."""
        key = (tenant_id, thread_id)
        with self._lock:
            if key in self._threads and generation == self.generation:
                self._windows[key] = window

    def _drop(self, key: tuple[str, str]):
        held = self._threads.pop(key, None)
        self._windows.pop(key, None)
        if held is not None:
            self.bytes -= held[1]
        return held

    def _store(self, tenant_id: str, thread_id: str, entries: dict[str, Cached], size: int, generation: int) -> None:
        key = (tenant_id, thread_id)
        with self._lock:
            self._drop(key)
            if entries and size <= self.max_bytes and self.max_threads and generation == self.generation:
                self._threads[key] = (entries, size, self.clock())
                self.bytes += size
            while self._threads and (len(self._threads) > self.max_threads or self.bytes > self.max_bytes):
                self._drop(next(iter(self._threads)))
            self._expire()
            start = self._threads and self._sweeper is None and self.keeper is not None
            if start:
                self._sweeper = -1  # being started (outside the lock: the keeper has its own)
        if start:
            handle = self.keeper.keep(self.sweep, max(0.05, self.idle_seconds / 2))
            with self._lock:
                self._sweeper = handle

    def _expire(self) -> None:
        oldest = self.clock() - self.idle_seconds
        while self._threads:
            key, (_, size, used) = next(iter(self._threads.items()))
            if used >= oldest:
                return
            self._drop(key)

    def sweep(self) -> None:
        """Drops the threads not used for ``idle_seconds`` (and stops sweeping when nothing is left)."""
        with self._lock:
            self._expire()
            handle = self._sweeper if not self._threads and self._sweeper not in (None, -1) else None
            if handle is not None:
                self._sweeper = None
        if handle is not None:
            self.keeper.drop(handle)

    def forget(self, tenant_id: str, thread_id: str | None = None) -> None:
        """Drops a thread's entries (``thread_id`` None: all of the tenant's)."""
        with self._lock:
            self.generation += 1
            keys = [(tenant_id, thread_id)] if thread_id is not None else [k for k in self._threads if k[0] == tenant_id]
            for key in keys:
                self._drop(key)

    def close(self) -> None:
        """Drops every entry and the sweep; the service no longer tells this cache of its deletes."""
        with self._lock:
            self._threads.clear()
            self._windows.clear()
            self.bytes, handle, self._sweeper = 0, self._sweeper, None
            self.max_threads = 0  # a turn still running keeps nothing
        if handle not in (None, -1) and self.keeper is not None:
            self.keeper.drop(handle)
        with contextlib.suppress(ValueError):
            self.service.forget_hooks.remove(self.forget)

    def __len__(self) -> int:
        return len(self._threads)

    def entries(self) -> int:
        with self._lock:
            return sum(len(e) for e, _, _ in self._threads.values())
