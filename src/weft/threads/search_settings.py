"""Conversation search's settings (from the environment) and the naming of each tenant's index."""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from typing import Any

from weft.errors import InvalidInput
from weft.threads.policy import validate_tenant_id


@dataclass
class ConversationSearchSettings:
    """``WEFT_CONVERSATION_SEARCH_TENANTS`` (comma-separated tenant ids opted in on start),
    ``WEFT_CONVERSATION_EMBEDDINGS`` (a vectorizer JSON: azureOpenAI, openAICompatible or local),
    ``WEFT_CONVERSATION_EMBEDDING_DIMENSIONS`` (probed from the endpoint when absent),
    ``WEFT_CONVERSATION_SEARCH_INTERVAL`` (seconds between reconcile passes; default 10, 0: only on start),
    ``WEFT_CONVERSATION_SEARCH_STORE_TEXT`` (``true``: the index stores each item's text; ``false``: it keeps only
    the inverted index and the vectors, and results read the text from the thread store; default: false when
    encryption at rest is on, true otherwise; applies to indexes created from then on)."""

    tenants: tuple[str, ...] = ()
    embeddings: dict[str, Any] | None = None
    dimensions: int | None = None
    interval_seconds: float = 10.0
    store_text: bool | None = None

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "ConversationSearchSettings":
        env = os.environ if environ is None else environ
        tenants = tuple(t.strip() for t in env.get("WEFT_CONVERSATION_SEARCH_TENANTS", "").split(",") if t.strip())
        for t in tenants:
            validate_tenant_id(t)
        embeddings = None
        raw = env.get("WEFT_CONVERSATION_EMBEDDINGS", "").strip()
        if raw:
            try:
                embeddings = json.loads(raw)
            except ValueError as exc:
                raise InvalidInput(f"WEFT_CONVERSATION_EMBEDDINGS is not valid JSON: {exc}.")
            check_vectorizer(embeddings)
            from weft.search.endpoints import POLICY, vectorizer_endpoints

            for _, url in vectorizer_endpoints(embeddings, "WEFT_CONVERSATION_EMBEDDINGS"):
                POLICY.allow(url)  # the operator's own endpoint
        dims = env.get("WEFT_CONVERSATION_EMBEDDING_DIMENSIONS", "").strip()
        store = env.get("WEFT_CONVERSATION_SEARCH_STORE_TEXT", "").strip().lower()
        if store not in ("", "true", "false", "1", "0", "on", "off"):
            raise InvalidInput("WEFT_CONVERSATION_SEARCH_STORE_TEXT must be true or false.")
        return cls(tenants=tenants, embeddings=embeddings, dimensions=int(dims) if dims else None,
                   interval_seconds=float(env.get("WEFT_CONVERSATION_SEARCH_INTERVAL", "10")),
                   store_text=None if not store else store in ("true", "1", "on"))


def check_vectorizer(vectorizer: Any) -> dict[str, Any]:
    if not isinstance(vectorizer, dict) or vectorizer.get("kind") not in ("azureOpenAI", "openAICompatible", "local"):
        raise InvalidInput("The embeddings setting must be a vectorizer object with kind azureOpenAI, openAICompatible or local.")
    return vectorizer


def index_name_for(tenant_id: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", tenant_id.lower()).strip("-")[:40].strip("-")
    digest = hashlib.sha256(tenant_id.encode()).hexdigest()[:12]
    return f"conversations-{slug}-{digest}" if slug else f"conversations-{digest}"
