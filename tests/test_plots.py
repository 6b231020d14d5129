"""Matplotlib figures fit the book's column with legible text (issue: labels 5-7 px on screen)."""

import matplotlib.text
import pytest
import torch

from hpnb import plots

COLUMN_PX = 770  # the rendered book's text column at a 1400 px window


def _history(offset: int) -> list[dict]:
    return [{"epoch": e, "train_loss": 1 / (e + offset), "test_acc": 1 - 1 / (e + 1 + offset)} for e in range(1, 11)]


FIGURES = {
    "history_curves": lambda: plots.history_curves({f"m{k}": _history(k) for k in range(3)},
                                                   {"train_loss": "loss", "test_acc": "accuracy", "epoch": "epoch"}),
    "seed_curves": lambda: plots.seed_curves({f"table {r}": {"a": [_history(0), _history(1)], "b": [_history(2)]}
                                              for r in range(3)}, {"train_loss": "loss", "test_acc": "accuracy"}),
    "similarity_heatmaps": lambda: plots.similarity_heatmaps({k: torch.randn(10, 5) for k in "abcd"},
                                                             [str(i) for i in range(10)], ncols=4, title="t"),
}


@pytest.mark.parametrize("name", FIGURES)
def test_figure_fits_the_column_with_text_of_at_least_10_px(name):
    fig = FIGURES[name]()
    width_in = fig.get_size_inches()[0]
    assert width_in <= plots.COLUMN_INCHES + 1e-9
    # Shrunk to the column (never enlarged), a font of F points shows at F * dpi * shrink / 72 px.
    shrink = min(1.0, COLUMN_PX / (width_in * fig.dpi))
    texts = [t for t in fig.findobj(matplotlib.text.Text) if t.get_text().strip() and t.get_visible()]
    assert texts
    smallest = min(t.get_fontsize() * fig.dpi * shrink / 72 for t in texts)
    assert smallest >= 10, (name, smallest)


def test_figure_narrows_wide_figures_and_keeps_narrow_ones():
    assert tuple(plots.figure(15.0, 4.0).get_size_inches()) == pytest.approx((7.5, 4.0 * 0.5 ** 0.5))
    assert tuple(plots.figure(5.0, 3.0).get_size_inches()) == pytest.approx((5.0, 3.0))
