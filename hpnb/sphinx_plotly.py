"""Sphinx extension: load the heavy scripts only on the pages that use them.

The book's figures are emitted as HTML without plotly.js (:func:`hpnb.plots.show`); the 4.8 MB
library is served from ``_static`` (copied there from the ``_vendor`` static path) and added to a
page's scripts only when its body holds a ``plotly-graph-div``. Sphinx adds MathJax (1.2 MB) to a
page whose toctree children have equations, such as the book's root; it is dropped again from any
page that has no math of its own.
"""

from __future__ import annotations

from typing import Any

PLOTLY_JS = "plotly.min.js"


def _add_plotly_where_drawn(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    if "plotly-graph-div" in (context.get("body") or ""):
        app.add_js_file(PLOTLY_JS)  # on html-page-context: this page only (Sphinx >= 3.5)


def _drop_mathjax_without_math(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    from docutils import nodes

    if doctree is None or doctree.next_node(nodes.math) or doctree.next_node(nodes.math_block):
        return
    scripts = context.get("script_files")
    if scripts is not None:
        scripts[:] = [js for js in scripts if "mathjax" not in str(getattr(js, "filename", js)).lower()
                      and "MathJax" not in str(getattr(js, "attributes", {}).get("body", ""))]


def setup(app: Any) -> dict[str, Any]:
    app.connect("html-page-context", _add_plotly_where_drawn)
    app.connect("html-page-context", _drop_mathjax_without_math, priority=900)  # after sphinx.ext.mathjax (500)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
