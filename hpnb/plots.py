"""Figures for the book: interactive plotly spheres that work offline, and small matplotlib helpers.

Plotly figures are emitted as HTML that expects ``Plotly`` to be loaded once by the page (the book
adds a local copy of plotly.min.js to every page, so nothing is fetched from the network). Outside
the book build they also carry plotly's own JSON bundle, which JupyterLab draws.
"""

from __future__ import annotations

import math
import os
from typing import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
import torch


BOOK_BUILD_ENV = "HPNB_BOOK_BUILD"


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
