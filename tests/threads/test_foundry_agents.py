"""The classic Foundry Agent Service client (`azure-ai-agents` 1.1 `AgentsClient`), unchanged, against weft over
TLS with a token credential (azure-identity's ClientSecretCredential at a loopback OIDC issuer; role Azure AI User
-> the token's tenant with read and write), and the fake chat model over HTTP: agents with a function toolset,
`create_and_process`, `create_thread_and_process_run`, `submit_tool_outputs`, run steps, streaming."""
from __future__ import annotations

import json
import time

import httpx
import pytest
from azure.ai.agents import AgentsClient
from azure.ai.agents.models import (AgentEventHandler, AgentThreadCreationOptions, FunctionTool, ListSortOrder, MessageDeltaChunk,
                                    RunStatus, ThreadMessageOptions, ThreadRun, ToolOutput, ToolSet)
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from tests.support.oidc import Issuer
from tests.threads.foundry_support import credential, tls_server
from weft.tls import ensure_auto_certificates


def get_weather(city: str) -> str:
    """The weather in a city.

    :param city: the city's name.
    :return: the weather, as JSON.
    """
    return json.dumps({"weather": f"sunny in {city}"})


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return ensure_auto_certificates(tmp_path_factory.mktemp("pki"), "127.0.0.1")


@pytest.fixture(scope="module")
def issuer(pki):
    idp = Issuer(pki).start()
    idp.add_client("builder", "s1", roles=["Azure AI User"], tid="contoso", oid="oid-builder")
    idp.add_client("neighbour", "s2", roles=["Azure AI User"], tid="fabrikam", oid="oid-neighbour")
    idp.add_client("reader", "s3", roles=["weft.threads.read"], tid="contoso", oid="oid-reader")
    idp.add_client("searcher", "s4", roles=["Azure AI User", "Search Index Data Reader"], tid="contoso", oid="oid-searcher")
    yield idp
    idp.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory, pki, issuer, fake_llm):
    srv = tls_server(tmp_path_factory.mktemp("weft-agents") / "data", pki, issuer, fake_llm.base_url)
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def trust_local_ca(monkeypatch, pki):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pki.ca))


def client(server, issuer, who: str = "builder", secret: str = "s1") -> AgentsClient:
    return AgentsClient(endpoint=f"{server.endpoint}/api/projects/proj", credential=credential(issuer, who, secret))


def test_function_toolset_create_and_process(server, issuer, fake_llm):
    agents = client(server, issuer)
    toolset = ToolSet()
    toolset.add(FunctionTool({get_weather}))
    agents.enable_auto_function_calls(toolset)
    agent = agents.create_agent(model="fake-model", name="weather", instructions="You report the weather.", toolset=toolset)
    assert agent.id.startswith("asst_") and agent.tools[0]["function"]["name"] == "get_weather"
    assert agents.get_agent(agent.id).instructions == "You report the weather."
    thread = agents.threads.create()
    agents.messages.create(thread_id=thread.id, role="user", content="What is the weather in Paris?")
    run = agents.runs.create_and_process(thread_id=thread.id, agent_id=agent.id, polling_interval=0.2)
    assert run.status == RunStatus.COMPLETED, run.last_error
    assert run.usage.total_tokens > 0
    # the model saw the instructions, the question, the call and the function's own output
    sent = fake_llm.requests[-1]["body"]
    assert sent["messages"][0] == {"role": "system", "content": "You report the weather."}
    assert sent["messages"][-2]["tool_calls"][0]["function"]["name"] == "get_weather"
    call_id = sent["messages"][-2]["tool_calls"][0]["id"]  # the fake model numbers its calls across the session
    assert sent["messages"][-1] == {"role": "tool", "tool_call_id": call_id, "content": json.dumps({"weather": "sunny in Paris"})}
    # messages: the question and the answer; the tool call is a run step, not a message
    messages = list(agents.messages.list(thread_id=thread.id, order=ListSortOrder.ASCENDING))
    assert [m.role for m in messages] == ["user", "assistant"]
    assert messages[1].text_messages[0].text.value == "echo: " + json.dumps({"weather": "sunny in Paris"})
    assert messages[1].run_id == run.id and messages[1].agent_id == agent.id
    assert [m.id for m in agents.messages.list(thread_id=thread.id, run_id=run.id)] == [messages[1].id]
    steps = list(agents.run_steps.list(thread_id=thread.id, run_id=run.id))
    assert [s.type for s in steps] == ["tool_calls", "message_creation"]
    call = steps[0].step_details.tool_calls[0]
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Paris"}
    assert steps[1].step_details.message_creation.message_id == messages[1].id
    assert agents.run_steps.get(thread_id=thread.id, run_id=run.id, step_id=steps[0].id).id == steps[0].id
    assert [r.id for r in agents.runs.list(thread_id=thread.id)] == [run.id]
    agents.delete_agent(agent.id)
    with pytest.raises(ResourceNotFoundError):
        agents.get_agent(agent.id)


