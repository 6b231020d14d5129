"""Evaluation metrics for hyperspherical classifiers: accuracy, dissimilarity, geometry, SCR.

All functions take embeddings ``z`` (N, d), prototypes ``P`` (C, d) whose row c is class c's
prototype (already permuted by a label-to-prototype assignment where one is used) and labels ``y``
(N,). Angles are in degrees, as DPNP reports them; sums and statistics are computed in float64.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from hpnb.prototypes import separation


def _unit(x: torch.Tensor) -> torch.Tensor:
    return F.normalize(x.detach().double(), dim=-1)


def _cosines(z: torch.Tensor, P: torch.Tensor) -> torch.Tensor:
    return _unit(z) @ _unit(P).to(z.device).T


def _own_cosine(z: torch.Tensor, P: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    own = _unit(P).to(z.device)[y.to(z.device).long()]
    return (_unit(z) * own).sum(dim=1).clamp(-1.0, 1.0)


def nearest_prototype_accuracy(z: torch.Tensor, P: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of samples with argmax_c cos(z_i, p_c) = y_i (HPN Eq. 1's prediction rule)."""
    pred = _cosines(z, P).argmax(dim=1)
    return float((pred == y.to(pred.device)).double().mean())


def summed_sq_dissimilarity(z: torch.Tensor, P: torch.Tensor, y: torch.Tensor) -> float:
    """Σ_i (1 − cos(z_i, p_{y_i}))² over the evaluation set (HPN Eq. 1; HMPN Tables 1–3 report it).

    A sum, not a mean: HMPN's tables compare it across methods on one fixed test set.
    """
    return float(((1.0 - _own_cosine(z, P, y)) ** 2).sum())


def prototype_geometry(P: torch.Tensor) -> dict[str, float]:
    """DPNP Table III: ``min_sep``, ``mean_sep``, ``std`` (degrees) of each prototype's angle to its
    nearest other prototype (DPNP Eq. 11 angles, nearest neighbour only; population std)."""
    s = separation(P)
    return {"min_sep": s["nn_min_deg"], "mean_sep": s["nn_mean_deg"], "std": s["nn_std_deg"]}


