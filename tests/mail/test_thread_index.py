"""Thread-Index (MS-OXOMSG 2.2.1.3 PidTagConversationIndex): hand-built byte vectors and properties.

The expected bytes below are written out by hand from the spec; the arithmetic is in the comments.
"""
from __future__ import annotations

import base64
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, strategies as st

from weft.errors import InvalidInput
from weft.mail import thread_index
from weft.mail.thread_index import (
    ChildBlock,
    ConversationIndex,
    ThreadIndexError,
    TimeEncoding,
    new_conversation,
    parse,
    reply,
)

UTC = timezone.utc
GUID = uuid.UUID("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")
GUID_BYTES = bytes.fromhex("0f1e2d3c 4b5a 6978 8796 a5b4c3d2e1f0")  # Data1/2/3 big-endian

# 2024-03-01T12:00:00Z = Unix 1709294400 s.
# FILETIME = (1709294400 + 11644473600) * 10**7 = 133537680000000000 = 0x01DA6BCFFC87A000.
# Current encoding keeps bits 63..24: 0x01DA6BCFFC -> bytes 01 DA 6B CF FC.
# The header therefore stands for 0x01DA6BCFFC000000; the dropped 0x87A000 = 8888320 ticks
# reappear in every reply's TimeDiff (TimeDiff is measured from the header's time).
T0 = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)
HEADER = bytes([0x01]) + bytes.fromhex("01 DA 6B CF FC") + GUID_BYTES
assert len(HEADER) == 22

# Four generations, each a reply to the previous one (time measured from T0's header):
#  +1 h:   TimeDiff = 36_000_000_000 + 8_888_320 = 36_008_888_320 < 2**49 -> DC 0,
#          TimeDelta = TimeDiff >> 18 = 137363 = 0x00021893                  -> 00 02 18 93, random 0x11
#  +2 d:   TimeDiff = 1_728_000_000_000 + 8_888_320 -> >> 18 = 6591830 = 0x00649556 -> 00 64 95 56, random 0x22
#  +30 d:  TimeDiff = 25_920_000_000_000 + 8_888_320 -> >> 18 = 98876987 = 0x05E4BE3B -> 05 E4 BE 3B, random 0x33
#  +730 d: TimeDiff = 630_720_000_000_000 + 8_888_320 >= 2**49 = 562_949_953_421_312 (beyond the
#          31-bit fine range) -> DC 1, TimeDelta = TimeDiff >> 23 = 75187684 = 0x047B45E4,
#          word = 0x80000000 | 0x047B45E4 = 0x847B45E4                         -> 84 7B 45 E4, random 0x44
GENERATIONS = [
    (T0 + timedelta(hours=1), 0x11, bytes.fromhex("00 02 18 93 11")),
    (T0 + timedelta(days=2), 0x22, bytes.fromhex("00 64 95 56 22")),
    (T0 + timedelta(days=30), 0x33, bytes.fromhex("05 E4 BE 3B 33")),
    (T0 + timedelta(days=730), 0x44, bytes.fromhex("84 7B 45 E4 44")),
]

# Legacy (2008 spec) header seen from Outlook 2007: bits 55..16 of FILETIME, top byte dropped.
# 01 | D0 46 C6 FC 06 -> FILETIME 0x01_D046C6FC06_0000 = 131680549639464960 ticks
# = 2015-02-12T13:22:43.946496Z.
LEGACY_HEADER = bytes.fromhex("01 D0 46 C6 FC 06") + GUID_BYTES
LEGACY_START = datetime(2015, 2, 12, 13, 22, 43, 946496, tzinfo=UTC)


def test_new_conversation_header_bytes():
    index = new_conversation(T0, guid=GUID)
    assert index.to_bytes() == HEADER
    assert index.to_base64() == "AQHaa8/8Dx4tPEtaaXiHlqW0w9Lh8A=="
    assert base64.b64decode(index.to_base64()) == HEADER
    assert index.encoding is TimeEncoding.CURRENT
    assert index.depth == 0 and index.parent is None
    assert index.header_bytes == HEADER
    # the header keeps 40 bits: the start time is T0 minus the dropped 8888320 ticks (888832 us)
    assert index.started_at == T0 - timedelta(microseconds=888_832)


