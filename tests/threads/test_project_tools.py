"""The tools of an azure-ai-projects 2.x agent that weft runs itself, driven by the SDK unchanged (`AIProjectClient`
with a token credential, over TLS) and its `get_openai_client()` with `agent_reference`, a fake chat model over HTTP
asking for the calls: the Azure AI Search tool (`AzureAISearchTool`) against a weft index, as the caller; `MCPTool`
against a real MCP server and against weft's own (`weft mcp --http`), with `require_approval` honoured; and the
400 for a tool type weft does not run."""
from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import time

import httpx
import pytest
from azure.ai.projects import AIProjectClient
from azure.ai.projects.models import (AISearchIndexResource, AzureAISearchTool, AzureAISearchToolResource, CodeInterpreterTool,
                                      MCPTool, PromptAgentDefinition)
from azure.core.exceptions import HttpResponseError

from tests.support.oidc import Issuer
from tests.support.server import free_port
from tests.threads.foundry_support import credential, tls_server
from tests.threads.mcp_support import WeatherMcp
from weft.tls import ensure_auto_certificates

INDEX = "projtools-products"
CONNECTION = "/subscriptions/s/resourceGroups/g/providers/Microsoft.CognitiveServices/accounts/a/projects/p/connections/weft"
DOCS = [{"id": "1", "title": "Red kettle", "body": "a kettle that boils water", "url": "https://x/1", "color": "red"},
        {"id": "2", "title": "Blue kettle", "body": "another kettle for tea", "url": "https://x/2", "color": "blue"},
        {"id": "3", "title": "Red lamp", "body": "a reading lamp", "url": "https://x/3", "color": "red"}]


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return ensure_auto_certificates(tmp_path_factory.mktemp("pki"), "127.0.0.1")


@pytest.fixture(scope="module")
def issuer(pki):
    idp = Issuer(pki).start()
    idp.add_client("builder", "s1", roles=["Foundry User"], tid="contoso", oid="oid-builder")  # no search role
    idp.add_client("reader", "s2", roles=["Foundry User", "Search Index Data Reader"], tid="contoso", oid="oid-reader")
    yield idp
    idp.stop()


@pytest.fixture(scope="module")
def weather():
    server = WeatherMcp(token="mcp-secret").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def env(tmp_path_factory, pki, issuer, fake_llm, weather):
    """weft over TLS with an index, and weft's own MCP server (`weft mcp --http`, a query key) in front of it."""
    tmp = tmp_path_factory.mktemp("weft-project-tools")
    mcp_port = free_port()
    weft_mcp = f"http://127.0.0.1:{mcp_port}/mcp"
    srv = tls_server(tmp / "data", pki, issuer, fake_llm.base_url, WEFT_ALLOWED_MODEL_ENDPOINTS=f"{weather.url},{weft_mcp}")
    admin = httpx.Client(base_url=srv.endpoint, headers={"api-key": srv.admin_key}, verify=ssl.create_default_context(cafile=str(pki.ca)), timeout=30)
    r = admin.post("/indexes?api-version=2026-04-01", json={"name": INDEX, "fields": [
        {"name": "id", "type": "Edm.String", "key": True}, {"name": "title", "type": "Edm.String", "searchable": True},
        {"name": "body", "type": "Edm.String", "searchable": True}, {"name": "url", "type": "Edm.String"},
        {"name": "color", "type": "Edm.String", "filterable": True}]})
    assert r.status_code == 201, r.text
    r = admin.post(f"/indexes/{INDEX}/docs/index?api-version=2026-04-01",
                   json={"value": [{"@search.action": "upload", **d} for d in DOCS]})
    assert r.status_code == 200, r.text
    (tmp / "key").write_text(srv.query_key + "\n")
    (tmp / "token").write_text("weft-mcp-token\n")
    log = open(tmp / "mcp.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "weft.cli", "mcp", "--http", "--port", str(mcp_port), "--endpoint", srv.endpoint,
                             "--api-key-file", str(tmp / "key"), "--index", INDEX, "--http-token-file", str(tmp / "token")],
                            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "SSL_CERT_FILE": str(pki.ca)})
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(weft_mcp, timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    yield {"server": srv, "weft_mcp": weft_mcp}
    proc.terminate()
    proc.wait(10)
    admin.close()
    srv.stop()


@pytest.fixture(autouse=True)
def trust_local_ca(monkeypatch, pki):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pki.ca))  # azure-core
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca))  # the openai client's httpx


