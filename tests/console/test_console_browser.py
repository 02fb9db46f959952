"""The console in a real browser: headless Chromium (Debian's package) driven by Playwright, against a live
`weft serve --demo` subprocess. Each view's screenshot is saved into docs/console/ (the README shows them); the
speed numbers (asset weight, time to a usable explorer with a cold cache, a 1,000-row table) are measured here
and written to bench/console/RESULTS.md and the console section of bench/RESULTS.md, not asserted.

Skipped without chromium or playwright locally; CI=true turns the skip into a failure.
"""
from __future__ import annotations

import re

import json
import os
import shutil
import sqlite3
import statistics
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests.support.server import API_VERSION, WeftServer

CHROMIUM = os.environ.get("WEFT_CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "docs" / "console"
ADMIN, QUERY = "console-browser-admin", "console-browser-query"


def _need_browser():
    reason = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = "playwright is not installed (pip install -e '.[test]')"
    if reason is None and not Path(CHROMIUM).exists():
        reason = f"no chromium at {CHROMIUM} (apt-get install chromium)"
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def weft(tmp_path_factory):
    _need_browser()
    base = tmp_path_factory.mktemp("console")
    data = base / "data"
    srv = WeftServer(data, admin_key=ADMIN, query_key=QUERY, extra_args=["--demo"],
                     env={"WEFT_CONVERSATION_SEARCH_TENANTS": "default", "WEFT_CONVERSATION_SEARCH_INTERVAL": "0.2",
                          "WEFT_SQLITE_DIRS": str(base)}).start(timeout=120)
    srv.base = base
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser(weft):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


def admin_api(weft, method, path, **kw):
    params = kw.pop("params", {})
    if not path.startswith("/v1"):
        params["api-version"] = API_VERSION
    r = httpx.request(method, weft.endpoint + path, headers={"api-key": ADMIN}, params=params, timeout=30, **kw)
    assert r.status_code < 300, r.text
    return r.json() if r.content else None


def open_page(browser, width=1280, height=900):
    ctx = browser.new_context(viewport={"width": width, "height": height})
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    return page


def sign_in(page, weft, key=ADMIN):
    page.goto(weft.endpoint + "/", wait_until="domcontentloaded")  # a browser at / lands on /console
    assert page.url.startswith(weft.endpoint + "/console")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("navigation", name="Views").wait_for()


def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=False)


def test_search_filter_facet_paging_and_errors(browser, weft):
    page = open_page(browser)
    sign_in(page, weft)
    page.get_by_label("Index").select_option("products-index")
    page.get_by_label("$filter").fill("price gt 10")
    page.get_by_label("facets (one per line)").fill("category")
    page.get_by_role("button", name="Search", exact=True).click()
    summary = page.get_by_test_id("summary")
    summary.wait_for()
    first_total = int(summary.inner_text().split()[0])
    assert 0 < first_total < 300  # the demo's 300 products, some cheaper than 10
    rest = page.get_by_test_id("rest-request").inner_text()
    assert '"filter": "price gt 10"' in rest and '"facets": [\n    "category"\n  ]' in rest
    page.get_by_role("tab", name="Python SDK").click()
    python = page.get_by_test_id("python-call").inner_text()
    assert 'filter="price gt 10"' in python and 'facets=["category"]' in python and "SearchClient(" in python
    # a facet click adds its filter and searches again
    bucket = page.locator(".facet-value", has_text="Outdoors")
    want = int(bucket.locator(".count").inner_text().strip("()"))
    bucket.click()
    page.wait_for_function(f"() => document.querySelector('[data-testid=summary]').innerText.startsWith('{want} documents')")
    assert page.get_by_label("$filter").input_value() == "(price gt 10) and category eq 'Outdoors'"
    col = page.locator("[data-testid=results-table] thead th").all_inner_texts().index("category") + 1
    cats = page.locator(f"[data-testid=results-table] tbody td:nth-child({col})").all_inner_texts()
    assert cats and set(cats) == {"Outdoors"}
    first_page = page.locator("[data-testid=results-table] tbody tr").first.inner_text()
    shot(page, "search.png")
    page.get_by_role("button", name="Next page").click()
    page.wait_for_function("() => document.querySelector('[data-testid=summary]').innerText.includes('showing 11–')")
    # the table may render a moment after the summary: wait (bounded) for its first row to change
    expect(page.locator("[data-testid=results-table] tbody tr").first).not_to_have_text(first_page, timeout=10_000)
    assert page.get_by_label("$skip").input_value() == "10"
    # the other parameters are in the form too, and in both code panels
    page.get_by_text("Scoring, semantic and vector options").click()
    page.get_by_label("vector text query").fill("warm tent")
    page.get_by_label("k", exact=True).fill("5")
    page.get_by_label("semanticConfiguration").fill("default")
    page.get_by_label("scoringParameters (one per line)").fill("tags-sale,new")
    python = page.get_by_test_id("python-call").inner_text()
    assert 'vector_queries=[VectorizableTextQuery(text="warm tent", k_nearest_neighbors=5)]' in python
    assert 'semantic_configuration_name="default"' in python and 'scoring_parameters=["tags-sale,new"]' in python
    page.get_by_role("tab", name="Python SDK").focus()
    page.keyboard.press("ArrowLeft")  # the keyboard moves between the tabs
    assert page.get_by_role("tab", name="REST").get_attribute("aria-selected") == "true"
    rest = json.loads(page.get_by_test_id("rest-request").inner_text().split("\n\n", 1)[1])
    assert rest["vectorQueries"] == [{"kind": "text", "text": "warm tent", "k": 5}] and rest["semanticConfiguration"] == "default"
    for name, value in (("vector text query", ""), ("k", ""), ("semanticConfiguration", ""), ("scoringParameters (one per line)", "")):
        page.get_by_label(name, exact=name == "k").fill(value)
    # the server's own message for a bad filter
    page.get_by_label("$filter").fill("price gt")
    page.get_by_role("button", name="Search", exact=True).click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert alert.inner_text().startswith("Error 400")
    page.get_by_role("button", name="Search", exact=True).focus()
    assert not page.errors


