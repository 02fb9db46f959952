"""One open index: its tantivy writer thread with group commit, its searcher, its vector indexes.

Writes go through one writer thread per index that does group commit: it takes every
batch waiting in its queue, applies them in order (merges read the stored document,
with an overlay for keys already touched in the same group), commits once, and only
then answers every batch of the group. A commit is atomic on disk, so after a crash an
index holds exactly the acknowledged batches (plus perhaps batches whose commit finished
but whose answer was not sent yet), never half a batch.

The searcher is reloaded lazily: a commit only counts itself, and the next read
(``searcher()``) reloads when the loaded searcher is behind, so every read after an
answer sees the write, while a bulk load with no reads between its batches does not pay
a reload (which reopens every segment) per commit. The writer's own lookups (200/201,
merges) may use the loaded, older searcher: it knows the keys its commits since then
touched (``_recent``) and reloads first only when a group names one of them.
"""
from __future__ import annotations

import concurrent.futures
import logging
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tantivy
from tantivy import Occur, Query

from weft import observability
from weft.errors import Unavailable
from weft.search.analysis.legacy import register_legacy
from weft.search.analysis.native import register as register_native
from weft.search.analysis.native import register_simple
from weft.search.documents import Action, ItemResult, complete_document, merge_document
from weft.search.engine.tantivy_layout import KEY, Layout
from weft.search.engine.vector_index import VectorIndex
from weft.search.engine.vector_staging import StagedUpsert
from weft.search.schema import IndexDefinition

log = logging.getLogger(__name__)

WRITER_HEAP = 128_000_000
WRITER_THREADS = 1  # one indexing thread beside the Python writer thread: two busy cores
MAX_GROUP = 64
RECENT_LIMIT = 50_000  # keys committed since the loaded searcher, before the writer reloads anyway


@dataclass
class _Job:
    actions: list[Action]
    future: concurrent.futures.Future


class IndexClosed(Unavailable):
    """The handle was closed (shutdown, or a rebuild/rewrite that replaces it)."""


