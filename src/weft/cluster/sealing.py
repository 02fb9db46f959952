"""Sealed fields of the documents of record: what an index keeps out of its files stays out of PostgreSQL in clear.

An index of weft's own with ``IndexDefinition.sealed_for`` set (a tenant's conversation-search index with
``text`` index-only, the default with encryption at rest) has its index-only fields and its vector fields stored
in ``weft_search_documents.sealed``, not in ``source``: one AES-256-GCM blob (``weft.threads.crypto.seal``) of
those fields as JSON, under the tenant's data key — the key its conversations are sealed with in the thread store —
with the index incarnation and the document key as associated data, so a blob moved to another row does not open.
Every node holds the master key and reads the wrapped data keys from the cluster's thread store, so every node can
open the blob to index the document locally; the database holds only ciphertext.

Opening can fail for good: the tenant's data key was destroyed (crypto-shredding, ``ContentShredded``). Such a
document is *unreadable*: ``open`` gives None and the callers (the apply loop, a rebuild, a compaction) treat it
as absent and remove it from the local copy, so a shredded tenant's documents leave search on every node without
an error. Any other failure (no master key, a master key that does not unwrap the data key, a blob failing its
integrity check) is raised: the apply loop retries and logs it; it is a misconfiguration, not data to drop.

The thread service (and its keyring) is built after the search service, whose apply loop starts at once: until
``attach`` hands the keyring in, a sealed index waits for it (``WAIT_SECONDS``), then the round fails and is
retried. With encryption off (``Keyring.write_key`` is None) nothing is sealed: the fields stay in ``source``.
"""
from __future__ import annotations

import threading
from typing import Any

import orjson

from weft.cluster.pg import NotReady
from weft.search.schema import IndexDefinition
from weft.threads.crypto import SEALED, ContentShredded, open_sealed, seal

WAIT_SECONDS = 30.0


def sealed_fields(definition: IndexDefinition) -> tuple[str, ...]:
    """The top-level fields kept sealed: the index-only ones and the vectors (embeddings of the same text)."""
    if definition.sealed_for is None:
        return ()
    vectors = tuple(f.name for f in definition.vector_fields() if f.name not in definition.index_only)
    return tuple(definition.index_only) + vectors


def _context(definition: IndexDefinition, uid: str, key: str) -> str:
    return f"weft-search-document|{definition.sealed_for}|{uid}|{key}"


class Sealing:
    """Seals and opens the sealed fields of documents of record with the tenants' data keys (one per node)."""

    def __init__(self) -> None:
        self._keyring: Any = None
        self._ready = threading.Event()

    def attach(self, keyring: Any) -> None:
        """The thread service's keyring (``weft.threads.crypto.Keyring``)."""
        self._keyring = keyring
        self._ready.set()

    def _keys(self):
        if not self._ready.wait(WAIT_SECONDS):
            raise NotReady("This node cannot open sealed documents yet (its thread store is starting); retry shortly.", retry_after=2)
        return self._keyring

    def seal(self, definition: IndexDefinition, uid: str, key: str, document: dict) -> tuple[bytes, bytes | None]:
        """(``source``, ``sealed``) to store for ``document``."""
        fields = sealed_fields(definition)
        if not fields:
            return orjson.dumps(document), None
        data_key = self._keys().write_key(definition.sealed_for)  # raises ContentShredded for a shredded tenant
        if data_key is None:  # encryption at rest is off: nothing to seal with, nothing promised
            return orjson.dumps(document), None
        hidden = {name: document[name] for name in fields if name in document}
        source = {name: value for name, value in document.items() if name not in hidden}
        return orjson.dumps(source), seal(data_key, orjson.dumps(hidden), _context(definition, uid, key))

    def open(self, definition: IndexDefinition, uid: str, key: str, source: bytes, sealed: bytes | None) -> dict | None:
        """The whole document, or None when its sealed fields can never be opened again (a shredded tenant)."""
        document = orjson.loads(source)
        if sealed is None:
            return document
        blob = bytes(sealed)
        if definition.sealed_for is None or blob[:1] != SEALED:
            raise ValueError(f"a sealed document of record of index {definition.name} has no tenant to open it with")
        try:
            data_key = self._keys().read_key(definition.sealed_for)
        except ContentShredded:
            return None
        document.update(orjson.loads(open_sealed(data_key, blob, _context(definition, uid, key))))
        return document


NO_KEYS = Sealing()  # for a write path without a node (bench): opens and writes indexes without sealed fields
