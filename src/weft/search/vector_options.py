"""Vector storage options of an index definition: element types, ``stored``, and ``vectorSearch.compressions``.

Pure (no engine): parses and checks what Azure AI Search defines for vector storage and resolves, for
one vector field, how the engine keeps it (``VectorStorage``). Azure's rules (reference note
azure-relevance.md §8, from ``DOCS/vector-search-how-to-storage-options.md``,
``vector-search-how-to-quantization.md``, ``vector-search-how-to-assign-narrow-data-types.md``,
``vector-search-how-to-index-binary-data.md``):

* element types ``Edm.Single`` (float32), ``Edm.Half`` (float16), ``Edm.Int16``, ``Edm.SByte`` (int8) and
  ``Edm.Byte`` (only with ``vectorEncoding: packedBit``: ``dimensions`` counts bits, a document holds
  ``dimensions / 8`` bytes, the metric is ``hamming``);
* ``stored: false`` only on vector fields, only with ``retrievable: false``, fixed once the field exists;
* compressions (``scalarQuantization`` int8, ``binaryQuantization``) are referenced by profiles, apply to
  float fields (Single, Half) with HNSW only, and cannot be changed on an existing field.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from weft.errors import InvalidInput

# element type -> numpy dtype of the values as documents give them
ELEMENT_DTYPES = {
    "Edm.Single": "float32",
    "Edm.Half": "float16",
    "Edm.Int16": "int16",
    "Edm.SByte": "int8",
    "Edm.Byte": "uint8",
}
VECTOR_TYPES = frozenset(f"Collection({t})" for t in ELEMENT_DTYPES)
FLOAT_TYPES = ("Edm.Single", "Edm.Half")
_RANGES = {"Edm.Half": 65504.0, "Edm.Int16": (-32768, 32767), "Edm.SByte": (-128, 127), "Edm.Byte": (0, 255)}

COMPRESSION_KINDS = {"scalarQuantization": "scalar", "binaryQuantization": "binary"}
_COMPRESSION_MEMBERS = {"name", "kind", "scalarQuantizationParameters", "rescoringOptions", "truncationDimension",
                        "rerankWithOriginalVectors", "defaultOversampling"}
_RESCORING_MEMBERS = {"enableRescoring", "defaultOversampling", "rescoreStorageMethod"}
STORAGE_METHODS = ("preserveOriginals", "discardOriginals")
DEFAULT_OVERSAMPLING = 4.0


@dataclass(frozen=True)
class VectorStorage:
    """How one vector field is kept and searched."""

    element: str = "Edm.Single"  # element type
    dimensions: int = 0  # Azure's dimensions (bits for packedBit)
    stored: bool = True  # a source copy (returned, used by merges) exists
    compression: str | None = None  # None | "scalar" | "binary"
    rescoring: bool = False  # rescore the oversampled candidates
    oversampling: float = 1.0  # default candidates per result
    preserve_originals: bool = True  # full-precision originals kept for rescoring (and rebuilds)
    truncation: int | None = None  # dimensions the ANN index keeps (Matryoshka truncation)

    @property
    def dtype(self) -> str:
        return ELEMENT_DTYPES[self.element]

    @property
    def packed_bits(self) -> bool:
        return self.element == "Edm.Byte"

    @property
    def length(self) -> int:
        """How many numbers a document's (and a query's) vector has."""
        return self.dimensions // 8 if self.packed_bits else self.dimensions

    @property
    def index_dimensions(self) -> int:
        """Dimensions of the vectors the ANN index holds."""
        if self.truncation is not None and self.truncation < self.dimensions:
            return self.truncation
        return self.dimensions

    @property
    def keeps_originals(self) -> bool:
        """Whether the full-precision vector is kept beside the ANN index when no source copy is stored."""
        return self.compression is None or self.preserve_originals

    def signature(self) -> tuple:
        return (self.element, self.dimensions, self.stored, self.compression, self.preserve_originals, self.truncation)


# ---- field definition ------------------------------------------------------------------------------------------
def parse_vector_storage(raw: dict, full: str, type_name: str, retrievable: bool) -> dict[str, Any]:
    """The vector-storage members of a vector field definition (``extra`` entries), checked."""
    element = type_name[len("Collection(") : -1]
    extra: dict[str, Any] = {}
    encoding = raw.get("vectorEncoding")
    if encoding is not None:
        if encoding != "packedBit":
            raise InvalidInput(f"The vector field '{full}' has vectorEncoding '{encoding}'; the only encoding is 'packedBit'.")
        if element != "Edm.Byte":
            raise InvalidInput(f"The vector field '{full}' has vectorEncoding 'packedBit', which requires type Collection(Edm.Byte).")
        extra["vectorEncoding"] = encoding
    elif element == "Edm.Byte":
        raise InvalidInput(f"The vector field '{full}' has type Collection(Edm.Byte), which is allowed only with vectorEncoding 'packedBit'.")
    if element == "Edm.Byte" and raw.get("dimensions", 0) % 8:
        raise InvalidInput(f"The packedBit vector field '{full}' needs 'dimensions' (a count of bits) that is a multiple of 8.")
    stored = raw.get("stored")
    if stored is not None and not isinstance(stored, bool):
        raise InvalidInput(f"The value of attribute 'stored' of field '{full}' must be a boolean.")
    if stored is False:
        if retrievable:
            raise InvalidInput(f"The vector field '{full}' has 'stored' false, which requires 'retrievable' false: a vector "
                               "that is not stored cannot be returned.")
        extra["stored"] = False
    return extra


def check_stored_attribute(raw: dict, full: str) -> None:
    """``stored`` on a field that is not a vector field: Azure defines it for vector fields only."""
    stored = raw.get("stored")
    if stored is None or stored is True:
        return
    if not isinstance(stored, bool):
        raise InvalidInput(f"The value of attribute 'stored' of field '{full}' must be a boolean.")
    raise InvalidInput(f"The field '{full}' has 'stored' false; only vector fields can be left unstored.")


# ---- vectorSearch.compressions ------------------------------------------------------------------------------
def validate_compressions(config: dict, profiles: dict[str, dict], algorithms: dict[str, dict], fields: list) -> None:
    """Checks ``vectorSearch.compressions``, the profiles' references to them, and the fields that use them."""
    raw = config.get("compressions")
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        raise InvalidInput("'vectorSearch.compressions' must be an array.")
    compressions: dict[str, dict] = {}
    for c in raw:
        if not isinstance(c, dict) or not isinstance(c.get("name"), str) or not c["name"]:
            raise InvalidInput("Each vector search compression needs a name.")
        name = c["name"]
        if name in compressions:
            raise InvalidInput(f"The vector search compression name '{name}' is used more than once.")
        unknown = sorted(set(c) - _COMPRESSION_MEMBERS - {"@odata.type"})
        if unknown:
            raise InvalidInput(f"The vector search compression '{name}' has the unknown member '{unknown[0]}'.")
        _compression_options(c)
        compressions[name] = c
    for p in profiles.values():
        ref = p.get("compression")
        if ref is None:
            continue
        if ref not in compressions:
            raise InvalidInput(f"The vector search profile '{p['name']}' refers to the unknown compression '{ref}'.")
        if algorithms[p["algorithm"]].get("kind") != "hnsw":
            raise InvalidInput(f"The vector search profile '{p['name']}' uses compression '{ref}' with an exhaustiveKnn "
                               "algorithm; compression applies to hnsw algorithms only.")
    for f in fields:
        profile = profiles.get(f.extra.get("vectorSearchProfile"))
        if profile is None:
            continue
        metric = ((algorithms[profile["algorithm"]].get("hnswParameters") or algorithms[profile["algorithm"]].get("exhaustiveKnnParameters") or {}).get("metric")
                  or "cosine")
        element = f.type[len("Collection(") : -1]
        if (metric == "hamming") != (element == "Edm.Byte"):
            raise InvalidInput(f"The vector field '{f.name}' uses metric '{metric}': the 'hamming' metric is for packedBit "
                               "Collection(Edm.Byte) fields, and those need it.")
        if profile.get("compression") is not None and element not in FLOAT_TYPES:
            raise InvalidInput(f"The vector field '{f.name}' of type '{f.type}' uses compression '{profile['compression']}'; "
                               "compression applies to Collection(Edm.Single) and Collection(Edm.Half) fields only.")