def test_index_designer_validation_and_create(browser, weft):
    page = open_page(browser)
    sign_in(page, weft)
    page.get_by_role("link", name="Indexes").click()
    page.get_by_test_id("indexes-table").wait_for()
    row = page.locator("[data-testid=indexes-table] tr", has_text="products-index")
    assert "300" in row.inner_text()
    shot(page, "indexes.png")
    page.get_by_role("link", name="New index").click()
    editor = page.get_by_label("Definition (JSON)")
    definition = {"name": "console-books", "fields": [
        {"name": "id", "type": "Edm.String", "key": True, "filterable": True},
        {"name": "title", "type": "Edm.String", "searchable": True},
        {"name": "genre", "type": "Edm.Strin", "filterable": True, "facetable": True}]}
    editor.fill(json.dumps(definition, indent=2))
    assert page.locator("[data-testid=fields-table] tbody tr").count() == 3  # the designer follows the editor
    page.get_by_role("button", name="Create index").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "Edm.Strin" in alert.inner_text()  # the server's message, shown as it is
    line = page.get_by_test_id("error-line").inner_text()
    assert line == "At line 17 of the definition.", line  # the line of "Edm.Strin"
    selected = page.evaluate("() => { const t = document.getElementById('definition'); return t.value.slice(t.selectionStart, t.selectionEnd); }")
    assert selected == '"Edm.Strin"'
    shot(page, "designer-error.png")
    definition["fields"][2]["type"] = "Edm.String"
    editor.fill(json.dumps(definition, indent=2))
    page.get_by_role("button", name="Create index").click()
    page.get_by_role("heading", name="Index console-books").wait_for()
    assert admin_api(weft, "GET", "/indexes/console-books")["fields"][2]["facetable"] is True
    # an update names the version it edits: a change made meanwhile elsewhere is refused, not overwritten
    page.wait_for_function("() => document.getElementById('definition').value.includes('console-books')")
    other = admin_api(weft, "GET", "/indexes/console-books")
    other["fields"].append({"name": "year", "type": "Edm.Int32", "filterable": True})
    admin_api(weft, "PUT", "/indexes/console-books", json=other)
    mine = json.loads(editor.input_value())
    mine["fields"].append({"name": "pages", "type": "Edm.Int32"})
    editor.fill(json.dumps(mine, indent=2))
    page.get_by_role("button", name="Save index").click()
    assert page.get_by_role("alert").inner_text().startswith("Error 412")
    page.reload()
    page.wait_for_function("() => document.getElementById('definition').value.includes('year')")
    mine = json.loads(editor.input_value())
    mine["fields"].append({"name": "pages", "type": "Edm.Int32"})
    editor.fill(json.dumps(mine, indent=2))
    page.get_by_role("button", name="Save index").click()
    page.get_by_role("status").wait_for()
    assert [f["name"] for f in admin_api(weft, "GET", "/indexes/console-books")["fields"]][-2:] == ["year", "pages"]
    assert not page.errors