def project(env, issuer, who: str, secret: str) -> AIProjectClient:
    return AIProjectClient(endpoint=f"{env['server'].endpoint}/api/projects/my-project", credential=credential(issuer, who, secret))


def search_tool(**index) -> AzureAISearchTool:
    return AzureAISearchTool(azure_ai_search=AzureAISearchToolResource(indexes=[AISearchIndexResource(
        project_connection_id=CONNECTION, index_name=INDEX, **index)]))


def agent(name: str, version: str | None = None) -> dict:
    return {"agent_reference": {"name": name, "type": "agent_reference", **({"version": version} if version else {})}}


def test_the_search_tool_runs_as_the_caller_and_its_items_are_stored(env, issuer, fake_llm):
    with project(env, issuer, "reader", "s2") as client, client.get_openai_client() as openai_client:
        made = client.agents.create_version(agent_name="search-agent", definition=PromptAgentDefinition(
            model="fake-model", instructions="Cite the catalogue.", tools=[search_tool(query_type="simple", top_k=5, filter="color eq 'red'")]))
        assert made.definition.tools[0].azure_ai_search.indexes[0].project_connection_id == CONNECTION
        response = openai_client.responses.create(input="search: red", extra_body=agent("search-agent"))
        assert [o.type for o in response.output] == ["azure_ai_search_call", "azure_ai_search_call_output", "message"]
        call, result = response.output[0].to_dict(), response.output[1].to_dict()
        assert call["call_id"] == result["call_id"] and json.loads(call["arguments"]) == {"query": "red"}
        assert call["status"] == result["status"] == "completed"
        docs = json.loads(result["output"])["documents"]
        assert sorted(d["id"] for d in docs) == ["1", "3"]  # the filter holds: the blue kettle is not read
        assert json.loads(result["output"])["metadata"]["urls"] == [d["url"] for d in docs]
        sent = fake_llm.requests[-1]["body"]  # the model saw the output and was offered the search function
        assert sent["messages"][0] == {"role": "system", "content": "Cite the catalogue."}
        assert [t["function"]["name"] for t in sent["tools"]] == ["azure_ai_search"]
        assert sent["messages"][-1]["role"] == "tool" and "Red lamp" in sent["messages"][-1]["content"]
        assert "Red lamp" in response.output_text
        stored = openai_client.responses.retrieve(response.id)
        assert [o.type for o in stored.output] == [o.type for o in response.output]
        # top_k bounds the documents; on a conversation the items are stored, and the next turn's model sees them
        client.agents.create_version(agent_name="search-agent", definition=PromptAgentDefinition(
            model="fake-model", tools=[search_tool(top_k=1)]))
        conversation = openai_client.conversations.create()
        one = openai_client.responses.create(conversation=conversation.id, input="search: kettle", extra_body=agent("search-agent"))
        assert len(json.loads(one.output[1].to_dict()["output"])["documents"]) == 1
        items = [i.type for i in openai_client.conversations.items.list(conversation_id=conversation.id, order="asc")]
        assert items == ["message", "azure_ai_search_call", "azure_ai_search_call_output", "message"]
        openai_client.responses.create(conversation=conversation.id, input="thanks", extra_body=agent("search-agent"))
        history = fake_llm.requests[-1]["body"]["messages"]
        assert any(m.get("tool_calls") and m["tool_calls"][0]["function"]["name"] == "azure_ai_search" for m in history)
        # the pre-2.0.0b4 {"agent": {...}} form and a pinned version
        old = openai_client.responses.create(input="search: lamp", extra_body={"agent": {"name": "search-agent", "type": "agent_reference", "version": "1"}})
        assert [o.type for o in old.output][:2] == ["azure_ai_search_call", "azure_ai_search_call_output"]