def _compression_options(c: dict) -> tuple[str, bool, float, bool, int | None]:
    """(kind, rescoring, defaultOversampling, preserveOriginals, truncationDimension) of one compression."""
    name = c["name"]
    kind = COMPRESSION_KINDS.get(c.get("kind"))
    if kind is None:
        raise InvalidInput(f"The vector search compression '{name}' has kind '{c.get('kind')}'; use scalarQuantization or binaryQuantization.")
    params = c.get("scalarQuantizationParameters")
    if params is not None:
        if kind != "scalar":
            raise InvalidInput(f"The vector search compression '{name}' is binaryQuantization and cannot have 'scalarQuantizationParameters'.")
        if not isinstance(params, dict) or set(params) - {"quantizedDataType"}:
            raise InvalidInput(f"The 'scalarQuantizationParameters' of compression '{name}' may only set 'quantizedDataType'.")
        if params.get("quantizedDataType") not in (None, "int8"):
            raise InvalidInput(f"The compression '{name}' has quantizedDataType '{params.get('quantizedDataType')}'; the only type is 'int8'.")
    options = c.get("rescoringOptions")
    legacy = {k: c[k] for k in ("rerankWithOriginalVectors", "defaultOversampling") if c.get(k) is not None}
    if options is not None and legacy:
        raise InvalidInput(f"The compression '{name}' sets both 'rescoringOptions' and '{next(iter(legacy))}'; use 'rescoringOptions'.")
    if options is None:
        options = {}
        if "rerankWithOriginalVectors" in legacy:
            options["enableRescoring"] = legacy["rerankWithOriginalVectors"]
        if "defaultOversampling" in legacy:
            options["defaultOversampling"] = legacy["defaultOversampling"]
    if not isinstance(options, dict):
        raise InvalidInput(f"The 'rescoringOptions' of compression '{name}' must be an object.")
    unknown = sorted(set(options) - _RESCORING_MEMBERS)
    if unknown:
        raise InvalidInput(f"The 'rescoringOptions' of compression '{name}' have the unknown member '{unknown[0]}'.")
    enable = options.get("enableRescoring")
    if enable is None:
        enable = True
    if not isinstance(enable, bool):
        raise InvalidInput(f"'rescoringOptions.enableRescoring' of compression '{name}' must be a boolean.")
    oversampling = options.get("defaultOversampling")
    if oversampling is None:
        oversampling = DEFAULT_OVERSAMPLING
    if isinstance(oversampling, bool) or not isinstance(oversampling, (int, float)) or not math.isfinite(oversampling) or oversampling < 1:
        raise InvalidInput(f"'rescoringOptions.defaultOversampling' of compression '{name}' must be a number of at least 1.")
    method = options.get("rescoreStorageMethod") or "preserveOriginals"
    if method not in STORAGE_METHODS:
        raise InvalidInput(f"'rescoringOptions.rescoreStorageMethod' of compression '{name}' is '{method}'; use preserveOriginals or discardOriginals.")
    if kind == "scalar" and enable and method == "discardOriginals":
        raise InvalidInput(f"The scalarQuantization compression '{name}' has rescoreStorageMethod 'discardOriginals', so it has no "
                           "original vectors to rescore with: set 'rescoringOptions.enableRescoring' false or use 'preserveOriginals'.")
    truncation = c.get("truncationDimension")
    if truncation is not None and (isinstance(truncation, bool) or not isinstance(truncation, int) or truncation < 2):
        raise InvalidInput(f"'truncationDimension' of compression '{name}' must be an integer of at least 2, or null.")
    return kind, enable, float(oversampling), method == "preserveOriginals", truncation


