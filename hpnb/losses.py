"""Training objectives of the four papers, one plain function each, plus two baselines.

Every function takes raw (unnormalised) embeddings, a prototype or weight matrix with one row per
class, and targets that are either integer class indices of shape (B,) or soft labels of shape
(B, C) (floating point, rows summing to one, e.g. from MixUp/CutMix). Where a method normalises the
embedding, the function does it, so callers never pre-normalise.

Objectives and where they come from:

- :func:`cosine_sq`: HPN Eq. 1 (Mettes et al. 2019) = HMPN Eq. 1 (Lukashov 2026); DL2PA's
  L_IPM (Saadabadi et al. 2024, Eq. 6) is the same up to a factor 1/2.
- :func:`prototype_ce`: HMPN Eq. 2, cross-entropy over cosine logits to fixed prototypes.
- :func:`mixed_cosine_sq`: HMPN Eq. 3, Eq. 1 against the normalised mixed prototype P^T y.
- :func:`mixed_ce`: HMPN Eq. 4, soft-label cross-entropy over the same logits as Eq. 2.
- :func:`interpolated_cosine_sq` with :func:`batch_class_weights`: Eq. 1 as DL2PA's long-tail
  recipe trains it, with mixup's interpolated loss and per-batch inverse-frequency weights.
- :func:`dpnp`, :func:`dpp`: DPNP Eq. 10 and Eq. 5 (Zarei-Sabzevar & Harati), with
  :func:`renormalise_` for the per-epoch projection of the prototypes onto the radius-alpha sphere.
- :func:`softmax_ce`, :func:`center_loss`: the linear-softmax and center-loss (Wen et al. 2016)
  baselines; :func:`cosine_softmax`, HPN §3.1's cosine-similarity softmax baseline; :func:`cpn`,
  DPNP's CPN baseline (distance-based cross-entropy with the prototype loss); :func:`ccl` with
  :func:`class_mean_directions`, DPNP's CCL and SCCL baselines (constrained centre loss).
- :func:`hpn_regression`: HPN Eq. 7, regression as the cosine to an upper-bound prototype, with
  :func:`scale_targets` / :func:`regression_prediction`; :func:`squared_regression_baseline`, HPN
  §3.2's squared-loss baseline on a normalised, clamped output.
- :func:`joint_loss`: HPN §2.3, Eq. 1 + Eq. 7 in one output space; :func:`multitask_baseline_loss`,
  HPN Table 6's task-weighted squared loss + softmax cross-entropy baseline.

Reductions: ``"sum"`` adds the per-sample losses over the batch, ``"mean"`` divides that by the
batch size B. Each function defaults to its paper's reduction: the squared-cosine losses (HPN Eq. 1,
HMPN Eq. 3) and HPN's regression are sums, as the HPN/HMPN reference code computes them; HMPN's
cross-entropies Eq. 2/4 and every term of DPNP's Eq. 10 are batch means. The two baselines keep
"sum" (Wen et al. 2016 Eq. 2 sums the centre loss; see :func:`softmax_ce` for the CE).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F

__all__ = [
    "REDUCTIONS",
    "DPNP_LAMBDAS",
    "DPNPLoss",
    "cosine_sq",
    "prototype_ce",
    "mixed_cosine_sq",
    "interpolated_cosine_sq",
    "batch_class_weights",
    "mixed_ce",
    "dpnp",
    "dpp",
    "renormalise_",
    "softmax_ce",
    "center_loss",
    "cosine_softmax",
    "cpn",
    "ccl",
    "class_mean_directions",
    "JointLoss",
    "scale_targets",
    "unscale_targets",
    "hpn_regression",
    "regression_prediction",
    "squared_regression_baseline",
    "regression_baseline_prediction",
    "joint_loss",
    "joint_prediction",
    "multitask_baseline_loss",
]

REDUCTIONS = ("sum", "mean")

# DPNP Section V-B ("Model Architecture and Experimental Setup"): (lambda_pos, lambda_neg_sample,
# lambda_neg_class). All 0.1 for the standard 512-d ResNet18; re-tuned for the reduced ResNet18
# (3-d features on CIFAR-10, 10-d on CIFAR-100 and Flower-102). alpha = 40 in every experiment.
DPNP_LAMBDAS: dict[str, tuple[float, float, float]] = {
    "resnet18": (0.1, 0.1, 0.1),
    "reduced_cifar10": (0.01, 0.01, 0.02),
    "reduced_other": (0.1, 0.1, 0.2),
}


class DPNPLoss(NamedTuple):
    """DPNP Eq. 10 and its parts, each reduced over the batch the same way.

    The parts are the paper's unweighted terms with the paper's signs (the two repulsions are
    negative), so ``total = ce + lambda_pos*pos + lambda_neg_sample*neg_sample
    + lambda_neg_class*neg_class``; logging them unweighted keeps runs with different lambdas
    comparable.
    """

    total: torch.Tensor
    ce: torch.Tensor
    pos: torch.Tensor
    neg_sample: torch.Tensor
    neg_class: torch.Tensor


# --------------------------------------------------------------------------------------------
# Argument checks. They look only at shapes and dtypes, never at values, so they never force a
# host-device synchronisation inside a training step.


def _check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _check_pair(z: torch.Tensor, P: torch.Tensor, z_name: str, p_name: str) -> tuple[int, int]:
    if z.dim() != 2:
        raise ValueError(f"{z_name} must have shape (B, d), got {tuple(z.shape)}")
    if P.dim() != 2:
        raise ValueError(f"{p_name} must have shape (C, d), got {tuple(P.shape)}")
    if z.shape[1] != P.shape[1]:
        raise ValueError(
            f"{z_name} has dimension {z.shape[1]} but {p_name} has dimension {P.shape[1]} "
            f"(shapes {tuple(z.shape)} and {tuple(P.shape)})"
        )
    if z.shape[0] == 0:
        raise ValueError(f"{z_name} is an empty batch")
    if P.shape[0] == 0:
        raise ValueError(f"{p_name} has no rows (no classes)")
    return z.shape[0], P.shape[0]


def _check_targets(y: torch.Tensor, batch: int, classes: int) -> bool:
    """Validate targets; return True for soft labels (B, C), False for class indices (B,)."""
    if y.dim() == 1 and not y.is_floating_point() and not y.is_complex() and y.dtype != torch.bool:
        if y.shape[0] != batch:
            raise ValueError(f"labels have shape {tuple(y.shape)} but the batch size is {batch}")
        return False
    if y.dim() == 2 and y.is_floating_point():
        if tuple(y.shape) != (batch, classes):
            raise ValueError(
                f"soft labels must have shape (B, C) = ({batch}, {classes}), got {tuple(y.shape)}"
            )
        return True
    raise ValueError(
        "targets must be integer class indices of shape (B,) or floating soft labels of shape "
        f"(B, C); got dtype {y.dtype} and shape {tuple(y.shape)}"
    )


def _check_positive(value: float, name: str) -> None:
    if not value > 0:
        raise ValueError(f"{name} must be positive, got {value}")


def _reduce(per_sample: torch.Tensor, reduction: str) -> torch.Tensor:
    return per_sample.sum() if reduction == "sum" else per_sample.mean()


def _soft_ce(logits: torch.Tensor, y_soft: torch.Tensor) -> torch.Tensor:
    # Written out rather than F.cross_entropy(probabilities) so the per-sample values are explicit:
    # -sum_c y_c log softmax(logits)_c, exactly HMPN Eq. 4's summand.
    return -(y_soft.to(logits.dtype) * F.log_softmax(logits, dim=1)).sum(dim=1)


def _cosine_logits(z: torch.Tensor, P: torch.Tensor, temperature: float) -> torch.Tensor:
    # HMPN's prototypes are unit vectors, so x~^T p_c is a cosine. P is normalised here too, which
    # is a no-op for HMPN's prototypes and keeps the logits cosines if a caller's P drifts off the
    # sphere (e.g. float16 storage).
    return F.normalize(z, dim=1) @ F.normalize(P, dim=1).T / temperature


# --------------------------------------------------------------------------------------------
# HPN / HMPN / DL2PA


def cosine_sq(
    z: torch.Tensor, P: torch.Tensor, y: torch.Tensor, reduction: str = "sum"
) -> torch.Tensor:
    """Squared cosine dissimilarity: HPN Eq. 1 (Mettes et al. 2019) = HMPN Eq. 1 (Lukashov 2026).

    ``L = sum_i (1 - cos(z_i, p_{y_i}))^2``. DL2PA's L_IPM (Saadabadi et al. 2024, Eq. 6),
    ``1/2 (z^T w - 1)^2`` for unit z and w, is the same per-sample loss times 1/2; the factor only
    rescales the gradient (i.e. the learning rate).

    The gradient w.r.t. z_i (HPN Eq. 2, re-derived; the printed form is garbled) is
    ``2 (1 - cos θ_i) (cos θ_i z_i/|z_i|^2 - p_{y_i}/|z_i|)`` for unit p: it is orthogonal to z_i, so
    the loss only rotates the embedding and never changes its length.

    Args:
        z: raw embeddings (B, d); normalised here.
        P: prototypes (C, d); normalised here (a no-op for unit prototypes).
        y: class indices (B,) or soft labels (B, C). Soft labels give :func:`mixed_cosine_sq`.
        reduction: "sum" (default, as the HPN/HMPN reference code) or "mean" (sum / B).
    """
    _check_reduction(reduction)
    batch, classes = _check_pair(z, P, "z", "P")
    if _check_targets(y, batch, classes):
        return mixed_cosine_sq(z, P, y, reduction=reduction)
    cos = (F.normalize(z, dim=1) * F.normalize(P, dim=1)[y]).sum(dim=1)
    return _reduce((1.0 - cos) ** 2, reduction)


def mixed_cosine_sq(
    z: torch.Tensor,
    P: torch.Tensor,
    y_soft: torch.Tensor,
    reduction: str = "sum",
    eps: float = 1e-6,
) -> torch.Tensor:
    """Squared cosine dissimilarity to the mixed prototype: HMPN Eq. 3 (Lukashov 2026).

    ``L = sum_i (1 - x~_i^T m_i)^2`` with ``m_i = P^T y_i / |P^T y_i|``, the label-weighted sum of
    the (unit) prototypes projected back onto the sphere. For one-hot y_i, m_i = p_{y_i} and this is
    HPN Eq. 1.

    Cancelling mixes: when the weighted prototypes sum to (almost) nothing, e.g. two antipodal
    prototypes mixed 1/2-1/2, m_i is undefined: the label names no direction. If
    ``|P^T y_i| <= eps`` we set cos(z_i, m_i) = 0, i.e. the sample's loss is 1 (the value of a
    random direction's expected cosine, 0) and its gradient is exactly zero: a label with no
    direction carries no training signal, so it must not push the embedding anywhere. The norm is
    taken through a guarded rsqrt, so neither the value nor any gradient (to z, P or y) is NaN/inf.
    With unit prototypes and probability rows, |P^T y| <= 1, so eps is an absolute threshold on a
    quantity of scale one; above it, m_i is a unit vector and the gradient to z stays bounded by
    4/|z_i| however small |P^T y_i| is.

    Args:
        z: raw embeddings (B, d); normalised here.
        P: prototypes (C, d); rows normalised here before mixing (a no-op for unit prototypes), so
            one-hot labels reproduce :func:`cosine_sq` for any P.
        y_soft: soft labels (B, C); class indices (B,) are accepted and treated as one-hot.
        reduction: "sum" (default; HMPN sums Eq. 3 over the batch) or "mean" (sum / B).
        eps: threshold on |P^T y_i| below which the mix counts as cancelled.
    """
    _check_reduction(reduction)
    batch, classes = _check_pair(z, P, "z", "P")
    if not _check_targets(y_soft, batch, classes):
        y_soft = F.one_hot(y_soft.long(), classes)
    _check_positive(eps, "eps")
    mix = y_soft.to(P.dtype) @ F.normalize(P, dim=1)  # (B, d), not yet normalised
    sq_norm = (mix * mix).sum(dim=1)
    defined = sq_norm > eps * eps
    # Feed rsqrt a harmless 1 where the mix cancelled, so the discarded branch of torch.where has
    # finite values and finite gradients (where() multiplies the unused branch's gradient by 0,
    # and 0 * inf would be NaN).
    inv_norm = torch.where(defined, sq_norm, torch.ones_like(sq_norm)).rsqrt()
    cos = (F.normalize(z, dim=1) * mix).sum(dim=1) * inv_norm
    cos = torch.where(defined, cos, torch.zeros_like(cos))
    return _reduce((1.0 - cos) ** 2, reduction)


def interpolated_cosine_sq(
    z: torch.Tensor,
    P: torch.Tensor,
    y: torch.Tensor,
    class_weight: torch.Tensor | None = None,
    reduction: str = "sum",
) -> torch.Tensor:
    """HPN Eq. 1 interpolated over the label: ``L = sum_i sum_c s_c y_ic (1 - cos(z_i, p_c))^2``.

    DL2PA's long-tail recipe (supp. §7.2, after ETF, Yang et al. 2022): a mixup image
    ``lam x_a + (1 - lam) x_b`` is trained with ``lam L(y_a) + (1 - lam) L(y_b)``, which is this
    loss on the two-hot label; and each sample's loss is weighted by the inverse frequency of its
    class, ``s_c`` (:func:`batch_class_weights`). Unlike :func:`mixed_cosine_sq` (HMPN Eq. 3, one
    mixed prototype) it is linear in the label; for one-hot labels and no weights it is
    :func:`cosine_sq`.

    Args:
        z: raw embeddings (B, d); normalised here.
        P: prototypes (C, d); normalised here.
        y: class indices (B,) or soft labels (B, C).
        class_weight: optional (C,) factors s_c; None for all ones.
        reduction: "sum" (default, as :func:`cosine_sq`) or "mean" (sum / B).
    """
    _check_reduction(reduction)
    batch, classes = _check_pair(z, P, "z", "P")
    if not _check_targets(y, batch, classes):
        y = F.one_hot(y.long(), classes)
    weights = y.to(z.dtype)
    if class_weight is not None:
        if tuple(class_weight.shape) != (classes,):
            raise ValueError(f"class_weight must have shape (C,) = ({classes},), got {tuple(class_weight.shape)}")
        weights = weights * class_weight.to(z.dtype)
    cos = F.normalize(z, dim=1) @ F.normalize(P, dim=1).to(z.dtype).T  # (B, C)
    return _reduce((weights * (1.0 - cos) ** 2).sum(dim=1), reduction)


def batch_class_weights(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Inverse class frequency in a batch, ``s_c = gamma / n_c`` with ``gamma = B / (classes present)``.

    The per-batch reweighting of DL2PA's long-tail recipe ("the loss weighted by inverse class
    frequency, following ETF"; DL2PA's code applies it as sqrt(s_c) on the prototype's length, which
    the squared loss turns into s_c). The weights of a batch's samples average one, so the loss keeps
    its scale; classes absent from the batch get 1 (no sample uses it).

    Args:
        labels: (B,) class indices of the batch.
        num_classes: C.
    """
    if labels.dim() != 1 or labels.is_floating_point() or labels.numel() == 0:
        raise ValueError(f"labels must be a non-empty (B,) tensor of class indices, got shape {tuple(labels.shape)}")
    counts = torch.bincount(labels.long(), minlength=num_classes).to(torch.float64)
    gamma = labels.numel() / (counts > 0).sum()
    return torch.where(counts > 0, gamma / counts.clamp(min=1), torch.ones_like(counts))


