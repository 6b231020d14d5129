"""Placement geometry against known optima, determinism, the cache and the errors."""

import math
import re
from pathlib import Path

import pytest
import torch

from hpnb import prototypes as pr
from hpnb import spherical_codes as sc


def max_cos(P: torch.Tensor) -> float:
    return pr.separation(P)["max_cos"]


@pytest.mark.parametrize("c,d", [(2, 1), (3, 2), (5, 4), (10, 10), (11, 10), (100, 99)])
def test_simplex_has_all_cosines_minus_one_over_c_minus_one(c, d):
    P = pr.place(c, d, "simplex")
    assert P.shape == (c, d) and P.dtype == torch.float32
    cos = (P.double() @ P.double().T)[~torch.eye(c, dtype=torch.bool)]
    assert torch.allclose(cos, torch.full_like(cos, -1.0 / (c - 1)), atol=1e-6)
    assert torch.allclose(P.norm(dim=1), torch.ones(c), atol=1e-6)


@pytest.mark.parametrize("c,d", [(5, 3), (6, 3), (7, 4), (100, 50), (1000, 512)])
def test_best_reaches_rankin_zero_between_d_plus_one_and_2d(c, d):
    assert pr.known_optimum(c, d) == 0.0
    assert abs(max_cos(pr.place(c, d, "best", cache_dir=None))) <= 1e-6


def test_best_is_the_simplex_when_it_fits():
    assert max_cos(pr.place(100, 100, "best", cache_dir=None)) == pytest.approx(-1 / 99, abs=1e-6)


@pytest.mark.parametrize("c,deg", [(4, 109.4712206), (6, 90.0), (12, 63.4349488)])
def test_best_reaches_tammes_on_s2(c, deg):
    expected = math.cos(math.radians(deg))
    assert pr.known_optimum(c, 3) == pytest.approx(expected, abs=1e-7)
    assert max_cos(pr.place(c, 3, "best", cache_dir=None)) == pytest.approx(expected, abs=1e-4)


BIB = Path(__file__).resolve().parent.parent / "book" / "references.bib"
CONSTRUCTED = [case for case, code in sc.KNOWN_CODES.items() if code.build is not None]


@pytest.mark.parametrize("c,d", CONSTRUCTED)
def test_each_constructed_code_has_its_stated_size_and_max_cosine(c, d):
    P = sc.construct(c, d)
    assert P.shape == (c, d) and P.dtype == torch.float64
    assert torch.allclose(P.norm(dim=1), torch.ones(c, dtype=torch.float64), atol=1e-12)
    cos = (P @ P.T)[~torch.eye(c, dtype=torch.bool)]
    assert float(cos.max()) == pytest.approx(sc.KNOWN_CODES[(c, d)].max_cos, abs=1e-12)


@pytest.mark.parametrize("c,d,neighbours,inner_products", [
    (12, 3, 5, {-1.0, -1 / math.sqrt(5), 1 / math.sqrt(5)}),  # icosahedron: 5 neighbours a vertex
    (120, 4, 12, None),  # 600-cell: 12 neighbours at 36 degrees
    (16, 5, 10, {1 / 5, -3 / 5}),  # the sharp configurations of Cohn & Kumar's table 1
    (27, 6, 16, {1 / 4, -1 / 2}),
    (56, 7, 27, {1 / 3, -1 / 3, -1.0}),
    (240, 8, 56, {1 / 2, 0.0, -1 / 2, -1.0}),  # E8: the kissing number of E7 around each root
    (24, 4, 8, {1 / 2, 0.0, -1 / 2, -1.0}),
])
def test_known_codes_have_the_textbook_neighbours_and_inner_products(c, d, neighbours, inner_products):
    P = sc.construct(c, d)
    cos = P @ P.T
    closest = (cos - sc.KNOWN_CODES[(c, d)].max_cos).abs() < 1e-9
    assert closest.sum(dim=1).tolist() == [neighbours] * c
    if inner_products is not None:
        found = {round(x, 9) for x in cos[~torch.eye(c, dtype=torch.bool)].tolist()}
        assert found == {round(x, 9) for x in inner_products}


def test_every_known_code_names_a_source_in_the_bibliography():
    keys = set(re.findall(r"^@\w+\{([^,]+),", BIB.read_text(), flags=re.M))
    for case, code in sc.KNOWN_CODES.items():
        assert code.source in keys, case
        assert code.status in ("proven optimal", "best known")
        assert pr.known_optimum(*case) == code.max_cos


@pytest.mark.parametrize("c,d", sorted(sc.KNOWN_CODES))
def test_best_reaches_every_known_code_within_1e_3(c, d):
    P = pr.place(c, d, "best", cache_dir=None)
    assert P.shape == (c, d)
    assert max_cos(P) <= sc.KNOWN_CODES[(c, d)].max_cos + 1e-3


def test_the_small_case_schedule_is_what_reaches_tammes_13():
    """Without the second family of starts the solver stops about 0.01 short of Musin & Tarasov's 13."""
    only_first = pr._minimax_schedules(13, 3)[:1]
    with pytest.MonkeyPatch.context() as m:
        m.setattr(pr, "_minimax_schedules", lambda c, d: only_first)
        short = max_cos(pr.place(13, 3, "best", cache_dir=None))
    assert short > pr.known_optimum(13, 3) + 3e-3
    assert max_cos(pr.place(13, 3, "best", cache_dir=None)) < pr.known_optimum(13, 3) + 1e-3


def test_circle_is_exact_in_two_dimensions():
    assert max_cos(pr.place(10, 2, "best")) == pytest.approx(math.cos(2 * math.pi / 10), abs=1e-6)


