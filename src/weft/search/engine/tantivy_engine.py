"""The embedded engine: one tantivy index per search index, in the data directory.

Writes go through one writer thread per index that does group commit: it takes every
batch waiting in its queue, applies them in order (merges read the stored document,
with an overlay for keys already touched in the same group), commits once, reloads
the searcher, and only then answers every batch of the group. A commit is atomic on
disk, so after a crash an index holds exactly the acknowledged batches (plus perhaps
batches whose commit finished but whose answer was not sent yet), never half a batch.
"""
from __future__ import annotations

import dataclasses

import concurrent.futures
import functools
import heapq
import logging
import math
import queue
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import tantivy
from tantivy import Occur, Query

from weft import observability
from weft.errors import InvalidInput, Unavailable
from weft.search import filter_ast as fa
from weft.search import query_ast as qa
from weft.search.analysis.legacy import register_legacy
from weft.search.analysis.native import register as register_native
from weft.search.schema_analysis import analysis_signature
from weft.search.documents import (
    Action,
    ItemResult,
    complete_document,
    datetime_to_micros,
    double_value,
    format_datetime,
    merge_document,
    micros_to_datetime,
    parse_geo_point,
)
from weft.search.engine.base import FacetSpec, Hit, IndexStats, SearchQuery, SearchResults
from weft.search.engine.tantivy_layout import KEY, Layout, values_at
from weft.search.engine.vector_index import VectorIndex
from weft.search.engine import tantivy_scoring
from weft.search.engine.vector_columns import originals_reader
from weft.search.engine.tantivy_translate import FilterTranslator, TextTranslator, boolean, const_score
from weft.search.analysis.normalize_filter import normalize_filter, normalized_source
from weft.search.filter_eval import FilterEvaluator, haversine_km
from weft.search.highlight import collect_terms, highlight_field
from weft.search.query import parse_search
from weft.search.schema import IndexDefinition

log = logging.getLogger(__name__)

WRITER_HEAP = 128_000_000
WRITER_THREADS = 1  # one indexing thread beside the Python writer thread: two busy cores
MAX_GROUP = 64


@dataclass
class _Job:
    actions: list[Action]
    future: concurrent.futures.Future


class IndexClosed(Unavailable):
    """The handle was closed (shutdown, or a rebuild/rewrite that replaces it)."""


class _IndexHandle:
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
        self.writer = self.index.writer(WRITER_HEAP, WRITER_THREADS)
        self.opstamp = self.writer.commit_opstamp  # of the last commit; kept current by _apply_group
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
        return self.index.searcher()

    def lookup(self, keys: list[str], vectors: bool = True) -> dict[str, dict[str, Any]]:
        if not keys:
            return {}
        unique = list(dict.fromkeys(keys))
        searcher = self.searcher()
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
        started = time.perf_counter()
        try:
            keys = [a.key for job in group for a in job.actions]
            stored = self.lookup(keys)
            for job in group:
                results.append(self._apply_actions(job.actions, stored, overlay))
            self.opstamp = self.writer.commit()
            self.index.reload()
            self._missing_cache = {}
            # The commit is durable: bring the vector indexes to the same state before answering.
            for name in vector_names:
                self.vectors[name].upsert_many([(key, None if document is None else document.get(name)) for key, document in overlay.items()])
        except Exception as exc:  # storage failure: nothing of the group is applied
            log.exception("write group failed; rolling back")
            try:
                self.writer.rollback()
            except Exception:  # pragma: no cover
                log.exception("rollback failed")
            for job in group:
                job.future.set_exception(Unavailable(f"The batch could not be written and was not applied: {exc}"))
            return
        observability.commit_observed(self.definition.name, len(group), time.perf_counter() - started)
        for job, res in zip(group, results):
            job.future.set_result(res)

    def _apply_actions(self, actions: list[Action], stored: dict, overlay: dict) -> list[ItemResult]:
        definition = self.definition
        out = []
        for a in actions:
            existing = overlay[a.key] if a.key in overlay else stored.get(a.key)
            if a.kind == "delete":
                if existing is not None:
                    self.writer.delete_documents_by_term(KEY, a.key)
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
            status = 200 if existing is not None else 201
            if existing is not None:
                self.writer.delete_documents_by_term(KEY, a.key)
            self.writer.add_document(self.layout.to_tantivy(a.key, document))
            overlay[a.key] = document
            out.append(ItemResult(a.key, True, status))
        return out

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


