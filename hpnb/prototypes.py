"""Class prototypes on the unit hypersphere: placement, separation statistics, known optima.

Every method returns a float32 tensor of shape (num_classes, dim) with unit-norm rows, identical for
identical arguments. Iterative solvers are cached under ``data/prototypes/`` (see :func:`place`).

Methods (chapter 1 derives each):

- ``hpn``: HPN Eq. 5 (Mettes et al. 2019), the mean over prototypes of the largest cosine to another.
- ``riesz``: HMPN §2 (Lukashov 2026), Thomson-style energy sum_{i!=j} 1/r_ij, r_ij = (1 - cos_ij)/2.
- ``gaussian``: DL2PA Eq. 5 (Saadabadi et al. 2024), log mean Gaussian potential, t = 2, subsets.
- ``simplex``: the regular simplex, closed form (c <= d + 1).
- ``onehot``: the standard basis (c <= d).
- ``random``: normalised Gaussian samples.
- ``best``: hpnb's own solver: exact where the optimum is known, a minimax solver elsewhere.
- ``privileged``: HPN Eq. 5 + Eq. 6, separation plus a RankNet loss that keeps the similarity
  ranking of class-name embeddings (pass ``embeddings=``; see :func:`ranking_loss`).

Also: :func:`joint` (class prototypes orthogonal to a regression axis, HPN §2.3),
:func:`word_embedding_prototypes` (HPN Table 1's word-embedding baseline) and
:func:`rank_correlation` / :func:`triplet_agreement` (how much of the embeddings' similarity order
a placement keeps).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from hpnb.config import PLACEMENTS as METHODS  # noqa: E402 -- the names live where the CLI reads them
from hpnb.spherical_codes import KNOWN_CODES, TAMMES_DEG, construct  # noqa: F401 -- TAMMES_DEG re-exported
ITERATIVE = ("best", "hpn", "riesz", "gaussian", "privileged")
# Methods that need class-name embeddings (``place(..., embeddings=E)``).
NEEDS_EMBEDDINGS = ("privileged", "embedding")

# Default step counts. HPN's paper trains its prototypes for 1000 epochs; the other solvers were
# given the count at which their max cosine stops improving on chapter 1's cases (measured there).
DEFAULT_STEPS = {"hpn": 1000, "riesz": 1000, "gaussian": 2000, "best": 2000, "privileged": 1000}

# Class triplets drawn per step for HPN Eq. 6 (with replacement, from the solver's seeded generator).
# Eq. 6 averages over all triplets; a fixed-size sample keeps a step's cost independent of c^3.
PRIVILEGED_TRIPLETS = 4096

# Cache format version: bump when a solver changes so stale tensors are never returned.
_CACHE_VERSION = 2


class PrototypeError(ValueError):
    """Impossible or unknown prototype request (bad counts, dimensions or method)."""


def data_dir() -> Path:
    """Root of hpnb's data folder: ``$HPNB_DATA`` if set, else ``data/`` beside the package."""
    return Path(os.environ.get("HPNB_DATA", Path(__file__).resolve().parent.parent / "data"))


def _check(num_classes: int, dim: int, method: str) -> None:
    if method not in METHODS:
        raise PrototypeError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    others = ", ".join(m for m in METHODS if m not in ("simplex", "onehot", *NEEDS_EMBEDDINGS))
    if int(num_classes) != num_classes or num_classes < 2:
        raise PrototypeError(f"num_classes must be an integer >= 2, got {num_classes}")
    if int(dim) != dim or dim < 1:
        raise PrototypeError(f"dim must be an integer >= 1, got {dim}")
    if method == "simplex" and num_classes > dim + 1:
        raise PrototypeError(
            f"simplex needs num_classes <= dim + 1 (got {num_classes} classes in {dim} dimensions); "
            f"use one of {others}"
        )
    if method == "onehot" and num_classes > dim:
        raise PrototypeError(
            f"onehot needs num_classes <= dim (got {num_classes} classes in {dim} dimensions); "
            f"use one of {others}"
        )


def simplex(num_classes: int, dim: int) -> torch.Tensor:
    """Regular simplex of ``num_classes`` unit vectors in R^dim, all pairwise cosines -1/(c-1).

    Built from the Helmert basis of the sum-zero subspace of R^c, so it is exact and needs no solver.
    """
    c = num_classes
    centred = torch.eye(c, dtype=torch.float64) - 1.0 / c
    # Helmert rows: an orthonormal basis of {x : sum x = 0}, written in closed form.
    helmert = torch.zeros(c - 1, c, dtype=torch.float64)
    for k in range(1, c):
        helmert[k - 1, :k] = 1.0 / math.sqrt(k * (k + 1))
        helmert[k - 1, k] = -k / math.sqrt(k * (k + 1))
    coords = F.normalize(centred @ helmert.T, dim=1)
    out = torch.zeros(c, dim, dtype=torch.float64)
    out[:, : c - 1] = coords
    return out.float()


