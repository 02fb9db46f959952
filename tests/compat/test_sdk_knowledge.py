"""Agentic retrieval through the unchanged Azure SDK: knowledge sources over a weft index, knowledge bases, status,
ETags, and KnowledgeBaseRetrievalClient.retrieve with intents (no chat model); the REST spellings Azure accepts;
bad input as 4xx."""
from __future__ import annotations

import json

import httpx
import pytest
from azure.core import MatchConditions
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError, ResourceModifiedError
from azure.search.documents import SearchClient
from azure.search.documents.indexes import SearchIndexClient
from azure.search.documents.indexes.models import (
    KnowledgeBase, KnowledgeSourceReference, SearchableField, SearchIndex, SearchIndexFieldReference, SearchIndexKnowledgeSource,
    SearchIndexKnowledgeSourceParameters, SemanticConfiguration, SemanticField, SemanticPrioritizedFields, SemanticSearch, SimpleField)
from azure.search.documents.knowledgebases import KnowledgeBaseRetrievalClient
from azure.search.documents.knowledgebases.models import (
    KnowledgeBaseRetrievalRequest, KnowledgeRetrievalSemanticIntent, SearchIndexKnowledgeSourceParams)

from tests.support.server import WeftServer

pytest.importorskip("sentence_transformers", reason="semantic reranking needs the local-embeddings extra")

PRODUCTS = [
    {"id": "p1", "name": "Trail running shoes", "description": "Light shoes with a grippy sole for muddy mountain trails.", "rating": 5},
    {"id": "p2", "name": "Road running shoes", "description": "Cushioned shoes for long runs on pavement.", "rating": 4},
    {"id": "p3", "name": "Rain shell", "description": "A waterproof jacket that keeps you dry on wet hikes.", "rating": 3},
    {"id": "p4", "name": "Camping stove", "description": "A small gas stove to boil water and cook at camp.", "rating": 4},
]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    srv = WeftServer(tmp_path_factory.mktemp("kb") / "data").start()
    cred = AzureKeyCredential(srv.admin_key)
    indexes = SearchIndexClient(srv.endpoint, cred)
    indexes.create_index(SearchIndex(
        name="products", fields=[SimpleField(name="id", type="Edm.String", key=True), SearchableField(name="name", type="Edm.String"),
                                 SearchableField(name="description", type="Edm.String"),
                                 SimpleField(name="rating", type="Edm.Int32", filterable=True)],
        semantic_search=SemanticSearch(configurations=[SemanticConfiguration(name="sem", prioritized_fields=SemanticPrioritizedFields(
            title_field=SemanticField(field_name="name"), content_fields=[SemanticField(field_name="description")]))])))
    SearchClient(srv.endpoint, "products", cred).upload_documents(PRODUCTS)
    yield srv, indexes
    srv.stop()


def test_sources_and_bases_lifecycle_through_the_sdk(env):
    srv, indexes = env
    source = indexes.create_knowledge_source(SearchIndexKnowledgeSource(
        name="products-ks", description="the catalogue",
        search_index_parameters=SearchIndexKnowledgeSourceParameters(
            search_index_name="products", source_data_fields=[SearchIndexFieldReference(name="name"), SearchIndexFieldReference(name="rating")])))
    assert source.name == "products-ks" and source.e_tag
    status = indexes.get_knowledge_source_status("products-ks")
    assert status.synchronization_status in ("creating", "active")
    base = indexes.create_knowledge_base(KnowledgeBase(name="shop-kb", description="v1", knowledge_sources=[KnowledgeSourceReference(name="products-ks")]))
    assert base.knowledge_sources[0].name == "products-ks" and base.e_tag
    base.description = "v2"
    updated = indexes.create_or_update_knowledge_base(base, match_condition=MatchConditions.IfNotModified)
    assert updated.description == "v2" and updated.e_tag != base.e_tag
    with pytest.raises(ResourceModifiedError):  # the old ETag no longer matches
        indexes.create_or_update_knowledge_base(base, match_condition=MatchConditions.IfNotModified)
    assert indexes.get_knowledge_base("shop-kb").description == "v2"
    assert [b.name for b in indexes.list_knowledge_bases()] == ["shop-kb"]
    assert [s.name for s in indexes.list_knowledge_sources()] == ["products-ks"]
    # a source in use cannot be deleted
    with pytest.raises(HttpResponseError) as err:
        indexes.delete_knowledge_source("products-ks")
    assert err.value.status_code == 409
    indexes.delete_knowledge_base(updated, match_condition=MatchConditions.IfNotModified)
    assert list(indexes.list_knowledge_bases()) == []
    indexes.delete_knowledge_source(source, match_condition=MatchConditions.IfNotModified)
    assert list(indexes.list_knowledge_sources()) == []


