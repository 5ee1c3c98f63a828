"""A small vector memory: remember texts with an embedding, recall the nearest ones.

The embedding here is a hashing trick over words, so the stack works offline with numpy alone;
when sentence-transformers is installed (a deferred tool), `embedder()` uses it instead.
"""

import hashlib

import numpy as np

__version__ = "0.1.0"
DIM = 256


def _hash_embed(text: str) -> np.ndarray:
    v = np.zeros(DIM, dtype=np.float32)
    for word in text.lower().split():
        h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
        v[h % DIM] += 1.0 if (h >> 63) == 0 else -1.0
    n = np.linalg.norm(v)
    return v / n if n else v


def embedder():
    try:
        from sentence_transformers import SentenceTransformer  # type: ignore

        model = SentenceTransformer("all-MiniLM-L6-v2")
        return lambda text: np.asarray(model.encode(text), dtype=np.float32)
    except Exception:
        return _hash_embed


class Memory:
    def __init__(self, embed=None):
        self.embed = embed or _hash_embed
        self.texts: list[str] = []
        self.vectors: list[np.ndarray] = []

    def remember(self, text: str) -> None:
        self.texts.append(text)
        self.vectors.append(self.embed(text))

    def recall(self, query: str, k: int = 3) -> list[tuple[str, float]]:
        if not self.texts:
            return []
        q = self.embed(query)
        scores = np.stack(self.vectors) @ q
        best = np.argsort(-scores)[:k]
        return [(self.texts[i], float(scores[i])) for i in best]

