"""Ranking quality and reranker cost, side by side in one run: BM25, hybrid (BM25 + all-MiniLM-L6-v2 vectors, RRF)
and hybrid + semantic ranking (the local reranker), over HTTP against one `weft serve`.

The labelled set is built here, from text on this machine: the docstrings of the installed Python packages. Each
docstring with a summary line and at least two more sentences becomes one document (title: the qualified name;
content: the docstring without its summary line) and one query (the summary line). The relevant document for a
query is the one it was cut from (one relevant document per query; nDCG@10 = 1/log2(1 + rank) when it is in the
top 10, else 0; also recall@10 and MRR). This "inverse cloze" set is self-supervised: the query is never in the
document's text, so exact-match retrieval has no head start, but summary and body share vocabulary.

    .venv/bin/python bench/retrieval/run.py [--docs 2000] [--queries 200]

Writes bench/retrieval/RESULTS.md and its section of bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import importlib
import inspect
import math
import os
import pkgutil
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tests.support.server import WeftServer  # noqa: E402

PACKAGES = ("json", "email", "http", "asyncio", "concurrent", "logging", "sqlite3", "urllib", "xml", "unittest", "argparse",
            "collections", "pathlib", "sqlalchemy", "httpx", "fastapi", "starlette", "pydantic", "typer", "rich", "numpy",
            "cryptography", "azure.search.documents", "openai", "hypothesis", "pytest", "jwt", "tantivy", "uvicorn")
_SENT = re.compile(r"(?<=[.!?])\s+")


def harvest(limit: int, seed: int) -> list[dict]:
    seen, out = set(), []
    for top in PACKAGES:
        try:
            package = importlib.import_module(top)
        except Exception:
            continue
        modules = [package]
        for info in pkgutil.walk_packages(getattr(package, "__path__", []), prefix=top + "."):
            if "test" in info.name or "._" in info.name:
                continue
            try:
                modules.append(importlib.import_module(info.name))
            except Exception:
                continue
            if len(modules) > 80:
                break
        for module in modules:
            for name, obj in list(vars(module).items())[:400]:
                if name.startswith("_") or not (inspect.isfunction(obj) or inspect.isclass(obj)):
                    continue
                doc = inspect.getdoc(obj) or ""
                parts = doc.split("\n\n", 1)
                summary = " ".join(parts[0].split())
                body = " ".join(parts[1].split()) if len(parts) > 1 else ""
                if not (20 <= len(summary) <= 200) or len(_SENT.split(body)) < 2 or len(body) < 120 or summary in seen:
                    continue
                seen.add(summary)
                out.append({"title": f"{module.__name__}.{name}", "content": body[:3000], "query": summary})
    random.Random(seed).shuffle(out)
    return out[:limit]


def ndcg_rank(ranked: list[str], relevant: str) -> tuple[float, float, float]:
    if relevant in ranked[:10]:
        r = ranked.index(relevant) + 1
        return 1 / math.log2(1 + r), 1.0, 1 / r
    return 0.0, 0.0, 0.0


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=2000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args()
    docs = harvest(args.docs, args.seed)
    print(f"{len(docs)} documents harvested", file=sys.stderr)
    for i, d in enumerate(docs):
        d["id"] = str(i)
    srv = WeftServer(Path(tempfile.mkdtemp(prefix="weft-bench-retrieval-")) / "data").start(timeout=60)
    h = {"api-key": srv.admin_key}
    index = {"name": "docs", "fields": [
        {"name": "id", "type": "Edm.String", "key": True},
        {"name": "title", "type": "Edm.String", "searchable": True},
        {"name": "content", "type": "Edm.String", "searchable": True, "analyzer": "en.lucene"},
        {"name": "vec", "type": "Collection(Edm.Single)", "searchable": True, "dimensions": 384, "vectorSearchProfile": "p", "retrievable": False}],
        "vectorSearch": {"algorithms": [{"name": "h", "kind": "hnsw"}], "profiles": [{"name": "p", "algorithm": "h", "vectorizer": "m"}],
                         "vectorizers": [{"name": "m", "kind": "local", "localParameters": {"model": "all-MiniLM-L6-v2"}}]},
        "semantic": {"configurations": [{"name": "sem", "prioritizedFields": {"titleField": {"fieldName": "title"},
                                                                             "prioritizedContentFields": [{"fieldName": "content"}]}}]}}
    try:
        with httpx.Client(timeout=600, headers=h) as http:
            assert http.post(srv.url("/indexes"), json=index).status_code == 201
            from weft.search import vectorizers

            t0 = time.perf_counter()
            vectors = vectorizers.embed_many({"kind": "local", "localParameters": {"model": "all-MiniLM-L6-v2"}},
                                             [f"{d['title']} {d['content']}" for d in docs])
            embed_seconds = time.perf_counter() - t0
            for start in range(0, len(docs), 200):
                batch = [{"@search.action": "upload", "id": d["id"], "title": d["title"], "content": d["content"], "vec": v}
                         for d, v in zip(docs[start:start + 200], vectors[start:start + 200])]
                assert http.post(srv.url("/indexes/docs/docs/index"), json={"value": batch}).status_code == 200
            queries = docs[: args.queries]
            modes = {
                "BM25": lambda q: {"search": q, "top": 10, "select": "id"},
                "hybrid (BM25 + vectors, RRF)": lambda q: {"search": q, "top": 10, "select": "id",
                                                           "vectorQueries": [{"kind": "text", "text": q, "fields": "vec", "k": 50}]},
                "hybrid + semantic (local reranker)": lambda q: {"search": q, "top": 10, "select": "id", "queryType": "semantic",
                                                                 "vectorQueries": [{"kind": "text", "text": q, "fields": "vec", "k": 50}]},
                "BM25 + semantic (local reranker)": lambda q: {"search": q, "top": 10, "select": "id", "queryType": "semantic"},
            }
            scores = {m: [] for m in modes}
            latency = {m: [] for m in modes}
            loads = []
            for n, d in enumerate(queries):
                order = list(modes)
                random.Random(n).shuffle(order)
                for m in order:
                    t = time.perf_counter()
                    r = http.post(srv.url("/indexes/docs/docs/search"), json=modes[m](d["query"]))
                    latency[m].append((time.perf_counter() - t) * 1000)
                    assert r.status_code == 200, r.text[:300]
                    scores[m].append(ndcg_rank([v["id"] for v in r.json()["value"]], d["id"]))
                if n % 50 == 0:
                    loads.append(os.getloadavg()[0])
                    print(f"{n}/{len(queries)}", file=sys.stderr)
            # the reranker alone, 50 candidates, cold cache: fresh texts each time
            from weft.search.ranking.rerankers import LocalReranker

            cold = []
            for n in range(20):
                reranker = LocalReranker()
                texts = [f"{d['title']} {d['content']}" for d in random.Random(100 + n).sample(docs, 50)]
                t = time.perf_counter()
                reranker.score(queries[n]["query"], texts)
                cold.append((time.perf_counter() - t) * 1000)
    finally:
        srv.stop()
    hybrid = "hybrid (BM25 + vectors, RRF)"
    semantic = "hybrid + semantic (local reranker)"
    added = [s - b for s, b in zip(latency[semantic], latency[hybrid])]
    rows = []
    for m in modes:
        nd = statistics.mean(s[0] for s in scores[m])
        rec = statistics.mean(s[1] for s in scores[m])
        mrr = statistics.mean(s[2] for s in scores[m])
        rows.append(f"| {m} | {nd:.3f} | {rec:.3f} | {mrr:.3f} | {statistics.median(latency[m]):.1f} | {pct(latency[m], 95):.1f} |")
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    table = "\n".join([
        f"Run {stamp}: {len(docs):,} documents and {len(queries)} queries from the docstrings of installed packages (inverse cloze: "
        "the summary line is the query, the rest of the docstring the one relevant document); embeddings of the documents "
        f"computed once ({embed_seconds:.0f} s) and uploaded. Load average {min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} cores.",
        "",
        "| ranking | nDCG@10 | recall@10 | MRR@10 | p50 ms | p95 ms |",
        "| --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
        f"Reranker cost: semantic ranking adds p50 {statistics.median(added):.1f} ms / p95 {pct(added, 95):.1f} ms to a hybrid query "
        "(paired per query, over HTTP, 50 candidates; document embeddings are cached, so this is one query embedding plus scoring "
        f"for candidates seen before). The local reranker alone on 50 new candidates (cold cache): p50 {statistics.median(cold):.0f} ms, "
        f"p95 {pct(cold, 95):.0f} ms (one PyTorch thread).",
    ])
    (ROOT / "bench" / "retrieval" / "RESULTS.md").write_text("# Ranking quality and reranker cost (bench/retrieval/run.py)\n\n" + table + "\n")
    results = ROOT / "bench" / "RESULTS.md"
    text = results.read_text() if results.exists() else ""
    block = "<!-- retrieval:begin -->\n## Semantic ranking: nDCG@10 and reranker latency\n\n" + table + "\n<!-- retrieval:end -->"
    if "<!-- retrieval:begin -->" in text:
        text = re.sub(r"<!-- retrieval:begin -->.*<!-- retrieval:end -->", lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    results.write_text(text)
    print(table)


if __name__ == "__main__":
    main()
