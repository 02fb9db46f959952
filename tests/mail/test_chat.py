"""Chat continuity scenarios on an injected clock (no sleeps, no wall clock)."""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest

from weft.errors import InvalidInput
from weft.mail.chat import (
    ChatContinuity,
    ChatConversationStore,
    ContinuityPolicy,
    ContinuityReason,
    InMemoryChatConversationStore,
    resolve_conversation,
)

UTC = timezone.utc


class Clock:
    """A manual clock: the test decides what time it is."""

    def __init__(self) -> None:
        self.now = datetime(2026, 5, 15, 9, 0, tzinfo=UTC)

    def advance(self, **amount) -> datetime:
        self.now += timedelta(**amount)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def continuity() -> ChatContinuity:
    counter = itertools.count(1)
    return ChatContinuity(policy=ContinuityPolicy(idle_window=timedelta(minutes=30)),
                          new_id=lambda: f"conv-{next(counter)}")


def test_first_message_starts_a_conversation(continuity, clock):
    decision = continuity.resolve_conversation("web", ["alice", "bot"], [], clock.now)
    assert decision.started_new and decision.conversation_id == "conv-1"
    assert decision.reason is ContinuityReason.NO_OPEN_CONVERSATION
    assert "no earlier conversation" in decision.explanation


def test_same_channel_and_participants_within_the_window_continue(continuity, clock):
    continuity.resolve_conversation("web", ["alice", "bot"], [], clock.now)
    decision = continuity.resolve_conversation("web", [" Bot", "ALICE"], None, clock.advance(minutes=5))
    assert not decision.started_new and decision.conversation_id == "conv-1"
    assert decision.reason is ContinuityReason.WITHIN_IDLE_WINDOW
    assert decision.idle_for == timedelta(minutes=5)
    # the window is measured from the last activity, so a steady conversation never expires
    for _ in range(10):
        decision = continuity.resolve_conversation("web", ["alice", "bot"], None, clock.advance(minutes=25))
        assert decision.conversation_id == "conv-1"
    assert continuity.store.conversation("conv-1").message_count == 12


def test_idle_too_long_starts_a_new_conversation(continuity, clock):
    continuity.resolve_conversation("web", ["alice", "bot"], [], clock.now)
    decision = continuity.resolve_conversation("web", ["alice", "bot"], [], clock.advance(minutes=31))
    assert decision.started_new and decision.conversation_id == "conv-2"
    assert decision.reason is ContinuityReason.IDLE_WINDOW_EXPIRED
    assert decision.idle_for == timedelta(minutes=31)
    assert "conv-1" in decision.explanation


def test_window_boundary_is_inclusive(continuity, clock):
    continuity.resolve_conversation("web", ["alice"], [], clock.now)
    assert continuity.resolve_conversation("web", ["alice"], [], clock.advance(minutes=30)).conversation_id == "conv-1"
    late = continuity.resolve_conversation("web", ["alice"], [], clock.advance(minutes=30, microseconds=1))
    assert late.started_new


def test_other_participants_or_channel_do_not_continue(continuity, clock):
    continuity.resolve_conversation("web", ["alice", "bot"], [], clock.now)
    assert continuity.resolve_conversation("web", ["alice", "bob", "bot"], [], clock.advance(minutes=1)).started_new
    assert continuity.resolve_conversation("sms", ["alice", "bot"], [], clock.advance(minutes=1)).started_new
    assert continuity.resolve_conversation("web", ["alice", "bot"], [], clock.advance(minutes=1)).conversation_id == "conv-1"


def test_known_explicit_id_wins_over_the_window_and_participants(continuity, clock):
    first = continuity.resolve_conversation("slack", ["alice", "bot"], ["T-100"], clock.now, message_id="m-1")
    assert first.started_new
    clock.advance(days=3)
    decision = continuity.resolve_conversation("slack", ["carol", "bot"], ["T-100"], clock.now)
    assert decision.conversation_id == first.conversation_id
    assert decision.reason is ContinuityReason.EXPLICIT_ID
    assert decision.matched_explicit_id == "T-100"
    # a reply naming an earlier message's own id finds the conversation too
    by_reply = continuity.resolve_conversation("slack", ["dave"], "m-1", clock.advance(days=1))
    assert by_reply.conversation_id == first.conversation_id and by_reply.matched_explicit_id == "m-1"


def test_explicit_ids_are_scoped_by_channel(continuity, clock):
    continuity.resolve_conversation("slack", ["alice"], ["T-1"], clock.now)
    other = continuity.resolve_conversation("teams", ["alice"], ["T-1"], clock.advance(minutes=1))
    assert other.started_new


