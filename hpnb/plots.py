"""Figures for the book: interactive plotly spheres that work offline, and small matplotlib helpers.

Plotly figures are emitted as HTML that expects ``Plotly`` to be loaded once by the page (the book
adds a local copy of plotly.min.js to every page, so nothing is fetched from the network). Outside
the book build they also carry plotly's own JSON bundle, which JupyterLab draws.
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
import torch


if TYPE_CHECKING:
    import matplotlib.figure

BOOK_BUILD_ENV = "HPNB_BOOK_BUILD"

# The book's text column is about 770 px wide and a figure is shrunk to it, so a figure W inches wide
# shows a font of F points at F * 770 / (72 W) px. At 7.5 in an 8-point label is 11 px on screen.
COLUMN_INCHES = 7.5


def figure(width: float, height: float) -> "matplotlib.figure.Figure":
    """A constrained-layout matplotlib Figure of ``width`` x ``height`` inches, narrowed to at most
    :data:`COLUMN_INCHES` so that its text stays legible in the book's column.

    The height shrinks by the square root of the width's factor: panels get narrower but keep room
    for their titles and tick labels, whose size in points does not change.
    """
    from matplotlib.figure import Figure

    scale = min(1.0, COLUMN_INCHES / width)
    return Figure(figsize=(width * scale, height * math.sqrt(scale)), layout="constrained")


def _suptitle(fig: "matplotlib.figure.Figure", title: str) -> None:
    """A figure title wrapped to the figure's width, so that a long one is not cut at the edges."""
    import textwrap

    chars = max(20, int(fig.get_size_inches()[0] * 72 / (0.55 * 12)))  # 12-point text, ~0.55 em a character
    fig.suptitle(textwrap.fill(title, chars))


def show(fig: go.Figure) -> None:
    """Display ``fig`` in a notebook so that both the offline book and JupyterLab can draw it."""
    from IPython.display import display

    bundle = {"text/html": fig.to_html(full_html=False, include_plotlyjs=False, config={"responsive": True})}
    # The book renders every mime type it is given and warns on plotly's (warnings are errors).
    if os.environ.get(BOOK_BUILD_ENV) != "1":
        bundle["application/vnd.plotly.v1+json"] = fig.to_plotly_json()
    display(bundle, raw=True)


def _sphere_surface(resolution: int = 40) -> go.Surface:
    u = np.linspace(0, 2 * math.pi, resolution)
    v = np.linspace(0, math.pi, resolution)
    x = np.outer(np.cos(u), np.sin(v))
    y = np.outer(np.sin(u), np.sin(v))
    z = np.outer(np.ones_like(u), np.cos(v))
    return go.Surface(
        x=x, y=y, z=z, opacity=0.15, showscale=False, hoverinfo="skip",
        colorscale=[[0, "#9aa7b8"], [1, "#9aa7b8"]], name="S²",
    )


def _nearest_edges(P: np.ndarray) -> tuple[list[float | None], ...]:
    """Line segments from each prototype to its nearest neighbour (None breaks the polyline)."""
    cos = P @ P.T
    np.fill_diagonal(cos, -np.inf)
    xs: list[float | None] = []
    ys: list[float | None] = []
    zs: list[float | None] = []
    for i, j in enumerate(cos.argmax(axis=1)):
        for point in (P[i], P[j]):
            xs.append(float(point[0]))
            ys.append(float(point[1]))
            zs.append(float(point[2]))
        xs.append(None)
        ys.append(None)
        zs.append(None)
    return xs, ys, zs


