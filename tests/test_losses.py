"""Tests for hpnb.losses: hand-computed values, gradients, mixing identities, reductions, errors.

Expected numbers are written from the papers' formulas with the math module, never by calling the
function under test. Everything comparing to hand values runs in float64.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch.autograd import gradcheck

from hpnb import losses as L

D64 = torch.float64


def t(rows) -> torch.Tensor:
    return torch.tensor(rows, dtype=D64)


def labels(values) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.long)


@pytest.fixture
def gen() -> torch.Generator:
    return torch.Generator().manual_seed(0)


def rand(gen: torch.Generator, *shape: int, requires_grad: bool = False) -> torch.Tensor:
    return torch.randn(*shape, generator=gen, dtype=D64).requires_grad_(requires_grad)


def soft_labels(gen: torch.Generator, batch: int, classes: int) -> torch.Tensor:
    return torch.softmax(torch.randn(batch, classes, generator=gen, dtype=D64) * 2, dim=1)


# ------------------------------------------------------------------------------------------------
# Hand values


def test_cosine_sq_hand_value():
    # Prototypes deliberately not unit length: the loss must use cosines, not dot products.
    P = t([[2.0, 0.0], [0.0, 0.5]])
    z = t([[2.0, 0.0], [1.0, 1.0], [0.0, -3.0], [-1.0, 0.0]])
    y = labels([0, 0, 0, 0])
    # cosines with p_0 = e_1: 1, 1/sqrt2, 0, -1
    expected = 0.0 + (1 - 1 / math.sqrt(2)) ** 2 + 1.0 + 4.0
    assert L.cosine_sq(z, P, y).item() == pytest.approx(expected, rel=1e-12)
    assert L.cosine_sq(z, P, y, reduction="mean").item() == pytest.approx(expected / 4, rel=1e-12)
    # Second class: z=(1,1) against e_2 has cosine 1/sqrt2, z=(0,-3) has cosine -1.
    y2 = labels([1, 1, 1, 1])
    expected2 = 1.0 + (1 - 1 / math.sqrt(2)) ** 2 + 4.0 + 1.0
    assert L.cosine_sq(z, P, y2).item() == pytest.approx(expected2, rel=1e-12)


def test_cosine_sq_is_twice_dl2pa_ipm():
    # DL2PA Eq. 6: L_IPM = 1/2 (z^T w - 1)^2 for unit z, w. Here z^T w = cos 60deg = 1/2.
    z = t([[math.cos(math.pi / 3), math.sin(math.pi / 3)]])
    P = t([[1.0, 0.0]])
    ipm = 0.5 * (0.5 - 1.0) ** 2
    assert L.cosine_sq(z, P, labels([0])).item() == pytest.approx(2 * ipm, rel=1e-12)


def test_prototype_ce_hand_value():
    P = t([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    z = t([[3.0, 0.0], [0.0, 2.0]])
    y = labels([0, 2])
    # logits are cosines: sample 0 -> (1, 0, -1), true 0; sample 1 -> (0, 1, 0), true 2
    ce0 = math.log(math.e + 1 + math.exp(-1)) - 1.0
    ce1 = math.log(1 + math.e + 1) - 0.0
    # HMPN Eq. 2 is a batch mean: the default
    assert L.prototype_ce(z, P, y).item() == pytest.approx((ce0 + ce1) / 2, rel=1e-12)
    assert L.prototype_ce(z, P, y, reduction="sum").item() == pytest.approx(ce0 + ce1, rel=1e-12)
    # temperature 0.5 doubles the logits
    ce0_t = math.log(math.exp(2) + 1 + math.exp(-2)) - 2.0
    ce1_t = math.log(1 + math.exp(2) + 1)
    got = L.prototype_ce(z, P, y, temperature=0.5).item()
    assert got == pytest.approx((ce0_t + ce1_t) / 2, rel=1e-12)


def test_mixed_ce_defaults_to_hmpn_eq4_batch_mean():
    P = t([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    z = t([[3.0, 0.0], [0.0, 2.0]])
    y = t([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]])
    per_image = L.mixed_ce(z, P, y, reduction="sum") / 2
    assert L.mixed_ce(z, P, y).item() == pytest.approx(per_image.item(), rel=1e-12)


def test_mixed_ce_hand_value():
    P = t([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    z = t([[3.0, 0.0]])
    y = t([[0.5, 0.5, 0.0]])
    # -(0.5 log p_0 + 0.5 log p_1), log p_c = logit_c - logsumexp, logits (1, 0, -1)
    lse = math.log(math.e + 1 + math.exp(-1))
    expected = lse - 0.5 * (1.0 + 0.0)
    assert L.mixed_ce(z, P, y).item() == pytest.approx(expected, rel=1e-12)
    assert L.prototype_ce(z, P, y).item() == pytest.approx(expected, rel=1e-12)


def test_mixed_cosine_sq_hand_value():
    P = t([[1.0, 0.0], [0.0, 1.0]])
    z = t([[1.0, 0.0], [0.0, 5.0]])
    y = t([[0.5, 0.5], [0.75, 0.25]])
    # mixed prototypes (1,1)/sqrt2 and (3,1)/sqrt10
    expected = (1 - 1 / math.sqrt(2)) ** 2 + (1 - 1 / math.sqrt(10)) ** 2
    assert L.mixed_cosine_sq(z, P, y).item() == pytest.approx(expected, rel=1e-12)
    assert L.cosine_sq(z, P, y).item() == pytest.approx(expected, rel=1e-12)


def test_mixed_cosine_sq_mixes_unit_prototypes():
    # HMPN mixes unit prototypes. With |p_0| = 3 and |p_1| = 1 a naive P^T y would point at
    # (3,1)/sqrt10 for a 1/2-1/2 mix; the mixed prototype must be (1,1)/sqrt2.
    P = t([[3.0, 0.0], [0.0, 1.0]])
    z = t([[1.0, 1.0]])
    y = t([[0.5, 0.5]])
    assert L.mixed_cosine_sq(z, P, y).item() == pytest.approx(0.0, abs=1e-12)


def test_softmax_ce_hand_value():
    logits = t([[1.0, 0.0, -1.0], [0.0, 2.0, 0.0]])
    y = labels([0, 1])
    ce0 = math.log(math.e + 1 + math.exp(-1)) - 1.0
    ce1 = math.log(2 + math.exp(2)) - 2.0
    assert L.softmax_ce(logits, y).item() == pytest.approx(ce0 + ce1, rel=1e-12)
    y_soft = t([[0.25, 0.75, 0.0], [0.0, 0.0, 1.0]])
    soft0 = math.log(math.e + 1 + math.exp(-1)) - (0.25 * 1.0 + 0.75 * 0.0)
    soft1 = math.log(2 + math.exp(2)) - 0.0
    assert L.softmax_ce(logits, y_soft).item() == pytest.approx(soft0 + soft1, rel=1e-12)


def test_center_loss_hand_value():
    x = t([[1.0, 2.0], [0.0, 0.0]])
    c = t([[0.0, 0.0], [1.0, 1.0]])
    y = labels([0, 1])
    # 1/2 (1 + 4) + 1/2 (1 + 1)
    assert L.center_loss(x, c, y).item() == pytest.approx(3.5, rel=1e-12)
    assert L.center_loss(x, c, y, reduction="mean").item() == pytest.approx(1.75, rel=1e-12)
    y_soft = t([[0.5, 0.5], [0.0, 1.0]])
    # sample 0: 1/2 (0.5 * 5 + 0.5 * (0 + 1)) = 1.5; sample 1: 1.0
    assert L.center_loss(x, c, y_soft).item() == pytest.approx(2.5, rel=1e-12)


# DPNP example, radius alpha = 2, three classes in 2-d, asymmetric so every rival choice matters.
ALPHA = 2.0
C_HAND = [[2.0, 0.0], [0.0, 2.0], [-1.2, -1.6]]
H_HAND = [[1.0, 1.0], [0.0, -1.0]]
Y_HAND = [0, 1]


def _dpnp_hand_parts() -> tuple[float, float, float, float]:
    # sample 0: h=(1,1), y=0. logits C h / alpha = (2, 2, -2.8)/2.
    ce0 = math.log(2 * math.e + math.exp(-1.4)) - 1.0
    pull0 = 0.5 * ((1 - 2) ** 2 + (1 - 0) ** 2)  # = 1
    # nearest rival: c_1 at distance sqrt2 (c_2 at sqrt11.6); h - c_1 = (1, -1)
    push0 = -0.5 * (math.sqrt(1) + math.sqrt(1))
    # sample 1: h=(0,-1), y=1. logits (0, -2, 1.6)/2.
    ce1 = math.log(1 + math.exp(-1) + math.exp(0.8)) + 1.0
    pull1 = 0.5 * (0 + 9)  # = 4.5
    # rivals: c_0 at sqrt5, c_2 at sqrt1.8 -> c_2; h - c_2 = (1.2, 0.6)
    push1 = -0.5 * (math.sqrt(1.2) + math.sqrt(0.6))
    # classes: |c0-c1| = sqrt8, |c0-c2| = sqrt12.8, |c1-c2| = sqrt14.4
    # rivals c0->c1, c1->c0, c2->c0; differences (2,-2), (-2,2), (-3.2,-1.6)
    neg_class = -0.5 * (2 * math.sqrt(2) + 2 * math.sqrt(2) + math.sqrt(3.2) + math.sqrt(1.6)) / 3
    ce = (ce0 + ce1) / 2
    pos = (pull0 + pull1) / 2
    neg_sample = (push0 + push1) / 2
    return ce, pos, neg_sample, neg_class


def test_dpnp_hand_value():
    ce, pos, neg_sample, neg_class = _dpnp_hand_parts()
    lp, ls, lc = 0.1, 0.2, 0.3
    out = L.dpnp(
        t(H_HAND), t(C_HAND), labels(Y_HAND), alpha=ALPHA,
        lambda_pos=lp, lambda_neg_sample=ls, lambda_neg_class=lc, eps=0.0,
    )
    assert out.ce.item() == pytest.approx(ce, rel=1e-12)
    assert out.pos.item() == pytest.approx(pos, rel=1e-12)
    assert out.neg_sample.item() == pytest.approx(neg_sample, rel=1e-12)
    assert out.neg_class.item() == pytest.approx(neg_class, rel=1e-12)
    total = ce + lp * pos + ls * neg_sample + lc * neg_class
    assert out.total.item() == pytest.approx(total, rel=1e-12)
    # the default eps only perturbs the quasi-norm by ~eps/sqrt|v|
    out_eps = L.dpnp(
        t(H_HAND), t(C_HAND), labels(Y_HAND), alpha=ALPHA,
        lambda_pos=lp, lambda_neg_sample=ls, lambda_neg_class=lc,
    )
    assert out_eps.total.item() == pytest.approx(total, abs=1e-7)


def test_dpnp_sum_is_batch_times_mean():
    args = (t(H_HAND), t(C_HAND), labels(Y_HAND))
    mean = L.dpnp(*args, alpha=ALPHA, reduction="mean")
    summed = L.dpnp(*args, alpha=ALPHA, reduction="sum")
    for name in L.DPNPLoss._fields:
        assert getattr(summed, name).item() == pytest.approx(
            2 * getattr(mean, name).item(), rel=1e-12
        ), name


def test_dpnp_defaults_are_the_papers():
    # DPNP Section V-B: alpha = 40; standard ResNet18 lambdas all 0.1.
    ce, pos, neg_sample, neg_class = _dpnp_hand_parts()
    out = L.dpnp(t(H_HAND), t(C_HAND), labels(Y_HAND), alpha=ALPHA, eps=0.0)
    assert out.total.item() == pytest.approx(ce + 0.1 * (pos + neg_sample + neg_class), rel=1e-12)
    h, C = t(H_HAND), t(C_HAND) * 20  # radius 40
    logits = (C @ h.T).T / 40.0
    expected_ce = F.cross_entropy(logits, labels(Y_HAND)).item()
    assert L.dpnp(h, C, labels(Y_HAND)).ce.item() == pytest.approx(expected_ce, rel=1e-12)
    assert L.DPNP_LAMBDAS["resnet18"] == (0.1, 0.1, 0.1)


def test_dpp_hand_value():
    ce, pos, _, _ = _dpnp_hand_parts()
    out = L.dpp(t(H_HAND), t(C_HAND), labels(Y_HAND), alpha=ALPHA, lambda_pos=0.5)
    assert out.total.item() == pytest.approx(ce + 0.5 * pos, rel=1e-12)
    assert out.ce.item() == pytest.approx(ce, rel=1e-12)
    assert out.neg_sample.item() == 0.0 and out.neg_class.item() == 0.0


def test_renormalise_in_place():
    C = torch.nn.Parameter(t([[3.0, 4.0], [0.0, -0.5], [1.0, 1.0]]))
    ptr = C.data_ptr()
    out = L.renormalise_(C, alpha=40.0)
    assert out is C and C.data_ptr() == ptr
    expected = t([[24.0, 32.0], [0.0, -40.0], [40 / math.sqrt(2), 40 / math.sqrt(2)]])
    torch.testing.assert_close(C.detach(), expected, rtol=1e-12, atol=1e-12)
    assert C.grad is None and C.requires_grad


# ------------------------------------------------------------------------------------------------
# Gradients


def test_cosine_sq_closed_form_gradient(gen):
    # HPN Eq. 2, derived from Eq. 1 with unit p: cos = z.p/|z|, d cos/dz = p/|z| - cos z/|z|^2,
    # so dL/dz = -2 (1 - cos) d cos/dz = 2 (1 - cos)(cos z/|z|^2 - p/|z|).
    z = rand(gen, 6, 5, requires_grad=True)
    P = F.normalize(rand(gen, 4, 5), dim=1)
    y = labels([0, 1, 2, 3, 0, 2])
    L.cosine_sq(z, P, y).backward()
    zd = z.detach()
    norm = zd.norm(dim=1, keepdim=True)
    p = P[y]
    cos = (zd * p).sum(dim=1, keepdim=True) / norm
    expected = 2 * (1 - cos) * (cos * zd / norm**2 - p / norm)
    torch.testing.assert_close(z.grad, expected, rtol=1e-10, atol=1e-12)
    # the gradient is tangent to the sphere: it never changes |z|
    assert (z.grad * zd).sum(dim=1).abs().max().item() < 1e-12


@pytest.mark.parametrize("soft", [False, True])
def test_gradcheck_prototype_losses(gen, soft):
    z = rand(gen, 5, 4, requires_grad=True)
    P = rand(gen, 3, 4)
    y = soft_labels(gen, 5, 3) if soft else labels([0, 1, 2, 1, 0])
    for fn in (L.cosine_sq, L.mixed_cosine_sq, L.prototype_ce, L.mixed_ce):
        assert gradcheck(lambda zz: fn(zz, P, y), (z,)), fn.__name__
    assert gradcheck(lambda zz: L.prototype_ce(zz, P, y, temperature=0.3), (z,))


def test_gradcheck_baselines(gen):
    logits = rand(gen, 4, 3, requires_grad=True)
    y = labels([0, 2, 1, 2])
    y_soft = soft_labels(gen, 4, 3)
    assert gradcheck(lambda lg: L.softmax_ce(lg, y), (logits,))
    assert gradcheck(lambda lg: L.softmax_ce(lg, y_soft), (logits,))
    x = rand(gen, 4, 2, requires_grad=True)
    c = rand(gen, 3, 2, requires_grad=True)
    assert gradcheck(lambda a, b: L.center_loss(a, b, y), (x, c))
    assert gradcheck(lambda a, b: L.center_loss(a, b, y_soft), (x, c))


@pytest.mark.parametrize("soft", [False, True])
def test_gradcheck_dpnp(gen, soft):
    h = rand(gen, 5, 3, requires_grad=True)
    C = rand(gen, 4, 3, requires_grad=True)
    if soft:
        # a two-class mix per sample, as MixUp/CutMix produce, so each has rivals left
        y = torch.zeros(5, 4, dtype=D64)
        y[torch.arange(5), labels([0, 1, 2, 3, 0])] = 0.7
        y[torch.arange(5), labels([1, 2, 3, 0, 2])] += 0.3
    else:
        y = labels([0, 1, 2, 3, 1])

    def total(hh, cc):
        return L.dpnp(hh, cc, y, alpha=2.0, lambda_pos=0.3, lambda_neg_sample=0.5,
                      lambda_neg_class=0.7).total

    assert gradcheck(total, (h, C))
    assert gradcheck(lambda hh, cc: L.dpp(hh, cc, y, alpha=2.0, lambda_pos=0.3).total, (h, C))


def test_dpnp_gradient_finite_at_shared_coordinates():
    # Axis-aligned prototypes share coordinates, so |c_j - c_k| has exact zeros where sqrt has
    # an infinite slope; the eps inside the sqrt must keep every gradient finite.
    h = torch.zeros(2, 3, dtype=D64, requires_grad=True)
    C = (torch.eye(3, dtype=D64) * 40).requires_grad_(True)
    L.dpnp(h, C, labels([0, 1])).total.backward()
    assert torch.isfinite(h.grad).all() and torch.isfinite(C.grad).all()


def test_dpnp_repulsion_pushes_apart():
    # One gradient step on the class term alone must increase the distance between the two
    # nearest prototypes (the sign of Eq. 9 in Eq. 10 is a reward for distance).
    C = t([[1.0, 0.2], [1.0, -0.2], [-1.0, 0.0]]).requires_grad_(True)
    h = t([[0.0, 1.0]])
    out = L.dpnp(h, C, labels([2]), lambda_pos=0.0, lambda_neg_sample=0.0, lambda_neg_class=1.0)
    (out.total - out.ce).backward()
    with torch.no_grad():
        before = (C[0] - C[1]).norm()
        stepped = C - 0.01 * C.grad
        after = (stepped[0] - stepped[1]).norm()
    assert after > before


# ------------------------------------------------------------------------------------------------
# Mixing identities and the cancelling mix


def test_mixed_equals_unmixed_for_one_hot(gen):
    z = rand(gen, 7, 5)
    P = rand(gen, 4, 5)  # not unit: both paths must normalise the same way
    y = labels([0, 1, 2, 3, 3, 2, 1])
    y1h = F.one_hot(y, 4).to(D64)
    ref = L.cosine_sq(z, P, y)
    torch.testing.assert_close(L.mixed_cosine_sq(z, P, y1h), ref, rtol=1e-12, atol=0)
    torch.testing.assert_close(L.cosine_sq(z, P, y1h), ref, rtol=1e-12, atol=0)
    ce = L.prototype_ce(z, P, y, temperature=0.7)
    torch.testing.assert_close(L.mixed_ce(z, P, y1h, temperature=0.7), ce, rtol=1e-12, atol=0)
    torch.testing.assert_close(L.prototype_ce(z, P, y1h, temperature=0.7), ce, rtol=1e-12, atol=0)
    torch.testing.assert_close(L.softmax_ce(z @ P.T, y1h), L.softmax_ce(z @ P.T, y))
    torch.testing.assert_close(L.center_loss(z, P, y1h), L.center_loss(z, P, y))
    a, b = L.dpnp(z, P, y, alpha=3.0), L.dpnp(z, P, y1h, alpha=3.0)
    for name in L.DPNPLoss._fields:
        torch.testing.assert_close(getattr(b, name), getattr(a, name), msg=name)


def test_soft_label_losses_are_label_linear(gen):
    # Soft-label CE and center loss are linear in the label: a 0.3/0.7 mix equals the mix of the
    # two one-hot losses (this is what distinguishes them from the mixed-prototype Eq. 3).
    z, P = rand(gen, 1, 3), rand(gen, 3, 3)
    y_mix = t([[0.3, 0.7, 0.0]])
    for fn in (L.mixed_ce, L.center_loss):
        mixed = fn(z, P, y_mix)
        parts = 0.3 * fn(z, P, labels([0])) + 0.7 * fn(z, P, labels([1]))
        torch.testing.assert_close(mixed, parts, rtol=1e-12, atol=0)


def test_cancelling_mix_is_finite_with_zero_gradient():
    # Two antipodal prototypes mixed 1/2-1/2: P^T y = 0, no mixed prototype exists.
    P = t([[1.0, 0.0], [-1.0, 0.0]]).requires_grad_(True)
    z = t([[0.3, 0.8], [1.0, 1.0]]).requires_grad_(True)
    y = t([[0.5, 0.5], [1.0, 0.0]]).requires_grad_(True)
    loss = L.mixed_cosine_sq(z, P, y)
    # cancelled sample: cos := 0 -> loss 1; second sample: cos 45deg against p_0
    expected = 1.0 + (1 - 1 / math.sqrt(2)) ** 2
    assert loss.item() == pytest.approx(expected, rel=1e-12)
    loss.backward()
    for g in (z.grad, P.grad, y.grad):
        assert torch.isfinite(g).all()
    assert torch.equal(z.grad[0], torch.zeros(2, dtype=D64))
    assert torch.equal(y.grad[0], torch.zeros(2, dtype=D64))
    assert z.grad[1].abs().sum() > 0  # the defined sample still trains
    # float32, the dtype of training, too
    z32 = z.detach().float().requires_grad_(True)
    out = L.mixed_cosine_sq(z32, P.detach().float(), y.detach().float())
    out.backward()
    assert torch.isfinite(out) and torch.isfinite(z32.grad).all()
    # the mixed CE needs no mixed prototype: finite and equal to the 1/2-1/2 label mix
    ce = L.mixed_ce(z.detach()[:1], P.detach(), y.detach()[:1])
    parts = 0.5 * L.prototype_ce(z.detach()[:1], P.detach(), labels([0])) + 0.5 * L.prototype_ce(
        z.detach()[:1], P.detach(), labels([1])
    )
    torch.testing.assert_close(ce, parts, rtol=1e-12, atol=0)


def test_mix_below_threshold_counts_as_cancelled():
    # |P^T y| = 2e-8 < eps = 1e-6: rounding-level residue of a cancelled mix, not a direction.
    P = t([[1.0, 0.0], [-1.0, 0.0]])
    z = t([[0.6, 0.8]]).requires_grad_(True)
    loss = L.mixed_cosine_sq(z, P, t([[0.5 + 1e-8, 0.5 - 1e-8]]))
    assert loss.item() == 1.0
    loss.backward()
    assert torch.equal(z.grad, torch.zeros_like(z))


def test_nearly_cancelling_mix_keeps_its_direction():
    # 0.501/0.499 of antipodal prototypes is a (tiny) vector along p_0: still defined, so the loss
    # must be Eq. 1 against p_0, not the cancelled-mix value 1.
    P = t([[1.0, 0.0], [-1.0, 0.0]])
    z = t([[1.0, 1.0]]).requires_grad_(True)
    loss = L.mixed_cosine_sq(z, P, t([[0.501, 0.499]]))
    assert loss.item() == pytest.approx((1 - 1 / math.sqrt(2)) ** 2, rel=1e-9)
    loss.backward()
    assert torch.isfinite(z.grad).all() and z.grad.abs().sum() > 0


def test_dpnp_soft_mix_over_all_classes_has_no_sample_rival():
    h = t([[0.5, 0.5]])
    C = t([[2.0, 0.0], [0.0, 2.0]])
    out = L.dpnp(h, C, t([[0.5, 0.5]]), alpha=2.0)
    assert out.neg_sample.item() == 0.0
    # pull: 1/2 (0.5 |h - c_0|^2 + 0.5 |h - c_1|^2), both squared distances 2.25 + 0.25
    assert out.pos.item() == pytest.approx(0.5 * 2.5, rel=1e-12)


# ------------------------------------------------------------------------------------------------
# Reductions and argument errors


def _calls(gen):
    z, P = rand(gen, 5, 3), rand(gen, 4, 3)
    y, ys = labels([0, 1, 2, 3, 0]), soft_labels(gen, 5, 4)
    calls = []
    for target in (y, ys):
        calls += [
            ("cosine_sq", lambda r, tg=target: L.cosine_sq(z, P, tg, reduction=r)),
            ("mixed_cosine_sq", lambda r, tg=target: L.mixed_cosine_sq(z, P, tg, reduction=r)),
            ("prototype_ce", lambda r, tg=target: L.prototype_ce(z, P, tg, reduction=r)),
            ("mixed_ce", lambda r, tg=target: L.mixed_ce(z, P, tg, reduction=r)),
            ("softmax_ce", lambda r, tg=target: L.softmax_ce(z @ P.T, tg, reduction=r)),
            ("center_loss", lambda r, tg=target: L.center_loss(z, P, tg, reduction=r)),
            ("dpnp", lambda r, tg=target: L.dpnp(z, P, tg, alpha=2.0, reduction=r).total),
            ("dpp", lambda r, tg=target: L.dpp(z, P, tg, alpha=2.0, reduction=r).total),
        ]
    return calls


def test_mean_is_sum_over_batch(gen):
    for name, call in _calls(gen):
        total, mean = call("sum"), call("mean")
        torch.testing.assert_close(mean, total / 5, rtol=1e-12, atol=0, msg=name)
        assert total.abs().item() > 1e-6, name  # non-trivial comparison


def test_bad_reduction_raises(gen):
    for name, call in _calls(gen):
        with pytest.raises(ValueError, match="reduction"):
            call("none")


def test_default_reductions():
    # Each paper's reduction: sum for the squared-cosine losses (HPN/HMPN code) and the baselines,
    # mean for HMPN's cross-entropies (Eq. 2/4) and DPNP/DPP (Eq. 10).
    z, P, y = t([[1.0, 0.0], [0.0, 1.0]]), t([[1.0, 1.0], [1.0, -1.0]]), labels([0, 1])
    for fn in (L.cosine_sq, L.mixed_cosine_sq, L.center_loss):
        assert fn(z, P, y).item() == pytest.approx(fn(z, P, y, reduction="sum").item()), fn.__name__
    for fn in (L.prototype_ce, L.mixed_ce):
        assert fn(z, P, y).item() == pytest.approx(fn(z, P, y, reduction="mean").item()), fn.__name__
    assert L.softmax_ce(z, y).item() == pytest.approx(L.softmax_ce(z, y, reduction="sum").item())
    assert L.dpnp(z, P, y).total.item() == pytest.approx(
        L.dpnp(z, P, y, reduction="mean").total.item()
    )


@pytest.mark.parametrize(
    "fn", [L.cosine_sq, L.mixed_cosine_sq, L.prototype_ce, L.mixed_ce, L.center_loss, L.dpnp, L.dpp]
)
def test_shape_errors(fn):
    z, P, y = torch.randn(4, 3), torch.randn(5, 3), torch.tensor([0, 1, 2, 3])
    with pytest.raises(ValueError, match="dimension"):
        fn(z, torch.randn(5, 2), y)
    with pytest.raises(ValueError, match=r"\(B, d\)"):
        fn(torch.randn(3), P, y)
    with pytest.raises(ValueError, match=r"\(C, d\)"):
        fn(z, torch.randn(3), y)
    with pytest.raises(ValueError, match="batch size"):
        fn(z, P, torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="soft labels"):
        fn(z, P, torch.full((4, 4), 0.25))
    with pytest.raises(ValueError, match="targets"):
        fn(z, P, torch.tensor([0.0, 1.0, 2.0, 3.0]))  # float class indices
    with pytest.raises(ValueError, match="targets"):
        fn(z, P, torch.tensor([True, False, True, False]))
    with pytest.raises(ValueError, match="empty"):
        fn(torch.randn(0, 3), P, torch.zeros(0, dtype=torch.long))


def test_softmax_ce_shape_errors():
    with pytest.raises(ValueError, match=r"\(B, C\)"):
        L.softmax_ce(torch.randn(4), torch.tensor([0, 1, 2, 3]))
    with pytest.raises(ValueError, match="batch size"):
        L.softmax_ce(torch.randn(4, 3), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="soft labels"):
        L.softmax_ce(torch.randn(4, 3), torch.full((4, 2), 0.5))


def test_parameter_errors():
    z, P, y = torch.randn(2, 3), torch.randn(3, 3), torch.tensor([0, 1])
    for bad in (0.0, -1.0):
        with pytest.raises(ValueError, match="temperature"):
            L.prototype_ce(z, P, y, temperature=bad)
        with pytest.raises(ValueError, match="temperature"):
            L.mixed_ce(z, P, y, temperature=bad)
        with pytest.raises(ValueError, match="alpha"):
            L.dpnp(z, P, y, alpha=bad)
        with pytest.raises(ValueError, match="alpha"):
            L.dpp(z, P, y, alpha=bad)
        with pytest.raises(ValueError, match="alpha"):
            L.renormalise_(P.clone(), alpha=bad)
    with pytest.raises(ValueError, match="lambda_neg_class"):
        L.dpnp(z, P, y, lambda_neg_class=-0.1)
    with pytest.raises(ValueError, match="lambda_pos"):
        L.dpp(z, P, y, lambda_pos=-0.1)
    with pytest.raises(ValueError, match="2 classes"):
        L.dpnp(z, torch.randn(1, 3), torch.tensor([0, 0]))
    with pytest.raises(ValueError, match=r"\(M, d\)"):
        L.renormalise_(torch.randn(3), alpha=1.0)


def test_interpolated_cosine_sq_is_dl2pa_mixup_loss(gen):
    # DL2PA long-tail (after ETF): lam L(y_a) + (1 - lam) L(y_b), and one-hot labels give Eq. 1.
    z, P = rand(gen, 4, 3), rand(gen, 5, 3)
    ya, yb = labels([0, 1, 2, 4]), labels([3, 3, 0, 1])
    torch.testing.assert_close(L.interpolated_cosine_sq(z, P, ya), L.cosine_sq(z, P, ya), rtol=1e-12, atol=0)
    lam = 0.3
    two_hot = lam * F.one_hot(ya, 5).to(D64) + (1 - lam) * F.one_hot(yb, 5).to(D64)
    expected = lam * L.cosine_sq(z, P, ya) + (1 - lam) * L.cosine_sq(z, P, yb)
    torch.testing.assert_close(L.interpolated_cosine_sq(z, P, two_hot), expected, rtol=1e-12, atol=0)
    # it is not HMPN's Eq. 3 (one mixed prototype)
    assert abs(float(L.mixed_cosine_sq(z, P, two_hot) - expected)) > 1e-3


def test_batch_class_weights_hand_value_and_weighted_loss():
    y = labels([0, 0, 0, 1])
    w = L.batch_class_weights(y, 3)
    # gamma = 4 samples / 2 classes present; s_c = gamma / n_c; an absent class gets 1
    torch.testing.assert_close(w, torch.tensor([2 / 3, 2.0, 1.0], dtype=torch.float64))
    assert float(w[y].mean()) == pytest.approx(1.0)
    z = t([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.0]])
    P = t([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    per = [(1 - 1.0) ** 2, (1 - 0.0) ** 2, (1 - 1 / math.sqrt(2)) ** 2, (1 - 0.0) ** 2]
    expected = 2 / 3 * (per[0] + per[1] + per[2]) + 2.0 * per[3]
    assert L.interpolated_cosine_sq(z, P, y, w).item() == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match="class_weight"):
        L.interpolated_cosine_sq(z, P, y, torch.ones(2))
    with pytest.raises(ValueError, match="class indices"):
        L.batch_class_weights(torch.zeros(3), 3)


def test_cosine_softmax_hand_value_and_scale():
    # z along e0, class vectors e0 (length 1) and 2 e1: cosines (1, 0), times s = 2 -> logits (2, 0).
    z = torch.tensor([[3.0, 0.0]])
    W = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    loss = L.cosine_softmax(z, W, torch.tensor([0]), scale=2.0)
    assert float(loss) == pytest.approx(math.log(1 + math.exp(-2.0)), rel=1e-6)
    # Only the directions count: rescaling z or a class vector leaves the loss unchanged.
    assert float(L.cosine_softmax(5 * z, W * torch.tensor([[7.0], [0.5]]), torch.tensor([0]), scale=2.0)) == \
        pytest.approx(float(loss), rel=1e-6)
    # Soft labels: the label-weighted mix of the two hard losses.
    soft = L.cosine_softmax(z, W, torch.tensor([[0.25, 0.75]]), scale=2.0)
    hard = [float(L.cosine_softmax(z, W, torch.tensor([c]), scale=2.0)) for c in (0, 1)]
    assert float(soft) == pytest.approx(0.25 * hard[0] + 0.75 * hard[1], rel=1e-6)
    with pytest.raises(ValueError, match="scale"):
        L.cosine_softmax(z, W, torch.tensor([0]), scale=0.0)


def test_cpn_hand_value_gradient_and_soft_labels():
    # z = (1, 0); prototypes m0 = (0, 0), m1 = (3, 0): squared distances (1, 4). gamma 0.5: logits (-0.5, -2).
    z = torch.tensor([[1.0, 0.0]], dtype=torch.float64, requires_grad=True)
    M = torch.tensor([[0.0, 0.0], [3.0, 0.0]], dtype=torch.float64, requires_grad=True)
    loss = L.cpn(z, M, torch.tensor([0]), gamma=0.5, pl_weight=0.1)
    dce = math.log(1 + math.exp(-1.5))      # -log(e^-0.5 / (e^-0.5 + e^-2))
    assert float(loss) == pytest.approx(dce + 0.1 * 1.0, rel=1e-12)
    # By hand: d DCE/dz = sum_c (p_c - onehot_c) * (-gamma) * 2 (z - m_c), d PL/dz = 2 (z - m0).
    p1 = 1 / (1 + math.exp(1.5))
    grad_z = sum((p - t) * -0.5 * 2 * (1.0 - m) for p, t, m in ((1 - p1, 1, 0.0), (p1, 0, 3.0))) + 0.1 * 2 * 1.0
    loss.backward()
    assert float(z.grad[0, 0]) == pytest.approx(grad_z, rel=1e-9) and float(z.grad[0, 1]) == 0.0
    assert torch.autograd.gradcheck(lambda a, b: L.cpn(a, b, torch.tensor([1]), gamma=0.7, pl_weight=0.3),
                                    (z.detach().requires_grad_(), M.detach().requires_grad_()))
    soft = L.cpn(z, M, torch.tensor([[0.25, 0.75]], dtype=torch.float64), gamma=0.5, pl_weight=0.1)
    hard = [float(L.cpn(z, M, torch.tensor([c]), gamma=0.5, pl_weight=0.1)) for c in (0, 1)]
    assert float(soft) == pytest.approx(0.25 * hard[0] + 0.75 * hard[1], rel=1e-12)
    two = torch.cat([z, z]).detach()
    assert float(L.cpn(two, M, torch.tensor([0, 0]), 0.5, 0.1, reduction="sum")) == pytest.approx(2 * float(loss))
    with pytest.raises(ValueError, match="gamma"):
        L.cpn(z, M, torch.tensor([0]), gamma=0.0)
    with pytest.raises(ValueError, match="pl_weight must be >= 0"):
        L.cpn(z, M, torch.tensor([0]), pl_weight=-1.0)


def test_ccl_hand_value_gradient_soft_labels_and_no_gradient_into_the_centres():
    # z = (3, 4) (|z| = 5); weights w0 = (2, 0) -> unit (1, 0), w1 = (0, 1): logits (3, 4).
    # Centres c0 = (1, 0), c1 = (0, 1): cos(z, c0) = 0.6, so the absorbing term of class 0 is 0.4.
    z = torch.tensor([[3.0, 4.0]], dtype=torch.float64, requires_grad=True)
    W = torch.tensor([[2.0, 0.0], [0.0, 1.0]], dtype=torch.float64, requires_grad=True)
    centres = torch.eye(2, dtype=torch.float64, requires_grad=True)
    loss = L.ccl(z, W, centres, torch.tensor([0]), weight=0.5)
    ce = math.log(1 + math.exp(1.0))          # -log(e^3 / (e^3 + e^4))
    assert float(loss.detach()) == pytest.approx(ce + 0.5 * 0.4, rel=1e-12)
    # 1/2 |z/|z| - c|^2 is 1 - cos on unit vectors: the docstring's two forms agree.
    assert 0.5 * float(((z / z.norm()) - centres[0]).pow(2).sum().detach()) == pytest.approx(0.4, rel=1e-12)
    loss.backward()
    # By hand: d CE/dz = sum_c (p_c - onehot_c) w_c/|w_c| (p_0 - 1 = -p_1); d(1 - cos)/dz = -(c - cos * z/|z|) / |z|.
    p1 = 1 / (1 + math.exp(-1.0))
    u = torch.tensor([0.6, 0.8], dtype=torch.float64)
    grad = -p1 * torch.tensor([1.0, 0.0], dtype=torch.float64) + p1 * torch.tensor([0.0, 1.0], dtype=torch.float64) \
        - 0.5 * (torch.tensor([1.0, 0.0], dtype=torch.float64) - 0.6 * u) / 5.0
    assert torch.allclose(z.grad[0], grad, rtol=1e-10)
    assert centres.grad is None                # re-estimated as class means, never learned
    assert torch.autograd.gradcheck(lambda a, b: L.ccl(a, b, torch.eye(2, dtype=torch.float64), torch.tensor([1]), 0.7),
                                    (z.detach().requires_grad_(), W.detach().requires_grad_()))
    soft = L.ccl(z, W, centres, torch.tensor([[0.25, 0.75]], dtype=torch.float64), weight=0.5)
    hard = [float(L.ccl(z, W, centres, torch.tensor([c]), weight=0.5)) for c in (0, 1)]
    assert float(soft) == pytest.approx(0.25 * hard[0] + 0.75 * hard[1], rel=1e-12)
    # SCCL: the centres are the classifier; the weights' length never matters.
    assert float(L.ccl(z, centres, centres, torch.tensor([0]), 0.5)) == pytest.approx(float(loss), rel=1e-12)
    two = torch.cat([z, z]).detach()
    assert float(L.ccl(two, W, centres, torch.tensor([0, 0]), 0.5, reduction="sum")) == pytest.approx(2 * float(loss))
    with pytest.raises(ValueError, match="weight must be >= 0"):
        L.ccl(z, W, centres, torch.tensor([0]), weight=-1.0)
    with pytest.raises(ValueError, match="one row per class"):
        L.ccl(z, W, torch.eye(3, 2, dtype=torch.float64), torch.tensor([0]))


def test_class_mean_directions_normalise_each_class_and_keep_the_unseen():
    previous = torch.tensor([[0.0, 1.0], [1.0, 0.0], [0.0, -1.0]])
    sums = torch.tensor([[3.0, 4.0], [0.0, 0.0], [1.0, -1.0]])
    counts = torch.tensor([2.0, 0.0, 2.0])
    new = L.class_mean_directions(sums, counts, previous)
    assert torch.allclose(new, torch.tensor([[0.6, 0.8], [1.0, 0.0], [2 ** -0.5, -(2 ** -0.5)]]))
    # Two opposite samples sum to zero: no direction, the previous centre stays.
    assert torch.equal(L.class_mean_directions(torch.zeros(3, 2), torch.ones(3), previous), previous)
    with pytest.raises(ValueError, match="do not fit"):
        L.class_mean_directions(sums, counts[:2], previous)