def prototype_ce(
    z: torch.Tensor,
    P: torch.Tensor,
    y: torch.Tensor,
    reduction: str = "mean",
    temperature: float = 1.0,
) -> torch.Tensor:
    """Cross-entropy over prototype logits: HMPN Eq. 2 (Lukashov 2026; after Kasarla et al. 2022).

    ``L = -1/B sum_i log softmax_c(x~_i^T p_c / T)_{y_i}`` with x~_i = z_i/|z_i| (HMPN §3 defines x~ as
    the normalised embedding and uses it in Eq. 2) and unit prototypes, so the logits are cosines in
    [-1, 1]. HMPN uses no temperature (T = 1, the default); with bounded logits the softmax can never
    become confident (at most e / (e + (C-1)/e) for the true class), which is part of why HMPN finds
    this objective clusters less tightly than Eq. 1.

    HMPN writes Eq. 2 as a batch mean (1/S), the default here; "sum" is B times that.

    Args:
        z: raw embeddings (B, d); normalised here.
        P: prototypes (C, d); normalised here (a no-op for unit prototypes).
        y: class indices (B,) or soft labels (B, C); soft labels give :func:`mixed_ce`.
        reduction: "mean" (default, the paper's) or "sum" (B times "mean").
        temperature: divides the logits; must be positive.
    """
    _check_reduction(reduction)
    batch, classes = _check_pair(z, P, "z", "P")
    soft = _check_targets(y, batch, classes)
    _check_positive(temperature, "temperature")
    logits = _cosine_logits(z, P, temperature)
    if soft:
        return _reduce(_soft_ce(logits, y), reduction)
    return F.cross_entropy(logits, y.long(), reduction=reduction)


