"""Bearer tokens (OIDC access tokens, JWT) from configured issuers: signature, issuer, audience and lifetime.

Signing keys come from the issuer's JWKS: a URL (given, or found through the issuer's discovery document),
cached and fetched again when a token names a key id the cache does not hold (at most once per
`refresh_interval` seconds, so random key ids cannot make weft hammer the issuer), or a file for networks with no
route to the issuer. RS256 and ES256 only. PyJWT does the JOSE work (signature, `exp`/`nbf` with leeway, `aud`,
`iss`); this module chooses the issuer and the key and turns every failure into one `Unauthenticated` whose
message says why.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import httpx
import jwt

from weft.errors import Unauthenticated

log = logging.getLogger("weft.identity")

ALGORITHMS = ("RS256", "ES256")
VALIDATED_CACHE_SECONDS = 300.0
VALIDATED_CACHE_ENTRIES = 10_000
SEARCH_AUDIENCES = ("https://search.azure.com",)
AGENT_AUDIENCES = ("https://ai.azure.com", "https://cognitiveservices.azure.com")


def looks_like_jwt(value: str) -> bool:
    parts = value.split(".")
    return len(parts) == 3 and all(parts[:2]) and value.startswith("eyJ")


def _audience_variants(audiences) -> list[str]:
    """Entra may send an audience with or without a trailing slash: accept both spellings."""
    out: list[str] = []
    for aud in audiences:
        for variant in (aud, aud.rstrip("/"), aud.rstrip("/") + "/"):
            if variant and variant not in out:
                out.append(variant)
    return out


@dataclass
class IssuerConfig:
    issuer: str  # the exact `iss` value
    name: str = ""  # a short label, kept in audit records with the subject
    jwks_uri: str | None = None  # default: from {issuer}/.well-known/openid-configuration
    jwks_file: Path | None = None  # air-gapped: a JWKS document on disk (read again when it changes)
    audiences: tuple[str, ...] = SEARCH_AUDIENCES + AGENT_AUDIENCES
    ca_file: str | None = None  # CA to trust for the issuer's https endpoints (default: the system's)


@dataclass
class TokenClaims:
    issuer: IssuerConfig
    claims: dict[str, Any]

    @property
    def subject(self) -> str:
        return str(self.claims.get("oid") or self.claims.get("sub") or "")

    @property
    def audit_id(self) -> str:
        """`<issuer label>:<subject>`, to fit an audit record's key id (64 characters)."""
        return f"{self.issuer.name}:{self.subject}"[:64]

    @property
    def audience(self) -> list[str]:
        aud = self.claims.get("aud")
        return [aud] if isinstance(aud, str) else list(aud or [])


@dataclass
class _KeySet:
    keys: dict[str, Any] = field(default_factory=dict)  # kid -> public key
    fetched_at: float = 0.0
    source_stamp: object = None


