"""Render the benchmark results (the dict run.py builds) as Markdown."""
from __future__ import annotations

import math


def _f(x, digits=2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:,.{digits}f}"


def _i(x) -> str:
    return "n/a" if x is None else f"{x:,.0f}"


def _yes(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


def targets(r: dict, kinds: list[str]) -> list[tuple[str, str, bool]]:
    out = []
    hb, ri = r["http_bulk"], r["raw_ingest"]
    ratio = hb["docs_per_s"] / ri["docs_per_s"]
    out.append(("HTTP bulk indexing >= 70% of raw tantivy ingest",
                f"{_i(hb['docs_per_s'])} vs {_i(ri['docs_per_s'])} docs/s = {ratio * 100:.0f}%", ratio >= 0.70))
    lat = r["latency"]
    diffs = {k: lat["weft_http"][k]["p50"] - lat["raw"][k]["p50"] for k in kinds}
    met = [k for k in kinds if diffs[k] <= 1.0]
    worst = max(diffs, key=diffs.get)
    out.append(("HTTP query p50 <= raw p50 + 1 ms (each query type)",
                f"{len(met)} of {len(kinds)} types; worst {worst}: +{diffs[worst]:.2f} ms", len(met) == len(kinds)))
    for label, t in r["throughput"].items():
        q = t["weft_http"]["qps"]
        out.append((f">= 1,000 q/s with {t['weft_http']['clients']} clients: {label}", f"{_i(q)} q/s", q >= 1000))
    return out


def render(r: dict, labels: dict, kinds: list[str], json_name: str) -> str:
    n = r["n"]
    L: list[str] = []
    w = L.append
    w(f"# weft benchmark: {n:,} documents")
    w("")
    w(f"Command: `{r['command']}` (run from `/work/main`). Started {r['started']}; "
      f"total {r['total_seconds'] / 60:.1f} min. Raw numbers: `{json_name}`. How it works: `README.md`.")
    w("")
    w("weft = a live `weft serve` subprocess on 127.0.0.1, driven over HTTP. raw = tantivy-py used directly "
      "in the benchmark process with an equivalent schema (see README). Both hold the same documents.")
    w("")
    w("## Targets")
    w("")
    w("| target | result | |")
    w("|---|---|---|")
    for name, value, ok in targets(r, kinds):
        w(f"| {name} | {value} | {_yes(ok)} |")
    w("")

    hb, ri = r["http_bulk"], r["raw_ingest"]
    nch = len(hb.get("chunks", []))
    w(f"## Bulk indexing ({n:,} docs, {r['batch']}-doc batches, {nch} alternating slices)")
    w("")
    w("| path | docs/s to last ack / commit | docs/s incl. merges | seconds | merge drain s | CPU s | segments after | index MiB |")
    w("|---|---|---|---|---|---|---|---|")
    w(f"| weft over HTTP: `POST /indexes/{{name}}/docs/index`, {hb['clients']} concurrent clients (weft group-commits) | "
      f"**{_i(hb['docs_per_s'])}** | {_i(hb['docs_per_s_incl_merges'])} | {_f(hb['seconds'], 1)} | {_f(hb['drain_seconds'], 1)} | "
      f"server {_f(hb['server_cpu_s'], 0)}, client {_f(hb['client_cpu_s'], 0)} | {hb.get('segments')} | {_f(hb['index_mib'], 0)} |")
    wr = f" (writer {ri['writer_heap_mb']:.0f} MB, {ri['writer_threads']} thread, as weft)" if "writer_heap_mb" in ri else ""
    w(f"| raw tantivy in-process: add_document, commit per batch{wr} | **{_i(ri['docs_per_s'])}** | {_i(ri['docs_per_s_incl_merges'])} | "
      f"{_f(ri['seconds'], 1)} | {_f(ri['drain_seconds'], 1)} | {_f(ri['cpu_s'], 0)} | {ri.get('segments')} | {_f(ri['index_mib'], 0)} |")
    w("")
    w(f"weft / raw: **{hb['docs_per_s'] / ri['docs_per_s'] * 100:.0f}%** (per slice {hb['chunk_ratio_min'] * 100:.0f}% to "
      f"{hb['chunk_ratio_max'] * 100:.0f}%). The corpus is loaded in {nch} slices alternating between the two sides (ABBA), "
      "each side draining its background merges before the other runs, so both see the same machine noise; the times "
      "are summed over the slices. weft answers a batch once its group commit is durable: batch round trip "
      f"p50 {_f(hb['batch_ms_p50'], 0)} ms, p95 {_f(hb['batch_ms_p95'], 0)} ms. raw spent {_f(ri['commit_seconds'], 1)} s "
      f"of {_f(ri['seconds'], 1)} s in {ri['commits']:,} commits. Server RSS after the load {_f(hb.get('server_rss_mib'), 0)} MiB.")
    w("")

    lat, svc = r["latency"], r.get("latency_service")
    agr = r.get("agreement_http_vs_raw", {})
    w(f"## Query latency (ms; {r['rounds']} interleaved rounds; top {10}, fetching id/title/price)")
    w("")
    w("| query | distinct | weft HTTP p50 | weft HTTP p95 | raw p50 | raw p95 | weft - raw p50 | paired diff median | "
      "weft in-process p50 | raw p50 (same pass) | top-10 id overlap | same ranking keys | facets equal |")
    w("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for k in kinds:
        a, b = lat["weft_http"][k], lat["raw"][k]
        d = a["p50"] - b["p50"]
        distinct = a["n"] // r["rounds"]
        s1 = svc["weft_service"][k]["p50"] if svc else None
        s2 = svc["raw"][k]["p50"] if svc else None
        g = agr.get(k, {})
        fac = f"{g['facets_equal']}/{g['facets_total']}" if g.get("facets_total") else ""
        same = f"{g['same_ranking']}/{g['queries']}" if "same_ranking" in g else ""
        mark = "" if d <= 1.0 else " (!)"
        w(f"| {labels[k]} | {distinct} | {_f(a['p50'])} | {_f(a['p95'])} | {_f(b['p50'])} | {_f(b['p95'])} | "
          f"**{d:+.2f}**{mark} | {lat['paired_diff_p50'][k]:+.2f} | {_f(s1)} | {_f(s2)} | {_f(g.get('overlap_mean'))} | {same} | {fac} |")
    w("")
    fl = r.get("http_floor_ms", {})
    w(f"HTTP floor (the cheapest authenticated request, `GET docs/$count`, same client): p50 {_f(fl.get('p50'))} ms, "
      f"p95 {_f(fl.get('p95'))} ms. \"weft - raw p50\" is the difference of the two medians; \"paired diff median\" is the "
      "median over (query, round) pairs of weft's time minus raw's time for the same query back to back. "
      "\"weft in-process\" calls `SearchService.search` in the benchmark process on the same index files after the "
      "server has stopped (no HTTP, JSON or threadpool), interleaved with raw again, to split weft's overhead into "
      "service layer and HTTP layer. \"same ranking keys\": queries whose top-10 list of BM25 scores (prices for the "
      "sorted query) is identical on both sides; where it is, an id overlap below 1 only reflects documents with tied "
      "scores, which each index orders by its own internal doc address. The raw equivalent of the multi-key orderby sorts on `price` only: tantivy has "
      "one `order_by_field`, so its number is a lower bound for what weft has to do.")
    w("")
    w("## Throughput (queries/s)")
    w("")
    w("| query mix | weft HTTP q/s | latency p50 / p95 under load (ms) | weft server CPU (cores) | server CPU ms/query | "
      "load generator CPU (cores) | other processes' CPU (cores) | raw 1 thread q/s |")
    w("|---|---|---|---|---|---|---|---|")
    for label, t in r["throughput"].items():
        h, rr = t["weft_http"], t["raw_1thread"]
        w(f"| {label}, {h['clients']} clients, {h['seconds']:.0f} s | **{_i(h['qps'])}** | {_f(h['latency_p50_ms'])} / "
          f"{_f(h['latency_p95_ms'])} | {_f(h['server_cpu_cores'])} | {_f(h['server_cpu_ms_per_query'])} | "
          f"{_f(h['client_cpu_cores'])} | {_f(h.get('foreign_cores'))} | {_i(rr['qps'])} |")
    w("")
    w("The load generator runs on the same 2 cores (its CPU use is in the table). The raw number is one thread "
      "in-process with no HTTP; weft runs one uvicorn process.")
    w("")
    c, qm = r["corpus"], r.get("query_meta", {})
    w("## Corpus and queries")
    w("")
    w(f"* {n:,} synthetic products, fixed seed, generated in {c['seconds']:.0f} s as {c['mib']:,.0f} MiB of JSON lines; "
      f"vocabulary {c['vocabulary']:,} pseudo-words drawn Zipf-like (weight 1/(rank+2.7)); description "
      f"{c['avg_desc_words']:.0f} words on average (50-150), title 4-10 words without the 50 most frequent words; "
      f"{c['categories']} categories (Zipf 1.1), price lognormal (median {c['median_price']}), inStock 80% true, "
      f"1-5 of {c['tags']} tags, created 2020-2024.")
    if qm:
        w(f"* Document frequencies (title or description) of the query terms: rare {qm['df_rare'][:1]}..{qm['df_rare'][-1:]}; "
          f"common {qm['df_common']}; AND/OR pair the mid range {qm['df_mid_range']} with the upper range "
          f"{qm['df_upper_range']}; phrases are adjacent pairs taken from generated descriptions, both words with df >= 5%.")
    w("* Every weft query sends `top: 10, select: id,title,price`; text queries search all searchable fields "
      "(title, description), like the raw queries (a term matches title OR description; per-field BM25 summed).")
    w("")
    m = r["machine"]
    w("## Machine")
    w("")
    vers = ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v)
    missing = ", ".join(k for k, v in m["versions"].items() if not v)
    w(f"* {m['cpu']}, {m['cores']} cores, {m['memory']} RAM, Linux {m['kernel']}, Python {m['python']}.")
    w(f"* {vers}" + (f"; not installed: {missing}" if missing else "") + ".")
    src = r.get("weft_source", {})
    w(f"* weft source measured: sha256 {src.get('sha256_12')} over {src.get('files')} files in src/weft, newest file "
      f"{src.get('newest_mtime')} (other engineers edit weft concurrently; this identifies the version).")
    fl = r.get("foreign_load_cores", {})
    if fl:
        w("* CPU used by other processes on the machine during the timed phases (cores, of 2; other sessions run test "
          "suites on this VM): " + ", ".join(f"{k} {v:.2f}" for k, v in fl.items())
          + f". Before each phase the run waited for the machine to go quiet (< 0.3 cores), {r.get('waited_for_quiet_s', 0):.0f} s "
          "in total (capped).")
    w(f"* 4 KiB append + fsync in the data dir: p50 {_f(m['fsync_4k']['p50_ms'])} ms, p95 {_f(m['fsync_4k']['p95_ms'])} ms.")
    w(f"* weft server RSS: {_f(r.get('server_start_rss_mib'), 0)} MiB at start, {_f(r['http_bulk'].get('server_rss_mib'), 0)} "
      f"after the load, {_f(r.get('server_rss_after_queries_mib'), 0)} after the queries; {r.get('server_threads')} threads. "
      f"Graceful stop: exit {r['server_stop']['exit_code']} in {r['server_stop']['seconds']:.1f} s.")
    w("")
    w("## The other benchmarks")
    w("")
    w("Each writes its own table next to its script (same rules: side by side with the raw engine underneath, one run):")
    w("")
    w("* vector search (weft vs usearch; recall@10, latency, build rate): `bench/vectors/RESULTS.md` — `python bench/vectors/run.py`")
    w("* conversation threads (appends vs raw INSERT, the seed's read-modify-write losses, paging cost): `bench/threads/RESULTS.md` — `python -m bench.threads.bench_appends`")
    w("* classic Foundry runs (overhead per turn against a fake model at fixed latency, SQLite and PostgreSQL): `bench/threads/RESULTS.md` — `python -m bench.threads.runs_overhead`")
    w("* stored responses (overhead per turn of `/v1/responses`, stored, chained, on a conversation): `bench/threads/RESULTS.md` — `python -m bench.threads.responses_overhead`")
    w("* SQL indexers (initial load from PostgreSQL vs raw ingest, peak RSS, near-real-time lag): `bench/indexers/RESULTS.md` — `python bench/indexers/run.py`")
    w("* text analysis (bulk indexing per analyzer vs raw tantivy): `bench/analysis/RESULTS.md` — `python bench/analysis/run.py`"
      + _analysis_summary())
    w("* standard tokenizer patterns and ja/ko morphology (CPU per document, in process): `bench/analysis/RESULTS.md` — `python bench/analysis/tokenizer_cost.py`")
    w("* identity and operations (api-key vs bearer token vs TLS vs metrics): `bench/identity/RESULTS.md` — `python bench/identity/run.py`")
    w("* ranking quality (BM25, hybrid, semantic reranking: nDCG@10) and reranker latency: `bench/retrieval/RESULTS.md` — `python bench/retrieval/run.py`")
    w("* the peers a user would pick instead (PostgreSQL FTS, SQLite FTS5, LanceDB, Chroma, Qdrant, FAISS, SQLiteSession, LangGraph): "
      "`bench/peers/run.py` (its section below)")
    w("")
    return "\n".join(L)


def _analysis_summary() -> str:
    """The last bench/analysis run's weft / raw ratios, in one clause."""
    import json
    from pathlib import Path

    path = Path(__file__).with_name("analysis") / "results.json"
    if not path.exists():
        return ""
    r = json.loads(path.read_text())
    # since 2026-12-03 each row has its raw comparators; the first one is the ratio's denominator
    rows = ", ".join(f"{row['analyzer']} ({row['path']}) {(row['raw'][0] if 'raw' in row else row)['ratio']:.0%}" for row in r["rows"])
    return f"; last run ({r['started']}, load {' '.join(r['load'])}): weft / raw {rows} (target 70%)"


def summary_lines(r: dict, labels: dict, kinds: list[str]) -> str:
    lines = [f"weft benchmark, {r['n']:,} docs:"]
    for name, value, ok in targets(r, kinds):
        lines.append(f"  [{'ok' if ok else 'MISS'}] {name}: {value}")
    return "\n".join(lines)
