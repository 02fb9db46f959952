"""Grouping email messages into conversations: JWZ / RFC 5256 REFERENCES threading.

Input is already-parsed header data (``MailMessage``); output is a flat list of
``Conversation`` values (root, members in date order, and each member's parent), the shape of
the shared conformance corpus in ``tests/mail/conformance``.

How a set of messages becomes conversations:

1. Linking (RFC 5256 step 1, done as each message is added, so ``MailThreader`` is incremental):
   each message gets a container keyed by its normalized Message-ID; a missing id, or one
   already taken by an earlier message, gets a unique internal key instead (first wins). The
   message's ancestry is its valid ``References`` or, when there are none, the first valid id of
   ``In-Reply-To``. Adjacent ancestors are linked unless the child already has a parent or the
   link would make a loop; unknown ancestors become phantom containers, which a late-arriving
   message fills. The message itself is then re-parented to its last ancestor (or detached, when
   it has none), again never making a loop.
2. Pruning (on report): phantoms without messages disappear; a phantom's children move up to
   its parent; at the top, a phantom is replaced by its child when it has exactly one
   (``prune_phantoms=False`` keeps phantoms; the public root is then the missing id itself).
3. Thread-Index (option ``thread_index``): conversations whose messages carry Outlook indexes
   with the same conversation GUID (bytes 6-21 of the 22-byte header; Outlook's ConversationId,
   [MS-OXOMSG] 2.2.1.2) are one conversation; a joining piece hangs under the message whose
   index is the longest proper prefix of its own (the child blocks give the tree), else under
   the conversation root. The piece with the shallowest index anchors the group.
4. Subject fallback (option ``subject_merge``) is only for messages that carry no conversation
   evidence: no valid References or In-Reply-To naming another message, and (with
   ``thread_index`` on) no valid Thread-Index, and alone in their conversation. Such a "free"
   message joins a conversation with the same base subject. A message with a Thread-Index
   names its own conversation (its GUID), and one with References/In-Reply-To names its
   parent's, so neither is ever moved into another conversation by subject, and two
   conversations that carry evidence are never merged with each other. A free message joins
   the evidence-backed conversation that started most recently at or before it (else the
   earliest); when it is not a reply but that conversation's root is one (its parent never
   arrived), it becomes the root instead, as in JWZ. Free messages with no evidence-backed
   match group under the first non-reply, else the first message. The members placed this
   way are reported in ``Conversation.subject_joined``.
5. Output order: members by (date, caller id); conversations by their first member. Every
   tie is broken by caller id, never by arrival order, so any arrival order of a consistent set
   gives the same answer.

A batch call is ``thread_messages(messages)``; it is the same as adding the messages one by one
to a ``MailThreader`` and asking for ``conversations()``.
"""
from __future__ import annotations

import uuid
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from types import MappingProxyType

from weft.errors import InvalidInput
from weft.mail.message_ids import first_message_id, parse_reference_list
from weft.mail.subjects import DEFAULT_REPLY_PREFIXES, BaseSubject, base_subject
from weft.mail.thread_index import ConversationIndex, ThreadIndexError, parse as parse_thread_index

_SYNTHETIC_PREFIX = "<no-message-id>"  # normalized ids never contain "<", so these keys never collide
_EARLIEST = datetime.min.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class MailMessage:
    """The threading-relevant fields of one email, with a caller-stable ``id`` used in all output."""

    id: str
    message_id: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    subject: str = ""
    date: datetime | None = None
    thread_index: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise InvalidInput("A mail message needs a non-empty caller id.")
        refs = self.references
        object.__setattr__(self, "references", (refs,) if isinstance(refs, str) else tuple(refs or ()))


