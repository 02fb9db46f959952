"""The Outlook/Exchange grouping rule: Thread-Index GUIDs and References name a conversation, and the
subject fallback never moves a message that names one.

Same-subject messages of different conversations are threaded in every arrival order, through
the pure function, the incremental threader, and the import into the thread store (library and
``weft mail import``), each imported twice.
"""
from __future__ import annotations

import itertools
import mailbox
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from tests.mail.test_reading import _email
from tests.threads.live import weft_cli
from weft.mail.ingest import import_mail
from weft.mail.thread_index import new_conversation, parse, reply
from weft.mail.threading import MailMessage, MailThreader, ThreadingOptions, message_from_headers, thread_messages
from weft.threads.policy import Principal
from weft.threads.service import ThreadService
from weft.threads.store import SqlThreadStore

UTC = timezone.utc
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
G1, G2, G3 = (new_conversation(T0, guid=uuid.UUID(int=n)) for n in (0x11, 0x22, 0x33))


def _date(minutes: int) -> str:
    return (T0 + timedelta(minutes=minutes)).strftime("%a, %d %b %Y %H:%M:%S +0000")


def _headers(name: str, minutes: int, subject: str, **extra: str) -> dict[str, str]:
    return {"Message-ID": f"<{name}@x>", "Subject": subject, "From": f"{name}@example.com", "Date": _date(minutes), **extra}


# Five messages titled "Budget". a, b and c start three Outlook conversations (three GUIDs); r
# answers b by References but carries no Thread-Index; g has a GUID-1 reply index, no References.
EVIDENCE = {
    "a": _headers("a", 0, "Budget", **{"Thread-Index": G1.to_base64()}),
    "b": _headers("b", 1, "Budget", **{"Thread-Index": G2.to_base64()}),
    "c": _headers("c", 2, "RE: Budget", **{"Thread-Index": G3.to_base64()}),
    "r": _headers("r", 3, "Re: Budget", **{"References": "<b@x>", "In-Reply-To": "<b@x>"}),
    "g": _headers("g", 4, "RE: Budget", **{"Thread-Index": reply(G1, T0 + timedelta(minutes=4), random_byte=7).to_base64()}),
}
EXPECTED = {frozenset({"a", "g"}), frozenset({"b", "r"}), frozenset({"c"})}
# a message with no evidence at all: the subject fallback may place it (only it)
FREE = _headers("f", 5, "Budget")


def _messages(names) -> list[MailMessage]:
    return [message_from_headers(n, {**EVIDENCE, "f": FREE}[n]) for n in names]


def _groups(conversations) -> set[frozenset[str]]:
    return {frozenset(c.messages) for c in conversations}


# -- the pure threading function --------------------------------------------------------------------


def test_same_subject_conversations_stay_apart_in_every_order():
    first = thread_messages(_messages(EVIDENCE))
    assert _groups(first) == EXPECTED
    for order in itertools.permutations(EVIDENCE):
        result = thread_messages(_messages(order))
        assert result == first, order
        threader = MailThreader()
        for message in _messages(order):
            threader.add(message)
            threader.conversations()  # a report after every message, as an incremental user would ask
        for message in _messages(order):  # added twice: a no-op
            assert threader.add(message) is False
        assert threader.conversations() == first, order
        assert all(not c.subject_joined for c in result)


def test_a_free_message_is_the_only_one_placed_by_subject_and_its_place_is_order_free():
    names = [*EVIDENCE, "f"]
    first = thread_messages(_messages(names))
    [with_free] = [c for c in first if "f" in c.messages]
    assert with_free.subject_joined == {"f"}
    assert _groups(first) == {g | {"f"} if g == frozenset(with_free.messages) - {"f"} else g for g in EXPECTED}
    for order in itertools.permutations(names):
        assert thread_messages(_messages(order)) == first, order


def test_the_old_rule_would_merge_them_and_turning_thread_index_off_restores_subject_grouping():
    # With the Thread-Index ignored, a, b and c carry no evidence and group by subject as before.
    result = thread_messages(_messages(["a", "b", "c"]), ThreadingOptions(thread_index=False))
    assert _groups(result) == {frozenset({"a", "b", "c"})}
    assert thread_messages(_messages(["a", "b", "c"]), ThreadingOptions(subject_merge=False)) == \
        thread_messages(_messages(["a", "b", "c"]))