def intra_class_angles(z: torch.Tensor, P: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """DPNP Eq. 12: ψ_i = arccos(cos(z_i, p_{y_i})) in degrees, one per sample (for histograms)."""
    return torch.rad2deg(torch.arccos(_own_cosine(z, P, y))).cpu()


def inter_class_angles(P: torch.Tensor) -> torch.Tensor:
    """DPNP Eq. 11: φ_jk = arccos(cos(p_j, p_k)) in degrees, each unordered pair j < k once."""
    unit = _unit(P).cpu()
    j, k = torch.triu_indices(len(unit), len(unit), offset=1)
    cos = (unit[j] * unit[k]).sum(dim=1).clamp(-1.0, 1.0)
    return torch.rad2deg(torch.arccos(cos))


def class_means(z: torch.Tensor, y: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Normalised mean of each class's normalised embeddings, (num_classes, d) float32.

    Gives a class centre where a method has no fixed prototype (DPNP §V-D uses the centres or the
    softmax weights). A class without samples gets a zero row, which no angle can be taken from.
    """
    unit = _unit(z)
    sums = torch.zeros(num_classes, unit.shape[1], dtype=unit.dtype, device=unit.device)
    sums.index_add_(0, y.to(unit.device).long(), unit)
    return F.normalize(sums, dim=1).float()


def scr(z: torch.Tensor, P: torch.Tensor, y: torch.Tensor, normalize: bool = True) -> float:
    """Separation to Compactness Ratio, DPNP Eq. 13.

    SCR = (1/M) Σ_j  min_{k≠j} ‖c_k − c_j‖  /  ( (1/n_j) Σ_{i: y_i = j} ‖h(x_i) − c_j‖ )

    Read as: for each class j, the Euclidean distance from its centre c_j (here the prototype p_j)
    to the nearest other centre, divided by the mean Euclidean distance of the class's samples to
    c_j; then the mean of this ratio over classes. Two choices the paper leaves open:

    - ``normalize=True`` (default) measures both distances on the unit sphere (chord lengths of
      normalised z and p). Hyperspherical methods only fix directions, so raw norms would make
      the ratio depend on an arbitrary output scale; DPNP itself reads angles as arccos(c^T h)
      (Eq. 12), i.e. on the sphere. ``normalize=False`` uses the raw vectors as Eq. 13 prints.
    - Classes without samples (n_j = 0) have no compactness and are left out of the mean, so M is
      the number of classes present in ``y``.
    """
    zz = _unit(z) if normalize else z.detach().double()
    cc = (_unit(P) if normalize else P.detach().double()).to(zz.device)
    yy = y.to(zz.device).long()
    C = len(cc)
    centre_dist = torch.cdist(cc, cc)
    centre_dist.fill_diagonal_(math.inf)
    separation_j = centre_dist.min(dim=1).values
    spread = (zz - cc[yy]).norm(dim=1)
    sums = torch.zeros(C, dtype=zz.dtype, device=zz.device).index_add_(0, yy, spread)
    counts = torch.bincount(yy, minlength=C).to(zz.dtype)
    present = counts > 0
    compactness = sums[present] / counts[present]
    return float((separation_j[present] / compactness).mean())


# ---------------------------------------------------------------------------------------------
# Chapters 4 and 5: the assignment cost of DL2PA Eq. 9, and a feature-space summary (DPNP §V-D).


def assignment_cost(means: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    """DL2PA Eq. 9's cost matrix, (C, K) float64: ``cost[j, k] = -(z̄_j/|z̄_j|)ᵀ (w_k/|w_k|)``.

    The same matrix :meth:`hpnb.assignment.DynamicAssignment.solve` hands to the Hungarian solver
    (without its tie-breaking bonus), for plotting and checking.
    """
    return -(_unit(means) @ _unit(W).to(means.device).T).cpu()


def brute_force_assignment(cost: torch.Tensor) -> tuple[torch.Tensor, float]:
    """The cheapest one-to-one assignment of the C rows of ``cost`` (C, K) to columns, by trying
    every injective map (K!/(K−C)! of them): a check on the Hungarian method for C, K <= 8.

    Returns ``(assignment, total)``: ``assignment[j]`` is row j's column.
    """
    import itertools

    M = cost.detach().double().cpu()
    C, K = M.shape
    if not 1 <= C <= K <= 8:
        raise ValueError(f"brute force needs 1 <= C <= K <= 8, got cost of shape {tuple(M.shape)}")
    rows = torch.arange(C)
    best, best_total = None, math.inf
    for cols in itertools.permutations(range(K), C):
        total = float(M[rows, torch.tensor(cols)].sum())
        if total < best_total:
            best, best_total = cols, total
    return torch.tensor(best, dtype=torch.long), best_total


def feature_space_summary(z: torch.Tensor, y: torch.Tensor, directions: torch.Tensor) -> dict[str, float]:
    """DPNP §V-D's measures of one feature space, all from the class directions' point of view.

    ``min_sep``, ``mean_sep``, ``std``: Table III (degrees, nearest other direction);
    ``scr``: Eq. 13 on the unit sphere, ``scr_raw``: Eq. 13 on the raw vectors as printed;
    ``intra_mean``: the mean intra-class angle ψ (Eq. 12, degrees);
    ``nearest_acc``: accuracy of the nearest class direction by cosine.
    """
    return {
        **prototype_geometry(directions),
        "scr": scr(z, directions, y),
        "scr_raw": scr(z, directions, y, normalize=False),
        "intra_mean": float(intra_class_angles(z, directions, y).double().mean()),
        "nearest_acc": nearest_prototype_accuracy(z, directions, y),
    }


def embedding_spread(z: torch.Tensor) -> dict[str, float]:
    """How spread out raw embeddings (N, d) are: ``median_norm`` of |z_i| and ``mean_pair_cos``, the
    mean cosine over all ordered pairs (self-pairs included), |mean of z_i/|z_i||². Near 1: all in
    one narrow cone; near 0: spread over the sphere."""
    unit = _unit(z)
    return {"median_norm": float(z.detach().double().norm(dim=1).median()),
            "mean_pair_cos": float((unit.mean(dim=0) ** 2).sum())}
