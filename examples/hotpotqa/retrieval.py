"""A small BM25 retriever over `data/corpus.jsonl` for the HotpotQA example.

Takes a query string; gives the top passages as "Title: text" strings.
The corpus (one JSON object per line with `title` and `text`) is read and
indexed once, on the first call. Pure Python, no dependencies.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections import Counter

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "corpus.jsonl")
TOP_K = 3
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "in",
        "is",
        "it",
        "of",
        "on",
        "or",
        "that",
        "the",
        "to",
        "was",
        "were",
        "what",
        "which",
        "who",
        "with",
    ]
)
_index: tuple[list[str], list[Counter[str]], dict[str, float], float] | None = None


def _terms(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP]


def _load() -> tuple[list[str], list[Counter[str]], dict[str, float], float]:
    global _index
    if _index is None:
        passages: list[str] = []
        counts: list[Counter[str]] = []
        with open(CORPUS, encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    row = json.loads(line)
                    passages.append(f"{row['title']}: {row['text']}")
                    counts.append(Counter(_terms(row["title"] + " " + row["text"])))
        df: Counter[str] = Counter()
        for c in counts:
            df.update(c.keys())
        n = len(counts)
        idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        avg = sum(sum(c.values()) for c in counts) / max(n, 1)
        _index = (passages, counts, idf, avg)
    return _index


def search(query: str) -> list[str]:
    """The `TOP_K` passages that best match `query` under BM25 (k1=1.2, b=0.75)."""
    passages, counts, idf, avg = _load()
    words = _terms(query)
    scored = []
    for i, c in enumerate(counts):
        length = sum(c.values())
        score = 0.0
        for w in words:
            tf = c.get(w, 0)
            if tf:
                score += idf[w] * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / avg))
        if score > 0:
            scored.append((-score, i))
    scored.sort()
    return [passages[i] for _, i in scored[:TOP_K]]