def test_guid_fields_are_big_endian():
    index = new_conversation(T0, guid=GUID)
    assert index.to_bytes()[6:22] == GUID.bytes
    assert index.to_bytes()[6:22] != GUID.bytes_le


def test_four_generation_reply_chain():
    index = new_conversation(T0, guid=GUID)
    expected = HEADER
    for now, random_byte, block in GENERATIONS:
        index = reply(index, now, random_byte=random_byte)
        expected += block
        assert index.to_bytes() == expected
        assert parse(index.to_base64()) == index
    assert index.depth == 4
    assert [child.delta_code for child in index.children] == [0, 0, 0, 1]
    assert [child.time_delta for child in index.children] == [0x00021893, 0x00649556, 0x05E4BE3B, 0x047B45E4]
    assert [child.random for child in index.children] == [0x11, 0x22, 0x33, 0x44]
    # each generation's parent is the previous generation's full index
    assert index.parent is not None and index.parent.to_bytes() == expected[:-5]
    assert index.parent.is_ancestor_of(index)
    # decoded reply times are within one resolution step of the real time
    for (now, _, _), decoded, child in zip(GENERATIONS, index.reply_times, index.children):
        step = timedelta(microseconds=(1 << (23 if child.delta_code else 18)) // 10 + 1)
        assert timedelta(0) <= now - decoded < step


def test_parse_the_hand_built_chain_from_base64():
    raw = HEADER + b"".join(block for _, _, block in GENERATIONS)
    parsed = parse(base64.b64encode(raw).decode())
    assert parsed.guid == GUID
    assert parsed.header_time == 0x01DA6BCFFC
    assert parsed.children[3] == ChildBlock(delta_code=1, time_delta=0x047B45E4, random=0x44)
    assert parsed.to_bytes() == raw


def test_delta_boundary_between_fine_and_coarse():
    assert ChildBlock.for_time_difference((1 << 49) - 1, 0) == ChildBlock(0, (1 << 31) - 1, 0)
    assert ChildBlock.for_time_difference(1 << 49, 0) == ChildBlock(1, 1 << 26, 0)
    assert ChildBlock.for_time_difference(-5, 7) == ChildBlock(0, 0, 7)  # clock skew counts as no time
    with pytest.raises(ThreadIndexError):
        ChildBlock.for_time_difference(1 << 54, 0)  # beyond even the coarse range (~57 years)


def test_reply_beyond_coarse_range_is_refused():
    with pytest.raises(ThreadIndexError, match="cannot be encoded"):
        reply(new_conversation(T0, guid=GUID), T0 + timedelta(days=365 * 60), random_byte=0)


def test_legacy_encoding_is_parsed_and_preserved():
    raw = LEGACY_HEADER + bytes.fromhex("00 02 18 71 9C")
    parsed = parse(base64.b64encode(raw).decode())
    assert base64.b64encode(raw).decode().startswith("AdBGxvwG")
    assert parsed.encoding is TimeEncoding.LEGACY
    assert parsed.header_filetime == 0x01D046C6FC060000
    assert parsed.started_at == LEGACY_START
    assert parsed.to_bytes() == raw
    # reply one hour after the legacy start: TimeDiff = 36_000_000_000 -> >> 18 = 137329 = 0x00021871
    answered = reply(parsed, LEGACY_START + timedelta(hours=1), random_byte=0xAB)
    assert answered.to_bytes() == raw + bytes.fromhex("00 02 18 71 AB")
    assert answered.header_bytes == LEGACY_HEADER


def test_current_encoding_detected_from_byte_one():
    assert parse(HEADER).encoding is TimeEncoding.CURRENT
    assert parse(LEGACY_HEADER).encoding is TimeEncoding.LEGACY


@pytest.mark.parametrize(
    "value, message",
    [
        ("", "empty"),
        ("AQ", "at least 22 bytes"),
        ("!!!notbase64!!!", "base64"),
        ("A", "base64"),
        (base64.b64encode(HEADER + b"\x00\x00").decode(), "child blocks"),
        (base64.b64encode(b"\x02" + HEADER[1:]).decode(), "0x01"),
        (b"\x01" * 21, "at least 22 bytes"),
        (12345, "bytes"),
    ],
)
def test_malformed_values_raise_the_module_error(value, message):
    with pytest.raises(ThreadIndexError, match=message) as caught:
        parse(value)
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, InvalidInput)


