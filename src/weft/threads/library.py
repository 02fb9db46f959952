"""weft.threads as a library, without the server: a sync and an async facade over ThreadService.

They mirror the operations agents need (create a thread for a user with metadata, add a message, get a
thread, list its messages, delete it)::

    from weft.threads.library import Threads

    threads = Threads.open(data_dir="./weft-data", tenant="acme")
    thread = threads.create_thread(user_id="u-42", metadata={"channel": "web"})
    threads.add_message(thread.id, role="user", content="Hello")
    for message in threads.list_messages(thread.id, order="asc"):
        print(message.role, message.body["content"][0]["text"])
"""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from weft.threads.clock import Clock
from weft.threads.factory import build_service
from weft.threads.policy import Principal
from weft.threads.service import Conversation, Item, Page, ThreadService
from weft.threads.settings import ThreadsSettings


class Threads:
    """Synchronous facade. Every call is one committed transaction (durable on return)."""

    def __init__(self, service: ThreadService, tenant: str = "default"):
        self.service = service
        self.principal = Principal.library(tenant)

    @classmethod
    def open(cls, *, data_dir: str | Path = "./weft-data", database_url: str | None = None, tenant: str = "default",
             master_key: bytes | None = None, table_prefix: str = "weft_", clock: Clock | None = None) -> "Threads":
        settings = ThreadsSettings.from_env(Path(data_dir))
        if database_url:
            settings.database_url = database_url
        if master_key is not None:
            settings.master_key, settings.encryption = master_key, True
        settings.table_prefix = table_prefix
        return cls(build_service(settings, clock=clock), tenant)

    def create_thread(self, *, user_id: str | None = None, metadata: dict[str, str] | None = None,
                      messages: list[dict] | None = None, retention_seconds: int | None = None) -> Conversation:
        meta = dict(metadata or {})
        if user_id is not None:
            meta["user_id"] = user_id
        conversation, _items = self.service.create_conversation(self.principal, metadata=meta, items=messages,
                                                                retention_seconds=retention_seconds)
        return conversation

    def add_message(self, thread_id: str, *, role: str, content: str | list[dict], idempotency_key: str | None = None) -> Item:
        return self.service.append_items(self.principal, thread_id, [{"type": "message", "role": role, "content": content}],
                                         idempotency_key=idempotency_key)[0]

    def add_items(self, thread_id: str, items: list[dict], *, idempotency_key: str | None = None) -> list[Item]:
        return self.service.append_items(self.principal, thread_id, items, idempotency_key=idempotency_key)

    def get_thread(self, thread_id: str) -> Conversation:
        return self.service.get_conversation(self.principal, thread_id)

    def list_messages(self, thread_id: str, *, limit: int | None = None, order: str = "asc", after: str | None = None,
                      before: str | None = None) -> list[Item]:
        return list(self.service.list_items(self.principal, thread_id, limit=limit, order=order, after=after, before=before).data)

    def list_threads(self, *, limit: int = 20, order: str = "desc", after: str | None = None,
                     metadata: dict[str, str] | None = None) -> Page:
        return self.service.list_conversations(self.principal, limit=limit, order=order, after=after, metadata=metadata)

    def update_thread(self, thread_id: str, *, metadata: dict[str, str]) -> Conversation:
        return self.service.update_conversation(self.principal, thread_id, metadata=metadata)

    def delete_thread(self, thread_id: str) -> None:
        self.service.delete_conversation(self.principal, thread_id)

    def close(self) -> None:
        self.service.close()

    def __enter__(self) -> "Threads":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class AsyncThreads:
    """Asynchronous facade: the same operations, run in worker threads so the event loop never blocks."""

    def __init__(self, threads: Threads):
        self._sync = threads

    @classmethod
    def open(cls, **kwargs: Any) -> "AsyncThreads":
        return cls(Threads.open(**kwargs))

    async def create_thread(self, **kwargs: Any) -> Conversation:
        return await asyncio.to_thread(self._sync.create_thread, **kwargs)

    async def add_message(self, thread_id: str, **kwargs: Any) -> Item:
        return await asyncio.to_thread(self._sync.add_message, thread_id, **kwargs)

    async def add_items(self, thread_id: str, items: list[dict], **kwargs: Any) -> list[Item]:
        return await asyncio.to_thread(self._sync.add_items, thread_id, items, **kwargs)

    async def get_thread(self, thread_id: str) -> Conversation:
        return await asyncio.to_thread(self._sync.get_thread, thread_id)

    async def list_messages(self, thread_id: str, **kwargs: Any) -> list[Item]:
        return await asyncio.to_thread(self._sync.list_messages, thread_id, **kwargs)

    async def list_threads(self, **kwargs: Any) -> Page:
        return await asyncio.to_thread(self._sync.list_threads, **kwargs)

    async def update_thread(self, thread_id: str, **kwargs: Any) -> Conversation:
        return await asyncio.to_thread(self._sync.update_thread, thread_id, **kwargs)

    async def delete_thread(self, thread_id: str) -> None:
        await asyncio.to_thread(self._sync.delete_thread, thread_id)

    async def aclose(self) -> None:
        await asyncio.to_thread(self._sync.close)

    async def __aenter__(self) -> "AsyncThreads":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()