def test_create_thread_and_process_run(server, issuer):
    agents = client(server, issuer)
    agent = agents.create_agent(model="fake-model", name="echo", instructions="Repeat.")
    run = agents.create_thread_and_process_run(agent_id=agent.id, polling_interval=0.2, thread=AgentThreadCreationOptions(
        messages=[ThreadMessageOptions(role="user", content="hello there")]))
    assert run.status == RunStatus.COMPLETED
    texts = [m.text_messages[0].text.value for m in agents.messages.list(thread_id=run.thread_id, order=ListSortOrder.ASCENDING)]
    assert texts == ["hello there", "echo: hello there"]
    assert {a.id for a in agents.list_agents()} >= {agent.id}
    updated = agents.update_agent(agent.id, instructions="Repeat twice.", metadata={"v": "2"})
    assert updated.instructions == "Repeat twice." and updated.metadata == {"v": "2"}


def test_submit_tool_outputs_by_hand(server, issuer):
    agents = client(server, issuer)
    agent = agents.create_agent(model="fake-model", name="manual", tools=FunctionTool({get_weather}).definitions)
    thread = agents.threads.create(messages=[ThreadMessageOptions(role="user", content="weather please")])
    run = agents.runs.create(thread_id=thread.id, agent_id=agent.id, metadata={"try": "1"})
    assert run.status == RunStatus.QUEUED and run.metadata == {"try": "1"}
    deadline = time.monotonic() + 10
    while run.status in (RunStatus.QUEUED, RunStatus.IN_PROGRESS) and time.monotonic() < deadline:
        time.sleep(0.05)
        run = agents.runs.get(thread_id=thread.id, run_id=run.id)
    assert run.status == RunStatus.REQUIRES_ACTION
    calls = run.required_action.submit_tool_outputs.tool_calls
    assert [c.function.name for c in calls] == ["get_weather"]
    # a thread with an open run takes no second run; wrong call ids are refused
    with pytest.raises(HttpResponseError) as busy:
        agents.runs.create(thread_id=thread.id, agent_id=agent.id)
    assert busy.value.status_code == 400
    with pytest.raises(HttpResponseError) as wrong:
        agents.runs.submit_tool_outputs(thread_id=thread.id, run_id=run.id, tool_outputs=[ToolOutput(tool_call_id="nope", output="x")])
    assert wrong.value.status_code == 400 and "call ids" in wrong.value.message
    assert agents.runs.update(thread_id=thread.id, run_id=run.id, metadata={"try": "2"}).metadata == {"try": "2"}
    agents.runs.submit_tool_outputs(thread_id=thread.id, run_id=run.id, tool_outputs=[ToolOutput(tool_call_id=calls[0].id, output="rainy")])
    deadline = time.monotonic() + 10
    while run.status not in (RunStatus.COMPLETED, RunStatus.FAILED) and time.monotonic() < deadline:
        time.sleep(0.05)
        run = agents.runs.get(thread_id=thread.id, run_id=run.id)
    assert run.status == RunStatus.COMPLETED
    last = agents.messages.get_last_message_text_by_role(thread_id=thread.id, role="assistant")
    assert last.text.value == "echo: rainy"
    steps = list(agents.run_steps.list(thread_id=thread.id, run_id=run.id))
    assert steps[0].step_details.tool_calls[0]["function"]["output"] == "rainy"  # kept as OpenAI Assistants had it
    # the Responses face of the same thread shows the call and its output as items
    with httpx.Client(verify=server.verify) as http:
        token = issuer.token(audience="https://ai.azure.com", roles=["Azure AI User"], tid="contoso")
        items = http.get(f"{server.endpoint}/v1/conversations/{thread.id}/items?order=asc", headers={"authorization": f"Bearer {token}"}).json()
    assert [i["type"] for i in items["data"]] == ["message", "function_call", "function_call_output", "message"]
    assert "run_id" not in items["data"][1]