def test_upload_documents_with_progress_and_results(browser, weft, tmp_path):
    admin_api(weft, "PUT", "/indexes/console-upload", json={"name": "console-upload", "fields": [
        {"name": "id", "type": "Edm.String", "key": True}, {"name": "title", "type": "Edm.String", "searchable": True}]})
    page = open_page(browser)
    sign_in(page, weft)
    page.goto(weft.endpoint + "/console#/indexes/console-upload/docs")
    lines = "\n".join(json.dumps({"id": str(i), "title": f"book {i}"}) for i in range(1, 1201))
    page.get_by_label("Upload a JSON or JSON lines file").set_input_files(
        files=[{"name": "books.jsonl", "mimeType": "application/x-ndjson", "buffer": lines.encode()}])
    page.get_by_test_id("upload-summary").wait_for()
    assert page.get_by_test_id("upload-summary").inner_text() == "1200 succeeded, 0 failed."
    assert page.locator("progress").get_attribute("value") == "1200"
    page.wait_for_function("() => document.querySelector('[data-testid=doc-count]')?.innerText === '1200 documents'")
    # per-document failures: merge into keys that do not exist
    page.get_by_label("Action").select_option("merge")
    page.get_by_label("Upload a JSON or JSON lines file").set_input_files(
        files=[{"name": "fix.json", "mimeType": "application/json", "buffer": json.dumps([{"id": "1", "title": "first"}, {"id": "nope", "title": "x"}]).encode()}])
    page.wait_for_function("() => document.querySelector('[data-testid=upload-summary]')?.innerText === '1 succeeded, 1 failed.'")
    bad = page.locator("[data-testid=upload-results] tr.bad")
    assert bad.count() == 1 and "nope" in bad.inner_text() and "404" in bad.inner_text()
    page.get_by_label("Look up by key (id)").fill("1")
    page.get_by_role("button", name="Look up").click()
    assert '"title": "first"' in page.get_by_label("The document").inner_text()
    shot(page, "documents.png")
    assert not page.errors


def test_indexer_run_appears_in_the_chart(browser, weft):
    db = weft.base / "shop.sqlite3"
    with sqlite3.connect(db) as c:
        c.execute("create table items (id text primary key, title text, stock text)")  # row 7's stock is no number
        c.executemany("insert into items values (?, ?, ?)", [(str(i), f"item {i}", "lots" if i == 7 else str(i)) for i in range(50)])
    admin_api(weft, "PUT", "/indexes/console-items", json={"name": "console-items", "fields": [
        {"name": "id", "type": "Edm.String", "key": True}, {"name": "title", "type": "Edm.String", "searchable": True},
        {"name": "stock", "type": "Edm.Int32"}]})
    admin_api(weft, "PUT", "/datasources/shop", json={"name": "shop", "type": "sqlite", "credentials": {"connectionString": str(db)},
                                                      "container": {"name": "items"}})
    admin_api(weft, "PUT", "/indexers/shop-items", json={"name": "shop-items", "dataSourceName": "shop", "targetIndexName": "console-items"})
    page = open_page(browser)
    sign_in(page, weft)
    page.get_by_role("link", name="Indexers").click()
    page.get_by_test_id("indexers-table").wait_for()
    assert "hidden" in page.get_by_test_id("datasources-table").inner_text()
    assert str(db) not in page.content()  # the connection string never reaches the page
    page.get_by_role("link", name="shop-items").click()
    chart = page.get_by_test_id("run-chart")
    chart.wait_for()
    done = "() => ['success', 'transientFailure'].includes(document.querySelector('[data-testid=last-status]')?.innerText)"
    page.wait_for_function(done)
    before = int(chart.get_attribute("data-runs"))
    page.get_by_role("button", name="Run now").click()
    page.wait_for_function(f"() => Number(document.querySelector('[data-testid=run-chart]').dataset.runs) > {before}", timeout=20000)
    page.wait_for_function(done, timeout=20000)
    assert page.locator("[data-testid=run-chart] g.run").count() == before + 1
    assert float(page.locator("[data-testid=run-chart] rect.failed").last.get_attribute("height")) > 0  # the failed item
    ticks = page.locator("[data-testid=chart-tick]").all_text_contents()  # the time axis: the runs' start times
    assert ticks and all(re.search(r"\d{1,2}:\d{2}", t) for t in ticks), ticks
    errors = page.get_by_test_id("run-errors").inner_text()  # the newest run's errors, with the document's key
    assert "7" in errors.split("\n")[1] and "lots" in errors and "Edm.Int32" in errors
    shot(page, "indexer.png")
    assert not page.errors


