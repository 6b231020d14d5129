"""What a chapter's prose says, computed: glued numbers and words, and the checks behind its claims.

Every measured number in a chapter's Markdown is pasted with MyST-NB's ``{glue:text}`key``` role
from a value the notebook computed, and every sentence that states a result ("lower", "no gain")
either has its word computed the same way or is asserted by :meth:`Claims.check`. A comparison is
decided by :func:`compare` over several seeds, with a margin that the seeds' spread justifies, so
that the verdict does not flip between CPUs, thread counts or revisions. The chapter ends with
:meth:`Claims.report`, the list of its checks and their outcome.

On the chapter's default parameters a failed check stops the notebook (the book and nbval fail); on
other parameters it is reported as not holding there, since the prose describes the default run.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Sequence

__all__ = ["Claims", "Comparison", "compare", "mean_std"]


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    values = [float(v) for v in values]
    if not values:
        raise ValueError("mean_std of no values")
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


@dataclass(frozen=True)
class Comparison:
    """``a`` against ``b`` over seeds: the difference of means and what it may be called."""

    mean_a: float
    mean_b: float
    diff: float        # mean_a - mean_b
    margin: float      # the smallest |diff| that counts as a difference
    verdict: str       # "higher", "lower" or "tied"

    @property
    def word(self) -> str:
        """The verdict as prose: "higher", "lower" or "within the seeds' spread"."""
        return {"tied": "within the seeds' spread"}.get(self.verdict, self.verdict)


def compare(a: Sequence[float], b: Sequence[float], *, spreads: float = 2.0,
            resolution: float = 0.0) -> Comparison:
    """Decide whether ``a`` is higher or lower than ``b``, beyond the seed-to-seed spread.

    The margin is ``spreads`` standard errors of the difference of means (Welch's, from the sample
    standard deviations), and never less than ``resolution``: the smallest step the measure can
    resolve (one test image for an accuracy), since three seeds can agree by chance to the last
    digit. With one seed per side there is no spread, so only ``resolution`` decides.
    """
    mean_a, sd_a = mean_std(a)
    mean_b, sd_b = mean_std(b)
    se = math.sqrt(sd_a**2 / len(a) + sd_b**2 / len(b))
    margin = max(spreads * se, resolution)
    diff = mean_a - mean_b
    verdict = "higher" if diff > margin else "lower" if diff < -margin else "tied"
    return Comparison(mean_a, mean_b, diff, margin, verdict)


class Claims:
    """The glued values and checked claims of one chapter.

    ``strict``: raise on a failed check (the chapter's default parameters); otherwise record it.
    """

    def __init__(self, strict: bool = True) -> None:
        self.strict = strict
        self.rows: list[dict[str, str]] = []
        self.glued: dict[str, str] = {}

    def text(self, key: str, text: str) -> str:
        """Glue ``text`` under ``key`` for ``{glue:text}`key``` and return it."""
        from myst_nb import glue

        if key in self.glued and self.glued[key] != text:
            raise ValueError(f"glue key {key!r} glued twice with different text")
        self.glued[key] = text
        glue(key, text, display=False)
        return text

    def num(self, key: str, value: float, fmt: str = ".2f") -> str:
        """Glue ``value`` formatted with ``fmt`` (e.g. ".3f", "+.1f", ".0f", ".1%")."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return self.text(key, "–")
        return self.text(key, format(value, fmt))

    def check(self, claim: str, ok: bool, evidence: str = "") -> bool:
        """Record whether ``claim`` holds; on the default parameters a failure raises."""
        ok = bool(ok)
        self.rows.append({"claim": claim, "evidence": evidence,
                          "outcome": "holds" if ok else ("FAILS" if self.strict else "does not hold here")})
        if not ok and self.strict:
            raise AssertionError(f"claim does not hold: {claim} ({evidence})")
        return ok

    def report(self):
        """The chapter's checks as a Markdown table (an IPython display object)."""
        from IPython.display import Markdown

        if not self.rows:
            return Markdown("*This chapter checks no claims.*")
        lines = ["| | claim | evidence | outcome |", "|---|---|---|---|"]
        for i, row in enumerate(self.rows, 1):
            cells = [row["claim"], row["evidence"], row["outcome"]]
            lines.append(f"| {i} | " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
        passed = sum(r["outcome"] == "holds" for r in self.rows)
        scope = "default parameters" if self.strict else "these (non-default) parameters"
        return Markdown(f"**{passed} of {len(self.rows)} checks hold** on {scope}.\n\n" + "\n".join(lines))
