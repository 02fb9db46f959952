"""Semantic ranking through the unchanged Azure SDK: the local reranker (all-MiniLM-L6-v2 in-process) reorders a
small labelled set toward the relevant documents; captions and answers in Azure's shape; a remote /rerank
reranker over HTTP; partial responses (206) and failures (503) when the reranker is slow, down or garbled; bad
input as 400s naming the parameter."""
from __future__ import annotations

import httpx
import pytest
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError
from azure.search.documents import SearchClient
from azure.search.documents.indexes import SearchIndexClient
from azure.search.documents.indexes.models import (
    SearchableField, SearchIndex, SemanticConfiguration, SemanticField, SemanticPrioritizedFields, SemanticSearch, SimpleField)

from tests.support.reranker import RerankServer
from tests.support.server import WeftServer

pytest.importorskip("sentence_transformers", reason="the local reranker needs the local-embeddings extra")

# (id, title, content): for each query, one relevant document and keyword-stuffed distractors that BM25 prefers
DOCS = [
    ("cat", "Caring for an older feline", "An old cat needs a vet check twice a year, softer food and a warm place to sleep."),
    ("car", "Keep it running", "How do I keep my car healthy? How do I keep it healthy? Keep, keep, keep: how do I keep my car healthy every year."),
    ("bread", "Sourdough at home", "Feed the starter, fold the dough every half hour and bake it hot in a covered pot for a crisp crust."),
    ("bake", "Bake sale", "Bake bake bake: the school bake sale needs bakers who bake bread, bake cakes and bake anything."),
    ("rain", "Staying dry outdoors", "A breathable shell jacket with taped seams keeps you dry when it pours on a mountain hike."),
    ("wet", "Wet", "Wet wet wet: the band played in the wet weather and everyone got wet, wet through, jacket wet."),
]
LABELLED = [  # query -> the relevant document
    ("how do I keep my old cat healthy", "cat"),
    ("how to bake bread with a crisp crust", "bread"),
    ("what jacket keeps me dry in wet weather", "rain"),
]


def _index(name: str) -> SearchIndex:
    return SearchIndex(
        name=name,
        fields=[SimpleField(name="id", type="Edm.String", key=True), SearchableField(name="title", type="Edm.String"),
                SearchableField(name="content", type="Edm.String")],
        semantic_search=SemanticSearch(default_configuration_name="sem", configurations=[SemanticConfiguration(
            name="sem", prioritized_fields=SemanticPrioritizedFields(title_field=SemanticField(field_name="title"),
                                                                     content_fields=[SemanticField(field_name="content")]))]))


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    srv = WeftServer(tmp_path_factory.mktemp("semantic") / "data").start()
    SearchIndexClient(srv.endpoint, AzureKeyCredential(srv.admin_key)).create_index(_index("sem-docs"))
    client = SearchClient(srv.endpoint, "sem-docs", AzureKeyCredential(srv.admin_key))
    client.upload_documents([{"id": i, "title": t, "content": c} for i, t, c in DOCS])
    yield srv, client
    srv.stop()


def test_reranking_moves_the_relevant_document_up(local):
    _, client = local
    bm25_hits, semantic_hits = 0, 0
    for query, relevant in LABELLED:
        bm25 = [d["id"] for d in client.search(query, top=6)]
        results = list(client.search(query, query_type="semantic", semantic_configuration_name="sem", top=6))
        ranked = [d["id"] for d in results]
        assert sorted(ranked) == sorted(bm25)  # the same candidates, reordered
        scores = [d["@search.reranker_score"] for d in results]
        assert scores == sorted(scores, reverse=True) and all(0 <= s <= 4 for s in scores)
        bm25_hits += bm25[0] == relevant
        semantic_hits += ranked[0] == relevant
    assert bm25_hits < len(LABELLED)  # the distractors win on keywords...
    assert semantic_hits == len(LABELLED)  # ...and semantic ranking puts every relevant document first