def test_a_caller_without_a_search_role_reads_no_document(env, issuer):
    with project(env, issuer, "builder", "s1") as client, client.get_openai_client() as openai_client:
        client.agents.create_version(agent_name="no-grant-agent", definition=PromptAgentDefinition(model="fake-model", tools=[search_tool()]))
        response = openai_client.responses.create(input="search: kettle", extra_body=agent("no-grant-agent"))
        result = response.output[1].to_dict()
        assert response.output[1].type == "azure_ai_search_call_output" and result["status"] == "failed"
        assert "may not query" in result["output"] and "boils" not in result["output"] and "kettle" not in result["output"].split("query")[-1]


def test_the_search_tool_streams(env, issuer):
    with project(env, issuer, "reader", "s2") as client, client.get_openai_client() as openai_client:
        client.agents.create_version(agent_name="stream-agent", definition=PromptAgentDefinition(model="fake-model", tools=[search_tool()]))
        events = list(openai_client.responses.create(input="search: lamp", stream=True, extra_body=agent("stream-agent")))
        kinds = [e.type for e in events]
        assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
        assert kinds.index("response.azure_ai_search_call.in_progress") < kinds.index("response.azure_ai_search_call.completed") \
            < kinds.index("response.output_text.delta")
        assert [o.type for o in events[-1].response.output] == ["azure_ai_search_call", "azure_ai_search_call_output", "message"]
        with openai_client.responses.stream(model="fake-model", input="search: kettle", extra_body=agent("stream-agent")) as stream:
            final = stream.get_final_response()
        assert [o.type for o in final.output] == ["azure_ai_search_call", "azure_ai_search_call_output", "message"]
        assert "Blue kettle" in final.output_text


def _cited(text: str, annotations: list[dict]) -> list[tuple[str, str]]:
    for a in annotations:  # each over its marker in the text (end_index exclusive)
        assert a["type"] == "url_citation" and set(a) == {"type", "url", "title", "start_index", "end_index"}
        assert text[a["start_index"]:a["end_index"]].startswith("【") and text[a["end_index"] - 1] == "】"
    return sorted((a["url"], a["title"]) for a in annotations)


def test_the_answer_cites_the_documents_it_used_as_url_citations(env, issuer):
    with project(env, issuer, "reader", "s2") as client, client.get_openai_client() as openai_client:
        client.agents.create_version(agent_name="cite-agent", definition=PromptAgentDefinition(model="fake-model", tools=[search_tool()]))
        conversation = openai_client.conversations.create()
        response = openai_client.responses.create(conversation=conversation.id, input="cite: kettle", extra_body=agent("cite-agent"))
        message = response.output[-1]
        assert message.type == "message" and message.content[0].text.startswith("Found: ")
        part = message.content[0].to_dict()
        assert _cited(part["text"], part["annotations"]) == [("https://x/1", "Red kettle"), ("https://x/2", "Blue kettle")]
        stored = openai_client.responses.retrieve(response.id).output[-1].content[0].to_dict()
        assert stored["annotations"] == part["annotations"]
        item = list(openai_client.conversations.items.list(conversation_id=conversation.id, order="desc", limit=1))[0]
        assert item.content[0].to_dict()["annotations"] == part["annotations"]
        # a plain answer (the model cites nothing) has none, and the next turn's markers are its own
        plain = openai_client.responses.create(conversation=conversation.id, input="【0:0†source】 thanks", extra_body=agent("cite-agent"))
        assert "【0:0†source】" in plain.output_text and plain.output[-1].content[0].annotations == []


