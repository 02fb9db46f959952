"""Agent frameworks unchanged against weft (fake model over HTTP): openai-agents `Runner.run` with
previous_response_id / auto_previous_response_id and a function tool, with `conversation_id` and with
`OpenAIConversationsSession`; langchain-openai `ChatOpenAI(use_responses_api=True, use_previous_response_id=True)`."""
from __future__ import annotations

import asyncio

import pytest

agents = pytest.importorskip("agents")
from agents import Agent, OpenAIConversationsSession, OpenAIResponsesModel, Runner, function_tool, set_tracing_disabled  # noqa: E402
from openai import AsyncOpenAI  # noqa: E402

set_tracing_disabled(True)
CALLED: list[str] = []


@function_tool
def get_weather(city: str) -> str:
    """The weather of a city."""
    CALLED.append(city)
    return f"sunny in {city}"


def make_agent(client: AsyncOpenAI) -> Agent:
    return Agent(name="weather", instructions="Answer briefly.", tools=[get_weather],
                 model=OpenAIResponsesModel(model="fake-model", openai_client=client))


def sdk_retrieve(live, response_id: str) -> dict:
    import httpx

    return httpx.get(f"{live.endpoint}/v1/responses/{response_id}", headers=live.headers()).json()


def run(coro):
    return asyncio.run(coro)


def client_for(live) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=f"{live.endpoint}/v1", api_key=live.admin_key, max_retries=0)


def test_runner_with_auto_previous_response_id_and_a_function_tool(live, fake_llm):
    async def go():
        client = client_for(live)
        agent = make_agent(client)
        result = await Runner.run(agent, "what's the weather in Paris?", auto_previous_response_id=True)
        follow = await Runner.run(agent, "thanks", previous_response_id=result.last_response_id)
        await client.close()
        return result, follow

    before = len(CALLED)
    result, follow = run(go())
    assert CALLED[before:] == ["Paris"]
    assert result.final_output == "echo: sunny in Paris"
    sent = fake_llm.requests[-1]["body"]["messages"]  # the follow-up saw the whole chain, kept by weft
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "tool", "assistant", "user"]
    assert sent[3]["content"] == "sunny in Paris" and follow.final_output == "echo: thanks"
    assert sdk_retrieve(live, follow.last_response_id)["previous_response_id"] == result.last_response_id


def test_runner_with_a_conversation_id(live, sdk, fake_llm):
    conv = sdk.conversations.create()

    async def go():
        client = client_for(live)
        agent = make_agent(client)
        first = await Runner.run(agent, "weather in Paris please", conversation_id=conv.id)
        second = await Runner.run(agent, "and again", conversation_id=conv.id)
        await client.close()
        return first, second

    first, second = run(go())
    assert first.final_output == "echo: sunny in Paris" and second.final_output == "echo: and again"
    kinds = [i.type for i in sdk.conversations.items.list(conv.id, order="asc", limit=100).data]
    assert kinds == ["message", "function_call", "function_call_output", "message", "message", "message"]


def test_runner_with_openai_conversations_session(live, sdk, fake_llm):
    async def go():
        client = client_for(live)
        session = OpenAIConversationsSession(openai_client=client)
        agent = make_agent(client)
        await Runner.run(agent, "remember the word kiwi", session=session)
        second = await Runner.run(agent, "what word?", session=session)
        items = await session.get_items()
        conversation_id = await session._get_session_id()
        await client.close()
        return second, items, conversation_id

    second, items, conversation_id = run(go())
    assert second.final_output == "echo: what word?"
    assert "remember the word kiwi" in [m.get("content") for m in fake_llm.requests[-1]["body"]["messages"]]
    assert conversation_id.startswith("conv_") and len(items) == 4


def test_langchain_chat_openai_with_previous_response_id(live, sdk, fake_llm):
    langchain_openai = pytest.importorskip("langchain_openai")
    from langchain_core.messages import HumanMessage

    llm = langchain_openai.ChatOpenAI(model="fake-model", base_url=f"{live.endpoint}/v1", api_key=live.admin_key,
                                      use_responses_api=True, use_previous_response_id=True, max_retries=0)
    first = llm.invoke([HumanMessage("my name is Ada")])
    history = [HumanMessage("my name is Ada"), first, HumanMessage("who am I?")]
    second = llm.invoke(history)
    body_messages = fake_llm.requests[-1]["body"]["messages"]
    assert [m["content"] for m in body_messages] == ["my name is Ada", "echo: my name is Ada", "who am I?"]
    assert second.text == "echo: who am I?" and first.response_metadata["id"].startswith("resp_")
    stored = sdk.responses.retrieve(second.response_metadata["id"])
    assert stored.previous_response_id == first.response_metadata["id"]  # it sent only the new message
    assert [i.content[0].text for i in sdk.responses.input_items.list(stored.id).data] == ["who am I?"]
