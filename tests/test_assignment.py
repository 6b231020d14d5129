import io

import pytest
import torch
import torch.nn.functional as F

from hpnb import assignment
from hpnb.assignment import DynamicAssignment
from hpnb.prototypes import place


@pytest.fixture(params=["scipy", "lapjv"])
def solver(request, monkeypatch):
    """Run a test under each exact solver; LAPJV only where it is installed (``pip install lapjv``)."""
    if request.param == "lapjv" and assignment._lapjv is None:
        pytest.skip("lapjv is not installed; the scipy fallback is tested")
    monkeypatch.setattr(assignment, "SOLVER", request.param)
    return request.param


def _feed_means(da: DynamicAssignment, means: torch.Tensor) -> None:
    da.update(means, torch.arange(len(means)))


def test_hungarian_recovers_permutation(solver):
    C = 8
    W = place(C, 5, "random", seed=0)
    perm = torch.tensor([3, 0, 1, 2, 7, 5, 6, 4])  # classes 5 and 6 keep their prototype
    da = DynamicAssignment(C, C, every=None)
    _feed_means(da, W[perm])
    changed = da.solve(W)
    assert torch.equal(da.perm, perm)
    assert changed == pytest.approx((perm != torch.arange(C)).double().mean().item())
    assert changed == pytest.approx(6 / 8)
    torch.testing.assert_close(da.prototypes_for(W), W[perm])
    assert da.solve(W) == 0.0  # same means: nothing moves the second time


def test_rectangular_assignment(solver):
    C, K = 4, 10
    W = place(K, 6, "random", seed=1)
    chosen = torch.tensor([9, 1, 7, 0])
    da = DynamicAssignment(C, K)
    _feed_means(da, W[chosen] + 0.05 * place(C, 6, "random", seed=2))
    changed = da.solve(W)
    assert torch.equal(da.perm, chosen)
    assert changed == pytest.approx(3 / 4)  # class 1 keeps prototype 1, the other three move
    assert da.prototypes_for(W).shape == (C, 6)
    with pytest.raises(ValueError):
        DynamicAssignment(5, 4)


def test_momentum_hand_checked():
    da = DynamicAssignment(3, 3, momentum=0.9)
    # batch 1: class 0 gets two samples (mean (0.5, 0.5)), class 1 one sample; class 2 absent
    z1 = torch.tensor([[1.0, 0.0], [0.0, 2.0], [0.0, -3.0]])  # normalised inside: (1,0), (0,1), (0,-1)
    y1 = torch.tensor([0, 0, 1])
    da.update(z1, y1)
    torch.testing.assert_close(da.means, torch.tensor([[0.5, 0.5], [0.0, -1.0], [0.0, 0.0]]))
    # batch 2: class 0 gets (0,1) and (0,1): batch mean (0,1); class 2 first seen with (-1,0)
    z2 = torch.tensor([[0.0, 5.0], [0.0, 1.0], [-4.0, 0.0]])
    y2 = torch.tensor([0, 0, 2])
    da.update(z2, y2)
    expected = torch.tensor(
        [
            [0.9 * 0.5 + 0.1 * 0.0, 0.9 * 0.5 + 0.1 * 1.0],  # (0.45, 0.55)
            [0.0, -1.0],  # class 1 absent from batch 2: unchanged
            [-1.0, 0.0],  # first batch of class 2 initialises it (no shrink towards 0)
        ]
    )
    torch.testing.assert_close(da.means, expected)


