"""Who may call weft with what: api-keys, bearer tokens from configured OIDC issuers, or both (Azure's
"API keys / role-based access control / both")."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from weft.identity.roles import RoleMapping
from weft.identity.tokens import AGENT_AUDIENCES, SEARCH_AUDIENCES, IssuerConfig, TokenClaims, TokenValidator, looks_like_jwt

AUTH_MODES = ("keys", "tokens", "both")

__all__ = ["AUTH_MODES", "Identity", "IdentitySettings", "IssuerConfig", "RoleMapping", "TokenClaims", "TokenValidator", "looks_like_jwt"]


@dataclass
class IdentitySettings:
    mode: str | None = None  # default: "both" when an issuer is configured, else "keys"
    issuers: list[str] = field(default_factory=list)
    jwks_file: Path | None = None  # for a single issuer on a network with no route to it
    issuer_ca_file: str | None = None
    search_audiences: tuple[str, ...] = SEARCH_AUDIENCES
    agent_audiences: tuple[str, ...] = AGENT_AUDIENCES
    role_assignments_file: Path | None = None
    tenant_claim: str = "tid"
    leeway_seconds: int = 60
    jwks_refresh_seconds: float = 30.0

    def build(self) -> "Identity":
        mode = self.mode or ("both" if self.issuers else "keys")
        if mode not in AUTH_MODES:
            raise ValueError(f"--auth takes one of {', '.join(AUTH_MODES)}, not {mode!r}")
        if mode in ("tokens", "both") and not self.issuers:
            raise ValueError(f"--auth {mode} needs at least one token issuer (--oidc-issuer)")
        if self.jwks_file is not None and len(self.issuers) != 1:
            raise ValueError("--oidc-jwks-file goes with exactly one --oidc-issuer")
        validator = None
        if self.issuers:
            audiences = tuple(dict.fromkeys(self.search_audiences + self.agent_audiences))
            validator = TokenValidator(
                [IssuerConfig(issuer=i, jwks_file=self.jwks_file, audiences=audiences, ca_file=self.issuer_ca_file) for i in self.issuers],
                leeway_seconds=self.leeway_seconds, refresh_interval=self.jwks_refresh_seconds)
        assignments: dict[str, list[str]] = {}
        if self.role_assignments_file is not None:
            try:
                loaded = json.loads(Path(self.role_assignments_file).read_text())
            except (OSError, ValueError) as exc:
                raise ValueError(f"cannot read the role assignments file {self.role_assignments_file}: {exc}")
            if not isinstance(loaded, dict) or not all(isinstance(v, list) and all(isinstance(r, str) for r in v) for v in loaded.values()):
                raise ValueError("the role assignments file maps object or group ids to lists of role names")
            assignments = loaded
        mapping = RoleMapping(assignments, self.tenant_claim, tuple(self.search_audiences), tuple(self.agent_audiences))
        return Identity(mode, validator, mapping)


@dataclass
class Identity:
    mode: str
    validator: TokenValidator | None
    mapping: RoleMapping

    @property
    def keys_enabled(self) -> bool:
        return self.mode in ("keys", "both")

    @property
    def tokens_enabled(self) -> bool:
        return self.mode in ("tokens", "both") and self.validator is not None

    def is_token(self, credential: str) -> bool:
        """A bearer credential is taken as a token when tokens are on and it has a JWT's shape; the openai SDK
        sends api-keys as bearer credentials too."""
        return self.tokens_enabled and looks_like_jwt(credential)


KEYS_ONLY = Identity("keys", None, RoleMapping())
