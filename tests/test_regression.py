"""HPN regression (Eq. 7), its §3.2 baseline, joint regression + classification (§2.3) and Table 6's baseline."""

import math

import pytest
import torch

from hpnb import losses as L
from hpnb import prototypes as pr

S = math.sqrt(0.5)


# ------------------------------------------------------------------------------------------------
# Target scaling and the prediction mapping


def test_scale_targets_on_hand_values():
    # HPN's OmniArt bounds (its code): v_l = 1000, v_u = 1932.
    y = torch.tensor([1000.0, 1932.0, 1466.0, 1233.0])
    r = L.scale_targets(y, 1000, 1932)
    assert torch.allclose(r, torch.tensor([-1.0, 1.0, 0.0, -0.5]), atol=1e-6)
    # Integer years are accepted; outside the bounds the map stays affine (no clamp).
    assert L.scale_targets(torch.tensor([2864]), 1000, 1932).item() == pytest.approx(3.0)


def test_scale_and_unscale_round_trip():
    y = torch.linspace(-7.0, 13.0, 41, dtype=torch.float64)
    assert torch.allclose(L.unscale_targets(L.scale_targets(y, -2.5, 4.0), -2.5, 4.0), y, atol=1e-12)
    r = torch.linspace(-1.0, 1.0, 9, dtype=torch.float64)
    assert torch.allclose(L.scale_targets(L.unscale_targets(r, 3.0, 5.0), 3.0, 5.0), r, atol=1e-12)


def test_regression_prediction_on_hand_values():
    p_u = torch.tensor([2.0, 0.0])  # not unit: normalised inside
    z = torch.tensor([[3.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [1.0, 1.0]])
    pred = L.regression_prediction(z, p_u, 1000, 1932)
    expected = [1932.0, 1466.0, 1000.0, 1000 + (S + 1) * 466]
    assert pred.tolist() == pytest.approx(expected, abs=1e-3)


def test_an_output_at_the_target_cosine_predicts_the_target():
    y = torch.tensor([1.0, 2.5, 4.0, 3.2], dtype=torch.float64)
    r = L.scale_targets(y, 1.0, 4.0)
    # z at angle arccos(r) from p_u = e_0, with a length that must not matter.
    z = torch.stack([r, torch.sqrt(1 - r**2)], dim=1) * torch.tensor([[0.3], [2.0], [5.0], [1.0]], dtype=torch.float64)
    p_u = torch.tensor([1.0, 0.0], dtype=torch.float64)
    assert torch.allclose(L.regression_prediction(z, p_u, 1.0, 4.0), y, atol=1e-12)
    assert L.hpn_regression(z, p_u, y, 1.0, 4.0).item() == pytest.approx(0.0, abs=1e-20)


# ------------------------------------------------------------------------------------------------
# Eq. 7


def test_hpn_regression_on_hand_values():
    p_u = torch.tensor([1.0, 0.0])
    z = torch.tensor([[1.0, 1.0], [0.0, 2.0], [-2.0, 0.0]])  # cosines sqrt(1/2), 0, -1
    y = torch.tensor([10.0, 2.5, 2.5])  # bounds 0..10 -> r = 1, -0.5, -0.5
    per = [(1 - S) ** 2, 0.25, 0.25]
    assert L.hpn_regression(z, p_u, y, 0, 10).item() == pytest.approx(sum(per), abs=1e-6)
    assert L.hpn_regression(z, p_u, y, 0, 10, reduction="mean").item() == pytest.approx(sum(per) / 3, abs=1e-6)
    # (B, 1) targets are accepted.
    assert L.hpn_regression(z, p_u, y[:, None], 0, 10).item() == pytest.approx(sum(per), abs=1e-6)


def test_hpn_regression_gradient_matches_autograd_and_is_orthogonal_to_z():
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(6, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    p_u = torch.nn.functional.normalize(torch.randn(4, generator=gen, dtype=torch.float64), dim=0)
    y = torch.rand(6, generator=gen, dtype=torch.float64) * 10
    assert torch.autograd.gradcheck(lambda q: L.hpn_regression(q, p_u, y, 0.0, 10.0), (z,))
    # Hand derivative: d/dz (r - cos)^2 = -2 (r - cos) (u/|z| - cos z/|z|^2).
    loss = L.hpn_regression(z, p_u, y, 0.0, 10.0)
    (grad,) = torch.autograd.grad(loss, z)
    n = z.detach().norm(dim=1, keepdim=True)
    cos = (z.detach() @ p_u / n[:, 0])[:, None]
    r = (2 * y / 10 - 1)[:, None]
    hand = -2 * (r - cos) * (p_u / n - cos * z.detach() / n**2)
    assert torch.allclose(grad, hand, atol=1e-12)
    assert torch.allclose((grad * z.detach()).sum(dim=1), torch.zeros(6, dtype=torch.float64), atol=1e-12)


def test_training_free_outputs_with_eq7_recovers_the_targets():
    gen = torch.Generator().manual_seed(1)
    y = 1900 + 100 * torch.rand(32, generator=gen)
    z = torch.randn(32, 3, generator=gen).requires_grad_()
    p_u = torch.tensor([0.0, 0.0, 1.0])
    opt = torch.optim.SGD([z], lr=0.5)
    for _ in range(300):
        opt.zero_grad()
        L.hpn_regression(z, p_u, y, 1900, 2000).backward()
        opt.step()
    err = (L.regression_prediction(z.detach(), p_u, 1900, 2000) - y).abs().max().item()
    assert err < 0.5  # years


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: L.hpn_regression(torch.ones(3, 2), torch.ones(2), torch.ones(3), 5, 5), "lower < upper"),
        (lambda: L.hpn_regression(torch.ones(3, 2), torch.ones(2), torch.ones(3), 5, 1), "lower < upper"),
        (lambda: L.hpn_regression(torch.ones(3, 2), torch.ones(3), torch.ones(3), 0, 1), "p_u must be"),
        (lambda: L.hpn_regression(torch.ones(3, 2), torch.ones(2), torch.ones(4), 0, 1), "batch size is 3"),
        (lambda: L.hpn_regression(torch.ones(3, 2), torch.ones(2), torch.ones(3), 0, 1, "avg"), "reduction"),
        (lambda: L.hpn_regression(torch.ones(3), torch.ones(3), torch.ones(3), 0, 1), "z must have shape"),
        (lambda: L.scale_targets(torch.ones(3), 0, float("inf")), "finite"),
    ],
)
def test_bad_regression_input_raises_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ------------------------------------------------------------------------------------------------
# HPN §3.2's squared-loss baseline