def test_conversation_timeline_search_and_audit(browser, weft):
    conv = admin_api(weft, "POST", "/v1/conversations", json={"metadata": {"topic": "billing"}, "items": [
        {"type": "message", "role": "user", "content": "Where is my zanzibar invoice?"},
        {"type": "function_call", "call_id": "call_1", "name": "lookup_invoice", "arguments": "{\"id\": 42}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "{\"status\": \"sent\"}"},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "It was sent yesterday."}]}]})
    admin_api(weft, "POST", "/v1/conversations", json={"metadata": {"topic": "other"}, "items": [{"type": "message", "role": "user", "content": "hello"}]})
    page = open_page(browser)
    sign_in(page, weft)
    page.get_by_role("link", name="Conversations").click()
    page.get_by_label("Metadata filter (key=value, comma-separated)").fill("topic=billing")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_function("() => document.querySelectorAll('[data-testid=conversations-table] tbody tr').length === 1")
    deadline = time.monotonic() + 15
    while True:  # the conversation-search index catches up in the background
        page.get_by_label("Search past conversations").fill("zanzibar")
        page.get_by_role("button", name="Search", exact=True).click()
        page.get_by_test_id("conv-hits").wait_for()
        if conv["id"] in page.get_by_test_id("conv-hits").inner_text() or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert conv["id"] in page.get_by_test_id("conv-hits").inner_text()
    shot(page, "conversations.png")
    page.locator("[data-testid=conversations-table]").get_by_role("link", name=conv["id"]).click()
    timeline = page.get_by_test_id("timeline")
    timeline.wait_for()
    assert timeline.locator("li").count() == 4
    assert "lookup_invoice" in timeline.locator("li.tool-call").inner_text()
    assert "sent" in timeline.locator("li.tool-output").inner_text()
    assert "It was sent yesterday." in timeline.locator("li.assistant").inner_text()
    shot(page, "conversation.png")
    page.get_by_role("link", name="Audit trail").click()
    table = page.get_by_test_id("audit-table")
    table.wait_for()
    rows = table.locator("tbody tr")
    deadline = time.monotonic() + 10
    while rows.count() < 3 and time.monotonic() < deadline:  # successful reads are recorded in batches (0.2 s)
        time.sleep(0.3)
        page.get_by_role("button", name="Apply").click()
    assert rows.count() >= 3  # the create, the read of the conversation and of its items
    assert all(conv["id"] in t for t in rows.all_inner_texts())
    assert "conversation.create" in table.inner_text()
    shot(page, "audit.png")
    assert not page.errors


def test_stats_and_health(browser, weft):
    page = open_page(browser)
    sign_in(page, weft)
    page.get_by_role("link", name="Stats & health").click()
    page.get_by_test_id("metrics-table").wait_for()
    assert "ok" in page.get_by_test_id("health-healthz").inner_text()
    assert "weft_index_documents" in page.get_by_test_id("metrics-table").inner_text()
    assert "documentCount" in page.get_by_test_id("servicestats").inner_text()
    shot(page, "stats.png")