def test_references_into_another_conversation_beat_a_matching_subject():
    other = _headers("o", 0, "Invoice")
    names = {"a": EVIDENCE["a"], "o": other,
             "x": _headers("x", 1, "Budget", **{"References": "<o@x>"}),
             "y": _headers("y", 2, "Budget", **{"In-Reply-To": "<o@x>"}),
             "z": _headers("z", 3, "Budget", **{"References": "<missing@elsewhere>"})}
    for order in itertools.permutations(names):
        result = thread_messages([message_from_headers(n, names[n]) for n in order])
        assert _groups(result) == {frozenset({"a"}), frozenset({"o", "x", "y"}), frozenset({"z"})}, order


def test_a_guid_conversation_gets_no_free_original_of_another_guid():
    # JWZ lets a non-reply original adopt a same-subject reply whose parent is missing. That stays
    # for an original with no evidence, but an original with its own GUID is another conversation.
    late_reply = _headers("late", 5, "RE: Budget", **{"References": "<gone@x>",
                                                     "Thread-Index": reply(G1, T0, random_byte=1).to_base64()})
    free_original = _headers("orig", 0, "Budget")
    guid_original = _headers("orig2", 1, "Budget", **{"Thread-Index": G2.to_base64()})
    adopted = thread_messages([message_from_headers("late", late_reply), message_from_headers("orig", free_original)])
    assert [(c.root, c.messages, c.subject_joined) for c in adopted] == [("orig", ("orig", "late"), {"orig"})]
    apart = thread_messages([message_from_headers("late", late_reply), message_from_headers("orig2", guid_original)])
    assert _groups(apart) == {frozenset({"late"}), frozenset({"orig2"})}


def test_same_guid_with_another_header_time_is_one_conversation():
    # Outlook's ConversationId is the GUID (bytes 6-21); a re-derived header time does not split it.
    same_guid = new_conversation(T0 + timedelta(days=3), guid=G1.guid)
    result = thread_messages([message_from_headers("a", EVIDENCE["a"]),
                              message_from_headers("a2", _headers("a2", 9, "Other", **{"Thread-Index": same_guid.to_base64()}))])
    assert _groups(result) == {frozenset({"a", "a2"})}


# -- the import into the thread store -----------------------------------------------------------------


def _write_mbox(path, raws):
    box = mailbox.mbox(str(path))
    for raw in raws:
        box.add(raw)
    box.flush()
    box.close()
    return path


def _stored_groups(service, principal) -> set[frozenset[str]]:
    out = set()
    for conversation in service.list_conversations(principal, limit=100, metadata={"source": "mail"}).data:
        ids = [i.metadata["message_id"].strip("<>").split("@")[0] for i in service.history(principal, conversation.id)]
        assert len(ids) == len(set(ids))
        out.add(frozenset(ids))
    return out


def _raw(name: str) -> bytes:
    return _email({**EVIDENCE, "f": FREE}[name], f"body of {name}")


@pytest.mark.parametrize("names", [tuple(EVIDENCE), (*EVIDENCE, "f")], ids=["evidence", "with-free"])
def test_import_one_message_at_a_time_in_every_order_twice(tmp_path, names):
    guid_of = {n: parse(h["Thread-Index"]).guid for n, h in EVIDENCE.items() if "Thread-Index" in h}
    boxes = {n: _write_mbox(tmp_path / f"{n}.mbox", [_raw(n)]) for n in names}
    everything = _write_mbox(tmp_path / "all.mbox", [_raw(n) for n in names])
    service = ThreadService(SqlThreadStore(f"sqlite:///{tmp_path / 'threads.sqlite3'}"))
    try:
        for number, order in enumerate(itertools.permutations(names)):
            if number % 6 and len(names) > 5:
                continue  # of the 720 orders of six messages every sixth (each message comes first 20 times)
            principal = Principal.library(f"order-{number}")  # a tenant per order: a fresh mailbox
            for name in order:
                import_mail(service, principal, boxes[name])
            groups = _stored_groups(service, principal)
            assert {g - {"f"} for g in groups} - {frozenset()} == EXPECTED, order
            for group in groups:  # never two Outlook conversations (GUIDs) in one stored thread
                assert len({guid_of[n] for n in group if n in guid_of}) <= 1, order
            again = import_mail(service, principal, everything)
            assert (again.items_added, again.already_present) == (0, len(names)), order
            assert _stored_groups(service, principal) == groups
    finally:
        service.close()


