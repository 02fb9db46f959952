"""Reply headers and the seed's "1 main + 4 related" scenario."""
from __future__ import annotations

import base64
import email
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from weft.errors import InvalidInput
from weft.mail.headers import (
    DEFAULT_MAX_REFERENCES,
    conversation_headers,
    related_emails,
    reply_headers,
    trim_references,
)
from weft.mail.thread_index import new_conversation, parse
from weft.mail.threading import MailMessage, ThreadingOptions, message_from_headers, thread_messages

UTC = timezone.utc
NOW = datetime(2026, 5, 15, 9, 0, tzinfo=UTC)
GUID = uuid.UUID("6f1c2a3b-4d5e-4f60-8a1b-2c3d4e5f6a7b")
IDS = [f"<{name}@weft.example>" for name in ("main", "rel-1", "rel-2", "rel-3", "rel-4")]


@pytest.fixture
def seed() -> tuple:
    emails = related_emails(
        "Quarterly report", now=NOW, domain="weft.example", guid=GUID, message_ids=IDS, random_high_nibble=0xA
    )
    return emails.main, emails.related


def test_main_email_starts_the_conversation(seed):
    main, _ = seed
    assert main.message_id == "<main@weft.example>"
    assert main.in_reply_to is None and main.references is None
    assert main.subject == "Quarterly report"
    assert main.thread_topic == "Quarterly report"
    raw = base64.b64decode(main.thread_index)
    assert len(raw) == 22 and raw[0] == 0x01 and raw[6:22] == GUID.bytes
    assert "In-Reply-To" not in main.as_dict() and "References" not in main.as_dict()


def test_each_related_email_replies_to_the_main_one(seed):
    main, related = seed
    root = base64.b64decode(main.thread_index)
    assert len(related) == 4
    for position, headers in enumerate(related):
        assert headers.message_id == IDS[position + 1]
        assert headers.in_reply_to == main.message_id
        assert headers.references == main.message_id  # References name the root
        assert headers.subject == "Re: Quarterly report"
        assert headers.thread_topic == main.thread_topic
        raw = base64.b64decode(headers.thread_index)
        assert raw[:22] == root  # the root's 22 bytes ...
        assert len(raw) == 22 + 5  # ... plus exactly one child block of its own
        index = parse(headers.thread_index)
        assert index.depth == 1 and index.parent == parse(main.thread_index)
        assert index.children[0].random == 0xA0 | position  # 4 random bits + 4 bits of sequence
    values = [h.thread_index for h in (main, *related)]
    assert len(set(values)) == 5  # no two messages claim the same position
    assert len({h.message_id for h in (main, *related)}) == 5


def test_header_dict_is_ready_to_send(seed):
    _, related = seed
    assert list(related[0].as_dict()) == [
        "Message-ID", "Subject", "In-Reply-To", "References", "Thread-Topic", "Thread-Index",
    ]


def _as_messages(headers_list, drop=()):
    messages = []
    for position, headers in enumerate(headers_list):
        values = {k: v for k, v in headers.as_dict().items() if k not in drop}
        values["Date"] = email.utils.format_datetime(NOW + timedelta(seconds=position))
        messages.append(message_from_headers(f"m{position}", values))
    return messages


def test_seed_emails_group_by_references_alone(seed):
    main, related = seed
    options = ThreadingOptions(subject_merge=False, thread_index=False)
    [conversation] = thread_messages(_as_messages([main, *related], drop={"Thread-Index"}), options)
    assert conversation.root == "m0"
    assert conversation.messages == ("m0", "m1", "m2", "m3", "m4")
    assert all(conversation.parents[f"m{n}"] == "m0" for n in range(1, 5))


def test_seed_emails_group_by_thread_index_alone(seed):
    main, related = seed
    options = ThreadingOptions(subject_merge=False, thread_index=True)
    messages = _as_messages([main, *related], drop={"References", "In-Reply-To"})
    [conversation] = thread_messages(messages, options)
    assert conversation.root == "m0"
    assert all(conversation.parents[f"m{n}"] == "m0" for n in range(1, 5))


def test_seed_emails_group_by_subject_alone(seed):
    main, related = seed
    options = ThreadingOptions(subject_merge=True, thread_index=False)
    messages = _as_messages([main, *related], drop={"References", "In-Reply-To", "Thread-Index"})
    assert len(thread_messages(messages, options)) == 1


def test_the_seed_bug_identical_root_index_is_still_grouped_by_weft():
    """The broken tool gave all five emails the root's Thread-Index and no References."""
    shared = new_conversation(NOW, guid=GUID).to_base64()
    messages = [
        MailMessage(id=f"m{n}", message_id=f"<m{n}@x>", subject=f"Part {n}", date=NOW + timedelta(seconds=n),
                    thread_index=shared)
        for n in range(5)
    ]
    [conversation] = thread_messages(messages)
    assert conversation.root == "m0"
    assert len(thread_messages(messages, ThreadingOptions(thread_index=False))) == 5


def test_reply_to_a_reply_extends_references_and_index(seed):
    main, related = seed
    second = reply_headers(related[0], now=NOW + timedelta(hours=2), domain="weft.example",
                           message_id="<deeper@weft.example>", random_byte=7)
    assert second.in_reply_to == related[0].message_id
    assert second.references == f"{main.message_id} {related[0].message_id}"
    assert second.subject == "Re: Quarterly report"  # one Re:, not "Re: Re:"
    index = parse(second.thread_index)
    assert index.depth == 2 and index.parent == parse(related[0].thread_index)