def test_cancel_and_bad_input(server, issuer):
    agents = client(server, issuer)
    agent = agents.create_agent(model="fake-model", name="c", tools=FunctionTool({get_weather}).definitions)
    thread = agents.threads.create(messages=[ThreadMessageOptions(role="user", content="weather?")])
    run = agents.runs.create(thread_id=thread.id, agent_id=agent.id)
    while run.status in (RunStatus.QUEUED, RunStatus.IN_PROGRESS):
        time.sleep(0.05)
        run = agents.runs.get(thread_id=thread.id, run_id=run.id)
    assert agents.runs.cancel(thread_id=thread.id, run_id=run.id).status == RunStatus.CANCELLED
    with pytest.raises(HttpResponseError) as again:
        agents.runs.cancel(thread_id=thread.id, run_id=run.id)
    assert again.value.status_code == 400
    with pytest.raises(HttpResponseError) as bad:
        agents.create_agent(model="fake-model", tools=[{"type": "code_interpreter"}])
    assert bad.value.status_code == 400 and "code_interpreter" in bad.value.message
    with pytest.raises(ResourceNotFoundError):
        agents.runs.create(thread_id=thread.id, agent_id="asst_missing")
    with pytest.raises(ResourceNotFoundError):
        agents.runs.get(thread_id=thread.id, run_id="run_missing")


def test_streaming_run(server, issuer):
    agents = client(server, issuer)
    agent = agents.create_agent(model="fake-model", name="streamer")
    thread = agents.threads.create(messages=[ThreadMessageOptions(role="user", content="stream these words")])
    kinds, deltas, final = [], [], None
    with agents.runs.stream(thread_id=thread.id, agent_id=agent.id) as stream:
        for event_type, data, _ in stream:
            kinds.append(event_type)
            if isinstance(data, MessageDeltaChunk):
                deltas.append(data.text)
            if isinstance(data, ThreadRun):
                final = data
    assert kinds[:3] == ["thread.run.created", "thread.run.queued", "thread.run.in_progress"]
    assert kinds[-2:] == ["thread.run.completed", "done"]
    assert "thread.message.created" in kinds and "thread.run.step.completed" in kinds
    assert "".join(deltas) == "echo: stream these words" and len(deltas) > 1
    assert final.status == RunStatus.COMPLETED
    assert agents.messages.get_last_message_text_by_role(thread_id=thread.id, role="assistant").text.value == "echo: stream these words"