def test_client_inventing_a_thread_id_per_message_still_gets_continuity(continuity, clock):
    """The seed's chat failure: every message carried a fresh thread id."""
    decisions = [
        continuity.resolve_conversation("widget", ["alice", "bot"], [f"fresh-{n}"], clock.advance(minutes=2))
        for n in range(6)
    ]
    assert {d.conversation_id for d in decisions} == {"conv-1"}
    assert decisions[1].reason is ContinuityReason.WITHIN_IDLE_WINDOW
    assert "not seen before" in decisions[1].explanation
    # the invented ids were bound, so a later reply naming one of them lands in the same place
    later = continuity.resolve_conversation("widget", ["alice", "bot"], ["fresh-3"], clock.advance(days=2))
    assert later.conversation_id == "conv-1" and later.reason is ContinuityReason.EXPLICIT_ID


def test_policy_can_make_unknown_explicit_ids_start_new_conversations(clock):
    continuity = ChatContinuity(policy=ContinuityPolicy(unknown_explicit_id_starts_new=True))
    first = continuity.resolve_conversation("slack", ["alice"], ["T-1"], clock.now)
    second = continuity.resolve_conversation("slack", ["alice"], ["T-2"], clock.advance(minutes=1))
    assert second.started_new and second.conversation_id != first.conversation_id
    assert second.reason is ContinuityReason.UNKNOWN_EXPLICIT_ID
    # without ids, the window still applies
    third = continuity.resolve_conversation("slack", ["alice"], [], clock.advance(minutes=1))
    assert third.conversation_id == second.conversation_id


def test_first_known_explicit_id_wins_when_ids_disagree(continuity, clock):
    a = continuity.resolve_conversation("slack", ["alice"], ["A"], clock.now)
    b = continuity.resolve_conversation("slack", ["bob"], ["B"], clock.advance(minutes=1))
    decision = continuity.resolve_conversation("slack", ["alice"], ["B", "A"], clock.advance(minutes=1))
    assert decision.conversation_id == b.conversation_id
    assert a.conversation_id in decision.explanation and "first id wins" in decision.explanation


def test_a_late_message_inside_the_conversation_span_continues(continuity, clock):
    start = clock.now
    continuity.resolve_conversation("web", ["alice"], [], start)
    continuity.resolve_conversation("web", ["alice"], [], clock.advance(minutes=20))
    late = continuity.resolve_conversation("web", ["alice"], [], start + timedelta(minutes=10))
    assert late.conversation_id == "conv-1" and late.idle_for == timedelta(minutes=-10)
    conversation = continuity.store.conversation("conv-1")
    assert conversation.last_activity_at == start + timedelta(minutes=20)


def test_every_decision_is_recorded_with_its_reason(continuity, clock):
    continuity.resolve_conversation("web", ["alice"], [], clock.now)
    continuity.resolve_conversation("web", ["alice"], [], clock.advance(minutes=1))
    continuity.resolve_conversation("web", ["alice"], [], clock.advance(hours=2))
    reasons = [d.reason for d in continuity.store.decisions()]
    assert reasons == [ContinuityReason.NO_OPEN_CONVERSATION, ContinuityReason.WITHIN_IDLE_WINDOW,
                       ContinuityReason.IDLE_WINDOW_EXPIRED]
    assert [d.reason for d in continuity.store.decisions("conv-1")] == reasons[:2]
    assert all(d.explanation for d in continuity.store.decisions())


def test_function_form_uses_the_given_store(clock):
    store = InMemoryChatConversationStore()
    assert isinstance(store, ChatConversationStore)
    first = resolve_conversation("web", ["alice"], [], clock.now, store=store)
    second = resolve_conversation("web", ["alice"], [], clock.advance(minutes=1), store=store)
    assert first.conversation_id == second.conversation_id
    assert len(store.decisions()) == 2


def test_invalid_input_is_refused(continuity, clock):
    with pytest.raises(InvalidInput):
        continuity.resolve_conversation("web", ["alice"], [], datetime(2026, 5, 15, 9, 0))
    with pytest.raises(InvalidInput):
        continuity.resolve_conversation(" ", ["alice"], [], clock.now)
    with pytest.raises(InvalidInput):
        continuity.resolve_conversation("web", ["alice"], [42], clock.now)
    with pytest.raises(InvalidInput):
        ContinuityPolicy(idle_window=timedelta(minutes=-1))
