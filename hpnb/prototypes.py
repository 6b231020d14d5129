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
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

METHODS = ("best", "hpn", "riesz", "gaussian", "simplex", "onehot", "random")
ITERATIVE = ("best", "hpn", "riesz", "gaussian")

# Default step counts. HPN's paper trains its prototypes for 1000 epochs; the other solvers were
# given the count at which their max cosine stops improving on chapter 1's cases (measured there).
DEFAULT_STEPS = {"hpn": 1000, "riesz": 1000, "gaussian": 2000, "best": 2000}

# Tammes problem on S^2: the proven or best known largest minimal angle (degrees) for c points.
# Sources: Tammes (1930), Schütte & van der Waerden (1951), Danzer (1963), Robinson (1961),
# Musin & Tarasov (2012, 2015) for 13 and 14.
TAMMES_DEG = {
    4: 109.4712206,
    5: 90.0,
    6: 90.0,
    7: 77.8695421,
    8: 74.8584922,
    9: 70.5287794,
    10: 66.1468220,
    11: 63.4349488,
    12: 63.4349488,
    13: 57.1367031,
    14: 55.6705700,
    24: 43.6907671,
}

# Cache format version: bump when a solver changes so stale tensors are never returned.
_CACHE_VERSION = 1


class PrototypeError(ValueError):
    """Impossible or unknown prototype request (bad counts, dimensions or method)."""


def data_dir() -> Path:
    """Root of hpnb's data folder: ``$HPNB_DATA`` if set, else ``data/`` beside the package."""
    return Path(os.environ.get("HPNB_DATA", Path(__file__).resolve().parent.parent / "data"))


def _check(num_classes: int, dim: int, method: str) -> None:
    if method not in METHODS:
        raise PrototypeError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if int(num_classes) != num_classes or num_classes < 2:
        raise PrototypeError(f"num_classes must be an integer >= 2, got {num_classes}")
    if int(dim) != dim or dim < 1:
        raise PrototypeError(f"dim must be an integer >= 1, got {dim}")
    if method == "simplex" and num_classes > dim + 1:
        raise PrototypeError(
            f"simplex needs num_classes <= dim + 1 (got {num_classes} classes in {dim} dimensions); "
            f"use one of {', '.join(m for m in METHODS if m not in ('simplex', 'onehot'))}"
        )
    if method == "onehot" and num_classes > dim:
        raise PrototypeError(
            f"onehot needs num_classes <= dim (got {num_classes} classes in {dim} dimensions); "
            f"use one of {', '.join(m for m in METHODS if m not in ('simplex', 'onehot'))}"
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


def _minimax(num_classes: int, dim: int, steps: int, seed: int, device: torch.device) -> torch.Tensor:
    """Minimise the largest pairwise cosine by an annealed soft maximum.

    The objective (1/t) log sum_{i!=j} exp(t cos_ij) tends to max cos as t grows. Early on (small t)
    every pair pushes, which spreads the points like an energy method; the temperature then rises
    geometrically to 1000 so that the final steps act on the closest pairs only, as Eq. 4 of HPN
    asks. Adam works on tangent directions (the loss sees normalised rows) and rows are re-projected
    after each step. Several random starts run as one batch where they fit; the best iterate of the
    best start is returned.
    """
    c, d = num_classes, dim
    restarts = int(max(1, min(8, 200_000 // (c * c))))
    gen = torch.Generator(device="cpu").manual_seed(seed)
    init = F.normalize(torch.randn(restarts, c, d, generator=gen, dtype=torch.float32), dim=-1)
    params = init.to(device).requires_grad_()
    lr0, t0, t1 = 0.01, 5.0, 1000.0
    opt = torch.optim.Adam([params], lr=lr0)
    self_mask = 4.0 * torch.eye(c, device=device)
    best_val = torch.full((restarts,), math.inf, device=device)
    best = params.detach().clone()
    for step in range(steps):
        frac = step / max(steps - 1, 1)
        temp = t0 * (t1 / t0) ** frac
        for group in opt.param_groups:
            group["lr"] = lr0 * (1.0 - frac) + 1e-4
        unit = F.normalize(params, dim=-1)
        cos = unit @ unit.transpose(1, 2) - self_mask
        loss = (torch.logsumexp(temp * cos.flatten(1), dim=1) / temp).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        with torch.no_grad():
            current = cos.flatten(1).amax(dim=1)
            better = current < best_val
            best_val = torch.where(better, current, best_val)
            best[better] = unit[better]
            opt.step()
            params.copy_(F.normalize(params, dim=-1))
    return best[int(best_val.argmin())]


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


def _solve(method: str, c: int, d: int, seed: int, steps: int, device: torch.device) -> torch.Tensor:
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
        # printed, 100 x 10 was still at max cos 0.485 after 20k steps; scaled, 2000 steps reach
        # the paper's Table 7 values (chapter 1 shows both).
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

    Returns:
        float32 CPU tensor (num_classes, dim) with unit-norm rows.

    Raises:
        PrototypeError: unknown method or impossible counts/dimensions.
    """
    _check(num_classes, dim, method)
    c, d = int(num_classes), int(dim)
    if method == "simplex":
        return simplex(c, d)
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
    if cache_dir is True:
        cache_dir = data_dir() / "prototypes"
    path = _cache_path(args, Path(cache_dir)) if cache_dir else None
    if path is not None and path.exists():
        stored = torch.load(path, map_location="cpu", weights_only=True)
        if stored.get("args") == args:
            return stored["prototypes"]

    P = _solve(method, c, d, int(seed), steps, device).detach().float().cpu()
    P = F.normalize(P, dim=1).contiguous()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        torch.save({"prototypes": P, "args": args}, tmp)
        os.replace(tmp, path)  # atomic: a killed run never leaves a half-written cache entry
        path.with_suffix(".json").write_text(json.dumps(args, indent=2) + "\n")
    return P


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
    cos(2 pi / c), for d = 2; 1 for d = 1 and c > 2. For d = 3 the Tammes values in
    :data:`TAMMES_DEG`. Otherwise ``None``.
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
    if d == 3 and c in TAMMES_DEG:
        return math.cos(math.radians(TAMMES_DEG[c]))
    return None


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
) -> list[dict]:
    """Solve every (c, d) case with every method, uncached, and time it.

    Returns one row per (case, method) that the method can do: ``num_classes``, ``dim``,
    ``method``, ``seconds``, ``known_optimum`` and the :func:`separation` statistics. Methods that
    cannot place c prototypes in d dimensions (simplex, onehot) are left out of that case.
    """
    import time

    rows = []
    for c, d in cases:
        for method in methods:
            try:
                _check(c, d, method)
            except PrototypeError:
                continue
            start = time.perf_counter()
            P = place(c, d, method, seed=seed, device=device, cache_dir=None)
            seconds = time.perf_counter() - start
            rows.append({"num_classes": c, "dim": d, "method": method, "seconds": seconds,
                         "known_optimum": known_optimum(c, d), **separation(P)})
    return rows
