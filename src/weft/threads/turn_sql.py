"""A turn's one durable commit on PostgreSQL as ONE statement (weft.threads.turn_store.TurnStore.commit_turn).

A statement is atomic and, sent in autocommit mode, is its own transaction: one round trip where BEGIN,
the statements and COMMIT took two (a pipeline must read the bump's row before it may commit). Its parts are
data-modifying CTEs, each written only when the ones it depends on found their row:

* ``bump``: the conversation's counter bump that releases the lease (``lock_token = token``) or checks that no
  one holds it; for a record update it also requires the record to exist (and, for a compare-and-swap, to hold
  the state the turn read);
* ``added``: the items, numbered from the bump (none without it);
* ``rec``: the record inserted (a stored response) or its state replaced (a run), only after a bump when the
  turn touched a conversation; ``tagged``: a new record's tag rows;
* ``audited``: the buffered read-audit rows and the turn's own, only when everything else was written;
* ``guard`` (a run's create from what this process knows, weft.agents.runs): everything above is written only
  while the thread is a thread, the agent's stored state is the bytes the run was built from, and the thread's
  newest runs are the ones (with the states) the create judged not to be open: what the create would otherwise
  read first, checked in the statement instead (one round trip less). The third column says whether it held.

It returns the bumped counter (NULL: the conversation is missing or its lease is not this holder's) and the
number of records written (0: the record is missing). Either way nothing was stored, except in one race
PostgreSQL's READ COMMITTED allows: a record deleted by a transaction that commits while this statement runs
is seen by the bump's check but not by ``rec``; the items are then stored and the missing record is reported.
"""
from __future__ import annotations

from weft.threads.hot_path import AUDIT_COLUMNS, ITEM_COLUMNS, positional

_AUDIT_TYPES = {"at_ms": "bigint"}
RECORD_COLUMNS = ("id", "tenant_id", "kind", "created_at_ms", "updated_at_ms", "metadata_body", "extra_body", "next_seq",
                  "item_count", "retention_seconds")


def array_literal(values) -> str:
    """A PostgreSQL array literal of text or integer values (None: NULL), for a ``%s::text[]`` or ``::bigint[]``
    parameter: one string the driver sends as it is, where a list is adapted element by element (psycopg's list
    dumper looks for each list's element type: about 15 µs of CPU a list, a turn's commit sends a dozen)."""
    out = []
    append = out.append
    for v in values:
        kind = v.__class__
        if v is None:
            append("NULL")
        elif kind is str and '"' not in v and "\\" not in v:  # the common case: nothing to escape
            append('"' + v + '"')
        elif kind is int or (isinstance(v, int) and kind is not bool):
            append(str(v))
        else:  # inside double quotes only the quote and the backslash are special
            append('"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"')
    return "{" + ",".join(out) + "}"


def guard_part(tables) -> str:
    """The ``guard`` CTE (``ok``: whether a create's basis still holds): parameters ``g_thread``, ``g_thread_kinds``,
    ``g_agent``, ``g_agent_kind``, ``g_agent_body``, ``g_run_kind``, ``g_tag_keys``, ``g_tag_value``, ``g_runs``
    (the newest two runs as ``id:md5(state)``, sorted)."""
    c, tg = tables.conversations.name, tables.conversation_tags.name
    newest = (f"SELECT r.id, r.extra_body FROM {c} r WHERE r.tenant_id = %(tid)s AND r.kind = %(g_run_kind)s AND EXISTS "
              f"(SELECT 1 FROM {tg} t WHERE t.conversation_id = r.id AND t.key = ANY(%(g_tag_keys)s::text[]) "
              f"AND t.value_match = %(g_tag_value)s) ORDER BY r.created_at_ms DESC, r.id DESC LIMIT 2")
    return (f"guard AS (SELECT EXISTS (SELECT 1 FROM {c} th WHERE th.id = %(g_thread)s AND th.tenant_id = %(tid)s "
            f"AND th.kind = ANY(%(g_thread_kinds)s::text[])) "
            f"AND EXISTS (SELECT 1 FROM {c} ag WHERE ag.id = %(g_agent)s AND ag.tenant_id = %(tid)s AND ag.kind = %(g_agent_kind)s "
            f"AND ag.extra_body = %(g_agent_body)s::bytea) "
            f"AND ARRAY(SELECT n.id || ':' || md5(coalesce(n.extra_body, ''::bytea)) FROM ({newest}) AS n ORDER BY 1) "
            f"= %(g_runs)s::text[] AS ok)")