def prototype_sphere(
    arrangements: Mapping[str, Mapping[int, torch.Tensor]],
    title: str = "Prototypes on S²",
) -> go.Figure:
    """Interactive 3D sphere: a dropdown picks the method, a slider the number of prototypes.

    ``arrangements[method][c]`` is a (c, 3) tensor. Each (method, c) is drawn as markers plus the
    segment from every prototype to its nearest neighbour, whose length is what placement maximises.
    The dropdown swaps in the slider of the chosen method, so the two controls never disagree.
    """
    fig = go.Figure([_sphere_surface()])
    index: dict[tuple[str, int], int] = {}
    for method, by_count in arrangements.items():
        for c, P in sorted(by_count.items()):
            pts = P.detach().cpu().double().numpy()
            if pts.shape[1] != 3:
                raise ValueError(f"prototype_sphere draws d = 3 only, got {pts.shape[1]} for {method}")
            cos = pts @ pts.T
            np.fill_diagonal(cos, -np.inf)
            max_cos = float(cos.max())
            xs, ys, zs = _nearest_edges(pts)
            index[(method, c)] = len(fig.data)
            fig.add_trace(go.Scatter3d(
                x=pts[:, 0], y=pts[:, 1], z=pts[:, 2], mode="markers", visible=False,
                marker={"size": 6, "color": list(range(c)), "colorscale": "Turbo"},
                name=f"{method}, c = {c}", hovertemplate="prototype %{marker.color}<extra></extra>",
                meta={"max_cos": max_cos},
            ))
            fig.add_trace(go.Scatter3d(
                x=xs, y=ys, z=zs, mode="lines", visible=False, hoverinfo="skip",
                line={"color": "#333", "width": 2}, name="nearest neighbour",
            ))

    n = len(fig.data)

    def visibility(method: str, c: int) -> list[bool]:
        vis = [False] * n
        vis[0] = True
        vis[index[(method, c)]] = vis[index[(method, c)] + 1] = True
        return vis

    def label(method: str, c: int) -> str:
        max_cos = fig.data[index[(method, c)]].meta["max_cos"]
        return f"{title}: {method}, c = {c}, max cos = {max_cos:.4f}"

    def slider(method: str, active: int) -> dict:
        counts = sorted(arrangements[method])
        return {
            "active": active,
            "currentvalue": {"prefix": "prototypes c = "},
            "pad": {"t": 10},
            "steps": [
                {"label": str(c), "method": "update",
                 "args": [{"visible": visibility(method, c)}, {"title.text": label(method, c)}]}
                for c in counts
            ],
        }

    methods = list(arrangements)
    first = methods[0]
    counts = sorted(arrangements[first])
    start = len(counts) // 2
    for i, v in enumerate(visibility(first, counts[start])):
        fig.data[i].visible = v
    buttons = []
    for method in methods:
        mc = sorted(arrangements[method])
        mid = len(mc) // 2
        buttons.append({
            "label": method, "method": "update",
            "args": [{"visible": visibility(method, mc[mid])},
                     {"sliders": [slider(method, mid)], "title.text": label(method, mc[mid])}],
        })
    axis = {"range": [-1.1, 1.1], "showticklabels": False, "title": ""}
    fig.update_layout(
        title={"text": label(first, counts[start])},
        updatemenus=[{"buttons": buttons, "x": 0.97, "y": 1.0, "xanchor": "right", "yanchor": "top",
                      "direction": "down"}],
        sliders=[slider(first, start)],
        scene={"xaxis": axis, "yaxis": axis, "zaxis": axis, "aspectmode": "cube"},
        margin={"l": 0, "r": 0, "t": 60, "b": 0},
        height=620,
        showlegend=False,
    )
    return fig


def markdown_table(rows: Sequence[Mapping], columns: Mapping[str, str], digits: int = 4) -> str:
    """A Markdown table of ``rows`` with ``columns`` = {key: header}; floats to ``digits`` places."""

    def cell(value: object) -> str:
        if value is None:
            return "–"
        if isinstance(value, float):
            return f"{value:.{digits}f}"
        return str(value)

    lines = ["| " + " | ".join(columns.values()) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row.get(k)) for k in columns) + " |" for row in rows]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Chapters 2 and 3: gradient paths and mixed prototypes on S², image mixes, learning curves.

from typing import Callable  # noqa: E402  (kept with the helpers that use it)

PATH_COLOURS = ("#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")


def gradient_path(
    loss: Callable[[torch.Tensor], torch.Tensor], z0: torch.Tensor, steps: int, lr: float
) -> torch.Tensor:
    """Plain gradient descent on a single embedding: ``z <- z - lr * dloss/dz``, ``steps`` times.

    ``loss`` maps a (1, d) batch to a scalar (any objective of :mod:`hpnb.losses` with its targets
    bound); ``z0`` is a (d,) start. Returns the iterates (steps + 1, d), ``z0`` first, unnormalised,
    so that a loss which changes the length of ``z`` shows it.
    """
    if steps < 0 or not lr > 0:
        raise ValueError(f"need steps >= 0 and lr > 0, got steps={steps}, lr={lr}")
    z = z0.detach().clone().reshape(-1)
    out = [z.clone()]
    for _ in range(steps):
        z = z.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(loss(z.unsqueeze(0)), z)
        z = z.detach() - lr * grad
        out.append(z)
    return torch.stack(out)


