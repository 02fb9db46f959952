"""The ``realstatic`` data set: 1M+ real English texts, embedded fast enough to benchmark at 1M.

Why it exists: the ``real`` set (all-MiniLM-L6-v2, the transformer weft runs as its ``local``
vectorizer) embeds ~130 sentences/s on this 2-core machine, so 1M vectors would take about two hours
of CPU, and the text on a stock machine holds only ~300k unique sentences. This set fixes both:

* **Text**: every source of ``realtext.py`` plus the docstrings of the packages in the benchmark's
  virtualenv, and, when installed, Debian's text packages (``apt-get install linux-doc wordnet-base
  dict-gcide dict-foldoc python3.11-doc perl-doc fortunes``): the Linux kernel's documentation,
  WordNet's glosses and example sentences, the definitions and quotations of GCIDE (Webster's 1913)
  and FOLDOC, Python's and Perl's manuals, and the fortune cookies. Deduplicated
  (case-insensitive), shuffled with a fixed seed, cached as ``bench/.cache/passages-<fp>.txt``.
* **Vectors**: a static embedding model distilled from all-MiniLM-L6-v2. The transformer's sentence
  vector is the mean of its contextual token outputs; the static model replaces each output by that
  token's average output over 30k texts of the corpus (the last 30k of the shuffled pool, beyond any
  size benchmarked here), falling back for unseen tokens to the token run through the transformer
  alone (the model2vec idea). Token vectors are centred; a text's vector is their SIF-weighted mean
  (weight ``a / (a + p(token))``, ``p`` the token's frequency in the corpus), normalized.
  Distillation takes about 5 minutes; 1M texts embed in a few minutes. Cached under bench/.cache/.

These are real-text vectors with the anisotropy and topic structure of a sentence model, not the
transformer's exact outputs: ``agreement()`` reports how far the static vectors' similarities follow
the transformer's on a sample (Spearman correlation of pairwise cosines), printed with the results.
"""
from __future__ import annotations

import glob
import gzip
import hashlib
import random
import re
import time
from pathlib import Path

import numpy as np

import realtext

CACHE = realtext.CACHE
QUERY_POOL = 2000
SIF_A = 1e-3
MODEL_VERSION = "ctx30k-sif-v1"  # part of every vector cache name: a changed model never reuses old vectors
_NUMBERED = re.compile(r"^\d+\.\s*")
_BRACKETS = re.compile(r"\[[^\]]*\]")
_BRACES = re.compile(r"\{([^}]*)\}")
_ATTRIBUTION = re.compile(r"--\s*[A-Z][\w. ]*\.?$")


def _good(text: str) -> bool:
    """Shorter and longer texts than the ``real`` set's, and glosses without a full stop."""
    return realtext._good(text, lo=4, hi=60, full_stop=False)


def _venv_files() -> list[Path]:
    site = Path(np.__file__).resolve().parents[1]
    return sorted(site.rglob("*.py"))


def _kernel_files() -> list[Path]:
    base = Path("/usr/share/doc").glob("linux-doc-*/Documentation")
    return sorted(p for d in base for p in d.rglob("*") if p.is_file() and p.name.endswith((".rst", ".rst.gz", ".txt", ".txt.gz")))


_POD_MARKUP = re.compile(r"[BCIFLSEXZ]<+\s*([^<>]*?)\s*>+")


def _doc_files() -> list[Path]:
    """Python's own documentation sources and Perl's manual pages, when installed."""
    python = Path("/usr/share/doc").glob("python3*-doc/html/_sources")
    files = [p for d in python for p in d.rglob("*.rst.txt")]
    files += [p for p in Path("/usr/share/perl").rglob("*.pod")] if Path("/usr/share/perl").is_dir() else []
    return sorted(files)


def _sentences_of(files: list[Path]):
    for path in files:
        try:
            text = realtext._read(path)
        except OSError:
            continue
        if path.suffix == ".py":
            text = realtext._from_python(text)
        elif path.suffix == ".pod":
            text = "\n".join("" if line.startswith("=") else _POD_MARKUP.sub(r"\1", line) for line in text.splitlines())
        for para in realtext._paragraphs(text):
            for sentence in realtext._SPLIT.split(para):
                yield " ".join(sentence.split())


def _wordnet():
    for path in sorted(glob.glob("/usr/share/wordnet/data.*")):
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("  ") or "|" not in line:
                    continue
                for part in line.split("|", 1)[1].split(";"):
                    part = part.strip().strip('"').strip()
                    if part:
                        yield part[0].upper() + part[1:]


def _fortunes():
    base = Path("/usr/share/games/fortunes")
    for path in sorted(base.iterdir()) if base.is_dir() else []:
        if path.is_file() and not path.suffix:
            for entry in path.read_text(encoding="utf-8", errors="replace").split("\n%\n"):
                yield from realtext._SPLIT.split(" ".join(line for line in entry.splitlines() if not line.strip().startswith("--")))


