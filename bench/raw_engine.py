"""The baseline: tantivy used directly, in-process, with a schema equivalent to weft's index.

Field by field this mirrors what weft builds for the benchmark index (see
``weft.search.engine.tantivy_layout``): a raw fast key, positional text fields for title
and description, raw fast strings for category/tags, fast+indexed numbers, bool and date.
Differences, on purpose: the stored fields are tantivy's own (weft stores one JSON
``_source`` blob instead), and the text fields use tantivy's built-in ``default``
tokenizer (split on non-alphanumerics, lowercase) instead of weft's regex tokenizer;
on this ASCII corpus both produce the same terms.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import time

import tantivy
from tantivy import Occur, Query

TEXT_FIELDS = ("title", "description")
# The raw engine's best writer settings on this machine (2 cores), committing every 1,000 documents, measured on
# 20,000 corpus documents in one session (load 4.5-9.5): 1 indexing thread and 128 MB gave 4,331 docs/s and 129 µs
# CPU per document; 2 threads 2,273 docs/s and 195 µs (two segments per commit: twice the merging); 50 MB and 512 MB
# no better (148 / 137 µs). Chosen for tantivy-py itself, not copied from weft (weft happens to use the same).
# Re-checked on the peers' two-field documents (20,000, commit per 1,000, 3 interleaved rounds, load 10-13): 128 MB/1
# thread 3,081 docs/s median (127-152 µs CPU/doc), 50 MB 2,600, 15 MB 2,234 (189-214 µs: more CPU, not less),
# 128 MB/2 threads 2,380 (179-207 µs). tantivy-py exposes no other writer setting (merge policy, doc store).
WRITER_HEAP = 128_000_000
WRITER_THREADS = 1


def build_schema() -> tantivy.Schema:
    b = tantivy.SchemaBuilder()
    b.add_text_field("id", stored=True, fast=True, tokenizer_name="raw", index_option="basic")
    b.add_text_field("title", stored=True, tokenizer_name="default", index_option="position")
    b.add_text_field("description", stored=True, tokenizer_name="default", index_option="position")
    b.add_text_field("category", stored=True, fast=True, tokenizer_name="raw", index_option="basic")
    b.add_float_field("price", stored=True, indexed=True, fast=True)
    b.add_boolean_field("inStock", stored=True, indexed=True, fast=True)
    b.add_text_field("tags", stored=True, fast=True, tokenizer_name="raw", index_option="basic")
    b.add_date_field("created", stored=True, indexed=True, fast=True)
    return b.build()


def _parse_created(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)


def to_document(d: dict) -> tantivy.Document:
    doc = tantivy.Document()
    doc.add_text("id", d["id"])
    doc.add_text("title", d["title"])
    doc.add_text("description", d["description"])
    doc.add_text("category", d["category"])
    doc.add_float("price", float(d["price"]))
    doc.add_boolean("inStock", bool(d["inStock"]))
    for t in d["tags"]:
        doc.add_text("tags", t)
    doc.add_date("created", _parse_created(d["created"]))
    return doc


class RawIndex:
    def __init__(self, path: str, create: bool):
        self.schema = build_schema()
        if create:
            os.makedirs(path, exist_ok=True)
        self.index = tantivy.Index(self.schema, path=path, reuse=not create)
        self.path = path

    # ---- ingest ------------------------------------------------------------------------
    def ingest(self, batches, on_batch=None) -> dict:
        """Add every batch (a list of JSON lines) and commit after each. Returns timings."""
        writer = self.index.writer(WRITER_HEAP, WRITER_THREADS)
        loads = json.loads
        n = 0
        commits = 0
        commit_s = 0.0
        t0 = time.perf_counter()
        for lines in batches:
            for line in lines:
                writer.add_document(to_document(loads(line)))
            c0 = time.perf_counter()
            writer.commit()
            commit_s += time.perf_counter() - c0
            commits += 1
            n += len(lines)
            if on_batch is not None:
                on_batch(n)
        last_commit = time.perf_counter() - t0
        writer.wait_merging_threads()
        with_merges = time.perf_counter() - t0
        self.index.reload()
        return {"docs": n, "seconds": last_commit, "seconds_incl_merges": with_merges, "commits": commits,
                "commit_seconds": commit_s}

    # ---- queries -----------------------------------------------------------------------
    def searcher(self) -> tantivy.Searcher:
        return self.index.searcher()

    def _term_any_field(self, word: str) -> Query:
        return Query.boolean_query([(Occur.Should, Query.term_query(self.schema, f, word)) for f in TEXT_FIELDS])

    def _phrase_any_field(self, words: list[str]) -> Query:
        return Query.boolean_query([(Occur.Should, Query.phrase_query(self.schema, f, words)) for f in TEXT_FIELDS])

    def text_query(self, words: list[str], mode: str) -> Query:
        """mode: 'any' (OR of terms), 'all' (AND of terms) or 'phrase'. Each term matches title or description;
        per-field BM25 scores add up, as in weft and Azure."""
        if mode == "phrase":
            return self._phrase_any_field(words)
        per_term = [self._term_any_field(w) for w in words]
        if len(per_term) == 1:
            return per_term[0]
        occur = Occur.Must if mode == "all" else Occur.Should
        return Query.boolean_query([(occur, q) for q in per_term])

    def filter_query(self, category: str | None = None, price_lt: float | None = None, in_stock: bool | None = None) -> Query:
        clauses = []
        if category is not None:
            clauses.append((Occur.Must, Query.term_query(self.schema, "category", category)))
        if price_lt is not None:
            clauses.append((Occur.Must, Query.range_query(self.schema, "price", tantivy.FieldType.Float, None, float(price_lt),
                                                          include_upper=False)))
        if in_stock is not None:
            clauses.append((Occur.Must, Query.term_query(self.schema, "inStock", in_stock)))
        return Query.boolean_query(clauses)

    def _fetch(self, searcher, hits) -> list[dict]:
        out = []
        for score, address in hits:
            d = searcher.doc(address)
            out.append({"score": score, "id": d.get_first("id"), "title": d.get_first("title"), "price": d.get_first("price")})
        return out

    def run(self, spec: dict, top: int = 10) -> dict:
        """Execute one benchmark query spec (see run.py: make_queries) and fetch id/title/price of the hits."""
        s = self.index.searcher()
        kind = spec["kind"]
        if kind == "filter_sort":
            q = self.filter_query(category=spec["category"], in_stock=True)
            # tantivy sorts on ONE fast field only; weft's second key (created asc) has no raw equivalent here.
            r = s.search(q, limit=top, count=False, order_by_field="price", order=tantivy.Order.Desc)
            return {"hits": self._fetch(s, r.hits)}
        text = self.text_query(spec["words"], spec["mode"])
        if kind == "text_filter":
            f = self.filter_query(category=spec["category"], price_lt=spec["price_lt"])
            q = Query.boolean_query([(Occur.Must, text), (Occur.Must, Query.const_score_query(f, 0.0))])
        else:
            q = text
        r = s.search(q, limit=top, count=False)
        out = {"hits": self._fetch(s, r.hits)}
        if kind == "text_facet":
            agg = s.aggregate(q, {"f": {"terms": {"field": "category", "size": 10, "order": {"_count": "desc"}}}})
            out["facets"] = [(b["key"], b["doc_count"]) for b in agg["f"]["buckets"]]
        return out

    def count(self, q: Query) -> int:
        return self.index.searcher().search(q, limit=1, count=True).count

    def num_segments(self) -> int:
        return self.index.searcher().num_segments
