"""32 writers x 500 appends to one conversation: exactly 16,000 items in a gapless order, on every backend.

Each append is its own committed call of the service (no batching), from 32 OS threads.
"""
from __future__ import annotations

import threading
import time

from weft.threads.policy import Principal
from weft.threads.service import ThreadService

WRITERS = 32
APPENDS = 500


def test_concurrent_appends_are_gapless_on_every_backend(any_store):
    service = ThreadService(any_store)
    principal = Principal.library("acme")
    conversation, _ = service.create_conversation(principal, metadata={"purpose": "race"})
    errors: list[BaseException] = []
    start = threading.Barrier(WRITERS)

    def writer(n: int) -> None:
        try:
            start.wait()
            for i in range(APPENDS):
                service.append_items(principal, conversation.id, [{"role": "user", "content": f"w{n}-{i}"}])
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    began = time.perf_counter()
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    assert not errors, errors[:3]
    items = service.history(principal, conversation.id)
    assert len(items) == WRITERS * APPENDS
    assert [i.seq for i in items] == list(range(WRITERS * APPENDS))
    # every writer's own appends keep their order
    seen: dict[str, int] = {}
    for item in items:
        writer_id, index = item.body["content"][0]["text"].split("-")
        assert int(index) == seen.get(writer_id, -1) + 1
        seen[writer_id] = int(index)
    assert service.get_conversation(principal, conversation.id).item_count == WRITERS * APPENDS
    print(f"{any_store.backend}: {WRITERS * APPENDS} appends in {elapsed:.1f}s ({WRITERS * APPENDS / elapsed:.0f}/s)")
