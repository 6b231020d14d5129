"""Papermill parameters checked against the notebook's own ``parameters`` cell.

Papermill runs a misspelt ``-p epochz 1`` on the defaults and exits 0, and ``-p epochs abc`` fails
deep inside the first function that uses it. Each chapter's setup cell calls :func:`check` first:
it reads the defaults from the ``parameters`` cell and the values papermill injected after it (both
are in IPython's input history), and stops on an unknown name or a value of the wrong type, naming
the parameter.
"""

from __future__ import annotations

import ast
from typing import Any

__all__ = ["ParameterError", "check", "defaults_of"]


class ParameterError(ValueError):
    """A papermill parameter the notebook does not have, or of the wrong type."""


def defaults_of(source: str) -> dict[str, Any]:
    """The ``name = literal`` assignments of a parameters cell (non-literal values map to None)."""
    values: dict[str, Any] = {}
    for node in ast.parse(source).body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and node.value is not None:
                    try:
                        values[target.id] = ast.literal_eval(node.value)
                    except ValueError:
                        values[target.id] = None
    return values


def _compatible(default: Any, value: Any) -> bool:
    if default is None or value is None:
        return True                                   # "None = not set" parameters take any type
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, (int, float)):
        return isinstance(value, (int, float))    # numbers pass for numbers; Config checks ranges
    if isinstance(default, (list, tuple)):
        return isinstance(value, (list, tuple))
    return isinstance(value, type(default))


def check(history: list[str] | None = None, namespace: dict[str, Any] | None = None) -> dict[str, Any]:
    """Validate the injected parameters; return the default of every parameter.

    ``history`` is IPython's ``In`` (cell sources in execution order: the parameters cell first, then
    papermill's injected cell if any); ``namespace`` the kernel's globals. Both default to the
    running kernel's.
    """
    if history is None or namespace is None:
        ip = get_ipython()  # type: ignore[name-defined]  # noqa: F821 -- only inside a kernel
        history = ip.user_ns["In"] if history is None else history
        namespace = ip.user_ns if namespace is None else namespace
    cells = [c for c in history if c and c.strip()]
    if not cells:
        return {}
    defaults = defaults_of(cells[0])
    injected_cell = next((c for c in cells[1:3] if c.lstrip().startswith("# Parameters")), None)
    injected = defaults_of(injected_cell) if injected_cell is not None else {}
    for name in injected:
        if name not in defaults:
            raise ParameterError(f"unknown parameter {name!r}; this notebook's parameters are: {', '.join(defaults)}")
        value = namespace.get(name)
        if not _compatible(defaults[name], value):
            raise ParameterError(f"parameter {name!r} must be of type {type(defaults[name]).__name__} "
                                 f"(default {defaults[name]!r}), got {value!r}")
    # A parameter papermill did not set holds its default, as the parameters cell computed it (a
    # non-literal such as list(range(4, 15)) included) and as the notebook may have normalised it
    # since (a tuple made a list): that value is the default the chapter compares against.
    return {name: (defaults[name] if name in injected else namespace.get(name, defaults[name])) for name in defaults}
