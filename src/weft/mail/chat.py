"""Chat continuity: does a new chat message continue an open conversation or start a new one?

The rule, in order (``ChatContinuity.resolve_conversation``):

1. An explicit id wins. ``explicit_ids`` are the platform's thread id and/or the id of the
   message being replied to (Slack ``thread_ts``, a Teams conversation id, a reply-to id). The
   first one already bound to a conversation on this channel decides.
2. Otherwise the same channel and the same participant set, with the last activity no longer
   ago than the idle window (``ContinuityPolicy.idle_window``), continue that conversation.
3. Otherwise a new conversation starts.

Explicit ids that are not known yet are bound to whichever conversation the message lands in,
so later replies naming them find it. By default an unknown id does not force a new
conversation (a client that invents a fresh thread id per message, the seed's failure, still
gets continuity from rule 2); ``unknown_explicit_id_starts_new=True`` makes it do so, for
platforms whose thread ids are trustworthy. A message's own id (``message_id``) is bound too.

Every call returns and records a ``ContinuityDecision`` with its reason. Time is always the
``at`` argument; nothing here reads a clock. State lives behind ``ChatConversationStore`` so
the in-memory store can be replaced by a database-backed one.
"""
from __future__ import annotations

import enum
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from weft.errors import InvalidInput


class ContinuityReason(str, enum.Enum):
    """Why a message went where it went."""

    EXPLICIT_ID = "explicit_id"                    # a known thread/reply id named the conversation
    WITHIN_IDLE_WINDOW = "within_idle_window"      # same channel + participants, recently active
    IDLE_WINDOW_EXPIRED = "idle_window_expired"    # same channel + participants, idle too long: new
    NO_OPEN_CONVERSATION = "no_open_conversation"  # nothing on this channel with these participants: new
    UNKNOWN_EXPLICIT_ID = "unknown_explicit_id"    # policy says an unknown explicit id starts a new one


@dataclass(frozen=True)
class ChatConversation:
    id: str
    channel: str
    participants: frozenset[str]
    started_at: datetime
    last_activity_at: datetime
    message_count: int = 1


@dataclass(frozen=True)
class ContinuityDecision:
    """The outcome of one ``resolve_conversation`` call, kept for audit."""

    conversation_id: str
    started_new: bool
    reason: ContinuityReason
    explanation: str
    channel: str
    participants: frozenset[str]
    explicit_ids: tuple[str, ...]
    at: datetime
    matched_explicit_id: str | None = None
    idle_for: timedelta | None = None


@dataclass(frozen=True)
class ContinuityPolicy:
    idle_window: timedelta = timedelta(minutes=30)
    unknown_explicit_id_starts_new: bool = False

    def __post_init__(self) -> None:
        if self.idle_window < timedelta(0):
            raise InvalidInput("idle_window cannot be negative.")


@runtime_checkable
class ChatConversationStore(Protocol):
    """Where continuity state lives. Explicit ids are scoped by channel."""

    def conversation(self, conversation_id: str) -> ChatConversation | None: ...

    def conversation_for_explicit_id(self, channel: str, explicit_id: str) -> str | None: ...

    def latest_conversation(self, channel: str, participants: frozenset[str]) -> ChatConversation | None: ...

    def save_conversation(self, conversation: ChatConversation) -> None: ...

    def bind_explicit_id(self, channel: str, explicit_id: str, conversation_id: str) -> None: ...

    def record_decision(self, decision: ContinuityDecision) -> None: ...

    def decisions(self, conversation_id: str | None = None) -> list[ContinuityDecision]: ...


class InMemoryChatConversationStore:
    """A ``ChatConversationStore`` in dictionaries (tests, single-process use)."""

    def __init__(self) -> None:
        self._conversations: dict[str, ChatConversation] = {}
        self._by_explicit_id: dict[tuple[str, str], str] = {}
        self._by_party: dict[tuple[str, frozenset[str]], set[str]] = {}
        self._decisions: list[ContinuityDecision] = []

    def conversation(self, conversation_id: str) -> ChatConversation | None:
        return self._conversations.get(conversation_id)

    def conversation_for_explicit_id(self, channel: str, explicit_id: str) -> str | None:
        return self._by_explicit_id.get((channel, explicit_id))

    def latest_conversation(self, channel: str, participants: frozenset[str]) -> ChatConversation | None:
        candidates = [self._conversations[cid] for cid in self._by_party.get((channel, participants), ())]
        return max(candidates, key=lambda c: (c.last_activity_at, c.id), default=None)

    def save_conversation(self, conversation: ChatConversation) -> None:
        previous = self._conversations.get(conversation.id)
        if previous is not None:
            self._by_party.get((previous.channel, previous.participants), set()).discard(previous.id)
        self._conversations[conversation.id] = conversation
        self._by_party.setdefault((conversation.channel, conversation.participants), set()).add(conversation.id)

    def bind_explicit_id(self, channel: str, explicit_id: str, conversation_id: str) -> None:
        self._by_explicit_id.setdefault((channel, explicit_id), conversation_id)

    def record_decision(self, decision: ContinuityDecision) -> None:
        self._decisions.append(decision)

    def decisions(self, conversation_id: str | None = None) -> list[ContinuityDecision]:
        return [d for d in self._decisions if conversation_id is None or d.conversation_id == conversation_id]