def trajectories_on_sphere(
    prototypes: torch.Tensor,
    paths: Mapping[str, torch.Tensor],
    *,
    target: int | None = None,
    hover: Mapping[str, Sequence[str]] | None = None,
    markers: bool = False,
    title: str = "",
) -> go.Figure:
    """Interactive S²: the prototypes (rows of a (c, 3) tensor) and one curve per entry of ``paths``.

    Every path is an (n, 3) tensor of points; each point is drawn at its direction z/|z| (on the
    sphere) and its hover text gives the step and |z| (or ``hover[name][k]`` when given). The
    legend toggles paths; ``target`` rings that prototype; ``markers`` draws every point, not only
    the two ends.
    """
    P = prototypes.detach().cpu().double().numpy()
    if P.ndim != 2 or P.shape[1] != 3:
        raise ValueError(f"trajectories_on_sphere draws d = 3 only, got prototypes of shape {P.shape}")
    fig = go.Figure([_sphere_surface()])
    fig.add_trace(go.Scatter3d(
        x=P[:, 0], y=P[:, 1], z=P[:, 2], mode="markers+text", name="prototypes",
        text=[f"p{k}" for k in range(len(P))], textposition="top center",
        marker={"size": 6, "color": "#222"}, hovertemplate="prototype %{text}<extra></extra>",
    ))
    if target is not None:
        fig.add_trace(go.Scatter3d(
            x=[P[target, 0]], y=[P[target, 1]], z=[P[target, 2]], mode="markers", name=f"target p{target}",
            marker={"size": 12, "color": "rgba(0,0,0,0)", "line": {"color": "#000", "width": 3}},
            hoverinfo="skip",
        ))
    for i, (name, path) in enumerate(paths.items()):
        pts = path.detach().cpu().double().reshape(-1, 3).numpy()
        norms = np.linalg.norm(pts, axis=1)
        unit = pts / np.maximum(norms, 1e-12)[:, None]
        texts = list(hover[name]) if hover is not None and name in hover else [
            f"step {k}, |z| = {r:.3f}" for k, r in enumerate(norms)]
        colour = PATH_COLOURS[i % len(PATH_COLOURS)]
        fig.add_trace(go.Scatter3d(
            x=unit[:, 0], y=unit[:, 1], z=unit[:, 2], mode="lines+markers" if markers else "lines",
            name=name, legendgroup=name, text=texts, hovertemplate=f"{name}: %{{text}}<extra></extra>",
            line={"color": colour, "width": 5}, marker={"size": 3, "color": colour},
        ))
        if not markers:
            ends = unit[[0, -1]]
            fig.add_trace(go.Scatter3d(
                x=ends[:, 0], y=ends[:, 1], z=ends[:, 2], mode="markers", legendgroup=name, showlegend=False,
                text=[texts[0], texts[-1]], hovertemplate=f"{name}: %{{text}}<extra></extra>",
                marker={"size": [4, 7], "color": colour, "symbol": ["circle-open", "diamond"]},
            ))
    axis = {"range": [-1.15, 1.15], "showticklabels": False, "title": ""}
    fig.update_layout(
        title={"text": title},
        scene={"xaxis": axis, "yaxis": axis, "zaxis": axis, "aspectmode": "cube"},
        margin={"l": 0, "r": 0, "t": 50, "b": 0}, height=600,
        legend={"x": 0.0, "y": 1.0, "bgcolor": "rgba(255,255,255,0.7)"},
    )
    return fig


def _label_text(label: torch.Tensor, classes: Sequence[str]) -> str:
    if label.ndim == 0:
        return str(classes[int(label)])
    weights, idx = label.float().topk(min(2, label.numel()))
    parts = [f"{float(w):.2f}·{classes[int(k)]}" for w, k in zip(weights, idx) if float(w) > 0.005]
    return "\n+ ".join(parts)  # two lines: long class names (CIFAR-10) would run into the neighbours


