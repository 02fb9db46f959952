"""The conversation-search index keeps its text index-only when encryption is on (not stored in the index), so an
index an earlier weft's analysis wrote cannot be re-analyzed from the index alone: the reconcile pass on start
rewrites it with the text read back from the encrypted store (TantivyEngine.stale_analysis, search_index.reconcile)."""
from __future__ import annotations

import time

import httpx

from tests.threads.live import ThreadsServer
from weft.search.engine.tantivy_engine import ANALYSIS_STAMP

ENV = {"WEFT_MASTER_KEY": "cd" * 32, "WEFT_CONVERSATION_SEARCH_TENANTS": "default", "WEFT_CONVERSATION_SEARCH_INTERVAL": "0"}


def _search(s: ThreadsServer, query: str) -> list[dict]:
    r = httpx.post(f"{s.endpoint}/v1/conversations/search", json={"query": query, "mode": "text", "top": 10},
                   headers=s.headers(), timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["data"]


def _until(predicate, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    return predicate()


def test_a_conversation_index_from_another_analysis_is_rewritten_with_its_text(tmp_path):
    s = ThreadsServer(tmp_path / "data", env=ENV).start()
    try:
        r = httpx.post(f"{s.endpoint}/v1/conversations", headers=s.headers(), timeout=30,
                       json={"items": [{"role": "user", "content": "please remember the violet harbour lantern"}]})
        assert r.status_code == 200, r.text
        assert _until(lambda: _search(s, "lantern")), "the item was never indexed"
    finally:
        s.stop()
    conversation_stamps = list((tmp_path / "data").rglob(ANALYSIS_STAMP))  # the tenant's index is the only one
    assert conversation_stamps
    for stamp in conversation_stamps:
        stamp.write_text("an earlier analysis\n")

    s = ThreadsServer(tmp_path / "data", env=ENV).start()
    try:
        assert _until(lambda: all(p.read_text().strip() != "an earlier analysis" for p in conversation_stamps)), \
            "the conversation index was not re-analyzed"
        hits = _until(lambda: _search(s, "harbour"))
        assert hits and hits[0]["text"] == "please remember the violet harbour lantern"  # the text came back from the store
    finally:
        s.stop()
