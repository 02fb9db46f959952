"""Bearer tokens end to end: weft over TLS trusting a loopback OIDC issuer; the Azure SDK with azure-identity's
ClientSecretCredential (unchanged: only `authority=` and `disable_instance_discovery=True` point it at the
issuer), Azure's search roles, tenant-scoped conversations, keys and tokens together and alone."""
from __future__ import annotations

import uuid

import httpx
import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.identity import ClientSecretCredential
from azure.search.documents import SearchClient
from azure.search.documents.indexes import SearchIndexClient
from azure.search.documents.indexes.models import SearchableField, SearchIndex, SimpleField
from openai import OpenAI, PermissionDeniedError, AuthenticationError, NotFoundError

from tests.support.oidc import Issuer
from tests.support.server import WeftServer
from weft.tls import ensure_auto_certificates

TENANT = "11111111-2222-3333-4444-555555555555"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return ensure_auto_certificates(tmp_path_factory.mktemp("pki"), "127.0.0.1")


@pytest.fixture(scope="module")
def issuer(pki):
    idp = Issuer(pki, tenant=TENANT).start()
    idp.add_client("ops", "s1", roles=["Search Service Contributor"], oid="oid-ops")
    idp.add_client("loader", "s2", roles=["Search Index Data Contributor"], oid="oid-loader")
    idp.add_client("reader", "s3", roles=["Search Index Data Reader"], oid="oid-reader")
    idp.add_client("nobody", "s4", roles=[], oid="oid-nobody")
    yield idp
    idp.stop()


def _server(tmp_path_factory, pki, issuer, *extra: str) -> WeftServer:
    import ssl

    return WeftServer(tmp_path_factory.mktemp("weft") / "data", scheme="https", verify=ssl.create_default_context(cafile=str(pki.ca)),
                      extra_args=["--tls-cert", str(pki.cert), "--tls-key", str(pki.key), "--oidc-issuer", issuer.issuer,
                                  "--oidc-ca-file", str(pki.ca), *extra], env={"WEFT_JWKS_REFRESH_SECONDS": "0"}).start()


@pytest.fixture(scope="module")
def server(tmp_path_factory, pki, issuer):
    srv = _server(tmp_path_factory, pki, issuer)
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def trust_local_ca(monkeypatch, pki):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pki.ca))  # azure-core's requests transport and MSAL


def trusting(issuer: Issuer):
    import ssl

    return ssl.create_default_context(cafile=str(issuer.tls.ca))


def credential(issuer: Issuer, client: str, secret: str) -> ClientSecretCredential:
    return ClientSecretCredential(TENANT, client, secret, authority=issuer.authority, disable_instance_discovery=True)


