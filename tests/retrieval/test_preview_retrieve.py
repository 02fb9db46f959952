"""Preview retrieve (2025-11-01-preview) over REST against a live weft, with a scripted chat model over HTTP
(tests/retrieval/fake_planner.py): the planned sub-queries reach the indexes, merged references, Azure's activity
entries with the model's token counts, low vs medium, answer synthesis with citations, and the failure paths
(garbage plan, model down, timeout) as 206 with the error in the activity, never a 500."""
from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.retrieval.fake_planner import ANSWER_USAGE, PLAN_USAGE, FakePlanner
from tests.support.server import WeftServer

pytest.importorskip("sentence_transformers", reason="semantic reranking needs the local-embeddings extra")

PREVIEW = "2025-11-01-preview"
PRODUCTS = [
    {"id": "p1", "name": "Trail running shoes", "description": "Light shoes with a grippy sole for muddy mountain trails."},
    {"id": "p2", "name": "Road running shoes", "description": "Cushioned shoes for long runs on pavement."},
    {"id": "p3", "name": "Rain shell", "description": "A waterproof jacket that keeps you dry on wet hikes."},
    {"id": "p4", "name": "Camping stove", "description": "A small gas stove to boil water and cook at camp."},
]
FAQ = [
    {"key": "f1", "question": "How long is the warranty?", "answer": "Every jacket has a two year warranty."},
    {"key": "f2", "question": "Can I return shoes?", "answer": "Unworn shoes can be returned within 30 days."},
]


def ask(text: str) -> list[dict]:
    return [{"role": "user", "content": [{"type": "text", "text": "I need gear for a trip."}]},
            {"role": "assistant", "content": [{"type": "text", "text": "Where are you going?"}]},
            {"role": "user", "content": [{"type": "text", "text": text}]}]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    fake = FakePlanner().start()
    srv = WeftServer(tmp_path_factory.mktemp("preview") / "data",
                     env={"WEFT_ALLOWED_MODEL_ENDPOINTS": fake.root, "WEFT_LLM_BASE_URL": f"{fake.root}/v1",
                          "WEFT_LLM_API_KEY": "configured-key", "WEFT_LLM_MODEL": "local-chat"}).start()
    h = {"api-key": srv.admin_key}

    def ok(r: httpx.Response) -> httpx.Response:
        assert r.status_code < 300, r.text
        return r

    ok(httpx.post(srv.url("/indexes"), headers=h, json={
        "name": "products", "fields": [
            {"name": "id", "type": "Edm.String", "key": True}, {"name": "name", "type": "Edm.String", "searchable": True},
            {"name": "description", "type": "Edm.String", "searchable": True},
            {"name": "vec", "type": "Collection(Edm.Single)", "searchable": True, "dimensions": 384, "vectorSearchProfile": "p"}],
        "vectorSearch": {"algorithms": [{"name": "h", "kind": "hnsw"}], "profiles": [{"name": "p", "algorithm": "h", "vectorizer": "mini"}],
                         "vectorizers": [{"name": "mini", "kind": "local", "localParameters": {"model": "all-MiniLM-L6-v2"}}]},
        "semantic": {"configurations": [{"name": "sem", "prioritizedFields": {"titleField": {"fieldName": "name"},
                                                                             "prioritizedContentFields": [{"fieldName": "description"}]}}]}}))
    ok(httpx.post(srv.url("/indexes"), headers=h, json={
        "name": "faq", "fields": [{"name": "key", "type": "Edm.String", "key": True}, {"name": "question", "type": "Edm.String", "searchable": True},
                                  {"name": "answer", "type": "Edm.String", "searchable": True}]}))
    for index, docs in (("products", PRODUCTS), ("faq", FAQ)):
        ok(httpx.post(srv.url(f"/indexes/{index}/docs/index"), headers=h, json={"value": [{"@search.action": "upload", **d} for d in docs]}))
    for name, index, description in (("products-ks", "products", "the product catalogue"), ("faq-ks", "faq", "customer service answers")):
        ok(httpx.post(srv.url("/knowledgesources"), headers=h, json={"name": name, "kind": "searchIndex", "description": description,
                                                                     "searchIndexParameters": {"searchIndexName": index}}))
    model = {"kind": "azureOpenAI", "azureOpenAIParameters": {"resourceUri": fake.root, "deploymentId": "planner", "apiKey": "kb-secret"}}
    ok(httpx.post(f"{srv.endpoint}/knowledgebases?api-version={PREVIEW}", headers=h, json={
        "name": "shop", "knowledgeSources": [{"name": "products-ks"}, {"name": "faq-ks"}], "models": [model],
        "retrievalInstructions": "Prefer the catalogue for gear.", "answerInstructions": "Answer like a friendly shop assistant."}))
    ok(httpx.post(f"{srv.endpoint}/knowledgebases?api-version={PREVIEW}", headers=h, json={
        "name": "plain", "knowledgeSources": [{"name": "products-ks"}], "outputMode": "answerSynthesis"}))
    yield srv, fake
    srv.stop()
    fake.stop()


