"""Settings: environment variables ``WEFT_*`` and CLI flags feed one Settings object."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ADMIN_KEY_FILE = "admin-key"


@dataclass
class Settings:
    data_dir: Path = field(default_factory=lambda: Path(os.environ.get("WEFT_DATA_DIR", "./weft-data")))
    host: str = field(default_factory=lambda: os.environ.get("WEFT_HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: int(os.environ.get("WEFT_PORT", "8080")))
    admin_keys: list[str] = field(default_factory=list)
    query_keys: list[str] = field(default_factory=list)
    demo: bool = False
    limits: Any = None  # weft.http.limits.LimitSettings (from WEFT_* and `weft serve` flags)

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        settings = cls(**{k: v for k, v in overrides.items() if v is not None})
        if not settings.admin_keys and os.environ.get("WEFT_ADMIN_KEY"):
            settings.admin_keys = [k for k in os.environ["WEFT_ADMIN_KEY"].split(",") if k]
        if not settings.query_keys and os.environ.get("WEFT_QUERY_KEY"):
            settings.query_keys = [k for k in os.environ["WEFT_QUERY_KEY"].split(",") if k]
        settings.data_dir = Path(settings.data_dir)
        return settings

    def ensure_admin_key(self) -> str | None:
        """With no admin key configured, use the one stored in the data dir, creating it on first start.

        Returns the key when it was generated or loaded from the data dir (so the CLI can print it).
        """
        if self.admin_keys:
            return None
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.data_dir / ADMIN_KEY_FILE
        if path.exists():
            key = path.read_text().strip()
        else:
            key = secrets.token_hex(16).upper()
            tmp = path.with_suffix(".tmp")
            tmp.write_text(key + "\n")
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        self.admin_keys = [key]
        return key