def _dictionaries():
    """GCIDE (Webster's 1913) and FOLDOC in dictd format: definitions and quotations, not headwords."""
    for name in ("gcide", "foldoc"):
        path = Path(f"/usr/share/dictd/{name}.dict.dz")
        if path.exists():
            yield from _dictionary(gzip.decompress(path.read_bytes()).decode("utf-8", "replace"))


def _dictionary(text: str):
    for block in re.split(r"\n\s*\n", text):
        lines = [line.strip() for line in block.splitlines()]
        joined = " ".join(line for line in lines if line and not line.startswith("[") and not line.startswith("--"))
        joined = _ATTRIBUTION.sub("", _BRACES.sub(r"\1", _BRACKETS.sub("", joined)))
        joined = _NUMBERED.sub("", " ".join(joined.split()))
        if "\\" in joined:  # headword lines carry pronunciation markup
            continue
        yield from realtext._SPLIT.split(joined)


def source_summary() -> dict[str, int]:
    return {"system files": len(realtext.source_files()), "venv files": len(_venv_files()), "kernel doc files": len(_kernel_files()),
            "python/perl doc files": len(_doc_files()), "wordnet files": len(glob.glob("/usr/share/wordnet/data.*")),
            "dictionaries": sum(Path(f"/usr/share/dictd/{n}.dict.dz").exists() for n in ("gcide", "foldoc"))}


def passages() -> list[str]:
    """Every unique text of every source, shuffled with a fixed seed (cached)."""
    files = realtext.source_files() + _venv_files() + _kernel_files() + _doc_files()
    h = hashlib.sha256(realtext.fingerprint(files).encode())
    extras = ["/usr/share/dictd/gcide.dict.dz", "/usr/share/dictd/foldoc.dict.dz", *sorted(glob.glob("/usr/share/wordnet/data.*")),
              *sorted(glob.glob("/usr/share/games/fortunes/*"))]
    for extra in extras:
        if Path(extra).exists():
            h.update(f"{extra}\0{Path(extra).stat().st_size}\n".encode())
    path = CACHE / f"passages-{h.hexdigest()[:16]}.txt"
    if path.exists():
        return path.read_text(encoding="utf-8").split("\n")
    t0 = time.perf_counter()
    seen: set[str] = set()
    out: list[str] = []
    counts: dict[str, int] = {}

    def take(label: str, items) -> None:
        counts[label] = realtext.add_unique(items, _good, seen, out)

    take("system", realtext.sentences())
    take("venv docstrings", _sentences_of(_venv_files()))
    take("kernel docs", _sentences_of(_kernel_files()))
    take("wordnet", _wordnet())
    take("python and perl docs", _sentences_of(_doc_files()))
    take("fortunes", _fortunes())
    take("gcide and foldoc", _dictionaries())
    random.Random(20261122).shuffle(out)
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = CACHE / f"partial-{path.name}"
    tmp.write_text("\n".join(out), encoding="utf-8")
    tmp.replace(path)
    realtext._log(f"realstatic text: {len(out):,} unique texts ({counts}) in {time.perf_counter() - t0:.0f} s -> {path.name}")
    return out


CONTEXT_SAMPLE = 30_000