class TantivyEngine:
    """Engine protocol implementation over tantivy, one directory per index under ``root``."""

    def __init__(self, root: Path):
        self.root = Path(root)
        from weft.fsmodes import private_dir

        private_dir(self.root)
        self._handles: dict[str, _IndexHandle] = {}
        self._lock = threading.RLock()

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
                self._handles[definition.name] = _IndexHandle(path, definition)
            except ValueError as exc:
                if "schema does not match" not in str(exc):
                    raise
                # Written by an earlier weft whose analysis laid fields out differently: rebuild from _source.
                previous = tantivy.Index.open(str(path))
                register_legacy(previous)
                register_native(previous)
                self._rebuild(path, definition, previous.searcher())

    def create_index(self, definition: IndexDefinition) -> None:
        with self._lock:
            path = self._dir(definition.name)
            if path.exists():
                shutil.rmtree(path)
            self._handles[definition.name] = _IndexHandle(path, definition)

    def update_index(self, old: IndexDefinition, new: IndexDefinition) -> None:
        with self._lock:
            handle = self._handles[old.name]
            if _layout_signature(old) == _layout_signature(new):
                handle.definition = new
                handle.layout = Layout(new)  # same tantivy fields; analyzers (e.g. a changed searchAnalyzer) resolved anew
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

    def _rebuild(self, path: Path, new: IndexDefinition, searcher, handle: "_IndexHandle | None" = None, fill=None) -> None:
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
            fresh = _IndexHandle(rebuild, new)
            n = searcher.num_docs
            if n:
                result = searcher.search(Query.all_query(), limit=n, count=False)
                docs = [searcher.doc(address) for _, address in result.hits]
                sources = [Layout.source_of(doc) for doc in docs]
                anns = [Layout.ann_column(doc) for doc in docs]  # stored:false vectors exist only there: carried over
                if fill is not None:
                    sources = fill(sources)
                for source, ann in zip(sources, anns):
                    document = complete_document(new, source)
                    fresh.writer.add_document(fresh.layout.to_tantivy(source[new.key_field.name], document, ann if fresh.layout.columns.unstored else None))
            fresh.writer.commit()
            fresh.close()
            shutil.rmtree(rebuild / "vectors", ignore_errors=True)  # rebuilt from the documents on open
            old_path = path.with_name(path.name + ".old")
            path.rename(old_path)
            rebuild.rename(path)
            shutil.rmtree(old_path)
            self._handles[new.name] = _IndexHandle(path, new)

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
            path = self._dir(name)
            if path.exists():
                shutil.rmtree(path)

    def close(self) -> None:
        with self._lock:
            for handle in self._handles.values():
                handle.close()
            self._handles.clear()

    def _handle(self, definition: IndexDefinition) -> _IndexHandle:
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
            return _Search(handle, q).run()
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


