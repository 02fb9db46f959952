"""Encryption at rest of stored secrets (Fernet: AES-128-CBC + HMAC-SHA256, from `cryptography`).

Used for data source connection strings (``<data-dir>/indexers/secret.key``) and vectorizer API keys in index
definitions (``<data-dir>/search/secret.key``). Each key file is mode 0600, generated on first use.
"""
from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet


class SecretBox:
    def __init__(self, key_path: Path):
        key_path = Path(key_path)
        if not key_path.exists():
            key_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp = key_path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(Fernet.generate_key())
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, key_path)
        self._fernet = Fernet(key_path.read_bytes().strip())

    def seal(self, text: str | None) -> bytes | None:
        return None if text is None else self._fernet.encrypt(text.encode())

    def open(self, token: bytes | None) -> str | None:
        return None if token is None else self._fernet.decrypt(token).decode()