def _clean_ids(values: str | Iterable[str] | None) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        values = (values,)
    cleaned: list[str] = []
    for value in values:
        if not isinstance(value, str):
            raise InvalidInput(f"Explicit ids are strings, got {type(value).__name__}.")
        value = value.strip()
        if value and value not in cleaned:
            cleaned.append(value)
    return tuple(cleaned)


def normalize_participants(participants: Iterable[str]) -> frozenset[str]:
    """The participant set as compared: trimmed, case-folded, empty names dropped."""
    if isinstance(participants, str):
        participants = (participants,)
    return frozenset(p.strip().casefold() for p in participants if isinstance(p, str) and p.strip())


class ChatContinuity:
    """Decides conversation continuity for chat messages, over a store, a policy and an id factory."""

    def __init__(self, store: ChatConversationStore | None = None, policy: ContinuityPolicy | None = None,
                 new_id: Callable[[], str] | None = None) -> None:
        self.store = store if store is not None else InMemoryChatConversationStore()
        self.policy = policy or ContinuityPolicy()
        self._new_id = new_id or (lambda: uuid.uuid4().hex)

    def resolve_conversation(self, channel: str, participants: Iterable[str],
                             explicit_ids: str | Iterable[str] | None, at: datetime, *,
                             message_id: str | None = None) -> ContinuityDecision:
        """Place one chat message sent at ``at``; returns (and records) the decision."""
        if not isinstance(channel, str) or not channel.strip():
            raise InvalidInput("A chat message needs a channel.")
        if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
            raise InvalidInput("'at' must be a timezone-aware datetime.")
        channel = channel.strip()
        party = normalize_participants(participants)
        ids = _clean_ids(explicit_ids)
        decision = self._decide(channel, party, ids, at)
        conversation = self.store.conversation(decision.conversation_id)
        if conversation is None:
            conversation = ChatConversation(decision.conversation_id, channel, party, at, at, 1)
        else:
            conversation = replace(
                conversation,
                participants=party,
                started_at=min(conversation.started_at, at),
                last_activity_at=max(conversation.last_activity_at, at),
                message_count=conversation.message_count + 1,
            )
        self.store.save_conversation(conversation)
        for explicit_id in (*ids, *_clean_ids(message_id)):
            self.store.bind_explicit_id(channel, explicit_id, conversation.id)
        self.store.record_decision(decision)
        return decision

    def _decide(self, channel: str, party: frozenset[str], ids: tuple[str, ...], at: datetime) -> ContinuityDecision:
        def decided(conversation_id: str | None, reason: ContinuityReason, explanation: str, **extra) -> ContinuityDecision:
            started_new = conversation_id is None
            return ContinuityDecision(
                conversation_id=self._new_id() if started_new else conversation_id,
                started_new=started_new, reason=reason, explanation=explanation, channel=channel,
                participants=party, explicit_ids=ids, at=at, **extra,
            )

        known = [(i, self.store.conversation_for_explicit_id(channel, i)) for i in ids]
        known = [(i, cid) for i, cid in known if cid is not None]
        if known:
            explicit_id, conversation_id = known[0]
            others = sorted({cid for _, cid in known[1:] if cid != conversation_id})
            note = f"; ids also named other conversation(s) {', '.join(others)}, first id wins" if others else ""
            return decided(conversation_id, ContinuityReason.EXPLICIT_ID,
                           f"explicit id {explicit_id!r} belongs to conversation {conversation_id}{note}",
                           matched_explicit_id=explicit_id)
        if ids and self.policy.unknown_explicit_id_starts_new:
            return decided(None, ContinuityReason.UNKNOWN_EXPLICIT_ID,
                           f"explicit id(s) {', '.join(map(repr, ids))} not seen before; policy starts a new conversation")
        unknown = f"explicit id(s) {', '.join(map(repr, ids))} not seen before; " if ids else ""
        latest = self.store.latest_conversation(channel, party)
        if latest is None:
            return decided(None, ContinuityReason.NO_OPEN_CONVERSATION,
                           f"{unknown}no earlier conversation on {channel!r} with these participants")
        window = self.policy.idle_window
        idle_for = at - latest.last_activity_at
        if latest.started_at - window <= at <= latest.last_activity_at + window:
            return decided(latest.id, ContinuityReason.WITHIN_IDLE_WINDOW,
                           f"{unknown}same channel and participants, idle {idle_for} within the {window} window",
                           idle_for=idle_for)
        return decided(None, ContinuityReason.IDLE_WINDOW_EXPIRED,
                       f"{unknown}conversation {latest.id} idle {idle_for}, beyond the {window} window",
                       idle_for=idle_for)


def resolve_conversation(channel: str, participants: Iterable[str], explicit_ids: str | Iterable[str] | None,
                         at: datetime, *, store: ChatConversationStore, policy: ContinuityPolicy | None = None,
                         new_id: Callable[[], str] | None = None, message_id: str | None = None) -> ContinuityDecision:
    """Function form of ``ChatContinuity.resolve_conversation`` over an explicit store."""
    return ChatContinuity(store, policy, new_id).resolve_conversation(
        channel, participants, explicit_ids, at, message_id=message_id
    )