class _Search:
    """One search request against one index snapshot."""

    def __init__(self, handle: _IndexHandle, q: SearchQuery):
        self.handle = handle
        self.layout = handle.layout
        self.normalizers = self.layout.normalizers
        if self.normalizers and q.filter is not None:
            # literals compared with normalized fields are normalized too (Azure's normalizers)
            q = dataclasses.replace(q, filter=normalize_filter(q.filter, self.normalizers))
        self.q = q
        self.definition = handle.definition
        self.searcher = handle.searcher()
        targets_paths = q.search_fields or tuple(l.path for l in self.definition.searchable_leaves())
        self.targets = [self.layout.leaf(p) for p in targets_paths]
        self.key_name = self.definition.key_field.name
        self.types = {l.path: l.type for l in self.definition.leaves()}

    def _evaluator(self) -> Callable:
        evaluator = FilterEvaluator(self.types, self._ismatch_eval)
        if not self.normalizers:
            return evaluator
        return lambda expr, source: evaluator(expr, normalized_source(source, self.normalizers))

    # ---- query building --------------------------------------------------------------------
    def _text_query(self, node: qa.Node, fields: list | None = None) -> Query | None:
        translator = TextTranslator(self.layout, fields if fields is not None else self.targets, self.q.field_weights, self.q.synonyms)
        return translator.translate(node)

    def _ismatch_query(self, e: fa.IsMatch) -> Query | None:
        node = parse_search(e.query, e.query_type or "simple", e.search_mode or "any")
        fields = [self.layout.leaf(f) for f in e.fields] if e.fields else [self.layout.leaf(l.path) for l in self.definition.searchable_leaves()]
        return TextTranslator(self.layout, fields, synonyms=self.q.synonyms).translate(node)

    def build(self) -> tuple[Query, bool]:
        """The tantivy query and whether it is exact (no residual filter to check)."""
        text = self.q.text
        if isinstance(text, qa.MatchAll):
            text_q: Query = const_score(Query.all_query(), 1.0)
        else:
            translated = self._text_query(text)
            text_q = translated if translated is not None else Query.empty_query()
        if self.q.filter is None:
            return text_q, True
        filter_q, exact = FilterTranslator(self.layout, self._ismatch_query).translate(self.q.filter)
        if filter_q is None:
            return text_q, exact
        if not _has_scoring(self.q.filter):
            filter_q = const_score(filter_q, 0.0)
        return boolean([(Occur.Must, text_q), (Occur.Must, filter_q)]), exact

    # ---- execution ------------------------------------------------------------------------------
    def run(self) -> SearchResults:
        if self.q.vector_queries:
            return self._run_vector()
        query, exact = self.build()
        need = self.q.skip + self.q.top
        count = None
        facets = None
        has_more = False
        if exact:
            # One more than the page tells whether more results follow; counting every match
            # (which defeats tantivy's top-k pruning) happens only when $count asks for it.
            if self.q.scoring is not None:  # the profile's functions (weft.search.engine.tantivy_scoring)
                if self.q.orderby and not _is_default_order(self.q.orderby):
                    ranked = sorted(tantivy_scoring.rescore(self, self._all_matches(query)), key=functools.cmp_to_key(self._comparator()))
                else:
                    ranked = tantivy_scoring.top_scored(self, query, need + 1)
            elif self.q.orderby and not _is_default_order(self.q.orderby):
                ranked = self._ordered(query, need + 1)
            else:
                result = self.searcher.search(query, limit=need + 1, count=False)
                ranked = [(score, addr, None) for score, addr in result.hits]
            has_more = len(ranked) > need
            if self.q.count:
                count = self.searcher.search(query, limit=1, count=True).count
            page = ranked[self.q.skip : need]
            if self.q.facets:
                facets = self._facets_aggregated(query)
        else:
            candidates = self._all_matches(query)
            evaluator = self._evaluator()
            kept = [(s, a, src) for s, a, src in candidates if evaluator(self.q.filter, src)]
            if self.q.scoring is not None:
                kept = tantivy_scoring.rescore(self, kept)
            count = len(kept)
            has_more = count > need
            if self.q.orderby and not _is_default_order(self.q.orderby):
                kept.sort(key=functools.cmp_to_key(self._comparator()))
            else:
                kept.sort(key=lambda t: -t[0])
            page = kept[self.q.skip : need]
            if self.q.facets:
                facets = _facets_python(self.definition, self.q.facets, [normalized_source(src, self.normalizers) for _, _, src in kept])
        hits = []
        terms = collect_terms(self.q.text) if self.q.highlight_fields else None
        for score, address, source in page:
            if source is None:
                source = Layout.source_of(self.searcher.doc(address), self.q.need_vectors)
            highlights = self._highlights(terms, source) if terms is not None else None
            hits.append(Hit(score=float(score), document=source, highlights=highlights))
        return SearchResults(hits=hits, count=count if self.q.count else None, facets=facets, has_more=has_more)

    # ---- vector and hybrid queries -------------------------------------------------------------
    RRF_K = 60

    def _filter_keys(self) -> set[str] | None:
        """Keys of every document passing the filter (None when there is no filter)."""
        if self.q.filter is None:
            return None
        filter_q, exact = FilterTranslator(self.layout, self._ismatch_query).translate(self.q.filter)
        if filter_q is None:
            filter_q = Query.all_query()
        n = max(1, self.searcher.num_docs)
        hits = self.searcher.search(filter_q, limit=n, count=False).hits
        evaluator = None if exact else self._evaluator()
        keys = set()
        for _, address in hits:
            source = Layout.source_of(self.searcher.doc(address), vectors=False)
            if evaluator is None or evaluator(self.q.filter, source):
                keys.add(source[self.key_name])
        return keys

    def _passes_filter(self, sources: dict[str, dict]) -> set[str]:
        evaluator = self._evaluator()
        return {key for key, source in sources.items() if evaluator(self.q.filter, source)}

    def _run_vector(self) -> SearchResults:
        q = self.q
        need = q.skip + q.top
        pre = q.vector_filter_mode == "preFilter"
        allowed = self._filter_keys() if pre else None
        arms: list[tuple[float, list[tuple[str, float]]]] = []
        for vq in q.vector_queries:
            for name in vq.fields:
                vi = self.handle.vectors[name]
                exhaustive = vq.exhaustive or self.definition.vector_settings(name)["kind"] == "exhaustiveKnn"
                found = vi.search(list(vq.vector), vq.k, exact=exhaustive, allowed=allowed, oversampling=vq.oversampling,
                                  originals=originals_reader(self.handle, name))
                if q.filter is not None and not pre:
                    passing = self._passes_filter(self.handle.lookup([key for key, _ in found], vectors=False))
                    found = [(key, sc) for key, sc in found if key in passing]
                arms.append((vq.weight, found))
        text_hits: dict[str, tuple[float, dict]] = {}
        if q.text_given:
            text_q = SearchQuery(text=q.text, search_fields=q.search_fields, filter=q.filter, top=max(50, need),
                                 field_weights=q.field_weights, scoring=q.scoring, need_vectors=False)
            text_results = _Search(self.handle, text_q).run()
            ranked_text = []
            for hit in text_results.hits:
                key = hit.document[self.key_name]
                text_hits[key] = (hit.score, hit.document)
                ranked_text.append((key, hit.score))
            arms.append((1.0, ranked_text))
        if len(arms) == 1 and not q.text_given:
            ranked = arms[0][1]
        else:
            fused: dict[str, float] = {}
            for weight, results in arms:
                for rank, (key, _) in enumerate(results, start=1):
                    fused[key] = fused.get(key, 0.0) + weight / (self.RRF_K + rank)
            ranked = sorted(fused.items(), key=lambda item: (-item[1], item[0]))
        page = ranked[q.skip : need]
        sources = self.handle.lookup([key for key, _ in page], vectors=q.need_vectors)
        terms = collect_terms(q.text) if (q.highlight_fields and q.text_given) else None
        hits = []
        for key, score in page:
            source = sources.get(key) or (text_hits.get(key, (0, None))[1])
            if source is None:
                continue  # deleted between the vector search and the fetch
            hits.append(Hit(score=float(score), document=source, highlights=self._highlights(terms, source) if terms else ({} if q.highlight_fields else None)))
        facets = None
        if q.facets:
            all_sources = self.handle.lookup([key for key, _ in ranked], vectors=False)
            facets = _facets_python(self.definition, q.facets, [normalized_source(src, self.normalizers) for src in all_sources.values()])
        return SearchResults(hits=hits, count=len(ranked) if q.count else None, facets=facets, has_more=len(ranked) > need)

    def _highlights(self, terms, source: dict) -> dict[str, list[str]]:
        out = {}
        for path in self.q.highlight_fields:
            leaf = self.layout.leaf(path)
            values = [v for v in values_at(source, path.split("/")) if isinstance(v, str)]
            frags = highlight_field(path, values, leaf.search_analyzer, terms, self.q.highlight_pre_tag, self.q.highlight_post_tag)
            if frags:
                out[path] = frags
        return out

    def _ismatch_eval(self, e: fa.IsMatch, source: dict) -> bool:
        q = self._ismatch_query(e)
        if q is None:
            return False
        key_q = Query.term_query(self.layout.schema, KEY, source[self.key_name])
        return self.searcher.search(boolean([(Occur.Must, q), (Occur.Must, key_q)]), limit=1).count > 0

    def _all_matches(self, query: Query) -> list[tuple[float, Any, dict]]:
        n = max(1, self.searcher.num_docs)
        result = self.searcher.search(query, limit=n, count=False)
        return [(score, addr, Layout.source_of(self.searcher.doc(addr), self.q.need_vectors)) for score, addr in result.hits]

    # ---- ordering ------------------------------------------------------------------------------
    def _sort_value(self, clause: fa.OrderByClause, source: dict, score: float) -> Any:
        t = clause.target
        if isinstance(t, fa.SearchScore):
            return score
        if isinstance(t, fa.GeoDistance):
            point = parse_geo_point(_get(source, t.target.parts))
            return None if point is None else haversine_km(point, t.point)
        value = _get(source, t.parts)
        kind = self.types.get(t.dotted)
        if value is None:
            return None
        normalize = self.normalizers.get(t.dotted)
        if normalize is not None and isinstance(value, str):
            return normalize(value)
        if kind == "Edm.Double":
            value = double_value(value)
            return None if math.isnan(value) else value
        if kind == "Edm.DateTimeOffset":
            return datetime_to_micros(value)
        return value

    def _comparator(self) -> Callable:
        clauses = self.q.orderby

        def compare(a, b) -> int:
            (sa, _, da), (sb, _, db) = a, b
            for clause in clauses:
                va, vb = self._sort_value(clause, da, sa), self._sort_value(clause, db, sb)
                if va == vb:
                    continue
                # nulls first ascending, last descending (Azure)
                if va is None:
                    c = -1
                elif vb is None:
                    c = 1
                else:
                    c = -1 if va < vb else 1
                return -c if clause.descending else c
            if sa != sb:
                return -1 if sa > sb else 1
            ka, kb = da[self.key_name], db[self.key_name]
            return (ka > kb) - (ka < kb)

        return compare

    def _ordered(self, query: Query, need: int) -> list:
        """Exact multi-key ordering; only the candidates that can reach the first ``need`` are sorted."""
        first = self.q.orderby[0].target
        candidates: dict[tuple[int, int], Any] = {}
        if isinstance(first, fa.FieldPath):
            leaf = self.layout.leaf(first.dotted)
            fast = leaf.raw or leaf.value
            self._field_candidates(query, need, fast, leaf, self.q.orderby[0].descending, candidates)
        elif isinstance(first, fa.SearchScore) and self.q.orderby[0].descending:
            limit = max(need, 1)
            while True:
                hits = self.searcher.search(query, limit=limit, count=False).hits
                if len(hits) < limit or len(hits) < need or hits[-1][0] < hits[need - 1][0]:
                    break
                limit *= 2
            for score, addr in hits:
                candidates[(addr.segment_ord, addr.doc)] = addr
        else:
            total = self.searcher.search(query, limit=1, count=True).count
            hits = self.searcher.search(query, limit=max(1, total), count=False).hits
            if isinstance(first, fa.GeoDistance):
                hits = self._nearest(hits, first, self.q.orderby[0].descending, need)
            for score, addr in hits:
                candidates[(addr.segment_ord, addr.doc)] = addr
        addresses = list(candidates.values())
        columnar = self._columnar_order(addresses)
        if columnar is not None:
            return columnar
        scored = self._with_scores(query, addresses)
        scored.sort(key=functools.cmp_to_key(self._comparator()))
        return scored

    def _nearest(self, hits: list, target: fa.GeoDistance, descending: bool, need: int) -> list:
        """Bounded geo-distance ordering: distances from the lon/lat fast-field columns (no document
        is read), then only the first ``need`` (and every candidate tied with the last of them, and
        the points-less documents that sort first) go on to the exact multi-key sort."""
        leaf = self.layout.leaf(target.target.dotted)
        if leaf.lon is None or len(hits) <= need:
            return hits
        addresses = [addr for _, addr in hits]
        lons = self.searcher.fast_field_values(leaf.lon, addresses)
        lats = self.searcher.fast_field_values(leaf.lat, addresses)
        keyed = []
        nulls = []
        for hit, lon, lat in zip(hits, lons, lats):
            if lon is None or lat is None:
                nulls.append(hit)
            else:
                keyed.append((haversine_km((lon, lat), target.point), hit))
        if not descending:  # nulls first ascending (Azure), last descending
            if len(nulls) >= need:
                return nulls
            want = need - len(nulls)
        else:
            want = need
        chosen = heapq.nlargest(want, keyed, key=lambda t: t[0]) if descending else heapq.nsmallest(want, keyed, key=lambda t: t[0])
        if chosen:
            edge = chosen[-1][0]
            inside = {id(h) for _, h in chosen}
            chosen += [(d, h) for d, h in keyed if d == edge and id(h) not in inside]
        picked = [h for _, h in chosen]
        if descending:
            return picked + (nulls if len(picked) < need else [])
        return nulls + picked

    def _columnar_order(self, addresses: list) -> list | None:
        """Sort candidates on fast-field columns, without reading documents, when every key allows it:
        a filter-only query (all scores 1.0) ordered by numeric, date or boolean fields."""
        if not isinstance(self.q.text, qa.MatchAll) or (self.q.filter is not None and _has_scoring(self.q.filter)):
            return None
        columns = []
        for clause in self.q.orderby:
            if not isinstance(clause.target, fa.FieldPath):
                return None
            leaf = self.layout.leaf(clause.target.dotted)
            if leaf.value is None:
                return None
            columns.append((self.searcher.fast_field_values(leaf.value, addresses), clause.descending))

        def compare(i: int, j: int) -> int:
            for values, descending in columns:
                va, vb = values[i], values[j]
                if va == vb:
                    continue
                c = -1 if va is None else 1 if vb is None else (-1 if va < vb else 1)  # nulls first ascending
                return -c if descending else c
            a, b = addresses[i], addresses[j]
            return -1 if (a.segment_ord, a.doc) < (b.segment_ord, b.doc) else 1

        order = sorted(range(len(addresses)), key=functools.cmp_to_key(compare))
        return [(1.0, addresses[i], None) for i in order]

    def _field_candidates(self, query: Query, need: int, fast: str, leaf, descending: bool, out: dict) -> None:
        order = tantivy.Order.Desc if descending else tantivy.Order.Asc

        def take(q: Query, limit: int) -> list:
            if limit <= 0:
                return []
            return self.searcher.search(q, limit=limit, count=False).hits

        def add(hits) -> None:
            for _, addr in hits:
                out[(addr.segment_ord, addr.doc)] = addr

        def add_ties(base: Query, hits: list, limit: int) -> None:
            # every document tied with the last candidate on the first key may still belong on the page
            if len(hits) == limit and hits and hits[-1][0] is not None:
                tie_q = boolean([(Occur.Must, base), (Occur.Must, self._equals(leaf, hits[-1][0]))])
                add(take(tie_q, self.searcher.search(tie_q, limit=1, count=True).count))

        if self.handle.missing_count(fast) == 0:
            # no document lacks this field: tantivy's own order is the whole story for the first key
            hits = self.searcher.search(query, limit=need, count=False, order_by_field=fast, order=order).hits if need > 0 else []
            add(hits)
            add_ties(query, hits, need)
            return
        exists = Query.exists_query(fast)
        missing_q = boolean([(Occur.Must, query), (Occur.MustNot, exists)])
        present_q = boolean([(Occur.Must, query), (Occur.Must, exists)])
        remaining = need
        if not descending:  # Azure sorts nulls first ascending: all of them are candidates
            n_missing = self.searcher.search(missing_q, limit=1, count=True).count
            add(take(missing_q, n_missing))
            if n_missing >= need:
                return
            remaining = need - n_missing
        hits = self.searcher.search(present_q, limit=remaining, count=False, order_by_field=fast, order=order).hits if remaining > 0 else []
        add(hits)
        add_ties(present_q, hits, remaining)
        if descending and len(hits) < remaining:  # nulls last descending; later keys order them, so all
            add(take(missing_q, self.searcher.search(missing_q, limit=1, count=True).count))

    def _equals(self, leaf, value) -> Query:
        schema = self.layout.schema
        if leaf.raw:
            return Query.term_query(schema, leaf.raw, value)
        if leaf.type == "Edm.Boolean":
            return Query.term_query(schema, leaf.value, bool(value))
        # one exact value: the term dictionary finds it directly, where a fast-field range would scan
        # the whole column
        return Query.range_query(schema, leaf.value, leaf.field_type, value, value, use_inverted_index=True)

    def _with_scores(self, query: Query, addresses: list) -> list[tuple[float, Any, dict]]:
        sources = [Layout.source_of(self.searcher.doc(a), self.q.need_vectors) for a in addresses]
        if isinstance(self.q.text, qa.MatchAll) and (self.q.filter is None or not _has_scoring(self.q.filter)):
            return [(1.0, a, s) for a, s in zip(addresses, sources)]
        keys = [s[self.key_name] for s in sources]
        scores: dict[str, float] = {}
        if keys:
            restricted = boolean([(Occur.Must, query), (Occur.Must, const_score(keys_query(self.layout.schema, keys), 0.0))])
            for score, addr in self.searcher.search(restricted, limit=len(keys), count=False).hits:
                scores[Layout.source_of(self.searcher.doc(addr), vectors=False)[self.key_name]] = score
        return [(scores.get(k, 0.0), a, s) for k, a, s in zip(keys, addresses, sources)]

    # ---- facets -----------------------------------------------------------------------------------
    def _facets_aggregated(self, query: Query) -> dict[str, list[dict]]:
        out: dict[str, list[dict]] = {}
        for spec in self.q.facets:
            leaf = self.layout.leaf(spec.field)
            fast = leaf.raw or leaf.value
            t = leaf.type
            if spec.values is not None:
                ranges = _range_buckets(t, spec.values)
                agg = {"f": {"range": {"field": fast, "ranges": [r for r, _ in ranges]}}}
                buckets = self.searcher.aggregate(query, agg)["f"]["buckets"]
                out[spec.field] = [dict(shape, count=b["doc_count"]) for b, (_, shape) in zip(buckets, ranges)]
            elif spec.interval is not None:
                out[spec.field] = self._interval_facet(query, leaf, fast, spec)
            else:
                order = {"count": {"_count": "desc"}, "-count": {"_count": "asc"}, "value": {"_key": "asc"}, "-value": {"_key": "desc"}}[spec.sort]
                agg = {"f": {"terms": {"field": fast, "size": spec.count, "order": order}}}
                if spec.sort in ("-count",):
                    agg["f"]["terms"]["size"] = 65000
                buckets = self.searcher.aggregate(query, agg)["f"]["buckets"]
                entries = [{"value": _facet_value(t, b["key"]), "count": b["doc_count"]} for b in buckets if b["doc_count"] > 0]
                if spec.sort == "count":
                    entries.sort(key=lambda e: (-e["count"], _sortable(e["value"])))
                elif spec.sort == "-count":
                    entries.sort(key=lambda e: (e["count"], _sortable(e["value"])))
                out[spec.field] = entries[: spec.count]
        return out

    def _interval_facet(self, query: Query, leaf, fast: str, spec: FacetSpec) -> list[dict]:
        t = leaf.type
        if t == "Edm.DateTimeOffset":
            stats = self.searcher.aggregate(query, {"s": {"stats": {"field": fast}}})["s"]
            if not stats.get("count"):
                return []
            lo, hi = int(stats["min"]), int(stats["max"])
            starts = _calendar_starts(spec.interval, lo, hi, spec.time_offset)
            ranges = [{"from": float(a), "to": float(b)} for a, b in zip(starts, starts[1:])]
            buckets = self.searcher.aggregate(query, {"f": {"range": {"field": fast, "ranges": ranges}}})["f"]["buckets"]
            # tantivy adds open-ended buckets for values outside the ranges; keep only ours
            by_from = {b.get("from"): b["doc_count"] for b in buckets if "from" in b and "to" in b}
            return [
                {"value": format_datetime(micros_to_datetime(a)), "count": by_from.get(float(a), 0)}
                for a in starts[:-1]
                if by_from.get(float(a), 0) > 0
            ]
        interval = float(spec.interval)
        buckets = self.searcher.aggregate(query, {"f": {"histogram": {"field": fast, "interval": interval}}})["f"]["buckets"]
        integral = t in ("Edm.Int32", "Edm.Int64")
        return [
            {"value": int(b["key"]) if integral else float(b["key"]), "count": b["doc_count"]}
            for b in buckets
            if b["doc_count"] > 0
        ]


