"""A small OpenID Connect issuer on loopback HTTPS for the token tests: its own signing keys, a discovery
document, a JWKS and a client-credentials token endpoint, as Entra ID's v2 endpoints shape them (what
azure-identity's ClientSecretCredential calls with `authority=` and `disable_instance_discovery=True`)."""
from __future__ import annotations

import json
import ssl
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from weft.tls import TlsFiles


class Issuer:
    def __init__(self, tls: TlsFiles, tenant: str = "11111111-2222-3333-4444-555555555555"):
        self.tenant = tenant
        self.tls = tls
        self.keys: list[tuple[str, str, object]] = []  # (kid, alg, private key); the last one signs
        self.published: list[str] = []  # kids in the JWKS
        self.clients: dict[str, dict] = {}  # client_id -> {"secret", "claims"}
        self.jwks_requests = 0
        self.add_key("RS256")
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(tls.cert), str(tls.key))
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.authority = f"https://localhost:{self.port}"
        self.issuer = f"{self.authority}/{tenant}/v2.0"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "Issuer":
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self.server.shutdown()
            self.server.server_close()

    # ---- keys and tokens ---------------------------------------------------------------------------------
    def add_key(self, alg: str = "RS256", publish: bool = True) -> str:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048) if alg == "RS256" else ec.generate_private_key(ec.SECP256R1())
        kid = uuid.uuid4().hex[:16]
        self.keys.append((kid, alg, key))
        if publish:
            self.published.append(kid)
        return kid

    def publish(self, kid: str) -> None:
        self.published.append(kid)

    def jwks(self) -> dict:
        out = []
        for kid, alg, key in self.keys:
            if kid in self.published:
                algo = jwt.algorithms.RSAAlgorithm if alg == "RS256" else jwt.algorithms.ECAlgorithm
                jwk = json.loads(algo.to_jwk(key.public_key()))
                jwk.update({"kid": kid, "use": "sig", "alg": alg})
                out.append(jwk)
        return {"keys": out}

    def token(self, *, audience: str = "https://search.azure.com", roles: list[str] | None = None, oid: str | None = None,
              tid: str | None = None, lifetime: int = 3600, not_before: int = 0, issuer: str | None = None, kid: str | None = None,
              extra: dict | None = None) -> str:
        now = int(time.time())
        kid_, alg, key = next(k for k in self.keys if k[0] == kid) if kid else self.keys[-1]
        claims = {"iss": issuer or self.issuer, "aud": audience, "iat": now, "nbf": now + not_before, "exp": now + lifetime,
                  "oid": oid or str(uuid.uuid4()), "tid": tid or self.tenant, "azp": "test-client", "ver": "2.0"}
        if roles is not None:
            claims["roles"] = roles
        claims.update(extra or {})
        return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid_})

    def add_client(self, client_id: str, secret: str, **claims) -> None:
        self.clients[client_id] = {"secret": secret, "claims": claims}

    # ---- HTTP --------------------------------------------------------------------------------------------
    def _handler(self):
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _send(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path.endswith("/.well-known/openid-configuration"):
                    base = f"{issuer.authority}/{issuer.tenant}"
                    self._send(200, {"issuer": issuer.issuer, "jwks_uri": f"{issuer.authority}/discovery/keys",
                                     "token_endpoint": f"{base}/oauth2/v2.0/token", "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                                     "response_types_supported": ["code", "token"], "subject_types_supported": ["pairwise"],
                                     "id_token_signing_alg_values_supported": ["RS256"]})
                elif self.path.startswith("/discovery/keys"):
                    issuer.jwks_requests += 1
                    self._send(200, issuer.jwks())
                else:
                    self._send(404, {"error": "not_found"})

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if not self.path.endswith("/oauth2/v2.0/token"):
                    return self._send(404, {"error": "not_found"})
                client = issuer.clients.get(form.get("client_id", ""))
                if client is None or client["secret"] != form.get("client_secret"):
                    return self._send(401, {"error": "invalid_client", "error_description": "bad client credentials"})
                scope = form.get("scope", "").split()[0] if form.get("scope") else ""
                audience = scope[: -len("/.default")] if scope.endswith("/.default") else scope
                token = issuer.token(audience=audience, **client["claims"])
                self._send(200, {"token_type": "Bearer", "expires_in": 3600, "ext_expires_in": 3600, "access_token": token})

        return Handler


def write_jwks(issuer: Issuer, path: Path) -> Path:
    path.write_text(json.dumps(issuer.jwks()))
    return path
