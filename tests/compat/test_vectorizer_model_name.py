"""``modelName`` of an azureOpenAI vectorizer has Azure's effect, through the official SDK against a live weft:
the name is one of Azure's embedding models, the vector field must fit the model, and text-embedding-3 requests
carry ``dimensions`` for a narrower field. The embeddings endpoint is a fake that speaks Azure OpenAI's wire
protocol and behaves like the models do: a deployment returns its model's full size unless ``dimensions`` asks
for fewer (which ada-002 refuses, as Azure OpenAI does)."""
from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError
from azure.search.documents import SearchClient
from azure.search.documents.indexes import SearchIndexClient
from azure.search.documents.indexes.models import (
    AzureOpenAIVectorizer,
    AzureOpenAIVectorizerParameters,
    HnswAlgorithmConfiguration,
    SearchField,
    SearchFieldDataType,
    SearchIndex,
    SimpleField,
    VectorSearch,
    VectorSearchProfile,
)
from azure.search.documents.models import VectorizableTextQuery

from tests.support.server import WeftServer

FULL = {"ada": 1536, "small": 1536, "large": 3072}  # deployment -> its model's vector size


def fake_vector(text: str, n: int) -> list[float]:
    seed = sum(map(ord, text)) % 97 + 1
    return [((seed * (i + 1)) % 13) / 13.0 + 0.01 for i in range(n)]


class _AzureOpenAI(BaseHTTPRequestHandler):
    calls: list = []

    def do_POST(self):  # noqa: N802 - http.server API
        deployment = self.path.split("/openai/deployments/")[1].split("/")[0]
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _AzureOpenAI.calls.append((deployment, body))
        if "dimensions" in body and deployment == "ada":
            self._send(400, {"error": {"code": "invalid_request_error", "message": "This model does not support specifying dimensions."}})
            return
        n = body.get("dimensions", FULL[deployment])
        self._send(200, {"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": fake_vector(body["input"], n)}],
                         "model": deployment, "usage": {"prompt_tokens": 1, "total_tokens": 1}})

    def _send(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def endpoint():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _AzureOpenAI)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = WeftServer(tmp_path_factory.mktemp("weft") / "data", env={"WEFT_ALLOWED_MODEL_ENDPOINTS": "127.0.0.1"}).start()
    yield srv
    srv.stop()


def _index(endpoint: str, dims: int, deployment: str, model: str | None) -> SearchIndex:
    return SearchIndex(
        name=f"mn-{uuid.uuid4().hex[:8]}",
        fields=[SimpleField(name="id", type=SearchFieldDataType.String, key=True),
                SearchField(name="vec", type=SearchFieldDataType.Collection(SearchFieldDataType.Single), searchable=True,
                            vector_search_dimensions=dims, vector_search_profile_name="p")],
        vector_search=VectorSearch(
            algorithms=[HnswAlgorithmConfiguration(name="h")],
            profiles=[VectorSearchProfile(name="p", algorithm_configuration_name="h", vectorizer_name="aoai")],
            vectorizers=[AzureOpenAIVectorizer(vectorizer_name="aoai", parameters=AzureOpenAIVectorizerParameters(
                resource_url=endpoint, deployment_name=deployment, api_key="k", model_name=model))]),
    )


def _text_query(server, index: SearchIndex, text: str = "green tea"):
    client = SearchClient(server.endpoint, index.name, AzureKeyCredential(server.admin_key))
    assert all(r.succeeded for r in client.upload_documents([{"id": "1", "vec": fake_vector("green tea", index.fields[1].vector_search_dimensions)}]))
    return list(client.search(vector_queries=[VectorizableTextQuery(text=text, k_nearest_neighbors=1, fields="vec")], select=["id"]))


@pytest.mark.parametrize("dims, deployment, model, named", [
    (1536, "small", "text-embedding-4", "modelName"),
    (256, "ada", "text-embedding-ada-002", "exactly 1536"),
    (2000, "small", "text-embedding-3-small", "at most 1536"),
    (3073, "large", "text-embedding-3-large", "at most 3072"),
])
def test_definitions_the_model_cannot_fill_are_400s(server, endpoint, dims, deployment, model, named):
    indexes = SearchIndexClient(server.endpoint, AzureKeyCredential(server.admin_key))
    with pytest.raises(HttpResponseError) as err:
        indexes.create_index(_index(endpoint, dims, deployment, model))
    assert err.value.status_code == 400 and named in str(err.value.message)


@pytest.mark.parametrize("dims, deployment, model, sent", [
    (64, "small", "text-embedding-3-small", 64),
    (1024, "large", "text-embedding-3-large", 1024),
    (1536, "small", "text-embedding-3-small", None),  # the full size: nothing to shorten
    (3072, "large", "text-embedding-3-large", None),
    (1536, "ada", "text-embedding-ada-002", None),
])
def test_text_embedding_3_requests_carry_the_fields_dimensions(server, endpoint, dims, deployment, model, sent):
    indexes = SearchIndexClient(server.endpoint, AzureKeyCredential(server.admin_key))
    index = _index(endpoint, dims, deployment, model)
    indexes.create_index(index)
    try:
        _AzureOpenAI.calls.clear()
        assert [r["id"] for r in _text_query(server, index, f"query for {dims}")] == ["1"]
        (called, body), = _AzureOpenAI.calls
        assert called == deployment and body.get("dimensions") == sent
        assert indexes.get_index(index.name).vector_search.vectorizers[0].parameters.model_name == model  # returned as given
    finally:
        indexes.delete_index(index.name)


def test_without_model_name_no_dimensions_are_sent(server, endpoint):
    """The difference modelName makes: the same narrow field without it gets the deployment's full-size vectors,
    which do not fit (a 400 at query time, as before)."""
    indexes = SearchIndexClient(server.endpoint, AzureKeyCredential(server.admin_key))
    index = _index(endpoint, 64, "small", None)
    indexes.create_index(index)
    try:
        _AzureOpenAI.calls.clear()
        with pytest.raises(HttpResponseError) as err:
            _text_query(server, index)
        assert err.value.status_code == 400 and "1536 dimensions" in str(err.value.message)
        assert "dimensions" not in _AzureOpenAI.calls[-1][1]
    finally:
        indexes.delete_index(index.name)
