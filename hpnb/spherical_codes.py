"""Known spherical codes: c unit vectors in R^d whose largest pairwise cosine is proven or best known.

A code's value is its largest pairwise cosine (chapter 1: the smaller, the better separated).
:data:`KNOWN_CODES` maps (c, d) to a :class:`KnownCode` with that value, whether it is proven
optimal, and its source (a key of ``book/references.bib``). Most entries come with an exact
construction (:func:`construct`), which ``place(c, d, "best")`` returns instead of running its
solver; the Tammes values for d = 3 without a construction here are reached by the solver.

The regular simplex (c <= d + 1), the cross-polytope (c <= 2d) and the circle (d = 2) are families
for every c and d and live in :mod:`hpnb.prototypes`; this table holds the isolated cases.

Most constructions are sections of the E8 root system: the roots r with prescribed inner products
r . a_k with a few fixed roots a_k, projected onto the orthogonal complement of the a_k, written in
an orthonormal basis of their span and normalised. Conway & Sloane (SPLAG, ch. 4 and 8) describe
the root systems and these sections.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

PHI = (1.0 + math.sqrt(5.0)) / 2.0

# Tammes problem on S^2: the proven largest minimal angle (degrees) for c points.
# Sources: Fejes Toth (1943) for 4, 6, 12; Schütte & van der Waerden (1951) for 5, 7, 8, 9;
# Danzer (1963, translated 1986) for 10, 11; Robinson (1961) for 24; Musin & Tarasov (2012, 2015)
# for 13, 14. Values for 4, 5, 6 are also the simplex and the cross-polytope.
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


@dataclass(frozen=True)
class KnownCode:
    """One known code: its largest pairwise cosine, status, name and source."""

    max_cos: float
    proven: bool  # optimal by proof; otherwise the best arrangement known (optimality open)
    name: str
    source: str  # a key of book/references.bib
    build: Callable[[], torch.Tensor] | None = None  # float64 (c, d) unit rows, or None: solver only

    @property
    def status(self) -> str:
        return "proven optimal" if self.proven else "best known"


def _basis(points: torch.Tensor) -> torch.Tensor:
    """``points`` (float64, rank d) written in an orthonormal basis of their span, rows normalised."""
    _, s, vh = torch.linalg.svd(points, full_matrices=False)
    rank = int((s > 1e-9 * s[0]).sum())
    return F.normalize(points @ vh[:rank].T, dim=1)


def d_roots(n: int) -> torch.Tensor:
    """The 2n(n - 1) roots ±e_i ± e_j of D_n, normalised: max cosine 1/2 (the 24-cell for n = 4)."""
    rows = []
    for i, j in itertools.combinations(range(n), 2):
        for si, sj in itertools.product((1.0, -1.0), repeat=2):
            v = torch.zeros(n, dtype=torch.float64)
            v[i], v[j] = si, sj
            rows.append(v)
    return F.normalize(torch.stack(rows), dim=1)


def e8_roots() -> torch.Tensor:
    """The 240 roots of E8 (norm sqrt 2): the 112 ±e_i ± e_j and the 128 (±1/2)^8 with an even
    number of minus signs."""
    half = torch.tensor(list(itertools.product((0.5, -0.5), repeat=8)), dtype=torch.float64)
    half = half[(half < 0).sum(dim=1) % 2 == 0]
    return torch.cat([d_roots(8) * math.sqrt(2.0), half])


def e8_section(constraints: list[tuple[torch.Tensor, float]]) -> torch.Tensor:
    """E8 roots r with r . a = v for every (a, v) in ``constraints``, projected orthogonally to the
    a's and normalised in an orthonormal basis of their span."""
    roots = e8_roots()
    keep = torch.ones(len(roots), dtype=torch.bool)
    for a, v in constraints:
        keep &= (roots @ a - v).abs() < 1e-9
    points = roots[keep]
    axes = torch.linalg.qr(torch.stack([a for a, _ in constraints]).T).Q
    return _basis(points - (points @ axes) @ axes.T)


# Two roots of E8 with inner product -1: a spans the A1 whose complement holds E7, (a, b) the A2
# whose complement holds E6.
_A = torch.full((8,), 0.5, dtype=torch.float64)
_B = torch.tensor([-1.0, -1.0, 0, 0, 0, 0, 0, 0], dtype=torch.float64)


