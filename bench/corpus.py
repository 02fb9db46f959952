"""Deterministic synthetic product catalogue for the weft benchmark (stdlib only).

Documents are written one JSON line each, already in the shape of an Azure upload action,
so the HTTP loader can join lines into a batch body without decoding them. Nothing is
kept in memory per document, so 1,000,000 documents stream through in constant memory.

Vocabulary: VOCAB_SIZE pseudo-words drawn with a Zipf-like law (weight 1/(rank+Q)),
frequent words being shorter, so there are very common terms ("stop-word" like), a
broad middle, and a long tail of rare terms. Titles skip the most frequent words.
"""
from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import random
from dataclasses import dataclass, field

SEED = 4_242_017
VOCAB_SIZE = 200_000
ZIPF_Q = 2.7
TITLE_SKIP = 50  # titles do not use the 50 most frequent words
N_CATEGORIES = 50
N_TAGS = 500
DESC_WORDS = (50, 150)
TITLE_WORDS = (4, 10)
EPOCH0 = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
SPAN_SECONDS = 5 * 365 * 86_400
PHRASE_SAMPLE_EVERY = 997  # keep the description of every 997th doc for phrase queries

_ONSETS = ["b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z",
           "br", "cr", "dr", "fl", "gl", "kr", "pl", "pr", "sk", "sl", "sp", "st", "tr", "ch", "sh", "th"]
_NUCLEI = ["a", "e", "i", "o", "u", "y", "ai", "au", "ea", "ee", "ie", "oa", "oo", "ou"]
_CODAS = ["", "", "", "", "l", "m", "n", "r", "s", "t", "x", "nd", "rk", "st"]
_RESERVED = {"and", "or", "not", "to", "near", "the", "a", "an"}


def make_vocabulary(rng: random.Random, size: int = VOCAB_SIZE) -> list[str]:
    """Pseudo-words, index = frequency rank; low ranks get fewer syllables."""
    words: list[str] = []
    seen: set[str] = set()
    while len(words) < size:
        rank = len(words)
        if rank < 40:
            syllables = 1
        elif rank < 800:
            syllables = rng.choice((1, 2, 2))
        elif rank < 12_000:
            syllables = rng.choice((2, 2, 3))
        else:
            syllables = rng.choice((2, 3, 3, 4))
        w = "".join(rng.choice(_ONSETS) + rng.choice(_NUCLEI) for _ in range(syllables)) + rng.choice(_CODAS)
        if len(w) < 2 or w in seen or w in _RESERVED:
            continue
        seen.add(w)
        words.append(w)
    return words


def zipf_cumulative(n: int, q: float = ZIPF_Q, s: float = 1.0) -> list[float]:
    return list(itertools.accumulate(1.0 / (r + 1 + q) ** s for r in range(n)))


@dataclass
class CorpusInfo:
    n: int
    vocabulary: list[str]
    desc_cum: list[float]
    title_cum: list[float]
    categories: list[str]
    category_weights: list[float]
    tags: list[str]
    median_price: float = 0.0
    phrase_samples: list[list[str]] = field(default_factory=list)
    bytes_written: int = 0
    avg_desc_words: float = 0.0

    def expected_df(self, rank: int) -> float:
        """Expected number of documents whose title or description contains the word of this rank."""
        total = self.desc_cum[-1]
        p_desc = 1.0 / (rank + 1 + ZIPF_Q) / total
        avg_desc = (DESC_WORDS[0] + DESC_WORDS[1]) / 2
        miss = (1 - p_desc) ** avg_desc
        if rank >= TITLE_SKIP:
            p_title = 1.0 / (rank - TITLE_SKIP + 1 + ZIPF_Q) / self.title_cum[-1]
            miss *= (1 - p_title) ** ((TITLE_WORDS[0] + TITLE_WORDS[1]) / 2)
        return self.n * (1 - miss)


def categories() -> tuple[list[str], list[float]]:
    names = [f"cat-{i:02d}" for i in range(N_CATEGORIES)]
    weights = [1.0 / (i + 1) ** 1.1 for i in range(N_CATEGORIES)]
    return names, weights


def corpus_info(n: int) -> CorpusInfo:
    rng = random.Random(SEED)
    vocab = make_vocabulary(rng)
    cats, cat_w = categories()
    return CorpusInfo(
        n=n,
        vocabulary=vocab,
        desc_cum=zipf_cumulative(VOCAB_SIZE),
        title_cum=zipf_cumulative(VOCAB_SIZE - TITLE_SKIP),
        categories=cats,
        category_weights=list(itertools.accumulate(cat_w)),
        tags=[f"tag-{i:03d}" for i in range(N_TAGS)],
    )


def generate(n: int, path: str, progress=None) -> CorpusInfo:
    """Write n upload actions, one JSON object per line, to path. Deterministic for a given n."""
    info = corpus_info(n)
    rng = random.Random(SEED + 1)
    vocab = info.vocabulary
    title_vocab = vocab[TITLE_SKIP:]
    desc_cum, title_cum = info.desc_cum, info.title_cum
    cats, cat_cum = info.categories, info.category_weights
    tags = info.tags
    tag_cum = zipf_cumulative(N_TAGS, q=1.0)
    choices = rng.choices
    randint = rng.randint
    rand = rng.random
    prices_sample: list[float] = []
    desc_words_total = 0
    written = 0
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            dlen = randint(*DESC_WORDS)
            desc = choices(vocab, cum_weights=desc_cum, k=dlen)
            title = choices(title_vocab, cum_weights=title_cum, k=randint(*TITLE_WORDS))
            price = round(math.exp(rng.gauss(3.4, 1.0)), 2)
            ntags = randint(1, 5)
            doc_tags = sorted(set(choices(tags, cum_weights=tag_cum, k=ntags)))
            created = EPOCH0 + dt.timedelta(seconds=int(rand() * SPAN_SECONDS))
            doc = {
                "@search.action": "upload",
                "id": f"p{i:07d}",
                "title": " ".join(title).capitalize(),
                "description": " ".join(desc).capitalize() + ".",
                "category": choices(cats, cum_weights=cat_cum, k=1)[0],
                "price": price,
                "inStock": rand() < 0.8,
                "tags": doc_tags,
                "created": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
            line = dumps(doc) + "\n"
            f.write(line)
            written += len(line)
            desc_words_total += dlen
            if i % 101 == 0:
                prices_sample.append(price)
            if i % PHRASE_SAMPLE_EVERY == 0:
                info.phrase_samples.append(desc)
            if progress is not None and (i + 1) % 20_000 == 0:
                progress(i + 1)
    prices_sample.sort()
    info.median_price = prices_sample[len(prices_sample) // 2]
    info.bytes_written = written
    info.avg_desc_words = desc_words_total / max(1, n)
    return info


def read_batches(path: str, batch_size: int):
    """Yield lists of raw JSON lines (bytes, without the newline)."""
    with open(path, "rb") as f:
        batch: list[bytes] = []
        for line in f:
            batch.append(line.rstrip(b"\n"))
            if len(batch) == batch_size:
                yield batch
                batch = []
        if batch:
            yield batch


def rank_by_expected_df(info: CorpusInfo, lo: float, hi: float) -> list[int]:
    """Word ranks whose expected document frequency lies in [lo, hi]."""
    return [r for r in range(VOCAB_SIZE) if lo <= info.expected_df(r) <= hi]
