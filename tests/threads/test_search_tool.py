"""The Azure AI Search tool's logic (weft.agents.search_tool) against a real weft search service in-process."""
from __future__ import annotations

import json

import pytest

from weft.agents import search_tool
from weft.errors import InvalidInput
from weft.search.public import PublicSearch
from weft.search.service import SearchService

INDEX = {"name": "products", "fields": [
    {"name": "id", "type": "Edm.String", "key": True},
    {"name": "title", "type": "Edm.String", "searchable": True},
    {"name": "body", "type": "Edm.String", "searchable": True},
    {"name": "url", "type": "Edm.String"},
    {"name": "color", "type": "Edm.String", "filterable": True},
]}
CONN = "/subscriptions/s/resourceGroups/g/providers/Microsoft.CognitiveServices/accounts/a/projects/p/connections/weft"


@pytest.fixture()
def public(tmp_path):
    service = SearchService(tmp_path / "search")
    service.create_index(INDEX)
    service.apply_batch("products", {"value": [
        {"@search.action": "upload", "id": "1", "title": "Red kettle", "body": "a kettle that boils water", "url": "https://x/1", "color": "red"},
        {"@search.action": "upload", "id": "2", "title": "Blue kettle", "body": "another kettle for tea", "url": "https://x/2", "color": "blue"},
        {"@search.action": "upload", "id": "3", "title": "Lamp", "body": "a reading lamp", "url": "https://x/3", "color": "red"},
    ]})
    return PublicSearch(service)


def resource(**kw):
    return search_tool.check_resources({"indexes": [{"index_connection_id": CONN, "index_name": "products", **kw}]})[0]


def test_a_search_returns_documents_and_citations(public):
    output, citations = search_tool.run(public, "query", resource(), json.dumps({"query": "kettle"}))
    docs = json.loads(output)["documents"]
    assert sorted(d["id"] for d in docs) == ["1", "2"]
    assert {c["url"] for c in citations} == {"https://x/1", "https://x/2"}


def test_filter_and_top_k_restrict_results(public):
    output, _ = search_tool.run(public, "admin", resource(filter="color eq 'blue'"), json.dumps({"query": "kettle"}))
    assert [d["id"] for d in json.loads(output)["documents"]] == ["2"]
    output, _ = search_tool.run(public, "admin", resource(top_k=1), json.dumps({"query": "kettle"}))
    assert len(json.loads(output)["documents"]) == 1


def test_no_grant_fails_without_documents(public):
    with pytest.raises(search_tool.SearchToolError) as failed:
        search_tool.run(public, None, resource(), json.dumps({"query": "kettle"}))
    assert "may not query" in str(failed.value) and "boils" not in str(failed.value)


def test_vector_query_without_vectorizer_is_a_tool_error(public):
    with pytest.raises(search_tool.SearchToolError) as failed:
        search_tool.run(public, "admin", resource(query_type="vector"), json.dumps({"query": "kettle"}))
    assert "vectorizer" in str(failed.value)


def test_an_internal_or_unknown_index_is_a_tool_error(public):
    with pytest.raises(search_tool.SearchToolError):
        search_tool.run(public, "admin", resource(index_name="conversations-t-0123456789ab"), json.dumps({"query": "x"}))
    with pytest.raises(search_tool.SearchToolError):
        search_tool.run(public, "admin", resource(index_name="nope"), json.dumps({"query": "x"}))


@pytest.mark.parametrize("bad, named", [
    ({"indexes": []}, "indexes"),
    ({"indexes": [{"index_connection_id": "/x/connections/other", "index_name": "products"}]}, "index_connection_id"),
    ({"indexes": [{"index_connection_id": CONN}]}, "index_name"),
    ({"indexes": [{"index_connection_id": CONN, "index_name": "p", "query_type": "fuzzy"}]}, "query_type"),
    ({"indexes": [{"index_connection_id": CONN, "index_name": "p", "top_k": 0}]}, "top_k"),
    ({"indexes": [{"index_connection_id": CONN, "index_name": "p", "index_asset_id": "a"}]}, "index_asset_id"),
    ({"indexes": [{"index_connection_id": CONN, "index_name": "p", "boost": 1}]}, "boost"),
])
def test_bad_resources_are_400s_naming_the_member(bad, named):
    with pytest.raises(InvalidInput) as refused:
        search_tool.check_resources(bad)
    assert named in refused.value.message


def test_step_call_shape():
    assert search_tool.step_call("call_1", '{"query":"q"}', "out") == {
        "id": "call_1", "type": "azure_ai_search", "azure_ai_search": {"input": '{"query":"q"}', "output": "out"}}


