"""Sphinx extension: an equation that is a paper's equation is numbered as the paper numbers it.

Sphinx numbers the book's displayed equations in one sequence, so HPN's Eq. 1 would show as "(7)"
while the prose calls it Eq. 1. A display equation whose first line is a TeX comment naming the
paper's equation, ``% paper: HPN Eq. 1``, keeps its label for ``{eq}`` references, and shows
"(HPN Eq. 1)" beside it and in every reference to it. MathJax drops the comment.
"""

from __future__ import annotations

import re
from typing import Any

from docutils import nodes

MARK = re.compile(r"\A\s*%\s*paper:\s*(?P<tag>[^\n]+?)\s*$", re.M)
_NUMBER_TEXT = re.compile(r"\(\d+(?:\.\d+)*\)")


def _tags(env: Any) -> dict[str, tuple[str, str]]:
    """Anchor id of each marked equation -> (its document, the paper's number), over all documents."""
    if not hasattr(env, "hpnb_equation_tags"):
        env.hpnb_equation_tags = {}
    return env.hpnb_equation_tags


def _collect(app: Any, doctree: nodes.document) -> None:
    tags = _tags(app.env)
    for node in doctree.findall(nodes.math_block):
        found = MARK.search(node.astext())
        if found and node.get("ids"):
            tags[node["ids"][0]] = (app.env.docname, found.group("tag"))


def _purge(app: Any, env: Any, docname: str) -> None:
    tags = _tags(env)
    for key in [k for k, (doc, _) in tags.items() if doc == docname]:
        del tags[key]


def _merge(app: Any, env: Any, docnames: Any, other: Any) -> None:
    _tags(env).update(_tags(other))


def _relabel_references(app: Any, doctree: nodes.document, docname: str) -> None:
    """An ``{eq}`` reference to a marked equation reads "(HPN Eq. 1)" instead of the running number."""
    tags = _tags(app.env)
    for ref in doctree.findall(nodes.reference):
        anchor = ref.get("refid") or ref.get("refuri", "").partition("#")[2]
        if anchor in tags and _NUMBER_TEXT.fullmatch(ref.astext()):
            ref.children = [nodes.Text(f"({tags[anchor][1]})")]


def _paper_numbers(original: Any) -> Any:
    def number(writer: Any, node: nodes.math_block) -> str:
        tag = _tags(writer.builder.env).get(node["ids"][0]) if node.get("ids") else None
        return tag[1] if tag else original(writer, node)

    number.hpnb_wrapped = True
    return number


def setup(app: Any) -> dict[str, Any]:
    import sphinx.ext.mathjax as mathjax

    # The MathJax renderer looks this function up at call time; wrapping it is the one hook Sphinx
    # offers for the number printed beside a display equation.
    if not getattr(mathjax.get_node_equation_number, "hpnb_wrapped", False):
        mathjax.get_node_equation_number = _paper_numbers(mathjax.get_node_equation_number)
    app.connect("doctree-read", _collect)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("doctree-resolved", _relabel_references)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}
