"""No measured number is typed into a chapter's prose: it is glued from the cell that computed it.

The rule, applied to every Markdown cell of ``book/*.ipynb`` and every ``book/*.md`` page: a decimal
number, a percentage, an angle in degrees, a duration in seconds or a ``±`` outside

- a glue role (``{glue:text}`key```) or any other role (citations, references),
- math (``$...$``, ``$$...$$``: constants and parameters are written as math),
- code (inline code, fenced blocks),
- a span marked ``[...]{.paper}`` (a number quoted from a paper) or ``[...]{.param}`` (a parameter),

is a typed measurement and fails the test. Integers (counts, equation and table numbers, epochs)
are allowed: they are parameters or references, not measurements.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

BOOK = Path(__file__).resolve().parent.parent / "book"

_STRIP = [
    re.compile(r"^(```|~~~).*?^\1\s*$", re.S | re.M),          # fenced code and directives
    re.compile(r"\$\$.+?\$\$", re.S),                           # display math
    re.compile(r"(?<!\\)\$(?!\s).+?(?<![\s\\])\$", re.S),       # inline math
    re.compile(r"\{[\w:-]+\}`[^`]*`"),                          # roles: glue, cite, eq, ref, doc
    re.compile(r"`[^`]*`"),                                     # inline code
    re.compile(r"\[(?:[^\[\]]|\[[^\]]*\])*\]\{\.(?:paper|param)\}"),  # marked quotations and parameters
    re.compile(r"\]\([^)]*\)"),                                 # link targets
    re.compile(r"^\([\w-]+\)=\s*$", re.M),                      # MyST labels
    re.compile(r"^#+ \d+\.", re.M),                             # chapter numbers in headings
]
_NUMBER = re.compile(
    r"±|(?<![\w.])[-+−]?\d+\.\d+(?![\w.])"      # a decimal (not a version-like 1.2.3 or a word)
    r"|\d+(?:\.\d+)?\s?(?:%|°|percent\b)"       # a percentage or an angle
    r"|\b\d+(?:\.\d+)?\s?(?:s|seconds|min|minutes|points)\b"  # a duration or a difference in points
)


def prose_of(text: str) -> str:
    """``text`` with everything the rule allows removed."""
    for pattern in _STRIP:
        text = pattern.sub(" ", text)
    return text


def typed_numbers(text: str) -> list[str]:
    """The typed measurements in a Markdown text, each with a little context."""
    prose = prose_of(text)
    return [prose[max(0, m.start() - 30):m.end() + 10].replace("\n", " ") for m in _NUMBER.finditer(prose)]


def _pages() -> list[tuple[str, str]]:
    pages = []
    for path in sorted(BOOK.glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        for i, cell in enumerate(cells):
            if cell["cell_type"] == "markdown":
                pages.append((f"{path.name}, cell {i}", "".join(cell["source"])))
    for path in sorted(BOOK.glob("*.md")):
        pages.append((path.name, path.read_text()))
    return pages


def test_rule_catches_typed_numbers() -> None:
    assert typed_numbers("HPN reaches 0.29 here") == ["HPN reaches 0.29 here"]
    assert len(typed_numbers("gains of +1.5 points, 57–62% of triplets, 66.1° apart, 12 s")) == 4
    assert typed_numbers("ρ = {glue:text}`rho`, $\\cos 36^\\circ = 0.809$, `lr=0.1`") == []
    assert typed_numbers("the paper's [5.5 ± 0.3]{.paper} at Eq. 5, Table 3, 250 epochs") == []
    assert typed_numbers("torch 2.14.1 and ResNet-32 with d = 64") == []


@pytest.mark.parametrize("where,text", _pages(), ids=[p for p, _ in _pages()])
def test_no_typed_measurement(where: str, text: str) -> None:
    found = typed_numbers(text)
    assert not found, f"{where}: typed numbers (glue them, or mark a paper's as [..]{{.paper}}): {found}"
