"""Merging the hits of several knowledge-source queries into one ranked list, and turning that list into the
grounding chunks and references of a ``retrieve`` answer within its output budget (GA and preview alike)."""
from __future__ import annotations

import json
from typing import Any


def keep_best(merged: dict, source_name: str, hit: dict, activity_id: int, options: dict) -> None:
    """One hit per source and document: the one with the best reranker score (none below the source's
    ``rerankerThreshold``)."""
    key = (source_name, hit["docKey"])
    reranker = hit.get("rerankerScore")
    threshold = options.get("rerankerThreshold")
    if threshold is not None and (reranker is None or reranker < threshold):
        return
    current = merged.get(key)
    if current is None or (reranker or -1) > (current.get("rerankerScore") or -1):
        merged[key] = dict(hit, activitySource=activity_id, source=source_name, options=options)


def ordered(merged: dict) -> list[dict]:
    """Best reranker score first (hits without one last), then the first-stage score."""
    return sorted(merged.values(), key=lambda h: (-(h["rerankerScore"] if h.get("rerankerScore") is not None else -1), -h["score"]))


def within_budget(hits: list[dict], budget: int) -> tuple[list[dict], list[dict]]:
    """(chunks, references): as many hits as fit ``budget`` characters of the JSON answer, in order."""
    chunks, references, used = [], [], 2
    for hit in hits:
        chunk = {"ref_id": len(chunks), **({"title": hit["title"]} if hit.get("title") else {}), "content": hit["content"]}
        size = len(json.dumps(chunk, ensure_ascii=False)) + 1
        if used + size > budget:
            break
        used += size
        chunks.append(chunk)
        options = hit["options"]
        if options.get("includeReferences", True):
            reference: dict[str, Any] = {"type": "searchIndex", "id": str(chunk["ref_id"]), "activitySource": hit["activitySource"],
                                         "docKey": hit["docKey"], "rerankerScore": hit.get("rerankerScore")}
            if options.get("includeReferenceSourceData"):
                reference["sourceData"] = hit["sourceData"]
            references.append(reference)
    return chunks, references