def mixed_ce(
    z: torch.Tensor,
    P: torch.Tensor,
    y_soft: torch.Tensor,
    reduction: str = "mean",
    temperature: float = 1.0,
) -> torch.Tensor:
    """Soft-label cross-entropy over prototype logits: HMPN Eq. 4 (Lukashov 2026).

    ``L = -1/B sum_i y_i^T log softmax(P x~_i / T)``, the mixing proportions y_i as the target
    distribution and the same cosine logits as Eq. 2; for one-hot y_i it is Eq. 2. The HMPN reference
    code computes exactly this (cross_entropy(e P^T, y_soft), no temperature). Unlike Eq. 3 it needs
    no mixed prototype, so a cancelling mix is no special case here.

    HMPN writes Eq. 4 as a batch mean (1/S, and Algorithm 1 divides the cross-entropy by |B|), the
    default here; "sum" is B times that.

    Args:
        z: raw embeddings (B, d); normalised here.
        P: prototypes (C, d); normalised here (a no-op for unit prototypes).
        y_soft: soft labels (B, C); class indices (B,) are accepted and treated as one-hot.
        reduction: "mean" (default, the paper's) or "sum" (B times "mean").
        temperature: divides the logits; must be positive.
    """
    _check_reduction(reduction)
    batch, classes = _check_pair(z, P, "z", "P")
    if not _check_targets(y_soft, batch, classes):
        y_soft = F.one_hot(y_soft.long(), classes)
    _check_positive(temperature, "temperature")
    return _reduce(_soft_ce(_cosine_logits(z, P, temperature), y_soft), reduction)


# --------------------------------------------------------------------------------------------
# DPNP


def _half_quasi_norm(v: torch.Tensor, eps: float) -> torch.Tensor:
    """``|v|_{1/2}^{1/2} = sum_k sqrt(|v_k|)`` over the last dimension, with eps inside the sqrt.

    Without eps the derivative 1/(2 sqrt|v_k|) is infinite at v_k = 0 (which happens whenever two
    vectors share a coordinate, e.g. axis-aligned prototypes); with it the slope is capped at
    1/(2 sqrt(eps)) and the value moves by at most sqrt(eps) per coordinate.
    """
    return torch.sqrt(v.abs() + eps).sum(dim=-1)


