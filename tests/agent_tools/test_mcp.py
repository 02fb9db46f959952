"""`weft mcp` driven by the official `mcp` client over stdio, against a live weft with the demo index."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import anyio
import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.support.server import WeftServer


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    server = WeftServer(tmp_path_factory.mktemp("mcp") / "data", extra_args=["--demo"]).start()
    yield server
    server.stop()


async def _session_calls(server: WeftServer, key: str, calls: list[tuple[str, dict]]):
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "weft.cli", "mcp", "--endpoint", server.endpoint, "--api-key", key, "--index", "products-index"],
        env=dict(os.environ),  # the stdio client passes few variables by default: keep PYTHONPATH (this tree's code)
    )
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            listed = await session.list_tools()
            results = []
            for name, args in calls:
                results.append(await session.call_tool(name, args))
            return listed, results


def test_mcp_search_and_lookup_with_query_key(demo_server):
    listed, (search, lookup, bad_filter, missing) = anyio.run(
        _session_calls,
        demo_server,
        demo_server.query_key,
        [
            ("search_documents", {"query": "mug", "filter": "price lt 1000", "top": 3, "select": "id,productName,price"}),
            ("get_document", {"key": "7"}),
            ("search_documents", {"query": "*", "filter": "price lt"}),
            ("get_document", {"key": "no-such-key"}),
        ],
    )
    names = {t.name for t in listed.tools}
    assert names == {"search_documents", "get_document"}
    schema = next(t for t in listed.tools if t.name == "search_documents").input_schema
    assert "index" not in schema["properties"] and schema["required"] == ["query"]
    docs = json.loads(search.content[0].text)
    assert 1 <= len(docs) <= 3 and all("mug" in d["productName"].lower() for d in docs)
    assert set(docs[0]) == {"@search.score", "id", "productName", "price"}
    assert json.loads(lookup.content[0].text)["id"] == "7"
    assert bad_filter.is_error and "$filter" in json.loads(bad_filter.content[0].text)["error"]
    assert "error" in json.loads(missing.content[0].text)


def test_tools_export_matches_mcp_tools():
    out = subprocess.run([sys.executable, "-m", "weft.cli", "tools", "export", "--index", "products-index"], capture_output=True, text=True, check=True)
    exported = json.loads(out.stdout)
    assert [t["function"]["name"] for t in exported] == ["search_documents", "get_document"]
    assert all(t["type"] == "function" and t["function"]["parameters"]["type"] == "object" for t in exported)


def test_mcp_streamable_http(demo_server, tmp_path):
    import time

    import httpx
    from mcp.client.streamable_http import streamable_http_client

    from tests.support.server import free_port

    port = free_port()
    (tmp_path / "token").write_text("mcp-test-token\n")
    (tmp_path / "key").write_text(demo_server.query_key + "\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "weft.cli", "mcp", "--http", "--port", str(port), "--endpoint", demo_server.endpoint,
         "--api-key-file", str(tmp_path / "key"), "--index", "products-index", "--http-token-file", str(tmp_path / "token")],
        stdout=open(tmp_path / "mcp.log", "wb"), stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/mcp", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)

        async def calls():
            import httpx2

            client = httpx2.AsyncClient(headers={"Authorization": "Bearer mcp-test-token"})
            async with streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=client) as streams:
                read, write = streams[0], streams[1]
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    return await session.call_tool("search_documents", {"query": "tent", "top": 2, "select": "id,productName"})

        result = anyio.run(calls)
        docs = json.loads(result.content[0].text)
        assert docs and all("tent" in d["productName"].lower() for d in docs)
    finally:
        proc.terminate()
        proc.wait(10)