def test_the_direct_search_tool_cites_and_streams_annotation_events(env):
    import openai
    from openai.types.responses import ResponseOutputTextAnnotationAddedEvent

    srv = env["server"]
    tool = {"type": "azure_ai_search", "azure_ai_search": {"indexes": [{"project_connection_id": "weft", "index_name": INDEX}]}}
    with openai.OpenAI(base_url=f"{srv.endpoint}/openai/v1", api_key=srv.admin_key, max_retries=0) as sdk:
        response = sdk.responses.create(model="fake-model", input="cite: lamp", tools=[tool])
        part = response.output[-1].content[0].to_dict()
        assert _cited(part["text"], part["annotations"]) == [("https://x/3", "Red lamp")]
        events = list(sdk.responses.create(model="fake-model", input="cite: kettle", tools=[tool], stream=True))
        kinds = [e.type for e in events]
        added = [e for e in events if isinstance(e, ResponseOutputTextAnnotationAddedEvent)]
        assert [e.annotation_index for e in added] == [0, 1] and {e.content_index for e in added} == {0}
        message = events[-1].response.output[-1]
        assert {e.item_id for e in added} == {message.id} and {e.output_index for e in added} == {len(events[-1].response.output) - 1}
        assert [e.annotation.url for e in added] == [a.url for a in message.content[0].annotations]
        assert sorted(e.annotation.url for e in added) == ["https://x/1", "https://x/2"]
        first = kinds.index("response.output_text.annotation.added")
        assert kinds.index("response.output_text.delta") < first and kinds.index("response.output_text.done") > first + 1
        done = next(e for e in events if e.type == "response.content_part.done")
        assert [a.url for a in done.part.annotations] == [e.annotation.url for e in added]
        with sdk.responses.stream(model="fake-model", input="cite: lamp", tools=[tool]) as stream:
            final = stream.get_final_response()
        assert [a.title for a in final.output[-1].content[0].annotations] == ["Red lamp"]


@pytest.mark.parametrize("tools, named", [
    ([AzureAISearchTool(azure_ai_search=AzureAISearchToolResource(indexes=[AISearchIndexResource(
        project_connection_id="/x/connections/other-search", index_name=INDEX)]))], "project_connection_id"),
    ([AzureAISearchTool(azure_ai_search=AzureAISearchToolResource(indexes=[AISearchIndexResource(project_connection_id=CONNECTION)]))],
     "index_name"),
    ([search_tool(query_type="fuzzy")], "query_type"),
    ([search_tool(top_k=0)], "top_k"),
    ([AzureAISearchTool(azure_ai_search=AzureAISearchToolResource(indexes=[
        AISearchIndexResource(project_connection_id=CONNECTION, index_name="a"),
        AISearchIndexResource(project_connection_id=CONNECTION, index_name="b")]))], "indexes"),
    ([{"type": "azure_ai_search"}], "the classic /assistants tool names its index in tool_resources"),
    ([{"type": "azure_ai_search", "azure_ai_search": {"indexes": [{"index_connection_id": CONNECTION, "index_name": INDEX}]}}],
     "index_connection_id' (the 2.x tool names the connection project_connection_id)"),
    ([CodeInterpreterTool()], "code_interpreter"),
    ([{"type": "bing_grounding", "bing_grounding": {}}], "bing_grounding"),
    ([MCPTool(server_label="evil", server_url="http://169.254.169.254/mcp")], "server_url"),
    ([MCPTool(server_label="w", server_url="http://127.0.0.1:1/mcp", project_connection_id="conn")], "project_connection_id"),
])
def test_a_tool_weft_does_not_run_is_a_400_at_definition_create(env, issuer, tools, named):
    with project(env, issuer, "reader", "s2") as client, pytest.raises(HttpResponseError) as refused:
        client.agents.create_version(agent_name="bad-tools", definition=PromptAgentDefinition(model="fake-model", tools=tools))
    assert refused.value.status_code == 400 and named in str(refused.value.message), refused.value.message


