import math

import pytest
import torch

from hpnb.metrics import (
    class_means,
    inter_class_angles,
    intra_class_angles,
    nearest_prototype_accuracy,
    prototype_geometry,
    scr,
    summed_sq_dissimilarity,
)

S3 = math.sqrt(3.0)
S2 = math.sqrt(2.0)


def _circle(degrees):
    rad = torch.deg2rad(torch.tensor(degrees, dtype=torch.float64))
    return torch.stack([rad.cos(), rad.sin()], dim=1)


# Three prototypes in the plane and four embeddings (unnormalised on purpose).
P = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
Z = torch.tensor([[2.0, 0.0], [1.0, S3], [1.0, -1.0], [-1.0, 0.0]])
Y = torch.tensor([0, 1, 2, 0])
# cos to own prototype: 1, sqrt(3)/2, -sqrt(2)/2, -1; nearest prototypes: 0, 1, 0, 2


def test_nearest_prototype_accuracy():
    assert nearest_prototype_accuracy(Z, P, Y) == pytest.approx(0.5)
    assert nearest_prototype_accuracy(Z, P, torch.tensor([0, 1, 0, 2])) == pytest.approx(1.0)
    # the rule is the cosine, not the dot product: a long vector near p1 does not win for p0
    assert nearest_prototype_accuracy(torch.tensor([[1.0, 1.1]]), 3 * P, torch.tensor([1])) == 1.0


def test_summed_sq_dissimilarity():
    expected = 0.0 + (1 - S3 / 2) ** 2 + (1 + S2 / 2) ** 2 + 4.0
    assert summed_sq_dissimilarity(Z, P, Y) == pytest.approx(expected)
    # a sum: duplicating the set doubles it
    assert summed_sq_dissimilarity(Z.repeat(2, 1), P, Y.repeat(2)) == pytest.approx(2 * expected)


def test_intra_class_angles():
    expected = torch.tensor([0.0, 30.0, 135.0, 180.0], dtype=torch.float64)
    torch.testing.assert_close(intra_class_angles(Z, P, Y), expected)


def test_inter_class_angles_and_geometry():
    Q = _circle([0.0, 50.0, 130.0, 260.0])
    angles = inter_class_angles(Q)
    # pairs (0,1) (0,2) (0,3) (1,2) (1,3) (2,3)
    torch.testing.assert_close(angles, torch.tensor([50.0, 130.0, 100.0, 80.0, 150.0, 130.0], dtype=torch.float64))
    geo = prototype_geometry(Q)
    # nearest-neighbour angles 50, 50, 80, 100
    assert geo["min_sep"] == pytest.approx(50.0)
    assert geo["mean_sep"] == pytest.approx(70.0)
    assert geo["std"] == pytest.approx(math.sqrt(450.0))


def test_class_means():
    z = torch.tensor([[2.0, 0.0], [0.0, 1.0], [0.0, -5.0], [0.0, -1.0]])
    y = torch.tensor([0, 0, 1, 1])
    means = class_means(z, y, 3)
    expected = torch.tensor([[1 / S2, 1 / S2], [0.0, -1.0], [0.0, 0.0]])
    torch.testing.assert_close(means, expected)
    # normalised before averaging: the long vector (2, 0) does not dominate
    assert means[0, 0] == pytest.approx(means[0, 1])


def test_scr_hand_checked():
    z = torch.tensor([[0.5, S3 / 2], [1.0, 0.0], [1.0, 0.0]])
    y = torch.tensor([0, 0, 1])
    # nearest other centre at sqrt(2) for every class; class 0: chords 1 and 0 (mean 0.5);
    # class 1: chord sqrt(2); class 2 has no samples and is left out
    expected = (S2 / 0.5 + S2 / S2) / 2
    assert scr(z, P, y) == pytest.approx(expected)
    # on the sphere by default: scaling the embeddings changes nothing
    assert scr(3 * z, P, y) == pytest.approx(expected)
    # raw Eq. 13 on the scaled embeddings: Euclidean distances to the unscaled centres
    c0 = (math.sqrt(0.25 + 27 / 4) + 2.0) / 2  # |(1.5, 3 sqrt(3)/2) - (1, 0)| = sqrt(7), |(3, 0) - (1, 0)| = 2
    c1 = math.sqrt(10.0)  # |(3, 0) - (0, 1)|
    raw = (S2 / c0 + S2 / c1) / 2
    assert scr(3 * z, P, y, normalize=False) == pytest.approx(raw)
    assert raw != pytest.approx(expected)


def test_scr_separation_is_per_class_nearest():
    # centres at 0°, 10°, 180°: class 2's nearest centre is 170° away, the others only 10°
    Q = _circle([0.0, 10.0, 180.0])
    z = _circle([5.0, 5.0, 185.0])  # every sample 5° from its centre
    y = torch.tensor([0, 1, 2])
    chord = lambda deg: 2 * math.sin(math.radians(deg) / 2)  # noqa: E731
    expected = (chord(10) / chord(5) * 2 + chord(170) / chord(5)) / 3
    assert scr(z, Q, y) == pytest.approx(expected)
