"""The `mcp` tool pointed at weft's own MCP server (`weft mcp --http`, bound to one index with a query key): a response
searches weft through MCP. openai SDK unchanged, a live weft, the fake chat model over HTTP."""
from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx
import openai
import pytest

from tests.support.server import free_port


@pytest.fixture(scope="module")
def weft_and_mcp(tmp_path_factory, fake_llm):
    from tests.threads.live import ThreadsServer

    tmp = tmp_path_factory.mktemp("weft-own-mcp")
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    env = {"WEFT_LLM_BASE_URL": fake_llm.base_url, "WEFT_LLM_API_KEY": "upstream-key", "WEFT_LLM_MODEL": "fake-model",
           "WEFT_ALLOWED_MODEL_ENDPOINTS": url, "WEFT_DEMO": "true"}
    server = ThreadsServer(tmp / "data", env=env, extra_args=["--query-key", "test-query-key"]).start()
    (tmp / "key").write_text(server.query_key + "\n")
    (tmp / "token").write_text("own-mcp-token\n")
    log = open(tmp / "mcp.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "weft.cli", "mcp", "--http", "--port", str(port), "--endpoint", server.endpoint,
                             "--api-key-file", str(tmp / "key"), "--index", "products-index", "--http-token-file", str(tmp / "token")],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield server, url
    finally:
        proc.terminate()
        proc.wait(10)
        server.stop()


def test_a_response_searches_weft_through_its_own_mcp_server(weft_and_mcp, fake_llm):
    server, url = weft_and_mcp
    client = openai.OpenAI(base_url=f"{server.endpoint}/v1", api_key=server.admin_key, max_retries=0)
    tool = {"type": "mcp", "server_label": "weft", "server_url": url, "authorization": "own-mcp-token",
            "allowed_tools": ["search_documents"], "require_approval": "never"}
    response = client.responses.create(model="fake-model", input="search: tent", tools=[tool])
    assert [i.type for i in response.output] == ["mcp_list_tools", "mcp_call", "message"]
    call = response.output[1]
    assert call.name == "search_documents" and json.loads(call.arguments) == {"query": "tent"} and call.error is None
    found = json.loads(call.output)  # weft's search_documents answers a list of documents
    assert found and "Tent" in json.dumps(found[0])
    assert response.output_text == f"echo: {call.output}"  # the model got the search results
    # the transport's token is required: without it, weft answers 424
    with pytest.raises(openai.APIStatusError) as caught:
        client.responses.create(model="fake-model", input="search: tent", tools=[{**tool, "authorization": "wrong"}])
    assert caught.value.status_code == 424
    client.close()
