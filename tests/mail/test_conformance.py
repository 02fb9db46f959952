"""The shared mail-threading conformance corpus (planetaryescape/mxr, MIT; see conformance/SOURCE.md).

Every fixture runs twice: as one batch, and through the incremental threader with a report
after each message (the final report must be the fixture's expected output too).
"""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from weft.mail.threading import MailMessage, MailThreader, ThreadingOptions, thread_messages

CORPUS = Path(__file__).parent / "conformance"
FIXTURES = sorted(path for path in CORPUS.glob("*.json") if path.name != "schema.json")


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _messages(fixture: dict) -> list[MailMessage]:
    return [
        MailMessage(
            id=item["id"],
            message_id=item["message_id"],
            in_reply_to=item.get("in_reply_to"),
            references=tuple(item["references"]),
            subject=item["subject"],
            date=datetime.fromisoformat(item["date"].replace("Z", "+00:00")),
        )
        for item in fixture["input"]
    ]


def test_corpus_is_complete_and_licensed():
    assert len(FIXTURES) == 37
    assert (CORPUS / "LICENSE-MIT").is_file()
    assert (CORPUS / "SOURCE.md").is_file()
    schema = _load(CORPUS / "schema.json")
    fixture_keys = set(schema["properties"])
    message_keys = set(schema["$defs"]["message"]["properties"])
    for path in FIXTURES:
        fixture = _load(path)
        assert set(fixture) <= fixture_keys, path.name
        assert fixture["name"] == path.stem
        assert all(set(item) <= message_keys for item in fixture["input"]), path.name


@pytest.mark.parametrize("path", FIXTURES, ids=[path.stem for path in FIXTURES])
def test_fixture_batch(path: Path):
    fixture = _load(path)
    options = ThreadingOptions.from_mapping(fixture.get("options"))
    result = [conversation.as_dict() for conversation in thread_messages(_messages(fixture), options)]
    assert result == fixture["expected"]["threads"], fixture["description"]


@pytest.mark.parametrize("path", FIXTURES, ids=[path.stem for path in FIXTURES])
def test_fixture_incremental(path: Path):
    fixture = _load(path)
    threader = MailThreader(ThreadingOptions.from_mapping(fixture.get("options")))
    added: list[str] = []
    for message in _messages(fixture):
        threader.add(message)
        added.append(message.id)
        seen = [m for conversation in threader.conversations() for m in conversation.messages]
        assert sorted(seen) == sorted(added)  # every message so far is in exactly one conversation
    result = [conversation.as_dict() for conversation in threader.conversations()]
    assert result == fixture["expected"]["threads"], fixture["description"]
