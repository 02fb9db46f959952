"""A write group's vector changes applied while the group's documents are written and committed.

usearch adds a batch without holding the GIL (on every core), while the writer thread turns the group's documents
into tantivy documents (Python) and commits them (mostly waiting on the disk), so they overlap: the writer thread
resolves the group's documents, starts a ``StagedUpsert`` per vector field, writes and commits the documents, then
settles it with the commit's outcome (a failure while writing the documents counts as a failed commit). The field's index lock is held by the helper thread from before its first change until the
outcome is known, so no search sees a vector whose document is not durable; a failed commit empties the index,
and the writer rebuilds it from the stored documents after its rollback. The writer answers the group only after
settling, as before: an acknowledged document is in the ANN index.
"""
from __future__ import annotations

import threading

from weft.search.engine.vector_index import VectorIndex


class StagedUpsert:
    def __init__(self, index: VectorIndex, items: list):
        self.index = index
        self.items = items
        self.committed = False
        self.error: BaseException | None = None
        self._outcome = threading.Event()
        self._thread = threading.Thread(target=self._run, name="weft-vector-stage", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with self.index.lock:
            try:
                self.index.upsert_many(self.items)
            except BaseException as exc:  # reported by settle, on the writer thread
                self.error = exc
            self._outcome.wait()
            if not self.committed:
                self.index.clear()

    def settle(self, committed: bool) -> None:
        """The commit's outcome: keep the changes (committed) or empty the index (the caller rebuilds it). Raises
        the upsert's own error, if it had one."""
        self.committed = committed
        self._outcome.set()
        self._thread.join()
        if self.error is not None and committed:
            raise self.error
