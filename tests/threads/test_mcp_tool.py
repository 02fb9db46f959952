"""The `mcp` tool of /v1/responses: the openai SDK, unchanged, against a live weft that connects to a real MCP
server (the `mcp` package's MCPServer over streamable HTTP) while a fake chat model over HTTP asks for the calls."""
from __future__ import annotations

import json

import openai
import pytest

from tests.threads.mcp_support import WeatherMcp


@pytest.fixture(scope="module")
def mcp_server():
    server = WeatherMcp(token="mcp-secret").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def live_mcp(tmp_path_factory, fake_llm, mcp_server):
    from tests.threads.live import ThreadsServer

    env = {"WEFT_LLM_BASE_URL": fake_llm.base_url, "WEFT_LLM_API_KEY": "upstream-key", "WEFT_LLM_MODEL": "fake-model",
           "WEFT_ALLOWED_MODEL_ENDPOINTS": mcp_server.url}
    server = ThreadsServer(tmp_path_factory.mktemp("weft-mcp") / "data", env=env).start()
    yield server
    server.stop()


@pytest.fixture
def sdk(live_mcp):
    client = openai.OpenAI(base_url=f"{live_mcp.endpoint}/v1", api_key=live_mcp.admin_key, max_retries=0)
    yield client
    client.close()


def mcp(server, **extra) -> dict:
    return {"type": "mcp", "server_label": "weather", "server_url": server.url, "authorization": "mcp-secret", **extra}


def test_tools_are_listed_called_server_side_and_the_result_reaches_the_model(sdk, mcp_server, fake_llm):
    before = len(mcp_server.calls)
    response = sdk.responses.create(model="fake-model", input="weather in Paris?",
                                    tools=[mcp(mcp_server, require_approval="never", server_description="forecasts")])
    kinds = [item.type for item in response.output]
    assert kinds == ["mcp_list_tools", "mcp_call", "message"]
    listed = response.output[0]
    assert listed.server_label == "weather" and {t.name for t in listed.tools} == {"get_weather", "explode"}
    call = response.output[1]
    assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "Paris"}
    assert call.output == "sunny, 21 C" and call.error is None
    assert mcp_server.calls[before:] == [{"city": "Paris"}]
    assert "Bearer mcp-secret" in mcp_server.auth_seen  # `authorization` is sent as the bearer token
    assert response.output_text == "echo: sunny, 21 C"  # the model saw the tool's output
    # the model was offered the MCP tools as functions and got the call and its output back
    last = fake_llm.requests[-1]["body"]
    assert {t["function"]["name"] for t in last["tools"]} == {"get_weather", "explode"}
    assert last["messages"][-2]["tool_calls"][0]["function"]["name"] == "get_weather"
    assert last["messages"][-1] == {"role": "tool", "tool_call_id": last["messages"][-2]["tool_calls"][0]["id"],
                                    "content": "sunny, 21 C"}
    # secrets are not echoed; the stored response has the same items
    assert response.tools[0].authorization is None
    stored = sdk.responses.retrieve(response.id)
    assert [i.type for i in stored.output] == kinds


def test_list_tools_is_reused_from_the_previous_response(sdk, mcp_server):
    first = sdk.responses.create(model="fake-model", input="hello", tools=[mcp(mcp_server, require_approval="never")])
    assert [i.type for i in first.output] == ["mcp_list_tools", "message"]
    second = sdk.responses.create(model="fake-model", input="weather please", previous_response_id=first.id,
                                  tools=[mcp(mcp_server, require_approval="never")])
    assert [i.type for i in second.output] == ["mcp_call", "message"]


def test_allowed_tools_limits_what_is_listed_and_offered(sdk, mcp_server, fake_llm):
    response = sdk.responses.create(model="fake-model", input="hi", tools=[mcp(mcp_server, allowed_tools=["explode"],
                                                                               require_approval="never")])
    assert [t.name for t in response.output[0].tools] == ["explode"]
    assert [t["function"]["name"] for t in fake_llm.requests[-1]["body"]["tools"]] == ["explode"]


def test_a_failing_tool_is_an_mcp_call_with_an_error(sdk, mcp_server):
    response = sdk.responses.create(model="fake-model", input="weather?", tools=[mcp(mcp_server, allowed_tools=["explode"],
                                                                                     require_approval="never")])
    call = next(i for i in response.output if i.type == "mcp_call")
    assert call.name == "explode" and call.output is None
    assert call.error is not None and call.status == "failed"