@pytest.mark.parametrize("tool_choice, named", [
    ({"type": "azure_ai_search"}, "definition.tool_choice of type 'azure_ai_search'"),
    ({"type": "file_search"}, "definition.tools has no 'file_search' tool"),
    ("ToolChoiceMCP", "definition.tool_choice of type 'mcp'"),
    ("ToolChoiceFunction", "names the function 'lookup', which is not in definition.tools"),
    ("sometimes", "definition.tool_choice must be"),
])
def test_a_tool_choice_no_response_could_run_is_a_400_at_definition_create(env, issuer, tool_choice, named):
    from azure.ai.projects.models import FunctionTool, ToolChoiceFunction, ToolChoiceMCP

    if tool_choice in ("ToolChoiceMCP", "ToolChoiceFunction"):  # the SDK's own models
        tool_choice = ToolChoiceMCP(server_label="weather") if tool_choice == "ToolChoiceMCP" else ToolChoiceFunction(name="lookup")
    with project(env, issuer, "reader", "s2") as client:
        with pytest.raises(HttpResponseError) as refused:
            client.agents.create_version(agent_name="bad-choice", definition=PromptAgentDefinition(
                model="fake-model", tools=[search_tool()], tool_choice=tool_choice))
        assert refused.value.status_code == 400 and named in str(refused.value.message), refused.value.message
        with pytest.raises(HttpResponseError):
            client.agents.get(agent_name="bad-choice")  # nothing was made
        # what a response can run is accepted: a function of the definition, or 'required' next to the search tool
        made = client.agents.create_version(agent_name="good-choice", definition=PromptAgentDefinition(
            model="fake-model", tools=[search_tool(), FunctionTool(name="lookup", parameters={"type": "object"}, strict=False)],
            tool_choice=ToolChoiceFunction(name="lookup")))
        assert made.definition.tool_choice["name"] == "lookup"
        with pytest.raises(HttpResponseError) as refused:  # the definition's text, by the rule of a response's
            client.agents.create_version(agent_name="bad-choice", definition=PromptAgentDefinition(
                model="fake-model", text={"format": {"type": "yaml"}}))
        assert refused.value.status_code == 400 and "definition.text.format.type" in str(refused.value.message)


def test_an_mcp_tool_of_an_agent_runs_and_its_secrets_are_not_returned(env, issuer, weather):
    tool = MCPTool(server_label="weather", server_url=weather.url, require_approval="never", headers={"Authorization": "Bearer mcp-secret"})
    with project(env, issuer, "reader", "s2") as client, client.get_openai_client() as openai_client:
        made = client.agents.create_version(agent_name="mcp-agent", definition=PromptAgentDefinition(model="fake-model", tools=[tool]))
        assert made.definition.tools[0].headers == {"Authorization": "<redacted>"}
        assert client.agents.get(agent_name="mcp-agent").versions.latest.definition.tools[0].headers == {"Authorization": "<redacted>"}
        before = len(weather.calls)
        response = openai_client.responses.create(input="weather in Paris?", extra_body=agent("mcp-agent"))
        assert [o.type for o in response.output] == ["mcp_list_tools", "mcp_call", "message"]
        assert response.output[1].output == "sunny, 21 C" and weather.calls[before:] == [{"city": "Paris"}]
        assert "Bearer mcp-secret" in weather.auth_seen
        assert response.tools[0].headers == {"Authorization": "<redacted>"}


def test_require_approval_of_an_agent_mcp_tool_is_honoured(env, issuer, weather):
    tool = MCPTool(server_label="weather", server_url=weather.url, require_approval="always", headers={"Authorization": "Bearer mcp-secret"})
    with project(env, issuer, "reader", "s2") as client, client.get_openai_client() as openai_client:
        client.agents.create_version(agent_name="approval-agent", definition=PromptAgentDefinition(model="fake-model", tools=[tool]))
        before = len(weather.calls)
        asked = openai_client.responses.create(input="weather in Paris?", extra_body=agent("approval-agent"))
        assert [o.type for o in asked.output] == ["mcp_list_tools", "mcp_approval_request"]
        assert weather.calls[before:] == []
        approved = openai_client.responses.create(previous_response_id=asked.id, extra_body=agent("approval-agent"), input=[
            {"type": "mcp_approval_response", "approval_request_id": asked.output[1].id, "approve": True}])
        assert [o.type for o in approved.output] == ["mcp_call", "message"]
        assert approved.output[0].approval_request_id == asked.output[1].id and weather.calls[before:] == [{"city": "Paris"}]