def test_retrieve_with_intents(env):
    srv, indexes = env
    indexes.create_or_update_knowledge_source(SearchIndexKnowledgeSource(
        name="cat", search_index_parameters=SearchIndexKnowledgeSourceParameters(search_index_name="products", semantic_configuration_name="sem")))
    indexes.create_or_update_knowledge_base(KnowledgeBase(name="kb", knowledge_sources=[KnowledgeSourceReference(name="cat")]))
    client = KnowledgeBaseRetrievalClient(srv.endpoint, AzureKeyCredential(srv.query_key), knowledge_base_name="kb")
    result = client.retrieve(KnowledgeBaseRetrievalRequest(
        intents=[KnowledgeRetrievalSemanticIntent(search="shoes for muddy trails")], include_activity=True,
        knowledge_source_params=[SearchIndexKnowledgeSourceParams(knowledge_source_name="cat", include_references=True,
                                                                  include_reference_source_data=True)]))
    chunks = json.loads(result.response[0].content[0].text)
    assert chunks[0]["title"] == "Trail running shoes" and chunks[0]["ref_id"] == 0
    refs = result.references
    assert refs[0].doc_key == "p1" and refs[0].reranker_score >= refs[-1].reranker_score and refs[0].source_data["name"] == "Trail running shoes"
    assert refs[0].activity_source == result.activity[0].id
    assert result.activity[0].type == "searchIndex" and result.activity[0].elapsed_ms >= 0
    # filterAddOn and rerankerThreshold through REST, on the OData path spelling
    r = httpx.post(srv.url("/knowledgebases('kb')/retrieve"), headers={"api-key": srv.query_key}, json={
        "intents": [{"type": "semantic", "search": "running shoes"}, {"type": "semantic", "search": "stay dry on a hike"}],
        "knowledgeSourceParams": [{"kind": "searchIndex", "knowledgeSourceName": "cat", "filterAddOn": "rating ge 4",
                                   "rerankerThreshold": 0.5, "includeReferenceSourceData": False}]})
    assert r.status_code == 200, r.text
    body = r.json()
    keys = [ref["docKey"] for ref in body["references"]]
    assert "p3" not in keys and set(keys) <= {"p1", "p2", "p4"} and {"p1", "p2"} <= set(keys)  # rating ge 4 keeps p3 out
    assert all(ref["rerankerScore"] >= 0.5 for ref in body["references"]) and "sourceData" not in body["references"][0]
    assert [a["searchIndexArguments"]["filter"] for a in body["activity"]] == ["rating ge 4", "rating ge 4"]
    # maxOutputSizeInTokens cuts the response to the best references that fit
    r = httpx.post(srv.url("/knowledgebases/kb/retrieve"), headers={"api-key": srv.query_key},
                   json={"intents": [{"type": "semantic", "search": "shoes"}], "maxOutputSizeInTokens": 40})
    assert len(json.loads(r.json()["response"][0]["content"][0]["text"])) == 1
    # a source over a deleted index: 206 with the error in the activity
    indexes.create_index(SearchIndex(name="gone", fields=[SimpleField(name="id", type="Edm.String", key=True),
                                                          SearchableField(name="t", type="Edm.String")]))
    indexes.create_or_update_knowledge_source(SearchIndexKnowledgeSource(
        name="gone-ks", search_index_parameters=SearchIndexKnowledgeSourceParameters(search_index_name="gone")))
    indexes.create_or_update_knowledge_base(KnowledgeBase(name="kb2", knowledge_sources=[
        KnowledgeSourceReference(name="cat"), KnowledgeSourceReference(name="gone-ks")]))
    indexes.delete_index("gone")
    r = httpx.post(srv.url("/knowledge-bases/kb2/retrieve"), headers={"api-key": srv.query_key},
                   json={"intents": [{"type": "semantic", "search": "shoes"}]})
    assert r.status_code == 206
    errors = [a for a in r.json()["activity"] if "error" in a]
    assert errors and errors[0]["knowledgeSourceName"] == "gone-ks" and r.json()["references"]


