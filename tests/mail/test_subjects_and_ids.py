"""Subject normalization and Message-ID parsing."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from weft.errors import InvalidInput
from weft.mail.message_ids import (
    first_message_id,
    make_message_id,
    normalize_message_id,
    parse_message_ids,
    parse_reference_list,
)
from weft.mail.subjects import base_subject, conversation_topic, reply_subject, subject_key


@pytest.mark.parametrize(
    "subject, base, marked",
    [
        ("Hello", "Hello", False),
        ("Re: Hello", "Hello", True),
        ("RE: re: FWD: Hello", "Hello", True),
        ("Re[2]: Hello", "Hello", True),
        ("Re :Hello", "Hello", True),
        ("[list] Re: Hello", "Hello", True),
        ("Re: [list] Hello", "Hello", True),
        ("[list]", "[list]", False),
        ("Re: [list]", "[list]", True),
        ("Hello (fwd)", "Hello", True),
        ("[Fwd: Re: Hello]", "Hello", True),
        ("Quarterly \t  plan", "Quarterly plan", False),
        ("AW: WG: Hello", "Hello", True),
        ("Review: the plan", "Review: the plan", False),
        ("Awesome: news", "Awesome: news", False),
        ("", "", False),
    ],
)
def test_base_subject(subject, base, marked):
    result = base_subject(subject)
    assert (result.text, result.is_reply_or_forward) == (base, marked)


def test_custom_prefixes_replace_the_localized_list():
    assert subject_key("Respuesta: Plan", ["respuesta"]) == "plan"
    assert subject_key("AW: Plan", ["respuesta"]) == "aw: plan"  # localized defaults replaced
    assert subject_key("Re: Plan", ["respuesta"]) == "plan"  # RFC markers always apply


def test_topic_keeps_tags_and_reply_subject_has_one_prefix():
    assert conversation_topic("RE: [EXT] FW: Budget (fwd)") == "[EXT] Budget"
    assert reply_subject("Re: Re: Budget") == "Re: Budget"
    assert reply_subject("") == "Re:"


@given(st.text(max_size=60))
def test_subject_functions_never_crash_and_are_idempotent(text):
    base = base_subject(text).text
    assert base_subject(base).text == base
    topic = conversation_topic(text)
    assert conversation_topic(topic) == topic
    assert reply_subject(reply_subject(text)) == reply_subject(text)


@pytest.mark.parametrize(
    "token, normalized",
    [
        ("<abc@example.org>", "abc@example.org"),
        ('<"abc"@example.org>', "abc@example.org"),
        ('<"a\\"b"@example.org>', 'a"b@example.org'),
        ("< abc@example.org >", "abc@example.org"),
        ("abc@example.org", "abc@example.org"),
        ("<Case@Example>", "Case@Example"),
        ("<>", None),
        ("<@x>", None),
    ],
)
def test_normalize_message_id(token, normalized):
    assert normalize_message_id(token) == normalized


def test_parsing_header_values():
    assert parse_message_ids("<a@x> <b@x>\r\n\t<c@x>") == ["a@x", "b@x", "c@x"]
    assert first_message_id("<a@x> (Alice's message of Friday)") == "a@x"
    assert parse_message_ids("not-a-message-id") == []
    assert parse_message_ids("bare@x") == ["bare@x"]
    assert parse_message_ids("two bare@x ids@y") == []
    assert parse_reference_list(["<a@x> <b@x>", "<c@x>", "junk"]) == ["a@x", "b@x", "c@x"]
    assert parse_reference_list(None) == []


@given(st.text(max_size=80))
def test_message_id_parsing_never_crashes(text):
    for item in parse_message_ids(text):
        assert item and "<" not in item and ">" not in item and not any(c.isspace() for c in item)


def test_make_message_id():
    assert make_message_id("weft.example", token="abc") == "<abc@weft.example>"
    assert make_message_id("weft.example") != make_message_id("weft.example")
    for domain in ("", "bad domain", "-x.example", "a@b"):
        with pytest.raises(InvalidInput):
            make_message_id(domain)
    with pytest.raises(InvalidInput):
        make_message_id("weft.example", token="a b")
