"""Reads a turn makes together, in one round trip (weft.threads.turn_store's raw connections; SQLite and PostgreSQL).

* ``records_and_kind`` — records by id and the newest records of one kind with given tags, in one query (a
  run's create: the thread and the agent, and the thread's newest runs).
* ``take_lease_and_page`` — the conversation's lease and the newest page of its items (a run's turn: the lease,
  then the history). On PostgreSQL one statement: the lease's ``UPDATE`` in a CTE, and the page read only when
  it took the lease. The page is read from the statement's snapshot, which can miss an append that committed
  while the statement waited for the conversation's row; the ``UPDATE`` sees that append's counter, so a page
  whose newest item is not the last one numbered is not used: the turn reads it again, now under the lease (a
  deleted newest item makes the same re-read). On SQLite only the lease is taken (no round trip to save).
"""
from __future__ import annotations

from weft.threads.hot_path import ITEM_COLUMNS, RawCursor, item_records, positional, unavailable
from weft.threads.records import ConversationRecord, ItemRecord

RECORD_COLUMNS = ("id", "tenant_id", "kind", "created_at_ms", "updated_at_ms", "metadata_body", "extra_body", "item_count",
                   "retention_seconds")


def _record(r, offset: int = 0) -> ConversationRecord:
    b = lambda v: bytes(v) if v is not None else None  # noqa: E731
    return ConversationRecord(r[offset], r[offset + 1], r[offset + 2], r[offset + 3], r[offset + 4], b(r[offset + 5]),
                              b(r[offset + 6]), r[offset + 7], r[offset + 8])


def newest_of_kind(c: str, tg: str, mark: str, columns: str, tenant_id: str, kind: str, tags: dict, limit: int,
                   descending: bool) -> tuple[str, list]:
    """``SELECT columns`` of a tenant's newest ``limit + 1`` conversations of one kind with the given tags, and its
    parameters (``c``/``tg``: the conversations and tags tables; ``mark``: the driver's placeholder)."""
    sql = f"SELECT {columns} FROM {c} WHERE tenant_id = {mark} AND kind = {mark}"
    params: list = [tenant_id, kind]
    for key, match in tags.items():  # a key may be a tuple of spellings (hashed, legacy clear)
        keys = key if isinstance(key, tuple) else (key,)
        sql += (f" AND EXISTS (SELECT 1 FROM {tg} WHERE {tg}.conversation_id = {c}.id AND {tg}.key IN "
                f"({', '.join(mark for _ in keys)}) AND {tg}.value_match = {mark})")
        params += [*keys, match]
    order = "DESC" if descending else "ASC"
    return sql + f" ORDER BY created_at_ms {order}, id {order} LIMIT {mark}", params + [limit + 1]


class TurnReads:
    def __init__(self, turns) -> None:
        self.turns = turns
        self.hot = turns.hot
        self.backend = turns.backend
        t = turns.store.tables
        self.c, self.it, self.tg = t.conversations.name, t.items.name, t.conversation_tags.name
        self.mark = turns.mark
        self._lease_page_sql: tuple[str, tuple[str, ...]] | None = None

    # ---- records by id and the newest of a kind ------------------------------------------------------------
    def records_and_kind(self, tenant_id: str, ids: list[str], kind: str, tags: dict, limit: int,
                         descending: bool) -> tuple[dict[str, ConversationRecord], list[ConversationRecord], bool]:
        """``get_conversations(ids)`` and ``list_of_kind(kind, limit, tags)`` in one query."""
        c, tg, mark = self.c, self.tg, self.mark
        cols = ", ".join(RECORD_COLUMNS)
        by_id = f"SELECT 0 AS part, {cols} FROM {c} WHERE id IN ({', '.join(mark for _ in ids)}) AND tenant_id = {mark}"
        params: list = [*ids, tenant_id]
        newest, more = newest_of_kind(c, tg, mark, f"1 AS part, {cols}", tenant_id, kind, tags, limit, descending)
        params += more
        order = "DESC" if descending else "ASC"
        # the outer ORDER BY keeps the kind's order (a UNION's own order is not defined): part, created_at_ms, id
        sql = f"SELECT * FROM ({by_id}) AS by_id UNION ALL SELECT * FROM ({newest}) AS newest ORDER BY 1, 5 {order}, 2 {order}"
        try:
            with self.hot.readers.connection(self.hot.broken) as raw:
                rows = raw.execute(sql, tuple(params)).fetchall()
        except self.hot.broken as exc:
            raise unavailable(exc) from exc
        found = {r[1]: _record(r, 1) for r in rows if r[0] == 0}
        listed = [_record(r, 1) for r in rows if r[0] == 1]
        return found, listed[:limit], len(listed) > limit

    # ---- the lease and the newest items ------------------------------------------------------------------
    def take_lease_and_page(self, tenant_id: str, conversation_id: str, token: str, now_ms: int, until_ms: int,
                            limit: int) -> tuple[bool, tuple[list[ItemRecord], bool] | None]:
        """``take_lease``, and when taken the newest ``limit`` items, newest first, with whether there are more
        (None: not read here, the caller reads them under the lease)."""
        if self.backend != "postgresql":
            return self.turns.take_lease(tenant_id, conversation_id, token, now_ms, until_ms), None
        if self._lease_page_sql is None:
            self._lease_page_sql = positional(
                f"WITH taken AS (UPDATE {self.c} SET lock_token = %(token)s, lock_until_ms = %(until)s "
                f"WHERE id = %(cid)s AND tenant_id = %(tid)s AND (lock_token IS NULL OR lock_until_ms < %(now)s) RETURNING next_seq) "
                f"SELECT taken.next_seq, {', '.join(f'i.{col}' for col in ITEM_COLUMNS)} FROM taken LEFT JOIN LATERAL "
                f"(SELECT {', '.join(ITEM_COLUMNS)} FROM {self.it} WHERE conversation_id = %(cid)s AND tenant_id = %(tid)s "
                f"ORDER BY seq DESC LIMIT %(limit)s) AS i ON TRUE")
        sql, names = self._lease_page_sql
        values = {"token": token, "until": until_ms, "cid": conversation_id, "tid": tenant_id, "now": now_ms, "limit": limit + 1}
        try:
            with self.turns._lease_connection() as raw:
                rows = RawCursor(raw).execute(sql, tuple(values[n] for n in names)).fetchall()
                if not rows:  # not taken: another holder has it, or there is no such conversation (NotFound)
                    if not raw.execute(self.turns.exists_sql, (conversation_id, tenant_id)).fetchall():
                        from weft.errors import NotFound

                        raise NotFound(f"Conversation with id '{conversation_id}' not found.")
                    return False, None
        except self.hot.broken as exc:
            raise unavailable(exc) from exc
        next_seq = rows[0][0]
        items = item_records([r[1:] for r in rows if r[1] is not None])
        items.sort(key=lambda i: i.seq, reverse=True)  # a join's rows come in no promised order (sorted already: linear)
        if (items[0].seq if items else -1) != next_seq - 1:  # a racing append, or a deleted newest item: the turn
            return True, None  # reads the page itself, under the lease
        return True, (items[:limit], len(items) > limit)