def test_refusals(env):
    srv, _ = env
    h = {"api-key": srv.admin_key}
    cases = [
        ("POST", "/knowledgesources", {"name": "w", "kind": "web", "webParameters": {}}, 400, "Bing web grounding"),
        ("POST", "/knowledgesources", {"name": "b", "kind": "azureBlob", "azureBlobParameters": {}}, 400, "Azure Blob Storage"),
        ("POST", "/knowledgesources", {"name": "x", "kind": "searchIndex", "searchIndexParameters": {"searchIndexName": "missing"}}, 400, "does not exist"),
        ("POST", "/knowledgesources", {"name": "x", "kind": "searchIndex", "searchIndexParameters": {"searchIndexName": "products",
                                       "sourceDataFields": [{"name": "nope"}]}}, 400, "nope"),
        ("POST", "/knowledgebases", {"name": "k", "knowledgeSources": [{"name": "missing"}]}, 400, "does not exist"),
        ("POST", "/knowledgebases", {"name": "k", "knowledgeSources": [{"name": "cat"}], "outputMode": "answerSynthesis"}, 400, "preview"),
        ("POST", "/knowledgebases", {"name": "k", "knowledgeSources": []}, 400, "knowledgeSources"),
        ("POST", "/knowledgebases/kb/retrieve", {"intents": []}, 400, "intents"),
        ("POST", "/knowledgebases/kb/retrieve", {"messages": [{"role": "user", "content": []}]}, 400, "preview"),
        ("POST", "/knowledgebases/kb/retrieve", {"intents": [{"type": "semantic", "search": "x"}], "maxRuntimeInSeconds": 0}, 400, "maxRuntimeInSeconds"),
        ("POST", "/knowledgebases/kb/retrieve", {"intents": [{"type": "semantic", "search": "x"}],
                                                 "knowledgeSourceParams": [{"knowledgeSourceName": "other"}]}, 400, "other"),
        ("POST", "/knowledgebases/nope/retrieve", {"intents": [{"type": "semantic", "search": "x"}]}, 404, "nope"),
        ("GET", "/knowledgesources/nope", None, 404, "nope"),
    ]
    for method, path, body, status, needle in cases:
        r = httpx.request(method, srv.url(path), headers=h, json=body)
        assert r.status_code == status and needle in r.json()["error"]["message"], (path, body, r.text)
    # the preview api-version: minimal effort and extractive data are served; planning with a model is refused by name
    preview = f"{srv.endpoint}/knowledgebases/kb/retrieve?api-version=2025-11-01-preview"
    r = httpx.post(preview, headers=h, json={"intents": [{"type": "semantic", "search": "stove"}],
                                             "retrievalReasoningEffort": {"kind": "minimal"}, "outputMode": "extractiveData"})
    assert r.status_code == 200 and r.json()["references"][0]["docKey"] == "p4"
    r = httpx.post(preview, headers=h, json={"messages": [{"role": "user", "content": [{"type": "text", "text": "stove?"}]}],
                                             "retrievalReasoningEffort": {"kind": "low"}})
    assert r.status_code == 400 and "chat model" in r.json()["error"]["message"]
    # the query key cannot manage knowledge definitions
    r = httpx.post(srv.url("/knowledgesources"), headers={"api-key": srv.query_key},
                   json={"name": "q", "kind": "searchIndex", "searchIndexParameters": {"searchIndexName": "products"}})
    assert r.status_code == 403