def _per_sample_ce_and_pull(
    h: torch.Tensor, C: torch.Tensor, y: torch.Tensor, soft: bool, alpha: float
) -> tuple[torch.Tensor, torch.Tensor]:
    # DPNP Eq. 5 (also Eq. 1): logits c_j^T h / alpha. Eq. 10 drops the 1/alpha, but Eq. 1 and Eq. 5
    # state it and it is what makes the radius-alpha prototypes act as unit directions in the
    # softmax (logit = |h| cos); without it the logits would be alpha = 40 times larger.
    logits = h @ C.T / alpha
    if soft:
        ce = _soft_ce(logits, y)
        # Soft labels: the pull is the label-weighted mean of the squared distances to the classes'
        # centres (one-hot gives Eq. 5's term exactly).
        sq_dist = ((h.unsqueeze(1) - C.unsqueeze(0)) ** 2).sum(dim=-1)  # (B, C)
        pull = 0.5 * (y.to(h.dtype) * sq_dist).sum(dim=1)
    else:
        ce = F.cross_entropy(logits, y.long(), reduction="none")
        pull = 0.5 * ((h - C[y]) ** 2).sum(dim=1)
    return ce, pull


def _check_dpnp_args(
    h: torch.Tensor, C: torch.Tensor, y: torch.Tensor, alpha: float, reduction: str
) -> tuple[int, int, bool]:
    _check_reduction(reduction)
    batch, classes = _check_pair(h, C, "h", "C")
    soft = _check_targets(y, batch, classes)
    _check_positive(alpha, "alpha")
    return batch, classes, soft


def dpnp(
    h: torch.Tensor,
    C: torch.Tensor,
    y: torch.Tensor,
    alpha: float = 40.0,
    lambda_pos: float = 0.1,
    lambda_neg_sample: float = 0.1,
    lambda_neg_class: float = 0.1,
    reduction: str = "mean",
    eps: float = 1e-8,
) -> DPNPLoss:
    """Deep Positive-Negative Prototype loss: DPNP Eq. 10 (Zarei-Sabzevar & Harati), Eq. 5-9.

    One matrix C (M, d) is both the classifier's weights and the class centres (positive
    prototypes), kept near the radius-alpha sphere by :func:`renormalise_` at every epoch start.
    With N the batch size:

    - ``ce``  = -1/N sum_i log softmax_j(c_j^T h_i / alpha)_{y_i} (Eq. 5; the 1/alpha of Eq. 1/5 is
      kept although Eq. 10 prints the logits without it).
    - ``pos`` = 1/(2N) sum_i |h_i - c_{y_i}|_2^2 (Eq. 5, the pull to the own centre).
    - ``neg_sample`` = -1/(2N) sum_i |h_i - c_i^neg|_{1/2}^{1/2} (Eq. 7), c_i^neg the centre of
      another class nearest to h_i in Euclidean distance (Eq. 6).
    - ``neg_class`` = -1/(2M) sum_j |c_j - c_j^neg|_{1/2}^{1/2} (Eq. 9), c_j^neg the centre nearest to
      c_j among the others (Eq. 8; the printed "j != k" under the argmin means k != j).
    - ``total`` = ce + lambda_pos*pos + lambda_neg_sample*neg_sample + lambda_neg_class*neg_class.

    ``|v|_{1/2}^{1/2} = sum_k sqrt(|v_k| + eps)``: the L1/2 quasi-norm, which pushes hardest when a
    rival is near; eps caps its slope at coordinates equal to zero. The two repulsions are negative
    (they reward distance) as in Eq. 7, 9 and 10. The nearest-rival choices (Eq. 6, 8) are made on
    detached distances, i.e. treated as constants, as any argmin must be; gradients flow through the
    chosen pairs into both h and C (the prototypes are shared parameters, and the paper detaches
    neither side).

    Defaults: alpha = 40 and lambda_pos = lambda_neg_sample = lambda_neg_class = 0.1 are the paper's
    standard ResNet18 (512-d) settings (Section V-B); its reduced ResNet18 uses 0.01/0.01/0.02
    (CIFAR-10, 3-d) and 0.1/0.1/0.2 (CIFAR-100, Flower-102, 10-d), see :data:`DPNP_LAMBDAS`.

    Reduction: the paper averages (1/N), and its lambdas and learning rate (SGD 0.1) were tuned with
    means, so the default here is "mean". With "sum" the per-sample terms are summed over the batch
    and the class term (a mean over classes, not over samples) is multiplied by N, so that every
    reported value is exactly N times its "mean" value and the lambdas keep their meaning.

    Soft labels (B, M) generalise each term: soft-label CE, the label-weighted pull
    1/2 sum_c y_c |h - c_c|^2, and the nearest rival chosen among the classes with zero weight in the
    mix (a sample whose mix covers every class has no rival and gets no sample repulsion). One-hot
    labels reproduce the integer-label loss.

    Args:
        h: raw features (B, d) (not normalised: DPNP works in the Euclidean feature space).
        C: prototypes = classifier weights (M, d), M >= 2, normally requires_grad.
        y: class indices (B,) or soft labels (B, M).
        alpha: prototype radius, also the logit divisor; positive.
        lambda_pos, lambda_neg_sample, lambda_neg_class: non-negative weights of Eq. 5/10.
        reduction: "mean" (default, the paper's) or "sum" (N times "mean", see above).
        eps: added inside the square roots of the L1/2 quasi-norm.

    Returns:
        :class:`DPNPLoss` (total, ce, pos, neg_sample, neg_class), scalars, the parts unweighted.
    """
    batch, classes, soft = _check_dpnp_args(h, C, y, alpha, reduction)
    if classes < 2:
        raise ValueError(f"DPNP needs at least 2 classes to have rival prototypes, got {classes}")
    for value, name in (
        (lambda_pos, "lambda_pos"),
        (lambda_neg_sample, "lambda_neg_sample"),
        (lambda_neg_class, "lambda_neg_class"),
    ):
        if not value >= 0:
            raise ValueError(f"{name} must be non-negative, got {value}")
    if not eps >= 0:
        raise ValueError(f"eps must be non-negative, got {eps}")

    ce, pull = _per_sample_ce_and_pull(h, C, y, soft, alpha)

    # Eq. 6: nearest centre of another class to each sample. Selection only, so no graph.
    with torch.no_grad():
        dist = torch.cdist(h.detach(), C.detach())  # (B, M)
        if soft:
            own = y > 0
        else:
            own = F.one_hot(y.long(), classes).bool()
        dist = dist.masked_fill(own, float("inf"))
        rival = dist.argmin(dim=1)
        has_rival = torch.isfinite(dist.gather(1, rival.unsqueeze(1)).squeeze(1))
    push = -0.5 * _half_quasi_norm(h - C[rival], eps)
    push = torch.where(has_rival, push, torch.zeros_like(push))

    # Eq. 8: nearest other centre to each centre.
    with torch.no_grad():
        cdist = torch.cdist(C.detach(), C.detach())
        cdist.fill_diagonal_(float("inf"))
        class_rival = cdist.argmin(dim=1)
    neg_class = -0.5 * _half_quasi_norm(C - C[class_rival], eps).mean()
    if reduction == "sum":
        neg_class = neg_class * batch

    ce, pos, neg_sample = (_reduce(t, reduction) for t in (ce, pull, push))
    total = ce + lambda_pos * pos + lambda_neg_sample * neg_sample + lambda_neg_class * neg_class
    return DPNPLoss(total, ce, pos, neg_sample, neg_class)


