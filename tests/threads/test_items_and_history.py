"""Pure parts: item validation, metadata rules, history truncation (with property-based tests)."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from weft.errors import InvalidInput
from weft.threads.history import HistoryEntry, estimate_tokens, to_chat_messages, truncate
from weft.threads.items import normalize_input_item, validate_metadata

json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                           lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
                           max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_item_validation_never_crashes(raw):
    try:
        normalize_input_item(raw)
    except InvalidInput:
        pass


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_metadata_validation_never_crashes(raw):
    try:
        validate_metadata(raw)
    except InvalidInput:
        pass


def _msg(role: str, text: str) -> HistoryEntry:
    return HistoryEntry("message", role, {"type": "message", "role": role, "content": [{"type": "input_text", "text": text}]})


entries = st.lists(st.one_of(
    st.builds(_msg, st.sampled_from(["user", "assistant", "system", "developer"]), st.text(max_size=80)),
    st.builds(lambda c: HistoryEntry("function_call", None, {"type": "function_call", "call_id": f"c{c}", "name": "f", "arguments": "{}"}), st.integers(0, 3)),
    st.builds(lambda c: HistoryEntry("function_call_output", None, {"type": "function_call_output", "call_id": f"c{c}", "output": "ok"}), st.integers(0, 3)),
), max_size=30)


@settings(max_examples=300, deadline=None)
@given(entries, st.integers(0, 400))
def test_truncation_keeps_order_system_messages_and_paired_tool_outputs(history, budget):
    new = [_msg("user", "now")]
    kept, dropped = truncate(history, new, budget)
    assert dropped == len(history) - len(kept)
    positions = [next(i for i, h in enumerate(history) if h is e) for e in kept]  # a subsequence, in order
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    for entry in history:
        if entry.type == "message" and entry.role in ("system", "developer"):
            assert any(entry is e for e in kept)
    calls = {e.body["call_id"] for e in kept if e.type == "function_call"}
    assert all(e.body["call_id"] in calls for e in kept if e.type == "function_call_output")
    droppable = [e for e in kept if not (e.type == "message" and e.role in ("system", "developer"))]
    total = sum(estimate_tokens(e.body["content"][0]["text"]) if e.type == "message" else 10 for e in kept + new)
    if droppable and dropped:
        assert total <= budget + 100  # it stopped dropping as soon as it fit (estimates aside)


def test_truncation_drops_oldest_first():
    history = [_msg("system", "rules")] + [_msg("user", f"m{n} " + "x" * 40) for n in range(10)]
    kept, dropped = truncate(history, [_msg("user", "q")], budget=60)
    assert kept[0].body["content"][0]["text"] == "rules"
    assert [e.body["content"][0]["text"].split()[0] for e in kept[1:]] == [f"m{n}" for n in range(10 - len(kept) + 1, 10)]
    assert dropped == 11 - len(kept)


def test_chat_messages_from_items():
    entries = [_msg("developer", "be nice"), _msg("user", "weather?"),
               HistoryEntry("function_call", None, {"call_id": "c1", "name": "w", "arguments": "{}"}),
               HistoryEntry("function_call", None, {"call_id": "c2", "name": "w", "arguments": "{}"}),
               HistoryEntry("function_call_output", None, {"call_id": "c1", "output": "sun"}),
               HistoryEntry("function_call_output", None, {"call_id": "c2", "output": ["rain"]})]
    messages = to_chat_messages(entries, instructions="sys")
    assert [m["role"] for m in messages] == ["system", "system", "user", "assistant", "tool", "tool"]
    assert [c["id"] for c in messages[3]["tool_calls"]] == ["c1", "c2"]
    assert messages[5]["content"] == '["rain"]'


def test_recent_history_pages_back_by_sequence_on_every_backend(any_store):
    from weft.threads.policy import Principal
    from weft.threads.service import ThreadService

    service = ThreadService(any_store)
    acme = Principal.library("acme")
    conv, _ = service.create_conversation(acme, items=[{"role": "system", "content": "rules"}])
    for n in range(25):
        service.append_items(acme, conv.id, [{"role": "user", "content": f"m{n}-{k}"} for k in range(10)])
    # a budget above the whole conversation: every item once, oldest first (the system message not pinned twice)
    whole = service.recent_history(acme, conv.id, token_budget=10_000, estimate=lambda item: 10)
    assert [i.seq for i in whole] == list(range(251)) and whole[0].role == "system"
    # a budget of 120 items: the first page (100) and a second one sized for what is left, then the pinned system message
    window = service.recent_history(acme, conv.id, token_budget=1200, estimate=lambda item: 10)
    assert window[0].seq == 0 and [i.seq for i in window[1:]] == list(range(250 - len(window) + 2, 251))
    assert 121 <= len(window) - 1 <= 250
    older = any_store.list_items_older("acme", conv.id, before_seq=3, limit=2)
    assert [i.seq for i in older.items] == [2, 1] and older.has_more
    assert [i.seq for i in any_store.list_items_older("acme", conv.id, before_seq=2, limit=5).items] == [1, 0]