def test_long_references_keep_the_root_and_the_most_recent():
    chain = " ".join(f"<r{n}@x>" for n in range(40))
    parent = {"Message-ID": "<parent@x>", "References": chain, "Subject": "Re: Long"}
    headers = reply_headers(parent, now=NOW, domain="weft.example")
    refs = headers.references.split()
    assert len(refs) == DEFAULT_MAX_REFERENCES
    assert refs[0] == "<r0@x>" and refs[-1] == "<parent@x>"
    assert refs[-2] == "<r39@x>" and refs[1] == "<r22@x>"  # root + the 19 most recent


def test_trim_references_drops_duplicates_keeping_the_parent_last():
    assert trim_references(["a@x", "b@x", "a@x", "c@x"], 10) == ["b@x", "a@x", "c@x"]
    assert trim_references([f"{n}@x" for n in range(10)], 3) == ["0@x", "8@x", "9@x"]
    long_ids = [f"{'x' * 90}{n}@example.org" for n in range(15)]
    trimmed = trim_references(long_ids)
    assert trimmed[0] == long_ids[0] and trimmed[-1] == long_ids[-1]
    assert len(" ".join(trimmed)) <= 900
    with pytest.raises(InvalidInput):
        trim_references(["a@x"], 1)


def test_references_fall_back_to_the_parents_single_in_reply_to():
    parent = {"Message-ID": "<p@x>", "In-Reply-To": "<gp@x>", "Subject": "Re: Hi"}
    headers = reply_headers(parent, now=NOW, domain="weft.example")
    assert headers.references == "<gp@x> <p@x>"
    parent = {"Message-ID": "<p@x>", "In-Reply-To": "<a@x> <b@x>", "Subject": "Re: Hi"}
    assert reply_headers(parent, now=NOW, domain="weft.example").references == "<p@x>"


@pytest.mark.parametrize(
    "subject, topic, reply",
    [
        ("Budget", "Budget", "Re: Budget"),
        ("RE: RE: Re[3]: Budget", "Budget", "Re: Budget"),
        ("AW: WG: Budget", "Budget", "Re: Budget"),
        ("SV: Antw: RV: Budget", "Budget", "Re: Budget"),
        ("Fwd: [ops]   Disk\tfull (fwd)", "[ops] Disk full", "Re: [ops] Disk full"),
        ("[ops] RE: Disk full", "[ops] Disk full", "Re: [ops] Disk full"),
        ("[Fwd: Budget]", "Budget", "Re: Budget"),
        ("回复：预算", "预算", "Re: 预算"),
    ],
)
def test_subjects_are_normalized(subject, topic, reply):
    headers = reply_headers({"Message-ID": "<p@x>", "Subject": subject}, now=NOW, domain="weft.example")
    assert headers.thread_topic == topic
    assert headers.subject == reply


def test_parent_thread_topic_is_kept_unchanged():
    parent = {"Message-ID": "<p@x>", "Subject": "RE: [EXTERNAL] Budget v2", "Thread-Topic": "Budget"}
    headers = reply_headers(parent, now=NOW, domain="weft.example")
    assert headers.thread_topic == "Budget"
    assert headers.subject == "Re: [EXTERNAL] Budget v2"


def test_replies_to_a_parent_without_thread_index_share_one_header_block():
    parent = {"Message-ID": "<p@x>", "Subject": "Hello", "Date": "Fri, 15 May 2026 08:00:00 +0000"}
    first = parse(reply_headers(parent, now=NOW, domain="weft.example").thread_index)
    second = parse(reply_headers(parent, now=NOW + timedelta(minutes=3), domain="weft.example").thread_index)
    assert first.header_bytes == second.header_bytes
    assert first.depth == second.depth == 1
    parent_date = datetime(2026, 5, 15, 8, 0, tzinfo=UTC)  # the header time comes from the parent's Date
    assert parent_date - timedelta(seconds=2) < first.started_at <= parent_date
    assert first.guid == uuid.uuid5(uuid.UUID("5b0f6f4e-2a7c-4c1e-9a55-7765667420a1"), "p@x")


def test_parent_given_as_an_email_message():
    parsed = email.message_from_string(
        "Message-ID: <p@x>\r\nSubject: Re: Hello\r\nReferences: <root@x>\r\n"
        "Thread-Index: " + new_conversation(NOW, guid=GUID).to_base64() + "\r\n\r\nbody\r\n"
    )
    headers = reply_headers(parsed, now=NOW + timedelta(minutes=1), domain="weft.example")
    assert headers.references == "<root@x> <p@x>"
    assert parse(headers.thread_index).guid == GUID


def test_malformed_parent_thread_index_is_replaced_not_fatal():
    parent = {"Message-ID": "<p@x>", "Subject": "Hi", "Thread-Index": "not base64!!"}
    headers = reply_headers(parent, now=NOW, domain="weft.example")
    assert parse(headers.thread_index).depth == 1


def test_generated_message_ids_are_unique_and_validated():
    ids = {conversation_headers("Hi", now=NOW, domain="weft.example").message_id for _ in range(50)}
    assert len(ids) == 50 and all(i.endswith("@weft.example>") for i in ids)
    with pytest.raises(InvalidInput):
        conversation_headers("Hi", now=NOW, domain="bad domain")
    with pytest.raises(InvalidInput):
        conversation_headers("Hi", now=NOW, domain="weft.example", message_id="not an id")


def test_many_related_emails_keep_unique_indexes():
    emails = related_emails("Big batch", now=NOW, domain="weft.example", related_count=40)
    values = [h.thread_index for h in emails.all()]
    assert len(set(values)) == 41
    with pytest.raises(InvalidInput):
        related_emails("x", now=NOW, domain="weft.example", related_count=2, message_ids=["<a@x>"])