def test_sdk_with_token_credentials_and_search_roles(server, issuer):
    name = f"tok-{uuid.uuid4().hex[:8]}"
    ops = SearchIndexClient(server.endpoint, credential(issuer, "ops", "s1"))
    ops.create_index(SearchIndex(name=name, fields=[SimpleField(name="id", type="Edm.String", key=True),
                                                    SearchableField(name="body", type="Edm.String")]))
    assert name in [i.name for i in ops.list_indexes()]
    loader = SearchClient(server.endpoint, name, credential(issuer, "loader", "s2"))
    assert loader.upload_documents([{"id": "1", "body": "tokens over tls"}])[0].succeeded
    reader = SearchClient(server.endpoint, name, credential(issuer, "reader", "s3"))
    assert [d["id"] for d in reader.search("tokens")] == ["1"]
    assert reader.get_document("1")["body"] == "tokens over tls"
    # each role's forbidden operations
    with pytest.raises(HttpResponseError) as denied:
        reader.upload_documents([{"id": "2", "body": "no"}])
    assert denied.value.status_code == 403
    with pytest.raises(HttpResponseError) as denied:
        SearchIndexClient(server.endpoint, credential(issuer, "reader", "s3")).get_index(name)
    assert denied.value.status_code == 403
    with pytest.raises(HttpResponseError) as denied:  # Search Service Contributor cannot read documents
        list(SearchClient(server.endpoint, name, credential(issuer, "ops", "s1")).search("tokens"))
    assert denied.value.status_code == 403
    with pytest.raises(HttpResponseError) as denied:  # ... nor manage when it has no role at all
        SearchIndexClient(server.endpoint, credential(issuer, "nobody", "s4")).delete_index(name)
    assert denied.value.status_code == 403
    # indexers and data sources: management operations
    with httpx.Client(verify=trusting(issuer)) as http:
        ops_token = issuer.token(roles=["Search Service Contributor"])
        assert http.get(server.url("/indexers"), headers={"Authorization": f"Bearer {ops_token}"}).status_code == 200
        reader_token = issuer.token(roles=["Search Index Data Reader"])
        assert http.get(server.url("/indexers"), headers={"Authorization": f"Bearer {reader_token}"}).status_code == 403
    # a wrong audience: the SDK asks for the search scope, so mint one by hand
    with httpx.Client(verify=trusting(issuer)) as http:
        r = http.get(server.url(f"/indexes/{name}/docs?search=*"),
                     headers={"Authorization": f"Bearer {issuer.token(audience='https://graph.microsoft.com', roles=['Search Index Data Reader'])}"})
    assert r.status_code == 401 and "audience" in r.json()["error"]["message"]
    ops.delete_index(name)