def dpp(
    h: torch.Tensor,
    C: torch.Tensor,
    y: torch.Tensor,
    alpha: float = 40.0,
    lambda_pos: float = 0.1,
    reduction: str = "mean",
) -> DPNPLoss:
    """Deep Positive Prototype loss: DPNP Eq. 5 (Zarei-Sabzevar & Harati), DPNP without repulsion.

    ``total = ce + lambda_pos * pos`` with ``ce`` and ``pos`` exactly as in :func:`dpnp` (logits
    c_j^T h / alpha, pull 1/(2N) sum |h_i - c_{y_i}|^2); ``neg_sample`` and ``neg_class`` are zero
    tensors so DPP and DPNP runs log the same fields. Defaults and reduction as in :func:`dpnp`.
    """
    batch, _, soft = _check_dpnp_args(h, C, y, alpha, reduction)
    if not lambda_pos >= 0:
        raise ValueError(f"lambda_pos must be non-negative, got {lambda_pos}")
    ce, pull = _per_sample_ce_and_pull(h, C, y, soft, alpha)
    ce, pos = _reduce(ce, reduction), _reduce(pull, reduction)
    zero = torch.zeros_like(ce)
    return DPNPLoss(ce + lambda_pos * pos, ce, pos, zero, zero.clone())


@torch.no_grad()
def renormalise_(C: torch.Tensor, alpha: float = 40.0, eps: float = 1e-12) -> torch.Tensor:
    """Project every prototype onto the sphere of radius alpha, in place; returns C.

    DPNP §IV-B: the prototypes are renormalised at the start of each epoch (not after every step),
    so between renormalisations they move freely. Works on an ``nn.Parameter`` (no autograd record)
    and leaves the optimiser state alone. A zero row has no direction and stays zero.
    """
    if C.dim() != 2:
        raise ValueError(f"C must have shape (M, d), got {tuple(C.shape)}")
    _check_positive(alpha, "alpha")
    C.mul_(alpha / C.norm(dim=1, keepdim=True).clamp_min(eps))
    return C


# --------------------------------------------------------------------------------------------
# Baselines


def cosine_softmax(z: torch.Tensor, W: torch.Tensor, y: torch.Tensor, scale: float,
                   reduction: str = "mean") -> torch.Tensor:
    """Softmax cross-entropy over scaled cosines to learned class vectors: HPN §3.1's baseline.

    ``L = -1/B sum_i log softmax_c(s z_i^T w_c / (|z_i| |w_c|))_{y_i}``. HPN reports "a softmax
    cross-entropy baseline which learns a cosine similarity using all class prototypes" (55.5 ± 0.2
    on CIFAR-100) without its scale s or dimension; with s = 1 the logits stay in [-1, 1] and the
    softmax can never become confident (see :func:`prototype_ce`, the same loss at s = 1 over fixed
    prototypes), so the scale is a parameter (``Config.cosine_scale``).

    Args:
        z: raw embeddings (B, d); normalised here.
        W: learned class vectors (C, d); normalised here, so their length does not matter.
        y: class indices (B,) or soft labels (B, C).
        scale: s > 0, multiplies the cosines.
        reduction: "mean" (default) or "sum".
    """
    _check_positive(scale, "scale")
    return prototype_ce(z, W, y, reduction=reduction, temperature=1.0 / scale)


def softmax_ce(logits: torch.Tensor, y: torch.Tensor, reduction: str = "sum") -> torch.Tensor:
    """Plain softmax cross-entropy of a learned linear classifier (the CE baseline of all papers).

    ``L = -sum_i sum_c y_ic log softmax(logits_i)_c``, y one-hot for class indices. Note that
    torch's own default is the mean; with SGD a summed CE multiplies the effective learning rate by
    the batch size, so match the reduction to the learning rate the baseline was tuned with.

    Args:
        logits: (B, C) raw classifier outputs.
        y: class indices (B,) or soft labels (B, C).
        reduction: "sum" (default) or "mean" (sum / B).
    """
    _check_reduction(reduction)
    if logits.dim() != 2:
        raise ValueError(f"logits must have shape (B, C), got {tuple(logits.shape)}")
    if logits.shape[0] == 0:
        raise ValueError("logits is an empty batch")
    if _check_targets(y, logits.shape[0], logits.shape[1]):
        return _reduce(_soft_ce(logits, y), reduction)
    return F.cross_entropy(logits, y.long(), reduction=reduction)


def center_loss(
    features: torch.Tensor, centers: torch.Tensor, y: torch.Tensor, reduction: str = "sum"
) -> torch.Tensor:
    """Center loss (Wen et al. 2016, Eq. 2; DPNP Eq. 3): ``1/2 sum_i |x_i - c_{y_i}|_2^2``.

    Used next to :func:`softmax_ce` with a separate learnable ``centers`` (the CL baseline of DPNP);
    Wen et al.'s own centre-update rule is an optimiser choice and lives with the training loop.
    Soft labels weight each centre's squared distance by the label (one-hot gives the formula above).
    DPNP Eq. 3 is the "mean" form.

    Args:
        features: (B, d) raw features.
        centers: (C, d) class centres.
        y: class indices (B,) or soft labels (B, C).
        reduction: "sum" (default) or "mean" (sum / B).
    """
    _check_reduction(reduction)
    batch, classes = _check_pair(features, centers, "features", "centers")
    if _check_targets(y, batch, classes):
        sq_dist = ((features.unsqueeze(1) - centers.unsqueeze(0)) ** 2).sum(dim=-1)
        per_sample = 0.5 * (y.to(features.dtype) * sq_dist).sum(dim=1)
    else:
        per_sample = 0.5 * ((features - centers[y]) ** 2).sum(dim=1)
    return _reduce(per_sample, reduction)