def demicube(n: int) -> torch.Tensor:
    """The 2^(n-1) vectors (±1)^n / sqrt(n) with an even number of minus signs."""
    signs = torch.tensor(list(itertools.product((1.0, -1.0), repeat=n)), dtype=torch.float64)
    return signs[(signs < 0).sum(dim=1) % 2 == 0] / math.sqrt(n)


def icosahedron() -> torch.Tensor:
    """The 12 cyclic permutations of (0, ±1, ±φ), normalised: max cosine 1/sqrt 5."""
    rows = [
        torch.roll(torch.tensor([0.0, s1, s2 * PHI], dtype=torch.float64), k)
        for k in range(3) for s1 in (1.0, -1.0) for s2 in (1.0, -1.0)
    ]
    return F.normalize(torch.stack(rows), dim=1)


def cell600() -> torch.Tensor:
    """The 120 vertices of the 600-cell: the 8 ±e_i, the 16 (±1/2)^4 and the 96 even permutations
    of (±φ, ±1, ±1/φ, 0)/2. Max cosine cos 36° = φ/2."""
    rows = [v for v in torch.cat([torch.eye(4), -torch.eye(4)]).double()]
    rows += [torch.tensor(s, dtype=torch.float64) for s in itertools.product((0.5, -0.5), repeat=4)]
    even = [p for p in itertools.permutations(range(4))
            if sum(p[i] > p[j] for i in range(4) for j in range(i + 1, 4)) % 2 == 0]
    for signs in itertools.product((1.0, -1.0), repeat=3):
        base = [signs[0] * PHI / 2, signs[1] / 2, signs[2] / (2 * PHI), 0.0]
        for p in even:
            v = torch.zeros(4, dtype=torch.float64)
            for src, dst in enumerate(p):
                v[dst] = base[src]
            rows.append(v)
    return torch.stack(rows)


# Who proved each Tammes value of :data:`TAMMES_DEG` (keys of book/references.bib); 12 is the
# icosahedron below.
_TAMMES_SOURCE = {7: "schutte1951", 8: "schutte1951", 9: "schutte1951", 10: "danzer1986",
                  11: "danzer1986", 13: "musin2012", 14: "musin2015", 24: "robinson1961"}

KNOWN_CODES: dict[tuple[int, int], KnownCode] = {
    **{(c, 3): KnownCode(math.cos(math.radians(TAMMES_DEG[c])), True, "Tammes problem", source)
       for c, source in _TAMMES_SOURCE.items()},
    (12, 3): KnownCode(1 / math.sqrt(5), True, "icosahedron", "cohn2007", icosahedron),
    (24, 4): KnownCode(0.5, False, "24-cell (D4 roots)", "cohn2022table", lambda: d_roots(4)),
    (120, 4): KnownCode(PHI / 2, True, "600-cell", "cohn2007", cell600),
    (16, 5): KnownCode(0.2, True, "5-demicube", "cohn2007", lambda: demicube(5)),
    (40, 5): KnownCode(0.5, False, "D5 roots", "conway1999", lambda: d_roots(5)),
    (27, 6): KnownCode(0.25, True, "Schläfli configuration", "cohn2007",
                       lambda: e8_section([(_A, 1.0), (_B, 0.0)])),
    (72, 6): KnownCode(0.5, False, "E6 roots", "conway1999",
                       lambda: e8_section([(_A, 0.0), (_B, 0.0)])),
    (56, 7): KnownCode(1 / 3, True, "E7 minimal dual vectors", "cohn2007", lambda: e8_section([(_A, 1.0)])),
    (126, 7): KnownCode(0.5, False, "E7 roots", "conway1999", lambda: e8_section([(_A, 0.0)])),
    (240, 8): KnownCode(0.5, True, "E8 roots", "cohn2007", e8_roots),
}


def construct(num_classes: int, dim: int) -> torch.Tensor | None:
    """The known code for (c, d) as float64 unit rows, or ``None`` where there is no construction."""
    code = KNOWN_CODES.get((int(num_classes), int(dim)))
    if code is None or code.build is None:
        return None
    return F.normalize(code.build(), dim=1)