def image_mix_grid(
    rows: Mapping[str, tuple[torch.Tensor, torch.Tensor]],
    classes: Sequence[str],
    max_images: int = 8,
) -> "matplotlib.figure.Figure":
    """A matplotlib figure with one row of images per entry of ``rows``.

    ``rows[name] = (images, labels)``: uint8 or float images (N, C, H, W) with C = 1 (grey) or 3, and
    class indices (N,) or soft labels (N, num_classes); each image is titled with its class or its
    two largest label weights ("0.62·3 + 0.38·7"). Returns a ``matplotlib.figure.Figure`` (not
    registered with pyplot; ``display`` it).
    """

    n = min(max_images, min(len(images) for images, _ in rows.values()))
    fig = figure(1.45 * n + 1.2, 2.0 * len(rows))
    axes = np.atleast_2d(fig.subplots(len(rows), n, squeeze=False))
    for r, (name, (images, labels)) in enumerate(rows.items()):
        for k in range(n):
            ax = axes[r, k]
            img = images[k].detach().cpu().float()
            if not images.is_floating_point():
                img = img / 255.0
            img = img.clamp(0, 1).permute(1, 2, 0).numpy()
            if img.shape[2] == 1:
                ax.imshow(img[:, :, 0], cmap="gray_r" if images.shape[-1] <= 16 else "gray", vmin=0, vmax=1,
                          interpolation="nearest")
            else:
                ax.imshow(img, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(_label_text(labels[k], classes), fontsize=8)
            if k == 0:
                ax.set_ylabel(name, fontsize=9)
    return fig


def history_curves(
    histories: Mapping[str, Sequence[Mapping]],
    keys: Mapping[str, str],
    title: str = "",
) -> "matplotlib.figure.Figure":
    """Learning curves: one panel per ``keys`` entry ({history key: axis label}), one line per run.

    ``histories[name]`` is a run's per-epoch rows (``Run.results["history"]``), each with ``epoch``.
    Returns a ``matplotlib.figure.Figure`` (not registered with pyplot; ``display`` it).
    """

    fig = figure(5.2 * len(keys), 3.6)
    axes = np.atleast_1d(fig.subplots(1, len(keys), squeeze=False)[0])
    for ax, (key, label) in zip(axes, keys.items()):
        for i, (name, rows) in enumerate(histories.items()):
            ax.plot([row["epoch"] for row in rows], [row[key] for row in rows], label=name,
                    color=PATH_COLOURS[i % len(PATH_COLOURS)], linewidth=1.6, marker="o", markersize=2.5)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    if title:
        _suptitle(fig, title)
    return fig


# ---------------------------------------------------------------------------------------------
# Chapters 4 and 5: assignment cost matrices, feature spaces on S², angle histograms.

CLASS_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                 "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


def assignment_heatmap(
    cost: torch.Tensor,
    assignment: torch.Tensor | Sequence[int],
    *,
    truth: torch.Tensor | Sequence[int] | None = None,
    row_label: str = "class j",
    col_label: str = "prototype k",
    title: str = "",
) -> "matplotlib.figure.Figure":
    """Heat map of a (C, K) assignment cost matrix; the chosen cell of each row is outlined.

    ``assignment[j]`` is the column given to row j (e.g. ``DynamicAssignment.perm``); ``truth``, if
    given, marks the cells of a reference assignment with a dot, so a recovered permutation shows as
    dots inside the outlined cells. Returns a ``matplotlib.figure.Figure`` (``display`` it).
    """
    from matplotlib.patches import Rectangle

    M = cost.detach().cpu().double().numpy()
    chosen = [int(k) for k in assignment]
    if M.ndim != 2 or len(chosen) != M.shape[0]:
        raise ValueError(f"need a (C, K) cost and C assignments, got {M.shape} and {len(chosen)}")
    fig = figure(0.55 * M.shape[1] + 2.2, 0.5 * M.shape[0] + 1.2)
    ax = fig.subplots()
    im = ax.imshow(M, cmap="viridis_r", aspect="equal")
    fig.colorbar(im, ax=ax, label="cost  −z̄ⱼᵀwₖ", shrink=0.85)
    for j, k in enumerate(chosen):
        ax.add_patch(Rectangle((k - 0.5, j - 0.5), 1, 1, fill=False, edgecolor="#d62728", linewidth=2.5))
    if truth is not None:
        for j, k in enumerate(truth):
            ax.plot(int(k), j, "o", color="white", markersize=5, markeredgecolor="black")
    ax.set_xticks(range(M.shape[1]))
    ax.set_yticks(range(M.shape[0]))
    ax.set_xlabel(col_label)
    ax.set_ylabel(row_label)
    total = float(sum(M[j, k] for j, k in enumerate(chosen)))
    ax.set_title(title or f"assignment cost {total:.3f} (outlined: chosen)", fontsize=10)
    return fig


def _unit_rows(x: torch.Tensor) -> np.ndarray:
    a = x.detach().cpu().double().numpy()
    return a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)


