"""The two stored columns of vector fields in a tantivy document.

* ``_vectors``: the source copy of every ``stored`` vector field (what a search returns and a merge reads),
  packed in the field's element type: ``{name: [dtype, base64]}`` (a bare base64 string is float32, as
  written by earlier weft versions).
* ``_ann``: for ``stored: false`` fields only, what backs the ANN index so that it can be rebuilt after a
  crash: the full-precision original (Azure's "original full-precision vectors", kept unless the
  compression's ``rescoreStorageMethod`` is ``discardOriginals``) or else only the index's codes
  (int8 with their scale, or packed bits). It is never returned and never read by a merge, so a merge
  that omits such a vector drops it, as Azure documents.
"""
from __future__ import annotations

import base64
from typing import Any

import numpy as np
import orjson

from weft.search.engine.vector_codec import Codec, Codes
from weft.search.vector_options import VectorStorage
from weft.search.vector_values import SingleVector

VECTORS = "_vectors"
ANN = "_ann"


def _b64(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")


def _b64_values(vector: Any, dtype: str) -> str:
    """A document's vector in ``dtype``, base64: a ``SingleVector``'s float32 bytes as they are."""
    if dtype == "float32" and type(vector) is SingleVector:
        return base64.b64encode(vector.f32).decode("ascii")
    return _b64(np.asarray(vector, dtype=dtype))


class VectorColumns:
    def __init__(self, storages: dict[str, tuple[VectorStorage, str]]):
        """``storages``: field name -> (storage, metric)."""
        self.storages = {name: s for name, (s, _) in storages.items()}
        self.stored = [name for name, s in self.storages.items() if s.stored]
        self.unstored = [name for name, s in self.storages.items() if not s.stored]
        self.codecs = {name: Codec(s, metric) for name, (s, metric) in storages.items()}

    def share_codecs(self, indexes: dict) -> None:
        """Encode ``_ann`` codes with the ANN indexes' own codecs (one scalar-quantization scale per field)."""
        for name, vi in indexes.items():
            if name in self.codecs:
                self.codecs[name] = vi.codec

    def pack(self, document: dict[str, Any]) -> tuple[bytes, bytes | None, dict[str, Any]]:
        """(``_vectors`` bytes, ``_ann`` bytes or None, the document without its vectors)."""
        packed: dict[str, list] = {}
        ann: dict[str, list] = {}
        for name in self.stored:
            vector = document.get(name)
            if vector is not None:
                dtype = self.storages[name].dtype
                packed[name] = [dtype, _b64_values(vector, dtype)]
        for name in self.unstored:
            vector = document.get(name)
            if vector is None:
                continue
            storage = self.storages[name]
            if storage.keeps_originals:
                ann[name] = ["o", storage.dtype, _b64_values(vector, storage.dtype)]
            else:
                codec = self.codecs[name]
                codes = codec.encode([vector])[0]
                ann[name] = ["c", str(codes.dtype), _b64(codes), None if codec.per_vector_scale else codec.scale]
        rest = {k: (None if k in self.storages else v) for k, v in document.items()}
        return orjson.dumps(packed), (orjson.dumps(ann) if self.unstored else None), rest


def unpack_vectors(raw: bytes | None) -> dict[str, list]:
    if not raw:
        return {}
    out = {}
    for name, value in orjson.loads(bytes(raw)).items():
        if isinstance(value, str):
            out[name] = np.frombuffer(base64.b64decode(value), dtype=np.float32).tolist()
        else:
            dtype, b64 = value
            array = np.frombuffer(base64.b64decode(b64), dtype=dtype)
            out[name] = array.astype(np.float32).tolist() if array.dtype.kind == "f" else array.tolist()
    return out


def unpack_ann(raw: bytes | None) -> dict[str, "list | Codes"]:
    """Per unstored field: its original values (a list), or the ANN codes (``Codes``)."""
    if not raw:
        return {}
    out: dict[str, Any] = {}
    for name, value in orjson.loads(bytes(raw)).items():
        array = np.frombuffer(base64.b64decode(value[2]), dtype=value[1])
        if value[0] == "o":
            out[name] = array.astype(np.float32).tolist() if array.dtype.kind == "f" else array.tolist()
        else:
            out[name] = Codes(array.copy(), value[3])
    return out


def original_array(value: Any) -> np.ndarray | None:
    """A full-precision vector for rescoring, or None (codes, or no vector)."""
    if value is None or isinstance(value, Codes):
        return None
    return np.asarray(value, dtype=np.float32)


def originals_reader(handle, name: str):
    """``keys -> {key: float32 vector}`` reading a field's full-precision originals from the stored documents:
    the source copy (``_vectors``) of a stored field, the ``_ann`` column of an unstored one."""
    from weft.search.engine.tantivy_layout import Layout

    stored = handle.layout.columns.storages[name].stored

    def read(keys: list[str]) -> dict[str, np.ndarray]:
        from weft.search.engine.tantivy_writer import keys_query

        searcher = handle.searcher()
        key_name = handle.definition.key_field.name
        result = searcher.search(keys_query(handle.layout.schema, keys), limit=len(keys), count=False)
        out = {}
        for _, address in result.hits:
            doc = searcher.doc(address)
            key = Layout.source_of(doc, vectors=False)[key_name]
            value = (unpack_vectors(doc.get_first(VECTORS)) if stored else unpack_ann(doc.get_first(ANN))).get(name)
            array = original_array(value)
            if array is not None:
                out[key] = array
        return out

    return read