def test_all_samples_of_a_class_count():
    da = DynamicAssignment(2, 2, momentum=0.5)
    da.update(torch.tensor([[1.0, 0.0]]), torch.tensor([0]))
    z = torch.tensor([[0.0, 1.0], [0.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
    da.update(z, torch.tensor([0, 0, 0, 0]))
    # batch mean of class 0 = (0.25, 0.75); only-first-sample would give (0, 1), last-only (1, 0)
    torch.testing.assert_close(da.means[0], torch.tensor([0.5 * 1.0 + 0.5 * 0.25, 0.5 * 0.75]))


def test_soft_labels_weight_the_mean():
    da = DynamicAssignment(2, 2)
    z = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    y = torch.tensor([[0.75, 0.25], [0.25, 0.75]])
    da.update(z, y)
    torch.testing.assert_close(da.means, torch.tensor([[0.75, 0.25], [0.25, 0.75]]))


def test_step_solves_every_tau():
    C = 5
    W = place(C, 4, "random", seed=3)
    perm = torch.tensor([1, 0, 2, 4, 3])
    da = DynamicAssignment(C, C, every=3)
    results = []
    for _ in range(6):
        _feed_means(da, W[perm])
        results.append(da.step(W))
    assert results[0] is None and results[1] is None and results[3] is None and results[4] is None
    assert results[2] == pytest.approx(4 / 5) and results[5] == 0.0
    assert torch.equal(da.perm, perm)
    manual = DynamicAssignment(C, C, every=None)
    assert all(manual.step(W) is None for _ in range(10))
    assert torch.equal(manual.perm, torch.arange(C))


def test_unseen_classes_keep_their_prototype(solver):
    C = 4
    W = place(C, 3, "simplex")
    da = DynamicAssignment(C, C)
    # Only classes 0 and 1 seen, sitting on each other's prototypes: they swap, 2 and 3 stay.
    da.update(W[[1, 0]], torch.tensor([0, 1]))
    assert da.solve(W) == pytest.approx(0.5)
    assert torch.equal(da.perm, torch.tensor([1, 0, 2, 3]))


def test_state_dict_round_trip():
    C = 6
    W = place(C, 4, "random", seed=4)
    perm = torch.tensor([5, 4, 3, 2, 1, 0])
    da = DynamicAssignment(C, C, every=2)
    gen = torch.Generator().manual_seed(0)
    _feed_means(da, W[perm] + 0.1 * torch.randn(C, 4, generator=gen))
    da.step(W)
    da.step(W)
    buf = io.BytesIO()
    torch.save(da.state_dict(), buf)
    buf.seek(0)
    state = torch.load(buf, weights_only=True)
    other = DynamicAssignment(C, C, every=2)
    other.load_state_dict(state)
    assert torch.equal(other.perm, perm) and torch.equal(other.perm, da.perm)
    torch.testing.assert_close(other.means, da.means)
    assert torch.equal(other.seen, da.seen) and other.steps == da.steps == 2
    # resumed and original behave alike on the next batch
    z = F.normalize(torch.randn(10, 4, generator=gen), dim=1)
    y = torch.randint(0, C, (10,), generator=gen)
    for obj in (da, other):
        obj.update(z, y)
    torch.testing.assert_close(other.means, da.means)
    # a fresh object's state (no means yet) also survives the trip
    fresh = DynamicAssignment(C, C)
    buf = io.BytesIO()
    torch.save(fresh.state_dict(), buf)
    buf.seek(0)
    again = DynamicAssignment(C, C)
    again.load_state_dict(torch.load(buf, weights_only=True))
    assert again.means is None and torch.equal(again.perm, torch.arange(C))


def test_a_barely_mixed_class_barely_moves_its_mean():
    # Issue 10.3: with soft labels a class's mean moves in proportion to its label weight, and a
    # one-hot batch still moves every present class by 1 - momentum (DL2PA).
    dyn = DynamicAssignment(2, 2, momentum=0.9)
    start = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    dyn.update(start, torch.tensor([0, 1]))
    z = torch.tensor([[0.0, 1.0]])
    pure, mixed = DynamicAssignment(2, 2, momentum=0.9), DynamicAssignment(2, 2, momentum=0.9)
    for d in (pure, mixed):
        d.load_state_dict(dyn.state_dict())
    pure.update(z, torch.tensor([[0.0, 1.0]]))
    mixed.update(z, torch.tensor([[0.999, 0.001]]))
    moved = lambda d: float((d.means[1] - start[1]).norm())
    assert abs(moved(pure) - 0.1 * 2 ** 0.5) < 1e-6                 # 1 - momentum of the way
    assert abs(moved(mixed) / moved(pure) - 0.001) < 1e-6
    assert abs(float((mixed.means[0] - start[0]).norm()) - 0.1 * 0.999 * 2 ** 0.5) < 1e-6


@pytest.mark.parametrize("rows,cols", [(50, 50), (30, 70), (1, 5)])
def test_both_solvers_reach_the_same_optimal_cost(rows, cols, solver):
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    cost = np.random.default_rng(rows + cols).standard_normal((rows, cols))
    picked = assignment.assign(cost)
    assert len(set(picked.tolist())) == rows and picked.max() < cols
    r, c = linear_sum_assignment(cost)
    assert cost[np.arange(rows), picked].sum() == pytest.approx(cost[r, c].sum(), abs=1e-9)


def test_an_unknown_solver_is_refused():
    import numpy as np

    with pytest.raises(ValueError, match="solver must be"):
        assignment.assign(np.zeros((2, 2)), solver="hungarian9000")