def test_query_key_sees_no_write_buttons_and_writes_are_refused(browser, weft):
    page = open_page(browser)
    sign_in(page, weft, QUERY)
    nav = page.get_by_role("navigation", name="Views").inner_text()
    assert "Search explorer" in nav and "Indexes" not in nav and "Indexers" not in nav and "Keys" not in nav
    page.get_by_label("Index").fill("products-index")
    page.get_by_role("button", name="Search", exact=True).click()
    page.get_by_test_id("summary").wait_for()
    for view in ("#/search", "#/indexes", "#/indexes/products-index", "#/indexes/products-index/docs", "#/indexers/x", "#/keys"):
        page.goto(weft.endpoint + "/console" + view)
        page.locator("#main").wait_for()
        for name in ("Delete", "Create index", "Save index", "Run now", "Reset", "Create key", "Revoke", "New index"):
            assert page.get_by_role("button", name=name).count() == 0, (view, name)
        assert page.get_by_label("Upload a JSON or JSON lines file").count() == 0
    page.goto(weft.endpoint + "/console#/search")
    status = page.evaluate("""async () => {
        const h = {"api-key": JSON.parse(sessionStorage.getItem("weft-console-credential")).apiKey, "Content-Type": "application/json"};
        const a = await fetch("/indexes/products-index?api-version=2026-04-01", {method: "DELETE", headers: h});
        const b = await fetch("/indexes/products-index/docs/index?api-version=2026-04-01", {method: "POST", headers: h, body: JSON.stringify({value: [{"@search.action": "delete", id: "1"}]})});
        return [a.status, b.status];
    }""")
    assert status == [403, 403]
    shot(page, "query-key.png")
    assert admin_api(weft, "GET", "/indexes/products-index/docs/$count") == 300


def test_phone_width(browser, weft):
    page = open_page(browser, 390, 844)
    sign_in(page, weft)
    page.get_by_label("Index").select_option("products-index")
    page.get_by_label("facets (one per line)").fill("category")
    page.get_by_role("button", name="Search", exact=True).click()
    page.get_by_test_id("summary").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 391  # tables scroll inside their box, not the page
    shot(page, "search-390.png")
    page.keyboard.press("Tab")  # keyboard: focus moves to a control
    assert page.evaluate("document.activeElement.tagName") in ("A", "BUTTON", "INPUT", "SELECT", "TEXTAREA")


def test_measure_speed(browser, weft):
    """Measured, not asserted: asset weight, time until the explorer is usable with a cold cache, 1,000 rows."""
    admin_api(weft, "PUT", "/indexes/console-thousand", json={"name": "console-thousand", "fields": [
        {"name": "id", "type": "Edm.String", "key": True}, {"name": "title", "type": "Edm.String", "searchable": True},
        {"name": "n", "type": "Edm.Int32", "sortable": True}]})
    admin_api(weft, "POST", "/indexes/console-thousand/docs/index",
              json={"value": [{"@search.action": "upload", "id": str(i), "title": f"row {i}", "n": i} for i in range(1000)]})
    cred = json.dumps({"apiKey": ADMIN, "caps": {"search": "admin", "tenant": "admin", "metrics": True}})
    usable, weights, requests = [], [], []
    for _ in range(5):
        ctx = browser.new_context(viewport={"width": 1280, "height": 900})  # a new context: an empty cache
        ctx.add_init_script(f"sessionStorage.setItem('weft-console-credential', {json.dumps(cred)})")
        page = ctx.new_page()
        page.goto(weft.endpoint + "/console#/search")
        # the page marks the moment it is painted with an index picked (search.js); polling would add its own delay
        ms = page.wait_for_function("() => { const m = performance.getEntriesByName('weft-explorer-usable')[0];"
                                    " return m && document.querySelector('#q-index').value && m.startTime; }").json_value()
        usable.append(ms)
        sizes = page.evaluate("""() => performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))
            .filter(e => new URL(e.name).pathname.startsWith('/console')).map(e => e.encodedBodySize)""")
        weights.append(sum(sizes))
        requests.append(len(sizes))
        ctx.close()
    page = open_page(browser)
    sign_in(page, weft)
    page.get_by_label("Index").select_option("console-thousand")
    page.get_by_label("$top").fill("1000")
    t0 = page.evaluate("performance.now()")
    page.get_by_role("button", name="Search", exact=True).click()
    t1 = page.wait_for_function("() => document.querySelectorAll('[data-testid=results-table] tbody tr').length === 1000 && performance.now()").json_value()
    responsive = page.evaluate("() => new Promise(r => { const t = performance.now(); setTimeout(() => r(performance.now() - t), 0); })")
    assert page.locator("[data-testid=results-table] tbody tr").count() == 1000
    from weft.console import assets
    import gzip

    gz = sum(len(gzip.compress(p.read_bytes(), 9)) for p in assets().values())
    raw = sum(p.stat().st_size for p in assets().values())
    results = {"usable_ms": usable, "usable_median_ms": statistics.median(usable), "transfer_bytes": statistics.median(weights),
               "requests": statistics.median(requests), "assets_raw_bytes": raw, "assets_gzip_bytes": gz,
               "thousand_rows_ms": t1 - t0, "timer_after_render_ms": responsive}
    write_results(results)