def test_streaming_run_with_auto_function_calls(server, issuer):
    agents = client(server, issuer)
    toolset = ToolSet()
    toolset.add(FunctionTool({get_weather}))
    agents.enable_auto_function_calls(toolset)
    agent = agents.create_agent(model="fake-model", name="s2", toolset=toolset)
    thread = agents.threads.create(messages=[ThreadMessageOptions(role="user", content="weather in Paris?")])
    kinds = []
    with agents.runs.stream(thread_id=thread.id, agent_id=agent.id, event_handler=AgentEventHandler()) as stream:
        for event_type, _data, _ in stream:
            kinds.append(event_type)
    assert "thread.run.requires_action" in kinds and "thread.run.completed" in kinds
    last = agents.messages.get_last_message_text_by_role(thread_id=thread.id, role="assistant")
    assert "sunny in Paris" in last.text.value


def test_tenants_and_scopes(server, issuer):
    mine = client(server, issuer)
    agent = mine.create_agent(model="fake-model", name="private")
    thread = mine.threads.create()
    with pytest.raises(ResourceNotFoundError):  # another tenant's token never reaches contoso's agents or threads
        client(server, issuer, "neighbour", "s2").get_agent(agent.id)
    with pytest.raises(ResourceNotFoundError):
        client(server, issuer, "neighbour", "s2").runs.create(thread_id=thread.id, agent_id=agent.id)
    reader = client(server, issuer, "reader", "s3")
    assert reader.get_agent(agent.id).name == "private"
    with pytest.raises(HttpResponseError) as denied:
        reader.create_agent(model="fake-model")
    assert denied.value.status_code == 403


CONNECTION = "/subscriptions/x/resourceGroups/g/providers/Microsoft.CognitiveServices/accounts/a/projects/proj/connections/weft"


@pytest.fixture(scope="module")
def products(server, pki):
    from azure.core.credentials import AzureKeyCredential
    from azure.search.documents import SearchClient
    from azure.search.documents.indexes import SearchIndexClient
    from azure.search.documents.indexes.models import SearchableField, SearchField, SearchFieldDataType, SearchIndex, SimpleField

    key = AzureKeyCredential(server.admin_key)
    fields = [SimpleField(name="id", type=SearchFieldDataType.String, key=True), SearchableField(name="title"),
              SearchableField(name="body"), SimpleField(name="url", type=SearchFieldDataType.String),
              SearchField(name="color", type=SearchFieldDataType.String, filterable=True)]
    SearchIndexClient(server.endpoint, key, connection_verify=str(pki.ca)).create_index(SearchIndex(name="products", fields=fields))
    SearchClient(server.endpoint, "products", key, connection_verify=str(pki.ca)).upload_documents([
        {"id": "1", "title": "Red kettle", "body": "zanzibar kettle boils water", "url": "https://shop/1", "color": "red"},
        {"id": "2", "title": "Blue kettle", "body": "zanzibar kettle for tea", "url": "https://shop/2", "color": "blue"}])
    return "products"


def search_agent(agents, **kw):
    from azure.ai.agents.models import AzureAISearchTool

    search = AzureAISearchTool(index_connection_id=CONNECTION, index_name="products", **kw)
    return agents.create_agent(model="fake-model", name="s", tools=search.definitions, tool_resources=search.resources)


def search_run(agents, agent, text: str):
    thread = agents.threads.create()
    agents.messages.create(thread_id=thread.id, role="user", content=text)
    run = agents.runs.create_and_process(thread_id=thread.id, agent_id=agent.id, polling_interval=0.2)
    steps = list(agents.run_steps.list(thread_id=thread.id, run_id=run.id))
    answer = agents.messages.get_last_message_text_by_role(thread_id=thread.id, role="assistant")
    return run, steps, answer.text.value if answer else ""


def _search_calls(steps):
    return [c for s in steps if s.type == "tool_calls" for c in s.step_details.tool_calls if c.type == "azure_ai_search"]


