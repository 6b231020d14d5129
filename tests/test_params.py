"""Papermill parameters: an unknown name or a wrongly typed value stops the notebook, named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hpnb.params import ParameterError, check, defaults_of

CELL = 'dataset = "digits"   # a comment\nepochs = 10\nlr = 1e-3\nseeds = [0, 1]\nlimit = None\nquick = True\n'


def test_defaults_are_read_from_the_parameters_cell() -> None:
    assert defaults_of(CELL) == {"dataset": "digits", "epochs": 10, "lr": 1e-3, "seeds": [0, 1], "limit": None,
                                 "quick": True}


@pytest.mark.parametrize("injected,ok", [
    ({"epochs": 3, "lr": 1, "seeds": [4], "limit": 300, "dataset": "cifar10-jpeg:/x"}, None),
    ({"epochz": 1}, "unknown parameter 'epochz'"),
    ({"epochs": "abc"}, "parameter 'epochs' must be of type int"),
    ({"quick": 1}, "parameter 'quick' must be of type bool"),
    ({"seeds": 3}, "parameter 'seeds' must be of type list"),
])
def test_injected_values_are_checked(injected: dict, ok: str | None) -> None:
    source = "# Parameters\n" + "".join(f"{k} = {v!r}\n" for k, v in injected.items())
    namespace = {**defaults_of(CELL), **injected}
    if ok is None:
        assert check(["", CELL, source, "setup"], namespace)["epochs"] == 10
    else:
        with pytest.raises(ParameterError, match=ok):
            check(["", CELL, source], namespace)
    assert check(["", CELL, "import hpnb"], defaults_of(CELL)) == defaults_of(CELL)   # nothing injected


def test_papermill_run_with_a_misspelt_parameter_fails(tmp_path: Path) -> None:
    import papermill

    cells = [{"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": CELL, "outputs": [],
              "execution_count": None},
             {"cell_type": "code", "metadata": {}, "source": "from hpnb.params import check\ncheck()", "outputs": [],
              "execution_count": None}]
    nb = tmp_path / "nb.ipynb"
    nb.write_text(json.dumps({"cells": cells, "metadata": {"kernelspec": {"name": "python3", "language": "python",
                                                                          "display_name": "Python 3"}},
                              "nbformat": 4, "nbformat_minor": 5}))
    papermill.execute_notebook(str(nb), str(tmp_path / "ok.ipynb"), parameters={"epochs": 2}, kernel_name="python3",
                               progress_bar=False)
    with pytest.raises(papermill.PapermillExecutionError, match="unknown parameter 'epochz'"):
        papermill.execute_notebook(str(nb), str(tmp_path / "bad.ipynb"), parameters={"epochz": 1},
                                   kernel_name="python3", progress_bar=False)


def test_defaults_of_parameters_not_injected_are_their_current_values() -> None:
    # A non-literal default and a tuple the notebook made a list still count as the default run.
    cell = "counts = list(range(4, 7))\ndims = (2, 3)\nepochs = 10\n"
    namespace = {"counts": [4, 5, 6], "dims": [2, 3], "epochs": 10}
    assert check(["", cell], namespace) == namespace
    injected = "# Parameters\nepochs = 3\n"
    got = check(["", cell, injected], {**namespace, "epochs": 3})
    assert got == {"counts": [4, 5, 6], "dims": [2, 3], "epochs": 10}   # so epochs = 3 is not the default run