def test_squared_baseline_clamps_the_normalised_output():
    out = torch.tensor([-0.5, 0.25, 2.0], requires_grad=True)
    y = torch.tensor([0.0, 5.0, 10.0])  # bounds 0..10 -> t = 0, 0.5, 1
    loss = L.squared_regression_baseline(out, y, 0, 10)
    assert loss.item() == pytest.approx(0.0625)
    loss.backward()
    assert out.grad.tolist() == pytest.approx([0.0, -0.5, 0.0])  # no gradient where clamped
    plain = L.squared_regression_baseline(out, y, 0, 10, clamp=False)
    assert plain.item() == pytest.approx(0.25 + 0.0625 + 1.0)
    assert L.squared_regression_baseline(out[:, None], y, 0, 10, reduction="mean").item() == pytest.approx(0.0625 / 3)
    assert L.regression_baseline_prediction(out.detach(), 0, 10).tolist() == pytest.approx([0.0, 2.5, 10.0])


# ------------------------------------------------------------------------------------------------
# Joint regression + classification


@pytest.mark.parametrize("c,d,best", [(6, 4, 0.0), (5, 5, -0.25), (10, 3, math.cos(2 * math.pi / 10))])
def test_joint_prototypes_are_orthogonal_to_the_regression_axis_and_separated(c, d, best):
    P, p_u = pr.joint(c, d, cache_dir=None)
    assert P.shape == (c, d) and p_u.shape == (d,)
    assert torch.equal(p_u, torch.eye(d)[0])
    assert torch.equal(P[:, 0], torch.zeros(c))
    assert torch.allclose(P @ p_u, torch.zeros(c), atol=0)
    assert torch.allclose(P.norm(dim=1), torch.ones(c), atol=1e-6)
    assert pr.separation(P)["max_cos"] == pytest.approx(best, abs=1e-5)  # the (d-1)-d optimum
    assert torch.equal(P[:, 1:], pr.place(c, d - 1, "best", cache_dir=None))


