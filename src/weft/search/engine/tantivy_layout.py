"""How an index definition is laid out as a tantivy schema, and documents as tantivy documents.

Every primitive leaf field (``address/city`` included) gets, by attribute:
  * searchable  -> ``s<i>``: text analyzed by the field's analyzer, with positions (BM25 per field)
  * string, filterable/sortable/facetable -> ``r<i>``: raw (untokenized) text, fast
  * number/bool/date -> ``v<i>``: typed, indexed and fast (dates as microseconds since 1970)
  * geo point -> ``lon<i>``/``lat<i>``: floats, indexed and fast (bounding-box prefilter)
plus ``_key`` (raw, fast) and ``_source`` (the whole stored document as JSON bytes).
"""
from __future__ import annotations


import orjson
import math
from dataclasses import dataclass
from typing import Any, Iterator

import tantivy

from weft.search import analysis
from weft.search.analysis import gram_values
from weft.search.analysis.native import JOINED, SIMPLE_WHEN_ASCII, simple_suffices, text_analyzer
from weft.search.analysis.native import tokenizer_name as native_tokenizer_name
from weft.search.analysis.normalizers import normalize
from weft.search.documents import datetime_to_micros, double_value, parse_geo_point
from weft.search.schema import IndexDefinition, LeafField
from weft.search.engine.vector_columns import VectorColumns, unpack_ann, unpack_vectors

KEY = "_key"
SOURCE = "_source"
VECTORS = "_vectors"  # stored vector fields, packed, kept out of _source so reading a document stays cheap
ANN = "_ann"  # what backs the ANN index of stored:false vector fields (engine/vector_columns.py)


@dataclass(frozen=True)
class LeafLayout:
    leaf: LeafField
    text: str | None  # analyzed field name
    raw: str | None  # raw string field name
    value: str | None  # typed field name
    lon: str | None
    lat: str | None
    index_chain: "analysis.Analyzer | None" = None  # the field's index-time analyzer
    search_chain: "analysis.Analyzer | None" = None  # and its query-time analyzer
    normalizer: "analysis.Analyzer | None" = None  # applied to the raw (filter/sort/facet) value
    # a field whose chain ends in an n-gram filter: its words reach tantivy as values, tantivy makes the grams
    grams: "gram_values.GramValues | None" = None

    @property
    def stride(self) -> int:
        """Index positions per position of the field's analyzers (phrase offsets and slops are multiplied by it)."""
        return gram_values.STRIDE if self.grams is not None else 1

    @property
    def path(self) -> str:
        return self.leaf.path

    @property
    def type(self) -> str:
        return self.leaf.type

    @property
    def analyzer(self) -> "analysis.Analyzer":
        return self.index_chain

    @property
    def search_analyzer(self) -> "analysis.Analyzer":
        return self.search_chain

    @property
    def synonym_map(self) -> str | None:
        maps = self.leaf.field.extra.get("synonymMaps") or []
        return maps[0] if maps else None

    def normalized(self, value: str) -> str:
        return normalize(self.normalizer, value) if self.normalizer is not None else value

    @property
    def field_type(self) -> tantivy.FieldType | None:
        return {
            "Edm.Int32": tantivy.FieldType.Integer,
            "Edm.Int64": tantivy.FieldType.Integer,
            "Edm.DateTimeOffset": tantivy.FieldType.Integer,
            "Edm.Double": tantivy.FieldType.Float,
            "Edm.Boolean": tantivy.FieldType.Boolean,
        }.get(self.type)


