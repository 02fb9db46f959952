"""Vector and hybrid search through the official SDK (VectorizedQuery, VectorizableTextQuery)."""
from __future__ import annotations

import hashlib
import json
import math
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import numpy as np
import pytest
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError
from azure.search.documents import SearchClient
from azure.search.documents.indexes import SearchIndexClient
from azure.search.documents.indexes.models import (
    AzureOpenAIVectorizer,
    AzureOpenAIVectorizerParameters,
    ExhaustiveKnnAlgorithmConfiguration,
    ExhaustiveKnnParameters,
    HnswAlgorithmConfiguration,
    HnswParameters,
    SearchableField,
    SearchField,
    SearchFieldDataType,
    SearchIndex,
    SimpleField,
    VectorSearch,
    VectorSearchProfile,
)
from azure.search.documents.models import VectorizableTextQuery, VectorizedQuery

from tests.support.server import WeftServer

DIMS = 8
WORDS = ["red", "green", "blue", "apple", "car", "sky", "leaf", "fast"]


def embed_text(text: str) -> list[float]:
    """A deterministic toy embedding: a bag of known words, plus a hash component."""
    v = np.zeros(DIMS, dtype=np.float64)
    for token in text.lower().split():
        if token in WORDS:
            v[WORDS.index(token)] += 1.0
        else:
            v[int(hashlib.sha1(token.encode()).hexdigest(), 16) % DIMS] += 0.1
    norm = np.linalg.norm(v) or 1.0
    return [float(x) for x in v / norm]


class _EmbeddingHandler(BaseHTTPRequestHandler):
    calls: list = []

    def do_POST(self):  # noqa: N802 - http.server API
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _EmbeddingHandler.calls.append((self.path, self.headers.get("api-key"), body))
        payload = json.dumps({"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": embed_text(body["input"])}],
                              "model": "toy", "usage": {"prompt_tokens": 1, "total_tokens": 1}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def embedding_server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _EmbeddingHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


DOCS = [
    {"id": "1", "title": "red apple", "color": "red"},
    {"id": "2", "title": "green leaf", "color": "green"},
    {"id": "3", "title": "blue sky", "color": "blue"},
    {"id": "4", "title": "red car fast", "color": "red"},
    {"id": "5", "title": "green apple", "color": "green"},
    {"id": "6", "title": "blue car", "color": "blue"},
]


def _index(name: str, embedding_url: str) -> SearchIndex:
    return SearchIndex(
        name=name,
        fields=[
            SimpleField(name="id", type=SearchFieldDataType.String, key=True),
            SearchableField(name="title"),
            SimpleField(name="color", type=SearchFieldDataType.String, filterable=True, facetable=True),
            SearchField(name="vec", type=SearchFieldDataType.Collection(SearchFieldDataType.Single), searchable=True,
                        vector_search_dimensions=DIMS, vector_search_profile_name="hnsw-profile"),
            SearchField(name="vec_exact", type=SearchFieldDataType.Collection(SearchFieldDataType.Single), searchable=True,
                        vector_search_dimensions=DIMS, vector_search_profile_name="exact-profile"),
        ],
        vector_search=VectorSearch(
            algorithms=[
                HnswAlgorithmConfiguration(name="hnsw", parameters=HnswParameters(metric="cosine", m=4, ef_construction=400, ef_search=500)),
                ExhaustiveKnnAlgorithmConfiguration(name="exact", parameters=ExhaustiveKnnParameters(metric="euclidean")),
            ],
            profiles=[
                VectorSearchProfile(name="hnsw-profile", algorithm_configuration_name="hnsw", vectorizer_name="toy"),
                VectorSearchProfile(name="exact-profile", algorithm_configuration_name="exact"),
            ],
            vectorizers=[
                AzureOpenAIVectorizer(vectorizer_name="toy", parameters=AzureOpenAIVectorizerParameters(
                    resource_url=embedding_url, deployment_name="toy-deployment", api_key="upstream-key", model_name="text-embedding-3-small")),
            ],
        ),
    )


def _docs():
    return [dict(d, vec=embed_text(d["title"]), vec_exact=embed_text(d["title"])) for d in DOCS]