def test_captions_and_answers_have_azures_shape(local):
    _, client = local
    results = client.search("how do I keep my old cat healthy", query_type="semantic", query_caption="extractive",
                            query_caption_highlight_enabled=True, query_answer="extractive", query_answer_count=2,
                            query_answer_threshold=0.3, top=3)
    docs = list(results)
    caption = docs[0]["@search.captions"][0]
    assert caption.text.startswith("An old cat") and "<em>" not in caption.text
    assert "<em>old</em> <em>cat</em>" in caption.highlights
    answers = results.get_answers()
    assert answers and answers[0].key == "cat" and 0 < answers[0].score <= 1 and answers[0].text
    # no answers when the threshold is out of reach
    strict = client.search("how do I keep my old cat healthy", query_type="semantic", query_answer="extractive",
                           query_answer_threshold=1.0)
    list(strict)
    assert strict.get_answers() == []
    # `*` is not reranked (as Azure): results, no reranker scores
    assert all(d["@search.reranker_score"] is None for d in client.search("*", query_type="semantic"))


def test_semantic_over_rest_and_bad_input(local):
    srv, _ = local
    h = {"api-key": srv.admin_key}
    url = srv.url("/indexes/sem-docs/docs/search")
    r = httpx.post(url, headers=h, json={"search": "keep a cat healthy", "queryType": "semantic", "select": "id", "top": 2,
                                         "captions": "extractive|highlight-false", "count": True})
    assert r.status_code == 200
    body = r.json()
    assert body["@odata.count"] >= 2 and len(body["value"]) == 2 and set(body["value"][0]) == {
        "id", "@search.score", "@search.rerankerScore", "@search.captions"}
    assert body["value"][0]["@search.captions"][0]["highlights"] is None
    # the GET form takes the same parameters
    r = httpx.get(f"{srv.endpoint}/indexes/sem-docs/docs", headers=h, params={
        "api-version": "2026-04-01", "search": "keep a cat healthy", "queryType": "semantic", "$select": "id", "$top": "2", "captions": "extractive",
        "answers": "extractive|count-1,threshold-0.1", "semanticConfiguration": "sem", "semanticMaxWaitInMilliseconds": "5000"})
    assert r.status_code == 200, r.text
    assert r.json()["value"][0]["id"] == body["value"][0]["id"] and "@search.answers" in r.json()
    assert httpx.get(f"{srv.endpoint}/indexes/sem-docs/docs", headers=h,
                     params={"api-version": "2026-04-01", "search": "x", "queryType": "semantic", "semanticMaxWaitInMilliseconds": "soon"}).status_code == 400
    bad = [
        ({"search": "x", "queryType": "semantic", "orderby": "id"}, "$orderby"),
        ({"search": "x", "queryType": "semantic", "semanticConfiguration": "nope"}, "semanticConfiguration"),
        ({"search": "x", "answers": "extractive"}, "answers"),
        ({"search": "x", "queryType": "semantic", "answers": "extractive|count-99"}, "answers"),
        ({"search": "x", "queryType": "semantic", "captions": "abstractive"}, "captions"),
        ({"search": "x", "queryType": "semantic", "semanticMaxWaitInMilliseconds": 10}, "semanticMaxWaitInMilliseconds"),
        ({"search": "x", "queryType": "semantic", "semanticErrorHandling": "ignore"}, "semanticErrorHandling"),
        ({"search": "x", "queryLanguage": "en-us"}, "queryLanguage"),
        ({"search": "x", "speller": "lexicon"}, "speller"),
        ({"search": "x", "queryRewrites": "generative"}, "queryRewrites"),
        ({"search": "x", "debug": "semantic"}, "debug"),
    ]
    for payload, name in bad:
        r = httpx.post(url, headers=h, json=payload)
        assert r.status_code == 400, (payload, r.text)
        assert name in r.json()["error"]["message"], (payload, r.text)
    # a semantic configuration over a missing field, or a non-string field, is refused at definition time
    for semantic, needle in [
        ({"configurations": [{"name": "s", "prioritizedFields": {"titleField": {"fieldName": "nope"}}}]}, "unknown field 'nope'"),
        ({"configurations": [{"name": "s", "prioritizedFields": {"prioritizedContentFields": [{"fieldName": "n"}]}}]}, "must be of type"),
        ({"defaultConfiguration": "x", "configurations": []}, "defaultConfiguration"),
        ({"configurations": [{"name": "s", "prioritizedFields": {}}]}, "at least one"),
        ({"configurations": [{"name": "s", "rankingOrder": "random", "prioritizedFields": {"titleField": {"fieldName": "t"}}}]}, "rankingOrder"),
    ]:
        r = httpx.post(srv.url("/indexes"), headers=h, json={"name": "bad-sem", "fields": [
            {"name": "id", "type": "Edm.String", "key": True}, {"name": "t", "type": "Edm.String", "searchable": True},
            {"name": "n", "type": "Edm.Int32"}], "semantic": semantic})
        assert r.status_code == 400 and needle in r.json()["error"]["message"], (semantic, r.text)
    # an index without a semantic configuration
    httpx.post(srv.url("/indexes"), headers=h, json={"name": "plain", "fields": [{"name": "id", "type": "Edm.String", "key": True}]})
    r = httpx.post(srv.url("/indexes/plain/docs/search"), headers=h, json={"search": "x", "queryType": "semantic"})
    assert r.status_code == 400 and "no semantic configuration" in r.json()["error"]["message"]


