"""The current Foundry client (`azure-ai-projects` 2.10 `AIProjectClient`), unchanged, against weft over TLS with a
token credential: agent definitions (`agents.create_version` with a `PromptAgentDefinition`, get, list, versions,
delete), `get_openai_client()` with no `base_url` (the project's `/openai/v1`), conversations, and
`responses.create` with `agent_reference` (the agent's model, instructions and tools apply). The flows are the
package README's Responses snippet and its basic agent sample (`sample_agent_basic.py`)."""
from __future__ import annotations

import pytest
from azure.ai.projects import AIProjectClient
from azure.ai.projects.models import FunctionTool, PromptAgentDefinition
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from openai import BadRequestError, NotFoundError

from tests.support.oidc import Issuer
from tests.threads.foundry_support import credential, tls_server
from weft.tls import ensure_auto_certificates


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return ensure_auto_certificates(tmp_path_factory.mktemp("pki"), "127.0.0.1")


@pytest.fixture(scope="module")
def issuer(pki):
    idp = Issuer(pki).start()
    idp.add_client("builder", "s1", roles=["Foundry User"], tid="contoso", oid="oid-builder")
    idp.add_client("neighbour", "s2", roles=["Foundry User"], tid="fabrikam", oid="oid-neighbour")
    yield idp
    idp.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory, pki, issuer, fake_llm):
    srv = tls_server(tmp_path_factory.mktemp("weft-projects") / "data", pki, issuer, fake_llm.base_url)
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def trust_local_ca(monkeypatch, pki):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pki.ca))  # azure-core
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca))  # the openai client's httpx


def project(server, issuer, who: str = "builder", secret: str = "s1") -> AIProjectClient:
    return AIProjectClient(endpoint=f"{server.endpoint}/api/projects/my-project", credential=credential(issuer, who, secret))


def test_readme_responses_with_the_project_openai_client(server, issuer, fake_llm):
    with project(server, issuer) as project_client, project_client.get_openai_client() as openai_client:
        assert str(openai_client.base_url).endswith("/api/projects/my-project/openai/v1/")
        response = openai_client.responses.create(model="fake-model", input="What is the size of France in square miles?")
        assert response.output_text == "echo: What is the size of France in square miles?"
        assert fake_llm.requests[-1]["authorization"] == "Bearer upstream-key"  # weft's own upstream key, not the caller's token
        # the README's second call chains with previous_response_id: stored responses are the responses helper's part


def test_basic_agent_sample(server, issuer, fake_llm):
    with project(server, issuer) as project_client, project_client.get_openai_client() as openai_client:
        agent = project_client.agents.create_version(
            agent_name="MyAgent", definition=PromptAgentDefinition(model="fake-model", instructions="You are a helpful assistant that answers general questions"))
        assert (agent.name, agent.version, agent.id) == ("MyAgent", "1", "MyAgent:1")
        conversation = openai_client.conversations.create(items=[{"type": "message", "role": "user", "content": "What is the size of France in square miles?"}])
        # the sample sends input="" (an empty input with a conversation is the responses helper's part of issue 15)
        response = openai_client.responses.create(conversation=conversation.id, input="Answer briefly.",
                                                  extra_body={"agent_reference": {"name": agent.name, "type": "agent_reference"}})
        assert response.output_text == "echo: Answer briefly."
        sent = fake_llm.requests[-1]["body"]
        assert sent["model"] == "fake-model"
        assert sent["messages"][0] == {"role": "system", "content": "You are a helpful assistant that answers general questions"}
        assert sent["messages"][1]["content"] == "What is the size of France in square miles?"
        openai_client.conversations.items.create(conversation_id=conversation.id, items=[{"type": "message", "role": "user", "content": "And what is the capital city?"}])
        items = list(openai_client.conversations.items.list(conversation_id=conversation.id, order="asc"))
        assert [i.type for i in items] == ["message"] * 4
        openai_client.conversations.delete(conversation_id=conversation.id)
        project_client.agents.delete_version(agent_name=agent.name, agent_version=agent.version)
        with pytest.raises(ResourceNotFoundError):
            project_client.agents.get(agent_name=agent.name)


def test_agent_versions_tools_and_overrides(server, issuer, fake_llm):
    tool = FunctionTool(name="get_weather", parameters={"type": "object", "properties": {"city": {"type": "string"}}}, strict=False,
                        description="The weather in a city.")
    with project(server, issuer) as project_client, project_client.get_openai_client() as openai_client:
        v1 = project_client.agents.create_version(agent_name="weather-agent", definition=PromptAgentDefinition(model="fake-model", instructions="v1"))
        v2 = project_client.agents.create_version(agent_name="weather-agent", description="with tools", metadata={"team": "a"},
                                                  definition=PromptAgentDefinition(model="fake-model", instructions="v2", tools=[tool], temperature=0.2))
        assert (v1.version, v2.version) == ("1", "2") and v2.metadata == {"team": "a"}
        got = project_client.agents.get(agent_name="weather-agent")
        assert got.versions.latest.version == "2" and got.versions.latest.definition.instructions == "v2"
        assert [v.version for v in project_client.agents.list_versions(agent_name="weather-agent")] == ["2", "1"]
        assert project_client.agents.get_version(agent_name="weather-agent", agent_version="1").definition.instructions == "v1"
        assert "weather-agent" in [a.name for a in project_client.agents.list()]
        # the latest version's tools and temperature reach the model; a call comes back as a function_call item
        response = openai_client.responses.create(input="weather in Paris?", extra_body={"agent_reference": {"name": "weather-agent", "type": "agent_reference"}})
        assert [o.type for o in response.output] == ["function_call"] and response.output[0].name == "get_weather"
        sent = fake_llm.requests[-1]["body"]
        assert sent["temperature"] == 0.2 and sent["tools"][0]["function"]["name"] == "get_weather" and sent["messages"][0]["content"] == "v2"
        # a pinned version
        openai_client.responses.create(input="hi", extra_body={"agent_reference": {"name": "weather-agent", "type": "agent_reference", "version": "1"}})
        assert fake_llm.requests[-1]["body"]["messages"][0] == {"role": "system", "content": "v1"}
        # request-level overrides are refused, as Foundry does
        with pytest.raises(BadRequestError) as refused:
            openai_client.responses.create(input="hi", instructions="other", extra_body={"agent_reference": {"name": "weather-agent", "type": "agent_reference"}})
        assert refused.value.code == "invalid_payload" and "instructions" in refused.value.message
        with pytest.raises(NotFoundError):
            openai_client.responses.create(input="hi", extra_body={"agent_reference": {"name": "no-such-agent", "type": "agent_reference"}})
        with pytest.raises(HttpResponseError) as bad:
            project_client.agents.create_version(agent_name="bad_name!", definition=PromptAgentDefinition(model="fake-model"))
        assert bad.value.status_code == 400
        # another tenant does not see the agent
        with project(server, issuer, "neighbour", "s2") as other, pytest.raises(ResourceNotFoundError):
            other.agents.get(agent_name="weather-agent")
        project_client.agents.delete(agent_name="weather-agent")
        assert "weather-agent" not in [a.name for a in project_client.agents.list()]