def test_weft_own_mcp_server_as_an_agent_tool(env, issuer):
    tool = MCPTool(server_label="weft", server_url=env["weft_mcp"], require_approval="never",
                   headers={"Authorization": "Bearer weft-mcp-token"}, allowed_tools=["search_documents"])
    with project(env, issuer, "reader", "s2") as client, client.get_openai_client() as openai_client:
        client.agents.create_version(agent_name="weft-mcp-agent", definition=PromptAgentDefinition(model="fake-model", tools=[tool]))
        response = openai_client.responses.create(input="search: kettle", extra_body=agent("weft-mcp-agent"))
        assert [o.type for o in response.output] == ["mcp_list_tools", "mcp_call", "message"]
        assert [t.name for t in response.output[0].tools] == ["search_documents"]
        call = response.output[1]
        assert call.name == "search_documents" and call.error is None
        assert "Red kettle" in call.output and "Blue kettle" in call.output


def test_an_admin_key_may_give_the_search_tool_in_the_request_itself(env, pki):
    import openai

    srv = env["server"]
    with openai.OpenAI(base_url=f"{srv.endpoint}/openai/v1", api_key=srv.admin_key, max_retries=0) as sdk:
        tool = {"type": "azure_ai_search", "azure_ai_search": {"indexes": [{"project_connection_id": "weft", "index_name": INDEX}]}}
        response = sdk.responses.create(model="fake-model", input="search: lamp", tools=[tool])
        result = response.output[1].to_dict()
        assert result["status"] == "completed" and [d["id"] for d in json.loads(result["output"])["documents"]] == ["3"]
        assert response.tools[0].to_dict() == tool
        with pytest.raises(openai.BadRequestError) as refused:
            sdk.responses.create(model="fake-model", input="hi", tools=[tool, tool])
        assert refused.value.param == "tools[1]"
        with pytest.raises(openai.BadRequestError) as refused:  # a tool_choice naming the hosted tool: a 400 saying what to give
            sdk.responses.create(model="fake-model", input="hi", tools=[tool], tool_choice={"type": "azure_ai_search"})
        assert refused.value.param == "tool_choice.type" and "'auto'" in refused.value.message


# ---- the tool's bounds, against a real search service in-process -------------------------------------------------
@pytest.fixture()
def public(tmp_path):
    from weft.search.public import PublicSearch
    from weft.search.service import SearchService

    service = SearchService(tmp_path / "search")
    service.create_index({"name": "big", "fields": [{"name": "id", "type": "Edm.String", "key": True},
                                                    {"name": "body", "type": "Edm.String", "searchable": True}]})
    service.apply_batch("big", {"value": [{"@search.action": "upload", "id": str(n), "body": f"word {n} " + "x" * 30000}
                                          for n in range(20)]})
    return PublicSearch(service)


def test_the_output_is_bounded_in_size(public):
    from weft.agents import project_tools

    tool = project_tools.SearchTool(project_tools.parse_search_tool(
        {"type": "azure_ai_search", "azure_ai_search": {"indexes": [{"project_connection_id": "weft", "index_name": "big", "top_k": 20}]}},
        "tools[0]"), public, "query")
    output, status = tool.call(json.dumps({"query": "word"}))
    assert status == "completed" and len(output) <= project_tools.MAX_OUTPUT_CHARS
    data = json.loads(output)
    assert 1 <= len(data["documents"]) < 20 and all(len(d["body"]) <= project_tools.MAX_FIELD_CHARS for d in data["documents"])
    assert len(data["metadata"]["urls"]) == len(data["documents"])


def test_a_search_past_the_time_bound_fails_the_call(public, monkeypatch):
    from weft.agents import project_tools

    monkeypatch.setattr(project_tools, "TIMEOUT_SECONDS", 0)
    tool = project_tools.SearchTool(project_tools.parse_search_tool(
        {"type": "azure_ai_search", "azure_ai_search": {"indexes": [{"project_connection_id": "weft", "index_name": "big"}]}},
        "tools[0]"), public, "admin")
    output, status = tool.call(json.dumps({"query": "word"}))
    assert status == "failed" and "longer than" in output and "xxx" not in output
