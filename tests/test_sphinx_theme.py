"""hpnb.sphinx_theme: the pages load the icons they name instead of the whole Font Awesome bundle."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pydata_sphinx_theme

from hpnb import sphinx_theme

BUNDLE = Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme" / "static" / "scripts" / "fontawesome.js"


def _site(tmp_path: Path) -> Path:
    scripts = tmp_path / "_static" / "scripts"
    scripts.mkdir(parents=True)
    shutil.copy(BUNDLE, scripts / "fontawesome.js")
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "page.html").write_text(
        '<head><script defer src="../_static/scripts/fontawesome.js?digest=abc"></script></head>'
        '<body><i class="fa-solid fa-bars"></i><i class="fab fa-github"></i></body>')
    return tmp_path


def test_the_theme_bundle_is_read():
    icons, css = sphinx_theme.parse_bundle(BUNDLE.read_text())
    assert len(icons) > 1500 and icons["fas bars"][:2] == [448, 512] and icons["fas navicon"] == icons["fas bars"]
    assert ".svg-inline--fa" in css


def test_pages_load_only_the_icons_they_name(tmp_path):
    site = _site(tmp_path)
    assert sphinx_theme.write_subset(site) == 1
    page = (site / "book" / "page.html").read_text()
    assert 'src="../_static/scripts/hpnb-icons.js"' in page and "fontawesome.js" not in page
    subset = (site / "_static" / "scripts" / "hpnb-icons.js").read_text()
    icons = json.loads(subset.split("const I=", 1)[1].split(",P=", 1)[0])
    assert {"fas bars", "fab github"} <= set(icons) and "fas xmark" not in icons
    assert len(subset) < 40_000 < BUNDLE.stat().st_size


def test_an_unknown_bundle_leaves_the_pages_alone(tmp_path):
    site = _site(tmp_path)
    (site / "_static" / "scripts" / "fontawesome.js").write_text("/* something else */")
    assert sphinx_theme.write_subset(site) == 0
    assert "fontawesome.js" in (site / "book" / "page.html").read_text()


def test_page_contents_list_subsections_unless_the_book_says_otherwise():
    from types import SimpleNamespace

    config = SimpleNamespace(html_theme_options={"home_page_in_toc": True})
    sphinx_theme._deeper_contents(None, config)
    assert config.html_theme_options == {"show_toc_level": 2, "home_page_in_toc": True}
    config = SimpleNamespace(html_theme_options={"show_toc_level": 1})
    sphinx_theme._deeper_contents(None, config)
    assert config.html_theme_options["show_toc_level"] == 1
