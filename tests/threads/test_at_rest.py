"""At rest, with encryption on: markers written through every content path (conversation items and metadata,
/v1/responses, chat messages, mail import, conversation search), then deletes and a retention purge; a raw
byte scan of every file under the data dir, the file modes, and the server log.

* deleted content: its markers are single unique tokens, so even the search index's term dictionary must have
  lost them (deletes are followed at once by a background rewrite of the tenant's conversation-search index;
  SQLite files use secure_delete and the WAL is truncated after deletes);
* live content: the thread store seals it; the conversation-search index keeps only the inverted index (text
  not stored, WEFT_CONVERSATION_SEARCH_STORE_TEXT defaults to false with encryption). Its term dictionary holds
  the words, so live markers are multi-word phrases: the phrase must not be anywhere, and a search still
  renders it (read back from the encrypted store);
* metadata keys and values: neither in clear (keys are hashed, docs/threads.md);
* every file 0600, every directory 0700; the access log shows /v1 paths without their query strings.
"""
from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import httpx
import pytest

from tests.threads.live import ThreadsServer, weft_cli

MASTER = "ab" * 32
DELETED = {  # single tokens, each written through one path and then deleted or purged
    "item": "zqdelitemtok", "conversation": "zqdelconvtok", "response": "zqdelresptok", "chat": "zqdelchattok",
    "chat_channel": "zqdelchanneltok", "mail": "zqdelmailtok", "purge": "zqpurgedtok", "metadata_value": "zqdelmdvaluetok",
    "metadata_key": "zqdelmdkeytok",
}
LIVE = {  # phrases that stay stored (sealed) and indexed (as separate words only)
    "item": "violet harbour lantern", "response": "copper meadow whistle", "chat": "amber canyon drift",
    "mail": "silent orchard comet",
}
LIVE_METADATA = ("zqlivemdkey", "zqlivemdvalue")


