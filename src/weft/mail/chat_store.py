"""Chat continuity state kept in the thread store, so it survives restarts and is shared by processes.

``ThreadChatConversationStore(threads, principal)`` implements ``ChatConversationStore`` with the
ThreadService API only (no SQL of its own), scoped to the principal's tenant:

- a chat conversation is a thread with metadata ``source=chat``, ``chat_key`` (a hash of channel and
  participant set, the lookup key of the idle-window rule), ``chat_channel``, ``chat_participants``,
  ``chat_started_at``, ``chat_last_at`` and ``chat_count``;
- an explicit-id binding (a platform thread id, a reply-to id, a message's own id) is a small
  item-less internal record (conversation kind ``binding``, never listed by the APIs) with metadata ``source=chat_binding``, ``chat_binding`` (a hash of channel and
  id) and ``conversation_id``; the earliest binding of an id wins. A weft conversation id given as
  the explicit id also names its conversation, when it is a chat conversation of the same channel;
- each decision is stored with its chat message, in the item metadata (``chat_reason``,
  ``chat_explanation``, ``chat_at``, ...), by ``ChatMessages.post``.

``ChatMessages`` is the one operation the HTTP endpoint calls: resolve the conversation, append the
message, return both. Two processes that start a conversation for the same party in the same
instant can each start one; the next message continues the most recent.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from weft.errors import InvalidInput, NotFound
from weft.mail.chat import (
    ChatContinuity,
    ChatConversation,
    ContinuityDecision,
    ContinuityPolicy,
    ContinuityReason,
    normalize_participants,
)
from weft.threads.items import MAX_METADATA_VALUE, normalize_input_item
from weft.threads.policy import Principal
from weft.threads.service import Conversation, Item, PendingItem, ThreadService

CHAT_SOURCE = "chat"
BINDING_SOURCE = "chat_binding"


def _hash(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:40]


def party_key(channel: str, participants: frozenset[str]) -> str:
    return _hash("party", channel, *sorted(participants))


def _iso(at: datetime) -> str:
    return at.astimezone(timezone.utc).isoformat()


def _parse_iso(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


class ThreadChatConversationStore:
    """A ``ChatConversationStore`` over a ThreadService, for one tenant (the principal's)."""

    def __init__(self, threads: ThreadService, principal: Principal) -> None:
        self.threads = threads
        self.principal = principal
        self.last_decision: ContinuityDecision | None = None

    # -- conversations --------------------------------------------------------------------------
    def new_conversation_id(self) -> str:
        """Create the (empty) thread a new chat conversation lives in; ``save_conversation`` fills it."""
        created, _ = self.threads.create_conversation(self.principal, metadata={"source": CHAT_SOURCE})
        return created.id

    def _get(self, conversation_id: str) -> Conversation | None:
        try:
            return self.threads.get_conversation(self.principal, conversation_id)
        except NotFound:
            return None

    @staticmethod
    def _chat(conversation: Conversation) -> ChatConversation | None:
        md = conversation.metadata
        started, last = _parse_iso(md.get("chat_started_at")), _parse_iso(md.get("chat_last_at"))
        if md.get("source") != CHAT_SOURCE or started is None or last is None:
            return None
        try:
            participants = frozenset(json.loads(md.get("chat_participants") or "[]"))
        except ValueError:
            participants = frozenset()
        return ChatConversation(conversation.id, md.get("chat_channel", ""), participants, started, last,
                                int(md.get("chat_count") or 0))

    def conversation(self, conversation_id: str) -> ChatConversation | None:
        found = self._get(conversation_id)
        return self._chat(found) if found is not None else None

    def latest_conversation(self, channel: str, participants: frozenset[str]) -> ChatConversation | None:
        page = self.threads.list_conversations(self.principal, limit=20, order="desc",
                                               metadata={"chat_key": party_key(channel, participants)})
        chats = [c for c in (self._chat(conv) for conv in page.data) if c is not None]
        return max(chats, key=lambda c: (c.last_activity_at, c.id), default=None)

    def save_conversation(self, conversation: ChatConversation) -> None:
        current = self._get(conversation.id)
        metadata = dict(current.metadata) if current is not None else {}
        participants = json.dumps(sorted(conversation.participants), ensure_ascii=False)
        metadata.update({
            "source": CHAT_SOURCE,
            "chat_key": party_key(conversation.channel, conversation.participants),
            "chat_channel": conversation.channel[:MAX_METADATA_VALUE],
            "chat_participants": participants if len(participants) <= MAX_METADATA_VALUE else "[]",
            "chat_started_at": _iso(conversation.started_at),
            "chat_last_at": _iso(conversation.last_activity_at),
            "chat_count": str(conversation.message_count),
        })
        self.threads.update_conversation(self.principal, conversation.id, metadata=metadata)

    # -- explicit ids ----------------------------------------------------------------------------
    def conversation_for_explicit_id(self, channel: str, explicit_id: str) -> str | None:
        page = self.threads.list_conversations(self.principal, limit=1, order="asc", kind="binding",
                                               metadata={"chat_binding": _hash("id", channel, explicit_id)})
        if page.data:
            return page.data[0].metadata.get("conversation_id")
        if explicit_id.startswith("conv_"):
            found = self._get(explicit_id)
            chat = self._chat(found) if found is not None else None
            if chat is not None and chat.channel == channel[:MAX_METADATA_VALUE]:
                return chat.id
        return None

    def bind_explicit_id(self, channel: str, explicit_id: str, conversation_id: str) -> None:
        if explicit_id == conversation_id or self.conversation_for_explicit_id(channel, explicit_id) is not None:
            return
        self.threads.create_conversation(self.principal, kind="binding", metadata={
            "source": BINDING_SOURCE, "chat_binding": _hash("id", channel, explicit_id), "conversation_id": conversation_id})

    # -- decisions ---------------------------------------------------------------------------------
    def record_decision(self, decision: ContinuityDecision) -> None:
        self.last_decision = decision  # persisted with the message by ChatMessages.post

    def decisions(self, conversation_id: str | None = None) -> list[ContinuityDecision]:
        if conversation_id is None:
            ids = [c.id for c in self.threads.list_conversations(self.principal, limit=100, order="asc",
                                                                  metadata={"source": CHAT_SOURCE}).data]
        else:
            ids = [conversation_id]
        out: list[ContinuityDecision] = []
        for cid in ids:
            chat = self.conversation(cid)
            if chat is None:
                continue
            out.extend(d for d in (decision_from_item(chat, i) for i in self.threads.history(self.principal, cid)) if d)
        return out


def decision_metadata(decision: ContinuityDecision) -> dict[str, str]:
    metadata = {
        "chat_reason": decision.reason.value,
        "chat_explanation": decision.explanation[:MAX_METADATA_VALUE],
        "chat_at": _iso(decision.at),
        "chat_started_new": "true" if decision.started_new else "false",
    }
    if decision.explicit_ids:
        ids = json.dumps(list(decision.explicit_ids), ensure_ascii=False)
        if len(ids) <= MAX_METADATA_VALUE:
            metadata["chat_explicit_ids"] = ids
    if decision.matched_explicit_id:
        metadata["chat_matched_id"] = decision.matched_explicit_id[:MAX_METADATA_VALUE]
    if decision.idle_for is not None:
        metadata["chat_idle_seconds"] = str(decision.idle_for.total_seconds())
    return metadata


def decision_from_item(chat: ChatConversation, item: Item) -> ContinuityDecision | None:
    md = item.metadata
    at = _parse_iso(md.get("chat_at"))
    if not md.get("chat_reason") or at is None:
        return None
    idle = md.get("chat_idle_seconds")
    return ContinuityDecision(
        conversation_id=chat.id, started_new=md.get("chat_started_new") == "true", reason=ContinuityReason(md["chat_reason"]),
        explanation=md.get("chat_explanation", ""), channel=chat.channel, participants=chat.participants,
        explicit_ids=tuple(json.loads(md.get("chat_explicit_ids") or "[]")), at=at,
        matched_explicit_id=md.get("chat_matched_id"), idle_for=timedelta(seconds=float(idle)) if idle else None)


@dataclass(frozen=True)
class PostedMessage:
    decision: ContinuityDecision
    item: Item


class ChatMessages:
    """Places a chat message in the right conversation of the thread store and appends it there."""

    def __init__(self, threads: ThreadService, policy: ContinuityPolicy | None = None) -> None:
        self.threads = threads
        self.policy = policy or ContinuityPolicy()

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.threads.clock.now_ms() / 1000, tz=timezone.utc)

    def post(self, principal: Principal, *, channel: str, participants: list[str], text: str, role: str = "user",
             sender: str | None = None, explicit_ids: list[str] | None = None, message_id: str | None = None,
             at: datetime | None = None) -> PostedMessage:
        principal.require("write")
        if not normalize_participants(participants):
            raise InvalidInput("A chat message needs at least one participant.", code="invalid_value")
        item_type, role, body = normalize_input_item({"type": "message", "role": role, "content": text}, "message")
        store = ThreadChatConversationStore(self.threads, principal)
        continuity = ChatContinuity(store, self.policy, new_id=store.new_conversation_id)
        decision = continuity.resolve_conversation(channel, participants, explicit_ids, at or self.now(), message_id=message_id)
        metadata = decision_metadata(decision)
        if sender:
            metadata["chat_sender"] = sender[:MAX_METADATA_VALUE]
        if message_id:
            metadata["chat_message_id"] = message_id[:MAX_METADATA_VALUE]
        body["metadata"] = metadata
        items = self.threads.append_items(principal, decision.conversation_id, None, pending=[PendingItem(item_type, role, body)])
        return PostedMessage(decision, items[0])
