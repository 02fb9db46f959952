"""Envelope encryption at rest: AES-256-GCM with per-tenant data keys wrapped by a master key.

* A master key (32 bytes, from a key file or the environment) wraps each tenant's random 32-byte data
  key; only wrapped data keys are stored. Rotating the master key re-wraps those few bytes per tenant
  and never touches content.
* Item content and metadata values are sealed with the tenant's data key; the associated data binds a
  ciphertext to its tenant and row, so a blob copied to another row does not decrypt.
* Destroying a tenant's wrapped data key makes all of its sealed content unreadable (crypto-shredding).
"""
from __future__ import annotations

import hashlib
import hmac
import os
import threading
import time

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from weft.errors import InvalidInput, WeftError

PLAIN = b"\x00"
SEALED = b"\x01"
NONCE_BYTES = 12


class ContentShredded(WeftError):
    """The tenant's data key was destroyed: its stored content can never be read again."""

    status = 410
    default_code = "content_shredded"


class DecryptionFailed(WeftError):
    status = 500
    default_code = "decryption_failed"


def master_key_id(master_key: bytes) -> str:
    """A short public fingerprint of a master key, stored next to each wrapped data key."""
    return hashlib.sha256(b"weft-master-key-id" + master_key).hexdigest()[:16]


def new_master_key() -> bytes:
    return os.urandom(32)


def wrap_data_key(master_key: bytes, tenant_id: str, data_key: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(master_key).encrypt(nonce, data_key, b"weft-data-key|" + tenant_id.encode())


def unwrap_data_key(master_key: bytes, tenant_id: str, wrapped: bytes) -> bytes:
    try:
        return AESGCM(master_key).decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], b"weft-data-key|" + tenant_id.encode())
    except InvalidTag as exc:
        raise DecryptionFailed(f"The data key of tenant '{tenant_id}' does not open with the configured master key (wrong or rotated master key?).") from exc


def seal(data_key: bytes, plaintext: bytes, context: str) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return SEALED + nonce + AESGCM(data_key).encrypt(nonce, plaintext, context.encode())


def open_sealed(data_key: bytes, blob: bytes, context: str) -> bytes:
    try:
        return AESGCM(data_key).decrypt(blob[1:1 + NONCE_BYTES], blob[1 + NONCE_BYTES:], context.encode())
    except InvalidTag as exc:
        raise DecryptionFailed("Stored content failed its integrity check.") from exc


def blind_index(data_key: bytes, key: str, value: str) -> str:
    """Deterministic HMAC of a metadata pair, so equality filters work on encrypted metadata."""
    tag_key = hmac.new(data_key, b"weft-tag-index", hashlib.sha256).digest()
    return hmac.new(tag_key, key.encode() + b"\x00" + value.encode(), hashlib.sha256).hexdigest()


def blind_key(data_key: bytes, key: str) -> str:
    """Deterministic HMAC of a metadata key (64 hex characters), so the key itself is not stored in clear."""
    tag_key = hmac.new(data_key, b"weft-tag-index", hashlib.sha256).digest()
    return hmac.new(tag_key, b"key\x00" + key.encode(), hashlib.sha256).hexdigest()


class Keyring:
    """Per-tenant data keys: created on first encrypted write, unwrapped once and cached in memory.

    A cached key is checked against the store again once it is ``REVALIDATE_SECONDS`` old (one read of the tenant
    row), so a shred made by another process — another cluster node, the CLI — takes effect here within that time
    too; a shred through this process forgets the key at once.
    """

    REVALIDATE_SECONDS = 2.0

    def __init__(self, store, master_key: bytes | None, *, encrypt_new_writes: bool):
        self.store = store
        self.master_key = master_key
        self.encrypt_new_writes = encrypt_new_writes and master_key is not None
        self._cache: dict[str, tuple[bytes, float]] = {}  # tenant -> (key, when it was last seen alive in the store)
        self._lock = threading.Lock()

    def forget(self, tenant_id: str) -> None:
        with self._lock:
            self._cache.pop(tenant_id, None)

    def write_key(self, tenant_id: str) -> bytes | None:
        """The key new content of the tenant is sealed with; ``None`` when encryption is off."""
        if not self.encrypt_new_writes:
            return None
        return self._key(tenant_id, create=True)

    def read_key(self, tenant_id: str) -> bytes:
        """The key to open the tenant's sealed content with."""
        return self._key(tenant_id, create=False)

    def _key(self, tenant_id: str, *, create: bool) -> bytes:
        with self._lock:
            cached = self._cache.get(tenant_id)
        if cached is not None:
            key, seen = cached
            if time.monotonic() - seen < self.REVALIDATE_SECONDS:
                return key
        tenant = self.store.get_tenant(tenant_id)
        if cached is not None and tenant is not None and tenant.wrapped_data_key is not None and not tenant.data_key_destroyed:
            with self._lock:
                if tenant_id in self._cache:
                    self._cache[tenant_id] = (cached[0], time.monotonic())
            return cached[0]
        if cached is not None:
            self.forget(tenant_id)  # shredded elsewhere (or the tenant is gone): the key goes from memory too
        if tenant is not None and tenant.data_key_destroyed:
            raise ContentShredded(f"The data key of tenant '{tenant_id}' was destroyed; its content is unreadable.")
        wrapped = tenant.wrapped_data_key if tenant else None
        if wrapped is None:
            if not create or tenant is None:
                raise ContentShredded(f"Tenant '{tenant_id}' has no data key; its sealed content is unreadable.")
            fresh = os.urandom(32)
            self.store.set_tenant_data_key(tenant_id, wrap_data_key(self.master_key, tenant_id, fresh), master_key_id(self.master_key), only_if_absent=True)
            tenant = self.store.get_tenant(tenant_id)  # another process may have won the race
            if tenant is None or tenant.wrapped_data_key is None:
                raise ContentShredded(f"The data key of tenant '{tenant_id}' was destroyed; its content is unreadable.")
            wrapped = tenant.wrapped_data_key
        if self.master_key is None:
            raise InvalidInput(f"Tenant '{tenant_id}' has encrypted content but no master key is configured (WEFT_MASTER_KEY_FILE or WEFT_MASTER_KEY).")
        key = unwrap_data_key(self.master_key, tenant_id, wrapped)
        with self._lock:
            self._cache[tenant_id] = (key, time.monotonic())
        return key


def rewrap_all(store, old_master: bytes, new_master: bytes) -> int:
    """Re-wraps every tenant's data key under ``new_master`` in one transaction; content is untouched."""
    rewrapped: dict[str, tuple[bytes, str]] = {}
    for tenant in store.list_tenants():
        if tenant.wrapped_data_key is None:
            continue
        data_key = unwrap_data_key(old_master, tenant.id, tenant.wrapped_data_key)
        rewrapped[tenant.id] = (wrap_data_key(new_master, tenant.id, data_key), master_key_id(new_master))
    store.rewrap_data_keys(rewrapped)
    return len(rewrapped)
