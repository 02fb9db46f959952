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


def _call(call_id: str, kind: str = "function_call") -> HistoryEntry:
    if kind == "azure_ai_search_call":
        return HistoryEntry(kind, None, {"type": kind, "call_id": call_id, "arguments": '{"query": "kettle"}', "status": "completed"})
    return HistoryEntry(kind, None, {"type": kind, "call_id": call_id, "name": "get_weather", "arguments": '{"city": "Paris"}'})


def _output(call_id: str, kind: str = "function_call_output", text: str = "sunny") -> HistoryEntry:
    return HistoryEntry(kind, None, {"type": kind, "call_id": call_id, "output": text})


def _paired(kept: list[HistoryEntry], history: list[HistoryEntry], new: list[HistoryEntry]) -> None:
    """Every tool output the model sees has its call before it; a pair in history is kept whole or dropped whole."""
    window = kept + new
    for n, entry in enumerate(window):
        if entry.type.endswith("_output"):
            assert any(e.type in ("function_call", "azure_ai_search_call") and e.body["call_id"] == entry.body["call_id"]
                       for e in window[:n]), f"orphan output {entry.body['call_id']} at {n}"
    for entry in history:
        if entry.type.endswith("_output"):
            call = next((e for e in history if e.type in ("function_call", "azure_ai_search_call")
                         and e.body["call_id"] == entry.body["call_id"]), None)
            if call is not None:
                assert any(call is e for e in kept) == any(entry is e for e in kept)
    assert not (kept and kept[0].type.endswith("_output"))


def test_a_call_the_new_input_answers_is_kept_at_the_cut():
    # the cut falls on the call whose output is the new input: the call stays (an output without its call is refused),
    # the newer message after it goes instead
    history = [_msg("user", "x" * 200) for _ in range(5)] + [_msg("user", "weather?"), _call("c_cut"), _msg("assistant", "y" * 200)]
    new = [_output("c_cut")]
    kept, _ = truncate(history, new, budget=40)
    assert [(e.type, e.body.get("call_id")) for e in kept] == [("function_call", "c_cut")]
    _paired(kept, history, new)


def test_a_pair_at_the_cut_is_dropped_whole_and_the_budget_counts_both():
    for kind, out_kind in (("function_call", "function_call_output"), ("azure_ai_search_call", "azure_ai_search_call_output")):
        history = [_msg("user", "a" * 80), _call("c1", kind), _output("c1", out_kind, "o" * 400), _msg("assistant", "b" * 40),
                   _msg("user", "c" * 40)]
        new = [_msg("user", "now")]
        kept, dropped = truncate(history, new, budget=60)
        assert [e.body["content"][0]["text"][0] for e in kept] == ["b", "c"], kind  # the big output went with its call
        assert dropped == 3
        _paired(kept, history, new)


def test_an_output_whose_call_was_never_loaded_never_starts_the_window():
    history = [_output("c0", text="late"), _msg("assistant", "sunny it is"), _msg("user", "thanks")]
    kept, _ = truncate(history, [_msg("user", "now")], budget=1000)
    assert [e.type for e in kept] == ["message", "message"]


_kinds = st.sampled_from([("function_call", "function_call_output"), ("azure_ai_search_call", "azure_ai_search_call_output")])
tool_histories = st.lists(st.one_of(
    st.builds(_msg, st.sampled_from(["user", "assistant", "system"]), st.text(max_size=60)),
    st.tuples(st.integers(0, 20), _kinds, st.text(max_size=60)).map(
        lambda t: [_call(f"c{t[0]}", t[1][0]), _output(f"c{t[0]}", t[1][1], t[2])]),
), max_size=20)


@settings(max_examples=300, deadline=None)
@given(tool_histories, st.integers(0, 300), st.booleans())
def test_truncation_never_separates_a_call_from_its_output(raw, budget, answer_last):
    history, seen = [], set()
    for part in raw:  # call ids unique; each call directly followed by its output
        if isinstance(part, list):
            if part[0].body["call_id"] in seen:
                continue
            seen.add(part[0].body["call_id"])
            history.extend(part)
        else:
            history.append(part)
    new = [_msg("user", "now")]
    if answer_last and history and history[-1].type.endswith("_output"):
        new = [history.pop()]  # the newest call is answered by the new input
    kept, dropped = truncate(history, new, budget)
    assert dropped == len(history) - len(kept)
    _paired(kept, history, new)