def test_approval_is_asked_by_default_and_the_call_runs_once_approved(sdk, mcp_server):
    before = len(mcp_server.calls)
    asked = sdk.responses.create(model="fake-model", input="weather in Paris?", tools=[mcp(mcp_server)])
    assert [i.type for i in asked.output] == ["mcp_list_tools", "mcp_approval_request"]
    request = asked.output[1]
    assert request.name == "get_weather" and json.loads(request.arguments) == {"city": "Paris"}
    assert len(mcp_server.calls) == before  # nothing ran yet
    approved = sdk.responses.create(model="fake-model", previous_response_id=asked.id, tools=[mcp(mcp_server)],
                                    input=[{"type": "mcp_approval_response", "approval_request_id": request.id, "approve": True}])
    assert [i.type for i in approved.output] == ["mcp_call", "message"]
    assert approved.output[0].approval_request_id == request.id and approved.output[0].output == "sunny, 21 C"
    assert mcp_server.calls[before:] == [{"city": "Paris"}]
    assert approved.output_text == "echo: sunny, 21 C"


def test_a_denied_call_does_not_run_and_the_model_is_told(sdk, mcp_server, fake_llm):
    before = len(mcp_server.calls)
    asked = sdk.responses.create(model="fake-model", input="weather in Paris?",
                                 tools=[mcp(mcp_server, require_approval={"always": {"tool_names": ["get_weather"]}})])
    request = asked.output[-1]
    assert request.type == "mcp_approval_request"
    denied = sdk.responses.create(model="fake-model", previous_response_id=asked.id, tools=[mcp(mcp_server)],
                                  input=[{"type": "mcp_approval_response", "approval_request_id": request.id, "approve": False,
                                          "reason": "not now"}])
    assert len(mcp_server.calls) == before
    assert [i.type for i in denied.output] == ["message"]
    assert "did not approve" in fake_llm.requests[-1]["body"]["messages"][-1]["content"]


def test_never_filter_skips_approval_in_a_conversation(sdk, mcp_server):
    conversation = sdk.conversations.create()
    response = sdk.responses.create(model="fake-model", input="weather in Paris?", conversation=conversation.id,
                                    tools=[mcp(mcp_server, require_approval={"never": {"tool_names": ["get_weather"]}})])
    assert [i.type for i in response.output] == ["mcp_list_tools", "mcp_call", "message"]
    stored = [i.type for i in sdk.conversations.items.list(conversation.id, order="asc")]
    assert stored == ["message", "mcp_list_tools", "mcp_call", "message"]


def test_an_unknown_approval_request_is_a_400(sdk, mcp_server):
    first = sdk.responses.create(model="fake-model", input="hello", tools=[mcp(mcp_server)])
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.responses.create(model="fake-model", previous_response_id=first.id, tools=[mcp(mcp_server)],
                             input=[{"type": "mcp_approval_response", "approval_request_id": "mcpr_nope", "approve": True}])
    assert "mcpr_nope" in caught.value.message


def test_streaming_sends_the_mcp_events(sdk, mcp_server):
    with sdk.responses.stream(model="fake-model", input="weather in Paris?",
                              tools=[mcp(mcp_server, require_approval="never")]) as stream:
        events = [e.type for e in stream]
        final = stream.get_final_response()
    assert [i.type for i in final.output] == ["mcp_list_tools", "mcp_call", "message"]
    for kind in ("response.mcp_list_tools.in_progress", "response.mcp_list_tools.completed", "response.mcp_call.in_progress",
                 "response.mcp_call_arguments.delta", "response.mcp_call_arguments.done", "response.mcp_call.completed",
                 "response.output_text.delta"):
        assert kind in events, kind
    assert events.index("response.mcp_list_tools.completed") < events.index("response.mcp_call.in_progress") \
        < events.index("response.mcp_call.completed") < events.index("response.output_text.delta")
    assert events[0] == "response.created" and events[-1] == "response.completed"
    assert final.output[1].output == "sunny, 21 C"


def test_a_server_not_on_the_allow_list_is_refused(sdk, mcp_server):
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.responses.create(model="fake-model", input="hi", tools=[{"type": "mcp", "server_label": "x",
                                                                     "server_url": "http://169.254.169.254/mcp"}])
    assert caught.value.param == "tools[0].server_url"
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.responses.create(model="fake-model", input="hi", tools=[{"type": "mcp", "server_label": "x",
                                                                     "connector_id": "connector_gmail"}])
    assert caught.value.param == "tools[0].connector_id"


def test_an_unreachable_or_refusing_server_is_a_424(sdk, mcp_server):
    with pytest.raises(openai.APIStatusError) as caught:
        sdk.responses.create(model="fake-model", input="hi", tools=[mcp(mcp_server, authorization="wrong")])
    assert caught.value.status_code == 424 and "weather" in caught.value.message