def keys_query(schema, keys: list[str]) -> Query:
    """Documents with any of these keys."""
    if len(keys) <= 64:  # a few term queries are much cheaper than a term-set automaton
        return Query.boolean_query([(Occur.Should, Query.term_query(schema, KEY, k)) for k in keys])
    return Query.term_set_query(schema, KEY, keys)


def _has_scoring(e) -> bool:
    if isinstance(e, fa.IsMatch):
        return e.scoring
    if isinstance(e, (fa.And, fa.Or)):
        return _has_scoring(e.left) or _has_scoring(e.right)
    if isinstance(e, fa.Not):
        return _has_scoring(e.operand)
    return False


def _is_default_order(clauses) -> bool:
    return len(clauses) == 1 and isinstance(clauses[0].target, fa.SearchScore) and clauses[0].descending


def _get(source: dict, parts: tuple[str, ...]) -> Any:
    value: Any = source
    for part in parts:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _sortable(value: Any) -> tuple:
    return (str(type(value)), value)


def _facet_value(t: str, key: Any) -> Any:
    if t in ("Edm.Int32", "Edm.Int64"):
        return int(key)
    if t == "Edm.Double":
        return float(key)
    if t == "Edm.Boolean":
        return bool(key) if not isinstance(key, str) else key == "true"
    if t == "Edm.DateTimeOffset":
        return format_datetime(micros_to_datetime(int(key)))
    return key


