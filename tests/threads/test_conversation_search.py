"""Search over past conversations: per-tenant indexes fed through SearchService.apply_batch, text/vector/hybrid
queries, tenant isolation, deletes and retention purges following the store, and reconciliation after a crash
between the store commit and the index write."""
from __future__ import annotations

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.threads.live import ThreadsServer
from weft.search.service import SearchService
from weft.threads.policy import Principal
from weft.threads.search_index import ConversationIndex, ConversationSearchSettings, index_name_for
from weft.threads.service import ThreadService
from weft.threads.store import SqlThreadStore

DIMS = 8
# A toy embedding with "meaning": words of one concept share a dimension, so a vector query finds an item
# that shares no word with it.
CONCEPTS = [
    {"refund", "reimburse", "reimbursement", "money", "refunded"},
    {"parcel", "delivery", "shipping", "package", "courier"},
    {"password", "login", "credentials", "account"},
    {"weather", "rain", "sunny", "forecast"},
]


def embed_text(text: str) -> list[float]:
    v = [0.0] * DIMS
    for token in "".join(ch if ch.isalnum() else " " for ch in text.lower()).split():
        for n, concept in enumerate(CONCEPTS):
            if token in concept:
                v[n] += 1.0
                break
        else:
            v[4 + int(hashlib.sha1(token.encode()).hexdigest(), 16) % 4] += 0.1
    norm = sum(x * x for x in v) ** 0.5 or 1.0
    return [x / norm for x in v]


