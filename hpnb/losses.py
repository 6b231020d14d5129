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
- :func:`dpnp`, :func:`dpp`: DPNP Eq. 10 and Eq. 5 (Zarei-Sabzevar & Harati), with
  :func:`renormalise_` for the per-epoch projection of the prototypes onto the radius-alpha sphere.
- :func:`softmax_ce`, :func:`center_loss`: the linear-softmax and center-loss (Wen et al. 2016)
  baselines.

Reductions: ``"sum"`` adds the per-sample losses over the batch (what the HPN/HMPN reference code
does for the squared-cosine losses), ``"mean"`` divides that by the batch size B. HMPN writes its
cross-entropies Eq. 2/4 as batch means and DPNP writes every term of Eq. 10 as a mean, so pass
``reduction="mean"`` to get those papers' exact scaling; :func:`dpnp`/:func:`dpp` default to it.
"""

from __future__ import annotations

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
    "mixed_ce",
    "dpnp",
    "dpp",
    "renormalise_",
    "softmax_ce",
    "center_loss",
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


def prototype_ce(
    z: torch.Tensor,
    P: torch.Tensor,
    y: torch.Tensor,
    reduction: str = "sum",
    temperature: float = 1.0,
) -> torch.Tensor:
    """Cross-entropy over prototype logits: HMPN Eq. 2 (Lukashov 2026; after Kasarla et al. 2022).

    ``L = -sum_i log softmax_c(x~_i^T p_c / T)_{y_i}`` with x~_i = z_i/|z_i| (HMPN §3 defines x~ as
    the normalised embedding and uses it in Eq. 2) and unit prototypes, so the logits are cosines in
    [-1, 1]. HMPN uses no temperature (T = 1, the default); with bounded logits the softmax can never
    become confident (at most e / (e + (C-1)/e) for the true class), which is part of why HMPN finds
    this objective clusters less tightly than Eq. 1.

    HMPN writes Eq. 2 as a batch mean (1/S); the default "sum" keeps the module uniform, pass
    ``reduction="mean"`` for the paper's scaling.

    Args:
        z: raw embeddings (B, d); normalised here.
        P: prototypes (C, d); normalised here (a no-op for unit prototypes).
        y: class indices (B,) or soft labels (B, C); soft labels give :func:`mixed_ce`.
        reduction: "sum" (default) or "mean" (sum / B).
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
    reduction: str = "sum",
    temperature: float = 1.0,
) -> torch.Tensor:
    """Soft-label cross-entropy over prototype logits: HMPN Eq. 4 (Lukashov 2026).

    ``L = -sum_i y_i^T log softmax(P x~_i / T)``, the mixing proportions y_i as the target
    distribution and the same cosine logits as Eq. 2; for one-hot y_i it is Eq. 2. The HMPN reference
    code computes exactly this (cross_entropy(e P^T, y_soft), no temperature). Unlike Eq. 3 it needs
    no mixed prototype, so a cancelling mix is no special case here.

    HMPN writes Eq. 4 as a batch mean (1/S, and Algorithm 1 divides the cross-entropy by |B|); the
    default "sum" keeps the module uniform, pass ``reduction="mean"`` for the paper's scaling.

    Args:
        z: raw embeddings (B, d); normalised here.
        P: prototypes (C, d); normalised here (a no-op for unit prototypes).
        y_soft: soft labels (B, C); class indices (B,) are accepted and treated as one-hot.
        reduction: "sum" (default) or "mean" (sum / B).
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