def _range_buckets(t: str, values: tuple) -> list[tuple[dict, dict]]:
    """tantivy range specs with the Azure bucket shape each maps to."""

    def native(v):
        return float(datetime_to_micros(v)) if t == "Edm.DateTimeOffset" else float(v)

    def shown(v):
        return v if t != "Edm.DateTimeOffset" else v

    out = []
    prev = None
    for v in values:
        if prev is None:
            out.append(({"to": native(v)}, {"to": shown(v)}))
        else:
            out.append(({"from": native(prev), "to": native(v)}, {"from": shown(prev), "to": shown(v)}))
        prev = v
    out.append(({"from": native(prev)}, {"from": shown(prev)}))
    return out


def _calendar_starts(unit: str, lo_micros: int, hi_micros: int, offset_minutes: int = 0) -> list[int]:
    """Bucket starts (UTC microseconds) covering [lo, hi]; with an offset the calendar is that zone's, the starts UTC."""
    import datetime as dt

    shift = offset_minutes * 60_000_000
    lo_micros, hi_micros = lo_micros + shift, hi_micros + shift
    lo = micros_to_datetime(lo_micros)
    if unit == "minute":
        start = lo.replace(second=0, microsecond=0)
        step = lambda d: d + dt.timedelta(minutes=1)  # noqa: E731
    elif unit == "hour":
        start = lo.replace(minute=0, second=0, microsecond=0)
        step = lambda d: d + dt.timedelta(hours=1)  # noqa: E731
    elif unit == "day":
        start = lo.replace(hour=0, minute=0, second=0, microsecond=0)
        step = lambda d: d + dt.timedelta(days=1)  # noqa: E731
    elif unit == "week":
        day = lo.replace(hour=0, minute=0, second=0, microsecond=0)
        start = day - dt.timedelta(days=day.weekday())
        step = lambda d: d + dt.timedelta(weeks=1)  # noqa: E731
    elif unit == "month":
        start = lo.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        step = lambda d: (d.replace(year=d.year + 1, month=1) if d.month == 12 else d.replace(month=d.month + 1))  # noqa: E731
    elif unit == "quarter":
        start = lo.replace(month=(lo.month - 1) // 3 * 3 + 1, day=1, hour=0, minute=0, second=0, microsecond=0)
        step = lambda d: (d.replace(year=d.year + 1, month=d.month - 9) if d.month >= 10 else d.replace(month=d.month + 3))  # noqa: E731
    elif unit == "year":
        start = lo.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
        step = lambda d: d.replace(year=d.year + 1)  # noqa: E731
    else:
        raise InvalidInput(f"Invalid date interval '{unit}'.")
    starts = [datetime_to_micros(start)]
    d = start
    while datetime_to_micros(d) <= hi_micros:
        d = step(d)
        starts.append(datetime_to_micros(d))
        if len(starts) > 10000:
            raise InvalidInput("The date interval facet would produce more than 10,000 buckets; use a larger interval.")
    return [s - shift for s in starts]


def _facets_python(definition: IndexDefinition, specs, sources: list[dict]) -> dict[str, list[dict]]:
    """Facets computed on documents (used when a filter had to be checked on the documents)."""
    out: dict[str, list[dict]] = {}
    types = {l.path: l.type for l in definition.leaves()}
    for spec in specs:
        t = types[spec.field]
        per_doc = []
        for s in sources:
            vals = [v for v in values_at(s, spec.field.split("/")) if v is not None]
            if t == "Edm.Double":
                vals = [double_value(v) for v in vals]
            per_doc.append(set(vals) if t != "Edm.Double" else vals)
        if spec.values is not None:
            ranges = _range_buckets(t, spec.values)
            entries = []
            for native_spec, shape in ranges:
                lo, hi = native_spec.get("from"), native_spec.get("to")
                n = 0
                for vals in per_doc:
                    for v in vals:
                        x = float(datetime_to_micros(v)) if t == "Edm.DateTimeOffset" else float(v)
                        if (lo is None or x >= lo) and (hi is None or x < hi):
                            n += 1
                            break
                entries.append(dict(shape, count=n))
            out[spec.field] = entries
            continue
        counts: dict[Any, int] = {}
        for vals in per_doc:
            keys = set()
            for v in vals:
                if spec.interval is not None:
                    if t == "Edm.DateTimeOffset":
                        m = datetime_to_micros(v)
                        starts = _calendar_starts(spec.interval, m, m, spec.time_offset)
                        keys.add(format_datetime(micros_to_datetime(starts[0])))
                    else:
                        step = float(spec.interval)
                        b = math.floor(float(v) / step) * step
                        keys.add(int(b) if t in ("Edm.Int32", "Edm.Int64") else b)
                else:
                    keys.add(v)
            for k in keys:
                counts[k] = counts.get(k, 0) + 1
        entries = [{"value": k, "count": c} for k, c in counts.items()]
        if spec.interval is not None or spec.sort == "value":
            entries.sort(key=lambda e: _sortable(e["value"]))
        elif spec.sort == "-value":
            entries.sort(key=lambda e: _sortable(e["value"]), reverse=True)
        elif spec.sort == "-count":
            entries.sort(key=lambda e: (e["count"], _sortable(e["value"])))
        else:
            entries.sort(key=lambda e: (-e["count"], _sortable(e["value"])))
        out[spec.field] = entries if spec.interval is not None else entries[: spec.count]
    return out
