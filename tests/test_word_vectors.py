"""Word-vector files for class-name prototypes (HPN used word2vec): word2vec binary, word2vec/fastText
and GloVe text (plain or gzipped), phrases, one-line errors, and the checksum that runs record."""

import gzip
import hashlib
import json

import numpy as np
import pytest
import torch

from hpnb import embeddings as emb
from hpnb import experiments, reproduce, train

WORDS = {"maple": [1.0, 0.0, 0.0, 2.0], "tree": [0.0, 1.0, 0.0, 0.0], "maple_tree": [0.0, 0.0, 5.0, 0.0],
         "sweet": [1.0, 1.0, 1.0, 1.0], "pepper": [3.0, -1.0, 1.0, 0.0], "Apple": [9.0, 9.0, 9.0, 9.0]}


def text_file(path, header: bool, words=WORDS, gz: bool = False):
    lines = ([f"{len(words)} {len(next(iter(words.values())))}"] if header else [])
    lines += [f"{w} " + " ".join(f"{v:.6f}" for v in vec) + " " for w, vec in words.items()]  # word2vec's trailing space
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def binary_file(path, words=WORDS):
    dim = len(next(iter(words.values())))
    body = b"".join(w.encode() + b" " + np.asarray(v, dtype="<f4").tobytes() + b"\n" for w, v in words.items())
    path.write_bytes(f"{len(words)} {dim}\n".encode() + body)
    return path


@pytest.fixture(params=["glove-text", "word2vec-text", "text-gz", "word2vec-bin"])
def vector_file(request, tmp_path):
    kind = request.param
    if kind == "word2vec-bin":
        return binary_file(tmp_path / "vectors.bin")
    return text_file(tmp_path / ("vectors.txt.gz" if kind == "text-gz" else "vectors.txt"),
                     header=kind == "word2vec-text", gz=kind == "text-gz")


def test_every_format_gives_the_vectors_by_hand(vector_file):
    got = emb.class_name_embeddings(["sweet pepper", "maple", "tree"], vectors=vector_file, dtype=torch.float64)
    want = torch.tensor([[2.0, 0.0, 1.0, 0.5], WORDS["maple"], WORDS["tree"]], dtype=torch.float64)
    assert torch.allclose(got, want, atol=1e-6)
    wv = emb.word_vectors(vector_file)
    assert wv.dim == 4 and len(wv.vocab) == len(WORDS)
    assert f"sha256={hashlib.sha256(vector_file.read_bytes()).hexdigest()}" in wv.source


def test_a_phrase_the_vocabulary_has_beats_the_mean_of_its_words(vector_file):
    got = emb.class_name_embeddings(["maple_tree", "maple tree"], vectors=vector_file, dtype=torch.float64)
    assert torch.allclose(got, torch.tensor([WORDS["maple_tree"]] * 2, dtype=torch.float64))
    assert emb.name_words("sweet_pepper", vector_file) == (["sweet", "pepper"], [])


def test_lookups_are_lower_case_and_every_missing_name_is_named(vector_file):
    with pytest.raises(emb.EmbeddingError, match=r"has no embedding for 2 of 3 class names: 'apple' .*'oak tree'"):
        emb.class_name_embeddings(["apple", "maple", "oak tree"], vectors=vector_file)


@pytest.mark.parametrize("content,match", [
    (None, "no such file"),
    (b"", "holds no word vectors"),
    (b"cat 1.0 2.0\ndog 1.0\n", "line 2 has 1 numbers, the first vector 2"),
])
def test_bad_text_files_are_one_clear_error(tmp_path, content, match):
    path = tmp_path / "v.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(emb.EmbeddingError, match=match) as err:
        emb.word_vectors(path)
    assert "\n" not in str(err.value)


def test_bad_binary_files_are_one_clear_error(tmp_path):
    truncated = binary_file(tmp_path / "t.bin")
    truncated.write_bytes(truncated.read_bytes()[:-10])
    with pytest.raises(emb.EmbeddingError, match="ends before its 6 vectors do"):
        emb.word_vectors(truncated)
    (tmp_path / "e.bin").write_bytes(b"")
    with pytest.raises(emb.EmbeddingError, match="holds no word vectors"):
        emb.word_vectors(tmp_path / "e.bin")
    (tmp_path / "h.bin").write_bytes(b"not a header\n")
    with pytest.raises(emb.EmbeddingError, match="binary header 'count dim'"):
        emb.word_vectors(tmp_path / "h.bin")


def test_a_rewritten_file_is_read_again(tmp_path):
    path = text_file(tmp_path / "v.txt", header=False)
    first = emb.word_vectors(path).source
    text_file(path, header=False, words={**WORDS, "extra": [0.0, 0.0, 0.0, 1.0]})
    assert emb.word_vectors(path).source != first and "extra" in emb.word_vectors(path).vocab


def test_a_training_run_embeds_with_the_file_and_records_its_checksum(tmp_path):
    digits = {str(k): list(np.random.default_rng(k).normal(size=6)) for k in range(10)}
    path = text_file(tmp_path / "digits.txt", header=True, words=digits)
    cfg = train.Config(method="hpn", prototypes="embedding", dim=6, epochs=1, train_limit=200, device="cpu",
                       word_vectors=str(path))
    run = train.train(cfg, progress=False)
    assert run.results["data"]["word_vectors"] == emb.word_vectors(path).source
    assert run.results["config"]["word_vectors"] == str(path)
    assert "word_vectors" not in train.train(train.Config(epochs=1, train_limit=200, device="cpu"),
                                             progress=False).results["data"]   # no class-name vectors used


def test_hpn_table2_word2vec_row_places_from_a_file(tmp_path):
    names = experiments.CLASS_NAMES["cifar100"]
    rng = np.random.default_rng(0)
    path = binary_file(tmp_path / "w2v.bin", {n: list(rng.normal(size=120)) for n in names})
    jobs = reproduce.plan("hpn-table2", "paper", out_root=tmp_path / "runs", results_dir=tmp_path / "res",
                          word_vectors=str(path))
    by_label = {j.row.label: j for j in jobs}
    assert by_label["Word2vec"].config.word_vectors == str(path.resolve())
    assert by_label["HPN"].config.word_vectors == "glove"   # rows without class-name vectors are left alone
    results = reproduce.place_only(by_label["Word2vec"])
    assert results["data"]["word_vectors"] == emb.word_vectors(path).source
    assert json.loads(by_label["Word2vec"].results_path.read_text())["best"] == results["best"]
    assert 0 < results["best"]["dist_min"] < results["best"]["dist_mean"] < results["best"]["dist_max"] <= 2
    with pytest.raises(train.ConfigError, match="no planned row of hpn-table2 uses class-name vectors"):
        reproduce.plan("hpn-table2", "paper", only=[2], word_vectors=str(path))
