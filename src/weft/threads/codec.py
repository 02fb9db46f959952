"""Turns item bodies and metadata into stored bytes and back: plain JSON, or sealed with the tenant's key."""
from __future__ import annotations

import json
from typing import Any, Callable

from weft.threads.crypto import PLAIN, SEALED, Keyring, blind_index, blind_key, open_sealed, seal


class BodyCodec:
    def __init__(self, keyring: Keyring):
        self.keyring = keyring

    def encode(self, tenant_id: str, context: str, value: Any) -> bytes:
        raw = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        key = self.keyring.write_key(tenant_id)
        if key is None:
            return PLAIN + raw
        return seal(key, raw, f"{tenant_id}|{context}")

    def decode(self, tenant_id: str, context: str, blob: bytes | None) -> Any:
        if blob is None:
            return None
        blob = bytes(blob)
        if blob[:1] == PLAIN:
            return json.loads(blob[1:].decode("utf-8"))
        if blob[:1] != SEALED:
            raise ValueError("unknown body format")
        key = self.keyring.read_key(tenant_id)
        return json.loads(open_sealed(key, blob, f"{tenant_id}|{context}").decode("utf-8"))

    def decode_many(self, tenant_id: str, blobs: list[bytes], contexts: Callable[[], list[str]]) -> list[Any]:
        """``decode`` of each blob (``contexts()``: their contexts); plain bodies (no encryption) are parsed as one
        JSON array (one parser call)."""
        if blobs and all(b is not None and b[:1] == PLAIN for b in blobs):
            try:
                values = json.loads(b"[" + b",".join(memoryview(b)[1:] for b in blobs) + b"]")
            except ValueError:
                values = None  # one of them is not JSON: decode each (the bad one raises as decode does)
            if values is not None and len(values) == len(blobs):
                return values
        return [self.decode(tenant_id, context, blob) for context, blob in zip(contexts(), blobs)]

    def tags(self, tenant_id: str, metadata: dict[str, str]) -> dict[str, str]:
        """Rows of the metadata filter index: the pair itself, or, when encrypting, the blind index of the key
        (an HMAC) and of the pair, so neither keys nor values are stored in clear."""
        key = self.keyring.write_key(tenant_id)
        if key is None:
            return {k: v[:128] if len(v) <= 128 else "sha:" + _sha(v) for k, v in metadata.items()}
        return {blind_key(key, k): blind_index(key, k, v) for k, v in metadata.items()}

    def filter_tags(self, tenant_id: str, metadata: dict[str, str]) -> dict[Any, str]:
        """What a metadata filter looks for: as :meth:`tags`, and with encryption also the clear key, which the
        rows of conversations written encrypted before keys were hashed still hold (same value HMAC)."""
        key = self.keyring.write_key(tenant_id)
        if key is None:
            return self.tags(tenant_id, metadata)
        return {(blind_key(key, k), k): blind_index(key, k, v) for k, v in metadata.items()}


def _sha(value: str) -> str:
    import hashlib

    return hashlib.sha256(value.encode()).hexdigest()
