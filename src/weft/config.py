"""Settings: environment variables ``WEFT_*`` and CLI flags feed one Settings object."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

ADMIN_KEY_FILE = "admin-key"
API_DOCS_MODES = ("off", "admin", "on")


@dataclass
class Settings:
    data_dir: Path = field(default_factory=lambda: Path(os.environ.get("WEFT_DATA_DIR", "./weft-data")))
    host: str = field(default_factory=lambda: os.environ.get("WEFT_HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: int(os.environ.get("WEFT_PORT", "8080")))
    admin_keys: list[str] = field(default_factory=list)
    query_keys: list[str] = field(default_factory=list)
    demo: bool = False
    allowed_model_endpoints: list[str] = field(default_factory=list)
    # /_docs and /_openapi.json: "off" (default), "admin" (admin key) or "on" (WEFT_API_DOCS)
    api_docs: str = field(default_factory=lambda: os.environ.get("WEFT_API_DOCS", "off").strip().lower() or "off")

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        settings = cls(**{k: v for k, v in overrides.items() if v is not None})
        from weft.keyfiles import resolve_keys

        if not settings.admin_keys:
            settings.admin_keys = resolve_keys(None, None, "WEFT_ADMIN_KEY")  # WEFT_ADMIN_KEY, else WEFT_ADMIN_KEY_FILE
        if not settings.query_keys:
            settings.query_keys = resolve_keys(None, None, "WEFT_QUERY_KEY")
        if not settings.allowed_model_endpoints and os.environ.get("WEFT_ALLOWED_MODEL_ENDPOINTS"):
            settings.allowed_model_endpoints = [p.strip() for p in os.environ["WEFT_ALLOWED_MODEL_ENDPOINTS"].split(",") if p.strip()]
        settings.api_docs = str(settings.api_docs).strip().lower()
        if settings.api_docs not in API_DOCS_MODES:
            from weft.errors import InvalidInput

            raise InvalidInput(f"The API docs setting must be one of {', '.join(API_DOCS_MODES)}, not '{settings.api_docs}'.")
        settings.data_dir = Path(settings.data_dir)
        return settings

    def ensure_admin_key(self) -> str | None:
        """With no admin key configured, use the one stored in the data dir, creating it on first start.

        Returns the key when it was generated or loaded from the data dir (so the CLI can print it).
        """
        if self.admin_keys:
            return None
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.data_dir / ADMIN_KEY_FILE
        if path.exists():
            key = path.read_text().strip()
        else:
            key = secrets.token_hex(16).upper()
            tmp = path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(key + "\n")
            os.replace(tmp, path)
        self.admin_keys = [key]
        return key
