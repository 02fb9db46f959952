"""CORS (an index's corsOptions) tried from a page served on another origin, in headless Chromium, and the
headers checked at the HTTP level; the definition rules through the SDK."""
from __future__ import annotations

import http.server
import threading
import uuid

import httpx
import pytest
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError
from azure.search.documents.indexes import SearchIndexClient
from azure.search.documents.indexes.models import (
    CorsOptions,
    SearchableField,
    SearchAlias,
    SearchFieldDataType,
    SearchIndex,
    SearchSuggester,
    SimpleField,
)

from tests.support.server import API_VERSION, free_port
from tests.support.webdriver import Browser, require_chromium


def _fields():
    return [SimpleField(name="id", type=SearchFieldDataType.String, key=True), SearchableField(name="title")]


@pytest.fixture(scope="module")
def page_origin():
    """A page on another origin (localhost:<port>, while weft listens on 127.0.0.1:<other port>)."""

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"<!doctype html><html><body>cors test page</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    port = free_port()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Page)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{port}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def indexes(server, page_origin):
    client = SearchIndexClient(server.endpoint, AzureKeyCredential(server.admin_key))
    suffix = uuid.uuid4().hex[:6]
    names = {"allowed": f"cors-yes-{suffix}", "star": f"cors-star-{suffix}", "none": f"cors-no-{suffix}", "elsewhere": f"cors-other-{suffix}"}
    options = {"allowed": CorsOptions(allowed_origins=[page_origin], max_age_in_seconds=60), "star": CorsOptions(allowed_origins=["*"]),
               "none": None, "elsewhere": CorsOptions(allowed_origins=["https://app.example.com"])}
    for key, name in names.items():
        client.create_index(SearchIndex(name=name, fields=_fields(), cors_options=options[key],
                                        suggesters=[SearchSuggester(name="sg", source_fields=["title"])]))
        client.get_search_client(name).upload_documents([{"id": "1", "title": "harbour view"}])
    names["alias"] = f"cors-al-{suffix}"
    client.create_alias(SearchAlias(name=names["alias"], indexes=[names["allowed"]]))
    yield names
    client.close()


FETCH = """
const [url, method, key, body, done] = arguments;
const init = {method, headers: {'api-key': key}};
if (body !== null) { init.headers['Content-Type'] = 'application/json'; init.body = JSON.stringify(body); }
fetch(url, init).then(r => r.text().then(t => done({status: r.status, text: t})))
               .catch(e => done({blocked: String(e)}));
"""


@pytest.fixture(scope="module")
def browser(page_origin):
    require_chromium()
    b = Browser()
    b.open(page_origin + "/")
    yield b
    b.close()


def _call(browser, server, path, method="GET", body=None, key=None):
    sep = "&" if "?" in path else "?"
    url = f"{server.endpoint}{path}{sep}api-version={API_VERSION}"
    return browser.run_async(FETCH, url, method, key or server.query_key, body)


def test_browser_on_another_origin_reads_only_cors_indexes(browser, server, indexes):
    for which in ("allowed", "star", "alias"):
        name = indexes[which]
        r = _call(browser, server, f"/indexes('{name}')/docs/search.post.search", "POST", {"search": "harbour", "select": "id"})
        assert r.get("status") == 200, (which, r)
        assert '"id":"1"' in r["text"]
        r = _call(browser, server, f"/indexes/{name}/docs?search=harbour")
        assert r.get("status") == 200, (which, r)
        r = _call(browser, server, f"/indexes('{name}')/docs('1')")
        assert r.get("status") == 200 and "harbour view" in r["text"], (which, r)
        r = _call(browser, server, f"/indexes/{name}/docs/$count")
        assert r.get("text") == "1", (which, r)
        r = _call(browser, server, f"/indexes('{name}')/docs/search.post.suggest", "POST", {"search": "harb", "suggesterName": "sg"})
        assert r.get("status") == 200, (which, r)
        r = _call(browser, server, f"/indexes('{name}')/docs/search.post.autocomplete", "POST", {"search": "harb", "suggesterName": "sg"})
        assert r.get("status") == 200 and "harbour" in r["text"], (which, r)
    # an error answer is readable too (the browser sees the 403, not a network failure)
    r = _call(browser, server, f"/indexes('{indexes['allowed']}')/docs/search.post.search", "POST", {"search": "*"}, key="wrong-key")
    assert r.get("status") == 403, r
    # no corsOptions, or another origin listed: the browser blocks the call
    for which in ("none", "elsewhere"):
        r = _call(browser, server, f"/indexes('{indexes[which]}')/docs/search.post.search", "POST", {"search": "*"})
        assert "blocked" in r, (which, r)
        r = _call(browser, server, f"/indexes/{indexes[which]}/docs/$count")
        assert "blocked" in r, (which, r)
    # only the query APIs: writes and management routes get no CORS, even on a CORS index
    r = _call(browser, server, f"/indexes('{indexes['allowed']}')/docs/search.index", "POST",
              {"value": [{"@search.action": "upload", "id": "2", "title": "x"}]}, key=server.admin_key)
    assert "blocked" in r, r
    r = _call(browser, server, f"/indexes('{indexes['allowed']}')", key=server.admin_key)
    assert "blocked" in r, r
    count = httpx.get(f"{server.endpoint}/indexes/{indexes['allowed']}/docs/$count", params={"api-version": API_VERSION},
                      headers={"api-key": server.admin_key})
    assert count.text == "1"  # the blocked write never happened (its preflight failed)


