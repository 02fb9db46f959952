"""`weft mcp` as an attacker would drive it, with the official `mcp` client: a crafted document key or an extra
`index` argument must not leave the bound index, and the HTTP transport needs its bearer token and a loopback
(or configured) Host and Origin."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import anyio
import httpx
import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.support.server import WeftServer, free_port

SECRET = "secret-index-marker-7f3a"


@pytest.fixture(scope="module")
def weft(tmp_path_factory):
    server = WeftServer(tmp_path_factory.mktemp("mcp-sec") / "data", extra_args=["--demo"]).start()
    admin = {"api-key": server.admin_key}
    r = httpx.post(server.url("/indexes"), headers=admin, json={"name": "secret", "fields": [
        {"name": "id", "type": "Edm.String", "key": True}, {"name": "body", "type": "Edm.String", "searchable": True}]})
    assert r.status_code == 201, r.text
    r = httpx.post(server.url("/indexes/secret/docs/index"), headers=admin, json={"value": [{"@search.action": "upload", "id": "1", "body": SECRET}]})
    assert r.status_code == 200
    yield server
    server.stop()


async def _stdio_calls(server: WeftServer, key_file, calls):
    params = StdioServerParameters(command=sys.executable, args=[
        "-m", "weft.cli", "mcp", "--endpoint", server.endpoint, "--api-key-file", str(key_file), "--index", "products-index"],
        env=dict(os.environ))  # (the stdio client passes only a few variables by default: keep PYTHONPATH)
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            return [await session.call_tool(name, args) for name, args in calls]


def test_bound_index_holds_against_crafted_keys_and_arguments(weft, tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text(weft.query_key + "\n")
    crafted = [
        "1')/../../indexes('secret')/docs('1",  # OData-style path climbing
        "../../secret/docs/1",
        "1?api-version=2026-04-01#",
        "..",
    ]
    calls = [("get_document", {"key": k}) for k in crafted]
    calls.append(("search_documents", {"query": "*", "index": "secret"}))  # not an argument of a bound tool
    calls.append(("get_document", {"key": "1", "index": "secret"}))
    calls.append(("get_document", {"key": "7"}))  # the bound index still answers
    results = anyio.run(_stdio_calls, weft, key_file, calls)
    for result in results[:-1]:
        text = result.content[0].text
        assert SECRET not in text
        assert "error" in json.loads(text)
    assert "Unknown argument 'index'" in results[-3].content[0].text
    assert json.loads(results[-1].content[0].text)["id"] == "7"


@pytest.fixture()
def mcp_http(weft, tmp_path):
    port = free_port()
    (tmp_path / "key").write_text(weft.query_key + "\n")
    (tmp_path / "token").write_text("the-mcp-token\n")
    log = open(tmp_path / "mcp.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "weft.cli", "mcp", "--http", "--port", str(port), "--endpoint", weft.endpoint,
                             "--api-key-file", str(tmp_path / "key"), "--index", "products-index",
                             "--http-token-file", str(tmp_path / "token"), "--allowed-host", "mcp.internal.example"],
                            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/mcp", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}/mcp"
    proc.terminate()
    proc.wait(10)


def _initialize(url: str, headers: dict) -> httpx.Response:
    body = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "probe", "version": "0"}}}
    return httpx.post(url, json=body, headers={"Accept": "application/json, text/event-stream", **headers}, timeout=10)


def test_http_transport_needs_the_token_and_a_trusted_host_and_origin(mcp_http):
    good = {"Authorization": "Bearer the-mcp-token"}
    assert _initialize(mcp_http, {}).status_code == 401
    assert _initialize(mcp_http, {"Authorization": "Bearer wrong"}).status_code == 401
    assert _initialize(mcp_http, {"Authorization": "Basic dGhlLW1jcC10b2tlbg=="}).status_code == 401
    # DNS rebinding: a page served from attacker.example resolving to 127.0.0.1
    assert _initialize(mcp_http, {**good, "Host": "attacker.example"}).status_code == 421
    assert _initialize(mcp_http, {**good, "Origin": "http://attacker.example"}).status_code == 403
    assert _initialize(mcp_http, {**good, "Host": "mcp.internal.example:8765"}).status_code == 200
    assert _initialize(mcp_http, {**good, "Origin": "http://localhost:3000"}).status_code == 200

    from mcp.client.streamable_http import streamable_http_client
    import httpx2

    async def call(headers):
        client = httpx2.AsyncClient(headers=headers)
        async with streamable_http_client(mcp_http, http_client=client) as streams:
            async with ClientSession(streams[0], streams[1]) as session:
                await session.initialize()
                return await session.call_tool("get_document", {"key": "7"})

    assert json.loads(anyio.run(call, good).content[0].text)["id"] == "7"
    with pytest.raises(Exception):
        anyio.run(call, {"Authorization": "Bearer wrong"})


def test_http_token_is_generated_and_printed_when_none_is_given(weft, tmp_path):
    port = free_port()
    (tmp_path / "key").write_text(weft.query_key + "\n")
    proc = subprocess.Popen([sys.executable, "-m", "weft.cli", "mcp", "--http", "--port", str(port), "--endpoint", weft.endpoint,
                             "--api-key-file", str(tmp_path / "key")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
        assert line.startswith("weft mcp bearer token: ")
        token = line.split()[4]
        assert len(token) >= 32
        deadline = time.monotonic() + 20
        status = None
        while time.monotonic() < deadline:
            try:
                status = _initialize(f"http://127.0.0.1:{port}/mcp", {"Authorization": f"Bearer {token}"}).status_code
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        assert status == 200
        assert _initialize(f"http://127.0.0.1:{port}/mcp", {}).status_code == 401
    finally:
        proc.terminate()
        proc.wait(10)
