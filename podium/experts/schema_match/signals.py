"""The matchers: each turns two profiled tables into a |source| x |target| score matrix.

Every signal is in [0, 1] and computed for all pairs at once (sparse or dense matrix
algebra), so a 100 x 736 comparison stays well under a second apart from the encoder.

- ``name``: tokenised, abbreviation-aware soft token overlap (symmetric Monge-Elkan).
- ``name_chars``: cosine of character 2-4-gram TF-IDF vectors of the names.
- ``embedding``: MiniLM cosine of "name; description; values: ...".
- ``embedding_name``: MiniLM cosine of the names alone.
- ``value_jaccard`` / ``value_containment``: overlap of the distinct (lower-cased) values.
- ``value_chars``: cosine of character 2-4-gram TF-IDF vectors of the distinct values, so
  near-identical codes and labels count ("pT2" / "T2", "Stage IIB" / "stage iib").
- ``numeric``: 1 - normalised L1 distance between the quantile sketches of two numeric columns.
- ``type``: type compatibility (same type 1, compatible 0.5, incompatible 0).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from .names import humanize, tokenize
from .tables import TableProfile

if TYPE_CHECKING:
    from podium.models.embeddings import Embedder

SIGNALS = (
    "name",
    "name_chars",
    "embedding",
    "embedding_name",
    "value_jaccard",
    "value_containment",
    "value_chars",
    "numeric",
    "type",
)
EMBEDDING_SIGNALS = ("embedding", "embedding_name")

_STOPWORDS = {"of", "the", "a", "an", "in", "for", "to", "at", "and", "or", "on", "by", "is"}
# Common abbreviations in database column names (general, not tuned to any benchmark).
ABBREVIATIONS = {
    "num": "number",
    "no": "number",
    "nbr": "number",
    "qty": "quantity",
    "amt": "amount",
    "desc": "description",
    "addr": "address",
    "dob": "birth",
    "yr": "year",
    "yrs": "years",
    "dt": "date",
    "ts": "timestamp",
    "pct": "percent",
    "perc": "percent",
    "avg": "average",
    "cnt": "count",
    "tel": "telephone",
    "msg": "message",
    "cust": "customer",
    "prod": "product",
    "cat": "category",
    "dept": "department",
    "emp": "employee",
    "mgr": "manager",
    "org": "organization",
    "std": "standard",
    "temp": "temperature",
    "wt": "weight",
    "ht": "height",
    "dx": "diagnosis",
    "tx": "treatment",
    "hx": "history",
    "id": "identifier",
    "idx": "index",
    "info": "information",
    "stat": "status",
    "img": "image",
    "pos": "position",
    "max": "maximum",
    "min": "minimum",
}


def _content_tokens(name: str) -> list[str]:
    tokens = [t for t in tokenize(name) if t not in _STOPWORDS]
    return tokens or tokenize(name)


@lru_cache(maxsize=500_000)
def token_similarity(a: str, b: str) -> float:
    """How likely two name tokens mean the same thing, abbreviations included."""
    if a == b:
        return 1.0
    ea, eb = ABBREVIATIONS.get(a, a), ABBREVIATIONS.get(b, b)
    if ea == eb:
        return 1.0
    short, long_ = sorted((ea, eb), key=len)
    if short.isdigit() or long_.isdigit():
        return 0.0
    if len(short) >= 3 and long_.startswith(short):
        return 0.85  # num/number, consum/consumption, metas/metastasis
    prefix = 0
    for x, y in zip(short, long_, strict=False):
        if x != y:
            break
        prefix += 1
    if prefix >= 5 or (prefix >= 4 and prefix >= len(short) - 1):
        return 0.8  # pathological/pathologic, metastatic/metastasis
    if 2 <= len(short) <= len(long_) - 2 and short[0] == long_[0] and _subsequence(short, long_):
        return 0.6  # yrs/years, smk/smoking
    return 0.0


def _subsequence(short: str, long_: str) -> bool:
    it = iter(long_)
    return all(ch in it for ch in short)


def name_similarity(source: TableProfile, target: TableProfile) -> np.ndarray:
    """Symmetric soft token overlap of the column names."""
    s_tokens = [_content_tokens(n) for n in source.names]
    t_tokens = [_content_tokens(n) for n in target.names]
    s_vocab = sorted({t for ts in s_tokens for t in ts})
    t_vocab = sorted({t for ts in t_tokens for t in ts})
    if not s_vocab or not t_vocab:
        return np.zeros((len(source), len(target)), dtype=np.float32)
    tok = np.array([[token_similarity(a, b) for b in t_vocab] for a in s_vocab], np.float32)
    s_index = {t: i for i, t in enumerate(s_vocab)}
    t_index = {t: i for i, t in enumerate(t_vocab)}
    s_ids = [np.array([s_index[t] for t in ts], int) for ts in s_tokens]
    t_ids = [np.array([t_index[t] for t in ts], int) for ts in t_tokens]
    out = np.zeros((len(source), len(target)), dtype=np.float32)
    for i, si in enumerate(s_ids):
        if not len(si):
            continue
        rows = tok[si]  # |tokens of source i| x |target vocab|
        for j, tj in enumerate(t_ids):
            if not len(tj):
                continue
            block = rows[:, tj]
            out[i, j] = 0.5 * (block.max(axis=1).mean() + block.max(axis=0).mean())
    return out


def name_char_similarity(source: TableProfile, target: TableProfile) -> np.ndarray:
    s = [humanize(n) for n in source.names]
    t = [humanize(n) for n in target.names]
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), lowercase=True)
    vec.fit(s + t)
    return (vec.transform(s) @ vec.transform(t).T).toarray().astype(np.float32)


def embedding_similarity(
    source: TableProfile, target: TableProfile, embedder: Embedder, *, names_only: bool = False
) -> np.ndarray:
    def texts(table: TableProfile) -> list[str]:
        return [humanize(c.name) if names_only else c.text() for c in table.columns]

    a = _encode_cached(embedder, texts(source))
    b = _encode_cached(embedder, texts(target))
    return np.clip(a @ b.T, 0.0, 1.0).astype(np.float32)


_VECTORS: dict[tuple[str, str], np.ndarray] = {}


def _encode_cached(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """Encode texts, reusing vectors already computed in this process (targets repeat)."""
    missing = list(dict.fromkeys(t for t in texts if (embedder.uri, t) not in _VECTORS))
    if missing:
        for text, vec in zip(missing, embedder.encode(missing), strict=True):
            _VECTORS[(embedder.uri, text)] = vec
    if not texts:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    return np.stack([_VECTORS[(embedder.uri, t)] for t in texts])


def value_overlap(source: TableProfile, target: TableProfile) -> tuple[np.ndarray, np.ndarray]:
    """Jaccard and containment (|A∩B| / min(|A|,|B|)) of the distinct values."""
    vocab: dict[str, int] = {}

    def incidence(table: TableProfile) -> sparse.csr_matrix:
        rows, cols = [], []
        for i, col in enumerate(table.columns):
            for v in col.values:
                rows.append(i)
                cols.append(vocab.setdefault(v, len(vocab)))
        return rows, cols

    sr, sc = incidence(source)
    tr, tc = incidence(target)
    n = max(len(vocab), 1)
    s = sparse.csr_matrix((np.ones(len(sr), np.float32), (sr, sc)), shape=(len(source), n))
    t = sparse.csr_matrix((np.ones(len(tr), np.float32), (tr, tc)), shape=(len(target), n))
    inter = (s @ t.T).toarray()
    sa = np.asarray(s.sum(axis=1)).ravel()[:, None]
    ta = np.asarray(t.sum(axis=1)).ravel()[None, :]
    union = sa + ta - inter
    jaccard = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    smaller = np.minimum(sa, ta)
    containment = np.divide(inter, smaller, out=np.zeros_like(inter), where=smaller > 0)
    return jaccard.astype(np.float32), containment.astype(np.float32)


def value_char_similarity(source: TableProfile, target: TableProfile) -> np.ndarray:
    def docs(table: TableProfile) -> list[str]:
        return [" | ".join(c.values) for c in table.columns]

    s, t = docs(source), docs(target)
    if not any(s) or not any(t):
        return np.zeros((len(source), len(target)), dtype=np.float32)
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True)
    vec.fit(s + t)
    return (vec.transform(s) @ vec.transform(t).T).toarray().astype(np.float32)


def numeric_similarity(source: TableProfile, target: TableProfile) -> np.ndarray:
    out = np.zeros((len(source), len(target)), dtype=np.float32)
    si = [i for i, c in enumerate(source.columns) if c.quantiles is not None]
    ti = [j for j, c in enumerate(target.columns) if c.quantiles is not None]
    if not si or not ti:
        return out
    qs = np.stack([source.columns[i].quantiles for i in si])[:, None, :]  # type: ignore[misc]
    qt = np.stack([target.columns[j].quantiles for j in ti])[None, :, :]  # type: ignore[misc]
    lo = np.minimum(qs[..., 0], qt[..., 0])
    hi = np.maximum(qs[..., -1], qt[..., -1])
    dist = np.abs(qs - qt).mean(axis=-1) / np.maximum(hi - lo, 1e-9)
    out[np.ix_(si, ti)] = np.clip(1.0 - dist, 0.0, 1.0)
    return out


_TYPE_GROUP = {"integer": "number", "float": "number", "boolean": "flag", "date": "date"}


def type_compatibility(source: TableProfile, target: TableProfile) -> np.ndarray:
    def score(a: str, b: str) -> float:
        if "empty" in (a, b):
            return 0.5
        if a == b:
            return 1.0
        ga, gb = _TYPE_GROUP.get(a, a), _TYPE_GROUP.get(b, b)
        if ga == gb:
            return 0.75
        if "text" in (a, b):
            return 0.25  # codes stored as text, dates as strings, flags as words
        return 0.0

    s_types = [c.dtype for c in source.columns]
    t_types = [c.dtype for c in target.columns]
    table = {(a, b): score(a, b) for a in set(s_types) for b in set(t_types)}
    return np.array([[table[(a, b)] for b in t_types] for a in s_types], dtype=np.float32)


def compute_signals(
    source: TableProfile,
    target: TableProfile,
    embedder: Embedder | None,
    signals: tuple[str, ...] = SIGNALS,
) -> dict[str, np.ndarray]:
    """Every requested signal as a |source| x |target| matrix."""
    out: dict[str, np.ndarray] = {}
    if "name" in signals:
        out["name"] = name_similarity(source, target)
    if "name_chars" in signals:
        out["name_chars"] = name_char_similarity(source, target)
    if embedder is not None:
        if "embedding" in signals:
            out["embedding"] = embedding_similarity(source, target, embedder)
        if "embedding_name" in signals:
            out["embedding_name"] = embedding_similarity(source, target, embedder, names_only=True)
    if "value_jaccard" in signals or "value_containment" in signals:
        out["value_jaccard"], out["value_containment"] = value_overlap(source, target)
    if "value_chars" in signals:
        out["value_chars"] = value_char_similarity(source, target)
    if "numeric" in signals:
        out["numeric"] = numeric_similarity(source, target)
    if "type" in signals:
        out["type"] = type_compatibility(source, target)
    return {k: v for k, v in out.items() if k in signals}
