"""Importing mail into a real ThreadService (SQLite in tmp): threads, roles, metadata, idempotent re-import, the CLI."""
from __future__ import annotations

import mailbox

import pytest

from tests.mail.test_reading import _email, mixed_mailbox
from tests.threads.live import weft_cli
from weft.mail.ingest import import_mail
from weft.mail.reading import parse_bytes
from weft.threads.policy import Principal
from weft.threads.service import ThreadService
from weft.threads.store import SqlThreadStore

OWN = ["reports@example.com"]


@pytest.fixture
def threads(tmp_path):
    service = ThreadService(SqlThreadStore(f"sqlite:///{tmp_path / 'threads.sqlite3'}"))
    yield service
    service.close()


@pytest.fixture
def principal():
    return Principal.library("acme")


def _write_mbox(path, raws):
    box = mailbox.mbox(str(path))
    for raw in raws:
        box.add(raw)
    box.flush()
    box.close()
    return path


def _snapshot(threads, principal):
    out = {}
    for conversation in threads.list_conversations(principal, limit=100, metadata={"source": "mail"}).data:
        items = threads.history(principal, conversation.id)
        out[conversation.id] = (conversation.metadata, [(i.id, i.role, i.metadata["message_id"]) for i in items])
    return out


def test_mixed_mailbox_imports_once_and_reimport_changes_nothing(tmp_path, threads, principal):
    raws = mixed_mailbox()
    box = _write_mbox(tmp_path / "box.mbox", raws)
    seen_progress = []
    first = import_mail(threads, principal, box, own_addresses=OWN, progress=lambda d, t: seen_progress.append((d, t)))
    assert first.messages_seen == len(raws) == 9
    assert first.items_added == 9 and first.already_present == 0
    assert first.conversations_created == 2  # the report (with the re-subjected reply and, by subject, the forward), lunch
    assert seen_progress[-1] == (9, 9)
    before = _snapshot(threads, principal)
    assert sum(len(items) for _, items in before.values()) == 9

    second = import_mail(threads, principal, box, own_addresses=OWN)
    assert (second.messages_seen, second.items_added, second.already_present, second.conversations_created) == (9, 0, 9, 0)
    assert _snapshot(threads, principal) == before


def test_conversations_roles_order_and_metadata(tmp_path, threads, principal):
    raws = mixed_mailbox()
    mails = [parse_bytes(r) for r in raws]
    main = mails[1]
    import_mail(threads, principal, _write_mbox(tmp_path / "box.mbox", raws), own_addresses=OWN)
    by_root = {c.metadata["mail_root"]: c for c in threads.list_conversations(principal, limit=100).data}
    report = by_root[main.message_id]
    assert report.metadata["source"] == "mail" and report.metadata["subject"] == "Quarterly report"
    items = threads.history(principal, report.id)
    ids = [i.metadata["message_id"] for i in items]
    assert ids[0] == main.message_id
    assert set(ids) == {m.message_id for m in mails[1:6]} | {"<resubj@example.com>", "<fwd-1@example.com>"}
    dates = [i.metadata["date"] for i in items]
    assert len(dates) == len(items)
    roles = {i.metadata["message_id"]: i.role for i in items}
    assert roles[main.message_id] == "assistant" and roles["<resubj@example.com>"] == "user"
    related = next(i for i in items if i.metadata["message_id"] == mails[2].message_id)
    assert related.metadata["in_reply_to"] == main.message_id
    assert related.metadata["references"] == main.message_id
    assert related.metadata["thread_index"] == mails[2].headers["thread-index"]
    assert related.body["content"][0]["text"] == "Part 1 of the report."
    # the reply that arrived before its parent: parent first in the stored thread
    lunch = by_root["<late-parent@example.com>"]
    assert [i.metadata["message_id"] for i in threads.history(principal, lunch.id)] == ["<late-parent@example.com>", "<late-child@example.com>"]


