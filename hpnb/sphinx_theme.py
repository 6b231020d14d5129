"""Sphinx extension: the theme's furniture, lighter and deeper.

The page contents list each page's subsections as well as its sections (``show_toc_level`` 2, set
here because Jupyter Book rebuilds ``html_theme_options`` from ``_config.yml``'s ``html`` keys and a
user value would replace all of them).

The icons come without the 1.5 MB Font Awesome bundle.
pydata-sphinx-theme loads ``_static/scripts/fontawesome.js`` on every page: all 2,000-odd Font
Awesome icons as SVG paths plus the code that swaps ``<i class="fa-solid fa-bars">`` for an inline
SVG. The book uses about twenty of them. When the HTML build finishes, this extension reads the
bundle the theme shipped, keeps the icons that the built pages and the theme's other scripts name,
writes them with Font Awesome's own style sheet and a few lines that do the same swap to
``_static/scripts/hpnb-icons.js`` (a few tens of kB), and points every page at that file instead.
If the bundle's layout is not recognised, the pages are left as they are.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

BUNDLE = "fontawesome.js"
SUBSET = "hpnb-icons.js"

# name:[width,height,[aliases],"unicode","path"]; duotone icons (a list of paths) are not used.
_ICON = re.compile(r'(?:"([^"]+)"|([A-Za-z_$][\w$]*|\d+)):\[(\d+),(\d+),\[([^\]]*)\],"[0-9a-f]*","((?:[^"\\]|\\.)*)"\]')
_DEFINE = re.compile(r'\w+\("(fa[srb])",\w+\)')  # the call that registers an icon set with its prefix
_CSS = re.compile(r"'(:host,:root\{--fa-font-solid[^']*)'")
_USED = re.compile(r"fa-([a-z0-9]+(?:-[a-z0-9]+)*)")

_SWAP = """(()=>{const I=%(icons)s,P={"fa-solid":"fas",fas:"fas","fa-regular":"far",far:"far","fa-brands":"fab",fab:"fab"};
const s=document.createElement("style");s.textContent=%(css)s;document.head.appendChild(s);
const swap=e=>{let p="fas",n=null;for(const c of e.classList){if(P[c])p=P[c];else if(c.startsWith("fa-")&&I[p+" "+c.slice(3)])n=c.slice(3);}
if(!n)for(const c of e.classList)if(c.startsWith("fa-")&&I["fas "+c.slice(3)]){p="fas";n=c.slice(3);}
if(!n)return;const[w,h,d]=I[p+" "+n],v=document.createElementNS("http://www.w3.org/2000/svg","svg");
v.setAttribute("class",e.getAttribute("class").replace(/\\bfa-(solid|regular|brands)\\b|\\bfa[srb]\\b/g,"")+" svg-inline--fa");
v.setAttribute("viewBox","0 0 "+w+" "+h);v.setAttribute("aria-hidden","true");v.setAttribute("role","img");
const q=document.createElementNS("http://www.w3.org/2000/svg","path");q.setAttribute("fill","currentColor");q.setAttribute("d",d);
v.appendChild(q);if(e.title)v.setAttribute("aria-label",e.title);e.replaceWith(v);};
const all=r=>r.querySelectorAll&&r.querySelectorAll('i[class*="fa-"],span[class*="fa-"]').forEach(swap);
const go=()=>{all(document);new MutationObserver(m=>m.forEach(x=>x.addedNodes.forEach(all))).observe(document.body,{childList:true,subtree:true});};
document.readyState==="loading"?document.addEventListener("DOMContentLoaded",go):go();})();
"""


def parse_bundle(text: str) -> tuple[dict[str, list], str] | None:
    """Icons ``{"fas bars": [w, h, path], ...}`` (aliases included) and the CSS of Font Awesome's
    bundle, or None when its layout is not the one this reads."""
    defines = [(m.start(), m.group(1)) for m in _DEFINE.finditer(text)]
    css = _CSS.search(text)
    if not defines or css is None:
        return None
    icons: dict[str, list] = {}
    for m in _ICON.finditer(text):
        prefix = next((p for at, p in defines if at > m.start()), None)
        if prefix is None:
            continue
        entry = [int(m.group(3)), int(m.group(4)), json.loads(f'"{m.group(6)}"')]
        for name in [m.group(1) or m.group(2)] + re.findall(r'"([^"]+)"', m.group(5)):
            icons.setdefault(f"{prefix} {name}", entry)
    return (icons, css.group(1)) if icons else None


def write_subset(outdir: Path) -> int:
    """Replace the bundle by the icons the built pages use; returns how many pages now load the subset."""
    scripts = outdir / "_static" / "scripts"
    bundle = scripts / BUNDLE
    if not bundle.is_file():
        return 0
    parsed = parse_bundle(bundle.read_text(encoding="utf-8"))
    if parsed is None:
        return 0
    icons, css = parsed
    pages = [p for p in outdir.rglob("*.html") if "_static" not in p.relative_to(outdir).parts]
    texts = {p: p.read_text(encoding="utf-8") for p in pages}
    named = set()
    for text in list(texts.values()) + [s.read_text(encoding="utf-8", errors="replace")
                                        for s in (outdir / "_static").rglob("*.js") if s.name not in (BUNDLE, SUBSET)]:
        named.update(_USED.findall(text))
    keep = {key: value for key, value in icons.items() if key.split(" ", 1)[1] in named}
    (scripts / SUBSET).write_text(_SWAP % {"icons": json.dumps(keep, separators=(",", ":")), "css": json.dumps(css)},
                                  encoding="utf-8")
    tag = re.compile(r'(<script[^>]+src="[^"]*_static/scripts/)' + re.escape(BUNDLE) + r'(\?[^"]*)?"')
    changed = 0
    for page, text in texts.items():
        new = tag.sub(r'\1' + SUBSET + '"', text)
        if new != text:
            page.write_text(new, encoding="utf-8")
            changed += 1
    return changed


def _finished(app: Any, exception: Exception | None) -> None:
    if exception is None and app.builder.format == "html":
        write_subset(Path(app.outdir))


def _deeper_contents(app: Any, config: Any) -> None:
    config.html_theme_options = {"show_toc_level": 2, **(config.html_theme_options or {})}


def setup(app: Any) -> dict[str, Any]:
    app.connect("config-inited", _deeper_contents)
    app.connect("build-finished", _finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