def _sphere_menu_layout(fig: go.Figure, buttons: list[dict], title: str) -> go.Figure:
    """A unit-sphere scene (cube aspect, no ticks) with a dropdown of ``buttons`` at the top right."""
    axis = {"range": [-1.15, 1.15], "showticklabels": False, "title": ""}
    fig.update_layout(
        title={"text": title},
        updatemenus=[{"buttons": buttons, "x": 0.97, "y": 1.0, "xanchor": "right", "yanchor": "top",
                      "direction": "down"}],
        scene={"xaxis": axis, "yaxis": axis, "zaxis": axis, "aspectmode": "cube"},
        margin={"l": 0, "r": 0, "t": 60, "b": 0}, height=620, showlegend=False,
    )
    return fig


def feature_spheres(
    embeddings: Mapping[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]],
    *,
    classes: Sequence[str] | None = None,
    max_points: int = 2000,
    seed: int = 0,
    title: str = "Test embeddings on S²",
) -> go.Figure:
    """Interactive S² of 3-d feature spaces, one per method, picked from a dropdown.

    ``embeddings[method] = (z, y, directions)``: raw embeddings (N, 3), labels (N,) and class
    directions (C, 3) (fixed prototypes, DPNP centres or softmax weights). Each z is drawn at z/|z|,
    coloured by class; each class direction as a large diamond, same colour, labelled with its class.
    At most ``max_points`` points are drawn, the same random subset (``seed``) for every method.
    """
    methods = list(embeddings)
    if not methods:
        raise ValueError("feature_spheres needs at least one method")
    fig = go.Figure([_sphere_surface()])
    groups: list[tuple[int, int]] = []
    rng = np.random.default_rng(seed)
    keep: np.ndarray | None = None
    for i, method in enumerate(methods):
        z, y, D = embeddings[method]
        if z.shape[1] != 3 or D.shape[1] != 3:
            raise ValueError(f"feature_spheres draws d = 3 only, got {z.shape[1]} for {method}")
        if keep is None or len(keep) > len(z):
            keep = np.sort(rng.permutation(len(z))[:max_points]) if len(z) > max_points else np.arange(len(z))
        pts = _unit_rows(z)[keep]
        labels = y.detach().cpu().long().numpy()[keep]
        dirs = _unit_rows(D) * 1.04
        names = list(classes) if classes is not None else [str(k) for k in range(len(dirs))]
        colours = [CLASS_COLOURS[int(c) % len(CLASS_COLOURS)] for c in labels]
        start = len(fig.data)
        fig.add_trace(go.Scatter3d(
            x=pts[:, 0], y=pts[:, 1], z=pts[:, 2], mode="markers", visible=i == 0,
            marker={"size": 2.5, "color": colours, "opacity": 0.75}, name=f"{method}: test embeddings",
            text=[names[int(c)] for c in labels], hovertemplate="class %{text}<extra></extra>",
        ))
        fig.add_trace(go.Scatter3d(
            x=dirs[:, 0], y=dirs[:, 1], z=dirs[:, 2], mode="markers+text", visible=i == 0,
            text=names, textposition="top center", name=f"{method}: class directions",
            marker={"size": 8, "symbol": "diamond", "color": [CLASS_COLOURS[k % len(CLASS_COLOURS)] for k in range(len(dirs))],
                    "line": {"color": "#000", "width": 2}},
            hovertemplate="direction of class %{text}<extra></extra>",
        ))
        groups.append((start, len(fig.data)))
    n = len(fig.data)

    def visible(i: int) -> list[bool]:
        vis = [False] * n
        vis[0] = True
        for t in range(*groups[i]):
            vis[t] = True
        return vis

    buttons = [{"label": m, "method": "update",
                "args": [{"visible": visible(i)}, {"title.text": f"{title}: {m}"}]} for i, m in enumerate(methods)]
    return _sphere_menu_layout(fig, buttons, f"{title}: {methods[0]}")