class FakeEmbeddings:
    """An OpenAI-compatible `POST /embeddings` server; `failing` makes it answer 500."""

    def __init__(self):
        self.failing = False
        self.calls = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server API
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                owner.calls += 1
                if owner.failing or self.headers.get("authorization") != "Bearer emb-key":
                    self.send_response(500)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                payload = json.dumps({"object": "list", "model": body.get("model"), "data": [
                    {"object": "embedding", "index": 0, "embedding": embed_text(body["input"])}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def vectorizer(self) -> dict:
        return {"kind": "openAICompatible", "openAICompatibleParameters": {"baseUrl": self.base_url, "apiKey": "emb-key", "model": "toy"}}

    def stop(self) -> None:
        self.httpd.shutdown()


@pytest.fixture(scope="module")
def embeddings():
    server = FakeEmbeddings()
    yield server
    server.stop()


def _env(embeddings: FakeEmbeddings, tenants: str) -> dict[str, str]:
    return {"WEFT_CONVERSATION_SEARCH_TENANTS": tenants, "WEFT_CONVERSATION_EMBEDDINGS": json.dumps(embeddings.vectorizer()),
            "WEFT_CONVERSATION_EMBEDDING_DIMENSIONS": str(DIMS), "WEFT_RETENTION_INTERVAL": "0.3",
            "WEFT_CONVERSATION_SEARCH_INTERVAL": "0.5"}


@pytest.fixture(scope="module")
def server(tmp_path_factory, embeddings):
    s = ThreadsServer(tmp_path_factory.mktemp("conv-search") / "data", env=_env(embeddings, "acme,beta")).start()
    yield s
    s.stop()


def _key(server: ThreadsServer, tenant: str, *scopes: str) -> str:
    r = httpx.post(f"{server.endpoint}/v1/keys", json={"tenant": tenant, "scopes": list(scopes) or ["read", "write"]},
                   headers=server.headers())
    assert r.status_code == 200, r.text
    return r.json()["key"]


def _conversation(server: ThreadsServer, key: str, *messages: tuple[str, str], retention: int | None = None) -> tuple[str, list[str]]:
    body: dict = {"items": [{"type": "message", "role": role, "content": text} for role, text in messages]}
    if retention is not None:
        body["retention_seconds"] = retention
    r = httpx.post(f"{server.endpoint}/v1/conversations", json={k: v for k, v in body.items() if k != "items"}, headers=server.headers(key))
    assert r.status_code == 200, r.text
    conv = r.json()["id"]
    r = httpx.post(f"{server.endpoint}/v1/conversations/{conv}/items", json=body if body["items"] else {}, headers=server.headers(key))
    assert r.status_code == 200, r.text
    return conv, [i["id"] for i in r.json()["data"]]


def _search(server: ThreadsServer, key: str, query: str, **params) -> list[dict]:
    r = httpx.post(f"{server.endpoint}/v1/conversations/search", json={"query": query, **params}, headers=server.headers(key))
    assert r.status_code == 200, r.text
    return r.json()["data"]


def _wait(predicate, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    assert predicate(), "timed out"


@pytest.fixture(scope="module")
def acme(server):
    key = _key(server, "acme")
    refund, refund_items = _conversation(server, key, ("user", "I want a refund for my broken order"),
                                         ("assistant", "Your refund was issued today"))
    parcel, parcel_items = _conversation(server, key, ("user", "Where is my parcel? The courier never came"))
    login, login_items = _conversation(server, key, ("user", "I forgot my password and cannot sign in"))
    return {"key": key, "refund": (refund, refund_items), "parcel": (parcel, parcel_items), "login": (login, login_items)}


def test_text_search_finds_the_items_with_the_words(server, acme):
    found = _search(server, acme["key"], "refund", mode="text")
    assert {f["item_id"] for f in found} == set(acme["refund"][1])
    assert all(f["conversation_id"] == acme["refund"][0] and f["score"] > 0 for f in found)
    only_assistant = _search(server, acme["key"], "refund", mode="text", role="assistant")
    assert [f["item_id"] for f in only_assistant] == [acme["refund"][1][1]]
    assert only_assistant[0]["text"] == "Your refund was issued today" and only_assistant[0]["role"] == "assistant"
    assert _search(server, acme["key"], "refund", mode="text", conversation_id=acme["parcel"][0]) == []


def test_vector_search_finds_items_by_meaning(server, acme):
    found = _search(server, acme["key"], "reimbursement of money", mode="vector", top=2)
    assert found and all(f["conversation_id"] == acme["refund"][0] for f in found)
    delivery = _search(server, acme["key"], "package shipping status", mode="vector", top=1)
    assert delivery[0]["item_id"] == acme["parcel"][1][0]
    # no shared word: text search finds nothing
    assert _search(server, acme["key"], "reimbursement", mode="text") == []


def test_hybrid_search_fuses_text_and_vectors(server, acme):
    found = _search(server, acme["key"], "password credentials", mode="hybrid", top=3)
    assert found[0]["item_id"] == acme["login"][1][0]
    # default mode with embeddings configured is hybrid
    r = httpx.post(f"{server.endpoint}/v1/conversations/search", json={"query": "courier"}, headers=server.headers(acme["key"]))
    assert r.json()["mode"] == "hybrid" and r.json()["data"][0]["conversation_id"] == acme["parcel"][0]


def test_tenants_never_see_each_others_items(server, acme):
    beta = _key(server, "beta")
    beta_conv, beta_items = _conversation(server, beta, ("user", "beta also wants a refund"))
    acme_found = _search(server, acme["key"], "refund", mode="text")
    assert beta_conv not in {f["conversation_id"] for f in acme_found}
    beta_found = _search(server, beta, "refund", mode="hybrid", top=50)
    assert {f["conversation_id"] for f in beta_found} == {beta_conv}
    # filtering on another tenant's conversation id finds nothing: the index is the caller's
    assert _search(server, beta, "refund", mode="text", conversation_id=acme["refund"][0]) == []
    # a tenant key cannot name another tenant
    r = httpx.post(f"{server.endpoint}/v1/conversations/search", json={"query": "refund"},
                   headers=server.headers(beta, tenant="acme"))
    assert r.status_code == 403
    # the admin key acting for beta sees beta only
    admin = httpx.post(f"{server.endpoint}/v1/conversations/search", json={"query": "refund", "mode": "text"},
                       headers=server.headers(tenant="beta")).json()["data"]
    assert {f["conversation_id"] for f in admin} == {beta_conv}


def test_a_tenant_that_did_not_opt_in_has_no_search(server):
    key = _key(server, "gamma")
    _conversation(server, key, ("user", "refund please"))
    r = httpx.post(f"{server.endpoint}/v1/conversations/search", json={"query": "refund"}, headers=server.headers(key))
    assert r.status_code == 400 and r.json()["error"]["code"] == "conversation_search_disabled"
    reader = _key(server, "gamma", "read")
    r = httpx.post(f"{server.endpoint}/v1/tenants/gamma/conversation-search", json={"enabled": True}, headers=server.headers(reader))
    assert r.status_code == 403


def test_opting_in_backfills_existing_conversations(server):
    key = _key(server, "delta")
    conv, items = _conversation(server, key, ("user", "old weather forecast question"))
    r = httpx.post(f"{server.endpoint}/v1/tenants/delta/conversation-search", json={"enabled": True}, headers=server.headers())
    assert r.status_code == 200 and r.json()["enabled"] and r.json()["vectors"] and r.json()["index"] == index_name_for("delta")
    _wait(lambda: [f["item_id"] for f in _search(server, key, "forecast", mode="text")] == items)
    r = httpx.post(f"{server.endpoint}/v1/tenants/delta/conversation-search", json={"reindex": True}, headers=server.headers())
    assert r.status_code == 200
    _wait(lambda: [f["item_id"] for f in _search(server, key, "forecast", mode="text")] == items)
    r = httpx.delete(f"{server.endpoint}/v1/tenants/delta/conversation-search", headers=server.headers())
    assert r.json()["enabled"] is False


def test_deletes_and_retention_purge_remove_items_from_the_index(server, acme):
    key = acme["key"]
    conv, items = _conversation(server, key, ("user", "zebra one"), ("user", "zebra two"))
    assert len(_search(server, key, "zebra", mode="text")) == 2
    r = httpx.delete(f"{server.endpoint}/v1/conversations/{conv}/items/{items[0]}", headers=server.headers(key))
    assert r.status_code == 200
    assert [f["item_id"] for f in _search(server, key, "zebra", mode="text")] == [items[1]]
    r = httpx.delete(f"{server.endpoint}/v1/conversations/{conv}", headers=server.headers(key))
    assert r.status_code == 200
    assert _search(server, key, "zebra", mode="hybrid") == [] or all(f["conversation_id"] != conv for f in _search(server, key, "zebra", mode="hybrid"))
    assert _search(server, key, "zebra", mode="text") == []
    # retention: an idle conversation is purged by the job, and its items leave the index
    expiring, expiring_items = _conversation(server, key, ("user", "giraffe soon forgotten"), retention=1)
    assert [f["item_id"] for f in _search(server, key, "giraffe", mode="text")] == expiring_items
    _wait(lambda: _search(server, key, "giraffe", mode="text") == [])
    assert httpx.get(f"{server.endpoint}/v1/conversations/{expiring}", headers=server.headers(key)).status_code == 404


def test_kill_minus_nine_before_indexing_is_reconciled_after_restart(tmp_path, embeddings):
    """The embeddings endpoint is down, so the index cannot follow the (acknowledged) append; the server is
    killed with SIGKILL; after a restart the journal row is reconciled from the store."""
    server = ThreadsServer(tmp_path / "data", env={**_env(embeddings, "acme"), "WEFT_CONVERSATION_SEARCH_INTERVAL": "0"}).start()
    try:
        key = _key(server, "acme")
        embeddings.failing = True
        try:
            conv, items = _conversation(server, key, ("user", "okapi sighting report"))
            assert _search(server, key, "okapi", mode="text") == []  # stored, not indexed
            server.kill()
        finally:
            embeddings.failing = False
        server.start()
        _wait(lambda: [f["item_id"] for f in _search(server, key, "okapi", mode="text")] == items)
        assert [f["item_id"] for f in _search(server, key, "okapi sighting", mode="vector", top=1)] == items
    finally:
        server.kill()


# ---- in process: a process that dies between the store commit and the index write ----------------------------

class _Died(BaseException):
    pass


def test_an_intent_left_by_a_dead_process_is_reconciled(tmp_path):
    search = SearchService(tmp_path / "search")
    store = SqlThreadStore(f"sqlite:///{tmp_path / 'threads.sqlite3'}")
    service = ThreadService(store)
    journal = tmp_path / "conversation-search.sqlite3"
    settings = ConversationSearchSettings(tenants=("acme",), interval_seconds=0)
    first = ConversationIndex(search, service, journal, settings)
    service.index_hooks = first
    acme = Principal.library("acme")
    conv, _ = service.create_conversation(acme, items=[{"role": "user", "content": "kept walrus"}])
    gone, _ = service.create_conversation(acme, items=[{"role": "user", "content": "deleted walrus"}])
    first.reconcile()  # the opt-in backfill row

    def die(*args, **kwargs):
        raise _Died()

    first._upload = die
    first._delete_conversation_docs = die
    with pytest.raises(_Died):
        service.append_items(acme, conv.id, [{"role": "assistant", "content": "walrus appended before the crash"}])
    with pytest.raises(_Died):
        service.delete_conversation(acme, gone.id)
    assert len(service.history(acme, conv.id)) == 2  # the store committed both writes
    assert first.journal.pending_count() == 2
    found = first.search_items("acme", {"query": "walrus"})["data"]
    assert {f["conversation_id"] for f in found} == {conv.id, gone.id} and len(found) == 2  # the index lags

    # "restart": a new process generation on the same journal and index
    first.journal.close()
    second = ConversationIndex(search, service, journal, settings)
    service.index_hooks = second
    assert second.reconcile() == 2
    found = second.search_items("acme", {"query": "walrus", "top": 10})["data"]
    assert {f["text"] for f in found} == {"kept walrus", "walrus appended before the crash"}
    assert second.journal.pending_count() == 0
    second.journal.close()
    search.close()
    store.close()


def test_index_names_are_per_tenant_and_valid():
    from weft.search.schema import validate_index_name

    names = {index_name_for(t) for t in ("acme", "Acme", "a.c.m.e", "a_c_m_e", "-", "x" * 64)}
    assert len(names) == 6
    for n in names:
        validate_index_name(n)


def test_search_conversations_agent_tool(server, acme):
    from weft.agent_tools.api_client import WeftApi
    from weft.agent_tools.tools import build_tools, call_tool, export_openai

    assert "search_conversations" not in {t.name for t in build_tools()}
    tools = build_tools(conversations=True)
    assert [t.name for t in tools] == ["search_documents", "get_document", "get_conversation_history", "append_to_conversation",
                                       "search_conversations"]
    schema = next(t for t in export_openai(tools) if t["function"]["name"] == "search_conversations")["function"]["parameters"]
    assert schema["required"] == ["query"]
    api = WeftApi(server.endpoint, acme["key"])
    try:
        found = json.loads(call_tool(tools, api, "search_conversations", {"query": "refund", "mode": "text", "role": "assistant"}))
        assert [f["item_id"] for f in found] == [acme["refund"][1][1]]
        by_meaning = json.loads(call_tool(tools, api, "search_conversations", {"query": "package shipping", "top": 1}))
        assert by_meaning[0]["conversation_id"] == acme["parcel"][0]
        bad = json.loads(call_tool(tools, api, "search_conversations", {"query": "x", "mode": "nope"}))
        assert bad["status"] == 400
    finally:
        api.close()


def test_concurrent_appends_are_all_indexed(server, acme):
    key = acme["key"]
    conv, _ = _conversation(server, key, ("user", "start of a busy conversation"))
    acked: list[str] = []
    lock = threading.Lock()

    def writer(w: int) -> None:
        with httpx.Client(timeout=30) as client:
            for n in range(15):
                r = client.post(f"{server.endpoint}/v1/conversations/{conv}/items", headers=server.headers(key),
                                json={"items": [{"role": "user", "content": f"busy writer {w} message {n}"}]})
                assert r.status_code == 200, r.text
                with lock:
                    acked.append(r.json()["data"][0]["id"])

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(acked) == 60
    found = _search(server, key, "*", mode="text", conversation_id=conv, top=100)
    assert {f["item_id"] for f in found} >= set(acked) and len(found) == 61


def test_text_only_index_follows_import_item_delete_purge_and_shred(tmp_path):
    from weft.threads.clock import ManualClock
    from weft.threads.service import PendingItem

    search = SearchService(tmp_path / "search")
    store = SqlThreadStore(f"sqlite:///{tmp_path / 'threads.sqlite3'}")
    clock = ManualClock()
    service = ThreadService(store, clock=clock, master_key=bytes(32), encryption=True)
    index = ConversationIndex(search, service, tmp_path / "journal.sqlite3", ConversationSearchSettings(tenants=("acme",)))
    service.index_hooks = index
    acme = Principal.library("acme")
    admin = Principal("acme", frozenset({"admin"}), key_id="admin", server_admin=True)

    imported = service.import_conversation(acme, {"id": "conv_imported", "metadata": {}}, [
        PendingItem("message", "user", {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "imported lynx"}]},
                    id="msg_imported")])
    conv, items = service.create_conversation(acme, items=[{"role": "user", "content": "lynx one"}, {"role": "user", "content": "lynx two"}],
                                              retention_seconds=60)
    other, _ = service.create_conversation(Principal.library("other"), items=[{"role": "user", "content": "lynx elsewhere"}])

    def ids():
        return {f["item_id"] for f in index.search_items("acme", {"query": "lynx", "mode": "text", "top": 50})["data"]}

    assert ids() == {"msg_imported", items[0].id, items[1].id} and imported.id == "conv_imported"
    with pytest.raises(Exception):
        index.search_items("acme", {"query": "lynx", "mode": "vector"})  # no embeddings configured
    service.delete_item(acme, conv.id, items[0].id)
    assert ids() == {"msg_imported", items[1].id}
    clock.advance(seconds=61)
    assert service.purge_expired() == [conv.id]
    assert ids() == {"msg_imported"}
    assert index.journal.pending_count() == 1  # the opt-in backfill row only (no worker running here)
    service.destroy_tenant_data_key(admin, "acme")
    assert not index.enabled("acme") and index_name_for("acme") not in search.index_names()
    index.journal.close()
    search.close()
    store.close()


@pytest.mark.parametrize("noticed_by", ["reconcile", "search"])
def test_a_shred_made_elsewhere_deletes_the_index_too(tmp_path, noticed_by):
    # the CLI's `weft keys shred-tenant` (or another node) destroys the key through its own service, where this
    # server's index hook does not run: the index (plaintext terms in its files) goes at its next pass or search
    search = SearchService(tmp_path / "search")
    url = f"sqlite:///{tmp_path / 'threads.sqlite3'}"
    store, cli_store = SqlThreadStore(url), SqlThreadStore(url)
    service = ThreadService(store, master_key=bytes(32), encryption=True)
    index = ConversationIndex(search, service, tmp_path / "journal.sqlite3", ConversationSearchSettings(tenants=("acme",)))
    service.index_hooks = index
    acme = Principal.library("acme")
    service.create_conversation(acme, items=[{"role": "user", "content": "lynx secret"}])
    index.reconcile()
    assert len(index.search_items("acme", {"query": "lynx", "mode": "text"})["data"]) == 1
    cli = ThreadService(cli_store, master_key=bytes(32), encryption=True)  # no index hooks, like the CLI's
    cli.destroy_tenant_data_key(Principal("acme", frozenset({"admin"}), key_id="cli", server_admin=True), "acme")
    assert index.enabled("acme")  # not noticed yet
    if noticed_by == "reconcile":
        index.reconcile()
    else:
        with pytest.raises(Exception) as refused:
            index.search_items("acme", {"query": "lynx", "mode": "text"})
        assert getattr(refused.value, "code", None) == "conversation_search_disabled"
    assert not index.enabled("acme") and index_name_for("acme") not in search.index_names()
    index.journal.close()
    search.close()
    store.close()
    cli_store.close()
