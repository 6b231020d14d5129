import pytest
import torch

from hpnb.mixing import cutmix, mix_batch, mixup


def _batch(n=6, c=3, h=16, w=20, dtype=torch.float32, seed=0):
    gen = torch.Generator().manual_seed(seed)
    if dtype == torch.uint8:
        images = torch.randint(1, 255, (n, c, h, w), generator=gen, dtype=torch.uint8)
    else:
        images = torch.rand(n, c, h, w, generator=gen, dtype=dtype) + 1.0  # never 0: pixel counts stay exact
    labels = torch.tensor([0, 1, 2, 3, 4, 0])[:n]
    return images, labels


def test_cutmix_labels_match_pasted_area():
    images, labels = _batch()
    rolled = images.roll(1, 0)
    gen = torch.Generator().manual_seed(1)
    nonempty = 0
    for _ in range(30):
        out, soft = cutmix(images, labels, 5, gen)
        torch.testing.assert_close(soft.sum(1), torch.ones(len(images)))
        # Images are distinct everywhere, so every pasted pixel differs from the original.
        pasted = (out != images).all(dim=1)  # (N, H, W)
        assert torch.equal(out[:, :, pasted[0]], rolled[:, :, pasted[0]])
        assert torch.equal(pasted, pasted[:1].expand_as(pasted))  # one box for the whole batch
        frac = pasted[0].double().mean().item()
        nonempty += frac > 0
        for i in range(len(images)):
            expected = torch.zeros(5)
            expected[labels[i]] += 1.0 - frac
            expected[labels[i - 1]] += frac  # roll(1): sample i receives sample i-1's patch
            torch.testing.assert_close(soft[i], expected)
    assert nonempty > 20


def test_mixup_is_convex_combination():
    images, labels = _batch(dtype=torch.float64)
    gen = torch.Generator().manual_seed(3)
    out, soft = mixup(images, labels, 5, gen)
    lam = soft[1, labels[1]].item()  # sample 1 is class 1, its partner (sample 0) class 0
    assert 0.0 < lam < 1.0
    torch.testing.assert_close(out, lam * images + (1 - lam) * images.roll(1, 0))
    torch.testing.assert_close(soft[1, 0].item(), 1 - lam)
    # sample 0 is class 0 and its partner (sample 5) also class 0: all weight on class 0
    torch.testing.assert_close(soft[0], torch.tensor([1.0, 0, 0, 0, 0], dtype=torch.float64))


def test_mixup_uint8_rounds():
    images, labels = _batch(dtype=torch.uint8)
    out, soft = mixup(images, labels, 5, torch.Generator().manual_seed(4))
    assert out.dtype == torch.uint8 and soft.dtype == torch.float32
    lam = soft[1, 1].item()
    ref = (lam * images.double() + (1 - lam) * images.roll(1, 0).double()).round()
    assert (out.double() - ref).abs().max() <= 1  # float32 arithmetic may round the other way at .5


def test_deterministic_under_generator():
    images, labels = _batch()
    a = [mix_batch(images, labels, 5, torch.Generator().manual_seed(7)) for _ in range(2)]
    torch.testing.assert_close(a[0][0], a[1][0], rtol=0, atol=0)
    torch.testing.assert_close(a[0][1], a[1][1], rtol=0, atol=0)
    g = torch.Generator().manual_seed(7)
    seq1 = [mix_batch(images, labels, 5, g)[1] for _ in range(5)]
    g = torch.Generator().manual_seed(7)
    seq2 = [mix_batch(images, labels, 5, g)[1] for _ in range(5)]
    assert all(torch.equal(s, t) for s, t in zip(seq1, seq2))
    assert not all(torch.equal(seq1[0], s) for s in seq1[1:])  # successive batches do differ


def test_both_modes_chosen():
    images, labels = _batch()
    gen = torch.Generator().manual_seed(11)
    kinds = []
    for _ in range(200):
        out, _ = mix_batch(images, labels, 5, gen)
        changed = (out != images).any(dim=1)[0]
        # MixUp changes every pixel (lam < 1 almost surely); CutMix leaves pixels outside its box.
        kinds.append("mixup" if bool(changed.all()) else "cutmix")
    n_cut = kinds.count("cutmix")
    assert 70 <= n_cut <= 130, n_cut


def test_soft_labels_sum_to_one_and_device_dtype():
    images, labels = _batch()
    gen = torch.Generator().manual_seed(5)
    for mode in ("cutmix", "mixup"):
        out, soft = mix_batch(images, labels, 5, gen, mode=mode)
        assert out.shape == images.shape and out.dtype == images.dtype
        assert soft.shape == (len(images), 5)
        torch.testing.assert_close(soft.sum(1), torch.ones(len(images)))
        assert (soft >= 0).all()
    with pytest.raises(ValueError):
        mix_batch(images, labels, 5, gen, mode="other")


def test_alpha_changes_lambda_distribution():
    images, labels = _batch()
    gen = torch.Generator().manual_seed(2)
    # Beta(0.1, 0.1) puts most mass near 0 and 1; Beta(1, 1) is uniform.
    lams_small = torch.tensor([mixup(images, labels, 5, gen, alpha=0.1)[1][1, 1].item() for _ in range(300)])
    lams_one = torch.tensor([mixup(images, labels, 5, gen, alpha=1.0)[1][1, 1].item() for _ in range(300)])
    extreme = lambda t: ((t < 0.1) | (t > 0.9)).double().mean().item()  # noqa: E731
    assert extreme(lams_small) > 0.6
    assert 0.1 < extreme(lams_one) < 0.3
    assert abs(lams_one.mean().item() - 0.5) < 0.06
