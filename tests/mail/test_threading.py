"""Threading beyond the corpus: incremental use, Thread-Index grouping, and properties."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from weft.errors import InvalidInput
from weft.mail.thread_index import new_conversation, reply
from weft.mail.threading import (
    Conversation,
    MailMessage,
    MailThreader,
    ThreadingOptions,
    message_from_headers,
    thread_messages,
)

UTC = timezone.utc
T0 = datetime(2026, 5, 15, 9, 0, tzinfo=UTC)


def msg(id: str, minutes: int, refs=(), irt=None, subject="Topic", mid: str | None = "default", index=None):
    return MailMessage(
        id=id,
        message_id=f"<{id}@x>" if mid == "default" else mid,
        in_reply_to=irt,
        references=tuple(refs),
        subject=subject,
        date=T0 + timedelta(minutes=minutes),
        thread_index=index,
    )


def shape(conversations: list[Conversation]) -> list[tuple[str, tuple[str, ...]]]:
    return [(c.root, c.messages) for c in conversations]


# -- incremental behaviour -----------------------------------------------------------------------


def test_late_parent_merges_two_pieces():
    threader = MailThreader(ThreadingOptions(subject_merge=False))
    threader.add(msg("root", 0, subject="Plan"))
    threader.add(msg("grandchild", 20, refs=["<child@x>"], subject="Re: Plan"))  # truncated References
    assert shape(threader.conversations()) == [("root", ("root",)), ("grandchild", ("grandchild",))]
    threader.add(msg("child", 10, refs=["<root@x>"], subject="Re: Plan"))
    [conversation] = threader.conversations()
    assert conversation.root == "root"
    assert conversation.messages == ("root", "child", "grandchild")
    assert conversation.parents == {"root": None, "child": "root", "grandchild": "child"}


def test_subject_fallback_puts_the_original_above_a_reply_whose_parent_is_missing():
    result = thread_messages([msg("root", 0, subject="Plan"),
                              msg("grandchild", 20, refs=["<child@x>"], subject="Re: Plan")])
    [conversation] = result
    assert conversation.root == "root"
    assert conversation.parents == {"root": None, "grandchild": "root"}


def test_missing_root_with_two_replies_then_root_arrives():
    threader = MailThreader()
    threader.add(msg("b", 10, refs=["<a@x>"]))
    threader.add(msg("c", 5, refs=["<a@x>"]))
    [conversation] = threader.conversations()
    assert conversation.root == "c"  # the phantom is pruned; the first visible message stands in
    assert conversation.parents == {"c": None, "b": None}
    threader.add(msg("a", 0))
    [conversation] = threader.conversations()
    assert conversation.root == "a" and conversation.parents == {"a": None, "c": "a", "b": "a"}
    assert threader.conversation_of("b") == conversation
    assert threader.conversation_of("nope") is None


def test_phantom_root_is_public_when_pruning_is_off():
    options = ThreadingOptions(prune_phantoms=False)
    result = thread_messages([msg("b", 10, refs=["<a@x>"]), msg("c", 5, refs=["<a@x>"])], options)
    assert shape(result) == [("a@x", ("c", "b"))]


def test_re_adding_is_a_no_op_and_conflicts_are_refused():
    threader = MailThreader()
    assert threader.add(msg("a", 0)) is True
    assert threader.add(msg("a", 0)) is False
    assert len(threader) == 1 and "a" in threader
    with pytest.raises(InvalidInput):
        threader.add(msg("a", 1))


def test_deep_chain_needs_no_recursion():
    chain = [msg("m0", 0)]
    for n in range(1, 2500):
        chain.append(msg(f"m{n}", n, refs=[f"<m{n - 1}@x>"], subject="Re: Topic"))
    [conversation] = thread_messages(reversed(chain))
    assert conversation.root == "m0" and len(conversation.messages) == 2500


def test_options_from_mapping():
    assert ThreadingOptions.from_mapping({"subject_prefixes": ["respuesta"]}).subject_prefixes == ("respuesta",)
    with pytest.raises(InvalidInput):
        ThreadingOptions.from_mapping({"nonsense": True})


def test_message_from_headers_tolerates_broken_headers():
    message = message_from_headers("x", {
        "message-id": "<x@y>", "DATE": "yesterday-ish", "References": "<a@y>\r\n <b@y>", "Subject": "Re: hi",
    })
    assert message.date is None and message.references == ("<a@y>\r\n <b@y>",)
    [conversation] = thread_messages([message])
    assert conversation.root == "x"


def test_undated_messages_sort_last():
    undated = MailMessage(id="u", message_id="<u@x>", subject="Topic", date=None)
    result = thread_messages([undated, msg("a", 0, subject="Other")])
    assert [c.root for c in result] == ["a", "u"]


# -- Thread-Index grouping ---------------------------------------------------------------------------


def outlook_chain():
    root = new_conversation(T0, guid=uuid.UUID(int=1))
    gen1 = reply(root, T0 + timedelta(minutes=10), random_byte=1)
    gen2 = reply(gen1, T0 + timedelta(minutes=20), random_byte=2)
    gen3 = reply(gen2, T0 + timedelta(minutes=30), random_byte=3)
    sibling = reply(root, T0 + timedelta(minutes=15), random_byte=4)
    return root, gen1, gen2, gen3, sibling


def test_thread_index_alone_builds_the_tree():
    root, gen1, gen2, gen3, sibling = outlook_chain()
    messages = [
        msg("gen3", 30, subject="RE: Budget", index=gen3.to_base64()),
        msg("gen1", 10, subject="RE: Budget", index=gen1.to_base64()),
        msg("root", 0, subject="Budget", index=root.to_base64()),
        msg("sibling", 15, subject="FW: Budget", index=sibling.to_base64()),
        msg("gen2", 20, subject="RE: Budget", index=gen2.to_base64()),
    ]
    [conversation] = thread_messages(messages, ThreadingOptions(subject_merge=False))
    assert conversation.root == "root"
    assert conversation.parents == {"root": None, "gen1": "root", "sibling": "root", "gen2": "gen1", "gen3": "gen2"}


def test_thread_index_with_a_missing_generation_uses_the_longest_known_prefix():
    root, gen1, _gen2, gen3, _ = outlook_chain()
    messages = [msg(n, i, subject="x" + n, index=ix.to_base64()) for i, (n, ix) in
                enumerate([("root", root), ("gen1", gen1), ("gen3", gen3)])]
    [conversation] = thread_messages(messages, ThreadingOptions(subject_merge=False))
    assert conversation.parents["gen3"] == "gen1"


def test_thread_index_joins_header_pieces_and_can_be_turned_off():
    root, gen1, *_ = outlook_chain()
    other = new_conversation(T0, guid=uuid.UUID(int=2))
    messages = [
        msg("root", 0, subject="Budget", index=root.to_base64()),
        msg("reply", 10, subject="Budget figures", index=gen1.to_base64()),  # References stripped by a gateway
        msg("unrelated", 5, subject="Lunch", index=other.to_base64()),
    ]
    assert shape(thread_messages(messages)) == [("root", ("root", "reply")), ("unrelated", ("unrelated",))]
    assert len(thread_messages(messages, ThreadingOptions(thread_index=False))) == 3


def test_malformed_thread_index_is_ignored():
    result = thread_messages([msg("a", 0, index="%%%"), msg("b", 1, subject="Other", index="AQ==")])
    assert len(result) == 2


# -- properties ------------------------------------------------------------------------------------

POOL = [f"<p{n}@x>" for n in range(6)]
_ix_root = new_conversation(T0, guid=uuid.UUID(int=7))
_ix_child = reply(_ix_root, T0 + timedelta(minutes=1), random_byte=1)
INDEXES = [None, None, _ix_root.to_base64(), _ix_child.to_base64(),
           reply(_ix_child, T0 + timedelta(minutes=2), random_byte=2).to_base64(), "garbage"]
id_values = st.sampled_from([*POOL, None, "junk", '<"p1"@x>'])
subjects = st.sampled_from(["Hi", "Re: Hi", "AW: Hi", "Other", "Fwd: Other", "", "[list]", "Re: [list]"])


@st.composite
def message_sets(draw):
    count = draw(st.integers(0, 9))
    return [
        MailMessage(
            id=f"c{n}",
            message_id=draw(id_values),
            in_reply_to=draw(id_values),
            references=tuple(draw(st.lists(st.sampled_from([*POOL, "junk"]), max_size=4))),
            subject=draw(subjects),
            date=T0 + timedelta(minutes=draw(st.integers(0, 3))),
            thread_index=draw(st.sampled_from(INDEXES)),
        )
        for n in range(count)
    ]


options_strategy = st.builds(
    ThreadingOptions, subject_merge=st.booleans(), prune_phantoms=st.booleans(), thread_index=st.booleans()
)


def check_invariants(messages, conversations, options):
    ids = [m.id for m in messages]
    members = [m for c in conversations for m in c.messages]
    assert sorted(members) == sorted(ids)  # a partition of the input
    by_id = {m.id: m for m in messages}
    for conversation in conversations:
        assert set(conversation.parents) == set(conversation.messages)
        if options.prune_phantoms or conversation.root in conversation.messages:
            assert conversation.root in conversation.messages
        keys = [(by_id[m].date, m) for m in conversation.messages]
        assert keys == sorted(keys)
        for start in conversation.messages:  # parent chains stay inside and end
            seen, node = set(), start
            while node is not None:
                assert node in conversation.parents and node not in seen
                seen.add(node)
                node = conversation.parents[node]
    firsts = [(by_id[c.messages[0]].date, c.messages[0]) for c in conversations]
    assert firsts == sorted(firsts)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(message_sets(), options_strategy)
def test_incremental_equals_batch(messages, options):
    batch = thread_messages(messages, options)
    check_invariants(messages, batch, options)
    threader = MailThreader(options)
    for position, message in enumerate(messages):
        threader.add(message)
        check_invariants(messages[: position + 1], threader.conversations(), options)
    assert threader.conversations() == batch
    assert thread_messages(messages, options) == batch  # deterministic


@st.composite
def consistent_forests(draw):
    """Messages whose headers agree with one true tree; some messages never arrive."""
    count = draw(st.integers(1, 10))
    parents = [None] + [draw(st.one_of(st.none(), st.integers(0, n - 1))) for n in range(1, count)]
    missing = draw(st.sets(st.integers(0, count - 1), max_size=count // 2))
    with_refs = draw(st.booleans())
    indexes: list = []
    messages = []
    for n, parent in enumerate(parents):
        chain, node = [], parent
        while node is not None:
            chain.insert(0, f"<n{node}@x>")
            node = parents[node]
        top = n if parent is None else int(chain[0][len("<n"):-len("@x>")])  # the tree's root number
        at = T0 + timedelta(minutes=n)
        if parent is None:
            indexes.append(new_conversation(at, guid=uuid.UUID(int=n + 1)))
        else:
            indexes.append(reply(indexes[parent], at, random_byte=n))
        messages.append(MailMessage(
            id=f"n{n}",
            message_id=f"<n{n}@x>",
            references=tuple(chain) if with_refs else (),
            subject=f"Re: Topic {top}" if parent is not None else f"Topic {top}",
            date=at,
            thread_index=indexes[n].to_base64(),
        ))
    delivered = [m for n, m in enumerate(messages) if n not in missing]
    return delivered


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(consistent_forests().flatmap(lambda ms: st.tuples(st.just(ms), st.permutations(ms))), options_strategy)
def test_arrival_order_does_not_matter_for_consistent_headers(pair, options):
    in_order, shuffled = pair
    assert thread_messages(shuffled, options) == thread_messages(in_order, options)
