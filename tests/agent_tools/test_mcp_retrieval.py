"""Agentic retrieval and semantic search as agent tools: `weft mcp --knowledge-base` (the official `mcp` client over
stdio, with a query key) and `weft tools export`, over the demo product index."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import anyio
import httpx
import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.support.server import WeftServer

pytest.importorskip("sentence_transformers", reason="semantic ranking's local reranker needs the local-embeddings extra")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    server = WeftServer(tmp_path_factory.mktemp("mcp-kb") / "data", extra_args=["--demo"]).start()
    h = {"api-key": server.admin_key}
    assert httpx.post(server.url("/knowledgesources"), headers=h, json={
        "name": "catalogue", "kind": "searchIndex", "searchIndexParameters": {"searchIndexName": "products-index",
                                                                            "sourceDataFields": [{"name": "productName"}, {"name": "price"}]}}).status_code == 201
    assert httpx.post(server.url("/knowledgebases"), headers=h, json={"name": "shop", "knowledgeSources": [{"name": "catalogue"}]}).status_code == 201
    yield server
    server.stop()


async def _calls(server: WeftServer, calls):
    params = StdioServerParameters(command=sys.executable, env=dict(os.environ), args=[
        "-m", "weft.cli", "mcp", "--endpoint", server.endpoint, "--api-key", server.query_key, "--index", "products-index",
        "--knowledge-base", "shop"])
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            listed = await session.list_tools()
            return listed, [await session.call_tool(name, args) for name, args in calls]


def test_retrieve_and_semantic_search_tools(demo):
    listed, (retrieved, several, semantic, bad) = anyio.run(_calls, demo, [
        ("knowledge_base_retrieve", {"query": "a mug for coffee"}),
        ("knowledge_base_retrieve", {"queries": ["coffee mug", "wireless headphones"]}),
        ("search_documents", {"query": "mug", "semantic": True, "top": 3}),
        ("knowledge_base_retrieve", {"queries": []}),
    ])
    assert {t.name for t in listed.tools} == {"search_documents", "get_document", "knowledge_base_retrieve"}
    chunks = json.loads(retrieved.content[0].text)
    assert chunks and chunks[0]["doc_key"] and 0 <= chunks[0]["reranker_score"] <= 4
    assert "mug" in chunks[0]["title"].lower()
    scores = [c["reranker_score"] for c in chunks]
    assert scores == sorted(scores, reverse=True)
    titles = " ".join(c["title"].lower() for c in json.loads(several.content[0].text))
    assert "mug" in titles and "headphone" in titles
    docs = json.loads(semantic.content[0].text)
    assert 1 <= len(docs) <= 3 and all("@search.rerankerScore" in d and d.get("caption") for d in docs)
    assert bad.is_error or "error" in json.loads(bad.content[0].text)


def test_tools_export_lists_the_retrieve_tool():
    out = subprocess.run([sys.executable, "-m", "weft.cli", "tools", "export", "--knowledge-base", "shop"], capture_output=True, text=True,
                         env=dict(os.environ), check=True).stdout
    tools = {t["function"]["name"]: t["function"] for t in json.loads(out)}
    assert "knowledge_base_retrieve" in tools and "shop" in tools["knowledge_base_retrieve"]["description"]
    assert "semantic" in tools["search_documents"]["parameters"]["properties"]