class StaticModel:
    """Token vectors distilled from all-MiniLM-L6-v2 plus SIF weights from a corpus."""

    def __init__(self, corpus: list[str]):
        model = realtext._model()
        self.tokenizer = model.tokenizer
        single = self._single_tokens(model)
        summed, seen = self._contextual(model, corpus[-CONTEXT_SAMPLE:])
        vectors = np.where(seen[:, None] > 0, summed / np.maximum(seen, 1)[:, None], single).astype(np.float32)
        self.vectors = vectors - vectors.mean(axis=0)  # centred: the shared direction would dominate every mean
        counts = np.bincount(np.concatenate(self._ids(corpus[:200_000])), minlength=len(self.vectors)).astype(np.float64)
        self.weights = (SIF_A / (SIF_A + counts / counts.sum())).astype(np.float32)

    def _single_tokens(self, model) -> np.ndarray:
        """Each vocabulary entry run through the transformer on its own (covers tokens the sample lacks)."""
        vocab = self.tokenizer.convert_ids_to_tokens(list(range(self.tokenizer.vocab_size)))
        cache = CACHE / f"static-tokens-{hashlib.sha256(' '.join(vocab).encode()).hexdigest()[:16]}.npy"
        if cache.exists():
            return np.load(cache)
        t0 = time.perf_counter()
        words = [t[2:] if t.startswith("##") else t for t in vocab]
        out = model.encode(words, batch_size=512, convert_to_numpy=True, normalize_embeddings=False).astype(np.float32)
        CACHE.mkdir(parents=True, exist_ok=True)
        np.save(cache, out)
        realtext._log(f"realstatic: {len(out):,} single-token vectors in {time.perf_counter() - t0:.0f} s")
        return out

    def _contextual(self, model, sample: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Sum and count of each token's contextual output over a sample of texts (the transformer's
        sentence vector is the mean of these outputs; the static model uses each token's average)."""
        cache = CACHE / f"static-context-{hashlib.sha256(chr(10).join(sample).encode()).hexdigest()[:16]}.npz"
        if cache.exists():
            z = np.load(cache)
            return z["summed"], z["seen"]
        t0 = time.perf_counter()
        size = self.tokenizer.vocab_size
        summed, seen = np.zeros((size, 384), dtype=np.float64), np.zeros(size)
        step = 2000
        for start in range(0, len(sample), step):
            part = sample[start : start + step]
            outputs = model.encode(part, batch_size=64, output_value="token_embeddings", convert_to_numpy=False)
            for out, ids in zip(outputs, self.tokenizer(part, truncation=True, max_length=256)["input_ids"]):
                out = out.cpu().numpy()
                ids = np.asarray(ids[: len(out)])
                np.add.at(summed, ids, out[: len(ids)])
                np.add.at(seen, ids, 1)
            realtext._log(f"realstatic: contextual token outputs {start + len(part):,}/{len(sample):,} texts")
        np.savez(cache, summed=summed, seen=seen)
        realtext._log(f"realstatic: contextual outputs of {len(sample):,} texts in {time.perf_counter() - t0:.0f} s")
        return summed, seen

    def _ids(self, texts: list[str]) -> list[np.ndarray]:
        enc = self.tokenizer(texts, add_special_tokens=False, truncation=True, max_length=128)["input_ids"]
        return [np.asarray(x if x else [self.tokenizer.unk_token_id], dtype=np.int64) for x in enc]

    def _weighted_means(self, ids: list[np.ndarray]) -> np.ndarray:
        flat = np.concatenate(ids)
        starts = np.cumsum([0] + [len(x) for x in ids[:-1]])
        w = self.weights[flat]
        sums = np.add.reduceat(self.vectors[flat] * w[:, None], starts, axis=0)
        return sums / np.add.reduceat(w, starts)[:, None]

    def encode(self, texts: list[str], chunk: int = 10_000) -> np.ndarray:
        parts = []
        for start in range(0, len(texts), chunk):
            v = self._weighted_means(self._ids(texts[start : start + chunk]))
            v /= np.linalg.norm(v, axis=1, keepdims=True) + 1e-12
            parts.append(v.astype(np.float32))
        return np.vstack(parts)


def dataset(n_docs: int, n_queries: int) -> tuple[np.ndarray, np.ndarray, list[str], list[str], dict]:
    """(doc vectors, held-out query vectors, doc texts, query texts, info)."""
    allp = passages()
    queries, pool = allp[:QUERY_POOL][:n_queries], allp[QUERY_POOL:]
    if n_docs > len(pool):
        raise SystemExit(f"only {len(pool):,} unique texts here (install linux-doc wordnet-base dict-gcide for more); asked for {n_docs:,}")
    docs = pool[:n_docs]
    key = hashlib.sha256((MODEL_VERSION + "\n" + "\n".join(pool)).encode()).hexdigest()[:16]
    cache = CACHE / f"static-docs-{key}-{n_docs}.npy"
    qcache = CACHE / f"static-queries-{key}-{n_queries}.npy"
    model = None
    if cache.exists() and qcache.exists():
        data, qvec = np.load(cache), np.load(qcache)
    else:
        model = StaticModel(pool)
        t0 = time.perf_counter()
        data = model.encode(docs)
        qvec = model.encode(queries)
        realtext._log(f"realstatic: embedded {n_docs:,} texts in {time.perf_counter() - t0:.0f} s")
        np.save(cache, data)
        np.save(qcache, qvec)
    info = {"pool": len(pool), "sources": source_summary(), **agreement(model, pool)}
    return data, qvec, docs, queries, info


def agreement(model: StaticModel | None, pool: list[str], sample: int = 600) -> dict:
    """Spearman correlation between static and transformer cosine similarities over all pairs of a
    random sample, and how often the transformer's nearest neighbour within the sample is among the
    static model's 10 nearest (cached with the sample's hash)."""
    rng = random.Random(7)
    texts = rng.sample(pool, sample)
    path = CACHE / f"static-agreement-{hashlib.sha256((MODEL_VERSION + chr(10) + chr(10).join(texts)).encode()).hexdigest()[:16]}.npy"
    if path.exists():
        rho, nn = np.load(path)
        return {"spearman_vs_minilm": float(rho), "nn_in_static_top10": float(nn)}
    model = model or StaticModel(pool)
    static = model.encode(texts)
    full = realtext._model().encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
    iu = np.triu_indices(sample, 1)
    a, b = (static @ static.T)[iu], (full @ full.T)[iu]
    rank = lambda x: np.argsort(np.argsort(x)).astype(np.float64)  # noqa: E731
    rho = float(np.corrcoef(rank(a), rank(b))[0, 1])
    sf, ff = static @ static.T, full @ full.T
    np.fill_diagonal(sf, -2)
    np.fill_diagonal(ff, -2)
    best = ff.argmax(axis=1)
    top10 = np.argsort(-sf, axis=1)[:, :10]
    nn = float(np.mean([best[i] in top10[i] for i in range(sample)]))
    np.save(path, np.array([rho, nn]))
    return {"spearman_vs_minilm": rho, "nn_in_static_top10": nn}
