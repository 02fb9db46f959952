"""Shared fixtures' pieces for the Foundry agent tests: weft over TLS trusting a loopback OIDC issuer, with the fake
chat model configured; token credentials from azure-identity pointed at that issuer (only `authority=` and
`disable_instance_discovery=True` change)."""
from __future__ import annotations

import ssl

from azure.identity import ClientSecretCredential

from tests.support.oidc import Issuer
from tests.support.server import WeftServer

TENANT = "11111111-2222-3333-4444-555555555555"


def tls_server(data_dir, pki, issuer: Issuer, llm_url: str, **env: str) -> WeftServer:
    return WeftServer(data_dir, scheme="https", verify=ssl.create_default_context(cafile=str(pki.ca)),
                      extra_args=["--tls-cert", str(pki.cert), "--tls-key", str(pki.key), "--oidc-issuer", issuer.issuer,
                                  "--oidc-ca-file", str(pki.ca)],
                      env={"WEFT_LLM_BASE_URL": llm_url, "WEFT_LLM_API_KEY": "upstream-key", "WEFT_LLM_MODEL": "fake-model",
                           "WEFT_JWKS_REFRESH_SECONDS": "0", **env}).start()


def credential(issuer: Issuer, client: str, secret: str) -> ClientSecretCredential:
    return ClientSecretCredential(TENANT, client, secret, authority=issuer.authority, disable_instance_discovery=True)
