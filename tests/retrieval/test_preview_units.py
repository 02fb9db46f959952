"""In-process checks of the preview pieces: the hybrid sub-query on fields with a vectorizer (text-only otherwise),
and the strict reading of query plans per effort."""
from __future__ import annotations

import pytest

from weft.retrieval.chat_model import ModelFailure
from weft.retrieval.planning import parse_plan
from weft.retrieval.preview import text_vector_queries
from weft.search.schema import parse_index_definition


def test_sub_queries_are_hybrid_only_where_a_vectorizer_exists():
    fields = [{"name": "id", "type": "Edm.String", "key": True}, {"name": "body", "type": "Edm.String", "searchable": True},
              {"name": "v", "type": "Collection(Edm.Single)", "searchable": True, "dimensions": 384, "vectorSearchProfile": "with"},
              {"name": "raw", "type": "Collection(Edm.Single)", "searchable": True, "dimensions": 3, "vectorSearchProfile": "without"}]
    hybrid = parse_index_definition({"name": "hybrid", "fields": fields, "vectorSearch": {
        "algorithms": [{"name": "h", "kind": "hnsw"}],
        "profiles": [{"name": "with", "algorithm": "h", "vectorizer": "mini"}, {"name": "without", "algorithm": "h"}],
        "vectorizers": [{"name": "mini", "kind": "local", "localParameters": {"model": "all-MiniLM-L6-v2"}}]}})
    assert text_vector_queries(hybrid, "warm jacket") == {"vectorQueries": [{"kind": "text", "text": "warm jacket", "fields": "v", "k": 50}]}
    text_only = parse_index_definition({"name": "textonly", "fields": fields[:2]})
    assert text_vector_queries(text_only, "warm jacket") == {}


def test_plans_are_read_strictly_and_capped_per_effort():
    names = ["a", "b"]
    plan = '{"queries": ["one", {"search": "two", "knowledgeSources": ["b"]}, "one", "three", "four", "five", "six"]}'
    assert [q["search"] for q in parse_plan(plan, "low", names)] == ["one", "two", "three"]  # the duplicate "one" is dropped
    assert [q["search"] for q in parse_plan(plan, "medium", names)] == ["one", "two", "three", "four", "five"]
    assert parse_plan("```json\n{\"queries\": [\"x\"]}\n```", "low", names) == [{"search": "x", "sources": None}]
    assert parse_plan('{"queries": []}', "medium", names, allow_empty=True) == []
    for garbage in ("", "[1, 2]", '{"queries": "x"}', '{"queries": []}', '{"queries": [{"search": "x", "knowledgeSources": "a"}]}'):
        with pytest.raises(ModelFailure) as err:
            parse_plan(garbage, "low", names)
        assert err.value.code == "InvalidQueryPlan"


def test_the_deployment_id_cannot_leave_the_allowed_resource():
    from weft.retrieval.chat_model import resolve

    model = resolve({"models": [{"kind": "azureOpenAI", "azureOpenAIParameters": {"resourceUri": "https://aoai.example/",
                                                                                  "deploymentId": "../../admin?x=1"}}]}, {}, {})
    assert model.url.startswith("https://aoai.example/openai/deployments/..%2F..%2Fadmin%3Fx%3D1/chat/completions?")
    assert "api-key" not in model.headers