def retrieve(srv, body: dict, base: str = "shop") -> httpx.Response:
    r = httpx.post(f"{srv.endpoint}/knowledgebases/{base}/retrieve?api-version={PREVIEW}", headers={"api-key": srv.admin_key}, json=body, timeout=60)
    assert r.status_code != 500, r.text
    return r


def searches(activity: list[dict]) -> list[tuple[str, str]]:
    return [(a["knowledgeSourceName"], a["searchIndexArguments"]["search"]) for a in activity if a["type"] == "searchIndex"]


def test_low_effort_plans_subqueries_that_reach_the_indexes(env):
    srv, fake = env
    fake.requests.clear()
    fake.plans = [{"queries": [{"search": "camping stove", "knowledgeSources": ["products-ks"]}, {"search": "jacket warranty"},
                               "waterproof jacket", "never run: low plans at most 3"]}]
    r = retrieve(srv, {"messages": ask("What do I need to cook, and is the rain jacket covered by a warranty?"),
                       "retrievalReasoningEffort": {"kind": "low"}})
    assert r.status_code == 200, r.text
    body = r.json()
    (call,) = fake.requests
    assert call["path"].startswith("/openai/deployments/planner/chat/completions?api-version=") and call["api-key"] == "kb-secret"
    system, transcript = call["body"]["messages"][0]["content"], call["body"]["messages"][1]["content"]
    assert "Prefer the catalogue for gear." in system and "faq-ks: customer service answers" in system
    assert "Where are you going?" in transcript and "rain jacket" in transcript
    activity = body["activity"]
    assert activity[0]["type"] == "modelQueryPlanning" and activity[0]["id"] == 0
    assert (activity[0]["inputTokens"], activity[0]["outputTokens"]) == (PLAN_USAGE["prompt_tokens"], PLAN_USAGE["completion_tokens"])
    assert activity[0]["elapsedMs"] >= 0
    assert searches(activity) == [("products-ks", "camping stove"), ("products-ks", "jacket warranty"), ("faq-ks", "jacket warranty"),
                                  ("products-ks", "waterproof jacket"), ("faq-ks", "waterproof jacket")]
    assert [a["id"] for a in activity] == list(range(len(activity)))
    reasoning = activity[-1]
    assert reasoning == {"type": "agenticReasoning", "id": len(activity) - 1, "reasoningTokens": PLAN_USAGE["total_tokens"],
                         "retrievalReasoningEffort": {"kind": "low"}}
    refs = body["references"]
    keys = [ref["docKey"] for ref in refs]
    assert {"p4", "p3", "f1"} <= set(keys) and len(keys) == len(set(keys))  # merged: one reference per document
    assert [ref["id"] for ref in refs] == [str(i) for i in range(len(refs))]
    by_id = {a["id"]: a for a in activity}
    for ref in refs:  # each reference points at the query that found it
        assert by_id[ref["activitySource"]]["type"] == "searchIndex"
    stove = next(ref for ref in refs if ref["docKey"] == "p4")
    assert by_id[stove["activitySource"]]["searchIndexArguments"]["search"] == "camping stove"
    scores = [ref["rerankerScore"] for ref in refs if ref["rerankerScore"] is not None]
    assert scores == sorted(scores, reverse=True)
    chunks = json.loads(body["response"][0]["content"][0]["text"])
    assert [c["ref_id"] for c in chunks] == list(range(len(refs)))