def cross_polytope(num_classes: int, dim: int) -> torch.Tensor:
    """The first ``num_classes`` vertices of the cross-polytope {±e_k}, pairs kept together.

    For d + 1 < c <= 2d this reaches Rankin's bound: no c unit vectors in R^d have all pairwise
    cosines below 0, and these have max cosine exactly 0.
    """
    eye = torch.eye(dim)
    vertices = torch.stack([eye, -eye], dim=1).reshape(2 * dim, dim)
    return vertices[:num_classes].clone()


def circle(num_classes: int) -> torch.Tensor:
    """``num_classes`` equally spaced points on S^1: the optimum in two dimensions."""
    angles = torch.arange(num_classes, dtype=torch.float64) * (2.0 * math.pi / num_classes)
    return torch.stack([angles.cos(), angles.sin()], dim=1).float()


@dataclass(frozen=True)
class _Schedule:
    """One family of random starts of :func:`_minimax`: its count, learning rate and temperatures."""

    restarts: int
    lr0: float
    t0: float
    t1: float


def _minimax_schedules(c: int, d: int) -> list[_Schedule]:
    """The start families for c points in R^d.

    The first (lr 0.01, t from 5 to 1000, up to 8 starts) is tuned on chapter 1's large cases. Small
    cases add a second with more starts, a smaller step and a hotter end (t from 20 to 10^4), which
    is what finds the narrow basins of the Tammes optima for 13 and 14 points on S^2 (chapter 1
    measures both); its start count is capped so that its cost stays below a fixed budget.
    """
    schedules = [_Schedule(int(max(1, min(8, 200_000 // (c * c)))), 0.01, 5.0, 1000.0)]
    small = min(64, 500_000 // (c * c * d))
    if small >= 8:
        schedules.append(_Schedule(small, 0.003, 20.0, 1e4))
    return schedules


def _minimax(num_classes: int, dim: int, steps: int, seed: int, device: torch.device) -> torch.Tensor:
    """Minimise the largest pairwise cosine by an annealed soft maximum.

    The objective (1/t) log sum_{i!=j} exp(t cos_ij) tends to max cos as t grows. Early on (small t)
    every pair pushes, which spreads the points like an energy method; the temperature then rises
    geometrically so that the final steps act on the closest pairs only, as Eq. 4 of HPN asks. Adam
    works on tangent directions (the loss sees normalised rows) and rows are re-projected after
    each step. Several random starts, in the families of :func:`_minimax_schedules`, run as one
    batch each; the best iterate of the best start is returned.
    """
    c, d = num_classes, dim
    gen = torch.Generator(device="cpu").manual_seed(seed)
    schedules = _minimax_schedules(c, d)
    params = [
        F.normalize(torch.randn(s.restarts, c, d, generator=gen, dtype=torch.float32), dim=-1).to(device).requires_grad_()
        for s in schedules
    ]
    opt = torch.optim.Adam([{"params": [p], "lr": s.lr0} for p, s in zip(params, schedules)])
    self_mask = 4.0 * torch.eye(c, device=device)
    best_val = [torch.full((s.restarts,), math.inf, device=device) for s in schedules]
    best = [p.detach().clone() for p in params]
    for step in range(steps):
        frac = step / max(steps - 1, 1)
        loss = torch.zeros((), device=device)
        cosines = []
        for s, p, group in zip(schedules, params, opt.param_groups):
            group["lr"] = s.lr0 * (1.0 - frac) + 1e-4
            temp = s.t0 * (s.t1 / s.t0) ** frac
            unit = F.normalize(p, dim=-1)
            cos = unit @ unit.transpose(1, 2) - self_mask
            loss = loss + (torch.logsumexp(temp * cos.flatten(1), dim=1) / temp).sum()
            cosines.append((unit, cos))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        with torch.no_grad():
            for k, (unit, cos) in enumerate(cosines):
                current = cos.flatten(1).amax(dim=1)
                better = current < best_val[k]
                best_val[k] = torch.where(better, current, best_val[k])
                best[k][better] = unit[better]
            opt.step()
            for p in params:
                p.copy_(F.normalize(p, dim=-1))
    vals = torch.cat(best_val)
    return torch.cat(best)[int(vals.argmin())]


def _sgd_solver(
    loss_fn: Callable[[torch.Tensor, torch.Generator], torch.Tensor],
    num_classes: int,
    dim: int,
    steps: int,
    seed: int,
    device: torch.device,
    lr: float,
    momentum: float,
) -> torch.Tensor:
    """Projected SGD from normalised Gaussian starting points, as HPN and DL2PA describe."""
    gen = torch.Generator(device="cpu").manual_seed(seed)
    init = F.normalize(torch.randn(num_classes, dim, generator=gen), dim=1)
    params = init.to(device).requires_grad_()
    opt = torch.optim.SGD([params], lr=lr, momentum=momentum)
    for _ in range(steps):
        loss = loss_fn(params, gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            params.copy_(F.normalize(params, dim=1))
    return params.detach()


def hpn_loss(P: torch.Tensor) -> torch.Tensor:
    """HPN Eq. 5: L_HP = (1/K) sum_i max_j M_ij with M = P P^T - 2I (rows normalised)."""
    unit = F.normalize(P, dim=1)
    M = unit @ unit.T - 2.0 * torch.eye(len(P), device=P.device)
    return M.max(dim=1).values.mean()


def riesz_energy(P: torch.Tensor) -> torch.Tensor:
    """HMPN §2: sum_{i!=j} 1 / r_ij with r_ij = (1 - p_i^T p_j) / 2 (the Thomson problem's energy)."""
    unit = F.normalize(P, dim=1)
    r = (1.0 - unit @ unit.T) / 2.0
    off = ~torch.eye(len(P), dtype=torch.bool, device=P.device)
    return (1.0 / r[off].clamp_min(1e-12)).sum()


def gaussian_potential(P: torch.Tensor, subset: torch.Tensor, t: float = 2.0) -> torch.Tensor:
    """DL2PA Eq. 5: log((1/c) sum_{i in subset} sum_j exp(-t ||w_i - w_j||^2)), rows normalised."""
    unit = F.normalize(P, dim=1)
    sq = (2.0 - 2.0 * unit[subset] @ unit.T).clamp_min(0.0)
    return torch.log(torch.exp(-t * sq).sum() / len(P))


def all_triplets(num_classes: int, device: str | torch.device | None = None) -> torch.Tensor:
    """Every class triplet (i, j, k) of HPN Eq. 6 with i, j, k distinct and j < k, shape (T, 3).

    The ordered triplet (i, k, j) adds nothing: its output is -o_ijk and its target 1 - S̄_ijk (up to
    ties), and the binary cross-entropy of (-o, 1 - t) equals that of (o, t), so the mean over
    j < k is the mean over all ordered triplets. c (c - 1) (c - 2) / 2 rows.
    """
    c = int(num_classes)
    if c < 3:
        return torch.zeros(0, 3, dtype=torch.long, device=device)
    idx = torch.arange(c)
    i, j, k = torch.meshgrid(idx, idx, idx, indexing="ij")
    keep = (j < k) & (i != j) & (i != k)
    return torch.stack([i[keep], j[keep], k[keep]], dim=1).to(device)


def sample_triplets(num_classes: int, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` class triplets (i, j, k), i, j, k distinct, uniform with replacement; CPU (n, 3).

    Empty (0, 3) when there are fewer than 3 classes (no triplet exists).
    """
    c = int(num_classes)
    if c < 3 or n < 1:
        return torch.zeros(0, 3, dtype=torch.long)
    i = torch.randint(c, (n,), generator=generator)
    a = torch.randint(1, c, (n,), generator=generator)  # offset of j from i: 1..c-1
    b = torch.randint(1, c - 1, (n,), generator=generator)  # offset of k from i, skipping a
    b = b + (b >= a).long()
    return torch.stack([i, (i + a) % c, (i + b) % c], dim=1)


def _unit_cos(X: torch.Tensor) -> torch.Tensor:
    unit = F.normalize(X, dim=1)
    return unit @ unit.T


def _ranking_bce(P: torch.Tensor, target_cos: torch.Tensor, triplets: torch.Tensor) -> torch.Tensor:
    if len(triplets) == 0:
        return P.sum() * 0.0  # no triplet (c < 3): Eq. 6 is an empty mean, contributes nothing
    i, j, k = triplets.to(target_cos.device).unbind(1)
    target = (target_cos[i, j] >= target_cos[i, k]).to(device=P.device, dtype=P.dtype)
    cos = _unit_cos(P)
    i, j, k = triplets.to(P.device).unbind(1)
    # -S̄ log sigmoid(o) - (1 - S̄) log(1 - sigmoid(o)), in the numerically stable logits form.
    return F.binary_cross_entropy_with_logits(cos[i, j] - cos[i, k], target)


def _check_embeddings(E: object, num_classes: int) -> torch.Tensor:
    if E is None:
        raise PrototypeError(
            "method 'privileged' needs class-name embeddings: pass embeddings=E, a (num_classes, e) "
            "tensor, e.g. hpnb.embeddings.class_name_embeddings(class_names)"
        )
    if not isinstance(E, torch.Tensor):
        raise PrototypeError(f"embeddings must be a torch.Tensor, got {type(E).__name__}")
    if E.dim() != 2 or E.shape[0] != num_classes or E.shape[1] < 1:
        raise PrototypeError(
            f"embeddings must have shape (num_classes, e) = ({num_classes}, e), got {tuple(E.shape)}"
        )
    if not E.is_floating_point():
        raise PrototypeError(f"embeddings must be floating point, got dtype {E.dtype}")
    E = E.detach().to("cpu", torch.float64)
    if not torch.isfinite(E).all():
        raise PrototypeError("embeddings contain NaN or infinite values")
    zero = (E.norm(dim=1) == 0).nonzero().flatten().tolist()
    if zero:
        raise PrototypeError(f"embeddings of classes {zero} are zero vectors: their cosines are undefined")
    return E.contiguous()


def ranking_loss(P: torch.Tensor, E: torch.Tensor, triplets: torch.Tensor | None = None) -> torch.Tensor:
    """HPN Eq. 6, the privileged-information ranking loss (RankNet, Burges et al. 2005).

    ``L_PI = 1/|T| sum_{(i,j,k) in T} -S̄_ijk log S_ijk - (1 - S̄_ijk) log(1 - S_ijk)`` with target
    ``S̄_ijk = [cos(w_i, w_j) >= cos(w_i, w_k)]`` from the embeddings w = rows of E and output
    ``S_ijk = sigmoid(o_ijk)``, ``o_ijk = cos(p_i, p_j) - cos(p_i, p_k)``: a binary cross-entropy
    that asks p_i to be closer to p_j than to p_k exactly when class i's name is closer to j's.
    Only the order counts, not the similarities themselves (HPN: "a direct alignment impedes
    separation"). Since |o| <= 2 the loss never reaches zero (at best log(1 + e^-2) = 0.127 per
    triplet), so it keeps pulling against the separation term of Eq. 5 it is summed with.

    Args:
        P: prototypes (c, d), normalised here; gradients flow to P.
        E: class embeddings (c, e), normalised here; a constant (no gradient).
        triplets: (T, 3) integer rows (i, j, k); ``None`` uses :func:`all_triplets` (Eq. 6's T).

    Returns:
        The mean over the triplets, a scalar (0 when there is none, i.e. c < 3).
    """
    if P.dim() != 2 or E.dim() != 2 or len(P) != len(E):
        raise PrototypeError(
            f"need P (c, d) and E (c, e) with the same c, got {tuple(P.shape)} and {tuple(E.shape)}"
        )
    if triplets is None:
        triplets = all_triplets(len(P))
    elif triplets.dim() != 2 or triplets.shape[1] != 3 or triplets.is_floating_point():
        raise PrototypeError(f"triplets must be integer rows (T, 3), got {tuple(triplets.shape)} {triplets.dtype}")
    return _ranking_bce(P, _unit_cos(E.detach().to(P.device, P.dtype)), triplets)


def _solve(
    method: str, c: int, d: int, seed: int, steps: int, device: torch.device, embeddings: torch.Tensor | None = None
) -> torch.Tensor:
    if method == "privileged":
        # HPN §2.1: Eq. 5 and Eq. 6 summed (no weight), optimised like the hpn method. The targets
        # come from float64 embedding cosines on the CPU, so they are the same on every device.
        target_cos = _unit_cos(embeddings.double())

        def loss(P: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
            return hpn_loss(P) + _ranking_bce(P, target_cos, sample_triplets(c, PRIVILEGED_TRIPLETS, gen))

        return _sgd_solver(loss, c, d, steps, seed, device, lr=0.1, momentum=0.9)
    if method == "hpn":
        return _sgd_solver(lambda P, g: hpn_loss(P), c, d, steps, seed, device, lr=0.1, momentum=0.9)
    if method == "riesz":
        # The energy is a sum over c(c - 1) pairs, so the force on one prototype grows like c: the
        # mean pair energy with lr 0.1 c gives every prototype the same step size whatever c (HMPN's
        # code instead sets lr by hand per dataset: 1 for 10 classes, 100 for 100 or 200).
        return _sgd_solver(
            lambda P, g: riesz_energy(P) / (c * (c - 1)), c, d, steps, seed, device, lr=0.1 * c, momentum=0.9
        )
    if method == "gaussian":
        size = max(1, min(100, c - 1))  # DL2PA optimises random subsets of (at most) 100 prototypes

        def loss(P: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
            subset = torch.randperm(c, generator=gen)[:size].to(P.device)
            return gaussian_potential(P, subset)

        # Eq. 5 averages over the subset, so the force on one prototype shrinks like 1/size: DL2PA's
        # lr 0.1 scaled by the subset size keeps the step per prototype fixed. With lr 0.1 as
        # printed, 2000 steps leave 100 x 10 well above the scaled rate's max cosine, which reaches
        # the paper's Table 7 values (chapter 1 runs both over three seeds and checks it).
        return _sgd_solver(loss, c, d, steps, seed, device, lr=0.1 * size, momentum=0.0)
    if method == "best":
        if c <= d + 1:
            return simplex(c, d)
        if c <= 2 * d:
            return cross_polytope(c, d)
        if d == 1:
            return cross_polytope(2, 1).repeat((c + 1) // 2, 1)[:c]  # any arrangement: max cos is 1
        if d == 2:
            return circle(c)
        known = construct(c, d)
        if known is not None:
            return known
        return _minimax(c, d, steps, seed, device)
    raise AssertionError(method)


def _cache_path(args: dict, cache_dir: Path) -> Path:
    key = hashlib.sha256(json.dumps(args, sort_keys=True).encode()).hexdigest()[:20]
    return cache_dir / f"{args['method']}-c{args['num_classes']}-d{args['dim']}-{key}.pt"


def place(
    num_classes: int,
    dim: int,
    method: str = "best",
    *,
    seed: int = 0,
    steps: int | None = None,
    device: str | torch.device | None = None,
    cache_dir: str | Path | None | bool = True,
    embeddings: torch.Tensor | None = None,
) -> torch.Tensor:
    """Place ``num_classes`` unit prototypes in R^dim with ``method`` (see the module docstring).

    Args:
        num_classes: c >= 2.
        dim: d >= 1.
        method: one of :data:`METHODS`.
        seed: seeds the random start of the iterative methods and ``random``.
        steps: iterations of an iterative solver (default :data:`DEFAULT_STEPS`).
        device: where an iterative solver runs (a CUDA device makes it run on the GPU).
        cache_dir: iterative results are cached here, keyed by every argument that changes the
            result; ``True`` means ``data/prototypes/``, ``None``/``False`` disables the cache.
        embeddings: (num_classes, e) class-name embeddings, row c for class c; required by
            ``privileged`` (HPN's privileged information, e.g. from
            :func:`hpnb.embeddings.class_name_embeddings`) and ``embedding`` (HPN Table 1's baseline,
            :func:`word_embedding_prototypes`), refused by every other method. A
            hash of them is part of the cache key.

    Returns:
        float32 CPU tensor (num_classes, dim) with unit-norm rows.

    Raises:
        PrototypeError: unknown method, impossible counts/dimensions, or missing/malformed
            embeddings.
    """
    _check(num_classes, dim, method)
    c, d = int(num_classes), int(dim)
    if method in NEEDS_EMBEDDINGS:
        embeddings = _check_embeddings(embeddings, c)
    elif embeddings is not None:
        raise PrototypeError(
            f"embeddings are used only by method {' or '.join(map(repr, NEEDS_EMBEDDINGS))}, not {method!r}"
        )
    if method == "simplex":
        return simplex(c, d)
    if method == "embedding":  # HPN Table 1's baseline: the class-name embeddings themselves
        return word_embedding_prototypes(embeddings, d)
    if method == "onehot":
        return torch.eye(c, d)
    if method == "random":
        gen = torch.Generator().manual_seed(seed)
        return F.normalize(torch.randn(c, d, generator=gen), dim=1)

    steps = DEFAULT_STEPS[method] if steps is None else int(steps)
    if steps < 1:
        raise PrototypeError(f"steps must be >= 1, got {steps}")
    device = torch.device(device) if device is not None else torch.device("cpu")
    args = {
        "num_classes": c,
        "dim": d,
        "method": method,
        "seed": int(seed),
        "steps": steps,
        "device_type": device.type,
        "version": _CACHE_VERSION,
    }
    if embeddings is not None:
        # float64 bytes and shape: identical embeddings give identical keys, any change a new one.
        digest = hashlib.sha256(str(tuple(embeddings.shape)).encode())
        digest.update(embeddings.numpy().tobytes())
        args["embeddings_sha256"] = digest.hexdigest()
        args["triplets_per_step"] = PRIVILEGED_TRIPLETS
    if cache_dir is True:
        cache_dir = data_dir() / "prototypes"
    path = _cache_path(args, Path(cache_dir)) if cache_dir else None
    stored = _read_cache(path, args) if path is not None else None
    if stored is not None:
        return stored

    P = _solve(method, c, d, int(seed), steps, device, embeddings=embeddings).detach().float().cpu()
    P = F.normalize(P, dim=1).contiguous()
    if path is not None:
        _write_cache(path, P, args)
    return P


def _read_cache(path: Path, args: dict) -> torch.Tensor | None:
    """The cached prototypes for ``args``, or None: a missing, unreadable or foreign entry is a miss."""
    try:
        stored = torch.load(path, map_location="cpu", weights_only=True)
        if stored.get("args") == args and isinstance(stored.get("prototypes"), torch.Tensor):
            return stored["prototypes"]
    except Exception:  # absent, truncated, corrupted: recompute (and the write below repairs it)
        pass
    return None


def _write_cache(path: Path, P: torch.Tensor, args: dict) -> None:
    """Store an entry atomically; a failed write (full or read-only disk) only loses the cache."""
    from hpnb.files import write_atomic

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, lambda f: torch.save({"prototypes": P, "args": args}, f))
        write_atomic(path.with_suffix(".json"), json.dumps(args, indent=2) + "\n")
    except OSError as err:
        warnings.warn(f"prototype cache not written ({err.strerror or err}): {path}", stacklevel=3)


def joint(
    num_classes: int,
    dim: int,
    method: str = "best",
    *,
    seed: int = 0,
    steps: int | None = None,
    device: str | torch.device | None = None,
    cache_dir: str | Path | None | bool = True,
    embeddings: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Prototypes for joint regression and classification in one output space (HPN §2.3).

    "All that is required is to place the upper and lower polar bounds for regression in opposite
    direction along one axis. The other axes can then be used to maximally separate the class
    prototypes." The regression axis is p_u = e_0 (p_l = -e_0), as in HPN's code; the class
    prototypes are ``place(num_classes, dim - 1, method, ...)`` written into coordinates 1..d-1, so
    every class prototype has coordinate 0 equal to zero and is orthogonal to both bounds, and
    their separation is that of the (d - 1)-dimensional placement. Use with
    :func:`hpnb.losses.joint_loss`.

    Args:
        num_classes: c >= 2 class prototypes.
        dim: d >= 2, the whole output space (one axis for regression, d - 1 for the classes).
        method, seed, steps, device, cache_dir, embeddings: as in :func:`place`, for the classes.

    Returns:
        ``(P, p_u)``: float32 (num_classes, dim) unit rows with P[:, 0] = 0, and p_u = e_0 (dim,).
    """
    if int(dim) != dim or dim < 2:
        raise PrototypeError(
            f"joint prototypes need dim >= 2 (one regression axis plus at least one for the classes), got {dim}"
        )
    d = int(dim)
    classes = place(num_classes, d - 1, method, seed=seed, steps=steps, device=device,
                    cache_dir=cache_dir, embeddings=embeddings)
    P = torch.zeros(len(classes), d)
    P[:, 1:] = classes
    p_u = torch.zeros(d)
    p_u[0] = 1.0
    return P, p_u


def word_embedding_prototypes(
    E: torch.Tensor, dim: int, *, projection: str = "pca", seed: int = 0
) -> torch.Tensor:
    """HPN Table 1's word-embedding baseline: the class-name embeddings themselves as prototypes.

    HPN compares with "word2vec" prototypes at every output size d (Table 1: d = 10 ... 200 from
    300-d word2vec), so the embeddings must be brought to d dimensions; the paper does not say how.
    Default ``projection="pca"``: centre the embeddings, keep their coordinates on the top
    min(d, e, c) principal axes, zero-pad to d when there are fewer, normalise the rows.

    Why PCA: it is the linear map to d dimensions that keeps the most of the centred embeddings'
    geometry (Eckart-Young), so the baseline stays as faithful to the embeddings as d allows and is
    deterministic (axis signs fixed: each axis's largest coordinate is positive). When d >= e it is
    a rotation of the centred embeddings, i.e. "the embeddings themselves". Why centre: word vectors
    share a large common component (all GloVe class names have positive cosines), and centring
    removes it; HPN Table 2's word2vec row has mean cosine distance 1.01 for 100 classes, i.e. mean
    cosine -0.01 = -1/99, the value that centred vectors of equal norm have, so the paper's vectors
    were evidently centred too. ``projection="random"`` is a seeded Gaussian random projection
    (Johnson-Lindenstrauss) of the centred embeddings, for comparison; ``seed`` is used only there.

    Args:
        E: (c, e) class embeddings, c >= 2.
        dim: d >= 1.
        projection: "pca" (default) or "random".
        seed: seeds the random projection.

    Returns:
        float32 (c, dim) unit rows.
    """
    if not isinstance(E, torch.Tensor) or E.dim() != 2 or len(E) < 2 or not E.is_floating_point():
        raise PrototypeError(f"E must be a floating (c >= 2, e) tensor, got {getattr(E, 'shape', E)!r}")
    if int(dim) != dim or dim < 1:
        raise PrototypeError(f"dim must be an integer >= 1, got {dim}")
    if projection not in ("pca", "random"):
        raise PrototypeError(f"projection must be 'pca' or 'random', got {projection!r}")
    X = E.detach().to("cpu", torch.float64)
    X = X - X.mean(dim=0, keepdim=True)
    d = int(dim)
    if projection == "random":
        gen = torch.Generator().manual_seed(seed)
        coords = X @ torch.randn(X.shape[1], d, generator=gen, dtype=torch.float64)
    else:
        U, S, _ = torch.linalg.svd(X, full_matrices=False)
        k = min(d, len(S))
        U = U[:, :k]
        sign = torch.sign(U.gather(0, U.abs().argmax(dim=0, keepdim=True)))
        coords = torch.zeros(len(X), d, dtype=torch.float64)
        coords[:, :k] = U * sign * S[:k]
    if bool((coords.norm(dim=1) <= 1e-12 * max(1.0, float(X.norm()))).any()):
        raise PrototypeError("a projected embedding is zero (e.g. d = 1 or identical class embeddings)")
    return F.normalize(coords, dim=1).float()


def _pair_cosines(X: torch.Tensor) -> torch.Tensor:
    cos = _unit_cos(X.detach().to("cpu", torch.float64))
    i, j = torch.triu_indices(len(cos), len(cos), offset=1)
    # Rounded to 1e-6 so float32 round-off (e.g. a simplex's "equal" cosines) counts as a tie.
    return torch.round(cos[i, j], decimals=6)


def _ranks(x: torch.Tensor) -> torch.Tensor:
    """Ranks 1..n with ties given their average rank (as Spearman's rho needs)."""
    values, inverse, counts = torch.unique(x, return_inverse=True, return_counts=True)
    ends = counts.cumsum(0).double()
    return ((ends - counts.double() + 1.0 + ends) / 2.0)[inverse]


def rank_correlation(P: torch.Tensor, E: torch.Tensor) -> float:
    """Spearman's rho between the pairwise cosines of prototypes P and of embeddings E.

    Over the c (c - 1) / 2 distinct class pairs, ties (cosines equal to 1e-6) averaged: 1 when the prototypes order the
    class pairs by similarity exactly as the embeddings do, about 0 for an unrelated placement.
    NaN when either side has all pair cosines equal (the simplex, one-hot), where no order exists.
    """
    if P.dim() != 2 or E.dim() != 2 or len(P) != len(E) or len(P) < 3:
        raise PrototypeError(f"need P (c, d) and E (c, e) with the same c >= 3, got {tuple(P.shape)}, {tuple(E.shape)}")
    a, b = _ranks(_pair_cosines(P)), _ranks(_pair_cosines(E))
    a, b = a - a.mean(), b - b.mean()
    denom = float(a.norm() * b.norm())
    return float((a @ b) / denom) if denom > 0 else math.nan


def triplet_agreement(P: torch.Tensor, E: torch.Tensor) -> float:
    """Fraction of class triplets (i, j, k) ordered alike: [cos(p_i,p_j) > cos(p_i,p_k)] matches
    [cos(w_i,w_j) > cos(w_i,w_k)] (HPN Eq. 6's target, as an accuracy). Random placements: ~0.5."""
    if P.dim() != 2 or E.dim() != 2 or len(P) != len(E) or len(P) < 3:
        raise PrototypeError(f"need P (c, d) and E (c, e) with the same c >= 3, got {tuple(P.shape)}, {tuple(E.shape)}")
    T = all_triplets(len(P))
    cp = _unit_cos(P.detach().to("cpu", torch.float64))
    ce = _unit_cos(E.detach().to("cpu", torch.float64))
    i, j, k = T.unbind(1)
    return float(((cp[i, j] > cp[i, k]) == (ce[i, j] > ce[i, k])).double().mean())


def separation(P: torch.Tensor) -> dict[str, float]:
    """Separation statistics of prototypes ``P`` (c, d), rows normalised first.

    Keys: ``max_cos``/``min_cos`` over distinct pairs; HPN Table 2's cosine distance (1 - cos)
    ``dist_min``/``dist_mean``/``dist_max`` over distinct pairs; DPNP's nearest-neighbour angles in
    degrees ``nn_min_deg``/``nn_mean_deg``/``nn_std_deg`` (one angle per prototype, population std).
    """
    if P.ndim != 2 or len(P) < 2:
        raise PrototypeError(f"need a (c >= 2, d) matrix of prototypes, got shape {tuple(P.shape)}")
    unit = F.normalize(P.detach().double().cpu(), dim=1)
    cos = (unit @ unit.T).clamp(-1.0, 1.0)
    off = ~torch.eye(len(unit), dtype=torch.bool)
    pairs = cos[off]
    nearest = cos.masked_fill(~off, -math.inf).max(dim=1).values
    nn_deg = torch.rad2deg(torch.arccos(nearest))
    return {
        "max_cos": float(pairs.max()),
        "min_cos": float(pairs.min()),
        "dist_min": float(1.0 - pairs.max()),
        "dist_mean": float((1.0 - pairs).mean()),
        "dist_max": float(1.0 - pairs.min()),
        "nn_min_deg": float(nn_deg.min()),
        "nn_mean_deg": float(nn_deg.mean()),
        "nn_std_deg": float(nn_deg.std(unbiased=False)),
    }


def known_optimum(num_classes: int, dim: int) -> float | None:
    """Largest pairwise cosine of the best known arrangement of c points on S^{d-1}, if known.

    Exact: the simplex, -1/(c-1), for c <= d + 1; Rankin's bound 0 for d + 1 < c <= 2d; the circle,
    cos(2 pi / c), for d = 2; 1 for d = 1 and c > 2. Otherwise the proven or best known value in
    :data:`hpnb.spherical_codes.KNOWN_CODES` (the Tammes values for d = 3, the 600-cell, the sharp
    configurations, the E8 roots and the kissing arrangements of D4, D5, E6, E7), else ``None``.
    """
    c, d = int(num_classes), int(dim)
    if c < 2 or d < 1:
        raise PrototypeError(f"need num_classes >= 2 and dim >= 1, got {num_classes}, {dim}")
    if c <= d + 1:
        return -1.0 / (c - 1)
    if c <= 2 * d:
        return 0.0
    if d == 1:
        return 1.0
    if d == 2:
        return math.cos(2.0 * math.pi / c)
    code = KNOWN_CODES.get((c, d))
    return None if code is None else code.max_cos


# Separation reported by the papers for 100 prototypes, quoted for side-by-side tables.
# HPN Table 2 gives cosine distances (min/mean/max); DL2PA Table 7 gives max/min cosine.
PAPER_SEPARATION = {
    ("HPN Table 2", 100, 100): {
        "one-hot": {"dist_min": 1.00, "dist_mean": 1.00, "dist_max": 1.00},
        "word2vec": {"dist_min": 0.26, "dist_mean": 1.01, "dist_max": 1.32},
        "HPN": {"dist_min": 0.95, "dist_mean": 1.01, "dist_max": 1.39},
    },
    ("DL2PA Table 7", 100, 100): {
        "Word2Vec": {"max_cos": 0.74, "min_cos": -0.32},
        "HPN": {"max_cos": 0.05, "min_cos": -0.39},
        "ETF": {"max_cos": 0.0, "min_cos": -0.01},
        "DL2PA": {"max_cos": 0.0, "min_cos": -0.01},
    },
    ("DL2PA Table 7", 100, 50): {
        "HPN": {"max_cos": -0.05, "min_cos": -0.62},
        "DL2PA": {"max_cos": 0.01, "min_cos": -1.0},
    },
}


def compare(
    cases: list[tuple[int, int]],
    methods: list[str],
    *,
    seed: int = 0,
    device: str | torch.device | None = None,
    embeddings: torch.Tensor | None = None,
) -> list[dict]:
    """Solve every (c, d) case with every method, uncached, and time it.

    Returns one row per (case, method) that the method can do: ``num_classes``, ``dim``,
    ``method``, ``seconds``, ``known_optimum`` and the :func:`separation` statistics. Methods that
    cannot place c prototypes in d dimensions (simplex, onehot) are left out of that case, and so is
    ``privileged`` where c differs from the number of rows of ``embeddings``.
    """
    import time

    if embeddings is None and any(m in NEEDS_EMBEDDINGS for m in methods):
        _check_embeddings(None, 0)  # raises the "needs class-name embeddings" error
    rows = []
    for c, d in cases:
        for method in methods:
            try:
                _check(c, d, method)
            except PrototypeError:
                continue
            needs = method in NEEDS_EMBEDDINGS
            if needs and len(embeddings) != c:
                continue
            start = time.perf_counter()
            P = place(c, d, method, seed=seed, device=device, cache_dir=None, embeddings=embeddings if needs else None)
            seconds = time.perf_counter() - start
            rows.append({"num_classes": c, "dim": d, "method": method, "seconds": seconds,
                         "known_optimum": known_optimum(c, d), **separation(P)})
    return rows