@pytest.mark.parametrize("kwargs, why", [
    ({"lifetime": -900}, "expired"),
    ({"not_before": 900}, "not valid yet"),
    ({"issuer": "https://login.example/other/v2.0"}, "issuer"),
])
def test_bad_tokens_are_401_in_each_family_shape(server, issuer, kwargs, why):
    with httpx.Client(verify=trusting(issuer)) as http:
        token = issuer.token(roles=["Search Index Data Reader"], **kwargs)
        r = http.get(server.url("/indexes"), headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401 and why in r.json()["error"]["message"] and set(r.json()["error"]) >= {"code", "message"}
        token = issuer.token(audience="https://ai.azure.com", roles=["Azure AI User"], **kwargs)
        r = http.get(f"{server.endpoint}/v1/conversations/conv_x", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401 and why in r.json()["error"]["message"] and r.json()["error"]["type"] == "invalid_request_error"
    assert "bearer token refused: " in server.log_path.read_text()  # the log says why


def test_unknown_key_then_rotation(server, issuer):
    hidden = issuer.add_key("ES256", publish=False)
    token = issuer.token(roles=["Search Service Contributor"], kid=hidden)
    with httpx.Client(verify=trusting(issuer)) as http:
        r = http.get(server.url("/indexes"), headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401 and "does not publish" in r.json()["error"]["message"]
        issuer.publish(hidden)
        # the JWKS is fetched again at most once per refresh interval (30 s by default): the test server uses 0
        r = http.get(server.url("/indexes"), headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text


def test_conversations_with_tenant_tokens(server, issuer):
    def client(tid: str, roles: list[str], **headers) -> OpenAI:
        token = issuer.token(audience="https://ai.azure.com", roles=roles, tid=tid, oid=f"user-of-{tid}")
        return OpenAI(base_url=f"{server.endpoint}/v1", api_key=token, default_headers=headers,
                      http_client=httpx.Client(verify=trusting(issuer)))

    alpha = client("alpha", ["Azure AI User"])
    conv = alpha.conversations.create(metadata={"topic": "tokens"}, items=[{"type": "message", "role": "user", "content": "hello"}])
    assert [i.type for i in alpha.conversations.items.list(conv.id)] == ["message"]
    with pytest.raises(NotFoundError):  # another tenant's token never reaches alpha's data
        client("beta", ["Azure AI User"]).conversations.retrieve(conv.id)
    with pytest.raises(PermissionDeniedError):  # nor by naming alpha's tenant
        client("beta", ["Foundry Project Manager"], **{"weft-tenant": "alpha"}).conversations.retrieve(conv.id)
    reader = client("alpha", ["weft.threads.read"])
    assert reader.conversations.retrieve(conv.id).id == conv.id
    with pytest.raises(PermissionDeniedError):
        reader.conversations.create(items=[])
    with pytest.raises(PermissionDeniedError):  # a search role grants nothing here
        client("alpha", ["Search Index Data Reader"]).conversations.retrieve(conv.id)
    # the audit records the token's issuer label and subject
    admin = httpx.get(f"{server.endpoint}/audit", params={"tenant": "alpha"},
                      headers={"api-key": server.admin_key, "weft-tenant": "alpha"}, verify=trusting(issuer))
    assert admin.status_code == 200, admin.text
    assert "idp:user-of-alpha" in {e["key_id"] for e in admin.json()["data"]}


def test_keys_and_tokens_together_and_alone(tmp_path_factory, pki, issuer, server):
    token = issuer.token(roles=["Search Service Contributor"])
    with httpx.Client(verify=trusting(issuer)) as http:
        # both (the default once an issuer is configured): either works; an api-key wins over a bearer
        assert http.get(server.url("/indexes"), headers={"api-key": server.admin_key}).status_code == 200
        assert http.get(server.url("/indexes"), headers={"Authorization": f"Bearer {token}"}).status_code == 200
        assert http.get(server.url("/indexes"), headers={"api-key": "wrong", "Authorization": f"Bearer {token}"}).status_code == 403
    tokens_only = _server(tmp_path_factory, pki, issuer, "--auth", "tokens")
    keys_only = _server(tmp_path_factory, pki, issuer, "--auth", "keys")
    try:
        with httpx.Client(verify=trusting(issuer)) as http:
            r = http.get(tokens_only.url("/indexes"), headers={"api-key": tokens_only.admin_key})
            assert r.status_code == 401 and "disabled" in r.json()["error"]["message"]
            r = http.get(f"{tokens_only.endpoint}/v1/conversations/conv_x", headers={"Authorization": f"Bearer {tokens_only.admin_key}"})
            assert r.status_code == 401
            assert http.get(tokens_only.url("/indexes"), headers={"Authorization": f"Bearer {token}"}).status_code == 200
            assert http.get(keys_only.url("/indexes"), headers={"api-key": keys_only.admin_key}).status_code == 200
            assert http.get(keys_only.url("/indexes"), headers={"Authorization": f"Bearer {token}"}).status_code == 403
    finally:
        tokens_only.stop()
        keys_only.stop()
    log = tokens_only.log_path.read_text()
    assert "Traceback" not in log


def test_sdk_credential_failure_is_a_client_error(server, issuer):
    bad = SearchClient(server.endpoint, "any", credential(issuer, "ops", "wrong-secret"))
    with pytest.raises(ClientAuthenticationError):
        bad.get_document_count()


def test_foundry_agents_client_with_a_token_credential(server, issuer):
    """azure-ai-agents' AgentsClient, unchanged, with azure-identity's credential: threads and messages over TLS.
    (Its agents and runs are not served by weft yet; AIProjectClient needs the project-scoped routes.)"""
    from azure.ai.agents import AgentsClient

    issuer.add_client("agent-app", "s5", roles=["Azure AI User"], oid="oid-agent-app", tid="contoso")
    client = AgentsClient(server.endpoint, credential(issuer, "agent-app", "s5"))
    thread = client.threads.create(metadata={"app": "foundry"})
    client.messages.create(thread_id=thread.id, role="user", content="hello over a token")
    texts = [m.content[0].text.value for m in client.messages.list(thread_id=thread.id)]
    assert texts == ["hello over a token"]
    # the thread belongs to the token's tenant: the admin key sees it only when acting for that tenant
    with httpx.Client(verify=trusting(issuer), headers={"api-key": server.admin_key}) as http:
        assert http.get(f"{server.endpoint}/threads/{thread.id}", headers={"weft-tenant": "contoso"}).status_code == 200
        assert http.get(f"{server.endpoint}/threads/{thread.id}").status_code == 404
