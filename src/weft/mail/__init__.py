"""Email and chat conversation grouping.

Pure modules (no HTTP, no storage):

- ``thread_index``: the Outlook conversation index (``Thread-Index``): parse and generate.
- ``message_ids``: find, normalize and make Message-IDs.
- ``subjects``: RFC 5256 base subjects and conversation topics.
- ``threading``: JWZ / RFC 5256 threading of messages into conversations, batch or incremental.
- ``headers``: outgoing reply headers that Outlook, Gmail and JWZ clients group alike.
- ``chat``: chat continuity (explicit id, idle window, or a new conversation).
- ``reading``: .eml, mbox and Maildir parsing, tolerant of broken input.

Over the thread store (still no HTTP):

- ``ingest``: importing mailboxes into conversation threads, idempotent by Message-ID.
- ``chat_store``: chat continuity state kept in the thread store.
"""
