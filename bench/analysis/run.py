"""Bulk indexing with text analyzers: weft over HTTP against raw tantivy with the closest native analyzer.

    /work/main/.venv/bin/python bench/analysis/run.py [--docs 20000] [--clients 2]

For each analyzer, one index with a key and one searchable ``body`` field (the analyzer under test); the same
documents go to weft (``POST /indexes/{name}/docs/index``, 1000-document batches, ``--clients`` concurrent
connections) and to a raw tantivy index in this process (same batches, commit per batch, writer 128 MB and one
thread, as weft). Writes bench/analysis/RESULTS.md and results.json.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import random
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

import httpx  # noqa: E402
import tantivy  # noqa: E402

sys.path.insert(0, str(HERE.parent.parent / "src"))
sys.path.insert(0, str(HERE.parent))

from weft_server import WeftServer  # noqa: E402
from weft.search.analysis import native  # noqa: E402

API = "2026-04-01"
P = "#Microsoft.Azure.Search."

_FR = ("le la les un une des du de l' d' qu' été école élève hôtel château forêt rivière chemin maison ville "
       "grand petit beau nouvelle chambres chevaux oiseaux lumière voyage chanteuse restaurant marché montagne "
       "plage soleil matin soir avec pour dans sur sans entre après avant toujours souvent très bien").split()


def english_words(rng: random.Random, n: int = 5000) -> list[str]:
    onsets, nuclei, codas = "b c d f g h k l m n p r s t v w br st tr ch sh".split(), "a e i o u ai ea oo ou".split(), ["", "", "n", "r", "s", "t", "ng", "ed", "ing", "ly", "s"]
    words = {"the", "and", "of", "to", "in", "is", "for", "with"}
    while len(words) < n:
        words.add("".join(rng.choice(onsets) + rng.choice(nuclei) for _ in range(rng.randint(1, 3))) + rng.choice(codas))
    return sorted(words)


def make_docs(kind: str, n: int, seed: int = 11) -> list[dict]:
    rng = random.Random(seed)
    if kind == "fr":
        def body():
            out = []
            for _ in range(rng.randint(40, 90)):
                w = rng.choice(_FR)
                out.append(w + rng.choice(_FR) if w.endswith("'") else w)
            return " ".join(out).capitalize() + "."
    elif kind == "zh":
        han = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]

        def body():
            return "，".join("".join(rng.choice(han) for _ in range(rng.randint(4, 12))) for _ in range(rng.randint(6, 12))) + "。"
    else:
        vocab = english_words(rng)
        weights = [1 / (i + 2.7) for i in range(len(vocab))]

        def body():
            return " ".join(rng.choices(vocab, weights, k=rng.randint(40, 90))).capitalize() + "."
    return [{"@search.action": "upload", "id": str(i), "body": body()} for i in range(n)]


CASES = [
    # name, corpus, weft field settings, extra index members, raw tantivy analyzer (closest native), what raw lacks
    ("standard.lucene", "en", {"analyzer": "standard.lucene"}, {},
     lambda: native.text_analyzer("standard.lucene"), "same pipeline (weft runs it natively)"),
    ("en.lucene", "en", {"analyzer": "en.lucene"}, {},
     lambda: tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(native.STANDARD_PATTERN)).filter(tantivy.Filter.lowercase())
     .filter(tantivy.Filter.stopword("english")).filter(tantivy.Filter.stemmer("english")).build(),
     "Porter2 instead of Lucene's Porter, no possessive filter"),
    ("fr.lucene", "fr", {"analyzer": "fr.lucene"}, {},
     lambda: tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(native.STANDARD_PATTERN)).filter(tantivy.Filter.lowercase())
     .filter(tantivy.Filter.stopword("french")).filter(tantivy.Filter.stemmer("french")).build(),
     "no elision; Snowball French instead of Lucene's light stemmer"),
    ("zh-Hans.lucene", "zh", {"analyzer": "zh-Hans.lucene"}, {},
     lambda: tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.ngram(2, 2)).build(),
     "character bigrams over the whole text (punctuation included), no width folding"),
    ("edge n-gram 2-10 (custom)", "en",
     {"indexAnalyzer": "prefix", "searchAnalyzer": "standard.lucene"},
     {"analyzers": [{"name": "prefix", "@odata.type": P + "CustomAnalyzer", "tokenizer": "standard_v2", "tokenFilters": ["lowercase", "edge"]}],
      "tokenFilters": [{"name": "edge", "@odata.type": P + "EdgeNGramTokenFilterV2", "minGram": 2, "maxGram": 10}]},
     lambda: tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.ngram(2, 10, prefix_only=True)).filter(tantivy.Filter.lowercase()).build(),
     "tantivy has no per-word edge n-gram filter: edge n-grams of the whole value only (much less work)"),
]


def weft_ingest(server: WeftServer, name: str, field: dict, members: dict, docs: list[dict], batch: int, clients: int) -> float:
    h = {"api-key": server.admin_key, "content-type": "application/json"}
    base = f"http://{server.host}:{server.port}"
    index = {"name": name, "fields": [{"name": "id", "type": "Edm.String", "key": True},
                                      {"name": "body", "type": "Edm.String", "searchable": True, **field}], **members}
    r = httpx.post(f"{base}/indexes?api-version={API}", headers=h, json=index, timeout=30)
    r.raise_for_status()
    bodies = [json.dumps({"value": docs[i : i + batch]}).encode() for i in range(0, len(docs), batch)]
    url = f"{base}/indexes/{name}/docs/index?api-version={API}"

    def send(chunk: list[bytes]) -> None:
        with httpx.Client(timeout=300) as c:
            for b in chunk:
                c.post(url, headers=h, content=b).raise_for_status()

    c0 = server.cpu_seconds()
    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        list(pool.map(send, [bodies[k::clients] for k in range(clients)]))
    return len(docs) / (time.perf_counter() - t0), (server.cpu_seconds() - c0) / len(docs) * 1e6


def raw_ingest(path: Path, build, docs: list[dict], batch: int) -> float:
    b = tantivy.SchemaBuilder()
    b.add_text_field("id", stored=True, fast=True, tokenizer_name="raw", index_option="basic")
    b.add_text_field("body", stored=True, tokenizer_name="bench", index_option="position")
    path.mkdir(parents=True, exist_ok=True)
    index = tantivy.Index(b.build(), path=str(path))
    index.register_tokenizer("bench", build())
    writer = index.writer(128_000_000, 1)
    c0 = time.process_time()
    t0 = time.perf_counter()
    for i in range(0, len(docs), batch):
        for d in docs[i : i + batch]:
            doc = tantivy.Document()
            doc.add_text("id", d["id"])
            doc.add_text("body", d["body"])
            writer.add_document(doc)
        writer.commit()
    rate = len(docs) / (time.perf_counter() - t0)
    cpu = (time.process_time() - c0) / len(docs) * 1e6
    writer.wait_merging_threads()
    return rate, cpu


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=2)
    ap.add_argument("--render", action="store_true", help="only rewrite RESULTS.md from results.json")
    ap.add_argument("--only", default=None, help="run only the analyzers whose label contains this text (results not written)")
    args = ap.parse_args(argv)
    if args.render:
        render(json.loads((HERE / "results.json").read_text()))
        return 0
    data = HERE / "data"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    corpora = {k: make_docs(k, args.docs) for k in ("en", "fr", "zh")}
    server = WeftServer(data / "weft", data / "weft.log").start()
    rows = []
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    try:
        for i, (label, corpus, field, members, build, note) in enumerate(CASES):
            if args.only and args.only not in label:
                continue
            docs = corpora[corpus]
            # alternate the order so machine noise does not always favour one side
            if i % 2 == 0:
                w, wc = weft_ingest(server, f"an{i}", field, members, docs, args.batch, args.clients)
                server.wait_idle(timeout=120)
                r, rc = raw_ingest(data / f"raw{i}", build, docs, args.batch)
            else:
                r, rc = raw_ingest(data / f"raw{i}", build, docs, args.batch)
                w, wc = weft_ingest(server, f"an{i}", field, members, docs, args.batch, args.clients)
                server.wait_idle(timeout=120)
            from weft.search import analysis
            from weft.search.analysis.custom import Components

            if "analyzer" in field:
                path = analysis.get(field["analyzer"]).path
            else:
                path = Components(members).analyzers[field["indexAnalyzer"]].path
            rows.append({"analyzer": label, "path": path, "weft_docs_s": round(w), "raw_docs_s": round(r), "ratio": round(w / r, 3),
                         "weft_cpu_us_doc": round(wc), "raw_cpu_us_doc": round(rc), "cpu_ratio": round(rc / wc, 3), "raw_note": note})
            print(f"{label:28s} {path:7s} weft {w:8.0f} docs/s  raw {r:8.0f} docs/s  {w / r:6.0%}   cpu us/doc weft {wc:6.0f} raw {rc:6.0f} {rc / wc:6.0%}", flush=True)
    finally:
        server.stop()
    if args.only:
        return 0
    result = {"started": started, "docs": args.docs, "clients": args.clients, "batch": args.batch,
              "load": open("/proc/loadavg").read().split()[:3], "rows": rows}
    (HERE / "results.json").write_text(json.dumps(result, indent=2))
    render(result)
    return 0


def render(result: dict) -> None:
    rows = result["rows"]
    base = next((r for r in rows if r["analyzer"] == "standard.lucene"), None)
    lines = [
        "# Bulk indexing with analyzers: weft over HTTP vs raw tantivy",
        "",
        f"Command: `/work/main/.venv/bin/python bench/analysis/run.py --docs {result['docs']} --clients {result['clients']}`. "
        f"Started {result['started']}. {result['docs']:,} documents per analyzer (one key and one searchable `body` field of "
        f"40-90 words, or 6-12 runs of 4-12 Han characters), {result['batch']}-document batches, {result['clients']} HTTP clients; "
        "raw = tantivy-py in the benchmark process, commit per batch, 128 MB writer, 1 thread. Target: weft >= 70% of raw.",
        "",
        "| analyzer | weft analysis path | weft docs/s | raw docs/s | weft / raw | weft server CPU µs/doc | raw CPU µs/doc | raw / weft CPU | weft / weft's standard.lucene | raw's closest native analyzer |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    order = {"native": 0, "fast": 1, "python": 2}
    for row in sorted(rows, key=lambda r: order.get(r["path"], 3)):
        rel = f"{row['weft_docs_s'] / base['weft_docs_s']:.0%}" if base else ""
        lines.append(f"| {row['analyzer']} | {row['path']} | {row['weft_docs_s']:,} | {row['raw_docs_s']:,} | **{row['ratio']:.0%}** | "
                     f"{row['weft_cpu_us_doc']:,} | {row['raw_cpu_us_doc']:,} | {row['cpu_ratio']:.0%} | {rel} | {row['raw_note']} |")
    lines += [
        "",
        f"Load average when the run ended: {' '.join(result['load'])} (2 cores, shared with other work: wall-clock rates move "
        "with it; the CPU columns, weft server CPU per document against the raw process's CPU per document, move less).",
        "",
        "Paths: `native` = tantivy tokenizes the text itself; `fast` = tantivy's standard tokenizer and lower case, then one "
        "cached Python function per distinct term (stop words, elision, stemmer; or a word's edge n-grams), indexed "
        "pre-tokenized; `python` = every step in Python (CJK bigrams, sliced for indexing where the text allows; other "
        "custom chains), indexed pre-tokenized. The Python-path analyzers are the `fast` and "
        "`python` rows. The last column compares each analyzer with weft's own native `standard.lucene` on the same run: "
        "the part of the gap to raw that is analysis, not weft's per-document work (HTTP, JSON, validation, the stored "
        "`_source`), which a one-field document makes large relative to raw tantivy's work. `standard.lucene`, `en.lucene` and "
        "the n-gram analyzer index the same English-like corpus; `fr.lucene` and `zh-Hans.lucene` have their own corpora, so "
        "their last column compares different texts.",
        "",
        "Reading (written for the run of 2026-12-03 07:55, weft 05a42dd, after the s23-ngram changes; a run at 07:50 on "
        "the same code but for the last small commits gave weft / raw 69% / 71% / 62% / 39% / 6% and weft CPU 177 / 261 / "
        "205 / 328 / 559 µs per document, so wall-clock ratios move by 10-15 points between runs here, and raw's n-gram rate "
        "by a factor of four): the run before the changes (07:05, weft f006f0e, load 5-7) had `standard.lucene` 69%, "
        "`en.lucene` 39%, `fr.lucene` 32%, `zh-Hans.lucene` 36%, the n-gram chain 4%, with weft CPU 159 / 247 / 258 / 435 / "
        "686 µs per document. Since then the n-gram chain runs on the fast path (one cached function per distinct word "
        "gives its grams), Latin-script text that is not plain ASCII is split in Python's `re` instead of tantivy's regex "
        "tokenizer, and CJK bigrams are sliced from runs of ideographs (docs/analysis.md); in process these cut the "
        "pre-tokenizing of a document from 297 to 122 µs (n-grams), 92 to 43 (`fr.lucene`), 182 to 66 (`zh-Hans.lucene`). "
        "`en.lucene` (plain ASCII text, already on tantivy's simple tokenizer) reaches the target in both runs, `fr.lucene` "
        "is close; CJK bigrams and n-grams index several times more (mostly distinct) terms than `standard.lucene`, and "
        "what is left is mostly tantivy indexing those pre-tokenized terms (in process, 8,000 CJK documents: 257 µs per "
        "document pre-tokenized against 67 with tantivy's default tokenizer on the same text) and building one tantivy "
        "Token per term (about 0.25 µs each, 366 per n-gram document). The n-gram row's raw side does edge n-grams of the "
        "whole value only (about 9 terms per document), so 70% of it is out of reach for a per-word chain. The "
        "1M-document benchmark in bench/RESULTS.md (eight fields per document, native analysis) is at 82-103% of raw.",
    ]
    # sections other tools wrote into this file (bench/analysis/tokenizer_cost.py) stay
    out = HERE / "RESULTS.md"
    old = out.read_text(encoding="utf-8") if out.exists() else ""
    kept = [part for part in old.split("\n## ")[1:] if not part.startswith("Bulk indexing")]
    lines += [""] + ["## " + part.rstrip("\n") + "\n" for part in kept]
    out.write_text("\n".join(lines).rstrip("\n") + "\n", encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