class TokenValidator:
    def __init__(self, issuers: list[IssuerConfig], *, leeway_seconds: int = 60, refresh_interval: float = 30.0,
                 cache_seconds: float = 3600.0, http_timeout: float = 5.0, clock: Callable[[], float] = time.time):
        if not issuers:
            raise ValueError("token authentication needs at least one issuer")
        for i, issuer in enumerate(issuers):
            issuer.name = issuer.name or (f"idp{i + 1}" if len(issuers) > 1 else "idp")
        self.issuers = {issuer.issuer: issuer for issuer in issuers}
        self.leeway = leeway_seconds
        self.refresh_interval = refresh_interval
        self.cache_seconds = cache_seconds
        self.http_timeout = http_timeout
        self.clock = clock
        self._sets: dict[str, _KeySet] = {}
        self._locks: dict[str, threading.Lock] = {i: threading.Lock() for i in self.issuers}
        # Tokens already validated: token -> (valid until, claims). A client sends the same token for its whole
        # lifetime, so its signature is checked once; an entry lives until the token's exp (+ leeway) and at most
        # VALIDATED_CACHE_SECONDS, and the cache is emptied whenever an issuer's signing keys change.
        self._validated: dict[str, tuple[float, TokenClaims]] = {}

    # ---- keys ------------------------------------------------------------------------------------------
    def _http(self, issuer: IssuerConfig) -> httpx.Client:
        import ssl

        verify: Any = True
        if issuer.ca_file:
            verify = ssl.create_default_context(cafile=issuer.ca_file)
        return httpx.Client(timeout=self.http_timeout, verify=verify, follow_redirects=False)

    def _fetch_jwks(self, issuer: IssuerConfig) -> tuple[dict, object]:
        if issuer.jwks_file is not None:
            path = Path(issuer.jwks_file)
            stat = path.stat()
            return json.loads(path.read_text()), (stat.st_mtime_ns, stat.st_size)
        with self._http(issuer) as http:
            uri = issuer.jwks_uri
            if not uri:
                discovery = http.get(issuer.issuer.rstrip("/") + "/.well-known/openid-configuration")
                discovery.raise_for_status()
                uri = discovery.json()["jwks_uri"]
                issuer.jwks_uri = uri
            response = http.get(uri)
            response.raise_for_status()
            return response.json(), None

    def _load(self, issuer: IssuerConfig) -> _KeySet:
        document, stamp = self._fetch_jwks(issuer)
        keys: dict[str, Any] = {}
        for jwk in document.get("keys", []):
            if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig":
                continue
            try:
                keys[str(jwk.get("kid", ""))] = jwt.PyJWK(jwk).key
            except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
                log.warning("issuer %s: skipped a JWKS key that cannot be used (kid %r)", issuer.issuer, jwk.get("kid"))
        return _KeySet(keys, self.clock(), stamp)

    def needs_fetch(self, token: str) -> bool:
        """True when validating `token` would fetch signing keys over the network (callers may do that off
        the event loop)."""
        hit = self._validated.get(token)
        if hit is not None and hit[0] > self.clock():
            return False
        try:
            header = jwt.get_unverified_header(token)
            issuer = self.issuers.get(jwt.decode(token, options={"verify_signature": False}).get("iss"))
        except jwt.PyJWTError:
            return False
        if issuer is None or issuer.jwks_file is not None:
            return False
        keyset = self._sets.get(issuer.issuer)
        if keyset is None or self.clock() - keyset.fetched_at > self.cache_seconds:
            return True
        return str(header.get("kid", "")) not in keyset.keys and self.clock() - keyset.fetched_at >= self.refresh_interval

    def _key(self, issuer: IssuerConfig, kid: str):
        keyset = self._sets.get(issuer.issuer)
        now = self.clock()
        stale = keyset is None or now - keyset.fetched_at > self.cache_seconds
        if issuer.jwks_file is not None and keyset is not None:
            stat = Path(issuer.jwks_file).stat()
            stale = stale or keyset.source_stamp != (stat.st_mtime_ns, stat.st_size)
        missing = keyset is not None and kid not in keyset.keys and now - keyset.fetched_at >= self.refresh_interval
        if stale or missing:
            with self._locks[issuer.issuer]:
                current = self._sets.get(issuer.issuer)
                if current is keyset:  # nobody refreshed it while we waited
                    try:
                        loaded = self._load(issuer)
                        if keyset is None or loaded.keys.keys() != keyset.keys.keys():
                            self._validated = {}  # a key may have been withdrawn: validate every token again
                        self._sets[issuer.issuer] = keyset = loaded
                    except (httpx.HTTPError, OSError, ValueError, KeyError) as exc:
                        log.warning("issuer %s: could not fetch its signing keys: %s", issuer.issuer, exc)
                        if keyset is None:
                            raise Unauthenticated("The token's issuer's signing keys cannot be fetched now.", code="InvalidToken")
                        keyset.fetched_at = now  # keep the old keys; try again after refresh_interval
                else:
                    keyset = current
        assert keyset is not None
        key = keyset.keys.get(kid)
        if key is None:
            raise Unauthenticated(f"The token is signed with a key (kid '{kid}') its issuer does not publish.", code="InvalidToken")
        return key

    # ---- validation -------------------------------------------------------------------------------------
    def validate(self, token: str) -> TokenClaims:
        now = self.clock()
        hit = self._validated.get(token)
        if hit is not None and hit[0] > now:
            return hit[1]
        claims = self._validate(token)
        exp = claims.claims.get("exp")
        nbf = claims.claims.get("nbf")
        if isinstance(exp, (int, float)) and (not isinstance(nbf, (int, float)) or nbf <= now):
            if len(self._validated) >= VALIDATED_CACHE_ENTRIES:
                self._validated = {}
            self._validated[token] = (min(exp + self.leeway, now + VALIDATED_CACHE_SECONDS), claims)
        return claims

    def _validate(self, token: str) -> TokenClaims:
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise Unauthenticated("The bearer token is not a well-formed JWT.", code="InvalidToken")
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise Unauthenticated(f"The token's algorithm '{alg}' is not accepted; use RS256 or ES256.", code="InvalidToken")
        issuer = self.issuers.get(unverified.get("iss")) if isinstance(unverified.get("iss"), str) else None
        if issuer is None:
            raise Unauthenticated("The token's issuer is not trusted by this service.", code="InvalidToken")
        key = self._key(issuer, str(header.get("kid", "")))
        try:
            claims = jwt.decode(token, key, algorithms=[alg], audience=_audience_variants(issuer.audiences), issuer=issuer.issuer,
                                leeway=self.leeway, options={"require": ["exp", "iss", "aud"]})
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("The token has expired.", code="InvalidToken")
        except jwt.ImmatureSignatureError:
            raise Unauthenticated("The token is not valid yet (nbf/iat in the future).", code="InvalidToken")
        except jwt.InvalidAudienceError:
            raise Unauthenticated("The token's audience is not this service.", code="InvalidToken")
        except jwt.InvalidIssuerError:
            raise Unauthenticated("The token's issuer is not trusted by this service.", code="InvalidToken")
        except jwt.MissingRequiredClaimError as exc:
            raise Unauthenticated(f"The token lacks the '{exc.claim}' claim.", code="InvalidToken")
        except jwt.InvalidSignatureError:
            raise Unauthenticated("The token's signature does not verify.", code="InvalidToken")
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"The token is not valid: {exc.__class__.__name__}.", code="InvalidToken")
        return TokenClaims(issuer, claims)