def test_preflight_and_response_headers(server, indexes, page_origin):
    url = f"{server.endpoint}/indexes('{indexes['allowed']}')/docs/search.post.search"
    pre = {"Origin": page_origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "api-key, content-type"}
    r = httpx.options(url, params={"api-version": API_VERSION}, headers=pre)
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == page_origin
    assert r.headers["access-control-max-age"] == "60"
    assert "POST" in r.headers["access-control-allow-methods"] and "GET" in r.headers["access-control-allow-methods"]
    assert "api-key" in r.headers["access-control-allow-headers"].lower()
    assert r.headers["vary"] == "Origin"
    star = httpx.options(f"{server.endpoint}/indexes/{indexes['star']}/docs", params={"api-version": API_VERSION},
                         headers={"Origin": "https://anything.example", "Access-Control-Request-Method": "GET"})
    assert star.headers["access-control-allow-origin"] == "*" and star.headers["access-control-max-age"] == "300"  # Azure's default
    r = httpx.post(url, params={"api-version": API_VERSION}, json={"search": "*"}, headers={"api-key": server.query_key, "Origin": page_origin})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == page_origin
    # none for an index without corsOptions, for an origin not listed, for a request without Origin, for management routes
    for u, origin in ((f"{server.endpoint}/indexes('{indexes['none']}')/docs/search.post.search", page_origin),
                      (f"{server.endpoint}/indexes('{indexes['elsewhere']}')/docs/search.post.search", page_origin),
                      (url, None)):
        h = {"api-key": server.query_key, **({"Origin": origin} if origin else {})}
        r = httpx.post(u, params={"api-version": API_VERSION}, json={"search": "*"}, headers=h)
        assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
        r = httpx.options(u, params={"api-version": API_VERSION}, headers={**h, "Access-Control-Request-Method": "POST"})
        assert "access-control-allow-origin" not in r.headers and r.status_code == 405
    r = httpx.get(f"{server.endpoint}/indexes('{indexes['allowed']}')", params={"api-version": API_VERSION},
                  headers={"api-key": server.admin_key, "Origin": page_origin})
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers


def test_cors_options_rules_and_update(server):
    client = SearchIndexClient(server.endpoint, AzureKeyCredential(server.admin_key))
    name = f"cors-rules-{uuid.uuid4().hex[:6]}"
    for bad in (CorsOptions(allowed_origins=["app.example.com"]), CorsOptions(allowed_origins=["https://app.example.com/"]),
                CorsOptions(allowed_origins=["ftp://app.example.com"]), CorsOptions(allowed_origins=["*", "https://a.example"]),
                CorsOptions(allowed_origins=[]), CorsOptions(allowed_origins=["https://a.example"], max_age_in_seconds=-1)):
        with pytest.raises(HttpResponseError) as err:
            client.create_index(SearchIndex(name=name, fields=_fields(), cors_options=bad))
        assert err.value.status_code == 400 and "corsOptions" in str(err.value)
    created = client.create_index(SearchIndex(name=name, fields=_fields(), cors_options=CorsOptions(allowed_origins=["https://a.example:8443"])))
    assert created.cors_options.allowed_origins == ["https://a.example:8443"]
    url = f"{server.endpoint}/indexes/{name}/docs/search"
    h = {"api-key": server.query_key, "Origin": "https://b.example"}
    assert "access-control-allow-origin" not in httpx.post(url, params={"api-version": API_VERSION}, json={}, headers=h).headers
    created.cors_options = CorsOptions(allowed_origins=["https://b.example"], max_age_in_seconds=0)
    client.create_or_update_index(created)  # no rebuild: applies to the next request
    r = httpx.post(url, params={"api-version": API_VERSION}, json={}, headers=h)
    assert r.headers["access-control-allow-origin"] == "https://b.example"
    raw = httpx.post(f"{server.endpoint}/indexes", params={"api-version": API_VERSION}, headers={"api-key": server.admin_key},
                     json={"name": name + "x", "fields": [{"name": "id", "type": "Edm.String", "key": True}], "corsOptions": "everyone"})
    assert raw.status_code == 400
    client.delete_index(name)
    client.close()