def test_the_azure_ai_search_tool_searches_weft_as_the_caller(server, issuer, products):
    agents = client(server, issuer, "searcher", "s4")
    agent = search_agent(agents, top_k=5)
    run, steps, answer = search_run(agents, agent, "search: zanzibar")
    assert run.status == "completed"
    assert "Red kettle" in answer and "Blue kettle" in answer  # the model answered from the tool output
    calls = _search_calls(steps)
    assert len(calls) == 1 and json.loads(calls[0].azure_ai_search["input"]) == {"query": "zanzibar"}
    assert "https://shop/1" in calls[0].azure_ai_search["output"]

    filtered = search_agent(agents, filter="color eq 'blue'")
    _, steps, answer = search_run(agents, filtered, "search: zanzibar")
    assert "Blue kettle" in answer and "Red kettle" not in answer


def test_a_caller_without_search_read_gets_a_failed_tool_call(server, issuer, products):
    agents = client(server, issuer)  # Azure AI User only: threads, not search documents
    agent = search_agent(agents)
    run, steps, answer = search_run(agents, agent, "search: zanzibar")
    failed = [s for s in steps if s.type == "tool_calls"]
    assert failed and failed[0].status == "failed" and "may not query" in failed[0].last_error.message
    assert "zanzibar kettle" not in answer and "kettle" not in json.dumps([s.as_dict() for s in steps])


def test_bad_azure_ai_search_resources_are_400s(server, issuer):
    from azure.ai.agents.models import AzureAISearchTool

    agents = client(server, issuer)
    for kw, named in ((dict(index_connection_id="/subscriptions/x/connections/elsewhere", index_name="products"), "index_connection_id"),
                      (dict(index_connection_id=CONNECTION, index_name="products", query_type="fuzzy"), "query_type"),
                      (dict(index_connection_id=CONNECTION, index_name="products", top_k=0), "top_k")):
        search = AzureAISearchTool(**kw)
        with pytest.raises(HttpResponseError) as bad:
            agents.create_agent(model="fake-model", name="s", tools=search.definitions, tool_resources=search.resources)
        assert bad.value.status_code == 400 and named in bad.value.message
    with pytest.raises(HttpResponseError) as bad:  # the tool without its index
        agents.create_agent(model="fake-model", name="s", tools=[{"type": "azure_ai_search"}])
    assert bad.value.status_code == 400 and "tool_resources.azure_ai_search" in bad.value.message
    two = {"type": "azure_ai_search", "azure_ai_search": {"indexes": [{"project_connection_id": CONNECTION, "index_name": "products"}]}}
    with pytest.raises(HttpResponseError) as bad:  # the azure-ai-projects 2.x shape: a 400 that says what to send instead
        agents.create_agent(model="fake-model", name="s", tools=[two])
    assert bad.value.status_code == 400 and "tools[0].azure_ai_search is the azure-ai-projects 2.x tool shape" in bad.value.message
    assert '"index_connection_id"' in bad.value.message and "AzureAISearchTool(index_connection_id, index_name)" in bad.value.message


def test_a_search_answer_carries_url_citations(server, issuer, products):
    agents = client(server, issuer, "searcher", "s4")
    agent = search_agent(agents, top_k=5)
    run, _steps, _ = search_run(agents, agent, "search: zanzibar")
    last = agents.messages.get_last_message_text_by_role(thread_id=run.thread_id, role="assistant")
    cited = last.text.annotations
    assert sorted((a.url_citation.url, a.url_citation.title) for a in cited) == [("https://shop/1", "Red kettle"),
                                                                                ("https://shop/2", "Blue kettle")]
    for annotation in cited:  # each over its marker in the text (the fake model echoes the tool output, markers included)
        assert annotation.type == "url_citation" and annotation.text.startswith("【") and annotation.text.endswith("】")
        assert last.text.value[annotation.start_index:annotation.end_index] == annotation.text
    message = agents.messages.get_last_message_by_role(thread_id=run.thread_id, role="assistant")
    assert [a.url_citation.url for a in message.url_citation_annotations] == [a.url_citation.url for a in cited]
    # the Responses face of the thread: OpenAI's flat url_citation annotation
    with httpx.Client(verify=server.verify) as http:
        token = issuer.token(audience="https://ai.azure.com", roles=["Azure AI User"], tid="contoso")
        items = http.get(f"{server.endpoint}/v1/conversations/{run.thread_id}/items?order=desc&limit=1",
                         headers={"authorization": f"Bearer {token}"}).json()
    part = items["data"][0]["content"][0]
    assert {(a["type"], a["url"]) for a in part["annotations"]} == {("url_citation", "https://shop/1"), ("url_citation", "https://shop/2")}
    assert all(part["text"][a["start_index"]:a["end_index"]].startswith("【") for a in part["annotations"])


