"""The index's ``similarity`` (pure check).

weft ranks text with tantivy's BM25, whose constants are fixed at k1 = 1.2 and b = 0.75 (Azure's defaults;
``tests/search/test_similarity.py`` recomputes scores with them). So ``BM25Similarity`` with ``k1``/``b``
null or equal to those values is what weft does, and anything else is refused with a 400 naming the
member, rather than stored without effect: other k1/b values and ``ClassicSimilarity`` (TF-IDF, which
Azure itself refuses on services created after July 2020).
"""
from __future__ import annotations

from typing import Any

from weft.errors import InvalidInput

BM25 = "#Microsoft.Azure.Search.BM25Similarity"
CLASSIC = "#Microsoft.Azure.Search.ClassicSimilarity"
K1, B = 1.2, 0.75  # tantivy's BM25 (tantivy::query::bm25)


def check_similarity(similarity: Any) -> None:
    if similarity is None:
        return
    if not isinstance(similarity, dict):
        raise InvalidInput("'similarity' must be an object with an '@odata.type'.\r\nParameter name: similarity")
    odata_type = similarity.get("@odata.type")
    if odata_type == CLASSIC:
        raise InvalidInput("The similarity '#Microsoft.Azure.Search.ClassicSimilarity' is not supported: weft ranks with BM25 "
                           f"only (as Azure does for services created after July 2020); use '{BM25}'.\r\nParameter name: similarity")
    if odata_type != BM25:
        raise InvalidInput(f"Unknown similarity '@odata.type' {odata_type!r}; use '{BM25}'.\r\nParameter name: similarity")
    for member, fixed in (("k1", K1), ("b", B)):
        value = similarity.get(member)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidInput(f"similarity.{member} must be a number.\r\nParameter name: similarity.{member}")
        if float(value) != fixed:
            raise InvalidInput(
                f"similarity.{member} = {value} is not supported: weft's BM25 (tantivy) uses k1 = {K1} and b = {B}, "
                f"Azure's defaults, and cannot change them; leave {member} null or set it to {fixed}.\r\n"
                f"Parameter name: similarity.{member}"
            )
    unknown = set(similarity) - {"@odata.type", "k1", "b"}
    if unknown:
        name = sorted(unknown)[0]
        raise InvalidInput(f"The similarity has the unknown member '{name}'.\r\nParameter name: similarity.{name}")
