"""A display equation marked ``% paper: ...`` shows the paper's number beside it and in references."""

from docutils import nodes

from hpnb import sphinx_equations


class _Env:
    docname = "book/02_objectives"


class _App:
    env = _Env()


def _doctree(*blocks: tuple[str, str]) -> nodes.document:
    from docutils.frontend import get_default_settings
    from docutils.utils import new_document

    doc = new_document("test", get_default_settings())
    for anchor, tex in blocks:
        doc += nodes.math_block(tex, tex, ids=[anchor])
    return doc


def test_marked_equations_are_collected_and_references_relabelled():
    app = _App()
    sphinx_equations._collect(app, _doctree(("equation-ch2-hpn", "% paper: HPN Eq. 1\n\\mathcal{L} = 1"),
                                            ("equation-ch2-x", "x = 1 % paper: not at the start")))
    assert sphinx_equations._tags(app.env) == {"equation-ch2-hpn": ("book/02_objectives", "HPN Eq. 1")}

    doc = _doctree()
    para = nodes.paragraph()
    para += nodes.reference("", "(7)", refuri="02_objectives.html#equation-ch2-hpn")
    para += nodes.reference("", "the loss", refuri="02_objectives.html#equation-ch2-hpn")  # a titled link stays
    para += nodes.reference("", "(8)", refid="equation-ch2-x")
    doc += para
    sphinx_equations._relabel_references(app, doc, "book/03_mixed_prototypes")
    assert [r.astext() for r in doc.findall(nodes.reference)] == ["(HPN Eq. 1)", "the loss", "(8)"]

    sphinx_equations._purge(app, app.env, "book/02_objectives")
    assert sphinx_equations._tags(app.env) == {}


def test_the_number_beside_a_marked_equation_is_the_papers():
    class Builder:
        env = _Env()

    class Writer:
        builder = Builder()

    sphinx_equations._tags(Writer.builder.env)["equation-a"] = ("doc", "DPNP Eq. 10")
    number = sphinx_equations._paper_numbers(lambda writer, node: "7")
    assert number(Writer(), nodes.math_block("", "", ids=["equation-a"])) == "DPNP Eq. 10"
    assert number(Writer(), nodes.math_block("", "", ids=["equation-b"])) == "7"