def storage_of(field, profile: dict, config: dict) -> VectorStorage:
    element = field.type[len("Collection(") : -1]
    stored = field.extra.get("stored", True)
    ref = profile.get("compression")
    if ref is None:
        return VectorStorage(element, field.dimensions, stored)
    c = next(c for c in config.get("compressions") or [] if c["name"] == ref)
    kind, enable, oversampling, preserve, truncation = _compression_options(c)
    return VectorStorage(element, field.dimensions, stored, kind, enable, oversampling, preserve, truncation)


def check_storage_update(path: str, old: VectorStorage, new: VectorStorage) -> None:
    """Azure: ``stored`` and compression are fixed once a vector field exists."""
    if old.stored != new.stored:
        raise InvalidInput(f"Existing vector field '{path}' cannot change its 'stored' attribute.", code="OperationNotAllowed")
    if (old.compression, old.preserve_originals, old.index_dimensions) != (new.compression, new.preserve_originals, new.index_dimensions):
        raise InvalidInput(f"Existing vector field '{path}' cannot change its compression; add a new field with a new profile.",
                           code="OperationNotAllowed")


# ---- documents and queries ----------------------------------------------------------------------------------
def check_values(element: str, values: list, describe) -> list:
    """The canonical values of one vector of this element type; ``describe(v)`` raises for a bad value."""
    if element == "Edm.Single":
        return [float(v) for v in values]
    if element == "Edm.Half":
        limit = _RANGES["Edm.Half"]
        for v in values:
            if abs(v) > limit:
                describe(v, f"is outside the range of Edm.Half (±{limit:g})")
        return [float(v) for v in values]
    lo, hi = _RANGES[element]
    out = []
    for v in values:
        if isinstance(v, float) and not v.is_integer():
            describe(v, f"is not an integer ({element})")
        if not lo <= v <= hi:
            describe(v, f"is outside the range of {element} ({lo} to {hi})")
        out.append(int(v))
    return out


def query_oversampling(value: Any, storage: VectorStorage, name: str, i: int) -> float | None:
    """A vector query's ``oversampling``: allowed only on compressed fields (it implies rescoring)."""
    if value is None:
        return None
    p = "\r\nParameter name: vectorQueries"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 1:
        raise InvalidInput(f"vectorQueries[{i}].oversampling must be a number of at least 1." + p)
    if storage.compression is None:
        raise InvalidInput(f"vectorQueries[{i}].oversampling can only be used on compressed vector fields; the field '{name}' "
                           "has no compression in its vector search profile." + p)
    return float(value)