def test_a_subject_placed_message_stored_elsewhere_does_not_pull_a_new_guid_in(tmp_path):
    # f (free) is imported while only b exists, so it is stored in b's thread. When a arrives, the
    # threader now places f with a (a started before f, b after it), but a must not be appended to
    # b's thread because f is stored there: a gets its own thread, and f's item stays where it is.
    principal = Principal.library("acme")
    free = _headers("f", 0, "Budget")
    a = _headers("a", -10, "Budget", **{"Thread-Index": G1.to_base64()})
    b = _headers("b", 10, "Budget", **{"Thread-Index": G2.to_base64()})
    service = ThreadService(SqlThreadStore(f"sqlite:///{tmp_path / 't.sqlite3'}"))
    try:
        for name, headers in (("b", b), ("f", free), ("a", a)):
            import_mail(service, principal, _write_mbox(tmp_path / f"{name}.mbox", [_email(headers, name)]))
        assert _stored_groups(service, principal) == {frozenset({"b", "f"}), frozenset({"a"})}
        # the same three in one import: f goes with a (the conversation started at or before it)
        fresh = ThreadService(SqlThreadStore(f"sqlite:///{tmp_path / 'u.sqlite3'}"))
        try:
            import_mail(fresh, principal, _write_mbox(tmp_path / "all.mbox", [_email(h, "x") for h in (b, free, a)]))
            assert _stored_groups(fresh, principal) == {frozenset({"a", "f"}), frozenset({"b"})}
        finally:
            fresh.close()
    finally:
        service.close()


def test_cli_import_keeps_guid_conversations_apart_and_reimport_adds_nothing(tmp_path):
    box = _write_mbox(tmp_path / "box.mbox", [_raw(n) for n in ("g", "c", "r", "b", "a")])
    data = tmp_path / "data"
    args = ("mail", "import", str(box), "--tenant", "acme", "--data-dir", str(data))
    first = weft_cli(*args)
    assert first.returncode == 0, first.stderr + first.stdout
    assert "items added: 5" in first.stdout and "conversations created: 3" in first.stdout
    second = weft_cli(*args)
    assert second.returncode == 0, second.stderr
    assert "items added: 0" in second.stdout and "already present: 5" in second.stdout
    service = ThreadService(SqlThreadStore(f"sqlite:///{data / 'threads' / 'threads.sqlite3'}"))
    try:
        assert _stored_groups(service, Principal.library("acme")) == EXPECTED
    finally:
        service.close()


# -- properties over random headers ------------------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402

from tests.mail.test_threading import message_sets, options_strategy  # noqa: E402


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(message_sets(), options_strategy)
def test_the_subject_fallback_moves_only_free_messages(messages, options):
    """With the fallback on, the messages that carry evidence are grouped exactly as with it off;
    only free messages (no References/In-Reply-To to another message, no valid Thread-Index when
    Thread-Index grouping is on) are ever placed by subject."""
    from dataclasses import replace

    merged = thread_messages(messages, options)
    plain = thread_messages(messages, replace(options, subject_merge=False))
    placed = {m for c in merged for m in c.subject_joined}
    groups_without_placed = {frozenset(c.messages) - placed for c in merged} - {frozenset()}
    assert groups_without_placed == {frozenset(c.messages) for c in plain if not set(c.messages) <= placed}
    threader = MailThreader(options)
    threader.add_all(messages)
    for message in messages:
        if message.id in placed:
            entry = threader._entries[message.id]
            assert not entry.has_thread_headers
            assert not (options.thread_index and entry.index is not None)
