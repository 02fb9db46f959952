"""Searches on the event loop or in a pool; bounded geo-distance ordering (issue 10).

    PYTHONPATH=src python bench/offloop.py

1. A cheap query (one common term, top 10) run inline in a coroutine vs handed to a
   ThreadPoolExecutor from the coroutine (the hop weft pays for expensive queries).
2. ``$orderby=geo.distance(...)`` over every document, top 10: the bounded path (fast-field
   distances, a heap, then only the page's documents read) vs the former full sort (every
   document read and compared).
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import random
import statistics
import tempfile
import time
from pathlib import Path

from weft.search.service import SearchService


def main() -> None:
    rnd = random.Random(3)
    words = [f"w{i}" for i in range(5000)]
    svc = SearchService(Path(tempfile.mkdtemp()) / "s")
    svc.create_index({"name": "bench", "fields": [
        {"name": "id", "type": "Edm.String", "key": True}, {"name": "t", "type": "Edm.String", "searchable": True},
        {"name": "g", "type": "Edm.GeographyPoint", "filterable": True, "sortable": True}]})
    n_docs = 100_000
    for start in range(0, n_docs, 1000):
        svc.apply_batch("bench", {"value": [{"id": str(i), "t": " ".join(rnd.choice(words) for _ in range(10)) + " common",
                                             "g": {"type": "Point", "coordinates": [rnd.uniform(-180, 180), rnd.uniform(-85, 85)]}}
                                            for i in range(start, start + 1000)]})
    time.sleep(3)
    cheap = {"search": "w17", "top": 10}
    pool = concurrent.futures.ThreadPoolExecutor(1)

    async def inline():
        return svc.search("bench", cheap)

    async def pooled():
        return await asyncio.get_running_loop().run_in_executor(pool, svc.search, "bench", cheap)

    async def timed(fn, n=2000):
        out = []
        for _ in range(n):
            t = time.perf_counter()
            await fn()
            out.append((time.perf_counter() - t) * 1e6)
        return out

    loop = asyncio.new_event_loop()
    for name, fn in (("inline", inline), ("pool", pooled), ("inline", inline), ("pool", pooled)):
        xs = loop.run_until_complete(timed(fn))
        print(f"cheap query {name:6s}: median {statistics.median(xs):7.0f} µs, p99 {statistics.quantiles(xs, n=100)[98]:7.0f} µs")
    geo = {"search": "*", "orderby": "geo.distance(g, geography'POINT(2.35 48.85)') asc", "top": 10}
    from weft.search.engine import tantivy_search as te

    for label in ("bounded", "full sort"):
        if label == "full sort":
            te.Search._nearest = lambda self, hits, target, descending, need: hits
        times = []
        for _ in range(3):
            t = time.perf_counter()
            result = svc.search("bench", geo)
            times.append(time.perf_counter() - t)
        print(f"geo.distance order over {n_docs} docs, top 10, {label:9s}: {min(times) * 1000:7.0f} ms "
              f"(first key {result['value'][0]['id']})")
    svc.close()


if __name__ == "__main__":
    main()