def _cosine_ranking(query: list[float], keys=None) -> list[str]:
    q = np.asarray(query)
    scored = []
    for d in DOCS:
        if keys is not None and d["id"] not in keys:
            continue
        v = np.asarray(embed_text(d["title"]))
        scored.append((-(v @ q) / (np.linalg.norm(v) * np.linalg.norm(q)), d["id"]))
    return [k for _, k in sorted(scored)]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # the toy embeddings endpoint runs on the loopback: the operator allows it (WEFT_ALLOWED_MODEL_ENDPOINTS)
    srv = WeftServer(tmp_path_factory.mktemp("weft") / "data", env={"WEFT_ALLOWED_MODEL_ENDPOINTS": "127.0.0.1"}).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def vectors(server, embedding_server):
    name = f"vec-{uuid.uuid4().hex[:6]}"
    index_client = SearchIndexClient(server.endpoint, AzureKeyCredential(server.admin_key))
    index_client.create_index(_index(name, embedding_server))
    client = SearchClient(server.endpoint, name, AzureKeyCredential(server.admin_key))
    client.weft_index_name = name
    assert all(r.succeeded for r in client.upload_documents(_docs()))
    yield client
    index_client.delete_index(name)


def test_index_definition_round_trips(vectors, server):
    index = SearchIndexClient(server.endpoint, AzureKeyCredential(server.admin_key)).get_index(vectors.weft_index_name)
    vec = next(f for f in index.fields if f.name == "vec")
    assert vec.vector_search_dimensions == DIMS and vec.vector_search_profile_name == "hnsw-profile"
    assert {a.name for a in index.vector_search.algorithms} == {"hnsw", "exact"}


def test_pure_vector_query_ranks_by_similarity(vectors):
    query = embed_text("red apple")
    results = list(vectors.search(vector_queries=[VectorizedQuery(vector=query, k_nearest_neighbors=3, fields="vec")], select=["id"]))
    assert [r["id"] for r in results] == _cosine_ranking(query)[:3]
    scores = [r["@search.score"] for r in results]
    assert scores == sorted(scores, reverse=True)
    assert math.isclose(scores[0], 1.0, abs_tol=1e-3)  # identical vector: cosine distance 0 -> 1/(1+0)
    exact = list(vectors.search(vector_queries=[VectorizedQuery(vector=query, k_nearest_neighbors=6, fields="vec_exact")], select=["id"]))
    assert [r["id"] for r in exact][0] == "1"
    assert len(exact) == 6


def test_vector_filters_pre_and_post(vectors):
    query = embed_text("red apple")
    pre = list(vectors.search(vector_queries=[VectorizedQuery(vector=query, k_nearest_neighbors=2, fields="vec")], filter="color eq 'green'", select=["id"]))
    assert [r["id"] for r in pre] == ["5", "2"]  # green apple shares 'apple'; green leaf shares nothing
    post = list(vectors.search(vector_queries=[VectorizedQuery(vector=query, k_nearest_neighbors=2, fields="vec")], filter="color eq 'green'",
                               vector_filter_mode="postFilter", select=["id"]))
    top2 = _cosine_ranking(query)[:2]
    assert [r["id"] for r in post] == [k for k in top2 if k in {"2", "5"}]


def test_hybrid_query_fuses_with_rrf(vectors):
    query = embed_text("blue sky")
    results = list(vectors.search(search_text="car", vector_queries=[VectorizedQuery(vector=query, k_nearest_neighbors=2, fields="vec")], select=["id"]))
    text_rank = [r["id"] for r in vectors.search(search_text="car", select=["id"])]
    vector_rank = _cosine_ranking(query)[:2]  # blue sky, blue car (the rest tie at 0)
    expected: dict[str, float] = {}
    for ranking in (text_rank, vector_rank):
        for i, key in enumerate(ranking, start=1):
            expected[key] = expected.get(key, 0.0) + 1.0 / (60 + i)
    got = {r["id"]: r["@search.score"] for r in results}
    assert set(got) == set(expected)
    for key, score in expected.items():
        assert math.isclose(got[key], score, rel_tol=1e-6)
    assert results[0]["id"] == "6"  # "blue car" is in both lists


