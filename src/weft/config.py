"""The server's settings, built from the one configuration (`weft.configuration`: weft.toml < WEFT_* < flags)."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from weft import configuration
from weft.configuration import Config, ConfigError

ADMIN_KEY_FILE = "admin-key"


@dataclass
class Settings:
    data_dir: Path = field(default_factory=lambda: Path("./weft-data"))
    host: str = "127.0.0.1"
    port: int = 8080
    admin_keys: list[str] = field(default_factory=list)
    query_keys: list[str] = field(default_factory=list)
    demo: bool = False
    allowed_model_endpoints: list[str] = field(default_factory=list)
    api_docs: str = "off"  # /_docs and /_openapi.json: off, admin (admin key required) or on
    limits: Any = None  # weft.http.limits.LimitSettings; None: from the configuration (server/search/threads/models sections)
    identity: Any = None  # weft.identity.Identity: api-keys and/or bearer tokens (None: api-keys only)
    config: Config | None = None  # every other section (threads, chat, models, search, ...)

    @classmethod
    def from_config(cls, config: Config) -> "Settings":
        from weft.identity import IdentitySettings

        from weft.errors import InvalidInput
        from weft.keyfiles import read_key_file

        server, auth = config.section("server"), config.section("auth")
        try:  # keys given as values and in files (each source at its own precedence: file < environment < flag)
            admin_keys = list(server.admin_keys) + [k for path in server.admin_key_file for k in read_key_file(path)]
            query_keys = list(server.query_keys) + [k for path in server.query_key_file for k in read_key_file(path)]
        except InvalidInput as exc:
            raise ConfigError(exc.message)
        try:
            identity = IdentitySettings(
                mode=auth.mode, issuers=list(auth.issuers), jwks_file=auth.jwks_file, issuer_ca_file=auth.issuer_ca_file,
                search_audiences=tuple(auth.search_audiences), agent_audiences=tuple(auth.agent_audiences),
                role_assignments_file=auth.role_assignments, tenant_claim=auth.tenant_claim,
                jwks_refresh_seconds=auth.jwks_refresh_seconds).build()
        except ValueError as exc:
            raise ConfigError(str(exc))
        return cls(data_dir=Path(server.data_dir), host=server.host, port=server.port, admin_keys=admin_keys, query_keys=query_keys,
                   demo=server.demo, allowed_model_endpoints=list(server.allowed_model_endpoints), api_docs=server.api_docs,
                   identity=identity, config=config)

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        """Settings from the environment (and WEFT_CONFIG), with keyword overrides as flags."""
        names = {"data_dir": "server.data_dir", "host": "server.host", "port": "server.port", "admin_keys": "server.admin_keys",
                 "query_keys": "server.query_keys", "demo": "server.demo"}
        flags = {names[k]: v for k, v in overrides.items() if v is not None and v is not False}
        return cls.from_config(configuration.load(environ=os.environ, flags=flags))

    @property
    def effective(self) -> Config:
        """The configuration of the other sections. Settings made in code (tests, embedding weft) without one take
        them from WEFT_CONFIG and the environment, as `weft serve` would."""
        if self.config is None:
            self.config = configuration.load(environ=os.environ, flags={"server.data_dir": self.data_dir})
        return self.config

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