def angle_histograms(
    embeddings: Mapping[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]],
    *,
    bins: int = 36,
    title: str = "",
) -> "matplotlib.figure.Figure":
    """DPNP Figs. 3 and 4 for several methods: a column per method, two rows of histograms.

    Top: the inter-class angles φ_jk between class directions (DPNP Eq. 11, every pair once), with
    the smallest (MinSep) marked. Bottom: the intra-class angles ψ_i of each sample to its own class
    direction (Eq. 12), with their mean marked. ``embeddings[method] = (z, y, directions)`` as in
    :func:`feature_spheres`, any d. Returns a ``matplotlib.figure.Figure`` (``display`` it).
    """

    from hpnb.metrics import inter_class_angles, intra_class_angles

    methods = list(embeddings)
    fig = figure(2.6 * len(methods) + 0.8, 5.4)
    axes = fig.subplots(2, len(methods), squeeze=False, sharex="row")
    edges = np.linspace(0.0, 180.0, bins + 1)
    for c, method in enumerate(methods):
        z, y, D = embeddings[method]
        colour = PATH_COLOURS[c % len(PATH_COLOURS)]
        inter = inter_class_angles(D).numpy()
        intra = intra_class_angles(z, D, y).numpy()
        top, bottom = axes[0, c], axes[1, c]
        top.hist(inter, bins=edges, color=colour, alpha=0.8)
        top.axvline(inter.min(), color="#000", linestyle="--", linewidth=1)
        top.set_title(f"{method}\nMinSep {inter.min():.1f}°", fontsize=9)
        bottom.hist(intra, bins=edges, color=colour, alpha=0.8)
        bottom.axvline(intra.mean(), color="#000", linestyle="--", linewidth=1)
        bottom.set_title(f"mean ψ {intra.mean():.1f}°", fontsize=9)
        for ax in (top, bottom):
            ax.grid(alpha=0.3)
        bottom.set_xlabel("angle (degrees)")
    axes[0, 0].set_ylabel("class pairs (φ_jk)")
    axes[1, 0].set_ylabel("test samples (ψ_i)")
    if title:
        _suptitle(fig, title)
    return fig


# ---------------------------------------------------------------------------------------------
# Chapter 9: training curves of reproduced tables, mean over seeds.

def seed_curves(
    panels: Mapping[str, Mapping[str, Sequence[Sequence[Mapping]]]],
    keys: Mapping[str, str],
    title: str = "",
) -> "matplotlib.figure.Figure":
    """HMPN Figs. 1–6 style: one row of panels per entry of ``panels``, one column per ``keys`` entry.

    ``panels[row_title][line_name]`` is a list of runs' histories (one per seed, each a list of
    per-epoch rows with ``epoch``); each line is the mean over the seeds, with a band from the
    smallest to the largest seed where there are several. A line keeps its colour in every panel;
    keys whose values span more than two decades (losses of different objectives) get a log axis.
    Returns a ``matplotlib.figure.Figure`` (``display`` it).
    """
    from matplotlib.ticker import MaxNLocator

    if not panels:
        raise ValueError("seed_curves needs at least one panel")
    names = list(dict.fromkeys(name for lines in panels.values() for name in lines))
    colour = {name: PATH_COLOURS[i % len(PATH_COLOURS)] for i, name in enumerate(names)}
    fig = figure(5.0 * len(keys), 3.3 * len(panels) + 0.4)
    axes = fig.subplots(len(panels), len(keys), squeeze=False)
    for r, (panel, lines) in enumerate(panels.items()):
        for c, (key, label) in enumerate(keys.items()):
            ax = axes[r, c]
            positive = []
            for name, runs in lines.items():
                epochs = sorted({row["epoch"] for run in runs for row in run if key in row})
                if not epochs:
                    continue
                per_epoch = [[row[key] for run in runs for row in run if row["epoch"] == e and key in row] for e in epochs]
                mean = np.array([np.mean(v) for v in per_epoch])
                ax.plot(epochs, mean, color=colour[name], linewidth=1.6, marker="o", markersize=2.5,
                        label=f"{name} (n = {len(runs)})" if len(runs) > 1 else name)
                if len(runs) > 1:
                    ax.fill_between(epochs, [min(v) for v in per_epoch], [max(v) for v in per_epoch],
                                    color=colour[name], alpha=0.2, linewidth=0)
                positive += [float(x) for x in mean if x > 0]
            if positive and max(positive) / min(positive) > 100:
                ax.set_yscale("log")
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_ylabel(label)
            ax.set_title(panel, fontsize=9)
            ax.grid(alpha=0.3)
        axes[r, 0].legend(fontsize=8)
    if title:
        _suptitle(fig, title)
    return fig


# ---------------------------------------------------------------------------------------------
# Chapter 7: class similarity structure (privileged information).