def test_openai_agents_hosted_mcp_tool(live_mcp, mcp_server):
    agents = pytest.importorskip("agents")
    import asyncio

    from openai import AsyncOpenAI

    agents.set_tracing_disabled(True)
    before = len(mcp_server.calls)

    async def go():
        client = AsyncOpenAI(base_url=f"{live_mcp.endpoint}/v1", api_key=live_mcp.admin_key, max_retries=0)
        tool = agents.HostedMCPTool(tool_config={"type": "mcp", "server_label": "weather", "server_url": mcp_server.url,
                                                 "authorization": "mcp-secret", "require_approval": "never"})
        agent = agents.Agent(name="w", instructions="Answer briefly.", tools=[tool],
                             model=agents.OpenAIResponsesModel(model="fake-model", openai_client=client))
        result = await agents.Runner.run(agent, "weather in Paris?")
        await client.close()
        return result

    result = asyncio.run(go())
    assert result.final_output == "echo: sunny, 21 C"
    assert mcp_server.calls[before:] == [{"city": "Paris"}]
    kinds = [type(item).__name__ for item in result.new_items]
    assert "MCPListToolsItem" in kinds and "ToolCallItem" in kinds


def test_openai_agents_hosted_mcp_tool_with_approval(live_mcp, mcp_server):
    agents = pytest.importorskip("agents")
    import asyncio

    from openai import AsyncOpenAI

    agents.set_tracing_disabled(True)
    before = len(mcp_server.calls)
    asked: list[str] = []

    def approve(request):
        asked.append(request.data.name)
        return {"approve": True}

    async def go():
        client = AsyncOpenAI(base_url=f"{live_mcp.endpoint}/v1", api_key=live_mcp.admin_key, max_retries=0)
        tool = agents.HostedMCPTool(tool_config={"type": "mcp", "server_label": "weather", "server_url": mcp_server.url,
                                                 "authorization": "mcp-secret", "require_approval": "always"},
                                    on_approval_request=approve)
        agent = agents.Agent(name="w", instructions="Answer briefly.", tools=[tool],
                             model=agents.OpenAIResponsesModel(model="fake-model", openai_client=client))
        result = await agents.Runner.run(agent, "weather in Paris?")
        await client.close()
        return result

    result = asyncio.run(go())
    assert asked == ["get_weather"]
    assert mcp_server.calls[before:] == [{"city": "Paris"}]
    assert result.final_output == "echo: sunny, 21 C"


@pytest.mark.parametrize("tool,named", [
    ({"allowed_tools": 5}, "allowed_tools"),
    ({"allowed_tools": {"tool_names": "get_weather"}}, "tool_names"),
    ({"require_approval": "sometimes"}, "require_approval"),
    ({"require_approval": {"always": 5}}, "require_approval.always"),
    ({"require_approval": {"never": {"read_only": "yes"}}}, "read_only"),
    ({"headers": {"x": 5}}, "headers"),
    ({"server_label": ""}, "server_label"),
    ({"authorization": 7}, "authorization"),
    ({"frobnicate": 1}, "frobnicate"),
    ({"defer_loading": True}, "defer_loading"),
])
def test_bad_mcp_tool_definitions_are_400s_naming_the_member(live_mcp, mcp_server, tool, named):
    import httpx

    body = {"model": "fake-model", "input": "hi", "tools": [mcp(mcp_server, **tool)]}
    r = httpx.post(f"{live_mcp.endpoint}/v1/responses", headers=live_mcp.headers(), json=body)
    assert r.status_code == 400, r.text
    assert named in (r.json()["error"]["param"] or "") + r.json()["error"]["message"]


@pytest.mark.parametrize("answer", [{"approve": "yes"}, {"approve": True, "approval_request_id": 5}])
def test_bad_approval_responses_are_400s(live_mcp, mcp_server, answer):
    import httpx

    body = {"model": "fake-model", "tools": [mcp(mcp_server)],
            "input": [{"type": "mcp_approval_response", "approval_request_id": "mcpr_x", **answer}]}
    r = httpx.post(f"{live_mcp.endpoint}/v1/responses", headers=live_mcp.headers(), json=body)
    assert r.status_code == 400, r.text


def test_a_streamed_background_response_with_an_mcp_tool(sdk, mcp_server):
    events = list(sdk.responses.create(model="fake-model", input="weather in Paris?", background=True, stream=True,
                                       tools=[mcp(mcp_server, require_approval="never")]))
    kinds = [e.type for e in events]
    assert kinds[:2] == ["response.created", "response.queued"] and kinds[-1] == "response.completed"
    assert "response.mcp_call.completed" in kinds
    resumed = list(sdk.responses.retrieve(events[0].response.id, stream=True, starting_after=4))
    assert [e.sequence_number for e in resumed] == [e.sequence_number for e in events[5:]]
    assert [i.type for i in events[-1].response.output] == ["mcp_list_tools", "mcp_call", "message"]


def test_an_approval_response_without_the_mcp_tool_is_a_400(sdk, mcp_server):
    asked = sdk.responses.create(model="fake-model", input="weather in Paris?", tools=[mcp(mcp_server)])
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.responses.create(model="fake-model", previous_response_id=asked.id,
                             input=[{"type": "mcp_approval_response", "approval_request_id": asked.output[-1].id, "approve": True}])
    assert caught.value.param == "tools"