def test_text_vector_query_uses_the_vectorizer(vectors):
    _EmbeddingHandler.calls.clear()
    results = list(vectors.search(vector_queries=[VectorizableTextQuery(text="green leaf", k_nearest_neighbors=1, fields="vec")], select=["id"]))
    assert [r["id"] for r in results] == ["2"]
    path, key, body = _EmbeddingHandler.calls[-1]
    assert path.startswith("/openai/deployments/toy-deployment/embeddings") and key == "upstream-key" and body["input"] == "green leaf"
    with pytest.raises(HttpResponseError) as err:  # no vectorizer on that field's profile
        list(vectors.search(vector_queries=[VectorizableTextQuery(text="x", k_nearest_neighbors=1, fields="vec_exact")]))
    assert err.value.status_code == 400


def test_vector_validation_errors(vectors):
    for bad in (
        [VectorizedQuery(vector=[1.0, 2.0], k_nearest_neighbors=1, fields="vec")],  # wrong dimensions
        [VectorizedQuery(vector=embed_text("x"), k_nearest_neighbors=1, fields="title")],  # not a vector field
    ):
        with pytest.raises(HttpResponseError) as err:
            list(vectors.search(vector_queries=bad))
        assert err.value.status_code == 400
    with pytest.raises(HttpResponseError) as err:
        vectors.upload_documents([{"id": "bad", "vec": [1.0, 2.0]}])
    assert err.value.status_code == 400


def test_deletes_and_merges_update_vectors(server, embedding_server):
    name = f"vecw-{uuid.uuid4().hex[:6]}"
    SearchIndexClient(server.endpoint, AzureKeyCredential(server.admin_key)).create_index(_index(name, embedding_server))
    client = SearchClient(server.endpoint, name, AzureKeyCredential(server.admin_key))
    client.upload_documents(_docs())
    query = embed_text("red apple")
    client.delete_documents([{"id": "1"}])
    client.merge_documents([{"id": "3", "vec": embed_text("red apple")}])
    results = [r["id"] for r in client.search(vector_queries=[VectorizedQuery(vector=query, k_nearest_neighbors=2, fields="vec")], select=["id"])]
    assert results[0] == "3" and "1" not in results
    # vectors are retrievable (stored as Edm.Single, so float32 precision) and merges keep the ones not named
    assert np.allclose(client.get_document("3")["vec"], embed_text("red apple"), atol=1e-6)
    client.merge_documents([{"id": "2", "title": "renamed"}])
    assert np.allclose(client.get_document("2")["vec"], embed_text("green leaf"), atol=1e-6)
    full = next(iter(client.search(search_text="renamed")))
    assert len(full["vec"]) == DIMS and full["title"] == "renamed"


def test_vectors_survive_restart_and_kill(tmp_path, embedding_server):
    server = WeftServer(tmp_path / "data", env={"WEFT_ALLOWED_MODEL_ENDPOINTS": "127.0.0.1"}).start()
    try:
        SearchIndexClient(server.endpoint, AzureKeyCredential(server.admin_key)).create_index(_index("vecr", embedding_server))
        client = SearchClient(server.endpoint, "vecr", AzureKeyCredential(server.admin_key))
        client.upload_documents(_docs())
        query = embed_text("blue car")

        def ranking():
            c = SearchClient(server.endpoint, "vecr", AzureKeyCredential(server.admin_key))
            hits = c.search(vector_queries=[VectorizedQuery(vector=query, k_nearest_neighbors=6, fields="vec")], select=["id"])
            # ties (equal similarity) may come in any order: compare by (score, id)
            return [r["id"] for r in sorted(hits, key=lambda r: (-round(r["@search.score"], 5), r["id"]))]

        before = ranking()
        assert server.stop() == 0  # clean stop saves the vector index
        assert (tmp_path / "data" / "search" / "indexes" / "vecr" / "vectors" / "vec.json").exists()
        server.start()
        assert ranking() == before
        SearchClient(server.endpoint, "vecr", AzureKeyCredential(server.admin_key)).delete_documents([{"id": "6"}])
        server.kill()  # the saved index is stale now: it must be rebuilt from the documents
        server.start()
        assert ranking() == [k for k in before if k != "6"]
    finally:
        server.kill()