def test_an_answer_without_search_has_no_citations(server, issuer):
    agents = client(server, issuer)
    agent = agents.create_agent(model="fake-model", name="plain")
    run = agents.create_thread_and_process_run(agent_id=agent.id, polling_interval=0.2, thread=AgentThreadCreationOptions(
        messages=[ThreadMessageOptions(role="user", content="see 【0:0†source】 here")]))
    message = agents.messages.get_last_message_by_role(thread_id=run.thread_id, role="assistant")
    assert "【0:0†source】" in message.text_messages[0].text.value and message.url_citation_annotations == []


def test_a_streamed_search_run_shows_the_tool_step_and_the_cited_answer(server, issuer, products):
    from azure.ai.agents.models import RunStep, ThreadMessage

    agents = client(server, issuer, "searcher", "s4")
    agent = search_agent(agents, top_k=5)
    thread = agents.threads.create(messages=[ThreadMessageOptions(role="user", content="search: zanzibar")])
    events = []
    with agents.runs.stream(thread_id=thread.id, agent_id=agent.id) as stream:
        for event_type, data, _ in stream:
            events.append((event_type, data))
    kinds = [k for k, _ in events]
    assert kinds[:3] == ["thread.run.created", "thread.run.queued", "thread.run.in_progress"]
    assert kinds[-2:] == ["thread.run.completed", "done"]
    tool_steps = [(k, d) for k, d in events if isinstance(d, RunStep) and d.type == "tool_calls"]
    assert [k for k, _ in tool_steps] == ["thread.run.step.created", "thread.run.step.in_progress", "thread.run.step.completed"]
    assert tool_steps[0][1].status == "in_progress" and tool_steps[0][1].completed_at is None
    call = tool_steps[-1][1].step_details.tool_calls[0]
    assert call.type == "azure_ai_search" and json.loads(call.azure_ai_search["input"]) == {"query": "zanzibar"}
    assert "https://shop/1" in call.azure_ai_search["output"]
    # the tool step comes before the answer's message; the completed message carries the citations
    assert kinds.index("thread.run.step.completed") < kinds.index("thread.message.created")
    [final] = [d for k, d in events if k == "thread.message.completed"]
    assert isinstance(final, ThreadMessage)
    assert sorted(a.url_citation.url for a in final.url_citation_annotations) == ["https://shop/1", "https://shop/2"]
    text = final.text_messages[0].text.value
    assert all(text[a.start_index:a.end_index] == a.text for a in final.url_citation_annotations)
    deltas = "".join(d.text for k, d in events if isinstance(d, MessageDeltaChunk))
    assert deltas == text
    # what was streamed is what was stored: the same steps, the same annotations
    [run] = [d for k, d in events if k == "thread.run.completed"]
    stored = list(agents.run_steps.list(thread_id=thread.id, run_id=run.id))
    assert [s.type for s in stored] == ["tool_calls", "message_creation"] and stored[0].id == tool_steps[-1][1].id
    last = agents.messages.get_last_message_text_by_role(thread_id=thread.id, role="assistant")
    assert [a.as_dict() for a in last.text.annotations] == [a.as_dict() for a in final.url_citation_annotations]
