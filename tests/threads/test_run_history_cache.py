"""The classic runs' cache of decoded history entries (weft.agents.history_cache): what the model is sent is what
an uncached read of the database gives, across many turns and after the database changed under the cache (an item
deleted, an item appended by a second service on the same database, a thread deleted, a tenant shredded, a
retention purge); plaintext leaves the cache with what it came from; its memory is bounded."""
from __future__ import annotations

import pytest

from tests.threads.backends import drop_store_tables, unique_prefix, url_for
from tests.threads.fake_llm import FakeChatServer
from weft.agents.assistants import Assistants
from weft.agents.runs import Runs
from weft.threads.chat_endpoint import ChatEndpoint
from weft.threads.clock import ManualClock
from weft.threads.crypto import ContentShredded
from weft.threads.policy import Principal
from weft.threads.service import PendingItem, ThreadService
from weft.threads.store import SqlThreadStore

WHO = Principal.library("acme")
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]


def _user(text: str) -> PendingItem:
    return PendingItem("message", "user", {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]})


class Checked:
    """The chat endpoint of the cached runs: each payload it is sent is compared, at that moment (the turn holds
    the thread's lease), with what an uncached Runs builds from the database for the same run."""

    def __init__(self, endpoint: ChatEndpoint, uncached: Runs):
        self.endpoint, self.uncached = endpoint, uncached
        self.run: dict | None = None
        self.sent: list[dict] = []
        self.asked = 0

    def complete(self, payload: dict) -> dict:
        self.asked += 1
        expected = self.uncached._history(WHO, self.run)
        assert payload["messages"] == expected
        self.sent.append(payload)
        answer = self.endpoint.complete(payload)
        for call in (answer["choices"][0]["message"].get("tool_calls") or []):
            call["id"] = f"call_{len(self.sent)}"  # the fake model's ids repeat once the history is truncated
        return answer


@pytest.fixture(params=("sqlite", "postgresql"))
def world(request, tmp_path):
    """Two services on one database (the second one stands for another weft process), the cached runs on the
    first, an uncached Runs to compare with, a fake model."""
    url = url_for(request.param, tmp_path)
    prefix = unique_prefix()
    clock = ManualClock()
    stores = [SqlThreadStore(url, table_prefix=prefix) for _ in range(2)]
    master = bytes(range(32))
    services = [ThreadService(s, clock=clock, master_key=master, encryption=True) for s in stores]
    llm = FakeChatServer().start()
    endpoint = ChatEndpoint(llm.base_url, "k")
    uncached = Runs(services[0], Assistants(services[0]), endpoint, history_token_budget=300, history_cache={"max_threads": 0})
    checked = Checked(endpoint, uncached)
    runs = Runs(services[0], Assistants(services[0]), checked, history_token_budget=300)  # type: ignore[arg-type]
    uncached._history_reads = runs._history_reads  # the same first page: the same read
    agent = runs.assistants.create(WHO, {"model": "fake-model", "instructions": "Be brief.", "tools": TOOLS})["id"]

    class World:
        pass

    w = World()
    w.services, w.runs, w.checked, w.agent, w.clock, w.llm = services, runs, checked, agent, clock, llm
    try:
        yield w
    finally:
        runs.close()
        uncached.close()
        endpoint.close()
        llm.stop()
        for service in services:
            service.close()
        drop_store_tables(stores[0])
        stores[1].close()


def _turn(w, thread: str, text: str) -> dict:
    # two of three turns' creates take the thread's lease and (PostgreSQL) the history's first page for the turn, the
    # second of them reading only the items after those the turn before left (a HistoryWindow); every way, the
    # payload is compared with the uncached read of the database
    w.turns = getattr(w, "turns", 0) + 1
    run = w.runs.create(WHO, thread, {"assistant_id": w.agent}, [_user(text)], start_now=w.turns % 3 != 0)
    return _advance(w, thread, run["id"])