def cpn(z: torch.Tensor, M: torch.Tensor, y: torch.Tensor, gamma: float = 1.0, pl_weight: float = 0.01,
        reduction: str = "mean") -> torch.Tensor:
    """Convolutional Prototype Network's loss (Yang et al., TPAMI 2022; DPNP's CPN baseline, its ref. [2]):
    distance-based cross-entropy (DCE) plus the prototype loss (PL), one learned prototype per class.

    ``DCE = -log softmax_c(-gamma |z_i - m_c|^2)_{y_i}``, ``PL = |z_i - m_{y_i}|^2`` and the loss is
    ``DCE + pl_weight * PL`` per sample; the prediction is the nearest prototype in Euclidean distance.
    DPNP gives neither gamma nor the PL weight for its CPN runs: the defaults (1 and 0.01) are ours.

    Args:
        z: raw embeddings (B, d).
        M: learned prototypes (C, d), not normalised.
        y: class indices (B,) or soft labels (B, C).
        gamma: > 0, the temperature of the distance softmax.
        pl_weight: >= 0, the weight of PL.
        reduction: "mean" (default) or "sum".
    """
    _check_reduction(reduction)
    _check_positive(gamma, "gamma")
    if not pl_weight >= 0:
        raise ValueError(f"pl_weight must be >= 0, got {pl_weight!r}")
    batch, classes = _check_pair(z, M, "z", "M")
    sq_dist = (z.unsqueeze(1) - M.unsqueeze(0)).pow(2).sum(dim=-1)          # (B, C)
    logp = torch.log_softmax(-gamma * sq_dist, dim=1)
    soft = y.to(z.dtype) if _check_targets(y, batch, classes) else F.one_hot(y, classes).to(z.dtype)
    per_sample = (soft * (pl_weight * sq_dist - logp)).sum(dim=1)
    return _reduce(per_sample, reduction)


def ccl(z: torch.Tensor, W: torch.Tensor, centres: torch.Tensor, y: torch.Tensor, weight: float = 1.0,
        reduction: str = "mean") -> torch.Tensor:
    """Constrained centre loss (Shi et al., TNNLS 2023; DPNP's CCL and SCCL baselines, its ref. [1]).

    DPNP §II describes CCL as cross-entropy plus a centre-absorbing term, with the class centres and
    the classifier weights kept on the unit sphere by length normalisation and the centres re-estimated
    as class means (not learned by gradient; :func:`class_mean_directions`). Per sample:
    ``-log softmax_c(z_i^T w_c / |w_c|)_{y_i} + weight * 1/2 |z_i / |z_i| - c_{y_i}|^2``, where the
    absorbing term on unit vectors equals ``weight * (1 - cos(z_i, c_{y_i}))``. SCCL is the same loss
    with the centres as the classifier (``W = centres``). DPNP gives no weight: 1 is ours.

    Args:
        z: raw embeddings (B, d); the cross-entropy sees them raw, the absorbing term normalised.
        W: classifier weights (C, d); normalised here.
        centres: class centres (C, d) on the unit sphere (no gradient is taken through them).
        y: class indices (B,) or soft labels (B, C).
        weight: >= 0, the weight of the absorbing term.
        reduction: "mean" (default) or "sum".
    """
    _check_reduction(reduction)
    if not weight >= 0:
        raise ValueError(f"weight must be >= 0, got {weight!r}")
    batch, classes = _check_pair(z, W, "z", "W")
    _check_pair(z, centres, "z", "centres")
    if centres.shape[0] != classes:
        raise ValueError(f"W and centres need one row per class: {classes} and {centres.shape[0]} rows")
    logp = torch.log_softmax(z @ F.normalize(W, dim=1).T, dim=1)
    soft = y.to(z.dtype) if _check_targets(y, batch, classes) else F.one_hot(y, classes).to(z.dtype)
    absorb = 1.0 - F.normalize(z, dim=1) @ centres.detach().to(z.dtype).T          # (B, C)
    per_sample = (soft * (weight * absorb - logp)).sum(dim=1)
    return _reduce(per_sample, reduction)


