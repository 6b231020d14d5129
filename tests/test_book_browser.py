"""Build chapter 1 as the book command does, open it in headless Chromium, and check that the 3D
figure is drawn, equations are typeset, and the page asks nothing of the network; render every page
of the book (unexecuted: equations live in the prose) and check that each displayed equation fits
its column, draws the theme's icons, and weighs under 3 MB."""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from hpnb import book

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHAPTER = "01_prototype_geometry"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--virtual-time-budget=20000", "--window-size=1280,2000",
]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium); .ci/run installs it"),
]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    out = tmp_path_factory.mktemp("book")
    html = book.build(out, only=[CHAPTER])
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(html)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield out, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def _chromium(out: Path, url: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={out / 'profile'}", *extra, url],
        capture_output=True, text=True, timeout=180,
    )


def test_chapter_draws_the_sphere_typesets_math_and_stays_offline(served):
    out, base = served
    url = f"{base}/book/{CHAPTER}.html"
    netlog = out / "net.json"
    dom = _chromium(out, url, "--dump-dom", f"--log-net-log={netlog}").stdout

    # plotly replaced its placeholder div with a WebGL scene, and a slider and menu were drawn.
    assert 'class="js-plotly-plot"' in dom or "js-plotly-plot" in dom
    assert "gl-container" in dom and "<canvas" in dom
    assert "slider-container" in dom and "updatemenu-container" in dom
    # MathJax (served locally) turned the TeX into rendered math.
    assert dom.count("mjx-container") > 20

    # Every request whose top frame is our page went to our local server. Chromium's own
    # background traffic (update checks, sign-in) has no page as its top frame and is ignored.
    events = json.loads(netlog.read_text())["events"]
    page = [e["params"] for e in events
            if "127.0.0.1" in str(e.get("params", {}).get("network_isolation_key", ""))
            and "url" in e.get("params", {})]
    urls = {p["url"] for p in page}
    assert any("/_static/plotly.min.js" in u for u in urls), urls
    assert any("mathjax" in u for u in urls), urls
    foreign = sorted(u for u in urls if not u.startswith(base))
    assert foreign == [], foreign


def test_screenshot_of_the_chapter(served):
    out, base = served
    shot = out / "chapter.png"
    _chromium(out, f"{base}/book/{CHAPTER}.html", f"--screenshot={shot}")
    assert shot.stat().st_size > 50_000  # a blank page is a few kB


def _page_weight(html_root: Path, page: Path) -> tuple[int, bool]:
    """Bytes a cold load of ``page`` transfers from the book (the page and every local script, style
    sheet and image it references), and whether it loads plotly.js."""
    import re
    from urllib.parse import urljoin, urlparse

    text = page.read_text()
    refs = set(re.findall(r'<(?:script|img)[^>]+src="([^"]+)"', text)) | set(re.findall(r'<link[^>]+href="([^"]+\.css[^"]*)"', text))
    total, plotly = page.stat().st_size, False
    for ref in refs:
        path = urlparse(urljoin(page.relative_to(html_root).as_posix(), ref)).path
        target = html_root / path
        if target.is_file():
            total += target.stat().st_size
            plotly |= target.name == "plotly.min.js"
    return total, plotly


def test_plotly_is_loaded_only_where_a_figure_needs_it(served):
    out, _ = served
    html_root = out / "_build" / "html"
    pages = [p for p in html_root.rglob("*.html") if "_static" not in p.parts and p.name not in ("search.html", "genindex.html")]
    assert len(pages) >= 3
    for page in pages:
        weight, plotly = _page_weight(html_root, page)
        draws = "plotly-graph-div" in page.read_text()
        assert plotly == draws, (page.name, plotly, draws)
        if not draws:
            assert weight < 3_000_000, (page.name, weight)


# Appended to each page: once MathJax has typeset, list every display equation's rendered width
# against the width of its container, and count what MathJax could not typeset, in a <pre> that
# --dump-dom returns.
_MEASURE = """<script>
window.addEventListener('load', () => {
  const report = () => {
    const rows = [...document.querySelectorAll('div.math mjx-container')].map(c => ({
      id: c.closest('div.math').id, needs: c.scrollWidth, has: c.clientWidth}));
    const pre = document.createElement('pre');
    pre.id = 'equation-widths';
    pre.textContent = JSON.stringify({rows: rows, errors: document.querySelectorAll('mjx-merror').length,
      icons: document.querySelectorAll('svg.svg-inline--fa').length,
      unswapped: document.querySelectorAll('i[class*="fa-"]').length});
    document.body.appendChild(pre);
  };
  (window.MathJax && MathJax.startup ? MathJax.startup.promise : Promise.resolve()).then(report);
});
</script>"""


@pytest.fixture(scope="module")
def unexecuted(tmp_path_factory):
    """The whole book rendered from the notebooks as committed (no outputs, so no -W: glue has no values)."""
    out = tmp_path_factory.mktemp("layout")
    src = out / "_build" / "book-src"
    for notebook in book.stage(src):
        shutil.copy(notebook, src / notebook.relative_to(book.ROOT))
    (src / f"{book.BUILD_PAGE}.md").write_text("# How this book was built\n")
    jb = Path(sys.executable).parent / "jupyter-book"
    subprocess.run([str(jb), "build", str(src), "--path-output", str(out)], check=True, capture_output=True, timeout=600)
    return out, out / "_build" / "html"


def test_every_page_is_light_without_a_3d_figure(unexecuted):
    # Unexecuted pages draw no plotly figure, so none loads plotly.js, and each must stay under 3 MB
    # (the theme's 1.5 MB icon bundle is replaced by the icons the book names: hpnb.sphinx_theme).
    _, root = unexecuted
    pages = [p for p in root.rglob("*.html") if "_static" not in p.relative_to(root).parts]
    assert len(pages) >= 10
    weights = {p.relative_to(root).as_posix(): _page_weight(root, p) for p in pages}
    assert not any(plotly for _, plotly in weights.values())
    heavy = {name: w for name, (w, _) in weights.items() if w >= 3_000_000}
    print("page weights (bytes):", json.dumps({k: w for k, (w, _) in sorted(weights.items())}))
    assert heavy == {}, heavy


def test_every_displayed_equation_fits_its_column(unexecuted):
    import html as html_lib
    import re

    out, root = unexecuted
    pages = sorted((root / "book").glob("*.html"))
    assert len(pages) >= 10
    measured, too_wide = 0, []
    for page in pages:
        page.write_text(page.read_text().replace("</body>", _MEASURE + "</body>"))
        dom = subprocess.run([CHROMIUM, *(f for f in FLAGS if not f.startswith("--window-size")), "--window-size=1400,2000", f"--user-data-dir={out / 'profile'}",
                              "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=180).stdout
        found = re.search(r'<pre id="equation-widths"[^>]*>(.*?)</pre>', dom, re.S)
        assert found, f"{page.name}: the measuring script did not report (MathJax did not finish?)"
        report = json.loads(html_lib.unescape(found.group(1)))
        assert report["errors"] == 0, f"{page.name}: MathJax could not typeset {report['errors']} expression(s)"
        assert report["icons"] >= 5 and report["unswapped"] == 0, f"{page.name}: theme icons not drawn {report}"
        rows = report["rows"]
        measured += len(rows)
        too_wide += [(page.name, r["id"], r["needs"], r["has"]) for r in rows if r["needs"] > r["has"] + 1]
    assert measured > 30, measured
    assert too_wide == [], too_wide