def write_results(r: dict) -> None:
    import re

    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    table = "\n".join([
        f"Run {when} by tests/console/test_console_browser.py::test_measure_speed (headless Chromium, loopback, 2-core machine "
        f"shared with the server; load average {os.getloadavg()[0]:.1f} at the end: the times move with it).",
        "",
        "| measure | value |",
        "| --- | --- |",
        f"| console assets, gzip (all files served under /console) | {r['assets_gzip_bytes'] / 1024:.1f} KB ({r['assets_raw_bytes'] / 1024:.1f} KB uncompressed) |",
        f"| bytes the page loads on a cold cache (encoded bodies, {r['requests']:.0f} requests) | {r['transfer_bytes'] / 1024:.1f} KB |",
        f"| time to a usable explorer, cold cache (navigation start to the form painted with an index picked; median of 5) | {r['usable_median_ms']:.0f} ms |",
        f"| the 5 runs | {', '.join(f'{x:.0f}' for x in r['usable_ms'])} ms |",
        f"| a search of 1,000 rows, click to the table rendered | {r['thousand_rows_ms']:.0f} ms |",
        f"| a 0 ms timer right after that render fires after | {r['timer_after_render_ms']:.0f} ms |",
        "",
        "Targets (issue 17): assets <= 300 KB compressed; the explorer usable within 1 s of opening it on loopback with a cold "
        "cache; a 1,000-row result table renders without freezing the page.",
    ])
    out = ROOT / "bench" / "console"
    out.mkdir(parents=True, exist_ok=True)
    (out / "RESULTS.md").write_text("# Console speed (bench/console/run.py)\n\n" + table + "\n")
    results = ROOT / "bench" / "RESULTS.md"
    text = results.read_text() if results.exists() else ""
    block = "<!-- console:begin -->\n## Console: asset weight and time to usable\n\n" + table + "\n<!-- console:end -->"
    if "<!-- console:begin -->" in text:
        text = re.sub(r"<!-- console:begin -->.*<!-- console:end -->", lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    results.write_text(text)


def test_bearer_token_sign_in(browser, tmp_path):
    """A token whose roles only read documents: the explorer works, the management views are not offered."""
    from tests.support.oidc import Issuer, write_jwks
    from weft.tls import ensure_auto_certificates

    issuer = Issuer(ensure_auto_certificates(tmp_path / "pki", "127.0.0.1"))  # signs tokens; weft reads its JWKS from a file
    jwks = write_jwks(issuer, tmp_path / "jwks.json")
    srv = WeftServer(tmp_path / "data", admin_key=ADMIN, query_key=QUERY,
                     env={"WEFT_OIDC_ISSUERS": issuer.issuer, "WEFT_OIDC_JWKS_FILE": str(jwks)}).start(timeout=120)
    try:
        admin_api(srv, "PUT", "/indexes/tokened", json={"name": "tokened", "fields": [
            {"name": "id", "type": "Edm.String", "key": True}, {"name": "title", "type": "Edm.String", "searchable": True}]})
        admin_api(srv, "POST", "/indexes/tokened/docs/index", json={"value": [{"@search.action": "upload", "id": "1", "title": "hello"}]})
        page = open_page(browser)
        page.goto(srv.endpoint + "/console")
        page.get_by_label("a bearer token").check()
        page.get_by_label("Bearer token", exact=True).fill(issuer.token(roles=["Search Index Data Reader"]))
        page.get_by_role("button", name="Sign in").click()
        nav = page.get_by_role("navigation", name="Views")
        nav.wait_for()
        assert "Search explorer" in nav.inner_text() and "Indexes" not in nav.inner_text()
        assert page.get_by_test_id("who").inner_text() == "search: read-only"
        page.get_by_label("Index").fill("tokened")
        page.get_by_role("button", name="Search", exact=True).click()
        assert page.get_by_test_id("summary").inner_text().startswith("1 documents")
        stored = page.evaluate("sessionStorage.getItem('weft-console-credential')")
        assert "token" in json.loads(stored) and "token" not in page.url
        assert not page.errors
    finally:
        srv.stop()