class Layout:
    simple_mode = False
    """Whether the index's tantivy tokenizers for the standard analyzers are, for the segment being written, the
    simple tokenizer (``analysis.native.register_simple``): the writer thread sets it per commit group, from the
    group's text (``choose_simple``). Either way every value is indexed with the analyzer's exact tokens: text the
    registered tokenizer gets right goes as text (tokenized by tantivy's indexing thread, off the GIL), the rest
    pre-tokenized."""

    def __init__(self, definition: IndexDefinition):
        self.definition = definition
        self.leaves: dict[str, LeafLayout] = {}
        builder = tantivy.SchemaBuilder()
        builder.add_text_field(KEY, stored=False, fast=True, tokenizer_name="raw", index_option="basic")
        builder.add_bytes_field(SOURCE, stored=True, indexed=False, fast=False)
        self.vector_fields = [f.name for f in definition.vector_fields()]
        self.columns = VectorColumns({f.name: (definition.vector_settings(f.name)["storage"], definition.vector_settings(f.name)["metric"])
                                      for f in definition.vector_fields()})
        if self.vector_fields:
            builder.add_bytes_field(VECTORS, stored=True, indexed=False, fast=False)
        if self.columns.unstored:
            builder.add_bytes_field(ANN, stored=True, indexed=False, fast=False)
        for i, leaf in enumerate(definition.leaves()):
            f = leaf.field
            if f.is_vector:
                continue  # vectors live in _source and in the vector index
            text = raw = value = lon = lat = None
            index_chain = search_chain = normalizer = grams = None
            if f.searchable:
                text = f"s{i}"
                index_chain = analysis.resolve(definition, f.effective_analyzer)
                search_chain = analysis.resolve(definition, f.effective_search_analyzer)
                # tantivy runs the native analyzers itself; the others run in Python (weft.search.analysis) and
                # tantivy gets their tokens pre-tokenized.
                # Python-path fields: tantivy gets the terms Python computed as one joined string its whitespace
                # tokenizer splits (Analyzer.joined), or pre-tokenized where that string cannot carry them
                # or, for chains ending in an n-gram filter, as words that tantivy's NgramTokenizer splits (gram_values)
                grams = gram_values.plan(index_chain)
                tokenizer = grams.tokenizer if grams is not None else native_tokenizer_name(index_chain.native or JOINED)
                # not stored: pre-tokenized values reach tantivy without their text (Analyzer.pre_tokenized)
                builder.add_text_field(text, stored=False, tokenizer_name=tokenizer, index_option="position")
            if f.extra.get("normalizer"):
                normalizer = analysis.resolve_normalizer(definition, f.extra["normalizer"])
            t = leaf.type
            if t == "Edm.String" and (f.filterable or f.sortable or f.facetable):
                raw = f"r{i}"
                builder.add_text_field(raw, stored=False, fast=True, tokenizer_name="raw", index_option="basic")
            elif t in ("Edm.Int32", "Edm.Int64", "Edm.DateTimeOffset"):
                value = f"v{i}"
                builder.add_integer_field(value, stored=False, indexed=True, fast=True)
            elif t == "Edm.Double":
                value = f"v{i}"
                builder.add_float_field(value, stored=False, indexed=True, fast=True)
            elif t == "Edm.Boolean":
                value = f"v{i}"
                builder.add_boolean_field(value, stored=False, indexed=True, fast=True)
            elif t == "Edm.GeographyPoint":
                lon, lat = f"lon{i}", f"lat{i}"
                builder.add_float_field(lon, stored=False, indexed=True, fast=True)
                builder.add_float_field(lat, stored=False, indexed=True, fast=True)
            self.leaves[leaf.path] = LeafLayout(leaf, text, raw, value, lon, lat, index_chain, search_chain, normalizer, grams)
        self.schema = builder.build()
        # top-level string fields analyzed by a standard analyzer: where choose_simple samples the text
        self.ascii_fields = [l.path for l in self.leaves.values()
                             if l.text and l.index_chain.native in SIMPLE_WHEN_ASCII and "/" not in l.path]

    def choose_simple(self, values: list[dict[str, Any]], sample: int = 64) -> bool:
        """Whether most of the standard-analyzed text in these action values is text the simple tokenizer gets right."""
        simple = total = 0
        for item in values:
            for path in self.ascii_fields:
                v = item.get(path)
                if isinstance(v, str):
                    total += 1
                    simple += simple_suffices(v)
                elif isinstance(v, list):
                    for x in v[:4]:
                        if isinstance(x, str):
                            total += 1
                            simple += simple_suffices(x)
            if total >= sample:
                break
        return self.simple_mode if not total else simple * 2 >= total

    def register_tokenizers(self, index: tantivy.Index) -> None:
        """The tantivy tokenizers this layout's own fields name (the n-gram fields'; the rest are registered by name)."""
        gram_values.register(index, [l.grams for l in self.leaves.values()])

    def leaf(self, path: str) -> LeafLayout:
        return self.leaves[path]

    @property
    def normalizers(self) -> dict:
        """path -> function normalizing a value, for every field with a normalizer."""
        found = self.__dict__.get("_normalizers")
        if found is None:
            found = self.__dict__["_normalizers"] = {p: l.normalized for p, l in self.leaves.items() if l.normalizer is not None}
        return found

    # ---- documents ----------------------------------------------------------------------
    def to_tantivy(self, key: str, document: dict[str, Any], ann: bytes | None = None) -> tantivy.Document:
        """``ann``: an ``_ann`` column read from another index (a rebuild), kept as it is."""
        doc = tantivy.Document()
        doc.add_text(KEY, key)
        if self.vector_fields:
            packed, own_ann, document = self.columns.pack(document)
            doc.add_bytes(VECTORS, packed)
            if ann is not None or own_ann is not None:
                doc.add_bytes(ANN, ann if ann is not None else own_ann)
        stored = document
        if self.definition.index_only:
            stored = {k: (None if k in self.definition.index_only else v) for k, v in document.items()}
        doc.add_bytes(SOURCE, orjson.dumps(stored))
        add = self._add
        for layout, path, parts in self._plan:
            if layout.grams is not None:  # all the field's values in one call (GramValues.add)
                v = document.get(path) if parts is None else list(values_at(document, parts))
                if v is not None:
                    self._add_grams(doc, layout, v if type(v) is list else [v])
                continue
            if parts is None:  # a top-level field: its value, or each value of its collection
                v = document.get(path)
                if v is None:
                    continue
                if type(v) is list:
                    for x in v:
                        if x is not None:
                            add(doc, layout, x)
                else:
                    add(doc, layout, v)
                continue
            for v in values_at(document, parts):
                if v is not None:
                    add(doc, layout, v)
        return doc

    @property
    def _plan(self) -> list:
        found = self.__dict__.get("_plan_cache")
        if found is None:
            found = self.__dict__["_plan_cache"] = [(l, p, None if "/" not in p else p.split("/")) for p, l in self.leaves.items()]
        return found

    def _add_grams(self, doc: tantivy.Document, layout: LeafLayout, values: list) -> None:
        texts = [x for x in values if x is not None]
        if not texts:
            return
        layout.grams.add(doc, layout.text, texts, self.schema)
        if layout.raw:
            for x in texts:
                doc.add_text(layout.raw, layout.normalized(x) if layout.normalizer is not None else x)

    def _add(self, doc: tantivy.Document, layout: LeafLayout, v: Any) -> None:
        t = layout.type
        if t == "Edm.String":
            native = layout.text and layout.index_chain.native
            if native in SIMPLE_WHEN_ASCII:
                simple = simple_suffices(v)
                if simple == self.simple_mode:  # the registered tokenizer gives the analyzer's tokens
                    doc.add_text(layout.text, v)
                else:
                    doc.add_pre_tokenized_text(layout.text, text_analyzer("standard_ascii" if simple else native).pre_tokenize(v))
            elif native:
                doc.add_text(layout.text, v)
            elif layout.text:
                joined = layout.index_chain.joined(v)
                if joined is not None:
                    doc.add_text(layout.text, joined)
                else:
                    doc.add_pre_tokenized_text(layout.text, layout.index_chain.pre_tokenized(v))
            if layout.raw:
                doc.add_text(layout.raw, layout.normalized(v) if layout.normalizer is not None else v)
        elif t in ("Edm.Int32", "Edm.Int64"):
            doc.add_integer(layout.value, int(v))
        elif t == "Edm.DateTimeOffset":
            doc.add_integer(layout.value, datetime_to_micros(v))
        elif t == "Edm.Double":
            f = double_value(v)
            if not math.isnan(f):
                doc.add_float(layout.value, f)
        elif t == "Edm.Boolean":
            doc.add_boolean(layout.value, bool(v))
        elif t == "Edm.GeographyPoint":
            point = parse_geo_point(v)
            if point:
                doc.add_float(layout.lon, point[0])
                doc.add_float(layout.lat, point[1])

    @staticmethod
    def source_of(tantivy_doc: tantivy.Document, vectors: bool = True) -> dict[str, Any]:
        """The stored document; with ``vectors=False`` vector fields are left out (None), which is cheaper."""
        source = orjson.loads(bytes(tantivy_doc.get_first(SOURCE)))
        if vectors:
            source.update(unpack_vectors(tantivy_doc.get_first(VECTORS)))
        return source

    @staticmethod
    def ann_column(tantivy_doc: tantivy.Document) -> bytes | None:
        raw = tantivy_doc.get_first(ANN)
        return bytes(raw) if raw else None

    @staticmethod
    def ann_of(tantivy_doc: tantivy.Document) -> dict:
        """The stored:false vectors backing the ANN index (originals, or ``Codes``)."""
        return unpack_ann(tantivy_doc.get_first(ANN))


def values_at(document: Any, parts: list[str]) -> Iterator[Any]:
    """Every value at a path, descending through objects and collections."""
    if not parts:
        if isinstance(document, list):
            yield from document
        else:
            yield document
        return
    if isinstance(document, list):
        for item in document:
            yield from values_at(item, parts)
        return
    if isinstance(document, dict):
        yield from values_at(document.get(parts[0]), parts[1:])