def test_folded_header_and_missing_padding_are_tolerated():
    text = new_conversation(T0, guid=GUID).to_base64()
    assert parse(text[:10] + "\r\n " + text[10:].rstrip("=")) == parse(text)


def test_naive_datetimes_and_out_of_range_dates_are_refused():
    with pytest.raises(ThreadIndexError, match="timezone-aware"):
        new_conversation(datetime(2024, 1, 1))
    with pytest.raises(ThreadIndexError, match="1829-2057"):
        new_conversation(datetime(2100, 1, 1, tzinfo=UTC))


def test_field_validation():
    with pytest.raises(ThreadIndexError):
        ChildBlock(2, 0, 0)
    with pytest.raises(ThreadIndexError):
        ChildBlock(0, 1 << 31, 0)
    with pytest.raises(ThreadIndexError):
        ChildBlock(0, 0, 256)
    with pytest.raises(ThreadIndexError):
        ConversationIndex(1 << 40, GUID)


def test_siblings_share_the_header_and_differ():
    root = new_conversation(T0, guid=GUID)
    siblings = {reply(root, T0 + timedelta(minutes=5), random_byte=n).to_bytes() for n in range(4)}
    assert len(siblings) == 4
    assert all(value[:22] == HEADER and len(value) == 27 for value in siblings)


# -- properties ------------------------------------------------------------------------------------

child_blocks = st.builds(
    ChildBlock,
    delta_code=st.integers(0, 1),
    time_delta=st.integers(0, (1 << 31) - 1),
    random=st.integers(0, 255),
)
indexes = st.builds(
    ConversationIndex,
    header_time=st.integers(0, (1 << 40) - 1),
    guid=st.uuids(),
    children=st.lists(child_blocks, max_size=8).map(tuple),
)


@given(indexes)
def test_parse_generate_round_trip(index: ConversationIndex):
    assert parse(index.to_bytes()) == index
    assert parse(index.to_base64()) == index
    assert len(index.to_bytes()) == 22 + 5 * index.depth


@given(st.binary(max_size=80))
def test_random_bytes_parse_or_raise_module_error(raw: bytes):
    try:
        parsed = parse(raw)
    except ThreadIndexError:
        return
    assert parsed.to_bytes() == raw


@given(st.text(max_size=80))
def test_random_text_parse_or_raise_module_error(text: str):
    try:
        parse(text)
    except ThreadIndexError:
        pass


moments = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2050, 12, 31), timezones=st.just(UTC)
)


@given(moments, st.uuids(), st.lists(st.integers(0, 10**16), max_size=5), st.integers(0, 255))
def test_generated_chain_round_trips_and_decodes_times(start, guid, offsets, random_byte):
    index = new_conversation(start, guid=guid)
    assert parse(index.to_base64()) == index
    for ticks in offsets:
        now = index.started_at + timedelta(microseconds=ticks // 10)
        child = reply(index, now, random_byte=random_byte)
        assert child.to_bytes()[: len(index.to_bytes())] == index.to_bytes()
        assert parse(child.to_base64()) == child
        block = child.children[-1]
        time_diff = max(0, ticks // 10 * 10 - index.header_filetime % 10)  # datetimes hold whole microseconds
        assert block.delta_code == (0 if time_diff < 1 << 49 else 1)
        resolution = timedelta(microseconds=(1 << (23 if block.delta_code else 18)) // 10 + 1)
        # the block keeps whole resolution steps; reply_times are then truncated to whole microseconds,
        # which can add up to one more microsecond
        assert timedelta(0) <= now - child.reply_times[-1] <= resolution
        index = child


def test_module_exports_documented_names():
    for name in ("parse", "new_conversation", "reply", "ConversationIndex", "ChildBlock", "ThreadIndexError"):
        assert hasattr(thread_index, name)
