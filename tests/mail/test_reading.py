"""Reading .eml, mbox and Maildir into ParsedMail, and threading a mixed mailbox read from disk."""
from __future__ import annotations

import mailbox
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage

import pytest

from weft.mail.headers import related_emails
from weft.mail.reading import count_messages, parse_bytes, read_path
from weft.mail.threading import thread_messages

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)


def _email(headers: dict, body: str, *, html: str | None = None, charset: str = "utf-8") -> bytes:
    msg = EmailMessage()
    for name, value in headers.items():
        msg[name] = value
    msg.set_content(body, charset=charset)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    return bytes(msg)


def mixed_mailbox() -> list[bytes]:
    """The seed's 1 main + 4 related emails, a forward, a re-subjected reply, and a reply that arrives first."""
    out = []
    group = related_emails("Quarterly report", now=T0, domain="reports.example.com", related_count=4)
    for n, h in enumerate(group.all()):
        headers = h.as_dict()
        headers.update({"From": "reports@example.com", "To": "team@example.com",
                        "Date": (T0 + timedelta(minutes=n)).strftime("%a, %d %b %Y %H:%M:%S +0000")})
        out.append(_email(headers, f"Part {n} of the report."))
    main_id = group.main.message_id
    # a reply that arrives before its parent (parent is later in the mailbox)
    out.insert(0, _email({"Message-ID": "<late-child@example.com>", "In-Reply-To": "<late-parent@example.com>",
                          "References": "<late-parent@example.com>", "Subject": "Re: Lunch?", "From": "bob@example.com",
                          "Date": "Sun, 01 Mar 2026 12:05:00 +0000"}, "Yes!"))
    out.append(_email({"Message-ID": "<late-parent@example.com>", "Subject": "Lunch?", "From": "alice@example.com",
                       "Date": "Sun, 01 Mar 2026 12:00:00 +0000"}, "Lunch at noon?"))
    # a forward of the main email into a new conversation and a reply that changed the subject
    out.append(_email({"Message-ID": "<fwd-1@example.com>", "Subject": "Fwd: Quarterly report", "From": "carol@example.com",
                       "Date": "Sun, 01 Mar 2026 13:00:00 +0000"}, "FYI"))
    out.append(_email({"Message-ID": "<resubj@example.com>", "In-Reply-To": main_id, "References": main_id,
                       "Subject": "Numbers look off", "From": "dave@example.com", "Date": "Sun, 01 Mar 2026 14:00:00 +0000"},
                      "Check page 2."))
    return out


def test_eml_mbox_and_maildir_read_the_same(tmp_path):
    raws = mixed_mailbox()
    eml_dir = tmp_path / "eml"
    eml_dir.mkdir()
    for i, raw in enumerate(raws):
        (eml_dir / f"{i:02d}.eml").write_bytes(raw)
    mbox = mailbox.mbox(str(tmp_path / "box.mbox"))
    maildir = mailbox.Maildir(str(tmp_path / "maildir"))
    for raw in raws:
        mbox.add(raw)
        maildir.add(raw)
    mbox.flush()
    reads = {}
    for name, path in (("eml", eml_dir), ("mbox", tmp_path / "box.mbox"), ("maildir", tmp_path / "maildir")):
        mails = list(read_path(path))
        assert count_messages(path) == len(raws) == len(mails)
        reads[name] = sorted((m.message_id, m.subject, m.text) for m in mails)
    assert reads["eml"] == reads["mbox"] == reads["maildir"]


def test_mixed_mailbox_threads_into_the_right_conversations(tmp_path):
    from weft.mail.threading import ThreadingOptions

    mails = [parse_bytes(raw) for raw in mixed_mailbox()]
    main_id = mails[1].message_id  # index 0 is the early reply
    for subject_merge, expected in ((False, 6), (True, 7)):
        conversations = thread_messages([m.threading_message() for m in mails], ThreadingOptions(subject_merge=subject_merge))
        by_member = {mid: c for c in conversations for mid in c.messages}
        report = by_member[main_id]
        # main + 4 related + the re-subjected reply (by References); with subject merging the forward joins too
        assert len(report.messages) == expected
        assert report.root == main_id
        assert by_member["<resubj@example.com>"] is report
        assert (by_member["<fwd-1@example.com>"] is report) == subject_merge
        assert by_member["<late-child@example.com>"] is by_member["<late-parent@example.com>"]
        assert by_member["<late-parent@example.com>"].root == "<late-parent@example.com>"


def test_broken_input_is_tolerated():
    # unknown charset, undecodable bytes, broken date, no Message-ID, html only
    raw = (b"Subject: =?x-unknown?q?Caf=E9?=\r\nFrom: Someone <Some.One@Example.com>\r\nDate: not a date\r\n"
           b"Content-Type: text/html; charset=x-unknown\r\n\r\n<p>Hello&nbsp;<b>caf\xe9</b></p><br>bye\r\n")
    first = parse_bytes(raw)
    again = parse_bytes(raw)
    assert first.message_id == again.message_id and first.message_id.endswith("@weft.invalid>")
    assert first.date is None
    assert first.sender == "some.one@example.com"
    assert "Hello" in first.text and "bye" in first.text and "<b>" not in first.text
    latin = _email({"Message-ID": "<l1@x>", "Subject": "Grüße"}, "Grüße aus Köln", charset="iso-8859-1")
    parsed = parse_bytes(latin)
    assert parsed.text == "Grüße aus Köln" and parsed.subject == "Grüße"
    with_html = _email({"Message-ID": "<h1@x>", "Subject": "both"}, "plain wins", html="<p>html loses</p>")
    assert parse_bytes(with_html).text == "plain wins"
