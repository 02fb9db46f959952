"""The embedded engine: one tantivy index per search index, in the data directory.

``TantivyEngine`` opens, creates, rebuilds and deletes indexes and routes each call to the index's
handle (``tantivy_writer.IndexHandle``: the group-commit writer thread, lookups, vectors) or to one
search over it (``tantivy_search.Search``).
"""
from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import tantivy
from tantivy import Query

from weft.errors import InvalidInput, Unavailable
from weft.search.analysis.fingerprint import index_fingerprint
from weft.search.analysis.legacy import register_legacy
from weft.search.analysis.native import register as register_native
from weft.search.documents import Action, ItemResult, complete_document
from weft.search.engine.base import IndexStats, SearchQuery, SearchResults
from weft.search.engine.tantivy_layout import Layout
from weft.search.engine.tantivy_search import Search
from weft.search.engine.tantivy_writer import WRITER_HEAP, WRITER_THREADS, IndexClosed, IndexHandle  # noqa: F401 (bench/raw_engine.py reads the writer settings here)
from weft.search.schema import IndexDefinition
from weft.search.schema_analysis import analysis_signature

log = logging.getLogger("weft.search")
ANALYSIS_STAMP = "weft-analysis"  # the fingerprint of the analysis that wrote the index's terms (analysis/fingerprint.py)