class IndexHandle:
    def __init__(self, path: Path, definition: IndexDefinition):
        self.path = path
        self.definition = definition
        self.layout = Layout(definition)
        from weft.fsmodes import private_dir

        private_dir(path)
        self.index = tantivy.Index(self.layout.schema, path=str(path), reuse=True)
        # Searchers change only when this handle commits (it reloads then). Tantivy's default reloads
        # whenever meta.json changes, which includes background segment merges: documents then move
        # between requests and `skip` paging over equal scores repeats some and misses others.
        self.index.config_reader(reload_policy="Manual")
        register_legacy(self.index)  # indexes written before analysis moved to Python name these tokenizers
        register_native(self.index)  # the analyzers tantivy runs itself (same names as before for those)
        self.layout.register_tokenizers(self.index)  # the n-gram fields' (analysis/gram_values.py)
        self.writer = self.index.writer(WRITER_HEAP, WRITER_THREADS)
        self.opstamp = self.writer.commit_opstamp  # of the last commit; kept current by _apply_group
        self._commits = 0  # commits made by this handle (the writer thread counts them)
        self._loaded = 0  # how many of them the loaded searcher includes
        self._reload_lock = threading.Lock()
        self._recent: set[str] = set()  # keys committed since the writer last saw the loaded searcher current
        self._missing_cache: dict[str, int] = {}
        self.vectors: dict[str, VectorIndex] = {}
        self._open_vectors()
        self.jobs: queue.Queue[_Job | None] = queue.Queue()
        self.thread = threading.Thread(target=self._run, name=f"weft-writer-{definition.name}", daemon=True)
        self.closed = False
        self._submit_lock = threading.Lock()
        self.thread.start()

    # ---- vectors ---------------------------------------------------------------------------
    @property
    def vector_dir(self) -> Path:
        return self.path / "vectors"

    def _open_vectors(self) -> None:
        fields = self.definition.vector_fields()
        if not fields:
            return
        opstamp = self.opstamp
        missing = []
        for f in fields:
            settings = self.definition.vector_settings(f.name)
            vi = VectorIndex(f.dimensions, settings["metric"], settings["m"], settings["efConstruction"], settings["efSearch"],
                             settings["storage"])
            if vi.load(self.vector_dir, f.name, opstamp):
                VectorIndex.discard(self.vector_dir, f.name)  # valid for this opening only; saved again on close
            else:
                missing.append(f.name)
            self.vectors[f.name] = vi
        self.layout.columns.share_codecs(self.vectors)
        if missing:
            self._rebuild_vectors(missing)

    def _rebuild_vectors(self, names: list[str]) -> None:
        searcher = self.searcher()
        n = searcher.num_docs
        if not n:
            return
        key_name = self.definition.key_field.name
        pending: dict[str, list] = {name: [] for name in names}
        unstored = set(self.layout.columns.unstored)
        for _, address in searcher.search(Query.all_query(), limit=n, count=False).hits:
            doc = searcher.doc(address)
            source = Layout.source_of(doc)
            if unstored:
                source.update(Layout.ann_of(doc))  # stored:false vectors: from the column backing the ANN index
            for name in names:
                if source.get(name):
                    pending[name].append((source[key_name], source[name]))
        for name, items in pending.items():
            for start in range(0, len(items), 10_000):
                self.vectors[name].upsert_many(items[start : start + 10_000])

    def _save_vectors(self) -> None:
        if not self.vectors:
            return
        opstamp = self.opstamp
        for name, vi in self.vectors.items():
            vi.save(self.vector_dir, name, opstamp)

    # ---- reading -------------------------------------------------------------------------
    def missing_count(self, fast_field: str) -> int:
        """How many documents lack a value in a fast field (cached until the next commit)."""
        cache = self._missing_cache
        if fast_field not in cache:
            searcher = self.searcher()
            present = searcher.search(Query.exists_query(fast_field), limit=1, count=True).count
            cache[fast_field] = searcher.num_docs - present
        return cache[fast_field]

    def searcher(self) -> tantivy.Searcher:
        """A searcher that includes every commit made before the call (reloading when the loaded one is behind)."""
        if self._loaded != self._commits:
            with self._reload_lock:
                target = self._commits  # read before reloading: the reload includes at least these commits
                if self._loaded < target:
                    self.index.reload()
                    self._loaded = target
        return self.index.searcher()

    def lookup(self, keys: list[str], vectors: bool = True, *, searcher: tantivy.Searcher | None = None) -> dict[str, dict[str, Any]]:
        if not keys:
            return {}
        unique = list(dict.fromkeys(keys))
        searcher = searcher or self.searcher()
        schema = self.layout.schema
        result = searcher.search(keys_query(schema, unique), limit=len(unique), count=False)
        found = {}
        key_name = self.definition.key_field.name
        for _, address in result.hits:
            source = Layout.source_of(searcher.doc(address), vectors)
            found[source[key_name]] = source
        return found

    # ---- writing --------------------------------------------------------------------------
    def submit(self, actions: list[Action]) -> list[ItemResult]:
        job = _Job(actions, concurrent.futures.Future())
        with self._submit_lock:  # never queued behind the writer's stop
            if self.closed:
                raise IndexClosed("The index is closing; retry the request.")
            self.jobs.put(job)
        return job.future.result()

    def _run(self) -> None:
        while True:
            job = self.jobs.get()
            if job is None:
                return
            group = [job]
            stop = False
            while len(group) < MAX_GROUP:
                try:
                    nxt = self.jobs.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                group.append(nxt)
            self._apply_group(group)
            if stop:
                return

    def _apply_group(self, group: list[_Job]) -> None:
        overlay: dict[str, dict[str, Any] | None] = {}
        results: list[list[ItemResult]] = []
        vector_names = list(self.vectors)
        rebuild: list[str] = []
        started = time.perf_counter()
        layout = self.layout  # one layout for the whole group (update_index may swap in another)
        try:
            if layout.ascii_fields:  # between a commit and the next document: the tokenizers may change here
                simple = layout.choose_simple([a.values for job in group for a in job.actions])
                if simple != layout.simple_mode:
                    register_simple(self.index, simple)
                    layout.simple_mode = simple
            keys = [a.key for job in group for a in job.actions]
            stored = self._lookup_for_write(keys)
            writes: list[tuple[str, bool, dict[str, Any] | None]] = []
            for job in group:
                results.append(self._resolve_actions(job.actions, stored, overlay, writes))
            # The vector indexes take the group's changes while its documents are written and committed
            # (vector_staging.py); they are visible only once the commit is durable, and the group is answered after that.
            staged = [StagedUpsert(self.vectors[name], [(key, None if document is None else document.get(name))
                                                        for key, document in overlay.items()]) for name in vector_names]
            try:
                self._write_documents(writes, layout)
                self.opstamp = self.writer.commit()
            except BaseException:
                for s in staged:
                    s.settle(False)
                rebuild = vector_names
                raise
            try:
                self._recent.update(overlay)
                self._commits += 1  # the next read reloads (searcher())
                self._missing_cache = {}
            finally:
                for s in staged:
                    s.settle(True)
        except Exception as exc:  # storage failure: nothing of the group is applied
            log.exception("write group failed; rolling back")
            try:
                self.writer.rollback()
            except Exception:  # pragma: no cover
                log.exception("rollback failed")
            if rebuild:  # emptied when the commit failed: back to the last durable commit
                try:
                    self._rebuild_vectors(rebuild)
                except Exception:  # pragma: no cover
                    log.exception("vector index rebuild failed")
            for job in group:
                job.future.set_exception(Unavailable(f"The batch could not be written and was not applied: {exc}"))
            return
        observability.commit_observed(self.definition.name, len(group), time.perf_counter() - started)
        for job, res in zip(group, results):
            job.future.set_result(res)

    def _lookup_for_write(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        """The stored documents of these keys as of the last commit, from the loaded searcher when no commit since
        it was loaded touched any of them (the writer is the only one committing), else after a reload."""
        recent = self._recent
        if self._loaded == self._commits:  # current (a read reloaded it, or no commit since)
            recent.clear()
        elif len(recent) > RECENT_LIMIT or not recent.isdisjoint(keys):
            recent.clear()
            return self.lookup(keys)  # searcher() reloads: it then includes every commit of this thread
        return self.lookup(keys, searcher=self.index.searcher())

    def _resolve_actions(self, actions: list[Action], stored: dict, overlay: dict, writes: list) -> list[ItemResult]:
        """Each action's outcome and resulting document (``overlay``), and the tantivy writes it needs in order
        (``writes``: key, whether a stored document of that key goes, the document to add or None)."""
        definition = self.definition
        out = []
        for a in actions:
            existing = overlay[a.key] if a.key in overlay else stored.get(a.key)
            if a.kind == "delete":
                if existing is not None:
                    writes.append((a.key, True, None))
                overlay[a.key] = None
                out.append(ItemResult(a.key, True, 200))
                continue
            if a.kind == "merge" and existing is None:
                out.append(ItemResult(a.key, False, 404, "Document not found."))
                continue
            if existing is not None and a.kind in ("merge", "mergeOrUpload"):
                document = merge_document(definition, existing, a.values)
            else:
                document = complete_document(definition, a.values)
            writes.append((a.key, existing is not None, document))
            overlay[a.key] = document
            out.append(ItemResult(a.key, True, 200 if existing is not None else 201))
        return out

    def _write_documents(self, writes: list, layout: Layout) -> None:
        writer = self.writer
        for key, replaces, document in writes:
            if replaces:
                writer.delete_documents_by_term(KEY, key)
            if document is not None:
                writer.add_document(layout.to_tantivy(key, document))

    @property
    def writer_alive(self) -> bool:
        return self.thread.is_alive() and not self.closed

    def close(self) -> None:
        with self._submit_lock:
            if self.closed:
                return
            self.closed = True
            self.jobs.put(None)
        self.thread.join(timeout=60)
        try:
            self._save_vectors()
        except Exception:  # pragma: no cover - a missing save only means a rebuild on the next start
            log.exception("could not save the vector indexes of %s", self.definition.name)
        try:
            self.writer.wait_merging_threads()
        except Exception:  # pragma: no cover
            pass



def keys_query(schema, keys: list[str]) -> Query:
    """Documents with any of these keys."""
    if len(keys) <= 64:  # a few term queries are much cheaper than a term-set automaton
        return Query.boolean_query([(Occur.Should, Query.term_query(schema, KEY, k)) for k in keys])
    return Query.term_set_query(schema, KEY, keys)


