"""The papers' experiments as data: one :class:`Row` per table row, with the paper's numbers.

A row's ``config`` holds the :class:`hpnb.train.Config` fields of the paper's full schedule, with
the dataset given by its abstract name (``"cifar10"``, ``"cifar100"``, ``"tinyimagenet"``); a
profile (:data:`PROFILES`) maps a row to a runnable config: ``paper`` keeps the schedule, ``quick``
cuts epochs and images so a table runs in minutes on a CPU. Where the data come from is the caller's
choice (``datasets``: abstract name -> dataset spec), so the same table runs on the official
archives or on the CIFAR-10 JPEG copy.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from hpnb.train import Config, ConfigError

# Abstract dataset name -> the default spec of hpnb.data.load (official release under data_dir()).
DEFAULT_DATASETS: dict[str, str] = {
    "cifar10": "cifar10",
    "cifar100": "cifar100",
    "tinyimagenet": "tinyimagenet",
    "digits": "digits",
}

# Profiles: fields forced onto every row's config. "quick" is the CPU default.
PROFILES: dict[str, dict[str, Any]] = {
    "paper": {},
    "quick": {"epochs": 2, "train_limit": 1000, "test_limit": 1000},
}


@dataclass(frozen=True)
class Row:
    """One row of a paper's table: the run that produces it and the paper's numbers.

    ``paper`` maps a results metric (a key of a results.json history row, e.g. ``test_acc`` as a
    fraction, ``test_sq_dissim``) to the number the paper prints, converted to the same unit.
    """

    label: str
    config: dict[str, Any]
    paper: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Table:
    """A paper's table: where it is printed, what it measures and its rows."""

    key: str          # e.g. "hmpn-cifar10"
    paper: str        # "HPN" | "HMPN" | "DL2PA" | "DPNP"
    source: str       # e.g. "HMPN Table 1"
    title: str
    metrics: tuple[str, ...]  # the metrics the table reports, first is the headline
    rows: tuple[Row, ...]
    note: str = ""    # what differs from the paper's setting, ambiguities resolved


def _hmpn_cifar10() -> Table:
    # HMPN §4.1: ResNet-56 + linear head, d = 64, Adam 1e-3, batch 128, 200 epochs,
    # RandAugment(3, 9, 31), prototypes from HMPN's energy (our "riesz"); best epoch reported.
    base = {"dataset": "cifar10", "arch": "resnet56", "dim": 64, "epochs": 200, "batch_size": 128,
            "augment": "randaugment", "prototypes": "riesz", "recipe": "hmpn"}
    return Table(
        key="hmpn-cifar10", paper="HMPN", source="HMPN Table 1",
        title="CIFAR-10, ResNet-56, d = 64: best validation accuracy and summed squared dissimilarity",
        metrics=("test_acc", "test_sq_dissim"),
        rows=(
            Row("Dissimilarity baseline (Eq. 1)", {**base, "method": "hpn"}, {"test_acc": 0.8998, "test_sq_dissim": 709}),
            Row("MCE baseline (Eq. 2)", {**base, "method": "proto-ce"}, {"test_acc": 0.9035, "test_sq_dissim": 893}),
            Row("Dissimilarity, mixed prototypes (Eq. 3)", {**base, "method": "hmpn"}, {"test_acc": 0.9264, "test_sq_dissim": 457}),
            Row("MCE, mixed prototypes (Eq. 4)", {**base, "method": "hmpn-ce"}, {"test_acc": 0.9224, "test_sq_dissim": 547}),
        ),
        note="The paper reports each run's best epoch on the test set (used as validation).",
    )


TABLES: dict[str, Table] = {t.key: t for t in (_hmpn_cifar10(),)}


def row_config(row: Row, profile: str = "quick", *, seed: int = 0,
               datasets: dict[str, str] | None = None, **overrides: Any) -> Config:
    """The validated :class:`Config` that runs ``row`` under ``profile`` with ``seed``.

    ``datasets`` maps abstract dataset names to specs (default :data:`DEFAULT_DATASETS`);
    ``overrides`` are Config fields applied last (e.g. ``device="cpu"``).
    """
    if profile not in PROFILES:
        raise ConfigError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    fields = {**row.config, **PROFILES[profile], "seed": seed, **overrides}
    specs = {**DEFAULT_DATASETS, **(datasets or {})}
    if fields["dataset"] in specs:
        fields["dataset"] = specs[fields["dataset"]]
    known = {f.name for f in dataclasses.fields(Config)}
    unknown = sorted(set(fields) - known)
    if unknown:
        raise ConfigError(f"row {row.label!r}: unknown config fields {', '.join(unknown)}")
    cfg = Config(**fields)
    cfg.resolved()  # raises ConfigError for an impossible row
    return cfg


def table(key: str) -> Table:
    """The table ``key`` of :data:`TABLES`, or a ConfigError naming the known keys."""
    if key not in TABLES:
        raise ConfigError(f"unknown table {key!r}; known: {', '.join(sorted(TABLES))}")
    return TABLES[key]