class TantivyEngine:
    """Engine protocol implementation over tantivy, one directory per index under ``root``."""

    def __init__(self, root: Path):
        self.root = Path(root)
        from weft.fsmodes import private_dir

        private_dir(self.root)
        self._handles: dict[str, IndexHandle] = {}
        self._lock = threading.RLock()
        # indexes whose terms an earlier analysis wrote and that keep index-only fields (not stored, so not
        # re-analyzable from _source): their owner rewrites them with the fields filled in (``rewrite(fill)``)
        self.stale_analysis: set[str] = set()

    # ---- lifecycle ---------------------------------------------------------------------------
    def writers_alive(self) -> dict[str, bool]:
        """Whether each open index's writer thread is running (readiness)."""
        with self._lock:
            return {name: handle.writer_alive for name, handle in self._handles.items()}

    def _dir(self, name: str) -> Path:
        return self.root / name

    def open_index(self, definition: IndexDefinition) -> None:
        with self._lock:
            path = self._dir(definition.name)
            old = path.with_name(path.name + ".old")
            rebuild = path.with_name(path.name + ".rebuild")
            if not path.exists() and old.exists():
                old.rename(path)  # a crash during a swap: keep the old, complete index
            for leftover in (old, rebuild):
                if leftover.exists():
                    shutil.rmtree(leftover)
            try:
                self._handles[definition.name] = IndexHandle(path, definition)
            except ValueError as exc:
                if "schema does not match" not in str(exc):
                    raise
                # Written by an earlier weft whose analysis laid fields out differently: rebuild from _source.
                previous = tantivy.Index.open(str(path))
                register_legacy(previous)
                register_native(previous)
                self._rebuild(path, definition, previous.searcher())
                return
            self._check_analysis(path, definition)

    def _check_analysis(self, path: Path, definition: IndexDefinition) -> None:
        """An index whose terms another analysis wrote (an earlier weft's analyzers made other tokens) is re-analyzed
        from its stored documents now, before it serves a query; one with index-only fields is left to its owner
        (``stale_analysis``). An empty index, or one stamped with today's analysis, is left as it is."""
        current = index_fingerprint(definition)
        try:
            stamped = (path / ANALYSIS_STAMP).read_text().strip()
        except FileNotFoundError:
            stamped = None
        if stamped == current:
            return
        handle = self._handles[definition.name]
        documents = handle.searcher().num_docs
        if not documents:
            _write_stamp(path, current)
        elif definition.index_only:
            self.stale_analysis.add(definition.name)
            log.warning("index %s was analyzed by an earlier weft (%d documents); its owner re-analyzes it", definition.name, documents)
        else:
            started = time.monotonic()
            log.warning("index %s was analyzed by an earlier weft: re-analyzing its %d documents", definition.name, documents)
            self._rebuild(path, definition, None, handle)
            log.warning("index %s re-analyzed in %.1f s", definition.name, time.monotonic() - started)

    def create_index(self, definition: IndexDefinition) -> None:
        with self._lock:
            path = self._dir(definition.name)
            if path.exists():
                shutil.rmtree(path)
            self._handles[definition.name] = IndexHandle(path, definition)
            _write_stamp(path, index_fingerprint(definition))
            self.stale_analysis.discard(definition.name)

    def update_index(self, old: IndexDefinition, new: IndexDefinition) -> None:
        with self._lock:
            handle = self._handles[old.name]
            if _layout_signature(old) == _layout_signature(new):
                handle.definition = new
                layout = Layout(new)  # same tantivy fields; analyzers (e.g. a changed searchAnalyzer) resolved anew
                layout.simple_mode = handle.layout.simple_mode  # what the index's tokenizers are registered as
                handle.layout = layout
                handle.layout.columns.share_codecs(handle.vectors)
                for name, vi in handle.vectors.items():  # rescoring and oversampling may change on a live field
                    vi.storage = new.vector_settings(name)["storage"]
                return
            # The tantivy schema changes (fields were added): rebuild from the stored documents.
            self._rebuild(self._dir(new.name), new, None, handle)

    def rewrite(self, definition: IndexDefinition, fill=None) -> None:
        """Writes the index afresh from its live documents and removes the old files: deleted documents, which
        tantivy keeps in their segments until a merge, are then gone from the disk. ``fill(sources)`` gives back
        the documents with their index-only fields (not stored) filled in from where they are kept."""
        with self._lock:
            self._rebuild(self._dir(definition.name), definition, None, self._handles[definition.name], fill)

    def _rebuild(self, path: Path, new: IndexDefinition, searcher, handle: "IndexHandle | None" = None, fill=None) -> None:
        """Write every stored document into a fresh index laid out for ``new``, then swap directories. With a
        ``handle``, its writer is closed first (no write may land in the old files after they are read; writes
        wait for the swap) and its documents are read; otherwise ``searcher``'s (an index written by an older
        weft)."""
        with self._lock:
            rebuild = path.with_name(path.name + ".rebuild")
            if rebuild.exists():
                shutil.rmtree(rebuild)
            if handle is not None:
                handle.close()
                handle.index.reload()
                searcher = handle.searcher()
            fresh = IndexHandle(rebuild, new)
            n = searcher.num_docs
            if n:
                result = searcher.search(Query.all_query(), limit=n, count=False)
                docs = [searcher.doc(address) for _, address in result.hits]
                sources = [Layout.source_of(doc) for doc in docs]
                anns = [Layout.ann_column(doc) for doc in docs]  # stored:false vectors exist only there: carried over
                key = new.key_field.name
                if fill is not None:  # may leave documents out: the carried-over vectors are matched by key
                    by_key = {source[key]: ann for source, ann in zip(sources, anns)}
                    sources = fill(sources)
                    anns = [by_key.get(source[key]) for source in sources]
                for source, ann in zip(sources, anns):
                    document = complete_document(new, source)
                    fresh.writer.add_document(fresh.layout.to_tantivy(source[key], document, ann if fresh.layout.columns.unstored else None))
            fresh.writer.commit()
            fresh.close()
            _write_stamp(rebuild, index_fingerprint(new))
            shutil.rmtree(rebuild / "vectors", ignore_errors=True)  # rebuilt from the documents on open
            old_path = path.with_name(path.name + ".old")
            path.rename(old_path)
            rebuild.rename(path)
            shutil.rmtree(old_path)
            self._handles[new.name] = IndexHandle(path, new)
            self.stale_analysis.discard(new.name)

    def iter_sources(self, name: str, chunk: int = 1000):
        """Every stored document of an index (the canonical ``_source``), ``chunk`` at a time, from one searcher."""
        searcher = self._handles[name].searcher()
        n = searcher.num_docs
        if not n:
            return
        hits = searcher.search(Query.all_query(), limit=n, count=False).hits
        for start in range(0, len(hits), chunk):
            yield [Layout.source_of(searcher.doc(address)) for _, address in hits[start:start + chunk]]

    def delete_index(self, name: str) -> None:
        with self._lock:
            handle = self._handles.pop(name, None)
            if handle:
                handle.close()
            self.stale_analysis.discard(name)
            path = self._dir(name)
            if path.exists():
                shutil.rmtree(path)

    def close(self) -> None:
        with self._lock:
            for handle in self._handles.values():
                handle.close()
            self._handles.clear()

    def _handle(self, definition: IndexDefinition) -> IndexHandle:
        handle = self._handles.get(definition.name)
        if handle is None:
            raise Unavailable(f"The index '{definition.name}' is not open.")
        return handle

    # ---- documents -----------------------------------------------------------------------------
    def apply(self, definition: IndexDefinition, actions: list[Action]) -> list[ItemResult]:
        try:
            return self._handle(definition).submit(actions)
        except IndexClosed:
            # a rebuild or rewrite is replacing the handle (it holds the lock until done): write to the new one
            with self._lock:
                handle = self._handle(definition)
            return handle.submit(actions)

    def get(self, definition: IndexDefinition, key: str) -> dict[str, Any] | None:
        return self._handle(definition).lookup([key]).get(key)

    def count(self, definition: IndexDefinition) -> int:
        return self._handle(definition).searcher().num_docs

    def stats(self, definition: IndexDefinition) -> IndexStats:
        handle = self._handle(definition)
        size = sum(p.stat().st_size for p in handle.path.glob("*") if p.is_file())
        vector_size = sum(vi.size_bytes for vi in handle.vectors.values())
        return IndexStats(handle.searcher().num_docs, size + vector_size, vector_size)

    def suggest_terms(self, definition: IndexDefinition, field_path: str, prefix: str, limit: int) -> list[tuple[str, int]]:
        handle = self._handle(definition)
        leaf = handle.layout.leaves.get(field_path)
        if leaf is None or leaf.text is None:
            return []
        return [(t, int(n)) for t, n in handle.searcher().terms_with_prefix(leaf.text, prefix, limit=limit)]

    # ---- search ---------------------------------------------------------------------------------
    def search(self, definition: IndexDefinition, q: SearchQuery) -> SearchResults:
        handle = self._handle(definition)
        try:
            return Search(handle, q).run()
        except ValueError as exc:  # tantivy's own bounds on one query, as 400s naming them
            text = str(exc)
            if "RegexQueryError" in text:
                raise InvalidInput("Invalid search query: a prefix, wildcard or regular expression pattern compiles to more than "
                                   "tantivy's 1,000 automaton states; use a shorter or simpler pattern.\r\nParameter name: search") from None
            if "bucket limit" in text or "memory limit" in text:
                raise InvalidInput("The facets ask for more than 65,000 buckets or 500 MB of aggregation memory (an interval too "
                                   "small for the range of values, or too many values); use a larger interval.\r\nParameter name: facets") from None
            raise


def _layout_signature(definition: IndexDefinition) -> list[tuple]:
    fields = [
        (l.path, l.type, l.field.searchable, l.field.filterable, l.field.sortable, l.field.facetable, l.field.effective_analyzer,
         l.field.extra.get("normalizer"))
        for l in definition.leaves()
    ]
    vectors = []
    for f in definition.vector_fields():
        settings = definition.vector_settings(f.name)
        vectors.append((f.name, settings["dimensions"], settings["metric"], settings["m"], settings["efConstruction"], settings["efSearch"])
                       + settings["storage"].signature())
    return fields + vectors + [("analysis",) + analysis_signature(definition)]


def _write_stamp(path: Path, fingerprint: str) -> None:
    """Durably, by rename: a crash leaves the old stamp or the new one."""
    tmp = path / (ANALYSIS_STAMP + ".tmp")
    with open(tmp, "w") as f:
        f.write(fingerprint + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path / ANALYSIS_STAMP)