def turn_statement(tables, has_conversation: bool, has_items: bool, held: bool, record: str | None, has_tags: bool,
                   has_audit: bool, swap: bool = False, take: bool = False, guard: bool = False) -> tuple[str, tuple[str, ...]]:
    """The statement for one shape of turn, with ``$n`` placeholders, and the parameter names in their order.
    ``swap``: the record's update is a compare-and-swap (only while its stored state is ``r_expect``). ``take``
    (items appended without a lease): the bump also takes the conversation's lease (``new_token`` until
    ``until``) for the turn that follows, and the statement's rows carry the newest ``limit`` items stored
    before it (one row per item, the counts repeated; one row with NULL items when there are none)."""
    same = " AND extra_body = %(r_expect)s::bytea" if swap else ""
    c, it, a, tg = tables.conversations.name, tables.items.name, tables.audit.name, tables.conversation_tags.name
    touch = has_conversation and (has_items or held)  # no items and no lease: the conversation is not written
    parts: list[str] = [guard_part(tables)] if guard else []
    guarded = " AND (SELECT ok FROM guard)" if guard else ""
    if touch:
        lock = "lock_token = %(token)s" if held else "(lock_token IS NULL OR lock_until_ms < %(now)s)"
        exists = (f" AND EXISTS (SELECT 1 FROM {c} r WHERE r.id = %(rid)s AND r.tenant_id = %(tid)s{same.replace('extra_body', 'r.extra_body')})"
                  if record == "update" else "")
        if has_items:
            sets = ("next_seq = next_seq + %(count)s, item_count = item_count + %(count)s, "
                    "updated_at_ms = CASE WHEN updated_at_ms <= %(now)s - 1000 THEN %(now)s ELSE updated_at_ms END")
            if held:
                sets += ", lock_token = NULL, lock_until_ms = NULL"
            elif take:
                sets += ", lock_token = %(new_token)s, lock_until_ms = %(until)s"
        else:
            sets = "lock_token = NULL, lock_until_ms = NULL"
        parts.append(f"bump AS (UPDATE {c} SET {sets} WHERE id = %(cid)s AND tenant_id = %(tid)s AND {lock}{exists}{guarded} "
                     f"RETURNING next_seq, item_count)")
        if has_items:
            parts.append(
                f"added AS (INSERT INTO {it} ({', '.join(ITEM_COLUMNS)}) "
                f"SELECT %(cid)s::text, bump.next_seq - %(count)s::bigint + v.n - 1, v.id, %(tid)s::text, v.type, v.role, v.created, v.body "
                f"FROM bump, unnest(%(ids)s::text[], %(types)s::text[], %(roles)s::text[], %(created)s::bigint[], %(bodies)s::bytea[]) "
                f"WITH ORDINALITY AS v(id, type, role, created, body, n) RETURNING 1)")
    after_bump = "EXISTS (SELECT 1 FROM bump)" if touch else "(SELECT ok FROM guard)" if guard else "TRUE"
    if record == "insert":
        values = ("%(rid)s::text, %(r_tenant)s::text, %(r_kind)s::text, %(r_created)s::bigint, %(r_updated)s::bigint, "
                  "%(r_metadata)s::bytea, %(r_extra)s::bytea, 0, 0, %(r_retention)s::bigint")
        parts.append(f"rec AS (INSERT INTO {c} ({', '.join(RECORD_COLUMNS)}) SELECT {values} WHERE {after_bump} RETURNING 1)")
        if has_tags:
            parts.append(f"tagged AS (INSERT INTO {tg} (conversation_id, tenant_id, key, value_match) "
                         f"SELECT %(rid)s::text, %(tid)s::text, t.k, t.v FROM unnest(%(tag_keys)s::text[], %(tag_values)s::text[]) "
                         f"AS t(k, v) WHERE EXISTS (SELECT 1 FROM rec) RETURNING 1)")
    elif record == "update":
        # updated_at_ms (indexed: retention's idle clock, in seconds) moves only when a second old, as the bump's
        # does: the state's update can then stay a HOT update (no new entry in each of the table's indexes)
        parts.append(f"rec AS (UPDATE {c} SET extra_body = %(r_extra)s::bytea, "
                     f"updated_at_ms = CASE WHEN updated_at_ms <= %(now)s::bigint - 1000 THEN %(now)s::bigint ELSE updated_at_ms END "
                     f"WHERE id = %(rid)s AND tenant_id = %(tid)s{same} AND {after_bump} RETURNING 1)")
    if has_audit:
        everything = "EXISTS (SELECT 1 FROM rec)" if record else after_bump
        arrays = ", ".join(f"%(a_{col})s::{_AUDIT_TYPES.get(col, 'text')}[]" for col in AUDIT_COLUMNS)
        parts.append(f"audited AS (INSERT INTO {a} ({', '.join(AUDIT_COLUMNS)}) "
                     f"SELECT {', '.join(f'v.{col}' for col in AUDIT_COLUMNS)} FROM unnest({arrays}) "
                     f"WITH ORDINALITY AS v({', '.join(AUDIT_COLUMNS)}, n) WHERE {everything} ORDER BY v.n RETURNING 1)")
    # the columns (RESULT_COLUMNS): the bumped counter, the records written, whether the guard held, the conversation's
    # item count after the bump; with ``take`` the number of items removed from the conversation before the statement
    # (next_seq - item_count in its snapshot) and the page's items
    bumped = "(SELECT next_seq FROM bump)" if touch else "NULL::bigint"
    written = "(SELECT count(*) FROM rec)" if record else "0"
    held_guard = "(SELECT ok FROM guard)" if guard else "TRUE"
    count = "(SELECT item_count FROM bump)" if touch else "NULL::bigint"
    head = f"WITH {', '.join(parts)} " if parts else ""
    columns = f"{bumped}, {written}, {held_guard}, {count}"
    if take and touch and has_items and not held:
        # the page comes from the statement's snapshot: without this statement's items (the caller has them) and
        # without an append that committed while the bump waited for the row (the caller sees the gap in the numbers);
        # only the items after ``after`` (the newest one the caller already has, or -1)
        page = (f"SELECT {', '.join(ITEM_COLUMNS)} FROM {it} WHERE conversation_id = %(cid)s AND tenant_id = %(tid)s "
                f"AND seq > %(after)s ORDER BY seq DESC LIMIT %(limit)s")
        removed = f"(SELECT s.next_seq - s.item_count FROM {c} s WHERE s.id = %(cid)s AND s.tenant_id = %(tid)s)"
        return positional(f"{head}SELECT {columns}, {removed}, {', '.join(f'i.{col}' for col in ITEM_COLUMNS)} "
                          f"FROM (SELECT 1) AS one LEFT JOIN LATERAL ({page}) AS i ON TRUE")
    return positional(f"{head}SELECT {columns}")


RESULT_COLUMNS = 4  # before a take's removed count and page
