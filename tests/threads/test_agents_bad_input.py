"""Bad input on the agent routes: every case a 4xx in OpenAI's error shape (`error.message`, `error.type`,
`error.code`), never a 500; the project-scoped paths reach the same routes through the same auth."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from weft.app import create_app
from weft.config import Settings

KEY = "bad-input-admin"


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    for name in [k for k in __import__("os").environ if k.startswith("WEFT_")]:
        mp.delenv(name)
    mp.setenv("WEFT_RETENTION_INTERVAL", "0")
    with TestClient(create_app(Settings(data_dir=tmp_path_factory.mktemp("bad"), admin_keys=[KEY])), raise_server_exceptions=False) as c:
        c.headers["api-key"] = KEY
        yield c
    mp.undo()


def _thread_and_agent(client):
    agent = client.post("/assistants", json={"model": "m"}).json()["id"]
    thread = client.post("/threads", json={}).json()["id"]
    return thread, agent


CASES = [
    ("POST", "/assistants", b"not json"),
    ("POST", "/assistants", b"[1, 2]"),
    ("POST", "/assistants", {"model": 5}),
    ("POST", "/assistants", {"model": "m", "tools": [{"type": "file_search"}]}),
    ("POST", "/assistants", {"model": "m", "tools": "x"}),
    ("POST", "/assistants", {"model": "m", "tools": [{"type": "function", "function": {}}]}),
    ("POST", "/assistants", {"model": "m", "temperature": 9}),
    ("POST", "/assistants", {"model": "m", "response_format": {"type": "xml"}}),
    ("POST", "/assistants", {"model": "m", "tool_resources": {"file_search": {"vector_store_ids": ["vs_1"]}}}),
    ("POST", "/assistants", {"model": "m", "surprise": 1}),
    ("POST", "/assistants", {"model": "m", "metadata": {"k": 5}}),
    ("GET", "/assistants?limit=0", None),
    ("GET", "/assistants/asst_nope", None),
    ("POST", "/threads/{thread}/runs", {}),
    ("POST", "/threads/{thread}/runs", {"assistant_id": "{agent}", "stream": "yes"}),
    ("POST", "/threads/{thread}/runs", {"assistant_id": "{agent}", "temperature": "hot"}),
    ("POST", "/threads/{thread}/runs", {"assistant_id": "{agent}", "tool_choice": "sometimes"}),
    ("POST", "/threads/{thread}/runs", {"assistant_id": "{agent}", "truncation_strategy": {"type": "last_messages", "last_messages": 2}}),
    ("POST", "/threads/{thread}/runs", {"assistant_id": "{agent}", "max_prompt_tokens": 100}),
    ("POST", "/threads/{thread}/runs", {"assistant_id": "{agent}", "additional_messages": [{"role": "system", "content": "x"}]}),
    ("POST", "/threads/{thread}/runs?include[]=step_details.secret", {"assistant_id": "{agent}"}),
    ("POST", "/threads/thread_nope/runs", {"assistant_id": "{agent}"}),
    ("POST", "/threads/runs", {"assistant_id": "{agent}", "thread": "x"}),
    ("POST", "/threads/runs", {"assistant_id": "asst_nope"}),
    ("POST", "/threads/{thread}/runs/run_nope/cancel", None),
    ("POST", "/threads/{thread}/runs/run_nope/submit_tool_outputs", {"tool_outputs": []}),
    ("POST", "/threads/{thread}/runs/run_nope/submit_tool_outputs", {"tool_outputs": [{"output": "x"}]}),
    ("GET", "/threads/{thread}/runs/run_nope/steps", None),
    ("POST", "/agents/a/versions", {"definition": {"kind": "hosted", "model": "m"}}),
    ("POST", "/agents/a/versions", {"definition": {"kind": "prompt"}}),
    ("POST", "/agents/a/versions", {"definition": {"kind": "prompt", "model": "m", "reasoning": {"effort": "low"}}}),
    ("POST", "/agents/a/versions", {"definition": {"kind": "prompt", "model": "m", "tools": [{"type": "web_search_preview"}]}}),
    ("POST", "/agents/-bad-/versions", {"definition": {"kind": "prompt", "model": "m"}}),
    ("POST", "/agents/a/versions", {"definition": "x"}),
    ("GET", "/agents?kind=robot", None),
    ("GET", "/agents/missing", None),
    ("GET", "/agents/missing/versions/1", None),
    ("POST", "/v1/responses", {"input": "hi", "agent_reference": "MyAgent"}),
    ("POST", "/v1/responses", {"input": "hi", "agent_reference": {"name": "missing", "type": "agent_reference"}}),
    ("POST", "/api/projects/p/openai/v1/responses", {"input": "hi", "agent_reference": {"name": "x", "type": "other"}}),
    ("GET", "/api/projects/p/assistants/asst_nope?api-version=v1", None),
    ("GET", "/api/projects/p/deployments", None),
]


@pytest.mark.parametrize("method, path, body", CASES)
def test_bad_input_is_a_4xx_in_openai_shape(client, method, path, body):
    thread, agent = _thread_and_agent(client)
    path = path.replace("{thread}", thread)
    if isinstance(body, dict):
        body = {k: (v.replace("{agent}", agent) if isinstance(v, str) else v) for k, v in body.items()}
    kwargs = {"content": body} if isinstance(body, bytes) else {"json": body} if body is not None else {}
    r = client.request(method, path, **kwargs)
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    error = r.json()["error"]
    assert isinstance(error["message"], str) and error["type"] == "invalid_request_error", error


def test_project_paths_need_the_same_auth(client):
    r = client.get("/api/projects/p/assistants", headers={"api-key": "wrong"})
    assert r.status_code == 401 and r.json()["error"]["type"] == "invalid_request_error"
    assert client.get("/api/projects/p/assistants?api-version=v1").status_code == 200
    assert client.get("/openai/v1/conversations/conv_missing").status_code == 404