def test_joint_needs_two_dimensions():
    with pytest.raises(pr.PrototypeError, match="dim >= 2"):
        pr.joint(3, 1)


def _joint_case():
    p_u = torch.tensor([1.0, 0.0, 0.0])
    P = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    z = torch.tensor([[1.0, 1.0, 0.0]])  # 45 degrees from p_u, above class 0
    return z, P, p_u


def test_joint_loss_on_hand_values():
    z, P, p_u = _joint_case()
    yc, yv = torch.tensor([0]), torch.tensor([20.0])  # bounds 10..20: r = 1
    reg = (1 - S) ** 2
    out = L.joint_loss(z, P, p_u, yc, yv, 10, 20)
    # Complement (default): z's part orthogonal to p_u is (0, 1, 0) = p_0, so L_c = 0.
    assert out.classification.item() == pytest.approx(0.0, abs=1e-7)
    assert out.regression.item() == pytest.approx(reg, abs=1e-6)
    assert out.total.item() == pytest.approx(reg, abs=1e-6)
    full = L.joint_loss(z, P, p_u, yc, yv, 10, 20, complement=False)
    assert full.classification.item() == pytest.approx(reg, abs=1e-6)  # cos(z, p_0) = sqrt(1/2)
    assert full.total.item() == pytest.approx(2 * reg, abs=1e-6)
    # No task weight by default: the sum of Eq. 1 and Eq. 7 as the module computes them.
    expected = L.cosine_sq(z, P, yc) + L.hpn_regression(z, p_u, yv, 10, 20)
    assert full.total.item() == pytest.approx(expected.item(), abs=1e-7)
    weighted = L.joint_loss(z, P, p_u, yc, yv, 10, 20, complement=False, weight=0.25)
    assert weighted.total.item() == pytest.approx(0.25 * reg + 0.75 * reg, abs=1e-6)
    other_class = L.joint_loss(z, P, p_u, torch.tensor([1]), yv, 10, 20)
    assert other_class.classification.item() == pytest.approx(1.0, abs=1e-6)  # cos(z_perp, p_1) = 0


def test_joint_loss_gradcheck_and_prediction():
    gen = torch.Generator().manual_seed(2)
    P, p_u = pr.joint(4, 4, cache_dir=None)
    P, p_u = P.double(), p_u.double()
    z = torch.randn(5, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    yc = torch.randint(4, (5,), generator=gen)
    yv = torch.rand(5, generator=gen, dtype=torch.float64)
    for complement in (True, False):
        assert torch.autograd.gradcheck(
            lambda q: L.joint_loss(q, P, p_u, yc, yv, 0.0, 1.0, complement=complement).total, (z,)
        )
    # An output built from a class prototype and a target height predicts both.
    r = torch.tensor([0.6, -0.9], dtype=torch.float64)
    zz = r[:, None] * p_u + torch.sqrt(1 - r**2)[:, None] * P[[2, 0]]
    cls, val = L.joint_prediction(zz, P, p_u, 0.0, 1.0)
    assert cls.tolist() == [2, 0]
    assert val.tolist() == pytest.approx([0.8, 0.05], abs=1e-6)  # P is float32


def test_multitask_baseline_is_task_weighted_squared_loss_plus_softmax_ce():
    logits = torch.zeros(1, 2)
    out = L.multitask_baseline_loss(logits, torch.tensor([0.25]), torch.tensor([1]), torch.tensor([5.0]), 0, 10, 0.1)
    assert out.classification.item() == pytest.approx(math.log(2))
    assert out.regression.item() == pytest.approx(0.0625)
    assert out.total.item() == pytest.approx(0.1 * 0.0625 + 0.9 * math.log(2))
    with pytest.raises(ValueError, match="task weight"):
        L.multitask_baseline_loss(logits, torch.tensor([0.25]), torch.tensor([1]), torch.tensor([5.0]), 0, 10, 1.5)
    with pytest.raises(ValueError, match="batch size"):
        L.multitask_baseline_loss(logits, torch.tensor([0.25, 0.5]), torch.tensor([1]), torch.tensor([5.0]), 0, 10, 0.5)