@pytest.fixture(scope="module")
def remote(tmp_path_factory):
    reranker = RerankServer()
    srv = WeftServer(tmp_path_factory.mktemp("remote") / "data",
                     env={"WEFT_RERANKER": "remote", "WEFT_RERANKER_URL": reranker.url, "WEFT_RERANKER_MODEL": "rerank-test",
                          "WEFT_RERANKER_TIMEOUT": "5"}).start()
    SearchIndexClient(srv.endpoint, AzureKeyCredential(srv.admin_key)).create_index(_index("docs"))
    SearchClient(srv.endpoint, "docs", AzureKeyCredential(srv.admin_key)).upload_documents(
        [{"id": i, "title": t, "content": c} for i, t, c in DOCS])
    yield srv, reranker
    srv.stop()
    reranker.stop()


def test_remote_reranker_over_the_rerank_api(remote):
    srv, reranker = remote
    reranker.mode, reranker.delay = "ok", 0.0
    client = SearchClient(srv.endpoint, "docs", AzureKeyCredential(srv.admin_key))
    results = list(client.search("fold the sourdough starter and bake", query_type="semantic"))
    assert results[0]["id"] == "bread" and results[0]["@search.reranker_score"] > results[-1]["@search.reranker_score"]
    sent = reranker.requests[-1]
    assert sent["query"] == "fold the sourdough starter and bake" and sent["model"] == "rerank-test" and len(sent["documents"]) == len(results)
    # each candidate is sent as its prioritized text: title first, then content
    assert "Sourdough at home Feed the starter, fold the dough" in " | ".join(sent["documents"])


@pytest.mark.parametrize("mode, delay, reason", [("ok", 2.0, "maxWaitExceeded"), ("error", 0.0, "transient"), ("garbage", 0.0, "transient")])
def test_partial_responses_and_failures(remote, mode, delay, reason):
    srv, reranker = remote
    reranker.mode, reranker.delay = mode, delay
    h = {"api-key": srv.admin_key}
    url = srv.url("/indexes/docs/docs/search")
    base = {"search": "sourdough starter dough", "queryType": "semantic", "semanticMaxWaitInMilliseconds": 700}
    try:
        r = httpx.post(url, headers=h, json={**base, "semanticErrorHandling": "partial"}, timeout=30)
        assert r.status_code == 206, r.text
        body = r.json()
        assert body["@search.semanticPartialResponseReason"] == reason
        assert body["@search.semanticPartialResponseType"] == "baseResults"
        assert body["value"] and all("@search.rerankerScore" not in d for d in body["value"])
        r = httpx.post(url, headers=h, json=base, timeout=30)  # semanticErrorHandling defaults to fail
        assert r.status_code == 503 and r.json()["error"]["message"]
        # the SDK takes a 206 as a success
        docs = list(SearchClient(srv.endpoint, "docs", AzureKeyCredential(srv.admin_key)).search(
            "sourdough starter dough", query_type="semantic", semantic_error_mode="partial", semantic_max_wait_in_milliseconds=700))
        assert docs
    finally:
        reranker.mode, reranker.delay = "ok", 0.0


def test_sdk_sees_semantic_errors_as_exceptions(local):
    _, client = local
    with pytest.raises(HttpResponseError) as err:
        list(client.search("x", query_type="semantic", semantic_configuration_name="missing"))
    assert err.value.status_code == 400
