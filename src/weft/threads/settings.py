"""Threads settings, read from ``WEFT_*`` environment variables next to the server's Settings.

| variable | meaning | default |
| --- | --- | --- |
| ``WEFT_THREADS_DATABASE_URL`` | SQLAlchemy URL of the thread store | SQLite file ``<data_dir>/threads/threads.sqlite3`` |
| ``WEFT_THREADS_TABLE_PREFIX`` | prefix of every table name (several stores in one database) | ``weft_`` |
| ``WEFT_MASTER_KEY_FILE`` / ``WEFT_MASTER_KEY`` | 32-byte master key (base64 or 64 hex chars); turns encryption at rest on | none |
| ``WEFT_THREADS_ENCRYPTION`` | ``on``/``off``: force encryption off even with a master key | on when a master key is set |
| ``WEFT_DEFAULT_TENANT`` | the tenant the server admin key acts for | ``default`` |
| ``WEFT_LLM_BASE_URL`` / ``WEFT_LLM_API_KEY`` / ``WEFT_LLM_MODEL`` | OpenAI-compatible chat endpoint for ``/v1/responses`` | none |
| ``WEFT_HISTORY_TOKEN_BUDGET`` | history tokens sent upstream before oldest-first truncation | 8000 |
| ``WEFT_RETENTION_INTERVAL`` | seconds between purge passes of the in-process retention job (0: off) | 60 |
| ``WEFT_AUDIT_READS`` | ``off`` records only writes and failures in the audit trail | ``on`` |
| ``WEFT_CONVERSATION_LOCK_MODE`` | ``wait`` (serialize, up to the wait) or ``refuse`` (at once): then 400 conversation_locked | ``wait`` |
| ``WEFT_CONVERSATION_LOCK_WAIT`` | seconds a response waits for its conversation before the refusal | 30 |
| ``WEFT_CONVERSATION_LOCK_SECONDS`` | a background response of another process that has not moved for this long is marked failed | 600 |
| ``WEFT_CONVERSATION_LEASE_SECONDS`` | lease of the conversation lock a turn (response or run) holds, renewed by a heartbeat every third of it: a crashed holder's lock ends this long after its last beat | 10 |
"""
from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass
from pathlib import Path

from weft.errors import InvalidInput


@dataclass
class ThreadsSettings:
    database_url: str
    table_prefix: str = "weft_"
    master_key: bytes | None = None
    encryption: bool = False
    default_tenant: str = "default"
    llm_base_url: str | None = None
    llm_api_key: str | None = None
    llm_model: str | None = None
    history_token_budget: int = 8000
    retention_interval_seconds: float = 60.0
    lock_mode: str = "wait"
    lock_wait_seconds: float = 30.0
    audit_reads: bool = True
    lock_lease_seconds: float = 600.0
    conversation_lease_seconds: float = 10.0  # weft.threads.turns: the turn's lock, renewed every third of it
    run_lease_seconds: float = 30.0  # a classic run's worker lease (weft.agents.runs): after a crash it ends this much later

    @classmethod
    def from_env(cls, data_dir: Path, environ: dict[str, str] | None = None) -> "ThreadsSettings":
        env = os.environ if environ is None else environ
        url = env.get("WEFT_THREADS_DATABASE_URL") or default_sqlite_url(Path(data_dir))
        master = load_master_key(env)
        encryption_flag = env.get("WEFT_THREADS_ENCRYPTION", "").lower()
        encryption = master is not None and encryption_flag not in ("off", "0", "false", "no")
        if encryption_flag in ("on", "1", "true", "yes") and master is None:
            raise InvalidInput("WEFT_THREADS_ENCRYPTION=on needs a master key (WEFT_MASTER_KEY_FILE or WEFT_MASTER_KEY).")
        lock_mode = env.get("WEFT_CONVERSATION_LOCK_MODE", "wait").lower()
        if lock_mode not in ("refuse", "wait"):
            raise InvalidInput("WEFT_CONVERSATION_LOCK_MODE must be 'refuse' or 'wait'.")
        return cls(
            database_url=url,
            table_prefix=env.get("WEFT_THREADS_TABLE_PREFIX", "weft_"),
            master_key=master,
            encryption=encryption,
            default_tenant=env.get("WEFT_DEFAULT_TENANT", "default"),
            llm_base_url=env.get("WEFT_LLM_BASE_URL") or None,
            llm_api_key=env.get("WEFT_LLM_API_KEY") or None,
            llm_model=env.get("WEFT_LLM_MODEL") or None,
            history_token_budget=int(env.get("WEFT_HISTORY_TOKEN_BUDGET", "8000")),
            retention_interval_seconds=float(env.get("WEFT_RETENTION_INTERVAL", "60")),
            lock_mode=lock_mode,
            lock_wait_seconds=float(env.get("WEFT_CONVERSATION_LOCK_WAIT", "30")),
            lock_lease_seconds=float(env.get("WEFT_CONVERSATION_LOCK_SECONDS", "600")),
            run_lease_seconds=float(env.get("WEFT_RUN_LEASE_SECONDS", "30")),
            conversation_lease_seconds=float(env.get("WEFT_CONVERSATION_LEASE_SECONDS", "10")),
            audit_reads=env.get("WEFT_AUDIT_READS", "on").lower() not in ("off", "0", "false", "no"),
        )


def default_sqlite_url(data_dir: Path) -> str:
    from weft.fsmodes import private_file

    folder = Path(data_dir) / "threads"
    private_file(folder / "threads.sqlite3")
    return f"sqlite:///{(folder / 'threads.sqlite3').resolve()}"


def parse_master_key(text: str) -> bytes:
    """A master key is 32 bytes written as 64 hex characters or as base64."""
    text = text.strip()
    raw: bytes | None = None
    if len(text) == 64:
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raw = None
    if raw is None:
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raw = None
    if raw is None or len(raw) != 32:
        raise InvalidInput("The master key must be 32 bytes, written as 64 hex characters or base64.")
    return raw


def load_master_key(env) -> bytes | None:
    path = env.get("WEFT_MASTER_KEY_FILE")
    if path:
        return parse_master_key(Path(path).read_text())
    value = env.get("WEFT_MASTER_KEY")
    if value:
        return parse_master_key(value)
    return None
