"""Dynamic label-to-prototype assignment (DL2PA, Saadabadi et al. 2024, §3.2.3).

Prototypes stay fixed; which prototype stands for which class is re-solved during training. Each
class keeps a momentum mean z̄_j of its normalised embeddings, and the assignment A minimises
DL2PA Eq. 9, sum_j -z̄_j^T w_{A(j)}, a linear assignment problem solved by the Hungarian method.

The paper leaves the momentum α open; 0.9 is the value DL2PA's public code intends (a typo there
makes it act as 0.95). Every sample of a class in the batch contributes to its batch mean, as the
paper's formula has it (the code uses one sample per class and batch).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment

try:  # LAPJV (Jonker & Volgenant 1987) where it is installed: 2-3x faster than scipy on dense
    # random costs (benchmarks/README.md (b)); both are exact, so the assignment is the same.
    from lapjv import lapjv as _lapjv
except ImportError:  # pragma: no cover - depends on the environment
    _lapjv = None

SOLVER = "lapjv" if _lapjv is not None else "scipy"


def assign(cost: np.ndarray, solver: str | None = None) -> np.ndarray:
    """Column of each row in a minimum-cost assignment of the (C, K) ``cost``, C <= K.

    ``solver`` is "lapjv" (square problems only, so C < K is padded with zero-cost rows) or "scipy"
    (``scipy.optimize.linear_sum_assignment``); the default is :data:`SOLVER`.
    """
    solver = solver or SOLVER
    if solver == "scipy":
        return linear_sum_assignment(cost)[1]
    if solver != "lapjv" or _lapjv is None:
        raise ValueError(f"solver must be 'scipy'{' or ' + repr('lapjv') if _lapjv else ''}, got {solver!r}")
    c, k = cost.shape
    square = cost if c == k else np.vstack([cost, np.zeros((k - c, k))])
    return np.asarray(_lapjv(np.ascontiguousarray(square, dtype=np.float64))[0][:c])


# Bonus given to the current assignment in the cost: it only decides exact ties (classes not yet
# seen, symmetric prototypes), which would otherwise move at the solver's whim and be counted as
# changes in DL2PA Fig. 4b.
_TIE_BONUS = 1e-12


class DynamicAssignment:
    """Momentum class means, the class → prototype map ``perm`` and its Hungarian update.

    Args:
        num_classes: C.
        num_prototypes: K >= C; with K > C some prototypes stay unused (rectangular assignment).
        momentum: α in z̄ ← α z̄ + (1 − α) (batch mean of the class); DL2PA §3.2.3 leaves it open, its code intends 0.9.
        every: solve every τ calls of :meth:`step`; ``None`` leaves solving to the caller (DL2PA's
            main experiments solve once per epoch, τ' = 1).
    """

    def __init__(self, num_classes: int, num_prototypes: int, momentum: float = 0.9, every: int | None = None):
        if num_classes < 1 or num_prototypes < num_classes:
            raise ValueError(f"need 1 <= num_classes <= num_prototypes, got {num_classes}, {num_prototypes}")
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must lie in [0, 1], got {momentum}")
        if every is not None and every < 1:
            raise ValueError(f"every must be None or >= 1, got {every}")
        self.num_classes = int(num_classes)
        self.num_prototypes = int(num_prototypes)
        self.momentum = float(momentum)
        self.every = every
        self.perm = torch.arange(self.num_classes)  # identity at start, as PSC's fixed assignment
        self.means: torch.Tensor | None = None  # (C, d), created on the first update (d unknown before)
        self.seen = torch.zeros(self.num_classes, dtype=torch.bool)
        self.steps = 0

    @torch.no_grad()
    def update(self, z: torch.Tensor, y: torch.Tensor) -> None:
        """Fold one batch into the class means (DL2PA Alg. 1, line 9).

        ``z`` (B, d) is normalised here; ``y`` is (B,) class indices or (B, C) soft labels, whose
        weights then make a weighted batch mean. A class's first batch initialises its mean.

        A class moves by ``(1 - momentum) * min(1, w)``, with ``w`` its total label weight in the
        batch: with one-hot labels that is DL2PA's ``1 - momentum`` for every class present, while an
        image mixed to 0.1% of a class (CutMix/MixUp) moves that class's mean a thousand times less
        than a pure one would.
        """
        z = F.normalize(z.detach().float(), dim=1)
        if y.ndim == 1:
            weights = F.one_hot(y.long(), self.num_classes).float()
        else:
            weights = y.detach().float()
        weights = weights.to(z.device)
        if self.means is None:
            self.means = torch.zeros(self.num_classes, z.shape[1], device=z.device)
        self.means = self.means.to(z.device)
        self.seen = self.seen.to(z.device)
        counts = weights.sum(dim=0)
        present = counts > 0
        batch_mean = (weights.T @ z) / counts.clamp_min(1e-12)[:, None]
        rate = (1.0 - self.momentum) * counts.clamp(max=1.0)[:, None]
        blended = self.means + rate * (batch_mean - self.means)
        new = torch.where(self.seen[:, None], blended, batch_mean)
        self.means = torch.where(present[:, None], new, self.means)
        self.seen = self.seen | present

    @torch.no_grad()
    def solve(self, W: torch.Tensor) -> float:
        """Re-assign classes to the prototypes ``W`` (K, d) by DL2PA Eq. 9; return the changed fraction.

        The cost is -(z̄_j / |z̄_j|)^T w_k (DL2PA takes all representations ℓ2-normalised); classes
        never seen have zero cost rows and keep their prototype when it is free. The return value is
        the fraction of classes whose prototype changed (DL2PA Fig. 4b).
        """
        if W.ndim != 2 or W.shape[0] != self.num_prototypes:
            raise ValueError(f"W must be ({self.num_prototypes}, d), got shape {tuple(W.shape)}")
        if self.means is None:
            return 0.0  # nothing observed yet: keep the current assignment
        new = torch.as_tensor(assign(self.cost(W)), dtype=torch.long)
        changed = float((new != self.perm.cpu()).float().mean())
        self.perm = new.to(self.perm.device)
        return changed

    def cost(self, W: torch.Tensor) -> np.ndarray:
        """The (C, K) float64 cost matrix :meth:`solve` hands the solver: -(z̄_j/|z̄_j|)^T (w_k/|w_k|),
        less the tie bonus on the current assignment.

        The product runs where the means live (on a GPU it takes milliseconds; on one CPU thread the
        float64 product at C = K = 10,000, d = 512 takes seconds, about as long as the solver).
        """
        device = self.means.device
        means = F.normalize(self.means.double(), dim=1)
        cost = -(means @ F.normalize(W.detach().to(device).double(), dim=1).T)
        cost[torch.arange(self.num_classes, device=device), self.perm.to(device)] -= _TIE_BONUS
        return cost.cpu().numpy()

    def step(self, W: torch.Tensor) -> float | None:
        """Count one training step; solve when τ = ``every`` steps have passed since the last solve.

        Returns the changed fraction when it solved, else ``None``.
        """
        self.steps += 1
        if self.every is not None and self.steps % self.every == 0:
            return self.solve(W)
        return None

    def prototypes_for(self, P: torch.Tensor) -> torch.Tensor:
        """Row c of the result is class c's prototype: ``P[perm]`` (C, d), for the loss and prediction."""
        return P[self.perm.to(P.device)]

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Tensors only, so ``torch.load(..., weights_only=True)`` restores it."""
        means = self.means if self.means is not None else torch.zeros(self.num_classes, 0)
        return {
            "perm": self.perm.cpu().clone(),
            "means": means.cpu().clone(),
            "seen": self.seen.cpu().clone(),
            "steps": torch.tensor(self.steps, dtype=torch.long),
        }

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Restore what :meth:`state_dict` saved (counts and shapes must match this instance)."""
        perm = state["perm"].long()
        if perm.shape != (self.num_classes,) or int(perm.max()) >= self.num_prototypes:
            raise ValueError(f"perm of shape {tuple(perm.shape)} does not fit {self.num_classes} classes")
        means = state["means"].float()
        self.perm = perm.clone()
        self.means = means.clone() if means.shape[1] > 0 else None
        self.seen = state["seen"].bool().clone()
        self.steps = int(state["steps"])