def class_mean_directions(sums: torch.Tensor, counts: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
    """CCL's centre update: each class's mean direction, length-normalised (DPNP §II on Shi et al. 2023).

    ``sums`` (C, d) adds the unit embeddings of each class's samples (weighted by their labels),
    ``counts`` (C,) their label weights; a class with no sample keeps its ``previous`` centre.
    """
    if sums.shape != previous.shape or counts.shape != sums.shape[:1]:
        raise ValueError(f"sums {tuple(sums.shape)}, counts {tuple(counts.shape)} and previous "
                         f"{tuple(previous.shape)} do not fit")
    seen = ((counts > 0) & (sums.norm(dim=1) > 0))[:, None]  # a zero sum has no direction either
    return torch.where(seen, F.normalize(sums, dim=1), previous)


# --------------------------------------------------------------------------------------------
# HPN regression (§2.2, Eq. 7), joint regression + classification (§2.3) and their baselines
# (§3.2, Table 5; §3.3, Table 6)


class JointLoss(NamedTuple):
    """A two-task loss and its parts, each reduced over the batch the same way.

    ``total`` is what to back-propagate; ``classification`` and ``regression`` are the unweighted
    task losses, so runs with different task weights log comparable numbers.
    """

    total: torch.Tensor
    classification: torch.Tensor
    regression: torch.Tensor


def _check_bounds(lower: float, upper: float) -> tuple[float, float]:
    try:
        lo, hi = float(lower), float(upper)
    except (TypeError, ValueError, RuntimeError) as err:
        raise ValueError(f"regression bounds must be numbers, got {lower!r} and {upper!r}") from err
    if not (math.isfinite(lo) and math.isfinite(hi)) or not hi > lo:
        raise ValueError(f"regression bounds need finite lower < upper, got lower={lower}, upper={upper}")
    return lo, hi


def _check_values(y: torch.Tensor, batch: int | None, name: str) -> torch.Tensor:
    """Real-valued targets or outputs of shape (B,) or (B, 1); returned as a floating (B,) tensor."""
    if not isinstance(y, torch.Tensor):
        raise ValueError(f"{name} must be a tensor, got {type(y).__name__}")
    if y.dtype == torch.bool or y.is_complex():
        raise ValueError(f"{name} must be real numbers, got dtype {y.dtype}")
    if y.dim() == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.dim() != 1:
        raise ValueError(f"{name} must have shape (B,) or (B, 1), got {tuple(y.shape)}")
    if batch is not None and y.shape[0] != batch:
        raise ValueError(f"{name} has shape {tuple(y.shape)} but the batch size is {batch}")
    if y.shape[0] == 0:
        raise ValueError(f"{name} is an empty batch")
    return y if y.is_floating_point() else y.to(torch.get_default_dtype())


def _check_axis(z: torch.Tensor, p_u: torch.Tensor) -> int:
    if z.dim() != 2:
        raise ValueError(f"z must have shape (B, d), got {tuple(z.shape)}")
    if z.shape[0] == 0:
        raise ValueError("z is an empty batch")
    if p_u.dim() != 1 or p_u.shape[0] != z.shape[1]:
        raise ValueError(
            f"p_u must be one prototype of shape (d,) = ({z.shape[1]},), got {tuple(p_u.shape)}"
        )
    return z.shape[0]


def _upper_cosine(z: torch.Tensor, p_u: torch.Tensor) -> torch.Tensor:
    return F.normalize(z, dim=1) @ F.normalize(p_u.to(z.dtype), dim=0)


def scale_targets(y: torch.Tensor, lower: float, upper: float) -> torch.Tensor:
    """HPN Eq. 7's normalised target: ``r = 2 (y - v_l) / (v_u - v_l) - 1``, v_l -> -1, v_u -> 1.

    Purely affine: values outside the bounds map outside [-1, 1] (no clamping), which a cosine can
    never reach, so such samples keep a residual loss. HPN takes the bounds from the training set's
    minimum and maximum, so every training target lies in [-1, 1].

    Args:
        y: real values, any shape; integer tensors (e.g. years) are converted to floating point.
        lower, upper: the bounds v_l < v_u.
    """
    lo, hi = _check_bounds(lower, upper)
    if not isinstance(y, torch.Tensor):
        raise ValueError(f"y must be a tensor, got {type(y).__name__}")
    y = y if y.is_floating_point() else y.to(torch.get_default_dtype())
    return 2.0 * (y - lo) / (hi - lo) - 1.0


def unscale_targets(r: torch.Tensor, lower: float, upper: float) -> torch.Tensor:
    """Inverse of :func:`scale_targets`: ``y = v_l + (r + 1) (v_u - v_l) / 2``."""
    lo, hi = _check_bounds(lower, upper)
    if not isinstance(r, torch.Tensor):
        raise ValueError(f"r must be a tensor, got {type(r).__name__}")
    r = r if r.is_floating_point() else r.to(torch.get_default_dtype())
    return lo + (r + 1.0) * ((hi - lo) / 2.0)


def hpn_regression(
    z: torch.Tensor,
    p_u: torch.Tensor,
    y: torch.Tensor,
    lower: float,
    upper: float,
    reduction: str = "sum",
) -> torch.Tensor:
    """Hyperspherical prototype regression: HPN Eq. 7 (Mettes et al. 2019, §2.2).

    ``L_r = sum_i (r_i - cos(z_i, p_u))^2`` with ``r_i = 2 (y_i - v_l) / (v_u - v_l) - 1``
    (:func:`scale_targets`). The lower-bound prototype is p_l = -p_u, so cos(z, p_l) = -cos(z, p_u)
    and it needs no argument of its own: the output interpolates between the two antipodal bounds,
    and every z on the circle cos(z, p_u) = r_i is equally correct (HPN Fig. 3). Like Eq. 1 the
    gradient is orthogonal to z_i: the loss only rotates the output towards or away from p_u.
    The prediction is :func:`regression_prediction`.

    Args:
        z: raw outputs (B, d); normalised here.
        p_u: the upper-bound prototype (d,); normalised here (HPN's code uses e_0).
        y: real targets (B,) or (B, 1) in the original units (e.g. years).
        lower, upper: the bounds v_l < v_u (HPN: the training set's minimum and maximum).
        reduction: "sum" (default, as HPN's code) or "mean" (sum / B).
    """
    _check_reduction(reduction)
    batch = _check_axis(z, p_u)
    r = scale_targets(_check_values(y, batch, "y"), lower, upper)
    cos = _upper_cosine(z, p_u)
    return _reduce((r.to(cos.dtype) - cos) ** 2, reduction)


def regression_prediction(z: torch.Tensor, p_u: torch.Tensor, lower: float, upper: float) -> torch.Tensor:
    """HPN §2.2's prediction: ``y = v_l + (cos(z, p_u) + 1) (v_u - v_l) / 2``, shape (B,).

    The inverse of the target scaling applied to the output's cosine with the upper bound, so
    predictions always lie in [v_l, v_u].
    """
    _check_axis(z, p_u)
    return unscale_targets(_upper_cosine(z, p_u), lower, upper)


def _baseline_fraction(output: torch.Tensor, clamp: bool) -> torch.Tensor:
    return output.clamp(0.0, 1.0) if clamp else output


def squared_regression_baseline(
    output: torch.Tensor,
    y: torch.Tensor,
    lower: float,
    upper: float,
    reduction: str = "sum",
    clamp: bool = True,
) -> torch.Tensor:
    """The squared-loss regression baseline of HPN §3.2 / Table 5 ("MSE").

    HPN §3.2: "We compare to a squared loss regression baseline, where we normalize and 0-1 clamp the
    outputs using the upper and lower bounds for a fair comparison. We create baseline variants
    where the output layer has more dimensions, with an additional layer to a real output".

    Our reading: the network ends in one real output o_i (the S1/S2 variants put an extra linear
    layer d -> 1 after the d-dimensional layer; that is the model's business, not the loss's). The
    output is read in bound-normalised units, where v_l is 0 and v_u is 1, and clamped to [0, 1];
    the target is normalised the same way, t_i = (y_i - v_l) / (v_u - v_l), and

        ``L = sum_i (clamp(o_i, 0, 1) - t_i)^2``, prediction ``v_l + clamp(o_i, 0, 1) (v_u - v_l)``
        (:func:`regression_baseline_prediction`).

    So, like HPN's cosine, the baseline can only predict inside [v_l, v_u] and works on a unit-scale
    target ("for a fair comparison"). The clamp passes no gradient outside [0, 1]: an output that
    overshoots gets no signal back and stays there, which would give the collapsed, constant
    predictions of Table 5 at lr 1e-2 (S2: 339.9 +- 0.0 MAE, which the paper blames on exploding
    gradients). ``clamp=False`` is the plain MSE on the normalised target (clamp only when
    predicting), the variant to compare if the clamped one collapses.

    Args:
        output: the baseline's real output (B,) or (B, 1), in normalised units.
        y: real targets (B,) or (B, 1) in the original units.
        lower, upper: the bounds v_l < v_u.
        reduction: "sum" (default, as the module) or "mean" (sum / B; torch's MSELoss).
        clamp: clamp the output to [0, 1] inside the loss (the paper's reading, default).
    """
    _check_reduction(reduction)
    o = _check_values(output, None, "output")
    t = _check_values(y, o.shape[0], "y")
    lo, hi = _check_bounds(lower, upper)
    t = ((t - lo) / (hi - lo)).to(o.dtype)
    return _reduce((_baseline_fraction(o, clamp) - t) ** 2, reduction)


def regression_baseline_prediction(output: torch.Tensor, lower: float, upper: float) -> torch.Tensor:
    """Prediction of :func:`squared_regression_baseline`: ``v_l + clamp(o, 0, 1) (v_u - v_l)``, (B,)."""
    o = _check_values(output, None, "output")
    lo, hi = _check_bounds(lower, upper)
    return lo + _baseline_fraction(o, True) * (hi - lo)


def _check_weight(weight: float) -> float:
    w = float(weight)
    if not 0.0 <= w <= 1.0:
        raise ValueError(f"task weight must be in [0, 1], got {weight}")
    return w


def _complement(z: torch.Tensor, p_u: torch.Tensor) -> torch.Tensor:
    u = F.normalize(p_u.to(z.dtype), dim=0)
    return z - (z @ u).unsqueeze(1) * u


def joint_loss(
    z: torch.Tensor,
    P: torch.Tensor,
    p_u: torch.Tensor,
    y_class: torch.Tensor,
    y_value: torch.Tensor,
    lower: float,
    upper: float,
    reduction: str = "sum",
    *,
    complement: bool = True,
    weight: float | None = None,
) -> JointLoss:
    """Joint classification and regression in one output space: HPN §2.3 (Eq. 1 + Eq. 7).

    ``total = L_c + L_r``, HPN Eq. 1 over the class prototypes P plus HPN Eq. 7 over the
    regression axis p_u, summed with no task weight ("Optimization is as simple as summing the
    losses of Eq. 1 and 7 ... our approach requires no hyperparameters to balance the tasks").
    P should lie in the orthogonal complement of p_u (see :func:`hpnb.prototypes.joint`).

    Which cosine Eq. 1 takes: with ``complement=True`` (default) the class term compares the class
    prototypes with z's component orthogonal to p_u, ``z - (z.u) u``. That is what HPN's reference
    code does (its class loss is on ``output[:, 1:]`` with p_u = e_0) and what HPN Fig. 5 shows: the
    regression value sets the height along the axis and the class the direction around it, so the
    two tasks never compete. ``complement=False`` is the literal cosine cos(z, p_c) in the full
    space; since p_c is orthogonal to p_u, cos(z, p_c)^2 + cos(z, p_u)^2 <= 1, so a sample at a
    regression bound (|r| = 1) cannot also reach its class prototype and the terms pull against
    each other. Both give the same class prediction (:func:`joint_prediction`): p_c . z = p_c . z_perp.

    ``weight=w`` in [0, 1] instead returns ``w L_r + (1 - w) L_c``: HPN Table 6 reports its own
    method at the same task weights as the multi-task baseline (weight on the regression branch,
    as the paper's text says; HPN's code puts w on the class term).

    Args:
        z: raw outputs (B, d); normalised here.
        P: class prototypes (C, d), unit rows orthogonal to p_u.
        p_u: the regression upper-bound prototype (d,); p_l = -p_u.
        y_class: class indices (B,) or soft labels (B, C).
        y_value: real regression targets (B,) or (B, 1) in original units.
        lower, upper: regression bounds v_l < v_u.
        reduction: "sum" (default) or "mean", applied to both terms.
        complement: class cosine on z's component orthogonal to p_u (default) or on z itself.
        weight: None (default, HPN's unweighted sum) or the regression task's weight.

    Returns:
        :class:`JointLoss` (total, classification, regression), scalars, the parts unweighted.
    """
    _check_reduction(reduction)
    batch = _check_axis(z, p_u)
    _check_pair(z, P, "z", "P")
    z_class = _complement(z, p_u) if complement else z
    classification = cosine_sq(z_class, P, y_class, reduction=reduction)
    regression = hpn_regression(z, p_u, _check_values(y_value, batch, "y_value"), lower, upper, reduction)
    if weight is None:
        total = classification + regression
    else:
        w = _check_weight(weight)
        total = w * regression + (1.0 - w) * classification
    return JointLoss(total, classification, regression)


def joint_prediction(
    z: torch.Tensor, P: torch.Tensor, p_u: torch.Tensor, lower: float, upper: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Class and value predicted from one output: ``(argmax_c cos(z, p_c), regression_prediction)``."""
    _check_axis(z, p_u)
    _check_pair(z, P, "z", "P")
    classes = (F.normalize(z, dim=1) @ F.normalize(P.to(z.dtype), dim=1).T).argmax(dim=1)
    return classes, regression_prediction(z, p_u, lower, upper)


def multitask_baseline_loss(
    logits: torch.Tensor,
    output: torch.Tensor,
    y_class: torch.Tensor,
    y_value: torch.Tensor,
    lower: float,
    upper: float,
    weight: float,
    reduction: str = "sum",
    clamp: bool = True,
) -> JointLoss:
    """The task-weighted multi-task baseline of HPN Table 6 (§3.3, OmniArt year + art style).

    HPN §3.3: "We compare to a multi-task baseline, which uses the same network and settings, but
    with squared loss for regression and softmax cross-entropy for classification. Since this
    baseline requires task weighting, we compare both across various relative weights between the
    regression and classification branches. ... The weights listed in the table denote the weight
    assigned to the regression branch, with one minus the weight for the classification branch."

    So ``total = w * L_reg + (1 - w) * L_ce`` with L_reg the §3.2 squared-loss baseline
    (:func:`squared_regression_baseline`, clamped normalised output) on a one-unit regression
    branch and L_ce :func:`softmax_ce` on a C-unit classification branch; Table 6 uses
    w in {0.01, 0.10, 0.25, 0.50, 0.90}.

    Args:
        logits: classification branch (B, C).
        output: regression branch (B,) or (B, 1), in normalised units (see the §3.2 baseline).
        y_class: class indices (B,) or soft labels (B, C).
        y_value: real targets (B,) or (B, 1) in the original units.
        lower, upper: regression bounds v_l < v_u.
        weight: the regression branch's weight w in [0, 1].
        reduction: "sum" (default) or "mean" (torch's CrossEntropyLoss/MSELoss), both terms.
        clamp: passed to :func:`squared_regression_baseline`.

    Returns:
        :class:`JointLoss` (total, classification, regression), the parts unweighted.
    """
    _check_reduction(reduction)
    w = _check_weight(weight)
    classification = softmax_ce(logits, y_class, reduction=reduction)
    o = _check_values(output, logits.shape[0], "output")
    regression = squared_regression_baseline(o, y_value, lower, upper, reduction=reduction, clamp=clamp)
    return JointLoss(w * regression + (1.0 - w) * classification, classification, regression)