@dataclass(frozen=True)
class ThreadingOptions:
    """Policy knobs. The defaults are the conformance corpus's defaults plus Thread-Index grouping."""

    subject_merge: bool = True
    prune_phantoms: bool = True
    subject_prefixes: tuple[str, ...] = DEFAULT_REPLY_PREFIXES
    thread_index: bool = True

    @classmethod
    def from_mapping(cls, options: Mapping[str, object] | None) -> ThreadingOptions:
        """Options in the conformance corpus's JSON shape (``subject_prefixes`` replaces the localized list)."""
        options = dict(options or {})
        unknown = set(options) - {"subject_merge", "prune_phantoms", "subject_prefixes", "thread_index"}
        if unknown:
            raise InvalidInput(f"Unknown threading option(s): {', '.join(sorted(unknown))}.")
        if "subject_prefixes" in options:
            options["subject_prefixes"] = tuple(options["subject_prefixes"])  # type: ignore[arg-type]
        return cls(**options)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Conversation:
    """One conversation: its root (a caller id, or a missing Message-ID when phantoms are kept),
    its messages in date order, and for each message the caller id it hangs under (None at the top)."""

    root: str
    messages: tuple[str, ...]
    parents: Mapping[str, str | None] = field(default_factory=dict)
    subject_joined: frozenset[str] = frozenset()  # members placed only by the subject fallback
    subject_only: bool = False  # no member carries References/In-Reply-To/Thread-Index evidence

    def as_dict(self) -> dict[str, object]:
        """The corpus's output shape: ``{"root": ..., "messages": [...]}``."""
        return {"root": self.root, "messages": list(self.messages)}


def message_from_headers(id: str, headers: Mapping[str, str] | object) -> MailMessage:
    """A ``MailMessage`` from raw header values (a mapping or an ``email.message.Message``).

    Broken ``Date`` headers are tolerated (the date is then unknown and sorts last).
    """
    values: dict[str, str] = {}
    for name, value in headers.items():  # type: ignore[attr-defined]
        values.setdefault(str(name).lower(), str(value))
    date: datetime | None = None
    if values.get("date"):
        try:
            date = parsedate_to_datetime(values["date"])
        except (TypeError, ValueError, IndexError):
            date = None
    return MailMessage(
        id=id,
        message_id=values.get("message-id"),
        in_reply_to=values.get("in-reply-to"),
        references=(values["references"],) if values.get("references") else (),
        subject=values.get("subject", ""),
        date=date,
        thread_index=values.get("thread-index"),
    )


# -- internal graph ----------------------------------------------------------------------------


@dataclass(eq=False)
class _Entry:
    message: MailMessage
    normalized_id: str | None
    ancestry: list[str]
    has_thread_headers: bool
    index: ConversationIndex | None
    subject: BaseSubject
    sort_key: tuple[bool, datetime, str]


class _Container:
    __slots__ = ("key", "entry", "parent", "children")

    def __init__(self, key: str) -> None:
        self.key = key
        self.entry: _Entry | None = None
        self.parent: _Container | None = None
        self.children: dict[_Container, None] = {}  # an insertion-ordered set


@dataclass(eq=False)
class _Node:
    """A container in the reported forest (after pruning and merging), with its own child list."""

    container: _Container
    children: list[_Node]

    @property
    def entry(self) -> _Entry | None:
        return self.container.entry


def _sort_key(message: MailMessage) -> tuple[bool, datetime, str]:
    date = message.date
    if date is not None and (date.tzinfo is None or date.utcoffset() is None):
        date = date.replace(tzinfo=timezone.utc)
    return (date is None, date if date is not None else _EARLIEST, message.id)