def _scan(root: Path, needles: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for dirpath, _, files in os.walk(root):  # os.walk skips what vanishes mid-scan (a rewrite renames its folders)
        for name in files:
            path = Path(dirpath) / name
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                continue
            for needle in needles:
                if needle.encode() in data:
                    found.setdefault(needle, []).append(str(path.relative_to(root)))
    return found


def _modes(root: Path) -> list[str]:
    bad = []
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if path.is_dir() and mode != 0o700 or path.is_file() and mode & 0o077:
            bad.append(f"{oct(mode)} {path.relative_to(root)}")
    return bad


@pytest.fixture(params=["default", "stored-text"])
def server(request, tmp_path, fake_llm):
    """Encryption on; the conversation index with its default (no text stored) or told to store the text, where the
    deleted items' text is in the index's doc store until the rewrite that follows the delete removes it."""
    env = {"WEFT_MASTER_KEY": MASTER, "WEFT_CONVERSATION_SEARCH_TENANTS": "default", "WEFT_CONVERSATION_SEARCH_INTERVAL": "0",
           "WEFT_RETENTION_INTERVAL": "1", "WEFT_LLM_BASE_URL": fake_llm.base_url, "WEFT_LLM_MODEL": "fake-model"}
    if request.param == "stored-text":
        env["WEFT_CONVERSATION_SEARCH_STORE_TEXT"] = "true"
    s = ThreadsServer(tmp_path / "data", env=env, extra_args=["--log-level", "info"]).start()
    s.env_for_cli = env
    s.stored_text = request.param == "stored-text"
    yield s
    s.kill()


def _post(s: ThreadsServer, path: str, body: dict) -> dict:
    r = httpx.post(f"{s.endpoint}{path}", json=body, headers=s.headers(), timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def _delete(s: ThreadsServer, path: str) -> None:
    r = httpx.delete(f"{s.endpoint}{path}", headers=s.headers(), timeout=30)
    assert r.status_code == 200, r.text


def _search(s: ThreadsServer, query: str) -> list[dict]:
    return _post(s, "/v1/conversations/search", {"query": query, "mode": "text", "top": 50})["data"]


def test_nothing_readable_at_rest_after_deletes_and_purge(server, tmp_path):
    s = server
    data = s.data_dir
    # conversation items and metadata
    live = _post(s, "/v1/conversations", {"metadata": {LIVE_METADATA[0]: LIVE_METADATA[1]},
                                          "items": [{"role": "user", "content": f"please remember {LIVE['item']}"}]})
    doomed_item = _post(s, f"/v1/conversations/{live['id']}/items", {"items": [{"role": "user", "content": f"forget {DELETED['item']}"}]})
    doomed = _post(s, "/v1/conversations", {"metadata": {DELETED["metadata_key"]: DELETED["metadata_value"]},
                                            "items": [{"role": "user", "content": f"all of {DELETED['conversation']}"}]})
    # /v1/responses (the fake model echoes the input, so input and output both carry the marker)
    _post(s, "/v1/responses", {"model": "fake-model", "conversation": live["id"], "input": f"say {LIVE['response']}"})
    responded = _post(s, "/v1/conversations", {})
    _post(s, "/v1/responses", {"model": "fake-model", "conversation": responded["id"], "input": f"say {DELETED['response']}"})
    # chat continuity
    chat_live = _post(s, "/v1/chat/messages", {"channel": "support", "participants": ["ann", "bob"], "text": f"note {LIVE['chat']}"})
    chat_doomed = _post(s, "/v1/chat/messages", {"channel": DELETED["chat_channel"], "participants": ["cat", "dan"],
                                                 "text": f"gone {DELETED['chat']}"})
    # retention purge
    purged = _post(s, "/v1/conversations", {"retention_seconds": 1, "items": [{"role": "user", "content": f"old {DELETED['purge']}"}]})
    # mail import (straight into the thread store), then a re-sync of the conversation index
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    for n, (subject, body) in enumerate(((f"status {LIVE['mail']}", f"kept {LIVE['mail']}"), ("drop me", f"body {DELETED['mail']}"))):
        (mail_dir / f"{n}.eml").write_text(f"From: a{n}@example.com\nTo: me@example.com\nSubject: {subject}\n"
                                           f"Message-ID: <m{n}@example.com>\nDate: Mon, 1 Dec 2026 10:0{n}:00 +0000\n\n{body}\n")
    out = weft_cli("mail", "import", str(mail_dir), "--tenant", "default", "--data-dir", str(data), env=s.env_for_cli)
    assert out.returncode == 0, out.stderr
    _post(s, "/v1/tenants/default/conversation-search", {"reindex": True})

    # everything is searchable, and live text is rendered from the encrypted store
    def indexed(word: str) -> list[dict]:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            hits = _search(s, word)
            if hits:
                return hits
            time.sleep(0.2)
        return []

    for phrase in LIVE.values():
        hits = indexed(phrase.split()[1])
        assert hits and any(phrase in (h["text"] or "") for h in hits), phrase
    mail_hits = indexed(DELETED["mail"])
    # (the purged conversation was indexed at its append; the 1 s retention may already have purged it here)
    assert mail_hits and indexed(DELETED["item"]) and indexed(DELETED["conversation"])
    # metadata filters work on hashed keys, and the access log keeps the filter out
    r = httpx.get(f"{s.endpoint}/v1/conversations", params={f"metadata[{LIVE_METADATA[0]}]": LIVE_METADATA[1]}, headers=s.headers())
    assert [c["id"] for c in r.json()["data"]] == [live["id"]]

    if s.stored_text:  # positive control: the text is in the index files now (the thread store has it sealed)
        # (tantivy compresses its doc store in blocks, so not every token shows in the raw bytes: some must)
        before = _scan(data / "search" / "indexes", [DELETED[k] for k in ("item", "conversation", "response", "chat", "mail")])
        assert before, "the deleted items' text is in the index files before the deletes"

    # deletes (item, conversation, a responded conversation, a chat conversation, an imported mail) and a purge
    _delete(s, f"/v1/conversations/{live['id']}/items/{doomed_item['data'][0]['id']}")
    _delete(s, f"/v1/conversations/{doomed['id']}")
    _delete(s, f"/v1/conversations/{responded['id']}")
    _delete(s, f"/v1/conversations/{chat_doomed['conversation_id']}")
    _delete(s, f"/v1/conversations/{mail_hits[0]['conversation_id']}")
    deadline = time.monotonic() + 20
    while httpx.get(f"{s.endpoint}/v1/conversations/{purged['id']}", headers=s.headers()).status_code != 404:
        assert time.monotonic() < deadline, "the retention job did not purge"
        time.sleep(0.2)
    for token in (DELETED["item"], DELETED["conversation"], DELETED["purge"], DELETED["mail"]):
        assert _search(s, token) == []

    # (with the text stored in the index by choice, live text is readable there: only deleted content is checked)
    needles = [*DELETED.values(), *LIVE_METADATA] + ([] if s.stored_text else list(LIVE.values()))
    # the rewrite of the index that follows deletes runs in the background, at once: wait for it (bounded)
    deadline = time.monotonic() + 30
    while True:
        running = _scan(data, needles + [live["id"]])
        assert running.pop(live["id"], None), "the scan reads the data files (ids are stored in clear)"
        if not running or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert running == {}, f"readable at rest while running: {running}"
    assert s.stop() == 0
    assert _scan(data, needles) == {}, "readable at rest after a clean stop"
    assert _modes(data) == []
    log = s.log_path.read_text()
    assert "GET /v1/conversations?" in log  # the access log is on (positive control)
    leaked = [n for n in needles if n in log]
    assert leaked == [], f"in the server log: {leaked}"
    assert chat_live["conversation_id"]


def test_library_use_creates_owner_only_files_whatever_the_umask(tmp_path):
    """Without `weft serve`'s umask: the services still create their files 0600 and directories 0700."""
    from weft.indexers.service import IndexerService
    from weft.search.service import SearchService
    from weft.threads.search_index import ConversationIndex, ConversationSearchSettings
    from weft.threads.service import ThreadService
    from weft.threads.settings import default_sqlite_url
    from weft.threads.store import SqlThreadStore
    from weft.threads.policy import Principal

    old = os.umask(0o022)
    try:
        data = tmp_path / "lib"
        search = SearchService(data / "search")
        store = SqlThreadStore(default_sqlite_url(data))
        threads = ThreadService(store, master_key=bytes(32), encryption=True)
        index = ConversationIndex(search, threads, data / "threads" / "conversation-search.sqlite3", ConversationSearchSettings(tenants=("acme",)))
        threads.index_hooks = index
        threads.create_conversation(Principal.library("acme"), items=[{"role": "user", "content": "hello"}])
        indexers = IndexerService(data / "indexers", search, run_scheduler=False)
        indexers.close()
        index.journal.close()
        search.close()
        store.close()
    finally:
        os.umask(old)
    assert (data / "search" / "catalog.sqlite3").exists() and (data / "threads" / "threads.sqlite3").exists()
    bad = [b for b in _modes(data) if not b.split()[1].startswith("search/indexes/conversations-")
           or not b.split()[1].count("/") > 2]  # (files inside a 0700 index directory are written by tantivy)
    assert bad == [], bad