def _advance(w, thread: str, run_id: str, depth: int = 0) -> dict:
    w.checked.run = w.runs.records.get(WHO, run_id).extra["run"]
    w.runs.advance(WHO, run_id, None)
    run = w.runs.get(WHO, thread, run_id)
    if run["status"] == "requires_action" and depth < 3:  # the weather tool: its output, then the run's next turn
        calls = run["required_action"]["submit_tool_outputs"]["tool_calls"]
        w.runs.submit_tool_outputs(WHO, thread, run_id, {"tool_outputs": [{"tool_call_id": c["id"], "output": "sunny " * 20} for c in calls]})
        return _advance(w, thread, run_id, depth + 1)
    return run


def _texts(payload: dict) -> list[str]:
    return [m["content"] for m in payload["messages"] if isinstance(m.get("content"), str)]


def test_the_payload_is_the_uncached_one_over_many_turns(world):
    w = world
    thread = w.services[0].create_conversation(WHO, kind="thread")[0].id
    w.services[0].append_items(WHO, thread, [{"role": "system", "content": "Pinned: always answer in French."}])
    for n in range(40):
        text = f"weather in town {n}?" if n % 7 == 3 else f"question {n} " + "words " * (n % 5)
        assert _turn(w, thread, text)["status"] == "completed"
    assert len(w.checked.sent) == 40 + 40 // 7 + 1  # each turn (a tool turn is two) compared with the uncached payload
    last = w.checked.sent[-1]
    assert "Pinned: always answer in French." in _texts(last)  # the window moved past it (truncated), still pinned
    assert "question 1 words " not in _texts(last)
    key = (WHO.tenant_id, thread)
    read = w.runs.history_cache.read(*key)
    loaded = w.runs.service.recent_history(WHO, thread, 300, read.tokens, first_size=100, decode=read.decode)
    # a read of the same items decodes only what came after the last turn's read: that turn's answer
    assert read.hits == len(loaded) - 1 > 10 and loaded[-1].role == "assistant" and loaded[-1].id not in read.known
    read.keep(loaded)
    assert set(w.runs.history_cache._threads[key][0]) == {i.id for i in loaded}  # the entries: the last read's


def test_an_item_deleted_here_or_by_another_process_is_not_sent(world):
    w = world
    thread = w.services[0].create_conversation(WHO, kind="thread")[0].id
    for n in range(6):
        _turn(w, thread, f"secret {n}")
    key = (WHO.tenant_id, thread)
    assert key in w.runs.history_cache._threads
    items = w.services[0].list_items(WHO, thread, limit=None, order="asc").data
    w.services[0].delete_item(WHO, thread, items[2].id)  # here: the thread's entries go at once
    assert key not in w.runs.history_cache._threads
    _turn(w, thread, "next")
    assert "secret 1" not in _texts(w.checked.sent[-1]) and "secret 2" in _texts(w.checked.sent[-1])
    w.services[1].delete_item(WHO, thread, items[4].id)  # another process: the cache does not know, the read does
    assert key in w.runs.history_cache._threads
    _turn(w, thread, "again")
    assert "secret 2" not in _texts(w.checked.sent[-1]) and "secret 3" in _texts(w.checked.sent[-1])
    assert items[4].id not in w.runs.history_cache._threads[key][0]  # the entries are those of the last read


def test_an_append_by_another_service_on_the_same_database_is_sent(world):
    w = world
    thread = w.services[0].create_conversation(WHO, kind="thread")[0].id
    for n in range(4):
        _turn(w, thread, f"q{n}")
    w.services[1].append_items(WHO, thread, [{"role": "user", "content": "from the other process"},
                                             {"role": "assistant", "content": "noted"}])
    _turn(w, thread, "q4")
    texts = _texts(w.checked.sent[-1])
    assert texts[-3:] == ["from the other process", "noted", "q4"]