def similarity_heatmaps(
    panels: Mapping[str, torch.Tensor],
    labels: Sequence[str],
    *,
    ncols: int | None = None,
    shared_scale: bool = False,
    title: str = "",
) -> "matplotlib.figure.Figure":
    """Heat maps of pairwise cosine similarities between classes, one panel per entry of ``panels``.

    ``panels[name]`` is a (c, k) tensor of class vectors (class-name embeddings, prototypes, class
    means; any k, rows normalised here) drawn as its (c, c) cosine matrix, ``labels`` naming the rows
    and columns. The diagonal (always 1) is left blank. Each panel's colours span its own off-diagonal
    range unless ``shared_scale`` (then [-1, 1] for all), since a ranking loss only sees the order of
    the cosines, not their values; every panel has its colour bar. Panels fill ``ncols`` columns
    (default: as many as fit the book's column, at most two). Returns a ``matplotlib.figure.Figure`` (``display`` it).
    """

    if not panels:
        raise ValueError("similarity_heatmaps needs at least one panel")
    n = len(panels)
    # A heat map with its colour bar needs about 3.6 in to keep its tick labels apart: at most
    # two fit the book's column.
    fit = max(1, int(COLUMN_INCHES // 3.6))
    ncols = min(n if ncols is None else max(1, int(ncols)), n, fit)
    nrows = math.ceil(n / ncols)
    fig = figure(3.6 * ncols + 0.4, 3.2 * nrows + (0.4 if title else 0.0))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    for ax, (name, X) in zip(axes.flat, panels.items()):
        U = _unit_rows(X)
        if len(U) != len(labels):
            raise ValueError(f"panel {name!r} has {len(U)} rows for {len(labels)} labels")
        cos = U @ U.T
        off = ~np.eye(len(U), dtype=bool)
        lo, hi = (-1.0, 1.0) if shared_scale else (float(cos[off].min()), float(cos[off].max()))
        if hi <= lo:
            lo, hi = lo - 1e-6, hi + 1e-6  # all pairs tie (simplex): one colour
        shown = np.where(off, cos, np.nan)
        im = ax.imshow(shown, cmap="viridis", vmin=lo, vmax=hi, aspect="equal", interpolation="nearest")
        fig.colorbar(im, ax=ax, shrink=0.8, label="cosine")
        ax.set_xticks(range(len(labels)))
        ax.set_yticks(range(len(labels)))
        ax.set_xticklabels(labels, rotation=90, fontsize=8)
        ax.set_yticklabels(labels, fontsize=8)
        ax.set_title(name, fontsize=9)
    if title:
        _suptitle(fig, title)
    return fig


# ---------------------------------------------------------------------------------------------
# Chapter 6: regression and the joint task (HPN §2.2-2.3, Fig. 5).


def joint_sphere(
    z: torch.Tensor,
    classes: torch.Tensor,
    values: torch.Tensor,
    *,
    class_names: Sequence[str] | None = None,
    prototypes: torch.Tensor | None = None,
    axis: torch.Tensor | None = None,
    value_label: str = "value",
    max_points: int = 2000,
    seed: int = 0,
    title: str = "Joint regression and classification on S²",
) -> go.Figure:
    """Interactive S² in the spirit of HPN Fig. 5: test embeddings coloured by class or by value.

    ``z`` (N, 3) raw embeddings, drawn at z/|z|; ``classes`` (N,) class indices; ``values`` (N,)
    the regression targets. A dropdown switches between one trace coloured by class (discrete
    colours, hover: class and value) and one coloured by value (continuous scale with a colour bar).
    ``prototypes`` (C, 3) are drawn as labelled diamonds and ``axis`` (3,), the upper bound p_u, as
    the two bounds ±p_u joined by a line. At most ``max_points`` points (a seeded random subset).
    """
    pts = _unit_rows(z)
    if pts.ndim != 2 or pts.shape[1] != 3:
        raise ValueError(f"joint_sphere draws d = 3 only, got embeddings of shape {tuple(z.shape)}")
    labels = classes.detach().cpu().long().numpy()
    vals = values.detach().cpu().double().numpy().reshape(-1)
    if len(labels) != len(pts) or len(vals) != len(pts):
        raise ValueError(f"joint_sphere needs one class and one value per point: {len(pts)} points, "
                         f"{len(labels)} classes, {len(vals)} values")
    if len(pts) > max_points:
        keep = np.sort(np.random.default_rng(seed).permutation(len(pts))[:max_points])
        pts, labels, vals = pts[keep], labels[keep], vals[keep]
    n_classes = int(labels.max()) + 1 if prototypes is None else max(int(labels.max()) + 1, len(prototypes))
    names = list(class_names) if class_names is not None else [str(k) for k in range(n_classes)]
    hover = [f"class {names[int(c)]}, {value_label} {v:.1f}" for c, v in zip(labels, vals)]
    fig = go.Figure([_sphere_surface()])
    fig.add_trace(go.Scatter3d(
        x=pts[:, 0], y=pts[:, 1], z=pts[:, 2], mode="markers", name="coloured by class",
        marker={"size": 2.8, "opacity": 0.8, "color": [CLASS_COLOURS[int(c) % len(CLASS_COLOURS)] for c in labels]},
        text=hover, hovertemplate="%{text}<extra></extra>",
    ))
    fig.add_trace(go.Scatter3d(
        x=pts[:, 0], y=pts[:, 1], z=pts[:, 2], mode="markers", name=f"coloured by {value_label}", visible=False,
        marker={"size": 2.8, "opacity": 0.8, "color": vals, "colorscale": "Viridis", "showscale": True,
                "colorbar": {"title": {"text": value_label}, "len": 0.6}},
        text=hover, hovertemplate="%{text}<extra></extra>",
    ))
    fixed = []
    if prototypes is not None:
        P = _unit_rows(prototypes) * 1.04
        if P.shape[1] != 3:
            raise ValueError(f"joint_sphere draws d = 3 only, got prototypes of shape {tuple(prototypes.shape)}")
        fixed.append(len(fig.data))
        fig.add_trace(go.Scatter3d(
            x=P[:, 0], y=P[:, 1], z=P[:, 2], mode="markers+text", name="class prototypes",
            text=names[:len(P)], textposition="top center",
            marker={"size": 7, "symbol": "diamond", "line": {"color": "#000", "width": 2},
                    "color": [CLASS_COLOURS[k % len(CLASS_COLOURS)] for k in range(len(P))]},
            hovertemplate="prototype of class %{text}<extra></extra>",
        ))
    if axis is not None:
        u = _unit_rows(axis.reshape(1, -1))[0] * 1.08
        if u.shape[0] != 3:
            raise ValueError(f"joint_sphere draws d = 3 only, got an axis of shape {tuple(axis.shape)}")
        fixed.append(len(fig.data))
        fig.add_trace(go.Scatter3d(
            x=[-u[0], u[0]], y=[-u[1], u[1]], z=[-u[2], u[2]], mode="lines+markers+text", name="bounds p_l, p_u",
            text=["p_l (lower bound)", "p_u (upper bound)"], textposition="top center",
            line={"color": "#000", "width": 4}, marker={"size": 5, "color": "#000"},
            hovertemplate="%{text}<extra></extra>",
        ))
    n = len(fig.data)

    def visible(trace: int) -> list[bool]:
        return [i == 0 or i == trace or i in fixed for i in range(n)]

    buttons = [{"label": "colour by class", "method": "update",
                "args": [{"visible": visible(1)}, {"title.text": f"{title}: coloured by class"}]},
               {"label": f"colour by {value_label}", "method": "update",
                "args": [{"visible": visible(2)}, {"title.text": f"{title}: coloured by {value_label}"}]}]
    return _sphere_menu_layout(fig, buttons, f"{title}: coloured by class")


def predicted_vs_true(
    panels: Mapping[str, tuple[torch.Tensor, torch.Tensor]],
    *,
    bounds: tuple[float, float] | None = None,
    unit: str = "",
    title: str = "",
) -> "matplotlib.figure.Figure":
    """Scatter of predicted against true values, one panel per entry ``name: (true, predicted)``.

    Each panel draws the diagonal, the bounds (if given) as dotted lines and the MAE in its title.
    Returns a ``matplotlib.figure.Figure`` (not registered with pyplot; ``display`` it).
    """

    if not panels:
        raise ValueError("predicted_vs_true needs at least one panel")
    fig = figure(3.4 * len(panels), 3.6)
    axes = np.atleast_1d(fig.subplots(1, len(panels), squeeze=False)[0])
    suffix = f" ({unit})" if unit else ""
    for i, (ax, (name, (true, pred))) in enumerate(zip(axes, panels.items())):
        t = true.detach().cpu().double().numpy().reshape(-1)
        p = pred.detach().cpu().double().numpy().reshape(-1)
        lo = float(min(t.min(), p.min())) if bounds is None else bounds[0]
        hi = float(max(t.max(), p.max())) if bounds is None else bounds[1]
        ax.plot([lo, hi], [lo, hi], color="#555", linewidth=1, linestyle="--")
        if bounds is not None:
            for b in bounds:
                ax.axhline(b, color="#999", linewidth=0.8, linestyle=":")
        ax.scatter(t, p, s=6, alpha=0.6, color=PATH_COLOURS[i % len(PATH_COLOURS)], linewidths=0)
        ax.set_title(f"{name}\nMAE {np.abs(p - t).mean():.1f}{(' ' + unit) if unit else ''}", fontsize=9)
        ax.set_xlabel(f"true{suffix}")
        ax.set_aspect("equal")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(f"predicted{suffix}")
    if title:
        _suptitle(fig, title)
    return fig