def test_medium_effort_runs_a_second_planning_pass_and_more_subqueries(env):
    srv, fake = env
    fake.requests.clear()
    first = {"queries": [f"q{i} shoes" for i in range(7)]}
    fake.plans = [first, {"queries": ["gas stove"]}]
    r = retrieve(srv, {"messages": ask("Which shoes?"), "retrievalReasoningEffort": {"kind": "medium"}})
    assert r.status_code == 200, r.text
    activity = r.json()["activity"]
    planning = [a for a in activity if a["type"] == "modelQueryPlanning"]
    assert len(planning) == 2 and len(fake.planning_requests()) == 2
    ran = [q for source, q in searches(activity) if source == "products-ks"]
    assert [q for q in ran if q.endswith("shoes")] == [f"q{i} shoes" for i in range(5)]  # medium plans at most 5 per pass
    assert "gas stove" in ran  # the follow-up query of the second pass
    second = fake.planning_requests()[1]["body"]["messages"][0]["content"]
    assert "Trail running shoes" in second  # the second pass saw what the first one found
    assert activity[-1]["retrievalReasoningEffort"] == {"kind": "medium"} and activity[-1]["reasoningTokens"] == 2 * PLAN_USAGE["total_tokens"]
    assert "p4" in [ref["docKey"] for ref in r.json()["references"]]
    # the same conversation on low: one pass, at most 3 sub-queries
    fake.requests.clear()
    fake.plans = [first, {"queries": ["gas stove"]}]
    r = retrieve(srv, {"messages": ask("Which shoes?"), "retrievalReasoningEffort": {"kind": "low"}})
    activity = r.json()["activity"]
    assert len(fake.planning_requests()) == 1 and sum(a["type"] == "modelQueryPlanning" for a in activity) == 1
    assert sorted({q for _, q in searches(activity)}) == ["q0 shoes", "q1 shoes", "q2 shoes"]
    # a source with alwaysQuerySource is queried even when the planner selected another one
    fake.plans = [{"queries": [{"search": "stove", "knowledgeSources": ["products-ks"]}]}]
    r = retrieve(srv, {"messages": ask("stove?"), "retrievalReasoningEffort": {"kind": "low"},
                       "knowledgeSourceParams": [{"kind": "searchIndex", "knowledgeSourceName": "faq-ks", "alwaysQuerySource": True}]})
    assert searches(r.json()["activity"]) == [("products-ks", "stove"), ("faq-ks", "stove")]
    fake.plans = []


def test_answer_synthesis_cites_real_references(env):
    srv, fake = env
    fake.requests.clear()
    fake.plans = [{"queries": ["rain jacket", "jacket warranty"]}]
    r = retrieve(srv, {"messages": ask("Is the rain jacket covered?"), "retrievalReasoningEffort": {"kind": "low"}, "outputMode": "answerSynthesis"})
    assert r.status_code == 200, r.text
    body = r.json()
    answer = body["response"][0]["content"][0]["text"]
    cited = [int(n) for n in __import__("re").findall(r"\[ref_id:(\d+)\]", answer)]
    assert cited and {str(n) for n in cited} <= {ref["id"] for ref in body["references"]}
    synthesis = [a for a in body["activity"] if a["type"] == "modelAnswerSynthesis"]
    assert len(synthesis) == 1
    assert (synthesis[0]["inputTokens"], synthesis[0]["outputTokens"]) == (ANSWER_USAGE["prompt_tokens"], ANSWER_USAGE["completion_tokens"])
    call = fake.requests[-1]["body"]
    assert "Answer like a friendly shop assistant." in call["messages"][0]["content"] and "Rain shell" in call["messages"][0]["content"]
    assert call["max_tokens"] == 5000 and call["messages"][-1]["content"] == "Is the rain jacket covered?"


def test_configured_chat_model_serves_a_base_without_models(env):
    srv, fake = env
    fake.requests.clear()
    # the base's own outputMode (answerSynthesis) applies; intents are run as given, no planning
    r = retrieve(srv, {"intents": [{"type": "semantic", "search": "stove"}]}, base="plain")
    assert r.status_code == 200, r.text
    (call,) = fake.requests
    assert call["path"] == "/v1/chat/completions" and call["authorization"] == "Bearer configured-key" and call["body"]["model"] == "local-chat"
    assert "[ref_id:0]" in r.json()["response"][0]["content"][0]["text"] and r.json()["references"][0]["docKey"] == "p4"


def test_garbage_plan_falls_back_to_the_user_message_with_a_206(env):
    srv, fake = env
    for garbage, needle in (("this is not json", "not JSON"), ({"queries": [{"search": ""}]}, "search"),
                            ({"queries": [{"search": "x", "knowledgeSources": ["nope"]}]}, "nope"), ({"plan": []}, "queries")):
        fake.plans = [garbage]
        r = retrieve(srv, {"messages": ask("stove"), "retrievalReasoningEffort": {"kind": "low"}})
        assert r.status_code == 206, r.text
        planning = r.json()["activity"][0]
        assert planning["type"] == "modelQueryPlanning" and planning["error"]["code"] == "InvalidQueryPlan" and needle in planning["error"]["message"]
        assert planning["inputTokens"] == PLAN_USAGE["prompt_tokens"]
        assert [q for _, q in searches(r.json()["activity"])] == ["stove", "stove"]
        assert r.json()["references"][0]["docKey"] == "p4"