def test_a_deleted_or_purged_thread_leaves_nothing_cached(world):
    w = world
    cache = w.runs.history_cache
    threads = [w.services[0].create_conversation(WHO, kind="thread")[0].id for _ in range(3)]
    for thread in threads:
        _turn(w, thread, "hello")
    assert len(cache) == 3
    w.services[0].delete_conversation(WHO, threads[0])  # this process: at once
    assert (WHO.tenant_id, threads[0]) not in cache._threads and len(cache) == 2
    w.services[1].delete_conversation(WHO, threads[1])  # another process: when its entries go unused
    assert (WHO.tenant_id, threads[1]) in cache._threads
    cache.clock = lambda: 10 ** 9
    cache.sweep()
    assert len(cache) == 0 and cache.bytes == 0
    cache.clock = __import__("time").monotonic
    _turn(w, threads[2], "hello again")
    w.services[0].set_tenant_retention(WHO, "acme", 60)
    w.clock.advance(seconds=3600)
    assert threads[2] in w.services[0].purge_expired()  # retention, in this process
    assert len(cache) == 0


def test_a_shredded_tenant_is_not_read_from_the_cache(world):
    w = world
    cache = w.runs.history_cache
    other = Principal.library("other")
    thread = w.services[0].create_conversation(WHO, kind="thread")[0].id
    their = w.services[0].create_conversation(other, kind="thread")[0].id
    _turn(w, thread, "private")
    w.services[0].append_items(other, their, [{"role": "user", "content": "theirs"}])
    for who, conversation in ((other, their), (WHO, thread)):  # the cache holds every item of both (the answer too)
        read = cache.read(who.tenant_id, conversation)
        read.keep(w.services[0].recent_history(who, conversation, 300, read.tokens, decode=read.decode))
    # queued before the shred, with no message of its own: every item its turn reads is in the cache
    run = w.runs.create(WHO, thread, {"assistant_id": w.agent}, [])
    w.services[1].destroy_tenant_data_key(WHO, "acme")  # another process
    w.services[0].keyring.REVALIDATE_SECONDS = 0  # this process sees it at its next key check
    asked = w.checked.asked
    with pytest.raises(ContentShredded):  # the history's read fails, then the run's record cannot be read to fail it
        w.runs.advance(WHO, run["id"], None)
    assert w.checked.asked == asked  # the model was not sent the cached plaintext
    assert (WHO.tenant_id, thread) not in cache._threads
    assert (other.tenant_id, their) in cache._threads  # another tenant's entries are its own
    cache.forget("other")
    assert len(cache) == 0


def test_a_shred_here_forgets_the_tenant_at_once(world):
    w = world
    thread = w.services[0].create_conversation(WHO, kind="thread")[0].id
    _turn(w, thread, "private")
    assert len(w.runs.history_cache) == 1
    w.services[0].destroy_tenant_data_key(WHO, "acme")
    assert len(w.runs.history_cache) == 0


def test_the_cache_is_bounded_in_threads_and_bytes(world):
    w = world
    cache = w.runs.history_cache
    cache.max_threads = 2
    threads = [w.services[0].create_conversation(WHO, kind="thread")[0].id for _ in range(4)]
    for thread in threads:
        _turn(w, thread, "hello " * 50)
    assert [k[1] for k in cache._threads] == threads[-2:]  # the least recently used went
    assert cache.bytes == sum(len(c.raw) for e, _, _ in cache._threads.values() for c in e.values())
    cache.max_bytes = cache.bytes - 1  # the two threads no longer fit
    _turn(w, threads[3], "more")
    assert len(cache) == 1 and 0 < cache.bytes <= cache.max_bytes
    assert cache.bytes == sum(len(c.raw) for e, _, _ in cache._threads.values() for c in e.values())
    cache.max_bytes = 10
    _turn(w, threads[1], "more")
    assert len(cache) == 0 and cache.bytes == 0  # a thread larger than the bound is not kept


def test_closed_runs_keep_nothing(world):
    w = world
    thread = w.services[0].create_conversation(WHO, kind="thread")[0].id
    _turn(w, thread, "hello")
    cache = w.runs.history_cache
    assert len(cache) == 1 and cache.forget in w.services[0].forget_hooks
    cache.close()
    assert len(cache) == 0 and cache.bytes == 0 and cache.forget not in w.services[0].forget_hooks
    _turn(w, thread, "after")  # still correct (checked against the uncached payload), nothing kept
    assert len(cache) == 0
