"""Builds a ThreadService from ThreadsSettings (used by the server, the CLI and the library)."""
from __future__ import annotations

from weft.threads.clock import Clock
from weft.threads.service import ThreadService
from weft.threads.settings import ThreadsSettings
from weft.threads.store import SqlThreadStore


def build_service(settings: ThreadsSettings, *, clock: Clock | None = None) -> ThreadService:
    store = SqlThreadStore(settings.database_url, table_prefix=settings.table_prefix)
    return ThreadService(store, master_key=settings.master_key, encryption=settings.encryption, clock=clock,
                         default_tenant=settings.default_tenant, audit_reads=settings.audit_reads)