def _walk(node: _Node) -> Iterator[_Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def _entries(node: _Node) -> list[_Entry]:
    return [n.entry for n in _walk(node) if n.entry is not None]


def _first_key(node: _Node) -> tuple[bool, datetime, str]:
    return min(entry.sort_key for entry in _entries(node))


class MailThreader:
    """Incremental JWZ threading: ``add`` messages in any order, ask for ``conversations()`` at any time.

    The container graph is the state and is updated as each message arrives (a late parent fills
    its phantom and so joins the pieces); conversations are a view of it, recomputed when asked
    after a change. The result for a sequence of adds equals ``thread_messages`` of that sequence.
    """

    def __init__(self, options: ThreadingOptions | None = None) -> None:
        self.options = options or ThreadingOptions()
        self._containers: dict[str, _Container] = {}
        self._entries: dict[str, _Entry] = {}
        self._report: list[Conversation] | None = None
        self._by_message: dict[str, Conversation] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, caller_id: object) -> bool:
        return caller_id in self._entries

    # -- adding --------------------------------------------------------------------------------
    def add(self, message: MailMessage) -> bool:
        """Add one message; False if this exact message was already added (re-adding is a no-op)."""
        known = self._entries.get(message.id)
        if known is not None:
            if known.message == message:
                return False
            raise InvalidInput(f"Caller id {message.id!r} was already added with different headers.")
        entry = self._entry_for(message)
        self._entries[message.id] = entry
        self._link(entry)
        self._report = None
        return True

    def add_all(self, messages: Iterable[MailMessage]) -> MailThreader:
        for message in messages:
            self.add(message)
        return self

    def _entry_for(self, message: MailMessage) -> _Entry:
        normalized_id = first_message_id(message.message_id)
        ancestry = parse_reference_list(message.references)
        if not ancestry:
            in_reply_to = first_message_id(message.in_reply_to)
            ancestry = [in_reply_to] if in_reply_to else []
        index: ConversationIndex | None = None
        if message.thread_index:
            try:
                index = parse_thread_index(message.thread_index)
            except ThreadIndexError:
                index = None
        return _Entry(
            message=message,
            normalized_id=normalized_id,
            ancestry=ancestry,
            has_thread_headers=any(ref != normalized_id for ref in ancestry),
            index=index,
            subject=base_subject(message.subject, self.options.subject_prefixes),
            sort_key=_sort_key(message),
        )

    def _container(self, key: str) -> _Container:
        container = self._containers.get(key)
        if container is None:
            container = self._containers[key] = _Container(key)
        return container

    @staticmethod
    def _would_loop(parent: _Container, child: _Container) -> bool:
        node: _Container | None = parent
        while node is not None:
            if node is child:
                return True
            node = node.parent
        return False

    @staticmethod
    def _detach(child: _Container) -> None:
        if child.parent is not None:
            del child.parent.children[child]
            child.parent = None

    def _link(self, entry: _Entry) -> None:
        key = entry.normalized_id
        if key is None or (key in self._containers and self._containers[key].entry is not None):
            key = _SYNTHETIC_PREFIX + entry.message.id
        container = self._container(key)
        container.entry = entry
        ancestry = entry.ancestry
        for parent_key, child_key in zip(ancestry, ancestry[1:]):
            parent, child = self._container(parent_key), self._container(child_key)
            if child.parent is None and not self._would_loop(parent, child):
                parent.children[child] = None
                child.parent = parent
        if not ancestry:
            self._detach(container)
            return
        parent = self._container(ancestry[-1])
        if parent is container.parent or self._would_loop(parent, container):
            return
        self._detach(container)
        parent.children[container] = None
        container.parent = parent

    # -- reporting -----------------------------------------------------------------------------
    def conversations(self) -> list[Conversation]:
        """The conversations so far, in order of their first message."""
        if self._report is None:
            forest = self._pruned_forest()
            if self.options.thread_index:
                forest = self._merge_by_thread_index(forest)
            joined: set[str] = set()
            free_anchors: set[str] = set()
            if self.options.subject_merge:
                forest = self._merge_by_subject(forest, joined, free_anchors)
            report = [self._conversation(tree, joined, free_anchors) for tree in forest]
            report.sort(key=lambda item: self._entries[item[1]].sort_key)
            self._report = [conversation for conversation, _ in report]
            self._by_message = {m: c for c in self._report for m in c.messages}
        return list(self._report)

    def conversation_of(self, caller_id: str) -> Conversation | None:
        """The conversation holding the message with this caller id, or None if it was never added."""
        self.conversations()
        return self._by_message.get(caller_id)

    def _pruned_forest(self) -> list[_Node]:
        prune = self.options.prune_phantoms
        forest: list[_Node] = []
        for top in self._containers.values():
            if top.parent is not None:
                continue
            results: dict[_Container, list[_Node]] = {}
            stack: list[tuple[_Container, bool]] = [(top, False)]
            while stack:
                container, expanded = stack.pop()
                if not expanded:
                    stack.append((container, True))
                    stack.extend((child, False) for child in container.children)
                    continue
                kids = [node for child in container.children for node in results.pop(child)]
                if container.entry is not None:
                    results[container] = [_Node(container, kids)]
                elif not kids:
                    results[container] = []
                elif prune and (container is not top or len(kids) == 1):
                    results[container] = kids
                else:
                    results[container] = [_Node(container, kids)]
            forest.extend(results[top])
        return forest

    def _merge_by_thread_index(self, forest: list[_Node]) -> list[_Node]:
        parent_of = list(range(len(forest)))

        def find(i: int) -> int:
            while parent_of[i] != i:
                parent_of[i] = parent_of[parent_of[i]]
                i = parent_of[i]
            return i

        first_tree_with_guid: dict[uuid.UUID, int] = {}
        for position, tree in enumerate(forest):
            for entry in _entries(tree):
                if entry.index is None:
                    continue
                other = first_tree_with_guid.setdefault(entry.index.guid, position)
                a, b = find(other), find(position)
                if a != b:
                    parent_of[max(a, b)] = min(a, b)
        groups: dict[int, list[_Node]] = {}
        for position, tree in enumerate(forest):
            groups.setdefault(find(position), []).append(tree)

        merged: list[_Node] = []
        for trees in groups.values():
            if len(trees) == 1:
                merged.append(trees[0])
                continue
            trees.sort(key=lambda tree: (self._shallowest_depth(tree), _first_key(tree)))
            anchor = trees[0]
            placed: dict[tuple[uuid.UUID, bytes], _Node] = {}
            self._register_indexes(anchor, placed)
            pieces = [piece for tree in trees[1:] for piece in ([tree] if tree.entry else tree.children)]
            pieces.sort(key=lambda piece: (self._shallowest_depth(piece, root_only=True), _first_key(piece)))
            for piece in pieces:
                self._parent_by_index(piece, placed, anchor).children.append(piece)
                self._register_indexes(piece, placed)
            merged.append(anchor)
        return merged

    @staticmethod
    def _shallowest_depth(tree: _Node, root_only: bool = False) -> int:
        entries = [tree.entry] if root_only and tree.entry is not None else _entries(tree)
        depths = [entry.index.depth for entry in entries if entry is not None and entry.index is not None]
        return min(depths, default=1 << 30)

    @staticmethod
    def _register_indexes(tree: _Node, placed: dict[tuple[uuid.UUID, bytes], _Node]) -> None:
        for node in _walk(tree):
            entry = node.entry
            if entry is None or entry.index is None:
                continue
            key = _index_key(entry.index, entry.index.depth)
            known = placed.get(key)
            if known is None or entry.sort_key < known.entry.sort_key:  # type: ignore[union-attr]
                placed[key] = node

    @staticmethod
    def _parent_by_index(piece: _Node, placed: dict[tuple[uuid.UUID, bytes], _Node], anchor: _Node) -> _Node:
        index = piece.entry.index if piece.entry is not None else None
        if index is not None:
            for depth in range(index.depth - 1, -1, -1):
                found = placed.get(_index_key(index, depth))
                if found is not None:
                    return found
        return anchor

    def _merge_by_subject(self, forest: list[_Node], joined: set[str], free_anchors: set[str]) -> list[_Node]:
        by_subject: dict[str, list[_Node]] = {}
        result: list[_Node] = []
        for tree in forest:
            key = self._subject_entry(tree).subject.key
            if key:
                by_subject.setdefault(key, []).append(tree)
            else:
                result.append(tree)
        for trees in by_subject.values():
            first = {id(tree): _first_key(tree) for tree in trees}
            backed = sorted((t for t in trees if not self._is_free(t)), key=lambda t: first[id(t)])
            free = sorted((t for t in trees if self._is_free(t)), key=lambda t: first[id(t)])
            if backed:
                tops = list(backed)
                starts = [first[id(t)] for t in backed]
                for tree in free:
                    joined.add(tree.entry.message.id)  # type: ignore[union-attr]
                    position = bisect_right(starts, first[id(tree)])
                    target = position - 1 if position else 0
                    top = tops[target]
                    if self._is_reply(top) and not self._subject_entry(tree).subject.is_reply_or_forward:
                        tree.children.append(top)  # JWZ: the original outranks a reply whose parent is missing
                        tops[target] = tree
                    else:
                        top.children.append(tree)
                result.extend(tops)
            elif free:
                anchor = min(free, key=lambda t: (self._subject_entry(t).subject.is_reply_or_forward, first[id(t)]))
                free_anchors.add(anchor.entry.message.id)  # type: ignore[union-attr]
                for tree in free:
                    if tree is not anchor:
                        joined.add(tree.entry.message.id)  # type: ignore[union-attr]
                        anchor.children.append(tree)
                result.append(anchor)
        return result

    @staticmethod
    def _subject_entry(tree: _Node) -> _Entry:
        if tree.entry is not None:
            return tree.entry
        first_child = min(tree.children, key=lambda child: child.entry.sort_key if child.entry else _first_key(child))
        return MailThreader._subject_entry(first_child)

    @staticmethod
    def _is_reply(tree: _Node) -> bool:
        """A real root that is itself a reply (by headers or subject); phantom roots are not."""
        entry = tree.entry
        return entry is not None and (entry.has_thread_headers or entry.subject.is_reply_or_forward)

    def _is_free(self, tree: _Node) -> bool:
        """A lone message with no conversation evidence: the only kind the subject fallback may move."""
        entry = tree.entry
        if entry is None or tree.children or entry.has_thread_headers:
            return False
        return not (self.options.thread_index and entry.index is not None)

    def _conversation(self, tree: _Node, joined: set[str], free_anchors: set[str]) -> tuple[Conversation, str]:
        parents: dict[str, str | None] = {}
        stack: list[tuple[_Node, str | None]] = [(tree, None)]
        while stack:
            node, above = stack.pop()
            if node.entry is not None:
                parents[node.entry.message.id] = above
                above = node.entry.message.id
            stack.extend((child, above) for child in node.children)
        members = sorted(parents, key=lambda caller_id: self._entries[caller_id].sort_key)
        if tree.entry is not None:
            root = tree.entry.message.id
        elif not self.options.prune_phantoms:
            root = tree.container.key
        else:
            root = self._subject_entry(tree).message.id
        ordered_parents = MappingProxyType({m: parents[m] for m in members})  # read-only: reports are cached
        placed_by_subject = frozenset(m for m in members if m in joined)
        subject_only = (tree.entry is not None and not tree.children and self._is_free(tree)) or \
            (tree.entry is not None and tree.entry.message.id in free_anchors)
        return Conversation(root, tuple(members), ordered_parents, placed_by_subject, subject_only), members[0]


def _index_key(index: ConversationIndex, depth: int) -> tuple[uuid.UUID, bytes]:
    """An index position within its conversation: the GUID and the first ``depth`` child blocks."""
    return index.guid, b"".join(child.to_bytes() for child in index.children[:depth])


def thread_messages(messages: Iterable[MailMessage], options: ThreadingOptions | None = None) -> list[Conversation]:
    """Group a set of messages into conversations (batch form of ``MailThreader``)."""
    return MailThreader(options).add_all(messages).conversations()