def test_later_import_appends_and_late_parent_joins_into_the_older_thread(tmp_path, threads, principal):
    child = _email({"Message-ID": "<c@x>", "In-Reply-To": "<p@x>", "References": "<p@x>", "Subject": "Re: Plan",
                    "From": "bob@example.com", "Date": "Sun, 01 Mar 2026 12:05:00 +0000"}, "child")
    sibling = _email({"Message-ID": "<s@x>", "In-Reply-To": "<p@x>", "References": "<p@x>", "Subject": "Re: Plan",
                      "From": "carol@example.com", "Date": "Sun, 01 Mar 2026 12:06:00 +0000"}, "sibling")
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "c.eml").write_bytes(child)
    first = import_mail(threads, principal, tmp_path / "a", own_addresses=OWN)
    assert first.conversations_created == 1
    # (no subject merge) the sibling alone would thread with the child through the phantom parent: appended
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "s.eml").write_bytes(sibling)
    second = import_mail(threads, principal, tmp_path / "b", own_addresses=OWN)
    assert (second.conversations_created, second.conversations_extended, second.items_added) == (0, 1, 1)
    assert len(threads.list_conversations(principal, limit=100).data) == 1


def test_late_parent_joining_two_stored_threads_is_reported(tmp_path, threads, principal):
    from weft.mail.threading import ThreadingOptions

    no_subject = ThreadingOptions(subject_merge=False)
    a = _email({"Message-ID": "<a@x>", "References": "<p@x>", "Subject": "one", "From": "bob@example.com",
                "Date": "Sun, 01 Mar 2026 12:05:00 +0000"}, "a")
    b = _email({"Message-ID": "<b@x>", "References": "<q@x>", "Subject": "two", "From": "carol@example.com",
                "Date": "Sun, 01 Mar 2026 12:06:00 +0000"}, "b")
    p = _email({"Message-ID": "<p@x>", "References": "<q@x>", "Subject": "three", "From": "dan@example.com",
                "Date": "Sun, 01 Mar 2026 12:00:00 +0000"}, "the late parent")
    (tmp_path / "1").mkdir()
    (tmp_path / "1" / "a.eml").write_bytes(a)
    (tmp_path / "1" / "b.eml").write_bytes(b)
    (tmp_path / "2").mkdir()
    (tmp_path / "2" / "p.eml").write_bytes(p)
    first = import_mail(threads, principal, tmp_path / "1", options=no_subject)
    assert first.conversations_created == 2
    ordered = sorted((threads.get_conversation(principal, c) for c in first.created_ids), key=lambda c: (c.created_at_ms, c.id))
    older, newer = ordered[0].id, ordered[1].id
    second = import_mail(threads, principal, tmp_path / "2", options=no_subject)
    assert second.conversations_created == 0 and second.items_added == 1
    assert [(j.kept, j.others) for j in second.joined] == [(older, (newer,))]
    assert [i.metadata["message_id"] for i in threads.history(principal, older)][-1] == "<p@x>"
    assert threads.get_conversation(principal, newer).metadata["mail_joined_into"] == older
    third = import_mail(threads, principal, tmp_path / "2", options=no_subject)
    assert (third.items_added, third.already_present, third.joined) == (0, 1, [])


def test_cli_imports_end_to_end(tmp_path):
    box = _write_mbox(tmp_path / "box.mbox", mixed_mailbox())
    data = tmp_path / "data"
    args = ("mail", "import", str(box), "--tenant", "acme", "--own-address", "reports@example.com", "--data-dir", str(data))
    first = weft_cli(*args)
    assert first.returncode == 0, first.stderr + first.stdout
    assert "messages seen: 9" in first.stdout and "items added: 9" in first.stdout and "conversations created: 2" in first.stdout
    second = weft_cli(*args, "--no-subject-merge")
    assert second.returncode == 0, second.stderr
    assert "items added: 0" in second.stdout and "already present: 9" in second.stdout
    service = ThreadService(SqlThreadStore(f"sqlite:///{data / 'threads' / 'threads.sqlite3'}"))
    try:
        conversations = service.list_conversations(Principal.library("acme"), limit=100).data
        assert len(conversations) == 2
    finally:
        service.close()


def test_reimport_is_idempotent_with_encryption_at_rest(tmp_path, principal):
    import os

    service = ThreadService(SqlThreadStore(f"sqlite:///{tmp_path / 'enc.sqlite3'}"), master_key=os.urandom(32), encryption=True)
    try:
        box = _write_mbox(tmp_path / "box.mbox", mixed_mailbox())
        first = import_mail(service, principal, box, own_addresses=OWN)
        second = import_mail(service, principal, box, own_addresses=OWN)
        assert (first.items_added, second.items_added, second.already_present) == (9, 0, 9)
    finally:
        service.close()