def test_best_beats_the_paper_solvers_when_c_exceeds_2d():
    best = max_cos(pr.place(40, 6, "best", seed=0, cache_dir=None, steps=600))
    for method in ("hpn", "riesz", "gaussian"):
        assert best < max_cos(pr.place(40, 6, method, seed=0, cache_dir=None)), method


def test_paper_solvers_improve_on_their_random_start():
    start = max_cos(pr.place(30, 5, "random", seed=3))
    for method in ("hpn", "riesz", "gaussian"):
        assert max_cos(pr.place(30, 5, method, seed=3, cache_dir=None)) < start - 0.1, method


def test_hpn_loss_is_eq5_on_a_hand_example():
    # Three unit vectors in the plane at 0, 90 and 180 degrees: each prototype's largest cosine to
    # another is 0, 0, 0 -> loss 0; rotate the third to 45 degrees: rows' maxima 0.7071, 0.7071, 0.7071.
    P = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    assert pr.hpn_loss(P).item() == pytest.approx(0.0, abs=1e-7)
    Q = torch.tensor([[1.0, 0.0], [0.0, 1.0], [math.sqrt(0.5), math.sqrt(0.5)]])
    assert pr.hpn_loss(Q).item() == pytest.approx(math.sqrt(0.5), abs=1e-6)


def test_riesz_energy_on_a_hand_example():
    # Two antipodal points: r = 1 for the ordered pairs (0,1) and (1,0) -> E = 2.
    assert pr.riesz_energy(torch.tensor([[1.0, 0.0], [-1.0, 0.0]])).item() == pytest.approx(2.0)
    # Orthogonal: r = 1/2 -> E = 4.
    assert pr.riesz_energy(torch.tensor([[1.0, 0.0], [0.0, 1.0]])).item() == pytest.approx(4.0)


def test_gaussian_potential_on_a_hand_example():
    # Two orthogonal unit vectors, t = 2: ||u - v||^2 = 2; subset {0}: log((1 + e^-4) / 2).
    P = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    value = pr.gaussian_potential(P, torch.tensor([0])).item()
    assert value == pytest.approx(math.log((1 + math.exp(-4)) / 2), abs=1e-6)


@pytest.mark.parametrize("method", ["best", "hpn", "riesz", "gaussian", "random"])
def test_identical_arguments_give_identical_tensors(method):
    a = pr.place(20, 4, method, seed=5, steps=50, cache_dir=None)
    b = pr.place(20, 4, method, seed=5, steps=50, cache_dir=None)
    assert torch.equal(a, b)
    assert torch.allclose(a.norm(dim=1), torch.ones(20), atol=1e-6)
    assert not torch.equal(a, pr.place(20, 4, method, seed=6, steps=50, cache_dir=None))


def test_cache_hit_returns_the_identical_tensor_and_stores_its_arguments(tmp_path, monkeypatch):
    P = pr.place(12, 4, "hpn", seed=1, steps=30, cache_dir=tmp_path)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == 2 and files[0].endswith(".json") and files[1].endswith(".pt")
    stored = torch.load(tmp_path / files[1], weights_only=True)
    assert stored["args"]["seed"] == 1 and stored["args"]["steps"] == 30

    def fail(*args, **kwargs):
        raise AssertionError("solver ran on a cache hit")

    monkeypatch.setattr(pr, "_solve", fail)
    assert torch.equal(pr.place(12, 4, "hpn", seed=1, steps=30, cache_dir=tmp_path), P)
    with pytest.raises(AssertionError, match="solver ran"):
        pr.place(12, 4, "hpn", seed=2, steps=30, cache_dir=tmp_path)  # another key: a miss


def test_default_cache_lives_under_data_prototypes(tmp_path, monkeypatch):
    monkeypatch.setenv("HPNB_DATA", str(tmp_path))
    pr.place(9, 3, "riesz", steps=20)
    assert len(list((tmp_path / "prototypes").glob("riesz-c9-d3-*.pt"))) == 1


@pytest.mark.parametrize(
    "args,match",
    [
        ((1, 3, "best"), "num_classes"),
        ((5, 0, "best"), "dim"),
        ((5, 3, "nope"), "unknown method"),
        ((5, 3, "simplex"), "simplex needs num_classes <= dim \\+ 1.*best"),
        ((5, 3, "onehot"), "onehot needs"),
    ],
)
def test_bad_requests_raise_clear_errors(args, match):
    with pytest.raises(pr.PrototypeError, match=match):
        pr.place(*args)


def test_separation_statistics_on_a_square():
    # Four points at 90 degree steps on a circle: cosines 0 (x4 pairs) and -1 (x2 pairs).
    P = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    s = pr.separation(P)
    assert s["max_cos"] == pytest.approx(0.0, abs=1e-12) and s["min_cos"] == pytest.approx(-1.0)
    assert s["dist_min"] == pytest.approx(1.0) and s["dist_max"] == pytest.approx(2.0)
    assert s["dist_mean"] == pytest.approx((4 * 1.0 + 2 * 2.0) / 6)
    assert s["nn_min_deg"] == pytest.approx(90.0) and s["nn_std_deg"] == pytest.approx(0.0, abs=1e-9)
    # One-hot prototypes are HPN Table 2's 1.00 / 1.00 / 1.00 row.
    onehot = pr.separation(pr.place(100, 100, "onehot"))
    assert (onehot["dist_min"], onehot["dist_mean"], onehot["dist_max"]) == (1.0, 1.0, 1.0)


def test_known_optimum_cases():
    assert pr.known_optimum(3, 2) == pytest.approx(-0.5)
    assert pr.known_optimum(7, 2) == pytest.approx(math.cos(2 * math.pi / 7))
    assert pr.known_optimum(3, 1) == 1.0
    assert pr.known_optimum(100, 10) is None
    assert pr.known_optimum(15, 3) is None