def test_markers_become_annotations_only_for_documents_with_urls(public):
    from weft.agents.citations import Citations, foundry_annotation

    cite = Citations()
    public.service.apply_batch("products", {"value": [{"@search.action": "upload", "id": "4", "title": "Old kettle", "body": "kettle"}]})
    output, _ = search_tool.run(public, "admin", resource(), json.dumps({"query": "kettle"}), cite)
    docs = {d["id"]: d for d in json.loads(output)["documents"]}
    assert "@citation" not in docs["4"] and docs["1"]["@citation"].startswith("【0:")
    text = f"Red {docs['1']['@citation']} and old 【0:9†source】 and {docs['4'].get('@citation', '【7:7†source】')}."
    [annotation] = cite.annotations(text)
    assert annotation["url"] == "https://x/1" and annotation["title"] == "Red kettle"
    assert text[annotation["start_index"]:annotation["end_index"]] == docs["1"]["@citation"]
    shown = foundry_annotation(annotation, text)
    assert shown["url_citation"] == {"url": "https://x/1", "title": "Red kettle"} and shown["text"] == docs["1"]["@citation"]


class _SlowEmbeddings:
    """An embeddings endpoint that answers after ``delay`` seconds (or when stopped)."""

    def __init__(self, delay: float):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.release = threading.Event()
        self.calls = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                owner.calls += 1
                self.rfile.read(int(self.headers.get("content-length", "0")))
                owner.release.wait(delay)
                payload = json.dumps({"data": [{"embedding": [0.1, 0.2, 0.3]}]}).encode()
                try:
                    self.send_response(200)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:  # the caller gave up
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def stop(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def test_timed_out_searches_stop_and_never_exhaust_the_tool_threads(tmp_path, monkeypatch):
    # each vector search waits on an embeddings endpoint far slower than the tool's bound; the call fails at its
    # bound and its search stops at the same deadline (weft.deadline), so after more timed-out calls than the tool
    # has threads (4), a plain search still runs
    from weft.agents import project_tools
    from weft.search import endpoints

    slow = _SlowEmbeddings(delay=60)
    monkeypatch.setattr(endpoints.POLICY, "_entries", endpoints.POLICY._entries)  # restored after the test
    endpoints.POLICY.allow(slow.url)
    monkeypatch.setattr(project_tools, "TIMEOUT_SECONDS", 0.3)
    try:
        service = SearchService(tmp_path / "search")
        service.create_index({"name": "vec", "fields": [
            {"name": "id", "type": "Edm.String", "key": True}, {"name": "title", "type": "Edm.String", "searchable": True},
            {"name": "v", "type": "Collection(Edm.Single)", "searchable": True, "dimensions": 3, "vectorSearchProfile": "p"}],
            "vectorSearch": {"algorithms": [{"name": "h", "kind": "hnsw"}], "profiles": [{"name": "p", "algorithm": "h", "vectorizer": "vz"}],
                             "vectorizers": [{"name": "vz", "kind": "openAICompatible",
                                              "openAICompatibleParameters": {"baseUrl": slow.url, "model": "m", "apiKey": "k"}}]}})
        service.apply_batch("vec", {"value": [{"@search.action": "upload", "id": "1", "title": "kettle", "v": [0.1, 0.2, 0.3]}]})
        public = PublicSearch(service)

        def tool(query_type):
            return project_tools.SearchTool(project_tools.parse_search_tool({"type": "azure_ai_search", "azure_ai_search": {
                "indexes": [{"project_connection_id": "weft", "index_name": "vec", "query_type": query_type}]}}, "tools[0]"),
                public, "admin")

        for _ in range(6):
            output, status = tool("vector").call(json.dumps({"query": "kettle"}))
            assert status == "failed" and "longer than" in output
        assert slow.calls >= 4  # the searches did reach the slow endpoint
        # a plain search with a bound of 5 s: it gets a thread (the stuck searches, without their deadline, would
        # hold all four for the endpoint's 30 s read timeout) and completes
        monkeypatch.setattr(project_tools, "TIMEOUT_SECONDS", 5.0)
        output, status = tool("simple").call(json.dumps({"query": "kettle"}))
        assert status == "completed", output
        assert [d["id"] for d in json.loads(output)["documents"]] == ["1"]
    finally:
        slow.stop()


def test_the_deadline_nests_caps_and_checks():
    import time

    from weft import deadline

    assert deadline.remaining() is None and deadline.capped(30.0) == 30.0
    deadline.check()  # no deadline: nothing to stop
    with deadline.until(time.monotonic() + 10):
        assert 9 < deadline.remaining() <= 10 and deadline.capped(30.0) <= 10 and deadline.capped(1.0) == 1.0
        with deadline.until(time.monotonic() + 100):  # an inner, later deadline does not extend the outer one
            assert deadline.remaining() <= 10
        with deadline.until(time.monotonic() - 1):
            assert deadline.remaining() == 0 and deadline.capped(30.0) == deadline.MIN_WAIT
            with pytest.raises(deadline.DeadlineExceeded):
                deadline.check("the test")
        deadline.check()
    assert deadline.remaining() is None