def test_model_down_or_slow_is_a_206_never_a_500(env):
    srv, fake = env
    fake.mode = "down"
    try:
        r = retrieve(srv, {"messages": ask("stove"), "retrievalReasoningEffort": {"kind": "low"}, "outputMode": "answerSynthesis"})
    finally:
        fake.mode = "ok"
    assert r.status_code == 206
    body = r.json()
    errors = {a["type"]: a["error"]["code"] for a in body["activity"] if "error" in a}
    assert errors == {"modelQueryPlanning": "ModelUnavailable", "modelAnswerSynthesis": "ModelUnavailable"}
    chunks = json.loads(body["response"][0]["content"][0]["text"])  # synthesis failed: the extractive data
    assert chunks and chunks[0]["title"] == "Camping stove"
    fake.delay, fake.plans = 3.0, [{"queries": ["stove"]}]
    started = time.monotonic()
    try:
        r = retrieve(srv, {"messages": ask("stove"), "retrievalReasoningEffort": {"kind": "low"}, "maxRuntimeInSeconds": 1})
    finally:
        fake.delay, fake.plans = 0.0, []
    assert r.status_code == 206 and time.monotonic() - started < 2.9
    assert r.json()["activity"][0]["error"]["code"] == "Timeout"


def test_preview_refusals(env):
    srv, fake = env
    h = {"api-key": srv.admin_key}
    cases = [
        ({"messages": ask("x"), "retrievalReasoningEffort": {"kind": "minimal"}}, "minimal"),
        ({"intents": [{"type": "semantic", "search": "x"}], "retrievalReasoningEffort": {"kind": "low"}}, "messages"),
        ({"messages": ask("x"), "maxOutputSizeInTokens": 100}, "maxOutputSizeInTokens"),
        ({"messages": ask("x"), "outputMode": "essay"}, "outputMode"),
        ({"messages": ask("x"), "retrievalReasoningEffort": {"kind": "high"}}, "retrievalReasoningEffort"),
        ({"messages": [{"role": "system", "content": [{"type": "text", "text": "x"}]}]}, "messages[0]"),
        ({"messages": [{"role": "user", "content": [{"type": "image", "image": {}}]}]}, "content[0]"),
    ]
    for body, needle in cases:
        r = retrieve(srv, body)
        assert r.status_code == 400 and needle in r.json()["error"]["message"], (body, r.text)
    # the preview's spelling on the GA api-version
    r = httpx.post(srv.url("/knowledgebases/shop/retrieve"), headers=h, json={"intents": [{"type": "semantic", "search": "x"}], "maxOutputSize": 10})
    assert r.status_code == 400 and "maxOutputSize" in r.json()["error"]["message"]
    r = httpx.post(srv.url("/knowledgebases/shop/retrieve"), headers=h, json={
        "intents": [{"type": "semantic", "search": "x"}], "knowledgeSourceParams": [{"knowledgeSourceName": "faq-ks", "alwaysQuerySource": True}]})
    assert r.status_code == 400 and "alwaysQuerySource" in r.json()["error"]["message"]
    # a model endpoint outside the operator's allow-list
    r = httpx.post(f"{srv.endpoint}/knowledgebases?api-version={PREVIEW}", headers=h, json={
        "name": "evil", "knowledgeSources": [{"name": "faq-ks"}],
        "models": [{"kind": "azureOpenAI", "azureOpenAIParameters": {"resourceUri": "http://169.254.169.254", "deploymentId": "d"}}]})
    assert r.status_code == 400 and "allowed model endpoints" in r.json()["error"]["message"]
    # the base's preview members round-trip on the preview api-version
    r = httpx.get(f"{srv.endpoint}/knowledgebases/shop?api-version={PREVIEW}", headers=h)
    assert r.json()["retrievalInstructions"] == "Prefer the catalogue for gear." and r.json()["models"][0]["azureOpenAIParameters"].get("apiKey") is None


def test_agent_tool_retrieve_is_bound_to_the_keys_permissions(env):
    srv, _ = env
    from weft.agent_tools.api_client import WeftApi
    from weft.agent_tools.tools import build_tools, call_tool

    tools = build_tools(index="products", knowledge_base="shop")
    for key, allowed in ((srv.query_key, True), ("not-a-key", False)):
        api = WeftApi(srv.endpoint, key)
        try:
            out = json.loads(call_tool(tools, api, "knowledge_base_retrieve", {"query": "camping stove"}))
        finally:
            api.close()
        if allowed:
            assert out[0]["doc_key"] == "p4"
        else:
            assert "error" in out and out["status"] in (401, 403)
    # the query key may retrieve (preview included) but not define knowledge bases
    r = httpx.post(f"{srv.endpoint}/knowledgebases/shop/retrieve?api-version={PREVIEW}", headers={"api-key": srv.query_key},
                   json={"intents": [{"type": "semantic", "search": "stove"}]})
    assert r.status_code == 200
    r = httpx.put(f"{srv.endpoint}/knowledgebases/shop?api-version={PREVIEW}", headers={"api-key": srv.query_key},
                  json={"name": "shop", "knowledgeSources": [{"name": "faq-ks"}]})
    assert r.status_code == 403
